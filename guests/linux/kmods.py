#!/usr/bin/env python3
"""Pick kernel modules out of a Debian linux-image package, with their dependencies.

Debian's linux-image .deb carries no modules.dep: its postinst runs depmod on the installed
system. What the package itself carries is each module's .modinfo section, where the kernel's
modpost recorded at build time the modules it needs (depends=, from the symbols it imports), its
soft dependencies (softdep=) and its aliases (alias=). depmod's modules.dep lists the same
dependencies; this script rebuilds depmod's files from .modinfo, then resolves a load order
from them, without kmod installed and without unpacking the 400 MB of modules.

    kmods.py index DIR < linux-image.tar
        DIR/modules.dep, DIR/modules.softdep and DIR/modules.alias in depmod's formats, for every
        module in the package's data tarball (dpkg-deb --fsys-tarfile), read from stdin
    kmods.py resolve DIR ROOT...
        the modules ROOT... need, as paths relative to /lib/modules/<release>, one a line,
        each after every module it depends on (the order to insmod them in)
    kmods.py check DIR ORDER ROOT...
        exit 1 unless ORDER (a resolve output) holds every ROOT and every dependency of each of
        its modules, earlier than the module
    kmods.py check-cpio CPIO RELEASE ORDER
        exit 1 unless the (uncompressed newc) initramfs CPIO holds /init, busybox and each module
        of ORDER under lib/modules/RELEASE/, and its load-order file is ORDER

Dependencies are modules.dep's (hard: the module does not load without them) and the softdep
"pre:" modules (ext4 and jbd2 need a crc32c implementation at mount time, which they find
through the crypto API, not a symbol). A soft dependency is a module name or an alias; when
several modules provide an alias, the ones bound to CPU features (a "cpu:" alias, such as
crc32c-intel, which insmod refuses on a CPU without SSE4.2) are left out for the generic one.
Compressed modules (.ko.xz) are decompressed with xz to be read; the caller stores them
decompressed (busybox insmod may not decompress).
"""
import lzma
import os
import struct
import sys
import tarfile

MODULE_EXTS = (".ko", ".ko.xz")


def modname(path):
    """The name the kernel gives the module at PATH: basename, no suffix, '-' read as '_'."""
    base = os.path.basename(path)
    for ext in MODULE_EXTS:
        if base.endswith(ext):
            base = base[: -len(ext)]
    return base.replace("-", "_")


def decompress(path, data):
    if path.endswith(".ko.xz"):
        return lzma.decompress(data)
    return data


def modinfo(data):
    """The (key, value) pairs of the .modinfo section of ELF64 module DATA."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def section(i):
        name, _typ, _flags, _addr, off, size = struct.unpack_from(
            "<IIQQQQ", data, shoff + i * shentsize)
        return name, off, size

    _, stroff, _ = section(shstrndx)
    for i in range(shnum):
        name, off, size = section(i)
        end = data.index(b"\0", stroff + name)
        if data[stroff + name:end] == b".modinfo":
            pairs = []
            for item in data[off:off + size].split(b"\0"):
                if b"=" in item:
                    k, v = item.decode("utf-8", "replace").split("=", 1)
                    pairs.append((k, v))
            return pairs
    raise ValueError("no .modinfo section")


def index(outdir, stream):
    """Read every module of the tarball STREAM; write depmod-format files into OUTDIR."""
    mods = {}  # name -> (relative path, depends list, softdep pre list, aliases)
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for m in tar:
            if not m.isfile() or not m.name.endswith(MODULE_EXTS):
                continue
            parts = m.name.split("/")
            # ./lib/modules/<release>/kernel/...
            try:
                i = parts.index("modules")
            except ValueError:
                continue
            rel = "/".join(parts[i + 2:])
            data = decompress(m.name, tar.extractfile(m).read())
            try:
                info = modinfo(data)
            except ValueError as e:
                sys.exit(f"kmods: {m.name}: {e}")
            name = next((v for k, v in info if k == "name"), modname(rel))
            deps = [d for k, v in info if k == "depends" for d in v.split(",") if d]
            pre = []
            for k, v in info:
                # "softdep=pre: a b post: c": only the modules to load before this one.
                if k == "softdep":
                    for w in v.split():
                        if w == "post:":
                            break
                        if w != "pre:":
                            pre.append(w)
            aliases = [v for k, v in info if k == "alias"]
            if name in mods:
                sys.exit(f"kmods: two modules named {name}: {mods[name][0]} and {rel}")
            mods[name] = (rel, deps, pre, aliases)
    if not mods:
        sys.exit("kmods: no modules in the tarball")
    paths = {n: v[0] for n, v in mods.items()}

    def closure(name, seen):
        for d in mods[name][1]:
            d = d.replace("-", "_")
            if d not in mods:
                sys.exit(f"kmods: {name} depends on {d}, which the package does not have")
            if d not in seen:
                seen.append(d)
                closure(d, seen)
        return seen

    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "modules.dep"), "w") as f:
        # As depmod writes it: every module, then all it needs (transitively).
        for n in sorted(mods, key=lambda n: paths[n]):
            f.write(f"{paths[n]}:{''.join(' ' + paths[d] for d in closure(n, []))}\n")
    with open(os.path.join(outdir, "modules.softdep"), "w") as f:
        for n in sorted(mods):
            if mods[n][2]:
                f.write(f"softdep {n} pre: {' '.join(mods[n][2])}\n")
    with open(os.path.join(outdir, "modules.alias"), "w") as f:
        for n in sorted(mods):
            for a in mods[n][3]:
                f.write(f"alias {a} {n}\n")
    print(f"kmods: indexed {len(mods)} modules", file=sys.stderr)


class Index:
    """The depmod-format files of a directory written by index (or by depmod)."""

    def __init__(self, d):
        self.dep = {}  # path -> [paths it needs]
        self.path = {}  # name -> path
        with open(os.path.join(d, "modules.dep")) as f:
            for line in f:
                mod, _, deps = line.partition(":")
                self.dep[mod] = deps.split()
                self.path[modname(mod)] = mod
        self.softdep = {}  # name -> [names or aliases, pre:]
        sd = os.path.join(d, "modules.softdep")
        if os.path.exists(sd):
            for line in open(sd):
                w = line.split()
                if len(w) >= 3 and w[0] == "softdep" and w[2] == "pre:":
                    self.softdep[w[1]] = w[3:]
        self.alias = {}  # alias -> [names]
        self.cpu_bound = set()
        for line in open(os.path.join(d, "modules.alias")):
            w = line.split()
            if len(w) == 3 and w[0] == "alias":
                self.alias.setdefault(w[1], []).append(w[2])
                if w[1].startswith("cpu:"):
                    self.cpu_bound.add(w[2])

    def lookup(self, name):
        """The paths of the modules NAME (a module name or an alias) stands for."""
        n = name.replace("-", "_")
        if n in self.path:
            return [self.path[n]]
        names = self.alias.get(name, [])
        generic = [x for x in names if x not in self.cpu_bound]
        return sorted(self.path[x] for x in (generic or names) if x in self.path)

    def needs(self, path):
        """The modules PATH must come after: modules.dep's list, then its soft pre-deps."""
        out = list(self.dep[path])
        for s in self.softdep.get(modname(path), []):
            out += self.lookup(s)
        return out


