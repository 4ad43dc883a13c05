"""The test guests of guests/tests/ and the outcome each should have, on bare QEMU and under Keel.

An outcome is ("status", N): the guest wrote N to the debug-exit port (bare QEMU then exits with
(N << 1) | 1), or ("crash", regex): the guest must be ended by the hypervisor (under Keel: Keel's
"vm NAME crashed: ..." line matches regex; on bare QEMU triple_fault and reset end that way, as a
reset that -no-reboot turns into QEMU exit code 0), or ("reset", regex): the guest resets its
machine (under Keel: "vm NAME reset itself" and a restart). `reason` is a regex the guest's FAIL line must
match when a failure is the expected outcome, so a guest that fails for another reason is caught.
Statuses are those of guests/tests/lib/guest.h. `append` is the guest's command line and `cpus`
the number of CPUs to give it (bare QEMU: -smp N), both optional; `bare` None: not run on bare QEMU.

This is the one list of the test guests: what each should do, how it is built (LONG_MODE, read by
guests/tests/guests.mk) and which lanes run it (SVM_ALONE, BOCHS_SUITE).
"""
import re
from collections import namedtuple

PASS, FAIL, FAIL_EXCEPTION, FAIL_SURVIVED = 0, 1, 2, 3

Guest = namedtuple("Guest", "name bare bare_reason keel note append cpus", defaults=("", 1))

