#!/bin/sh
# keeltest=ioreq (tests/guests/test_mgmt_io.py): this script creates the test guest "ioreq"
# (guests/tests/ioreq.c, 2 vCPUs) at run time and keel-iotest serves it until it ends, then serves "iokill" and kills itself in the
# middle of a request: Keel must end iokill ("device model gone") while this VM and "idle" go on;
# last it serves "iohold" and powers off meanwhile.
# Its lines get the "keel-mgmt: " prefix from /init.
say() { echo "$*"; }

mode=${iotest_mode:-}
# "ioreq" is created here, at run time, loaded but not started: keel-iotest attaches and claims
# before its first instruction, then it starts, and keel-iotest serves it until it ends.
G=/usr/share/keel/guests
# ioreq_only=1 on the kernel command line: stop after it (the Bochs run). The guest checks from
# both of its vCPUs at once (it fails when the second never reports).
if ! out=$(keelctl create ioreq --mem 16M --vcpus 2 --kernel $G/ioreq.elf --cmdline "cpus=2" 2>&1); then
	say "FAIL create ioreq: $out"
fi
keel-iotest $mode ioreq >/tmp/io.out 2>&1 &
iotest=$!
i=0
while [ "$i" -lt 100 ] && ! grep -q claimed /tmp/io.out 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
keelctl start ioreq || say "FAIL start ioreq"
if wait $iotest; then
	cat /tmp/io.out
	say "iotest: exit 0"
else
	rc=$?
	cat /tmp/io.out
	say "FAIL iotest: keel-iotest ioreq exited with $rc"
fi
keelctl info ioreq 2>&1 | while IFS= read -r line; do say "ioreq: $line"; done
keelctl destroy ioreq || say "FAIL destroy ioreq"
[ -n "${ioreq_only:-}" ] && exit 0

# The device model dies during a request (SIGKILL): /dev/keel's release detaches it.
keel-iotest --kill iokill >/tmp/kill.out 2>&1
rc=$?
cat /tmp/kill.out
say "iotest: killed device model exited with status $rc"
# iokill ends; the list still has this VM and idle running.
i=0
while [ "$i" -lt 50 ]; do
	keelctl list --json | grep -q '"name": "iokill", "state": "running"' || break
	sleep 0.1
	i=$((i + 1))
done
keelctl list 2>&1 | while IFS= read -r line; do say "after: $line"; done
say "iotest: management VM still running"

# A served VM that resets ("ioreset") is not built again (its devices are the device model's):
# it ends, keel-iotest sees it end, and the reset event says why.
keelctl events >/dev/null 2>&1 # the events so far
if out=$(keel-iotest ioreset 2>&1); then
	echo "$out"
	say "iotest: ioreset served until it ended"
else
	echo "$out"
	say "FAIL iotest: keel-iotest ioreset exited with $?"
fi
keelctl events 2>&1 | while IFS= read -r line; do say "events: $line"; done

# A device model that still serves "iohold" when this VM powers off: Keel ends iohold
# ("management VM ended") and the VMs without a device model (idle) go on.
keel-iotest iohold >/tmp/hold.out 2>&1 &
i=0
while [ "$i" -lt 100 ] && ! grep -q claimed /tmp/hold.out; do
	sleep 0.1
	i=$((i + 1))
done
cat /tmp/hold.out
say "iotest: powering off while iohold is served"
