"""Boot Keel in QEMU and read its serial console (shared by the boot tests)."""
import os
import re
import shutil
import subprocess
import tempfile
import time

import pexpect

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("KEEL_BUILD", os.path.join(ROOT, "build"))
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"

CPU_MODELS = {"amd": "EPYC,+svm,+npt", "intel": "Skylake-Client,+vmx"}

ONLINE_RE = re.compile(r"keel: (\d+)/(\d+) CPUs online")
MEMORY_RE = re.compile(r"keel: (\d+) MiB usable memory")
BAD_RE = re.compile(r"EXCEPTION|panic|PANIC")

# Where Linux VMs run in multi-CPU emulator boots: CPU 0 only. QEMU 7.2's multi-threaded TCG
# clears IGNNE in the *first* CPU's hidden flags (env->hflags2) from whichever CPU loads x87 state
# (FXRSTOR, XRSTOR, FRSTOR, FLDENV: cpu_set_fpus() -> cpu_clear_ignne()), with a plain
# read-modify-write that races with that CPU's own VMRUN and #VMEXIT updates of the same word. A
# lost update leaves CPU 0's nested paging on in the host (the host's page walks go through a
# guest's nested tables: a silent triple fault) or off in a guest (the guest walks host memory).
# Linux loads x87 state at every context switch; on CPU 0 it races with nothing. Keel itself
# skips loading an initial x87 state (arch/x86/fpu.c). docs/testing.md has the evidence.
LINUX_VM_CPUS = "cpus=0"
# Where the guests load x87 state on purpose on every CPU (state_isolation): QEMU's single-threaded
# TCG, one host thread for all vCPUs, in which that race cannot happen (measured: 4 of 60 runs of
# test_svm's "migrating" layout lost it with one thread per vCPU, none of 60 with one thread).
# Linux VMs cannot use it: under it their GS base goes wrong on kernel entry (docs/testing.md).
TCG_ONE_THREAD = "tcg,thread=single"


