"""The memory window on Bochs's Intel VT-x model (make check-mgmt-bochs, not part of make test: the
management VM's Linux takes minutes there; GRUB reads the kernel in ~50 s, /init comes after
~100 s more). QEMU's TCG keeps no stale nested TLB entries; Bochs does cache EPT translations (and
VPID-tagged ones), so here the revocation order runs against a CPU where a missing INVEPT would
show: the same keel-wintest as tests/guests/test_mgmt_window.py, with two CPUs so that the other
management vCPU is in guest mode, kicked and flushed while the window goes."""
import os
import re
import shutil
import sys

import pytest

from test_vmx_bochs import BUILD, VMX_LINE, bochs

LINUX = os.path.join(BUILD, "linux")
MGMT = os.path.join(BUILD, "mgmt")


@pytest.mark.skipif(not shutil.which("bochs"), reason="bochs is not installed (make deps)")
def test_window_on_bochs_vmx():
    mods = [f"{os.path.join(LINUX, 'vmlinuz')} console=ttyS0 panic=-1 keelvms=2 keeltest=window",
            os.path.join(MGMT, "initramfs.cpio.gz"), os.path.join(BUILD, "guests", "window_guest.elf")]
    decl = ("vm=mgmt,module=0,initrd=1,boot=linux,mem=256M,vcpus=2,mgmt vm=win,module=2,mem=16M "
            "on_finish=poweroff")
    out = bochs(decl, mods, guest_mib=512, host_mib=512, cpus=2, timeout=3600, until=r"keel: vm mgmt powered off")
    assert VMX_LINE in out, out[-3000:]
    assert "keel: PANIC" not in out, out[-4000:]
    for line in ("wintest: pattern read through the window (512 words)",
                 "wintest: the guest answered the reply written through the window",
                 "wintest: SIGBUS on an access after the revocation",
                 "wintest: the child's inherited mapping got SIGBUS too",
                 "wintest: the stale mapping still gets SIGBUS with a new window in place",
                 "wintest: PASS"):
        assert line in out, f"{line}:\n{out[-4000:]}"
    assert not re.search(r"wintest: FAIL", out), out[-4000:]
    unmaps = re.findall(r"window onto VM \d+ unmapped, TLBs flushed; (\d+) of its (\d+) page-table pages freed", out)
    assert len(unmaps) == 2 and all(a == b for a, b in unmaps), out[-4000:]
