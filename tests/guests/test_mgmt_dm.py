"""The whole stack (make check-stack; issue 15): Keel + the management VM on QEMU TCG with AMD-V.
In the management VM, guests/mgmt/tests/dm.sh has keelctl refuse bad disks, then create "g1" and
"g2" from config files: the stock Debian kernel with its own virtio modules (initramfs-virtio),
one virtio-blk disk each (an ext4 image copied into the management VM's tmpfs) and a virtio-net
card on bridge br0, served by one keel-dm each, which keelctl starts. Each guest mounts its disk,
writes and reads back a file, reads /dev/hwrng, writes to hvc0 and pings the management VM and
the other guest; g1 fetches 4 MiB from g2 over TCP (checksummed). `keelctl list --json` shows
both running. g1 is destroyed while g2 goes on serving (the management VM fetches the data again).
A guest that feeds its device hostile descriptors and doorbells breaks only that device; a
keel-dm killed ends its own VM with the reason; another VM and its keel-dm go on through both.
Then 50 VMs with a disk and their keel-dm are created, started and destroyed: nothing leaks
(Keel's pages, processes, descriptors)."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "boot"))
from keelboot import BUILD, LINUX_VM_CPUS, Boot  # noqa: E402
from test_mgmt import AMD, LINUX, MGMT  # noqa: E402

GUEST_CHECKS = ["no FAIL", "the virtio modules loaded", "its disk is vda", "read the image's file",
                "wrote and read back its disk", "hwrng", "hvc0", "its network card",
                "pinged the management VM through the bridge"]
CHECKS = [
    "a missing disk is refused", "a read-only disk given read-write is refused", "a truncated disk is refused",
    "the boot module reads as the image", "the boot module is read-only", "and still the image",
    "create g1 with keel-dm", "create g2 with keel-dm", "g1 ran its virtio checks", "g2 ran its virtio checks",
    *[f"{g}: {c}" for g in ("g1", "g2") for c in GUEST_CHECKS],
    "g1 pinged g2", "g2 pinged g1", "g1 fetched 4 MiB from g2 over TCP, sha256 equal",
    "g1's hvc0 output reached keel-dm", "keelctl console --hvc shows it", "keel-dm listens on g1's console socket",
    "g1's disk changed", "keel-dm ended with its VM", "and removed its console socket",
    "g2 still serves after g1 was destroyed", "g2 ended by itself", "g2: no FAIL at its end", "both keel-dm ended",
    "a hostile guest ends by itself (its checks passed)", "its keel-dm stopped only when its VM ended",
    "a killed keel-dm ends its VM with the reason", "the other VM still runs", "the other keel-dm still serves",
    "50 VMs with keel-dm: every keel-dm ended", "50 VMs with keel-dm: Keel's free memory is back",
    "50 VMs with keel-dm: no descriptor of the image left", "50 VMs with keel-dm: none left in the list",
    "50 VMs with keel-dm: no TAP device left",
]


def mgmt_json_line(log, start):
    """The JSON (an array or object) the management VM printed after `start` on one line, which Keel's console wraps
    into several of its own (each "[mgmt] " and a piece): the pieces joined until the brackets
    balance; other VMs' lines in between are skipped."""
    out, depth = None, 0
    for line in log.splitlines():
        m = re.match(r"^(?:\[\s*[\d.]+\] )?\[mgmt\] (.*?)\r*$", line)
        if not m:
            continue
        piece = m.group(1)
        if out is None:
            if not piece.startswith(start) or not piece[len(start):].startswith(("[", "{")):
                continue
            out, piece = "", piece[len(start):]
        out += piece
        depth = out.count("[") + out.count("{") - out.count("]") - out.count("}")
        if depth == 0:
            return out
    raise AssertionError(f"no complete line after {start!r}: {out!r}")


