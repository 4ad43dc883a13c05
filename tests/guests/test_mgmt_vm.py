"""VMs created at run time by the management VM (make check-mgmt; issue 14, the lifecycle): Keel
with the management VM only; its /init runs guests/mgmt/tests/vmlife.sh (keeltest=vmlife), which
with keelctl creates multiboot test guests from /usr/share/keel/guests, starts, pauses, resumes and
destroys them, reads their consoles and their end events, has keelctl's monitor apply on_poweroff,
on_reboot and on_crash, is refused a VM larger than Keel's free memory, and creates and destroys
200 VMs. The script prints "ok NAME" / "FAIL NAME" per check;
this test checks the list of checks is whole, none failed, and what Keel's own console says."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "boot"))
from keelboot import BUILD, LINUX_VM_CPUS, Boot  # noqa: E402

LINUX = os.path.join(BUILD, "linux")
MGMT = os.path.join(BUILD, "mgmt")

# Every check vmlife.sh makes: one missing (the script stopped, or a check was dropped) fails too.
CHECKS = [
    "create echo1", "list shows echo1 created", "create refuses a taken name", "echo1 running",
    "list shows echo1 running", "echo1 printed its ready line", "echo1 paused", "pause refused twice",
    "a paused VM does not run", "echo1 running again", "echo1 answered after resume", "exit event of echo1",
    "echo1 dead, held", "list shows echo1 dead", "info says it exited with 0",
    "its last output is readable after its end", "destroy event of echo1", "echo1 gone from the list",
    "a destroyed VM is unknown", "reset event of rst", "rst stays dead after its reset", "info says it reset",
    "idle2 runs on 2 vCPUs", "idle2 ended by the destroy", "idle2 freed", "poweroff event of the Linux guest",
    "the Linux guest ran its init", "info says it powered off", "create from a config file",
    "cfg1 printed its ready line", "a bad config file is refused with its line and key",
    "nothing left of the bad config",
    "on_poweroff destroy: create starts a monitor", "on_poweroff destroy: the VM leaves the list by itself",
    "on_poweroff destroy: the monitor logged it", "on_poweroff destroy: its monitor ended",
    "on_reboot restart: the restart-loop guard ends it", "on_reboot restart: back under a new id after each reset",
    "on_reboot restart: each restart has its keel-dm", "on_reboot restart: the guard says why it stopped",
    "on_crash destroy: the crashed VM leaves the list by itself", "on_crash destroy: the monitor says why",
    "keelctl info shows the monitor and its actions", "keelctl destroy of a VM with a monitor", "its monitor stopped first", "a VM destroyed with its monitor stays gone",
    "its monitor ended", "keelctl destroy during a restart: status 0",
    "keelctl destroy during a restart: no VM comes back", "keelctl destroy during a restart: the monitors ended",
    "a VM larger than free memory is refused", "nothing left of it", "200 VMs: each destroyed (events)",
    "200 VMs: none left in the list", "200 VMs: Keel's free memory is back",
    "200 VMs: the management VM's MemFree is back (within 2 MiB)",
]


def test_vm_lifecycle_from_the_management_vm():
    mods = [f"{os.path.join(LINUX, 'vmlinuz')} console=ttyS0 panic=-1 keeltest=vmlife",
            os.path.join(MGMT, "initramfs.cpio.gz")]
    boot = Boot("kernel", cpus=2, mem_mib=1024, cpu="EPYC,+svm,+npt",
                cmdline=f"vm=mgmt,module=0,initrd=1,boot=linux,mem=256M,vcpus=2,{LINUX_VM_CPUS},mgmt on_finish=poweroff",
                modules=mods, timeout=600)
    check_log(boot.run())


def check_log(log):
    assert "keel: PANIC" not in log and "EXCEPTION" not in log, log[-4000:]
    lines = [m.group(1) for m in re.finditer(r"keel-mgmt: (.*?)\r*$", log, re.M)]
    assert "vmlife done" in lines, log[-6000:]
    failed = [line for line in lines if line.startswith("FAIL")]
    assert not failed, "\n".join(failed) + "\n" + log[-6000:]
    passed = {line[3:] for line in lines if line.startswith("ok ")}
    assert [c for c in CHECKS if c not in passed] == [], lines
    # Keel's side of it: the VMs it built at run time, their ends, their pages returned.
    assert re.search(r"vm echo1: created at run time \(id \d+\): 8 MiB, 1 vCPU", log), log[-4000:]
    assert re.search(r"vm echo1: loaded \(multiboot, 1 image\)", log), log[-4000:]
    assert re.search(r"keel: vm echo1 exited with status 0", log), log[-4000:]
    assert "[echo1] echo: while-paused" in log  # its console reached Keel's too
    assert re.search(r"keel: vm rst reset itself \(created at run time: it stays ended until destroyed\)", log)
    assert "vm rst: restart" not in log
    # keelctl's monitor (on_reboot = "restart"): each run of rb reset itself under its own id.
    rb = set(re.findall(r"keel: vm rb \(id (\d+)\) destroyed", log))
    assert len(re.findall(r"keel: vm rb reset itself", log)) >= 4 and len(rb) >= 4, log[-4000:]
    assert re.search(r"keel: vm idle2 crashed: destroyed by the management VM", log), log[-4000:]
    assert re.search(r"vm lnx: loaded \(Linux, 2 images\)", log), log[-4000:]
    assert "keel: vm lnx powered off" in log
    m = re.search(r"too large: exit 1: .*", "\n".join(lines))
    assert m, lines
    assert re.search(r"vm huge: not created: \d+ MiB asked for, \d+ MiB free", log), log[-4000:]
    assert len(re.findall(r"keel: vm cyc\d+ \(id \d+\) destroyed; its memory is free", log)) == 201
    # The numbers behind the memory checks, checked again here (a script that printed "ok" on a
    # wrong comparison would be caught).
    m = re.search(r"measure keel_free_before=(\d+) keel_free_after=(\d+) memfree_kb_before=(\d+) "
                  r"memfree_kb_after=(\d+)", "\n".join(lines))
    assert m, lines
    kf0, kf1, mf0, mf1 = map(int, m.groups())
    assert kf0 == kf1 and kf0 > 0, m.group(0)
    assert mf0 - mf1 < 2048, m.group(0)
    # The management VM powered off at the end; every page Keel gave any VM came back.
    assert "keel: vm mgmt powered off" in log
    assert "vmm: every VM page returned to the allocator" in log, log[-3000:]
