"""The memory window (make check-mgmt; issue 14, docs/mgmt.md): the management VM maps the RAM of a
multiboot guest declared beside it on Keel's command line (guests/tests/window_guest.c) through the
control function's BAR2, reads the pattern the guest wrote, writes a reply the guest checks, then
revokes the window: a later access by the process (and by a child that inherited the mapping) gets
SIGBUS, the management VM stays up, and the page-table pages the window took return to Keel's
allocator when it is unmapped (guests/mgmt/tests/window.sh, guests/mgmt/tools/keel-wintest.c)."""
import re

from test_mgmt import guest, mgmt_boot, vm_output


def test_window_map_read_write_revoke():
    # window_guest idles for ever after it saw the reply: the run stops once the management VM
    # has powered off.
    log = mgmt_boot([("win", guest("window_guest"))], extra="", end=r"keel: vm mgmt powered off",
                    kernel_args="keeltest=window")
    out = vm_output(log, "mgmt")
    lines = [line[len("keel-mgmt: "):] for line in out if line.startswith("keel-mgmt: ")]
    text = "\n".join(lines)
    assert "wintest: window of win" in text and "16 MiB" in text, log[-4000:]
    assert "wintest: pattern read through the window (512 words)" in text, log[-4000:]
    assert "wintest: the guest answered the reply written through the window" in text, log[-4000:]
    assert "window_guest: reply seen" in "\n".join(vm_output(log, "win")), log[-4000:]
    assert "wintest: SIGBUS on an access after the revocation" in text, log[-4000:]
    assert "wintest: the child's inherited mapping got SIGBUS too" in text, log[-4000:]
    assert "wintest: the stale mapping still gets SIGBUS with a new window in place" in text, log[-4000:]
    assert "wintest: PASS" in text and "wintest exit 0" in text, log[-4000:]
    assert not [line for line in lines if "FAIL" in line], text
    # The management VM survived the revocation, with no kernel complaint about it.
    assert re.search(r"mgmt alive: [\d.]+ s up, 2 cpus", text), text
    assert not re.search(r"dmesg: .*(BUG|Oops|WARNING|conflicting memory types)", text), text
    # Keel: each window was mapped with large pages in BAR2 (1 GiB-aligned, above RAM), then
    # unmapped with every management vCPU flushed, and every page-table page it took came back.
    maps = re.findall(r"vm mgmt: window onto VM (\d+) \(win, 16 MiB\) at (0x[0-9a-f]+), (\d+) page-table pages", log)
    unmaps = re.findall(r"vm mgmt: window onto VM (\d+) unmapped, TLBs flushed; (\d+) of its (\d+) page-table pages freed",
                        log)
    assert len(maps) == 2 and len(unmaps) == 2, log[-4000:]
    for vm_id, gpa, tables in maps:
        assert int(gpa, 16) % (1 << 30) == 0 and int(gpa, 16) >= 1 << 32, maps
    for vm_id, freed, taken in unmaps:
        assert freed == taken and int(taken) >= 1, unmaps
    assert "keel-mgmt: done, powering off" in log