GUESTS = [
    Guest("runtime_selftest", ("status", PASS), None, ("status", PASS),
          "the runtime's printf and command-line parsing"),
    Guest("pm32_hello", ("status", PASS), None, ("status", PASS),
          "entry in 32-bit protected mode with a multiboot magic and memory information"),
    Guest("longmode_hello", ("status", PASS), None, ("status", PASS), "the runtime's switch to long mode"),
    Guest("exceptions", ("status", PASS), None, ("status", PASS), "#DE #BP #UD #GP #PF, 32-bit"),
    Guest("exceptions64", ("status", PASS), None, ("status", PASS), "the same plus non-canonical #GP, 64-bit"),
    Guest("cpuid_policy", ("status", FAIL), r"SVM\) is visible|signature", ("status", PASS),
          "bare QEMU shows SVM and signs leaf 0x40000000 'TCGTCGTCGTCG'"),
    Guest("msr_policy", ("status", FAIL), r"expected #GP", ("status", PASS),
          "bare QEMU's TCG reads unknown MSRs as 0 and lets the guest set EFER.SVME"),
    Guest("ports", ("status", PASS), None, ("status", PASS), "QEMU's unassigned ports read all-ones too"),
    Guest("low_kernel", ("status", FAIL), r"inside the image", ("status", PASS),
          "linked at 32 KiB: the loader's multiboot information must go where the image is not; QEMU 7.2's "
          "-kernel puts its information (and command line) right after the file, inside the image's BSS; Keel "
          "moves its block"),
    Guest("spec_msrs", ("status", FAIL), r"expected #GP", ("status", PASS),
          "bare QEMU's TCG reads the speculation MSRs its EPYC does not offer as 0"),
    Guest("hlt_wake", ("status", PASS), None, ("status", PASS),
          "under Keel needs a virtual PIC and PIT (fails fast with 'no PIC' without them)"),
    Guest("npt_isolation", ("status", FAIL_SURVIVED), r"was not stopped", ("crash", r"outside its memory"),
          "bare QEMU reads unbacked memory; Keel must crash the VM"),
    Guest("hypercall", ("status", FAIL), r"raised #UD", ("status", PASS), "no hypervisor on bare QEMU"),
    Guest("triple_fault", ("crash", r"triple fault|shutdown"), None, ("crash", r"triple fault|shutdown"),
          "bare QEMU resets (exit code 0 with -no-reboot)"),
    Guest("reset", ("crash", r"reset"), None, ("reset", r"reset itself"),
          "bare QEMU resets (exit code 0 with -no-reboot); Keel builds the VM again, or ends it with "
          "on_reset=end (how=1: the 8042 instead of 0xCF9)"),
    Guest("svm_insns", ("status", PASS), None, ("status", PASS), "EFER.SVME is clear on bare QEMU: #UD"),
    Guest("efer_svme", ("status", FAIL), r"expected #GP", ("status", PASS), "bare QEMU lets the guest own SVM"),
    Guest("reserved_msr_bits", ("status", FAIL), r"expected #GP", ("status", PASS),
          "QEMU 7.2 TCG drops reserved EFER bits silently"),
    Guest("xsetbv_policy", ("status", PASS), None, ("status", PASS),
          "XCR0 checks: by the CPU on bare QEMU and AMD-V, by Keel under VT-x (XSETBV always exits)"),
    Guest("vmx_insns", ("status", PASS), None, ("status", PASS), "TCG has no VMX: #UD on bare QEMU too"),
    Guest("io_flood", ("status", PASS), None, ("status", PASS),
          "one million exits under Keel (about 20 s on TCG); count=N on the guest command line"),
    Guest("intwin_storm", ("status", PASS), None, ("status", PASS),
          "needs a pending timer interrupt during the storm (a virtual PIC and PIT under Keel); fails without one"),
    Guest("hypercall_hostile", ("status", FAIL), r"raised #UD", ("status", PASS), "no hypervisor on bare QEMU"),
    Guest("hypercall_cpl3", ("status", FAIL), r"raised #UD", ("status", PASS),
          "no hypervisor on bare QEMU; under Keel every hypercall from ring 3 returns -EPERM"),
    Guest("smp_hello", ("status", PASS), None, ("status", PASS),
          "INIT-SIPI-SIPI, APIC IDs, fixed and all-excluding-self IPIs, an IPI waking a halted CPU; under Keel "
          "needs the virtual local APIC and more than one vCPU", append="cpus=2", cpus=2),
    Guest("smp_hello64", ("status", PASS), None, ("status", PASS), "smp_hello in long mode", append="cpus=2",
          cpus=2),
    Guest("spin", ("status", PASS), None, ("status", PASS),
          "every CPU counts in a tight loop for 1 s (without seconds=S it never ends)", append="cpus=2 seconds=1",
          cpus=2),
    Guest("hlt_storm", ("status", PASS), None, ("status", PASS),
          "halted vCPUs that cannot wake under a PIT at count 1 routed to every vCPU: once hung the whole host",
          append="cpus=3 ms=500 pit=200", cpus=3),
    Guest("timer_storm", ("status", PASS), None, ("status", PASS),
          "a masked 2 us periodic APIC timer and a masked PIT at count 1 while halted; the RTC's 2 Hz ends it "
          "(bare QEMU: pit=200, since it emulates every PIT period)", append="seconds=1 pit=200"),
    Guest("regs_isolation", ("status", PASS), None, ("status", PASS),
          "role=reader checks that CR2, DR0-DR3 and DR6 keep what it wrote while a role=writer copy on the same "
          "CPU writes markers into them (under Keel: both pinned to one CPU); alone, each role passes",
          append="role=reader ms=200"),
    Guest("state_isolation", ("status", PASS), None, ("status", PASS),
          "x87/SSE/AVX registers, MXCSR, XCR0 and the MSRs guests reach without an exit (FS/GS bases, "
          "KERNEL_GS_BASE, the SYSCALL and SYSENTER MSRs) keep what pat=P loaded while copies with other patterns "
          "share the CPU or vCPUs move between CPUs (under Keel); alone, it passes", append="pat=1 ms=200"),
    Guest("exc_regs", ("status", PASS), None, ("status", PASS),
          "CR2 of a #PF raised by MMIO emulation (REP MOVSD from the local APIC to an unmapped page) and DR6 of "
          "an intercepted #DB (data breakpoint); bare QEMU raises both itself"),
    Guest("insn_intercepts", ("status", FAIL), r"MONITOR", ("status", PASS),
          "MONITOR/MWAIT, RDPRU hidden and #UD, RDPMC #GP, WBINVD/WBNOINVD run (intercepted), RDTSCP/RDPID as "
          "CPUID says with the guest's own TSC_AUX (aux=V ms=M); bare QEMU's EPYC offers MONITOR/MWAIT"),
    Guest("string_io", ("status", PASS), None, ("status", PASS),
          "INS/OUTS with and without REP, DF=0/1, on claimed (COM1 scratch, 0xcf8) and unclaimed ports, a count of "
          "several pages, the 32-bit address size, #PF mid-REP, FS/GS overrides; bare QEMU does it all itself"),
    Guest("string_io32", ("status", FAIL), r"past FS's limit: no exception", ("status", PASS),
          "INS/OUTS in 32-bit protected mode: the 16-bit address size wrapping within ES, segment bases through ES "
          "and an FS override, #GP past FS's limit (bare QEMU's TCG does not check data segment limits)"),
    Guest("cr4_vmxe", None, None, ("status", PASS),
          "sets CR4.VMXE where CPUID hides VMX: #GP; not on bare QEMU or QEMU SVM, where a reserved CR4 bit hangs "
          "QEMU 7.2 itself (Bochs lanes only)"),
    Guest("icebp", None, None, ("status", PASS),
          "ICEBP (INT1) delivers one trap-like #DB past the instruction; QEMU 7.2's TCG raises #UD for it, so "
          "Bochs lanes only"),
    Guest("single_step", ("status", PASS), None, ("status", PASS),
          "RFLAGS.TF over CPUID, RDMSR and OUT (completed by the hypervisor), STI and MOV SS: one #DB with DR6.BS "
          "after each instruction, the MOV SS one an instruction later (QEMU's TCG raises it early: tolerated)"),
    Guest("nmi", ("status", PASS), None, ("status", PASS),
          "NMI IPIs (self, to a CPU halted with IF=0, all-but-self), NMIs held until the handler's IRET and merged "
          "into one that comes right after it, an NMI waking the BSP from cli; hlt", append="cpus=2", cpus=2),
    Guest("idle", None, None, ("status", PASS), "halts with interrupts on until seconds=S pass (scheduler tests)"),
    Guest("echo", None, None, ("status", PASS), "echoes its COM1 input (console tests); never ends by itself"),
    Guest("window_guest", None, None, ("status", PASS),
          "writes a pattern the management VM reads through its memory window, waits for its reply (needs one: "
          "test_mgmt_window.py)"),
    Guest("bench_exits", None, None, ("status", PASS), "the exit microbenchmark (make bench): needs a hypervisor"),
    Guest("ioreq", None, None, ("status", PASS),
          "I/O requests served by keel-iotest in the management VM (test_mgmt_io.py): ports, MMIO, string I/O, "
          "PCI config cycles, doorbells, MSI and INTx on 2 vCPUs; waits for the device model", append="cpus=2",
          cpus=2),
    Guest("virtio_hostile", None, None, ("status", PASS),
          "a hostile virtio driver: looping chains, an index past the queue, buffers outside RAM, thousands of "
          "doorbells; its device must need a reset and recover (test_mgmt_dm.py: needs keel-dm)"),
]