def resolve(idx, roots):
    order, state = [], {}

    def visit(p, chain):
        if state.get(p) == "done":
            return
        if state.get(p) == "open":
            sys.exit(f"kmods: dependency cycle: {' -> '.join(chain + [p])}")
        state[p] = "open"
        for d in idx.needs(p):
            visit(d, chain + [p])
        state[p] = "done"
        order.append(p)

    for r in roots:
        paths = idx.lookup(r)
        if not paths:
            sys.exit(f"kmods: the package has no module {r} (built in? see modules.builtin)")
        for p in paths:
            visit(p, [])
    return order


def check(idx, order, roots):
    errors = []
    pos = {}
    for i, p in enumerate(order):
        if p in pos:
            errors.append(f"{p} listed twice")
        pos[p] = i
        if p not in idx.dep:
            errors.append(f"{p} is not a module of the package")
    for r in roots:
        if not any(p in pos for p in idx.lookup(r)):
            errors.append(f"root {r} is not in the list")
    for p, i in pos.items():
        for d in idx.needs(p) if p in idx.dep else []:
            if d not in pos:
                errors.append(f"{p} needs {d}, which is not in the list")
            elif pos[d] > i:
                errors.append(f"{p} needs {d}, which comes later")
    return errors


def cpio_files(data):
    """{name: contents} of the regular files of newc archive DATA."""
    files, off = {}, 0
    while True:
        if data[off:off + 6] != b"070701":
            raise ValueError(f"no newc header at offset {off}")
        fields = [int(data[off + 6 + 8 * i:off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[off + 110:off + 110 + namesize - 1].decode()
        off = (off + 110 + namesize + 3) & ~3
        if name == "TRAILER!!!":
            return files
        if mode & 0o170000 == 0o100000:
            files[name] = data[off:off + size]
        off = (off + size + 3) & ~3


def check_cpio(path, release, order):
    files = cpio_files(open(path, "rb").read())
    d = f"lib/modules/{release}"
    errors = [f"no {f}" for f in ["init", "bin/busybox"] if f not in files]
    errors += [f"no {d}/{m}" for m in order if not files.get(f"{d}/{m}", b"").startswith(b"\x7fELF")]
    if files.get(f"{d}/load-order", b"").decode().split() != order:
        errors.append(f"{d}/load-order is not the resolved order")
    return errors


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "index":
        index(a[1], sys.stdin.buffer)
    elif len(a) >= 3 and a[0] == "resolve":
        for p in resolve(Index(a[1]), a[2:]):
            print(p)
    elif len(a) >= 4 and a[0] == "check":
        order = [line.strip() for line in open(a[2]) if line.strip()]
        errors = check(Index(a[1]), order, a[3:])
        for e in errors:
            print(f"kmods: check: {e}", file=sys.stderr)
        if errors or not order:
            sys.exit(1)
        print(f"kmods: check: {len(order)} modules in dependency order", file=sys.stderr)
    elif len(a) == 4 and a[0] == "check-cpio":
        order = [line.strip() for line in open(a[3]) if line.strip()]
        errors = check_cpio(a[1], a[2], order)
        for e in errors:
            print(f"kmods: check-cpio: {e}", file=sys.stderr)
        if errors:
            sys.exit(1)
        print(f"kmods: check-cpio: init and {len(order)} modules in the archive", file=sys.stderr)
    else:
        sys.exit(__doc__.strip().split("\n\n")[2])


if __name__ == "__main__":
    main()
