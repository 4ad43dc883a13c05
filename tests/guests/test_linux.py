"""Debian's stock kernel as a Keel guest on QEMU TCG with AMD-V (make check-linux).

The guest is build/linux/vmlinuz (linux-image-amd64, unpacked, never installed) with the busybox
initramfs of guests/linux/: its /init prints keel-init: lines (CPU count, local timer interrupts
ticking on every CPU, a file written and read back) and powers off; keeltest= picks other
behaviours (panic, idle)."""
import io
import os
import re
import sys

import pexpect
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "boot"))
from keelboot import BUILD, LINUX_VM_CPUS, Boot  # noqa: E402

LINUX = os.path.join(BUILD, "linux")
KERNEL = os.path.join(LINUX, "vmlinuz")
INITRD = os.path.join(LINUX, "initramfs.cpio.gz")
AMD = "EPYC,+svm,+npt"
GUESTS = os.path.join(BUILD, "guests")
# Each boot of Debian's kernel under Keel on TCG takes 20-60 s on the 2-core CI machine.
BOOT_TIMEOUT = 400


class Keel:
    """Keel with Linux VMs: vms = [(name, vcpus, keeltest or None[, more vm= fields])], plus
    multiboot guests [(name, guest elf name)]."""

    def __init__(self, vms, others=(), cpus=2, mem="256M", kernel_args="", extra_cmdline="", host_mib=1536):
        modules, decl = [], []
        for name, vcpus, test, *fields in vms:
            args = f"console=ttyS0 panic=-1 {kernel_args}" + (f" keeltest={test}" if test else "")
            decl.append(f"vm={name},module={len(modules)},initrd={len(modules) + 1},boot=linux,mem={mem},vcpus={vcpus},"
                        + LINUX_VM_CPUS + "".join("," + f for f in fields))
            modules += [f"{KERNEL} {args}", INITRD]
        for name, elf in others:
            decl.append(f"vm={name},module={len(modules)},mem=16M")
            modules.append(os.path.join(GUESTS, f"{elf}.elf"))
        self.boot = Boot("kernel", cpus=cpus, mem_mib=host_mib, cpu=AMD,
                         cmdline=" ".join(decl) + f" on_finish=poweroff {extra_cmdline}", modules=modules,
                         timeout=BOOT_TIMEOUT)
        self.child = self.boot.spawn()
        self.out = io.StringIO()
        self.child.logfile_read = self.out

    def expect_all(self, patterns, timeout=BOOT_TIMEOUT):
        left = list(patterns)
        while left:
            i = self.child.expect([pexpect.EOF, pexpect.TIMEOUT] + left, timeout=timeout)
            assert i > 1, f"Keel {'stopped' if i == 0 else 'timed out'} waiting for {left}:\n{self.log()[-4000:]}"
            del left[i - 2]

    def finish(self, timeout=120):
        """Waits for Keel to power off after the last VM; returns the whole log."""
        try:
            self.boot.finish(self.child, timeout=timeout)
        except AssertionError as e:
            raise AssertionError(f"Keel did not power off: {e}\n{self.log()[-4000:]}") from None
        return self.log()

    def log(self):
        return self.boot.log + self.out.getvalue()

    def close(self):
        self.child.close(force=True)


def markers(name, cpus):
    return [rf"\[{name}\] keel-init: {cpus} cpus", rf"\[{name}\] keel-init: timer ticking on all {cpus} cpus",
            rf"\[{name}\] keel-init: file write/read ok", rf"\[{name}\] keel-init: done, powering off",
            rf"keel: vm {name} powered off"]


def check_clean(log):
    assert "keel-init: FAIL" not in log, log[-4000:]
    assert "keel: powering off" in log, log[-4000:]
    assert "vmm: every VM page returned to the allocator" in log, log[-4000:]
    # The kernel saw the platform Keel describes, and nothing went wrong on the way.
    for bad in ("Kernel panic", "BUG:", "Oops", "general protection fault", "WARNING: CPU"):
        assert bad not in log, f"{bad!r} in the guest's log:\n{log[-4000:]}"


