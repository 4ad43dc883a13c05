"""What `make run` boots (build/keel-demo.iso, through GRUB, on the machine make run gives QEMU:
2 CPUs, 1 GiB), driven as a user following the README would (make check-stack; issue 15): the
management VM comes up with keelctl, creates the VM "demo" from its example config file
(guests/mgmt/demo.sh, demo.cfg) with a virtio disk and a network card on a bridge, and gives a
shell on its COM1; the demo guest checks its devices, pings the management VM and gives a shell
with its disk mounted. From the management VM's shell: keelctl list, then keelctl console demo
into the guest's shell, which reads its disk; Ctrl-] detaches."""
import io
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "boot"))
from keelboot import BUILD, Boot  # noqa: E402
from test_mgmt import AMD  # noqa: E402


def test_make_run_demo():
    iso = os.path.join(BUILD, "keel-demo.iso")
    boot = Boot(iso, cpus=2, mem_mib=1024, cpu=AMD, image=iso, timeout=120)
    child = boot.spawn()
    seen = io.StringIO()
    child.logfile_read = seen
    try:
        child.expect(r"\[mgmt\] keel-mgmt: demo: created demo: id \d+, keel-dm pid \d+; started", timeout=240)
        child.expect(r"\[mgmt\] keel-mgmt: shell", timeout=60)
        # The demo guest's checks: its disk, entropy, console and network.
        child.expect(r"\[demo\] keel-init: virtio: done", timeout=400)
        child.expect(r"\[demo\] keel-init: shell", timeout=60)
        out = seen.getvalue()
        assert not re.search(r"keel-init: FAIL|keel-mgmt: FAIL|keel: PANIC", out), out[-4000:]
        for line in (r"\[demo\] keel-init: virtio: loaded 16/16 modules",
                     r"\[demo\] keel-init: vda: ext4 mounted, wrote 4 MiB, sha256 ok",
                     r"\[demo\] keel-init: hwrng: 64 bytes", r"\[demo\] keel-init: hvc0: wrote hello",
                     r"\[demo\] keel-init: net: eth0 02:4b:00:00:00:02 10.0.0.2/24",
                     r"\[demo\] keel-init: net: ping 10.0.0.1: 3 packets received",
                     r"\[demo\] keel-init: demo: /dev/vda mounted on /mnt/vda"):
            assert re.search(line, out), (line, out[-4000:])
        # The management VM's shell: Ctrl-A three times gives it the console's input.
        child.send("\r")
        child.expect("keel> ")
        child.send("\x01\x01\x01")
        child.expect(r"console input goes to vm mgmt")
        child.send("keelctl list\r")
        child.expect(r"\[mgmt\]\s+\d+\s+demo\s+running\s+1\s+160\s", timeout=30)
        # Into the guest's shell through keelctl console (interactive: the shell's stdin is COM1).
        child.send("keelctl console demo\r")
        child.expect(r"\[mgmt\] Connected to demo \(COM1\); Ctrl-] detaches", timeout=30)
        child.send("cat /mnt/vda/hello.txt\r")
        # The guest's answer, relayed by keelctl to the management VM's COM1.
        child.expect(r"\[mgmt\] keel ext4 disk image: hello", timeout=30)
        child.send("\x1d")
        child.expect(r"\[mgmt\] keelctl: detached from demo", timeout=30)
        child.send("keelctl info demo --json\r")
        child.expect(r'\[mgmt\] \{"id": \d+, "name": "demo", "state": "running"', timeout=30)
    finally:
        child.close(force=True)
        with open(os.path.join(BUILD, "test_demo.log"), "w") as f:  # the whole log, for a failure
            f.write(boot.log + seen.getvalue())
