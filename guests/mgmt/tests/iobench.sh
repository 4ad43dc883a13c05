#!/bin/sh
# keeltest=iobench (tests/bench/bench_ioreq.py): keel-iotest serves the test guest "ioreq"
# (guests/tests/ioreq.c with bench=1, which prints its BENCH lines) until it ends.
if out=$(keel-iotest ${iotest_mode:-} ioreq 2>&1); then
	echo "$out"
	echo "iotest: exit 0"
else
	echo "$out"
	echo "FAIL iotest: keel-iotest ioreq exited with $?"
fi