@pytest.mark.parametrize("vcpus", [1, 2])
def test_linux_boots_and_powers_off(vcpus):
    k = Keel([("lin", vcpus, None)])
    try:
        k.expect_all(markers("lin", vcpus))
    finally:
        log = k.finish()
    check_clean(log)
    # The platform Keel describes is the one Linux found: the MADT's I/O APIC and every vCPU.
    assert re.search(r"\[lin\] .*IOAPIC\[0\]: apic_id %d, version 32, address 0xfec00000, GSI 0-23" % vcpus, log)
    assert re.search(r"\[lin\] .*smp: Brought up 1 node, %d CPUs?" % vcpus, log), log[-4000:]


def test_linux_with_ram_above_4g():
    """4.5 GiB: RAM up to the hole at 3 GiB (local APIC, I/O APIC, room for BARs), the rest from
    4 GiB; Linux finds both ranges in its e820 map and uses them."""
    k = Keel([("big", 1, None)], mem="4608M", host_mib=6144)
    try:
        k.expect_all(markers("big", 1))
    finally:
        log = k.finish()
    check_clean(log)
    assert re.search(r"\[big\] .*BIOS-e820: \[mem 0x0000000000100000-0x00000000bfffffff\] usable", log), log[-4000:]
    assert re.search(r"\[big\] .*BIOS-e820: \[mem 0x0000000100000000-0x000000015fffffff\] usable", log), log[-4000:]
    m = re.search(r"\[big\] .*Memory: \d+K/(\d+)K available", log)
    assert m and int(m.group(1)) > 4500 * 1024, log[-4000:]


def test_two_linux_vms_at_once():
    k = Keel([("a", 1, None), ("b", 2, None)], mem="192M")
    try:
        k.expect_all(markers("a", 1) + markers("b", 2))
    finally:
        log = k.finish()
    check_clean(log)


def test_panicking_linux_leaves_others_running():
    """One kernel panics (panic=-1: it resets at once, and on_reset=end ends the VM then); the
    other Linux VM and a multiboot guest finish normally."""
    k = Keel([("crash", 1, "panic", "on_reset=end"), ("ok", 1, None)], others=[("mb", "pm32_hello")], mem="192M")
    try:
        k.expect_all([r"\[crash\] .*Kernel panic - not syncing: sysrq triggered crash",
                      r"keel: vm crash reset itself \(on_reset=end\)"] + markers("ok", 1))
    finally:
        log = k.finish()
    assert "keel: vm mb exited with status 0" in log, log[-4000:]
    assert "vmm: every VM page returned to the allocator" in log, log[-4000:]


def test_reboot_restarts_the_vm():
    """`reboot` in the guest resets the VM, and Keel builds it again from its modules (on_reset
    is restart by default): both vCPUs come up again, twice, until it is destroyed."""
    k = Keel([("r", 2, "reboot")])
    try:
        for n in (1, 2):
            k.expect_all([r"\[r\] keel-init: timer ticking on all 2 cpus", r"\[r\] keel-init: rebooting",
                          r"keel: vm r reset itself, restarting it", rf"vm r: restart {n}\b"])
        k.child.send("destroy r\r")
        k.expect_all([r"keel: vm r crashed: destroyed from the console"])
    finally:
        log = k.finish()
    assert "keel-init: FAIL" not in log, log[-4000:]
    assert "vmm: every VM page returned to the allocator" in log, log[-4000:]


def test_killed_linux_leaves_others_running():
    """Two Linux VMs up and idle; one is destroyed from the hypervisor console, the other keeps
    running (its vCPU time still grows) until it is destroyed too."""
    k = Keel([("victim", 2, "idle"), ("other", 1, "idle")], mem="192M")
    try:
        k.expect_all([r"\[victim\] keel-init: idle", r"\[other\] keel-init: idle"])
        k.child.send("destroy victim\r")
        k.expect_all([r"keel: vm victim crashed: destroyed from the console"])
        k.child.send("list\r")
        k.expect_all([r"other\s+running"])
        assert "victim" not in k.child.before.split("list", 1)[-1]
        k.child.send("destroy other\r")
        k.expect_all([r"keel: vm other crashed: destroyed from the console"])
    finally:
        log = k.finish()
    assert "vmm: every VM page returned to the allocator" in log, log[-4000:]