# How each guest is built (guests/tests/guests.mk asks: `guestlist.py 32` or `guestlist.py 64`):
# 32-bit protected mode, or long mode through lib/entry64.S.
LONG_MODE = {"longmode_hello", "exceptions64", "hypercall_hostile", "bench_exits", "smp_hello64", "spin",
             "regs_isolation", "state_isolation", "exc_regs", "insn_intercepts", "spec_msrs", "string_io",
             "single_step", "nmi", "ioreq"}

# The policy guests each lane runs: alone, one VM each, under Keel on QEMU SVM (test_svm.py), and
# all at once in one boot on Bochs ryzen (test_bochs.py) and on Bochs VT-x (test_vmx_bochs.py).
SVM_ALONE = ["runtime_selftest", "cpuid_policy", "msr_policy", "ports", "exceptions", "exceptions64",
             "longmode_hello", "pm32_hello", "hypercall", "svm_insns", "efer_svme", "reserved_msr_bits",
             "hypercall_hostile", "intwin_storm", "hlt_wake", "xsetbv_policy", "vmx_insns", "exc_regs", "spec_msrs",
             "low_kernel", "string_io", "string_io32", "single_step"]
BOCHS_SUITE = ["cpuid_policy", "msr_policy", "spec_msrs", "ports", "exceptions", "exceptions64", "longmode_hello",
               "pm32_hello", "hypercall", "svm_insns", "efer_svme", "reserved_msr_bits", "hypercall_hostile",
               "hlt_wake", "intwin_storm", "xsetbv_policy", "vmx_insns", "npt_isolation", "insn_intercepts", "icebp",
               "cr4_vmxe"]
# In the Bochs VT-x suite only: Bochs 2.7's SVM VMRUN drops the VMCB's CR2, which string_io and
# string_io32 check; and its SVM lets a guest's pending single-step trap fire in the host after
# the #VMEXIT that interrupted the delivery of a #DB, before the host's segment state is back
# (the host then faults on its own per-CPU data and triple-faults), which single_step provokes.
BOCHS_VMX_ONLY = ["string_io", "string_io32", "single_step"]

BY_NAME = {g.name: g for g in GUESTS}


def crashed_as_expected(log, vm, reason, same_address=False):
    """Asserts that VM `vm` was ended by the hypervisor for `reason` (a regex matched against
    Keel's "vm NAME crashed: ..." line) after the guest announced it (its "EXPECT-CRASH: ..."
    line): a guest that dies earlier, or for another reason, fails. same_address: the first
    hexadecimal address in the guest's announcement must appear in Keel's reason too."""
    expect = re.search(rf"\[{vm}\] EXPECT-CRASH: \w+: ([^\r\n]*)", log)
    crash = re.search(rf"keel: vm {vm} crashed: ([^;\r\n]*)", log)
    assert expect, f"vm {vm} never announced the crash it expects:\n{log[-3000:]}"
    assert crash, f"vm {vm} did not crash:\n{log[-3000:]}"
    assert expect.start() < crash.start(), f"vm {vm} crashed before it announced it:\n{log[-3000:]}"
    assert re.search(reason, crash.group(1)), f"vm {vm} crashed with '{crash.group(1)}', expected /{reason}/"
    if same_address:
        addr = re.search(r"0x[0-9a-f]+", expect.group(1))
        assert addr and int(addr.group(0), 16) in [int(a, 16) for a in re.findall(r"0x[0-9a-f]+", crash.group(1))], \
            f"vm {vm}: announced {expect.group(1)!r}, crashed with {crash.group(1)!r}"


