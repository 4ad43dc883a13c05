#!/bin/sh
# keeltest=cmdvm (tests/guests/test_mgmt.py): keelctl on a VM that Keel's command line declared
# ("idle", not created at run time): info, console, pause, resume and destroy work on it as on
# the VMs keelctl creates. Each check prints "ok NAME" or "FAIL NAME: why".
# shellcheck source=../lib/keeltest.sh
. /usr/share/keel/lib/keeltest.sh # ok, bad, check, field, wait_console
state_of() { keelctl info "$1" --json 2>/dev/null | field state; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }

check "info shows the command line's VM running" is_state idle running
check "its console has its output" wait_console idle "idle: 1 cpus halted"
keelctl pause idle || bad "pause idle"
check "pause" is_state idle paused
keelctl resume idle || bad "resume idle"
check "resume" is_state idle running
keelctl destroy idle || bad "destroy idle"
check "destroy: it leaves the list" sh -c "! keelctl info idle >/dev/null 2>&1"
check "destroy again: status 1" sh -c "keelctl destroy idle 2>/dev/null; [ \$? -eq 1 ]"
echo "cmdvm done"
