#!/bin/sh
# Shell helpers of the management VM's test scripts (guests/mgmt/tests/NAME.sh, sourced as
# /usr/share/keel/lib/keeltest.sh; not a test itself). Each check prints "ok NAME" or
# "FAIL NAME: why", which tests/guests/test_mgmt*.py read.

ok() { echo "ok $*"; }
bad() { echo "FAIL $*"; }
# check NAME COMMAND...: ok if the command succeeds.
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
# A JSON field's value from keelctl's --json output on stdin (one object a line).
field() { sed -n "s/.*\"$1\": \"*\([^,\"}]*\).*/\1/p"; }
# wait_console VM PATTERN [SECONDS] [POLL]: what the VM printed on COM1, gathered in /tmp/con.VM,
# shows PATTERN within SECONDS (20 by default) of this VM's uptime, read every POLL seconds (0.1 by
# default; a benchmark polls less often, as its polling shares the CPU with what it measures).
wait_console() {
	_end=$(($(cut -d. -f1 /proc/uptime) + ${3:-20}))
	while [ "$(cut -d. -f1 /proc/uptime)" -lt $_end ]; do
		keelctl console "$1" >>"/tmp/con.$1"
		grep -q "$2" "/tmp/con.$1" && return 0
		sleep "${4:-0.1}"
	done
	keelctl console "$1" >>"/tmp/con.$1"
	grep -q "$2" "/tmp/con.$1"
}
# wait_event PATTERN: an event line matching PATTERN arrives within 30 s (keelctl events --wait,
# woken by the event upcall; all of them gathered in /tmp/events, which the script starts).
wait_event() {
	_i=0
	while [ $_i -lt 30 ]; do
		grep -q "$1" /tmp/events && return 0
		timeout 10 keelctl events --wait --json >>/tmp/events
		_i=$((_i + 1))
	done
	grep -q "$1" /tmp/events
}
# The pids of the keel-dm processes running now.
dm_pids() { for p in /proc/[0-9]*; do grep -qs '^keel-dm' "$p/comm" && echo "${p#/proc/}"; done; }
