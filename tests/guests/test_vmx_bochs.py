"""The guest suite under Keel's Intel VT-x backend on Bochs (cpu: model=corei7_skylake_x: VMX with
EPT 2M/1G, VPID, unrestricted guest), with the same guest binaries as the AMD-V lanes (make check-vmx).

Unlike its SVM model, Bochs's VMX routes a guest's triple fault to the VMM as exit reason 2, so
triple_fault runs here too. QEMU's TCG has no VMX at all: the last test checks that Keel, offered a
CPU that claims VT-x there, says VT-x is unusable and carries on instead of hanging."""
import os
import re
import shutil
import sys
import subprocess
import tempfile
import time

import pytest

from test_bochs import GUESTS as SHARED_GUESTS  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "boot"))
from keelboot import spec_plan  # noqa: E402
from guestlist import (BOCHS_VMX_ONLY, crashed_as_expected, state_isolation_checked,  # noqa: E402
                       state_isolation_vms)

# string_io and string_io32 only on VT-x among the Bochs lanes: Bochs's SVM VMRUN drops the VMCB's CR2
# (test_bochs.py); guestlist.py lists them (BOCHS_VMX_ONLY).
GUESTS = SHARED_GUESTS + BOCHS_VMX_ONLY

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# KEEL_BUILD: another build directory (make B=...), for keel.elf, keel.efi and the guests.
BUILD = os.environ.get("KEEL_BUILD", os.path.join(ROOT, "build"))

BOCHSRC = """memory: guest={guest_mib}, host={host_mib}
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model={model}, count={cpus}, ips=100000000, reset_on_triple_fault=1
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
display_library: rfb, options="timeout=0"
com1: enabled=1, mode=file, dev={com1}
log: {log}
clock: sync=none, time0=local
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
"""

VMX_LINE = "vmx: Intel VT-x with EPT (2M, 1G pages), unrestricted guest, VPID"


