"""make bench: exit round-trip costs in emulated instructions (QEMU -icount shift=0: the TSC then
advances one tick per instruction of the whole machine, guest and hypervisor alike).

Each number is the median of 501 round trips measured by the guest bench_exits, minus an empty
RDTSC pair. Deterministic: the same build gives the same table."""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")

LABELS = {
    "cpuid": "CPUID exit (handled in Keel)",
    "hypercall": "unknown hypercall (VMMCALL, -ENOSYS)",
    "port_in": "port IN, unclaimed port (handled in Keel)",
}
# Yardsticks from ../shared/platform-notes.md, measured the same way.
KVM = {"cpuid": 3069, "hypercall": 3330, "port_in": 1688}


def run(cpu):
    args = ["qemu-system-x86_64", "-accel", "tcg", "-icount", "shift=0,sleep=off", "-cpu", cpu, "-smp", "1",
            "-m", "512M", "-kernel", os.path.join(BUILD, "keel.elf"),
            "-initrd", os.path.join(BUILD, "guests", "bench_exits.elf"),
            "-append", "vm=bench,module=0,mem=16M on_finish=poweroff",
            "-serial", "stdio", "-display", "none", "-net", "none", "-no-reboot"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=300).stdout
    results = dict((k, int(v)) for k, v in re.findall(r"BENCH (\w+) (\d+)", out))
    if "keel: vm bench exited with status 0" not in out or set(LABELS) - set(results):
        sys.exit("bench: the benchmark guest did not finish:\n" + out[-3000:])
    return results


def main():
    svm = run("EPYC,+svm,+npt")
    print("Exit round trip, instructions per exit (QEMU 7.2 TCG, -icount shift=0, median of 501)")
    print(f"{'':44} {'Keel SVM':>10} {'KVM (Linux 6.1)':>16}")
    for key, label in LABELS.items():
        print(f"{label:44} {svm[key]:>10} {KVM[key]:>16}")


if __name__ == "__main__":
    main()