def test_two_guests_with_disks_on_a_bridge_from_config_files():
    # Module 2, the disk image, is the management VM's own (mods=2): keel.ko makes it a file.
    mods = [f"{os.path.join(LINUX, 'vmlinuz')} console=ttyS0 panic=-1 keeltest=dm",
            os.path.join(MGMT, "initramfs.cpio.gz"), os.path.join(LINUX, "disk-ext4.img")]
    boot = Boot("kernel", cpus=2, mem_mib=1024, cpu=AMD,
                cmdline=f"vm=mgmt,module=0,initrd=1,mods=2,boot=linux,mem=256M,vcpus=2,{LINUX_VM_CPUS},mgmt "
                "on_finish=poweroff",
                modules=mods, timeout=900)
    try:
        log = boot.run()
    finally:
        with open(os.path.join(BUILD, "test_mgmt_dm.log"), "w") as f:  # the whole log, for a failure
            f.write(boot.log)
    assert "keel: PANIC" not in log and "EXCEPTION" not in log, log[-4000:]
    lines = [m.group(1) for m in re.finditer(r"keel-mgmt: (.*?)\r*$", log, re.M)]
    assert "dm done" in lines, log[-6000:]
    failed = [line for line in lines if line.startswith("FAIL")]
    assert not failed, "\n".join(failed) + "\n" + "\n".join(lines[-80:])
    passed = {line[3:] for line in lines if line.startswith("ok ")}
    assert [c for c in CHECKS if c not in passed] == [], lines
    # The refusals name the disk and why.
    text = "\n".join(lines)
    assert re.search(r"refused missing: exit 2: keelctl: /tmp/bad.cfg:\d+: key 'disk': /tmp/nothing.img: No such file",
                     text), text
    assert re.search(r"refused short: exit 2: .*truncated: 4194304 bytes, and what it holds needs \d+", text), text
    size = os.path.getsize(os.path.join(LINUX, "disk-ext4.img"))
    assert f"boot module: disk-ext4.img, {size} bytes" in lines, lines[:20]
    # Keel's side: g1 was created at run time, served by a device model, and powered off.
    assert re.search(r"vm g1: created at run time \(id \d+\)", log), log[-4000:]
    assert "keel: vm g1 powered off" in log and "keel: vm g2 powered off" in log, log[-4000:]
    # keelctl list --json, both guests booted: running, with sane numbers.
    vms = {v["name"]: v for v in json.loads(mgmt_json_line(log, "keel-mgmt: list: "))}
    assert vms["mgmt"]["mgmt"] is True and vms["mgmt"]["state"] == "running", vms
    for g in ("g1", "g2"):
        v = vms[g]
        assert (v["state"], v["vcpus"], v["mem_bytes"], v["mgmt"]) == ("running", 1, 160 << 20, False), v
        # It ran (its kernel booted far enough to load modules: many exits, over 100 ms of CPU), and
        # no more than the whole test's 600 s.
        assert 1000 < v["exits"] and 100e6 < v["run_ns"] < 600e9, v
    # 4 MiB went from g2 to g1, and to the management VM after g1 was destroyed.
    m = re.search(r"^tcp: g2 served '4194304 ([0-9a-f]{64})'$", text, re.M)
    assert m and f"tcp: g1 fetched '4194304 {m.group(1)}'" in text, text
    assert f"tcp: this VM fetched '4194304 {m.group(1)}' from g2" in text, text
    # The hostile driver broke its own device three ways, and it recovered.
    for what in ("a chain that loops", "an index past the queue size"):
        assert re.search(rf"\[dmh\] virtio_hostile: {what}: \d+ doorbells, status 0x4f", log), log[-4000:]
    assert re.search(r"\[dmh\] virtio_hostile: a buffer outside RAM: \d+ doorbells, status 0xf, used idx 1", log)
    assert "[dmh] PASS: virtio_hostile" in log, log[-4000:]
    assert re.search(r"keel: vm dmk crashed: device model gone: its process ended", log), log[-4000:]
    assert re.search(r"keel: vm dmo crashed: destroyed by the management VM", log), log[-4000:]
    # The numbers behind the leak checks, checked again here.
    m = re.search(r"measure keel_free_before=(\d+) keel_free_after=(\d+) image_fds=(\d+) taps_running=(\d+) "
                  r"taps_before=(\d+) taps_after=(\d+)", text)
    assert m and m.group(1) == m.group(2) and m.group(3) == "0", text
    assert (m.group(4), m.group(5), m.group(6)) == ("1", "0", "0"), text  # one TAP while a VM ran, none after
    assert len(re.findall(r"keel: vm dmc \(id \d+\) destroyed; its memory is free", log)) == 51, log[-4000:]