def bochs(cmdline, modules, guest_mib=256, host_mib=256, cpus=1, firmware="bios", timeout=600, until=None,
          model="corei7_skylake_x", settle=0):
    """Boots Keel with these modules on Bochs's Skylake-X (or another Intel `model`); returns the
    serial console's text.

    timeout: wall-clock seconds before a run counts as a hang. The checks are on Bochs's own time
    (clock: sync=none: so many instructions a second), which a slower host stretches but does not
    change; the make targets run two Bochs at once (pytest-xdist), and on a loaded 2-core machine
    the heaviest cases (the masked timer storm, weights and cap) took over 300 s.

    firmware "bios": Bochs's BIOS boots a GRUB ISO; "ovmf": OVMF boots keel.efi from a FAT disk.
    until: a regex; once the console shows it, Bochs is stopped (for runs that end in a halt),
    after `settle` seconds more (to see that nothing follows it)."""
    work = tempfile.mkdtemp(prefix="keel-vmx-")
    try:
        iso, com1, log = (os.path.join(work, n) for n in ("suite.iso", "com1.txt", "bochs.log"))
        env = dict(os.environ, KEEL_GRUB_PROTOCOL="multiboot", KEEL_GRUB_TIMEOUT="0",
                   KEEL_ELF=os.path.join(BUILD, "keel.elf"), KEEL_EFI=os.path.join(BUILD, "keel.efi"))
        script = ("iso", "mkiso.sh") if firmware == "bios" else ("boot", "efi", "mkimg.sh")
        subprocess.run(["bash", os.path.join(ROOT, *script), iso, cmdline, *modules],
                       check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        rc = os.path.join(work, "bochsrc")
        conf = BOCHSRC.format(iso=iso, com1=com1, log=log, guest_mib=guest_mib, host_mib=host_mib, cpus=cpus,
                              model=model)
        if firmware == "ovmf":
            conf = (conf.replace("file=/usr/share/bochs/BIOS-bochs-latest",
                                 "file=/usr/share/ovmf/OVMF.fd, address=0xffe00000")
                    .replace(f"type=cdrom, path={iso}, status=inserted", f"type=disk, path={iso}, mode=flat")
                    .replace("boot: cdrom", "boot: disk"))
        with open(rc, "w") as f:
            f.write(conf)
        with open(os.path.join(work, "cmds"), "w") as f:
            f.write("c\n")
        proc = subprocess.Popen(["bochs", "-q", "-f", rc, "-rc", os.path.join(work, "cmds")], cwd=work,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        seen_until = False
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                if until and os.path.exists(com1) and re.search(until, open(com1, errors="replace").read()):
                    seen_until = True
                    time.sleep(settle)
                    break
                time.sleep(1)
        finally:
            exited = proc.poll() is not None
            proc.kill()
            proc.wait()
        out = open(com1, errors="replace").read() if os.path.exists(com1) else ""
        # A run that neither ended (Bochs exits after Keel's poweroff or reboot) nor showed `until`
        # is a hang, whatever the console printed before it ("keel: powering off" comes first).
        assert exited or seen_until, f"Bochs neither exited nor showed {until!r} within {timeout} s:\n{out[-3000:]}"
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def guest(name):
    return os.path.join(BUILD, "guests", name if "." in name else f"{name}.elf")


needs_bochs = pytest.mark.skipif(not shutil.which("bochs"), reason="bochs is not installed (make deps)")


@needs_bochs
def test_grub_boot_two_cpus_x2apic():
    # The boot-path check on Bochs's Intel model: GRUB (BIOS), both CPUs, x2APIC, CPUID 0x16 TSC.
    out = bochs("on_finish=poweroff", [], cpus=2)
    assert "keel: 2/2 CPUs online" in out, out[-3000:]
    assert "lapic: x2APIC mode" in out
    assert "tsc: 3500.000 MHz (CPUID 0x16)" in out
    assert "keel: powering off" in out


@needs_bochs
def test_ovmf_boot_runs_a_guest():
    # The other boot path on Bochs's Intel model: OVMF loads keel.efi from a FAT disk, which
    # loads keel.elf and a guest. Bochs's OVMF lists one CPU in its MADT and offers no ACPI
    # poweroff, so the run ends at Keel's halt and the test stops Bochs there.
    out = bochs("vm=g,module=0,mem=8M on_finish=halt", [guest("pm32_hello")], firmware="ovmf", timeout=900,
                until=r"keel: halted")
    assert "keel: 1/1 CPUs online" in out, out[-3000:]
    assert VMX_LINE in out, out[-3000:]
    assert "keel: vm g exited with status 0" in out, out[-3000:]


@needs_bochs
def test_suite_on_bochs_vmx():
    decl = " ".join(f"vm={g},module={i},mem=8M" for i, g in enumerate(GUESTS))
    out = bochs(decl + " on_finish=poweroff", [guest(g) for g in GUESTS])
    assert VMX_LINE in out, out[-3000:]
    for g in GUESTS:
        if g == "npt_isolation":
            crashed_as_expected(out, "npt_isolation", r"access to guest-physical 0x40000000", same_address=True)
        else:
            assert f"keel: vm {g} exited with status 0" in out, f"{g}:\n{out[-3000:]}"
    # Issue 11 item 4: WBINVD and WBNOINVD are intercepted (one exit each).
    assert re.search(r"keel: vm insn_intercepts exited with status 0; exits:.* wbinvd=2\b", out), out[-3000:]
    # What Bochs's Skylake-X offers the guest of the speculation MSRs (spec_msrs checks each).
    print("\n".join(l for l in out.splitlines() if "[spec_msrs] offers" in l or "spec: " in l))
    assert "vmm: every VM page returned to the allocator" in out
    assert "keel: powering off" in out


@needs_bochs
def test_hypercalls_from_user_space_on_bochs_vmx():
    # Issue 11 item 7: VMCALL at CPL 3 (SS.DPL 3) returns -EPERM, prints nothing and ends nothing.
    out = bochs("vm=cpl3,module=0,mem=8M on_finish=poweroff", [guest("hypercall_cpl3")])
    assert VMX_LINE in out, out[-3000:]
    assert "[cpl3] PASS: hypercall_cpl3" in out, out[-3000:]
    assert "keel: vm cpl3 exited with status 0" in out, out[-3000:]
    assert "CPL3-LEAK" not in out, out[-3000:]
    assert "[cpl3] CPL0-CONSOLE-OK" in out, out[-3000:]


@needs_bochs
def test_triple_fault_real_mode_and_modules_on_bochs_vmx():
    out = bochs("vm=tf,module=0,mem=8M vm=rm,module=1,mem=4M,boot=real vm=rs,module=2,mem=8M "
                "vm=m,module=3,mem=8M,mods=4 on_finish=poweroff",
                [guest("triple_fault"), guest("realmode.bin"), guest("runtime_selftest"), guest("pm32_hello"),
                 guest("ports")])
    assert VMX_LINE in out, out[-3000:]
    crashed_as_expected(out, "tf", r"^triple fault")
    assert "[rm] PASS: realmode" in out and "keel: vm rm exited with status 0" in out, out[-3000:]
    assert "keel: vm rs exited with status 0" in out, out[-3000:]
    assert re.search(r"vm m: 8 MiB .*, 1 guest module, entry", out) and "keel: vm m exited with status 0" in out
    assert "vmm: every VM page returned to the allocator" in out
    assert "keel: powering off" in out


@needs_bochs
def test_reset_on_bochs_vmx():
    # A reset builds the VM again (new VMCSs, VPIDs and EPT) on the CPU that retired it, its AP
    # still waiting for SIPI; with on_reset=end the VM ends instead.
    out = bochs("vm=once,module=0,mem=8M,on_reset=end vm=again,module=1,mem=8M,vcpus=2",
                [guest("reset") + " how=1", guest("reset")], cpus=2, until=r"vm again: restart 3\b")
    assert VMX_LINE in out, out[-3000:]
    assert "[once] EXPECT-CRASH: reset: resetting through the 8042" in out, out[-3000:]
    assert "keel: vm once reset itself (on_reset=end)" in out, out[-3000:]
    assert re.search(r"vm again: restart 3\b", out), out[-3000:]
    assert out.count("keel: vm again reset itself, restarting it") >= 3, out[-3000:]
    assert "FAIL" not in out, out[-3000:]


RAN_RE = re.compile(r"vm (\w+): vCPU (\d+) ran (\d+) us \(\d+ us in the guest\), waited \d+ us, blocked \d+ us, on CPUs (\S+), (\d+) migrations")


def vcpu_runs(out):
    return {(m.group(1), int(m.group(2))): (int(m.group(3)), m.group(4)) for m in RAN_RE.finditer(out)}


def migrations(out, vm):
    """How often the vCPUs of `vm` moved between CPUs, by Keel's accounting at the VM's end."""
    found = [int(m.group(5)) for m in RAN_RE.finditer(out) if m.group(1) == vm]
    assert found, f"no accounting lines for vm {vm}:\n{out[-3000:]}"
    return sum(found)


@needs_bochs
def test_smp_guests_on_bochs_vmx():
    # APs started by INIT/SIPI through the virtual local APIC, IPIs between vCPUs: 7 vCPUs of 3
    # VMs on 2 CPUs.
    # And NMIs (issue 13 item 5): NMI IPIs, virtual-NMI blocking until the handler's IRET, and
    # NMI-window exiting, which delivers the held NMI right after that IRET.
    out = bochs("vm=smp,module=0,mem=16M,vcpus=2 vm=s64,module=1,mem=16M,vcpus=3 vm=nmi,module=2,mem=16M,vcpus=2 "
                "on_finish=poweroff",
                [guest("smp_hello") + " cpus=2", guest("smp_hello64") + " cpus=3 x2apic=1", guest("nmi") + " cpus=2"],
                cpus=2)
    assert "[s64] smp: x2APIC mode" in out, out[-3000:]  # MSR exits for every local APIC access
    assert VMX_LINE + ", preemption timer, virtual NMIs" in out, out[-3000:]
    assert "[nmi] PASS: nmi" in out and "keel: vm nmi exited with status 0" in out, out[-3000:]
    assert "[smp] PASS: smp_hello" in out and "keel: vm smp exited with status 0" in out, out[-3000:]
    assert "[s64] PASS: smp_hello64" in out and "keel: vm s64 exited with status 0" in out, out[-3000:]
    for cpu in (1, 2):
        assert f"[s64] cpu {cpu}: apic id {cpu}, work ok" in out
    # Whether any of these vCPUs moves depends on the moment a balance finds one runnable but not
    # running (they block on HLT most of the time): Bochs runs this case in a few distinct ways
    # and one of them (CI's run of session 10) has no migration at all. The move itself (VMCLEAR
    # here, VMPTRLD there) is asserted in test_guest_tsc_monotonic_on_bochs_vmx, whose vCPUs spin.
    assert len(vcpu_runs(out)) == 7, "\n".join(m.group(0) for m in RAN_RE.finditer(out))
    assert "vmm: every VM page returned to the allocator" in out


@needs_bochs
def test_guest_tsc_monotonic_on_bochs_vmx():
    # One TSC offset per VM in every VMCS: vCPUs that move between CPUs (VMCLEAR/VMPTRLD) never
    # see the TSC go back.
    out = bochs("vm=t,module=0,mem=16M,vcpus=3 vm=o,module=1,mem=16M,vcpus=2,cpus=0 on_finish=poweroff",
                [guest("spin") + " cpus=3 ms=200 tsc=1", guest("spin") + " cpus=2 ms=100"], cpus=2)
    assert re.search(r"\[t\] spin: TSC monotonic across cpus \(\d+ reads\)", out), out[-3000:]
    assert "keel: vm t exited with status 0" in out, out[-3000:]
    # The readers did move between CPUs while they read: otherwise one TSC offset was never
    # tested against another CPU's.
    assert migrations(out, "t") > 0, "\n".join(m.group(0) for m in RAN_RE.finditer(out))


@needs_bochs
def test_pit_storm_on_halted_vcpus_on_bochs_vmx():
    # Regression (host-wide deadlock): vCPUs halted for good under a PIT at count 1 routed through
    # the I/O APIC to every vCPU (storm: IF=0, ended by its last vCPU; lone: one vCPU behind a
    # software-disabled local APIC, never ends), and a VM beside them that must still run to its end.
    out = bochs("vm=storm,module=0,mem=8M,vcpus=3 vm=lone,module=1,mem=8M vm=after,module=2,mem=8M",
                [guest("hlt_storm") + " cpus=3 ms=100", guest("hlt_storm"), guest("spin") + " cpus=1 ms=50"],
                cpus=2, until=r"(?s)(?=.*keel: vm storm exited)(?=.*keel: vm after exited)(?=.*halted for good)")
    assert "[storm] PASS: hlt_storm" in out, out[-3000:]
    assert "keel: vm storm exited with status 0" in out, out[-3000:]
    assert "[lone] hlt_storm: halted for good" in out, out[-3000:]
    assert "keel: vm after exited with status 0" in out, out[-3000:]


@needs_bochs
def test_masked_timer_storm_on_bochs_vmx():
    # A halted VM with a masked 2 us periodic APIC timer and a masked PIT at count 1 costs the VM
    # pinned beside it nothing: the spinner keeps at least 90 % of CPU 1 by Keel's accounting.
    out = bochs("vm=storm,module=0,mem=8M,cpus=1 vm=victim,module=1,mem=8M,cpus=1 on_finish=poweroff",
                [guest("timer_storm") + " seconds=1", guest("spin") + " cpus=1 ms=500"], cpus=2)
    assert "[storm] PASS: timer_storm" in out, out[-3000:]
    assert "keel: vm victim exited with status 0" in out, out[-3000:]
    full = {m.group(1): [int(x) for x in m.group(3, 4)] for m in RAN_FULL_RE.finditer(out)}
    run, wait = full["victim"]
    assert run >= 0.9 * (run + wait), full


RAN_FULL_RE = re.compile(r"vm (\w+): vCPU (\d+) ran (\d+) us \(\d+ us in the guest\), waited (\d+) us, blocked (\d+) us")


@needs_bochs
def test_weights_cap_and_pinning_on_bochs_vmx():
    # Slices end by the VMX-preemption timer. CPU 1 is shared 1:3 by two pinned spinning VMs for
    # the same 300 ms of guest time (60 slices); a third VM, capped at 25%, has CPU 0 to itself.
    out = bochs("vm=light,module=0,mem=8M,weight=100,cpus=1 vm=heavy,module=1,mem=8M,weight=300,cpus=1 "
                "vm=capped,module=2,mem=8M,cpus=0,cap=25 on_finish=poweroff",
                [guest("spin") + " cpus=1 ms=300"] * 3, cpus=2)
    for vm in ("light", "heavy", "capped"):
        assert f"keel: vm {vm} exited with status 0" in out, out[-3000:]
    runs = vcpu_runs(out)
    assert runs[("light", 0)][1] == "1" and runs[("heavy", 0)][1] == "1", runs
    assert runs[("capped", 0)][1] == "0", runs
    # Both spin for the same 300 ms of wall-clock (TSC) time, sharing CPU 1 all along.
    light, heavy = runs[("light", 0)][0], runs[("heavy", 0)][0]
    assert abs(heavy / (light + heavy) - 0.75) <= 0.05 * 0.75, runs
    # Always runnable, so its lifetime is run + wait (+ blocked: none); at most 25% of it, plus one
    # period's budget (25 ms) for where the lifetime cuts a period.
    full = {(m.group(1), int(m.group(2))): [int(x) for x in m.group(3, 4, 5)] for m in RAN_FULL_RE.finditer(out)}
    run, wait, blocked = full[("capped", 0)]
    life = run + wait + blocked
    assert run <= 0.25 * life + 25000, full[("capped", 0)]
    assert run >= 0.20 * life, full[("capped", 0)]


@needs_bochs
def test_cr2_and_debug_registers_on_bochs_vmx():
    # Issue 11, items 1 and 2. VT-x switches neither CR2 nor DR0-DR3 nor DR6: a writer and a reader
    # take turns on CPU 1 (0.5 ms slices, ended by the preemption timer) and the reader must always
    # read back its own values. exc_regs, on CPU 0: CR2 of the #PF that the MMIO emulator injects,
    # DR6 of the #DB that Keel intercepts and reflects.
    out = bochs("vm=writer,module=0,mem=8M,cpus=1 vm=reader,module=1,mem=8M,cpus=1 vm=exc,module=2,mem=8M,cpus=0 "
                "sched_slice=500 spec=force on_finish=poweroff",
                [guest("regs_isolation") + " role=writer ms=200", guest("regs_isolation") + " role=reader ms=150",
                 guest("exc_regs")], cpus=2)
    assert "[reader] PASS: regs_isolation" in out, out[-3000:]
    assert "[exc] PASS: exc_regs" in out, out[-3000:]
    # Every speculation mitigation forced on (issue 11, item 3): VERW and the L1D flush before
    # each VMRESUME, the RSB fill after each exit, the retpoline and return thunks.
    assert "spec=force" in out and spec_plan(out).get("VERW before entry") == "on", out[-3000:]
    for vm in ("writer", "reader", "exc"):
        assert f"keel: vm {vm} exited with status 0" in out, out[-3000:]
    full = {m.group(1): [int(x) for x in m.group(3, 4)] for m in RAN_FULL_RE.finditer(out)}
    runs = vcpu_runs(out)
    assert runs[("reader", 0)][1] == "1" and runs[("writer", 0)][1] == "1", runs
    ran, waited = full["reader"]
    assert waited >= 0.3 * (ran + waited), full


@needs_bochs
@pytest.mark.parametrize("layout", ["one_cpu", "migrating"])
def test_fpu_and_msrs_stay_with_their_vm_on_bochs_vmx(layout):
    # Issue 13 item 13 (guestlist.py, state_isolation_vms): x87/SSE/AVX state, MXCSR, XCR0 and the
    # MSRs a guest reaches without an exit stay each VM's own, two VMs taking turns on CPU 1 (0.5 ms
    # slices, ended by the preemption timer) or three moving between the CPUs. VT-x switches FS/GS
    # bases and SYSENTER_* through the VMCS, KERNEL_GS_BASE and the SYSCALL MSRs through the MSR
    # areas (the host's list written again when a vCPU changes CPU); Keel the XSAVE state and XCR0.
    cmdline, mods = state_isolation_vms(layout, guest, ms=150, mem="8M", slice_us=500)
    out = bochs(cmdline, mods, cpus=2)
    assert VMX_LINE in out, out[-3000:]
    print(layout, *state_isolation_checked(out, layout, min_checks=200 if layout == "one_cpu" else 50))


@needs_bochs
@pytest.mark.parametrize("layout", ["one_cpu", "migrating"])
def test_fpu_and_msrs_stay_with_their_vm_on_bochs_ryzen(layout):
    # The same on Bochs's AMD model (a second opinion for AMD-V, with NRIPS; here for the bochs()
    # helper): VMLOAD/VMSAVE switch the MSRs, Keel the XSAVE state and XCR0. Its TSC runs slower
    # against the instruction count than Skylake-X's, hence the longer guest time.
    cmdline, mods = state_isolation_vms(layout, guest, ms=300, mem="8M", slice_us=500)
    out = bochs(cmdline, mods, cpus=2, model="ryzen")
    assert "svm: AMD-V with nested paging, 32768 ASIDs, NRIPS" in out, out[-3000:]
    print(layout, *state_isolation_checked(out, layout, min_checks=200 if layout == "one_cpu" else 50))


@needs_bochs
def test_spec_ctrl_per_vcpu_on_bochs_tigerlake():
    # Issue 11 item 3 on the one emulated CPU with speculation controls: Bochs's Tiger Lake offers
    # IA32_SPEC_CTRL (IBRS, STIBP, SSBD), PRED_CMD, FLUSH_CMD and ARCH_CAPABILITIES (0x1f: enhanced
    # IBRS, RSBA, SKIP_L1DFL_VMENTRY...). Keel's plan there: enhanced IBRS on, retpolines off, the
    # one-entry RSB fill, VERW, IBPB when CPU 1 switches VMs. Two VMs take turns on CPU 1: one holds
    # every SPEC_CTRL bit, the other must keep reading 0.
    out = bochs("vm=h,module=0,mem=8M,cpus=1 vm=z,module=1,mem=8M,cpus=1 sched_slice=500 on_finish=poweroff",
                [guest("spec_msrs") + " hold=1 ms=200", guest("spec_msrs") + " hold=0 ms=150"], cpus=2,
                model="tigerlake")
    spec = spec_plan(out)
    assert spec.get("enhanced/automatic IBRS") == "on" and spec.get("retpolines") == "off", out[-3000:]
    assert spec.get("IBPB on VM switch") == "on" and spec.get("RSB fill after exit") == "on (one entry: PBRSB)", spec
    assert "[h] offers: SPEC_CTRL(IBRS)(STIBP)(SSBD) PRED_CMD FLUSH_CMD" in out, out[-3000:]
    for vm in ("h", "z"):
        assert f"[{vm}] PASS: spec_msrs" in out, out[-3000:]
        assert f"keel: vm {vm} exited with status 0" in out, out[-3000:]
    checks = {m.group(1): int(m.group(2)) for m in re.finditer(r"\[(\w)\] spec_ctrl: (\d+) checks", out)}
    assert checks.get("h", 0) > 1000 and checks.get("z", 0) > 1000, checks
    runs = vcpu_runs(out)
    assert runs[("h", 0)][1] == "1" and runs[("z", 0)][1] == "1", runs


@needs_bochs
def test_panic_stops_cpus_running_guests_on_bochs_vmx():
    # Issue 13 item 13 on VT-x: a CPU panics while each CPU runs a guest that reports every second.
    # Under VT-x the local APIC timer never fires while guests run (the VMX-preemption timer ends
    # their runs), so fault=panic_in_guest also checks on every full-path exit (vmm/vcpu_run.c):
    # the preemption timer's exit panics 200 ms after every CPU ran a guest. The stop-NMI reaches
    # the other CPU in VMX non-root mode (an NMI exit, which Keel turns into its own NMI): the
    # report is whole (its last line comes) with no nested fault, and in 3 s of wall-clock time
    # more neither guest prints (a weak check here: a guest's TSC second takes Bochs about a minute,
    # so the per-second reports are rare). Without the exit-path check no panic comes at all.
    out = bochs("vm=a,module=0,mem=8M,cpus=0 vm=b,module=1,mem=8M,cpus=1 fault=panic_in_guest",
                [guest("spin") + " cpus=1 report=1", guest("spin") + " cpus=1 report=1"], cpus=2,
                until=r"keel: PANIC on CPU \d: system halted", settle=3, timeout=420)
    assert re.search(r"panic: fault=panic_in_guest: panic requested on CPU \d with guests running", out), out[-3000:]
    before, after = re.split(r"keel: PANIC on CPU \d: system halted", out, maxsplit=1)
    for vm in ("a", "b"):
        assert f"[{vm}] spin: 1 cpus spinning" in before, out[-3000:]  # both guests were running
    assert "[a]" not in after and "[b]" not in after, out[-3000:]
    assert "EXCEPTION" not in out and "nested fault" not in out, out[-3000:]


@needs_bochs
@pytest.mark.skipif(not os.environ.get("KEEL_VMX_FULL"), reason="about 50 s on Bochs: make check-vmx-full")
def test_large_vm_uses_1g_ept_pages():
    # 1.5 GiB: one GiB as a single host block behind a 1 GiB EPT page, the rest in 2 MiB pages. Bochs
    # takes at most 2 GiB of host memory but can show the machine 3 GiB.
    out = bochs("vm=big,module=0,mem=1536M on_finish=poweroff", [guest("longmode_hello")], 3072, 2048)
    assert "vm big: 1536 MiB (1 GiB in 1 GiB pages)" in out, out[-3000:]
    assert "keel: vm big exited with status 0" in out, out[-3000:]
    assert "vmm: every VM page returned to the allocator" in out


@pytest.mark.skipif(not shutil.which("qemu-system-x86_64"), reason="QEMU is not installed (make deps)")
@pytest.mark.parametrize("cpu", ["Skylake-Client,+vmx", "Skylake-Client,+vmx,x-force-features=on"])
def test_tcg_without_vmx_does_not_hang(cpu):
    # Without x-force-features TCG hides the VMX bit; with it, CPUID claims VMX but the VMX MSRs
    # read 0, and writing CR4.VMXE would hang QEMU 7.2: Keel must refuse before touching CR4.
    r = subprocess.run(["qemu-system-x86_64", "-accel", "tcg", "-cpu", cpu, "-m", "512M", "-kernel",
                        os.path.join(BUILD, "keel.elf"), "-initrd", guest("pm32_hello"), "-append",
                        "vm=a,module=0 on_finish=poweroff", "-serial", "stdio", "-display", "none", "-net", "none",
                        "-no-reboot"], capture_output=True, text=True, timeout=60)
    assert "no VM can run" in r.stdout, r.stdout[-3000:]
    assert "keel: powering off" in r.stdout, r.stdout[-3000:]
    assert r.returncode == 0, f"QEMU exited with {r.returncode}: the poweroff did not happen"


LINUX = os.path.join(BUILD, "linux")


@pytest.mark.skipif(not os.environ.get("KEEL_VMX_LINUX"), reason="slow on Bochs: make check-linux-vmx")
def test_linux_boots_on_bochs_vmx():
    """Debian's kernel with one vCPU under the VT-x backend: to its /init, the timer ticking, a file
    written and read back, and ACPI poweroff (make check-linux-vmx)."""
    started = time.monotonic()
    out = bochs("vm=lin,module=0,initrd=1,boot=linux,mem=128M on_finish=poweroff",
                [f"{LINUX}/vmlinuz console=ttyS0 panic=-1", f"{LINUX}/initramfs.cpio.gz"], guest_mib=512,
                host_mib=512, timeout=1500)
    print(f"Linux on Bochs VT-x: {time.monotonic() - started:.0f} s")
    assert VMX_LINE in out, out[-3000:]
    for marker in (r"\[lin\] keel-init: 1 cpus", r"\[lin\] keel-init: timer ticking on all 1 cpus",
                   r"\[lin\] keel-init: file write/read ok", r"keel: vm lin powered off"):
        assert re.search(marker, out), f"{marker}:\n{out[-4000:]}"
    assert "keel-init: FAIL" not in out, out[-4000:]