def make_image(kind, cmdline, modules=(), workdir=None):
    """An ISO or EFI FAT image with this command line and these modules (paths)."""
    workdir = workdir or tempfile.mkdtemp(prefix="keel-img-")
    if kind == "iso":
        out = os.path.join(workdir, "keel.iso")
        script = os.path.join(ROOT, "iso", "mkiso.sh")
    else:
        out = os.path.join(workdir, "keel-efi.img")
        script = os.path.join(ROOT, "boot", "efi", "mkimg.sh")
    subprocess.run(["bash", script, out, cmdline, *modules], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return out


def spec_plan(log):
    """Keel's speculation-mitigation plan from its log: {"retpolines": "on", ...}. The plan is logged
    as "spec: name: state; name: state" lines (arch/x86/spec.c); "missing" collects what the CPU
    lacks."""
    plan = {"missing": []}
    for line in re.findall(r"spec: ([^\r\n]*)", log):
        if line.startswith("missing: "):
            plan["missing"].append(line[len("missing: "):])
            continue
        for item in line.split("; "):
            if ": " in item:
                name, state = item.split(": ", 1)
                plan[name] = state
    return plan


class Boot:
    """One QEMU run; .log is everything the serial port printed."""

    def __init__(self, path, cpus=1, mem_mib=256, cpu="amd", cmdline="", modules=(), image=None,
                 timeout=120, extra=(), accel="tcg"):
        self.workdir = tempfile.mkdtemp(prefix="keel-boot-")
        self.path = path
        args = ["-accel", accel, "-cpu", CPU_MODELS.get(cpu, cpu), "-smp", str(cpus),
                "-m", f"{mem_mib}M", "-display", "none", "-net", "none", "-no-reboot",
                "-serial", "stdio", "-monitor", "none", *extra]
        if path == "kernel":
            args += ["-kernel", os.path.join(BUILD, "keel.elf"), "-append", cmdline]
            if modules:
                args += ["-initrd", ",".join(modules)]
        else:
            kind = "iso" if path.endswith("iso") else "efi"
            image = image or make_image(kind, cmdline, modules, self.workdir)
            if path.startswith("ovmf"):
                vars_copy = os.path.join(self.workdir, "vars.fd")
                shutil.copy(OVMF_VARS, vars_copy)
                args += ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                         "-drive", f"if=pflash,format=raw,file={vars_copy}"]
            if kind == "iso":
                args += ["-cdrom", image]
            else:
                args += ["-drive", f"file={image},format=raw,if=ide"]
        self.args = args
        self.timeout = timeout
        self.log = ""
        self.seconds_to_online = None

    def run(self, end=None, settle=2.0):
        """Boots until QEMU exits (Keel powers off or reboots: -no-reboot turns both into an exit
        with status 0) and returns the log. A run that neither exits nor shows `end` within the
        caller's timeout (the whole run, not just up to 'CPUs online') is a hang and fails, and
        so does a QEMU that exits with another status: "keel: powering off" is printed before
        Keel tries, so only the emulator's exit shows that it worked.

        end: a regex after which Keel is not expected to exit by itself (a halt); the run then
        goes on for `settle` seconds to catch anything printed after it, and QEMU is stopped.
        self.ended says how the run ended: "exit" (QEMU exited, self.exitstatus) or "end"."""
        start = time.monotonic()
        self.ended = self.exitstatus = None
        child = pexpect.spawn("qemu-system-x86_64", self.args, encoding="utf-8",
                              codec_errors="replace", timeout=self.timeout)
        try:
            idx = child.expect([ONLINE_RE, pexpect.EOF, pexpect.TIMEOUT])
            self.log += child.before + (child.after if isinstance(child.after, str) else "")
            exited = idx == 1
            if idx == 0:
                self.seconds_to_online = time.monotonic() - start
                patterns = [pexpect.EOF, pexpect.TIMEOUT] + ([re.compile(end)] if end else [])
                left = max(1.0, self.timeout - (time.monotonic() - start))
                idx = child.expect(patterns, timeout=left)
                self.log += child.before + (child.after if isinstance(child.after, str) else "")
                exited = idx == 0
                if idx == 2:
                    self.ended = "end"
                    child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=settle)
                    self.log += child.before
            if exited:
                child.close()  # reaps QEMU: its exit status is known once it has exited
                self.ended = "exit"
                self.exitstatus = child.exitstatus
        finally:
            child.close(force=True)
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.ended is None:
            raise AssertionError(f"QEMU neither exited nor showed {end!r} within {self.timeout} s (a hang?):\n"
                                 + self.log[-3000:])
        if self.ended == "exit" and self.exitstatus != 0:
            raise AssertionError(f"QEMU exited with status {self.exitstatus} (signal {child.signalstatus}):\n"
                                 + self.log[-3000:])
        return self.log

    def spawn(self):
        """Starts QEMU and returns the pexpect child for an interactive session (the caller
        closes it); waits for the CPUs-online line first."""
        child = pexpect.spawn("qemu-system-x86_64", self.args, encoding="utf-8",
                              codec_errors="replace", timeout=self.timeout)
        child.expect(ONLINE_RE)
        self.log += child.before + child.after
        return child

    def finish(self, child, timeout=60):
        """Waits for an interactive session (spawn()) to end by QEMU's own exit with status 0
        (Keel powered off or rebooted), not a timeout; closes the child."""
        try:
            idx = child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=timeout)
            if idx == 0:
                child.close()
        finally:
            child.close(force=True)
        assert idx == 0, f"QEMU did not exit within {timeout} s (a hang?)"
        assert child.exitstatus == 0, f"QEMU exited with status {child.exitstatus} (signal {child.signalstatus})"

    def cpus_online(self):
        m = ONLINE_RE.search(self.log)
        return (int(m.group(1)), int(m.group(2))) if m else None

    def usable_mib(self):
        m = MEMORY_RE.search(self.log)
        return int(m.group(1)) if m else None

    def problems(self):
        return [line for line in self.log.splitlines() if BAD_RE.search(line)]
