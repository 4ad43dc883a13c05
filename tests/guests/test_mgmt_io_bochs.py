"""The I/O-request round trip on Bochs's Intel VT-x model. The management VM (one vCPU, VMCALL)
creates the test guest ioreq (2 vCPUs) at run time and keel-iotest serves it: every width and
direction on ports and MMIO, string I/O, PCI configuration cycles, doorbells, MSIs and INTx, as in
tests/guests/test_mgmt_io.py, with every vCPU on Bochs's one CPU (guests/mgmt/tests/ioreq.sh with
ioreq_only=1).

Two runs of it, which differ only in how the management VM boots:
- test_basic_io_round_trip_on_bochs_vmx, in make test (make check-linux-vmx, beside the Linux
  boot, two Bochs at once): the management kernel boots `quiet` (every console character is a port
  exit, costly on Bochs) from initramfs-io.cpio.gz, which carries only the ioreq guest (2.4 MB,
  not 11.7: GRUB on Bochs's BIOS reads and gunzips every module). 250-265 s of Bochs's CPU time.
- test_io_round_trip_on_bochs_vmx, in make check-mgmt-bochs only (slow, not in make test): the
  same with the kernel's boot messages on the console and the full initramfs (with the Linux guest
  that vmlife.sh creates). About 320 s of Bochs's CPU time.
Where the verbose run's time goes (wall clock, Bochs at ~95% of a core): GRUB loads the modules in
~50 s, Linux decompresses itself (XZ) in ~160 s and boots to /init in ~85 s printing its
messages; keel.ko's load and the whole round trip (358 requests) take ~15 s. The requests are not
the cost, so the basic run keeps every check."""
import os
import re
import shutil

import pytest

from test_vmx_bochs import BUILD, VMX_LINE, bochs

LINUX = os.path.join(BUILD, "linux")
MGMT = os.path.join(BUILD, "mgmt")

needs_bochs = pytest.mark.skipif(not shutil.which("bochs"), reason="bochs is not installed (make deps)")


def round_trip(kernel_args, initramfs):
    mods = [f"{os.path.join(LINUX, 'vmlinuz')} console=ttyS0 panic=-1 {kernel_args}keeltest=ioreq ioreq_only=1",
            os.path.join(MGMT, initramfs)]
    out = bochs("vm=mgmt,module=0,initrd=1,boot=linux,mem=256M,vcpus=1,mgmt on_finish=poweroff", mods,
                guest_mib=512, host_mib=512, cpus=1, timeout=3600, until=r"keel: vm mgmt powered off")
    assert VMX_LINE in out, out[-3000:]
    assert "keel: PANIC" not in out, out[-4000:]
    assert "keel-mgmt: keel.ko loaded: keel: Keel hypercall ABI 1 (VMCALL)" in out, out[-4000:]
    # Created at run time by the management VM, and claimed before its first instruction.
    assert re.search(r"vm ioreq: created at run time \(id \d+\)", out), out[-4000:]
    assert "vm ioreq: served by the device model of vm mgmt" in out, out[-4000:]
    assert "keel-mgmt: iotest: claimed; serving" in out, out[-4000:]
    assert "[ioreq] PASS: ioreq" in out and "keel: vm ioreq exited with status 0" in out, out[-4000:]
    assert re.search(r"\[ioreq\] checks done: MSIs 1\+1, INTx 1", out), out[-4000:]
    m = re.search(r"iotest: VM \d+ ended; (\d+) requests \(pio (\d+), mmio (\d+), pci (\d+)\), "
                  r"doorbell sets pio (\d+) mmio (\d+)", out)
    assert m and all(int(x) > 0 for x in m.groups()), out[-4000:]
    assert "keel-mgmt: iotest: exit 0" in out and not re.search(r"keel-mgmt: FAIL", out), out[-4000:]
    return out


@needs_bochs
def test_basic_io_round_trip_on_bochs_vmx():
    out = round_trip("quiet ", "initramfs-io.cpio.gz")
    # quiet did take: the kernel's boot messages stayed off the console.
    assert "Run /init as init process" not in out, out[-4000:]


@needs_bochs
def test_io_round_trip_on_bochs_vmx():
    round_trip("", "initramfs.cpio.gz")
