"""The I/O-request round trips in emulated instructions (QEMU -icount shift=0,sleep=off: the TSC
advances one tick per instruction of the whole machine): Keel with the management VM (1 vCPU,
keel-iotest sleeping in poll()) and the test guest ioreq with bench=1 on one CPU, as KVM's
yardsticks in ../shared/platform-notes.md were measured (KVM: OUT to the user-space device model
3,504; port IN in the kernel 1,688). Each number is the median of 101 round trips, the empty
RDTSC pair taken off. Run: python3 tests/bench/bench_ioreq.py [--busy|check] (after make mgmt-guest
guest-tests); --busy: keel-iotest polls the slots instead of sleeping in poll() (no upcall);
check: the sleeping numbers against ioreq_budgets.txt (make check-bench)."""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("KEEL_BUILD", os.path.join(ROOT, "build"))

LABELS = {
    "dm_out": "OUT to a port the device model serves, round trip",
    "dm_in": "IN from a port the device model serves, round trip",
    "doorbell": "doorbell write (OUT), cost to the guest",
    "doorbell_seen": "doorbell write, until the device model has seen it (its store through the window shows)",
    "msi": "OUT asking for an MSI, until the guest's handler runs",
    "port_in": "port IN, unclaimed port (handled in Keel)",
}
KVM = {"dm_out": 3504, "port_in": 1688}


def measure(mode=""):
    """The guest's BENCH medians (name -> instructions); exits with the log if it did not finish."""
    linux = os.path.join(BUILD, "linux")
    mgmt = (f"{os.path.join(linux, 'vmlinuz')} console=ttyS0 panic=-1 keelvms=2 keeltest=iobench"
            + (f" iotest_mode={mode}" if mode else ""))
    mods = [mgmt, os.path.join(BUILD, "mgmt", "initramfs.cpio.gz"),
            os.path.join(BUILD, "guests", "ioreq.elf") + " cpus=1 bench=1"]
    args = ["qemu-system-x86_64", "-accel", "tcg", "-icount", "shift=0,sleep=off", "-cpu", "EPYC,+svm,+npt",
            "-smp", "1", "-m", "1G", "-kernel", os.path.join(BUILD, "keel.elf"), "-initrd", ",".join(mods),
            "-append", "vm=mgmt,module=0,initrd=1,boot=linux,mem=256M,vcpus=1,mgmt vm=ioreq,module=2,mem=16M "
            "on_finish=poweroff", "-serial", "stdio", "-display", "none", "-net", "none", "-no-reboot"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=1200).stdout
    res = dict((k, int(v)) for k, v in re.findall(r"\[ioreq\] BENCH (\w+) (\d+)", out))
    if "[ioreq] PASS: ioreq" not in out or set(LABELS) - set(res):
        sys.exit("bench_ioreq: the guest did not finish:\n" + out[-4000:])
    return res


def main(mode=""):
    res = measure(mode)
    print("| measure | Keel | KVM |")
    print("| --- | ---: | ---: |")
    for k, label in LABELS.items():
        if k == "doorbell_seen" and mode == "--busy":
            # On one CPU a polling device model runs only when the spinning guest's slice ends.
            print(f"| {label} | n/a: a polling device model needs a CPU of its own | |")
            continue
        print(f"| {label} | {res[k]:,} | {KVM[k]:,} |" if k in KVM else f"| {label} | {res[k]:,} | |")


def check():
    """make check-bench: the sleeping device model's round trips against ioreq_budgets.txt."""
    gates = {}
    with open(os.path.join(os.path.dirname(__file__), "ioreq_budgets.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, gate = line.split()
                gates[name] = int(gate)
    res, failed = measure(), 0
    print(f"{'I/O-request round trip (device model sleeping, -icount)':72} {'measured':>9} {'gate':>6}")
    for name, gate in gates.items():
        ok = res[name] <= gate
        failed += not ok
        print(f"{LABELS[name]:72} {res[name]:>9} {gate:>6}{'' if ok else '  <-- OVER THE GATE'}")
    print(f"check-bench (I/O requests): {len(gates) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    if sys.argv[1:] == ["check"]:
        check()
    main(*sys.argv[1:])
