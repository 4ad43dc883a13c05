#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Capture the ACPI tables QEMU's firmware builds, for tests/unit/test_acpi.c.

For each machine configuration below QEMU is started with no boot device; once the firmware
(SeaBIOS, or OVMF for the UEFI configuration) has installed its tables, guest RAM is dumped with
the QMP `pmemsave` command. The RSDP is found in the dump the way an OS finds it (the BIOS area for
SeaBIOS; for OVMF, the whole dump is scanned and the revision-2 RSDP whose XSDT graph checks out is
taken), then every table reachable from it (RSDT, XSDT, their entries, the FADT's DSDT and FACS) is
written byte for byte to tests/unit/data/acpi/<config>/<sig>.bin, with a manifest `tables.txt`
("SIG physical-address length file" per line) so the test can put each table back at the physical
address the pointers inside the other tables refer to.

Usage: tests/unit/data/acpi/capture.py [config...]    (from anywhere; needs qemu-system-x86_64
7.2 and, for the UEFI configuration, Debian's ovmf). Regenerating is only needed when adding a
configuration; the committed blobs are what the tests use.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
QEMU = "qemu-system-x86_64"
OVMF = "/usr/share/ovmf/OVMF.fd"
RAM_MIB = 256

CONFIGS = {
    "pc-smp1": ["-machine", "pc", "-smp", "1"],
    "pc-smp4": ["-machine", "pc", "-smp", "4"],
    "pc-smp4max8": ["-machine", "pc", "-smp", "4,maxcpus=8"],
    "q35-smp1": ["-machine", "q35", "-smp", "1"],
    "q35-smp4": ["-machine", "q35", "-smp", "4"],
    "q35-smp4max8": ["-machine", "q35", "-smp", "4,maxcpus=8"],
    "q35-ovmf-smp4": ["-machine", "q35", "-smp", "4", "-bios", OVMF],
}

ACPI_HDR = 36
MAX_TABLE = 1 << 20


def csum_ok(b):
    return sum(b) & 0xFF == 0


class Mem:
    def __init__(self, data):
        self.data = data

    def get(self, pa, n):
        if pa + n > len(self.data):
            raise ValueError("0x%x+%d outside the dump" % (pa, n))
        return self.data[pa:pa + n]

    def table(self, pa, sig=None):
        """The bytes of a checksummed table at pa (raises if anything is off)."""
        hdr = self.get(pa, ACPI_HDR)
        length = struct.unpack_from("<I", hdr, 4)[0]
        if sig and hdr[:4] != sig:
            raise ValueError("0x%x: signature %r, wanted %r" % (pa, hdr[:4], sig))
        if not ACPI_HDR <= length <= MAX_TABLE:
            raise ValueError("0x%x: bad length %d" % (pa, length))
        body = self.get(pa, length)
        if not csum_ok(body):
            raise ValueError("0x%x: bad checksum in %r" % (pa, hdr[:4]))
        return body


def rsdp_candidates(mem, ranges, step=16):
    for lo, hi in ranges:
        for pa in range(lo, min(hi, len(mem.data)) - 36, step):
            if mem.data[pa:pa + 8] != b"RSD PTR ":
                continue
            b = mem.data[pa:pa + 36]
            if not csum_ok(b[:20]):
                continue
            if b[15] >= 2:
                if struct.unpack_from("<I", b, 20)[0] != 36 or not csum_ok(b):
                    continue
                yield pa, b
            else:
                yield pa, b[:20]


def walk(mem, rsdp_pa, rsdp):
    """Every table reachable from this RSDP: a list of (sig, pa, bytes)."""
    out = [(b"RSDP", rsdp_pa, rsdp)]
    seen = set()

    def add(sig, pa, body):
        if pa not in seen:
            seen.add(pa)
            out.append((sig, pa, body))

    roots = []
    rsdt = struct.unpack_from("<I", rsdp, 16)[0]
    if rsdt:
        roots.append((b"RSDT", rsdt, 4))
    if rsdp[15] >= 2:
        xsdt = struct.unpack_from("<Q", rsdp, 24)[0]
        if xsdt:
            roots.append((b"XSDT", xsdt, 8))
    if not roots:
        raise ValueError("RSDP has no RSDT/XSDT")
    for sig, pa, width in roots:
        body = mem.table(pa, sig)
        add(sig, pa, body)
        fmt = "<I" if width == 4 else "<Q"
        for off in range(ACPI_HDR, len(body) - width + 1, width):
            tpa = struct.unpack_from(fmt, body, off)[0]
            t = mem.table(tpa)
            add(t[:4], tpa, t)
            if t[:4] == b"FACP":
                dsdt = struct.unpack_from("<I", t, 40)[0]
                facs = struct.unpack_from("<I", t, 36)[0]
                if len(t) >= 148 and struct.unpack_from("<Q", t, 140)[0]:
                    dsdt = struct.unpack_from("<Q", t, 140)[0]
                if len(t) >= 140 and struct.unpack_from("<Q", t, 132)[0]:
                    facs = struct.unpack_from("<Q", t, 132)[0]
                add(b"DSDT", dsdt, mem.table(dsdt, b"DSDT"))
                if facs:
                    f = mem.get(facs, 8)
                    if f[:4] != b"FACS":
                        raise ValueError("no FACS at 0x%x" % facs)
                    add(b"FACS", facs, mem.get(facs, struct.unpack_from("<I", f, 4)[0]))
    return out


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        for _ in range(100):
            try:
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        self.f = self.s.makefile("rw")
        self.f.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError("QMP %s: %s" % (name, r["error"]))


def find_tables(mem, uefi):
    if uefi:
        # UEFI hands the RSDP over in its configuration table, not in the BIOS area, and OVMF
        # places its revision-2 copy right after a 20-byte revision-0 one (not 16-byte aligned).
        cands = []
        pa = mem.data.find(b"RSD PTR ")
        while pa >= 0:
            cands += rsdp_candidates(mem, [(pa, pa + 37)], 1)
            pa = mem.data.find(b"RSD PTR ", pa + 1)
    else:
        ebda = struct.unpack_from("<H", mem.data, 0x40E)[0] << 4
        cands = list(rsdp_candidates(mem, [(ebda, ebda + 1024), (0xE0000, 0x100000)]))
    good = []
    for pa, b in cands:
        try:
            good.append(walk(mem, pa, b))
        except ValueError as e:
            print("  RSDP candidate at 0x%x rejected: %s" % (pa, e))
    if uefi:
        # OVMF builds its own revision-2 RSDP and XSDT; QEMU's revision-0 loader copy may remain.
        good = [g for g in good if g[0][2][15] >= 2]
    if len(good) != 1:
        return None
    return good[0]


def capture(name, args):
    uefi = OVMF in args
    tmp = tempfile.mkdtemp(prefix="acpicap-")
    sock = os.path.join(tmp, "qmp.sock")
    dump = os.path.join(tmp, "mem.bin")
    qemu = subprocess.Popen([QEMU, "-accel", "tcg", "-m", "%dM" % RAM_MIB, "-display", "none",
                             "-net", "none", "-serial", "none", "-monitor", "none",
                             "-qmp", "unix:%s,server=on,wait=off" % sock] + args)
    try:
        qmp = Qmp(sock)
        tables = None
        deadline = time.time() + 60
        time.sleep(8 if uefi else 1)
        while time.time() < deadline:
            qmp.cmd("pmemsave", val=0, size=RAM_MIB << 20, filename=dump)
            with open(dump, "rb") as f:
                tables = find_tables(Mem(f.read()), uefi)
            if tables:
                break
            time.sleep(1)
        qmp.cmd("quit")
    finally:
        try:
            qemu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            qemu.kill()
        shutil.rmtree(tmp)
    if not tables:
        sys.exit("%s: no consistent set of ACPI tables found" % name)
    outdir = os.path.join(HERE, name)
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    used = {}
    lines = ["# %s: qemu-system-x86_64 %s -m %dM (captured by capture.py)" %
             (name, " ".join(args), RAM_MIB)]
    for sig, pa, body in tables:
        base = sig.decode("ascii", "replace").lower()
        used[base] = used.get(base, 0) + 1
        fname = base + (".bin" if used[base] == 1 else "%d.bin" % used[base])
        with open(os.path.join(outdir, fname), "wb") as f:
            f.write(body)
        lines.append("%s 0x%08x %d %s" % (sig.decode("ascii", "replace"), pa, len(body), fname))
    with open(os.path.join(outdir, "tables.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("%s: %s" % (name, ", ".join(l.split()[0] for l in lines[1:])), flush=True)


def main():
    names = sys.argv[1:] or list(CONFIGS)
    for n in names:
        if n not in CONFIGS:
            sys.exit("unknown configuration %s (have: %s)" % (n, " ".join(CONFIGS)))
        capture(n, CONFIGS[n])


if __name__ == "__main__":
    main()