@pytest.mark.parametrize("vcpus", [1, 2])
def test_linux_sees_pci_and_msix(vcpus):
    """The DSDT's root bridge, the BARs Keel assigned and an MSI-X message: with ctl=on Linux lists
    the host bridge and the Keel control function (vmm/dev/keelctl.h) with its BARs where Keel put
    them (BAR0 at the start of the 32-bit window, the 16 GiB prefetchable BAR2, size-aligned, in the
    64-bit window above RAM), and the guest's /init, with no driver, enables MSI-X and rings the doorbell: masked,
    the vector is pending in the PBA; unmasked, it reaches the last CPU's local APIC (the MSI's
    destination ID) on vector 0xdf."""
    k = Keel([("pci", vcpus, "pci", "ctl=on")])
    try:
        k.expect_all(markers("pci", vcpus))
    finally:
        log = k.finish()
    check_clean(log)
    lines = [ln for ln in log.splitlines() if "[pci]" in ln]
    guest = "\n".join(lines)
    # The root bridge Linux found in the DSDT, with its _CRS windows and _PRT.
    assert re.search(r"ACPI: PCI Root Bridge \[PCI0\] \(domain 0000 \[bus 00\]\)", guest), guest[-4000:]
    for window in (r"io  0xc000-0xffff window", r"mem 0xc0000000-0xfebfffff window",
                   r"mem 0x100000000-0x8ffffffff window"):
        assert re.search(r"pci_bus 0000:00: root bus resource \[" + window + r"\]", guest), window
    assert "PCI: Using ACPI for IRQ routing" in guest, guest[-4000:]
    assert "doesn't support MSI" not in guest, guest[-4000:]  # the FADT's MSI Not Supported flag
    for bad in ("not found", "can't claim", "conflict", "no compatible bridge window", "BAR 0: failed",
                "BAR 2: failed"):
        assert not re.search(r"\[pci\] .*pci.*" + re.escape(bad), log), (bad, guest[-4000:])
    # sysfs: the host bridge and the function, with the BARs Keel assigned.
    assert "keel-init: pci 0000:00:00.0 0x8086:0x1237 class 0x060000" in guest, guest[-4000:]
    assert "keel-init: pci 0000:00:02.0 0x4b45:0x0001 class 0xff8000" in guest, guest[-4000:]
    assert "keel-init: pci 0000:00:02.0 bar 0 0x00000000c0000000 0x00000000c0003fff 0x0000000000040200" in guest
    assert "keel-init: pci 0000:00:02.0 bar 2 0x0000000400000000 0x00000007ffffffff 0x000000000014220c" in guest
    # MSI-X from user space: capability, registers, PBA while masked, delivery once unmasked.
    assert "keel-init: pci msix cap at 64 id 11" in guest, guest[-4000:]
    assert "keel-init: pci magic 0x4C45454B" in guest, guest[-4000:]
    assert "keel-init: pci msix control 8001" in guest, guest[-4000:]
    assert "keel-init: pci pba masked 0x00000002" in guest, guest[-4000:]
    assert "keel-init: pci pba unmasked 0x00000000" in guest, guest[-4000:]
    assert "keel-init: pci rings 0x00000002" in guest, guest[-4000:]
    assert f"keel-init: pci msix to cpu {vcpus - 1}" in guest, guest[-4000:]
    arrivals = re.findall(r"\[pci\] .*common_interrupt: (\d+)\.223 No irq handler for vector", log)
    assert arrivals == [str(vcpus - 1)] * 2, (arrivals, guest[-4000:])
    assert "unknown keeltest" not in guest, guest[-4000:]
