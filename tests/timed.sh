#!/usr/bin/env bash
# `make test`'s runner: makes each target in turn and prints every one's wall time at the end,
# also when one fails or the run is interrupted. Stops at the first failure, as make does, unless
# make runs with -k. Times include building what a target needs first.
# usage: timed.sh TIMES_FILE KEEP_GOING(0|1) TARGET...
set -u
times=$1 keep=$2
shift 2
mkdir -p "$(dirname "$times")"
: >"$times"

report() {
	echo "== make test: wall time per target (s)"
	awk '{ printf "  %-18s %6d  %s\n", $1, $2, $3; total += $2 }
	     END { printf "  %-18s %6d\n", "total", total }' "$times"
}

current= start=
trap 'echo "$current $(($(date +%s) - start)) interrupted" >>"$times"; report; exit 130' INT TERM

status=0
for t in "$@"; do
	current=$t start=$(date +%s)
	if ${MAKE:-make} --no-print-directory "$t"; then
		result=ok
	else
		result=FAILED status=1
	fi
	echo "$t $(($(date +%s) - start)) $result" >>"$times"
	[ $status = 0 ] || [ "$keep" = 1 ] || break
done
report
exit $status
