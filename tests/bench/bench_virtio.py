"""The virtio benchmarks of issue 15 in emulated instructions (QEMU -icount shift=0,sleep=off: the
TSC advances one tick per instruction of the whole machine, whichever VM runs it), measured as
KVM + QEMU 7.2's yardsticks in ../shared/platform-notes.md were: ONE emulated CPU (-smp 1), which
Keel, the management VM (1 vCPU, keel-dm) and the guests all share, so a guest's `lfence; rdtsc`
around a request counts every instruction the machine ran for it (guest, Keel, management VM,
keel-dm). The management VM runs guests/mgmt/tests/vbench.sh: a 64 MiB raw image of random bytes
in its tmpfs, and two Linux guests (Debian's kernel, initramfs-virtio, guests/linux/vbench.c)
created with keelctl from config files, on one bridge of TAP devices. Exits are Keel's per-VM
counters (keelctl info --json) read before and after each phase, divided by the requests the phase
issued (its warm-up included); the window also holds the method's own work (the counters read,
keelctl input, the management VM polling the guest's console every 0.5 s), which the phase "null"
(no requests) shows. Not deterministic to the instruction (the guests' timers, ASLR and TCP state
differ run to run): repeat runs agree within about 1 %. 2.5 to 10 minutes.
Run: python3 tests/bench/bench_virtio.py [--reasons] [--from-log] (after make linux-guest-virtio
mgmt-guest); --reasons adds the exits by reason; --from-log reads the last run's
build/bench_virtio.log instead of running."""
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("KEEL_BUILD", os.path.join(ROOT, "build"))

# phase -> (label, the result's key, KVM + QEMU 7.2's instructions or None, per what)
PHASES = {
    "blk_qd1": ("virtio-blk 4 KiB random read, queue depth 1 (median)", "median", 93023, "request"),
    "blk_qd32": ("virtio-blk 4 KiB random read, queue depth 32 (mean)", "mean", 33843, "request"),
    "blk_seq": ("virtio-blk sequential 1 MiB reads", "per_mib", 706794, "MiB"),
    "net_rr": ("virtio-net 1-byte TCP round trip, guest to guest (median)", "median", 212724, "round trip"),
    "net_stream": ("virtio-net TCP stream guest to guest, 64 KiB writes", "per_mib", None, "MiB"),
}
# The guest whose exits count as the requester's, and the other guest of a phase (the TCP server).
GUEST = {"null": "vb1", "blk_qd1": "vb1", "blk_qd32": "vb1", "blk_seq": "vb1", "net_rr": "vb2", "net_stream": "vb2"}
PEER = {"net_rr": "vb1", "net_stream": "vb1"}


def run():
    """The management VM's lines (keel-mgmt: prefix dropped) and the whole log."""
    linux = os.path.join(BUILD, "linux")
    mgmt = f"{os.path.join(linux, 'vmlinuz')} console=ttyS0 panic=-1 keeltest=vbench"
    mods = [mgmt, os.path.join(BUILD, "mgmt", "initramfs.cpio.gz")]
    args = ["nice", "-n", "15", "qemu-system-x86_64", "-accel", "tcg", "-icount", "shift=0,sleep=off",
            "-cpu", "EPYC,+svm,+npt", "-smp", "1", "-m", "2048", "-kernel", os.path.join(BUILD, "keel.elf"),
            "-initrd", ",".join(mods),
            "-append", "vm=mgmt,module=0,initrd=1,boot=linux,mem=384M,vcpus=1,mgmt on_finish=poweroff",
            "-serial", "stdio", "-display", "none", "-net", "none", "-no-reboot",
            # A hung run can be looked at: socat - UNIX-CONNECT:build/bench_virtio.mon, info registers.
            "-monitor", "unix:" + os.path.join(BUILD, "bench_virtio.mon") + ",server,nowait"]
    # The whole log, as it comes (a long run can be followed with tail -f).
    log = os.path.join(BUILD, "bench_virtio.log")
    with open(log, "w") as f:
        try:
            # A run takes 3 to 10 minutes on a loaded machine.
            subprocess.run(args, stdout=f, stderr=subprocess.STDOUT, timeout=1800)
        except subprocess.TimeoutExpired:
            with open(log, errors="replace") as g:
                tail = g.read()[-3000:]
            sys.exit(f"bench_virtio: no end after 30 minutes (hung? docs/virtio.md, Benchmarks); {log}:\n{tail}")
    with open(log, errors="replace") as f:
        out = f.read()
    lines = [m.group(1) for m in re.finditer(r"keel-mgmt: (.*?)\r*$", out, re.M)]
    return lines, out


def parse(lines):
    """results: phase -> {key: int}; exits: (phase, before|after, vm) -> {"total" or reason: count}."""
    results, exits = {}, {}
    for line in lines:
        m = re.match(r"bench result (\w+) (.*)", line)
        if m:
            words = m.group(2).split()
            results[m.group(1)] = {k: int(v) for k, v in zip(words[::2], words[1::2])}
        m = re.match(r"bench exits (\w+) (before|after) (\w+) (\w+) (\d+)$", line)
        if m:
            exits.setdefault((m.group(1), m.group(2), m.group(3)), {})[m.group(4)] = int(m.group(5))
    return results, exits