VCPU_ACCOUNT_RE = re.compile(r"vm (\w+): vCPU 0 ran (\d+) us \(\d+ us in the guest\), waited (\d+) us, blocked \d+ us, "
                             r"on CPUs (\S+), (\d+) migrations")


def state_isolation_vms(layout, guest, ms, mem, slice_us, hlt_us=200):
    """The Keel command line and modules of a state_isolation run (issue 13 item 13): copies of the
    guest with their own patterns, for `ms` ms each, in slices of slice_us (the balancer looks
    every 4 slices). "one_cpu": two VMs take turns on CPU 1. "migrating": three VMs free to move
    on two CPUs beside a spinner pinned to CPU 0 for ms/2, each halting for hlt_us after every
    round of checks: their vCPUs block and wake, and the scheduler moves them between the CPUs
    while they check. guest(name) gives a module's path."""
    if layout == "one_cpu":
        vms, others = [("a", 0x11, ",cpus=1"), ("b", 0x22, ",cpus=1")], []
    else:
        vms = [("a", 0x11, ""), ("b", 0x22, ""), ("c", 0x33, "")]
        others = [("o", guest("spin") + f" cpus=1 ms={ms // 2}", ",cpus=0")]
    hlt = f" hlt_us={hlt_us}" if layout == "migrating" else ""
    mods = [guest("state_isolation") + f" pat={p} ms={ms}{hlt}" for _, p, _ in vms] + [m for _, m, _ in others]
    decl = " ".join(f"vm={n},module={i},mem={mem}{pin}" for i, (n, _, pin) in enumerate(vms + others))
    return f"{decl} sched_slice={slice_us} on_finish=poweroff", mods


def state_isolation_checked(log, layout, min_checks):
    """Asserts that every copy saw x87/SSE/AVX and the 10 MSRs, checked them at least min_checks
    times and passed; that under "one_cpu" both stayed on CPU 1 and took turns, and under
    "migrating" the vCPUs halted and woke, and some did move between CPUs (Keel's accounting).
    Returns {vm: (checks, wake-ups)}, {vm: migrations}."""
    names = ["a", "b"] if layout == "one_cpu" else ["a", "b", "c"]
    for vm, pat in zip(names, (0x11, 0x22, 0x33)):
        assert f"[{vm}] state_isolation: pat {pat}, XSAVE, XCR0 0x7 (x87 SSE AVX), 10 MSRs" in log, log[-3000:]
        assert f"[{vm}] PASS: state_isolation" in log, log[-3000:]
        assert f"keel: vm {vm} exited with status 0" in log, log[-3000:]
    ends = re.finditer(r"\[(\w+)\] state_isolation: \d+ rounds, (\d+) checks, (\d+) wake-ups", log)
    checks = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in ends}
    assert all(checks.get(vm, (0, 0))[0] >= min_checks for vm in names), checks
    # "migrating": the vCPUs did halt and wake (a halt a round; Keel delivers a periodic timer's
    # periods missed while the vCPU waited for a CPU too, which costs checks); "one_cpu" never halts.
    assert all(checks[vm][1] >= 10 if layout == "migrating" else checks[vm][1] == 0 for vm in names), checks
    runs = {m.group(1): (int(m.group(2)), int(m.group(3)), m.group(4), int(m.group(5)))
            for m in VCPU_ACCOUNT_RE.finditer(log)}
    assert all(vm in runs for vm in names), log[-3000:]
    if layout == "one_cpu":
        # Both on CPU 1, taking turns: each waited for the other a good part of its life.
        assert all(runs[vm][2] == "1" for vm in names), runs
        assert all(runs[vm][1] >= 0.1 * (runs[vm][0] + runs[vm][1]) for vm in names), runs
    else:
        assert sum(runs[vm][3] for vm in names) > 0, runs
    return checks, {vm: runs[vm][3] for vm in names}


if __name__ == "__main__":
    import sys

    # `guestlist.py 32|64`: the guests guests/tests/guests.mk builds in that mode.
    want64 = sys.argv[1:] == ["64"]
    print(" ".join(g.name for g in GUESTS if (g.name in LONG_MODE) == want64))
