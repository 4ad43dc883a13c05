"""guests/linux/kmods.py on made-up packages: the index read from .modinfo, the load order, the
check the build runs on it. Run by `make check-unit` (/usr/bin/python3 -m pytest)."""
import io
import lzma
import os
import struct
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "guests", "linux"))
import kmods  # noqa: E402

REL = "6.1.0-9-amd64"


def elf_module(info):
    """A minimal little-endian ELF64 file whose only sections are .modinfo and .shstrtab."""
    modinfo = b"".join(f"{k}={v}".encode() + b"\0" for k, v in info)
    shstr = b"\0.modinfo\0.shstrtab\0"
    off_mi = 64
    off_str = off_mi + len(modinfo)
    shoff = (off_str + len(shstr) + 7) & ~7
    hdr = bytearray(64)
    hdr[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", hdr, 0x28, shoff)
    struct.pack_into("<HHH", hdr, 0x3A, 64, 3, 2)
    body = bytes(hdr) + modinfo + shstr
    body += b"\0" * (shoff - len(body))
    sh = bytes(64)  # the null section
    sh += struct.pack("<IIQQQQ", 1, 1, 0, 0, off_mi, len(modinfo)) + bytes(24)
    sh += struct.pack("<IIQQQQ", 10, 3, 0, 0, off_str, len(shstr)) + bytes(24)
    return body + sh


def package(mods):
    """A data tarball as dpkg-deb --fsys-tarfile gives it; MODS: path -> modinfo pairs."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, info in mods.items():
            data = elf_module(info)
            if path.endswith(".xz"):
                data = lzma.compress(data)
            t = tarfile.TarInfo(f"./lib/modules/{REL}/{path}")
            t.size = len(data)
            tar.addfile(t, io.BytesIO(data))
    buf.seek(0)
    return buf


# A package shaped like Debian's: a compressed module, a dash in a name, a softdep by alias
# provided by a generic and a CPU-bound module, and modules nobody needs.
PKG = {
    "kernel/virtio_ring.ko": [("name", "virtio_ring"), ("depends", "")],
    "kernel/virtio.ko": [("name", "virtio"), ("depends", "virtio_ring")],
    "kernel/virtio_pci.ko.xz": [("name", "virtio_pci"), ("depends", "virtio,virtio_ring")],
    "kernel/virtio-rng.ko": [("name", "virtio_rng"), ("depends", "virtio,virtio_ring")],
    "kernel/crc16.ko": [("name", "crc16"), ("depends", "")],
    "kernel/ext4.ko": [("name", "ext4"), ("depends", "crc16"), ("softdep", "pre: crypto-crc32c")],
    "kernel/crc32c_generic.ko": [("name", "crc32c_generic"), ("alias", "crypto-crc32c")],
    "kernel/crc32c-intel.ko": [("name", "crc32c_intel"), ("alias", "crypto-crc32c"),
                               ("alias", "cpu:type:x86,ven*fam*mod*:feature:*0094*")],
    "kernel/unused.ko": [("name", "unused"), ("depends", "virtio")],
}
ROOTS = ["virtio_pci", "virtio-rng", "ext4"]


@pytest.fixture
def idx_dir(tmp_path):
    kmods.index(str(tmp_path), package(PKG))
    return str(tmp_path)


def test_index_writes_depmod_files(idx_dir):
    dep = open(os.path.join(idx_dir, "modules.dep")).read().splitlines()
    assert "kernel/virtio_pci.ko.xz: kernel/virtio.ko kernel/virtio_ring.ko" in dep
    assert "kernel/virtio_ring.ko:" in dep
    assert len(dep) == len(PKG)
    soft = open(os.path.join(idx_dir, "modules.softdep")).read()
    assert soft == "softdep ext4 pre: crypto-crc32c\n"


def test_resolve_puts_dependencies_first(idx_dir):
    order = kmods.resolve(kmods.Index(idx_dir), ROOTS)
    assert order == [
        "kernel/virtio_ring.ko", "kernel/virtio.ko", "kernel/virtio_pci.ko.xz",
        "kernel/virtio-rng.ko", "kernel/crc16.ko", "kernel/crc32c_generic.ko", "kernel/ext4.ko",
    ]
    assert kmods.check(kmods.Index(idx_dir), order, ROOTS) == []


def test_softdep_alias_skips_cpu_bound_module(idx_dir):
    idx = kmods.Index(idx_dir)
    assert idx.lookup("crypto-crc32c") == ["kernel/crc32c_generic.ko"]
    assert idx.lookup("virtio-rng") == ["kernel/virtio-rng.ko"]


def test_check_finds_a_dependency_too_late(idx_dir):
    order = kmods.resolve(kmods.Index(idx_dir), ROOTS)
    order.remove("kernel/virtio.ko")
    order.append("kernel/virtio.ko")
    errors = kmods.check(kmods.Index(idx_dir), order, ROOTS)
    assert "kernel/virtio_pci.ko.xz needs kernel/virtio.ko, which comes later" in errors


def test_check_finds_a_missing_dependency_and_root(idx_dir):
    order = kmods.resolve(kmods.Index(idx_dir), ROOTS)
    order.remove("kernel/crc32c_generic.ko")
    errors = kmods.check(kmods.Index(idx_dir), order, ROOTS + ["unused"])
    assert "kernel/ext4.ko needs kernel/crc32c_generic.ko, which is not in the list" in errors
    assert "root unused is not in the list" in errors


def test_resolve_rejects_unknown_root_and_cycle(tmp_path):
    pkg = {"kernel/a.ko": [("name", "a"), ("depends", "b")],
           "kernel/b.ko": [("name", "b"), ("softdep", "pre: a")]}
    kmods.index(str(tmp_path), package(pkg))
    idx = kmods.Index(str(tmp_path))
    with pytest.raises(SystemExit, match="no module rng_core"):
        kmods.resolve(idx, ["rng_core"])
    with pytest.raises(SystemExit, match="cycle"):
        kmods.resolve(idx, ["a"])


def test_index_rejects_missing_dependency(tmp_path):
    pkg = {"kernel/a.ko": [("name", "a"), ("depends", "gone")]}
    with pytest.raises(SystemExit, match="depends on gone"):
        kmods.index(str(tmp_path), package(pkg))


def test_check_command_exit_status(idx_dir, tmp_path):
    script = os.path.join(ROOT, "guests", "linux", "kmods.py")
    good = tmp_path / "good"
    good.write_text("\n".join(kmods.resolve(kmods.Index(idx_dir), ROOTS)) + "\n")
    bad = tmp_path / "bad"
    bad.write_text("\n".join(reversed(good.read_text().split())) + "\n")
    run = [sys.executable, script, "check", idx_dir]
    assert subprocess.run(run + [str(good)] + ROOTS).returncode == 0
    assert subprocess.run(run + [str(bad)] + ROOTS).returncode == 1


def test_check_cpio(tmp_path):
    order = ["kernel/virtio_ring.ko", "kernel/virtio.ko"]
    root = tmp_path / "root"
    (root / "lib/modules" / REL / "kernel").mkdir(parents=True)
    for m in order:
        (root / "lib/modules" / REL / m).write_bytes(elf_module([("name", "x")]))
    (root / "lib/modules" / REL / "load-order").write_text("\n".join(order) + "\n")
    (root / "init").write_text("#!/bin/sh\n")
    (root / "busybox").write_text("")

    def archive(skip=()):
        # mkcpio.py reads relative sources from the list's directory.
        lines = ["file /init init 0755 0 0", "file /bin/busybox busybox 0755 0 0"]
        lines += [f"file /lib/modules/{REL}/{m} lib/modules/{REL}/{m} 0644 0 0"
                  for m in order + ["load-order"] if m not in skip]
        (root / "list").write_text("\n".join(lines) + "\n")
        out = tmp_path / "out.cpio"
        subprocess.run([sys.executable, os.path.join(ROOT, "guests/linux/mkcpio.py"),
                        str(root / "list"), str(out)], check=True)
        return str(out)

    assert kmods.check_cpio(archive(), REL, order) == []
    assert kmods.check_cpio(archive(skip=["kernel/virtio.ko"]), REL, order) == [
        f"no lib/modules/{REL}/kernel/virtio.ko"]
    assert kmods.check_cpio(archive(), REL, list(reversed(order))) == [
        f"lib/modules/{REL}/load-order is not the resolved order"]
