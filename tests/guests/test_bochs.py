"""Second opinion: the guest suite under Keel on Bochs's AMD model (cpu: model=ryzen), which has
NRIPS (so the CPU-reported next RIP is used instead of decoding) and 32768 ASIDs.

Bochs 2.7 checks for a triple fault before the SVM SHUTDOWN intercept, so a guest's triple fault
resets the emulated machine instead of exiting to Keel: triple_fault is left out here (it runs on
QEMU in test_svm.py). GRUB's multiboot2 loader crashes in Bochs's BIOS when the kernel asks for a
framebuffer, so the ISO boots Keel with multiboot (1).

Bochs 2.7's VMRUN does not load CR2 from the VMCB (SvmEnterLoadCheckGuestState reads the field
and drops it), so a #PF that Keel injects shows the guest a stale CR2 here: string_io, string_io32 and
exc_regs, which check it, run on QEMU (test_svm.py) and on Bochs's VT-x (test_vmx_bochs.py)."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest
from guestlist import BOCHS_SUITE, crashed_as_expected  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("KEEL_BUILD", os.path.join(ROOT, "build"))
GUESTS = BOCHS_SUITE

BOCHSRC = """megs: 256
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=ryzen, count=1, ips=100000000, reset_on_triple_fault=1
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
display_library: rfb, options="timeout=0"
com1: enabled=1, mode=file, dev={com1}
log: {log}
clock: sync=none, time0=local
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
"""


@pytest.mark.skipif(not shutil.which("bochs"), reason="bochs is not installed (make deps)")
def test_suite_on_bochs_ryzen():
    work = tempfile.mkdtemp(prefix="keel-bochs-")
    try:
        iso, com1, log = (os.path.join(work, n) for n in ("suite.iso", "com1.txt", "bochs.log"))
        decl = " ".join(f"vm={g},module={i},mem=8M" for i, g in enumerate(GUESTS))
        env = dict(os.environ, KEEL_GRUB_PROTOCOL="multiboot", KEEL_GRUB_TIMEOUT="0",
                   KEEL_ELF=os.path.join(BUILD, "keel.elf"), KEEL_EFI=os.path.join(BUILD, "keel.efi"))
        subprocess.run(["bash", os.path.join(ROOT, "iso", "mkiso.sh"), iso, decl + " on_finish=poweroff",
                        *[os.path.join(BUILD, "guests", f"{g}.elf") for g in GUESTS]],
                       check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        rc = os.path.join(work, "bochsrc")
        with open(rc, "w") as f:
            f.write(BOCHSRC.format(iso=iso, com1=com1, log=log))
        with open(os.path.join(work, "cmds"), "w") as f:
            f.write("c\n")
        subprocess.run(["bochs", "-q", "-f", rc, "-rc", os.path.join(work, "cmds")], cwd=work, timeout=300,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = open(com1, errors="replace").read()
        assert "svm: AMD-V with nested paging, 32768 ASIDs, NRIPS" in out, out[-3000:]
        for g in GUESTS:
            if g == "npt_isolation":
                crashed_as_expected(out, "npt_isolation", r"access to guest-physical 0x40000000", same_address=True)
            else:
                assert f"keel: vm {g} exited with status 0" in out, f"{g}:\n{out[-3000:]}"
        # Issue 11 item 4: WBINVD and WBNOINVD are intercepted (one exit each).
        assert re.search(r"keel: vm insn_intercepts exited with status 0; exits:.* wbinvd=2\b", out), out[-3000:]
        assert "vmm: every VM page returned to the allocator" in out
        assert "keel: powering off" in out
    finally:
        shutil.rmtree(work, ignore_errors=True)
