"""Faults inside Keel are reported in full, and the machine ends in the state on_panic asks for."""
import os
import re
import subprocess

import pytest

from keelboot import BUILD, Boot

CASES = {
    # fault=...: (expected first line, a function the backtrace must name)
    "pagefault": (r"EXCEPTION 14 \(#PF page fault\) error code 0x0 on CPU 0", "selftest_fault"),
    "ud": (r"EXCEPTION 6 \(#UD invalid opcode\)", "selftest_fault"),
    # Overflowing into the guard page makes the CPU unable to push the #PF frame: #DF on its
    # IST stack is the only way to report it.
    "stack_overflow": (r"EXCEPTION 8 \(#DF double fault\)", "selftest_recurse"),
    "panic": (r"panic: fault=panic: panic requested", "selftest_fault"),
    "ap_panic": (r"panic: fault=ap_panic: panic requested on CPU 1", "ap_panic"),
}


@pytest.mark.parametrize("fault", sorted(CASES))
def test_fault_is_reported(fault):
    first, func = CASES[fault]
    boot = Boot("kernel", cpus=2, cmdline=f"fault={fault} on_panic=reboot", timeout=60)
    log = boot.run()
    assert re.search(first, log), log[-3000:]
    assert "backtrace:" in log
    assert re.search(r"\[<ffffffff8[0-9a-f]{7}>\] " + func + r"\+0x[0-9a-f]+", log), log[-3000:]
    if fault in ("pagefault", "ud", "stack_overflow"):
        assert re.search(r"RIP ffffffff8[0-9a-f]{7} CS 0008", log)
        assert "CR2 " in log and "R15 " in log
    assert "nested fault" not in log
    assert re.search(r"keel: PANIC on CPU \d: system halted", log)
    # on_panic=reboot with QEMU's -no-reboot: QEMU exits, so the run ended by itself.
    assert "keel: rebooting" in log


def test_panic_halts_by_default():
    boot = Boot("kernel", cpus=2, cmdline="fault=panic", timeout=15)
    log = boot.run(end=r"system halted")
    assert "keel: PANIC on CPU 0: system halted" in log
    assert "keel: rebooting" not in log


@pytest.mark.parametrize("action,line", [("reboot", "keel: rebooting"), ("poweroff", "keel: powering off")])
def test_shutdown_paths(action, line):
    boot = Boot("kernel", cpus=2, cmdline=f"on_finish={action}", timeout=30)
    log = boot.run()
    assert line in log
    assert "failed" not in log, log[-2000:]


def debug_build():
    """Whether KEEL_BUILD holds `make DEBUG=1`'s image (spinlocks with owner checks)."""
    syms = subprocess.run(["nm", os.path.join(BUILD, "keel64.elf")], capture_output=True, text=True, check=True)
    return " spin_debug_lock" in syms.stdout


def test_relock():
    """A CPU taking a lock it holds: the debug build names the lock and the caller; others say
    they do not check (make DEBUG=1 check-boot PYTEST_ARGS='-k relock' runs the first)."""
    debug = debug_build()
    boot = Boot("kernel", cpus=2, cmdline="fault=relock on_panic=reboot", timeout=60)
    log = boot.run(end=None if debug else r"checks lock owners")
    if not debug:
        assert "fault=relock: only the debug build (make DEBUG=1) checks lock owners" in log, log[-3000:]
        assert "PANIC" not in log
        return
    assert re.search(r"panic: spinlock 0xffffffff8[0-9a-f]{7}: CPU 0 takes it again while holding it "
                     r"\(self-deadlock\)", log), log[-3000:]
    assert re.search(r"\[<ffffffff8[0-9a-f]{7}>\] selftest_relock\+0x[0-9a-f]+", log), log[-3000:]
    assert "nested fault" not in log
    assert "keel: rebooting" in log


def test_harness_tells_a_halt_from_a_poweroff():
    """The harness itself (issue 13 item 8): Keel halting after its work is a hang to a test that
    expects QEMU to exit, whatever the log says; a poweroff is QEMU's own exit with status 0."""
    boot = Boot("kernel", cpus=1, cmdline="on_finish=halt", timeout=10)
    with pytest.raises(AssertionError, match="neither exited"):
        boot.run()
    assert "keel: halted" in boot.log and boot.ended is None
    boot = Boot("kernel", cpus=1, cmdline="on_finish=poweroff", timeout=30)
    boot.run()
    assert boot.ended == "exit" and boot.exitstatus == 0
