#!/bin/busybox sh
# keeltest=window (tests/guests/test_mgmt_window.py): the memory window onto the VM "win", which
# runs guests/tests/window_guest.c. keel-wintest does the checks; this script reports it and
# checks that the management VM is still up after the revocation.
keel-wintest win
echo "wintest exit $?"
echo "mgmt alive: $(cut -d' ' -f1 /proc/uptime) s up, $(grep -c '^processor' /proc/cpuinfo) cpus"
dmesg | grep -i -E 'keel|bug|oops|pat' | tail -n 5 | while IFS= read -r l; do echo "dmesg: $l"; done
