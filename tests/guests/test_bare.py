"""Boot each test guest on bare QEMU (no hypervisor) and check the outcome guestlist.py expects.

This checks the guests and their runtime, not Keel: policy tests are expected to FAIL here, for
the reason listed. Run with `make check-guests-bare` (KEEL_BUILD names the build directory).
"""
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from guestlist import FAIL, FAIL_EXCEPTION, GUESTS, PASS

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("KEEL_BUILD", os.path.join(ROOT, "build"))
GUEST_DIR = os.path.join(BUILD, "guests")
TIMEOUT = 20
QEMU_ARGS = ["-accel", "tcg", "-cpu", "EPYC,+svm,+npt", "-m", "64M",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-serial", "stdio",
             "-display", "none", "-net", "none", "-no-reboot", "-monitor", "none"]


def boot(boot_args, name):
    """Runs QEMU until it exits; returns (exit code, serial output, seconds)."""
    start = time.monotonic()
    try:
        proc = subprocess.run(["qemu-system-x86_64", *QEMU_ARGS, *boot_args], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        pytest.fail(f"{name}: no exit within {TIMEOUT} s; output:\n{out}")
    out = proc.stdout.decode(errors="replace")
    return proc.returncode, out, time.monotonic() - start


def boot_guest(name, append="", cpus=1):
    path = os.path.join(GUEST_DIR, name + ".elf")
    assert os.path.exists(path), f"{path} missing: run make guest-tests"
    args = ["-kernel", path] + (["-append", append] if append else [])
    args += ["-smp", str(cpus)] if cpus > 1 else []
    return boot(args, name)


def result_lines(out, name):
    return re.findall(rf"^(PASS: {name}|FAIL: {name}: .*)$", out, re.M)


BARE = [g for g in GUESTS if g.bare is not None]


@pytest.mark.parametrize("guest", BARE, ids=[g.name for g in BARE])
def test_bare_outcome(guest):
    rc, out, secs = boot_guest(guest.name, guest.append, guest.cpus)
    print(f"{guest.name}: exit {rc} in {secs:.2f} s\n{out}")
    assert f"{guest.name}: start:" in out, "the runtime did not start"
    assert "unexpected exception" not in out
    results = result_lines(out, guest.name)
    kind, value = guest.bare
    if kind == "crash":
        assert f"EXPECT-CRASH: {guest.name}:" in out
        assert rc == 0, "a reset with -no-reboot exits QEMU with 0"
        assert results == [], "the guest ran past the fault"
        return
    assert rc == (value << 1) | 1, f"exit code {rc}, expected status {value}"
    assert len(results) == 1, f"expected one PASS/FAIL line, got {results}"
    if value == PASS:
        assert results[0] == f"PASS: {guest.name}"
    else:
        assert results[0].startswith(f"FAIL: {guest.name}: ")
        assert re.search(guest.bare_reason, results[0]), f"failed for another reason: {results[0]}"


def test_runtime_cmdline_and_unexpected_exception():
    rc, out, _ = boot_guest("runtime_selftest", "dec=42 hex=0x1F crash=1")
    assert "cmdline dec=42 hex=0x1f" in out
    assert rc == (FAIL_EXCEPTION << 1) | 1, out
    assert re.search(r"^FAIL: runtime_selftest: unexpected exception #UD \(vector 6\)", out, re.M), out


def test_io_flood_count():
    rc, out, _ = boot_guest("io_flood", "count=1000")
    assert "1000 OUTs in" in out and rc == 1, out


@pytest.mark.parametrize("name", ["smp_hello", "smp_hello64"])
def test_smp_hello_4cpus(name):
    rc, out, _ = boot_guest(name, "cpus=4", cpus=4)
    for k in range(4):
        assert f"cpu {k}: apic id {k}, work ok" in out, out
    assert "ipi: 8 delivered" in out and rc == 1, out


def test_smp_ap_missing():
    """cpus=N with fewer CPUs present must fail fast, not hang."""
    rc, out, _ = boot_guest("smp_hello", "cpus=3", cpus=2)
    assert re.search(r"^FAIL: smp_hello: AP 2 did not start within \d+ ms", out, re.M), out
    assert rc == (FAIL << 1) | 1, out


@pytest.mark.parametrize("name,elf", [("longmode_hello", "elf64/longmode_hello.elf"),
                                      ("pm32_hello", "pm32_hello.elf")])
def test_multiboot2_through_grub(name, elf, tmp_path):
    """The multiboot2 header and information parser (and the ELF64 image) with GRUB's loader."""
    if not shutil.which("grub-mkrescue"):
        pytest.skip("grub-mkrescue not installed")
    tree = tmp_path / "tree"
    (tree / "boot" / "grub").mkdir(parents=True)
    shutil.copy(os.path.join(GUEST_DIR, elf), tree / "guest.elf")
    (tree / "boot" / "grub" / "grub.cfg").write_text(
        "set timeout=0\nserial --unit=0 --speed=115200\nterminal_output serial\n"
        "menuentry guest { multiboot2 /guest.elf mb2arg=7\n boot\n}\n")
    iso = tmp_path / "guest.iso"
    subprocess.run(["grub-mkrescue", "-o", str(iso), str(tree)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    rc, out, _ = boot(["-cdrom", str(iso)], name)
    assert re.search(rf"{name}: start: .*, multiboot2, RAM top 0x[0-9a-f]+, cmdline \"mb2arg=7\"", out), out
    assert rc == 1 and f"PASS: {name}" in out, out