def delta(exits, phase, vm):
    """(exits, {reason: exits}) of VM during PHASE."""
    a, b = exits[(phase, "before", vm)], exits[(phase, "after", vm)]
    reasons = {r: n - a.get(r, 0) for r, n in b.items() if r not in ("total", "run_ns")}
    return b["total"] - a["total"], {r: n for r, n in reasons.items() if n}


def main(reasons=False, from_log=False):
    t0 = time.time()
    if from_log:  # the last run's log again (build/bench_virtio.log)
        with open(os.path.join(BUILD, "bench_virtio.log"), errors="replace") as f:
            out = f.read()
        lines = [m.group(1) for m in re.finditer(r"keel-mgmt: (.*?)\r*$", out, re.M)]
    else:
        lines, out = run()
    wall = time.time() - t0
    results, exits = parse(lines)
    failed = [line for line in lines if line.startswith("FAIL")]
    if "vbench done" not in lines or failed or set(PHASES) - set(results) or "null" not in results:
        sys.exit("bench_virtio: the benchmark did not finish:\n" + "\n".join(failed + lines[-60:]) + "\n"
                 + out[-3000:])
    print(f"virtio benchmarks: one emulated CPU (-smp 1) shared by Keel, the management VM (keel-dm) and "
          f"the guests, -icount; " + ("from the last run's log" if from_log else f"{wall:.0f} s of wall time"))
    print("| measure | Keel (instructions) | KVM + QEMU 7.2 | exits: guest | management VM | other guest |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    details = []
    for phase, (label, key, kvm, per) in PHASES.items():
        res = results[phase]
        n = res["requests"]  # blk_seq: MiB read, both passes; net_stream: MiB sent
        g, gr = delta(exits, phase, GUEST[phase])
        m, mr = delta(exits, phase, "mgmt")
        other = ""
        if phase in PEER:
            p, pr = delta(exits, phase, PEER[phase])
            other = f"{p / n:.2f}"
            details.append((phase, PEER[phase], pr, n))
        details += [(phase, GUEST[phase], gr, n), (phase, "mgmt", mr, n)]
        if kvm is None:
            theirs = "not measured"
        else:
            theirs = f"{kvm:,}" + ("" if res[key] < kvm else " (Keel loses)")
        print(f"| {label}, per {per} | {res[key]:,} | {theirs} | {g / n:.2f} | {m / n:.2f} | {other} |")
    g, gr = delta(exits, "null", "vb1")
    m, mr = delta(exits, "null", "mgmt")
    print(f"The method's own exits (a window with no request: the counters read, keelctl input, one console"
          f" poll): guest {g}, management VM {m}.")
    st = results["net_stream"]
    g, _ = delta(exits, "net_stream", "vb2")
    p, _ = delta(exits, "net_stream", "vb1")
    print(f"net_stream: {st['packets']} packets at the sender's eth0 (sent and received; a TSO packet counts once):"
          f" {g / st['packets']:.2f} sender exits and {p / st['packets']:.2f} receiver exits a packet.")
    print("\nwhere the time goes, per request (per MiB, per round trip; means, warm-up included): each VM's run"
          " time in guest mode in Keel's counters (ns, an instruction each under -icount shift=0), over the"
          " phase's window (so with the method's own work); the rest, roughly, is Keel's (exits, scheduling)")
    for phase, (_, _, _, per) in PHASES.items():
        if "run_ns" not in exits[(phase, "after", "mgmt")]:
            continue
        n = results[phase]["requests"]
        vms = ["mgmt", GUEST[phase]] + ([PEER[phase]] if phase in PEER else [])
        ran = {vm: exits[(phase, "after", vm)]["run_ns"] - exits[(phase, "before", vm)]["run_ns"] for vm in vms}
        res = results[phase]
        mean = res.get("mean", res.get("per_mib"))
        print(f"  {phase:10} mean {mean:,}: " + ", ".join(f"{vm} {ns / n:,.0f}" for vm, ns in ran.items())
              + f", the rest {mean - sum(ran.values()) / n:,.0f} a {per}")
    if reasons:
        print("\nexits per request (per MiB for blk_seq and net_stream, per round trip for net_rr) by reason:")
        for phase, vm, r, n in [("null", "vb1", gr, 1), ("null", "mgmt", mr, 1)] + details:
            text = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(r.items(), key=lambda kv: -kv[1]))
            print(f"  {phase:10} {vm:5} {text}")
    for phase in ["null"] + list(PHASES):
        print(f"  {phase}: " + " ".join(f"{k} {v}" for k, v in results[phase].items()))


if __name__ == "__main__":
    main("--reasons" in sys.argv[1:], "--from-log" in sys.argv[1:])
