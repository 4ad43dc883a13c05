"""The management VM (make check-mgmt; issue 14): Debian's stock kernel under Keel on QEMU TCG with
AMD-V, with keel.ko built out of tree against that kernel's own headers and keelctl in its
initramfs (guests/mgmt/). It loads the module on the stock kernel, asks Keel's ABI version and
lists the VMs, the multiboot guests declared beside it included; a non-management VM asking the
same gets -EPERM (guest hypercall_hostile)."""
import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "boot"))
from keelboot import BUILD, LINUX_VM_CPUS, Boot  # noqa: E402

LINUX = os.path.join(BUILD, "linux")
MGMT = os.path.join(BUILD, "mgmt")
AMD = "EPYC,+svm,+npt"
BOOT_TIMEOUT = 400


def mgmt_boot(others, mgmt_fields="mgmt", vcpus=2, extra="", end=None, kernel_args=""):
    """Keel with the management VM (module 0, initramfs module 1) and multiboot guests
    [(name, module path with arguments)]; returns the log after Keel powered off, or after `end`
    (a regex) when another VM runs for ever. kernel_args go on the management VM's kernel command
    line (keeltest=NAME runs guests/mgmt/tests/NAME.sh)."""
    mods = [f"{os.path.join(LINUX, 'vmlinuz')} console=ttyS0 panic=-1 keelvms={1 + len(others)} {kernel_args}".rstrip(),
            os.path.join(MGMT, "initramfs.cpio.gz")]
    decl = [f"vm=mgmt,module=0,initrd=1,boot=linux,mem=256M,vcpus={vcpus},{LINUX_VM_CPUS}"
            + (f",{mgmt_fields}" if mgmt_fields else "")]
    for name, path in others:
        decl.append(f"vm={name},module={len(mods)},mem=16M")
        mods.append(path)
    boot = Boot("kernel", cpus=2, mem_mib=1024, cpu=AMD, cmdline=" ".join(decl) + f" on_finish=poweroff {extra}",
                modules=mods, timeout=BOOT_TIMEOUT)
    log = boot.run(end=end)
    # (Boot.problems() would take the kernel's panic=-1 for a panic.)
    assert "keel: PANIC" not in log and "EXCEPTION" not in log, log[-4000:]
    return log


def vm_output(log, vm):
    """What VM `vm` printed, its lines joined again where Keel's console wrapped them (a line
    longer than Keel's line buffer goes out in pieces, each with the VM's prefix)."""
    out = []
    for m in re.finditer(rf"^\[ *[\d.]+\] \[{vm}\] (.*?)\r*$", log, re.M):
        text = m.group(1)
        if out and not re.match(r"(keel-mgmt:|\[ *[\d.]+\] )", text):
            out[-1] += text
        else:
            out.append(text)
    return out


def guest(name):
    return os.path.join(BUILD, "guests", f"{name}.elf")


def test_module_loads_and_lists_vms():
    # idle never ends: the run stops once the management VM has powered off.
    log = mgmt_boot([("idle", guest("idle"))], end=r"keel: vm mgmt powered off")
    release = open(os.path.join(LINUX, "kernel-version")).read().strip()
    assert f"keel-mgmt: starting, kernel {release}, 2 cpus" in log, log[-4000:]
    assert "keel-mgmt: keel.ko loaded: keel: Keel hypercall ABI 1 (VMMCALL)" in log, log[-4000:]
    # keel.ko bound to Keel's control function (00:02.0, 4b45:0001) and rang each MSI-X upcall
    # vector through its doorbell: both interrupts reached its handler before /dev/keel appeared.
    assert re.search(r"keel-mgmt: control function: keel 0000:00:02.0: Keel control function v1: 2 MSI-X upcall "
                     r"vectors work, /dev/keel ready", log), log[-4000:]
    irqs = [line.strip() for line in vm_output(log, "mgmt") if line.startswith("keel-mgmt: irq:")]
    assert len(irqs) == 2 and all(re.search(r"PCI-MSI \d+-edge +keel$", line) for line in irqs), irqs
    for line in irqs:  # "keel-mgmt: irq:  24:   1   0   PCI-MSI 32768-edge   keel": one count a CPU
        per_cpu = line.split(":", 3)[3].split("PCI-MSI")[0].split()
        assert sum(int(n) for n in per_cpu) >= 1, line
    assert "keel-mgmt: version: keel hypercall ABI 1, keel.ko ioctl 1, libkeel 1" in log, log[-4000:]
    assert "FAIL" not in log.replace("FAIL: ", ""), log[-4000:]
    js = [line[len("keel-mgmt: json: "):] for line in vm_output(log, "mgmt") if line.startswith("keel-mgmt: json: ")]
    assert len(js) == 1, log[-4000:]
    vms = {v["name"]: v for v in json.loads(js[0])}
    assert set(vms) == {"mgmt", "idle"}, vms
    assert vms["mgmt"]["mgmt"] and not vms["idle"]["mgmt"]
    assert vms["mgmt"]["vcpus"] == 2 and vms["mgmt"]["mem_bytes"] == 256 << 20, vms
    assert vms["idle"]["vcpus"] == 1 and vms["idle"]["mem_bytes"] == 16 << 20, vms
    assert vms["mgmt"]["state"] == "running" and vms["idle"]["state"] == "running", vms
    # The management VM has been running Linux for a while: exits and CPU time are real numbers.
    assert vms["mgmt"]["exits"] > 1000 and vms["mgmt"]["run_ns"] > 10**8, vms
    assert vms["idle"]["id"] != vms["mgmt"]["id"]
    assert re.search(r"keel-mgmt: list: +\d+ +mgmt +running +2 +256 .* mgmt\r*$", log, re.M), log[-4000:]
    assert "keel-mgmt: done, powering off" in log


def test_keelctl_on_a_vm_of_keels_command_line():
    """keelctl info, console, pause, resume and destroy on a VM Keel's command line declared
    (guests/mgmt/tests/cmdvm.sh), as on one keelctl created."""
    log = mgmt_boot([("idle", guest("idle"))], kernel_args="keeltest=cmdvm", end=r"keel: vm mgmt powered off")
    lines = [m.group(1) for m in re.finditer(r"keel-mgmt: (.*?)\r*$", log, re.M)]
    assert "cmdvm done" in lines, log[-4000:]
    assert not [line for line in lines if line.startswith("FAIL")], lines
    want = ["info shows the command line's VM running", "its console has its output", "pause", "resume",
            "destroy: it leaves the list", "destroy again: status 1"]
    assert [w for w in want if f"ok {w}" not in lines] == [], lines
    assert re.search(r"keel: vm idle crashed: destroyed by the management VM", log), log[-4000:]


def test_without_the_flag_the_module_gets_eperm():
    """The same VM without `mgmt` (but with the control function, which the management VM has by
    default): the module loads and binds (HC_VERSION is everyone's), but listing VMs is refused by
    Keel with -EPERM, which keelctl reports."""
    log = mgmt_boot([], mgmt_fields="ctl=on")
    assert "keel-mgmt: version: keel hypercall ABI 1" in log, log[-4000:]
    assert "keel-mgmt: FAIL keelctl list --json: keelctl: list: Operation not permitted" in log, log[-4000:]


def test_second_management_vm_refused():
    boot = Boot("kernel", cpus=1, mem_mib=256, cpu=AMD, timeout=60,
                cmdline="vm=a,module=0,mem=8M,mgmt vm=b,module=0,mem=8M,mgmt on_finish=poweroff",
                modules=[guest("pm32_hello")])
    log = boot.run()
    assert "vm b: refused: there is one management VM, and a is it" in log, log[-3000:]
