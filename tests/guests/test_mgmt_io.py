"""I/O requests end to end (make check-mgmt; issue 14): Keel + the management VM (2 vCPUs) on QEMU
TCG with AMD-V, beside it "iokill" (the test guest guests/tests/ioreq.c with kill=1), "iohold" and
"idle". In the management VM, ioreq.sh creates the test guest "ioreq" (2 vCPUs) at run time, and
before it starts keel-iotest (guests/mgmt/tools/) finds it by name, attaches, claims ports, an MMIO page and PCI function 00:05.0, and serves it while
both its vCPUs check every width and direction, string and REP I/O, read-modify-write
instructions, PCI configuration cycles, doorbells, MSIs and a level-triggered INTx. Then
keel-iotest serves "iokill" and SIGKILLs itself in the middle of a request: Keel ends iokill with a
reason naming the device model, and the management VM and idle go on. keel-iotest then serves
"ioreset", which resets itself: a served VM is not built again (its devices are the device
model's), it ends, keel-iotest sees it end and the event says reset. Last, the management VM
powers off while keel-iotest serves "iohold": Keel ends iohold ("management VM ended") and idle goes
on (guests/mgmt/tests/ioreq.sh)."""
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "boot"))
from keelboot import BUILD, LINUX_VM_CPUS, Boot  # noqa: E402
from test_mgmt import AMD, LINUX, MGMT, guest, vm_output  # noqa: E402

BOOT_TIMEOUT = 300


def io_boot(mode=""):
    mgmt_cmd = (f"{os.path.join(LINUX, 'vmlinuz')} console=ttyS0 panic=-1 keelvms=5 keeltest=ioreq"
                + (f" iotest_mode={mode}" if mode else ""))
    # "ioreq" itself is created at run time by the management VM (guests/mgmt/tests/ioreq.sh).
    mods = [mgmt_cmd, os.path.join(MGMT, "initramfs.cpio.gz"), guest("ioreq") + " cpus=1 kill=1", guest("idle"),
            guest("ioreq") + " cpus=1 hold=1", guest("ioreq") + " cpus=1 reset=1"]
    decl = (f"vm=mgmt,module=0,initrd=1,boot=linux,mem=256M,vcpus=2,{LINUX_VM_CPUS},mgmt "
            "vm=iokill,module=2,mem=16M vm=idle,module=3,mem=16M vm=iohold,module=4,mem=16M "
            "vm=ioreset,module=5,mem=16M")
    boot = Boot("kernel", cpus=2, mem_mib=1024, cpu=AMD, cmdline=decl + " on_finish=poweroff", modules=mods,
                timeout=BOOT_TIMEOUT)
    # idle runs for ever: the run ends when Keel has ended iohold, after the management VM, or at
    # once when the management VM crashes (nothing would serve iohold then: its ports read all-ones).
    try:
        log = boot.run(end=r"keel: vm (iohold|mgmt) crashed[^\r\n]*")
    finally:
        with open(os.path.join(BUILD, f"test_mgmt_io{mode}.log"), "w") as f:  # the whole log, for a failure
            f.write(boot.log)
    assert "keel: PANIC" not in log and "EXCEPTION" not in log, log[-4000:]
    return log


@pytest.mark.parametrize("mode", ["poll", "busy"])
def test_device_model_serves_a_vm(mode):
    """poll: keel-iotest sleeps in poll() (upcalls wake it); busy: it polls the slots (no upcall)."""
    log = io_boot("--busy" if mode == "busy" else "")
    mgmt = vm_output(log, "mgmt")
    tail = "\n".join(mgmt[-60:]) + "\n" + log[-3000:]
    assert not [line for line in mgmt if "FAIL" in line], tail
    # The guest passed every check on both vCPUs, and ended by itself.
    assert "[ioreq] PASS: ioreq" in log, tail
    assert "keel: vm ioreq exited with status 0" in log, tail
    assert re.search(r"\[ioreq\] checks done: MSIs 1\+1, INTx 1", log), tail
    served = [line for line in mgmt if "iotest: VM" in line and "ended;" in line]
    assert served, tail
    m = re.search(r"(\d+) requests \(pio (\d+), mmio (\d+), pci (\d+)\), doorbell sets pio (\d+) mmio (\d+)",
                  served[0])
    assert m and all(int(x) > 0 for x in m.groups()), served
    assert "keel-mgmt: iotest: exit 0" in log, tail
    # The device model died in the middle of a request: iokill ended naming it; the management
    # VM and idle went on.
    assert "keel-mgmt: iotest: killing myself in the middle of vCPU 0's request" in log, tail
    assert "keel-mgmt: iotest: killed device model exited with status 137" in log, tail
    assert re.search(r"keel: vm iokill crashed: device model gone: its process ended", log), tail
    assert "[iokill] EXPECT-CRASH" in log and "[iokill] FAIL" not in log, tail
    assert re.search(r"keel-mgmt: after: +\d+ +idle +running", log), tail
    assert not re.search(r"keel-mgmt: after: +\d+ +iokill +running", log), tail
    assert "keel-mgmt: iotest: management VM still running" in log, tail
    # A served VM that reset was not built again: it ended, its device model saw it end, and the
    # event says reset.
    assert "[ioreset] resetting while served" in log and "[ioreset] FAIL" not in log, tail
    assert re.search(r"keel: vm ioreset reset itself \(served by a device model, whose devices Keel cannot "
                     r"reset: it stays ended\)", log), tail
    assert "vm ioreset: restart" not in log and log.count("[ioreset] ioreq: start") == 1, tail
    assert "keel-mgmt: iotest: ioreset served until it ended" in log, tail
    assert re.search(r"keel-mgmt: events: vm ioreset \(id \d+\): reset", log), tail
    assert "keel-mgmt: done, powering off" in log, tail
    # The management VM powered off while it served iohold: Keel ended iohold, and idle runs on.
    # (Keel ends iohold before it reports the management VM's end: either line may come first.)
    off = log.index("keel-mgmt: iotest: powering off while iohold is served")
    hold = re.search(r"keel: vm iohold crashed: management VM ended: its device model is gone", log)
    assert hold and hold.start() > off and "keel: vm mgmt powered off" in log, tail
    assert "[iohold] EXPECT-CRASH" in log and "keel: vm idle" not in log, tail
