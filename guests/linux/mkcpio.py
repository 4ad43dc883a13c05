#!/usr/bin/env python3
"""Write a newc ("070701") cpio archive from a gen_init_cpio-style list, without root.

The kernel's usr/gen_init_cpio needs a kernel tree and cpio(1) needs root to create device
nodes; this writes the format itself, so the initramfs can carry /dev/console (the kernel
opens it for init's stdin/stdout/stderr before devtmpfs is mounted) and is reproducible:
every entry has uid/gid 0, mtime $SOURCE_DATE_EPOCH (default 0) and a sequential inode.

List format, one entry a line ('#' starts a comment), as in the kernel's gen_init_cpio:
    dir   <name> <mode> <uid> <gid>
    file  <name> <source> <mode> <uid> <gid>
    slink <name> <target> <mode> <uid> <gid>
    nod   <name> <mode> <uid> <gid> <c|b> <major> <minor>
<mode> is octal permission bits; the file type comes from the keyword.

Usage: mkcpio.py LIST OUTPUT      (LIST or OUTPUT may be '-' for stdin/stdout)
"""
import os
import stat
import sys

NEWC_MAGIC = b"070701"
TRAILER = "TRAILER!!!"


class Archive:
    def __init__(self, out, mtime):
        self.out = out
        self.mtime = mtime
        self.ino = 1
        self.names = set()

    def _pad(self):
        # newc pads the header+name and the file data each to a multiple of 4 bytes.
        self.out.write(b"\0" * (-self.out.tell() % 4))

    def entry(self, name, mode, uid=0, gid=0, data=b"", rdev=(0, 0), nlink=1):
        if name != TRAILER:
            name = name.lstrip("/")
            if not name or name in self.names:
                raise ValueError(f"bad or duplicate name {name!r}")
            self.names.add(name)
        encoded = name.encode() + b"\0"
        fields = (
            self.ino if name != TRAILER else 0,
            mode, uid, gid, nlink,
            self.mtime if name != TRAILER else 0,
            len(data),
            0, 0,              # dev major/minor of the archive's filesystem: unused
            rdev[0], rdev[1],  # device number of a char/block node
            len(encoded),
            0,                 # checksum: only for "070702"
        )
        self.ino += 1
        self.out.write(NEWC_MAGIC + b"".join(b"%08X" % f for f in fields) + encoded)
        self._pad()
        self.out.write(data)
        self._pad()

    def finish(self):
        self.entry(TRAILER, 0)


def parse_mode(text):
    mode = int(text, 8)
    if mode & ~0o7777:
        raise ValueError(f"mode {text} has bits beyond 07777")
    return mode


def build(lines, arc, base):
    for lineno, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        f = line.split()
        kind = f[0]
        try:
            if kind == "dir" and len(f) == 5:
                arc.entry(f[1], stat.S_IFDIR | parse_mode(f[2]), int(f[3]), int(f[4]), nlink=2)
            elif kind == "file" and len(f) == 6:
                src = f[2] if os.path.isabs(f[2]) else os.path.join(base, f[2])
                with open(src, "rb") as fh:
                    data = fh.read()
                arc.entry(f[1], stat.S_IFREG | parse_mode(f[3]), int(f[4]), int(f[5]), data)
            elif kind == "slink" and len(f) == 6:
                arc.entry(f[1], stat.S_IFLNK | parse_mode(f[3]), int(f[4]), int(f[5]),
                          f[2].encode())
            elif kind == "nod" and len(f) == 8:
                typ = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}[f[5]]
                arc.entry(f[1], typ | parse_mode(f[2]), int(f[3]), int(f[4]),
                          rdev=(int(f[6]), int(f[7])))
            else:
                raise ValueError(f"cannot parse {line!r}")
        except (ValueError, KeyError, OSError) as e:
            sys.exit(f"mkcpio: line {lineno}: {e}")
    arc.finish()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    src, dst = sys.argv[1:]
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    lines = sys.stdin.readlines() if src == "-" else open(src).readlines()
    base = os.getcwd() if src == "-" else os.path.dirname(os.path.abspath(src))
    if dst == "-":
        import io
        buf = io.BytesIO()
        build(lines, Archive(buf, mtime), base)
        sys.stdout.buffer.write(buf.getvalue())
    else:
        tmp = dst + ".tmp"
        with open(tmp, "wb") as out:
            build(lines, Archive(out, mtime), base)
        os.replace(tmp, dst)


if __name__ == "__main__":
    main()
