#!/bin/sh
# keeltest=vbench (tests/bench/bench_virtio.py, make bench): the virtio benchmarks of issue 15.
# A 64 MiB raw image of random bytes in this VM's tmpfs, a bridge br0, and two Linux guests made by
# keelctl create from config files (initramfs-virtio, keelbench= in guests/linux/init, which runs
# guests/linux/vbench.c): "vb1" with the image as its virtio-blk disk and a network card on br0
# runs the disk phases, then serves TCP (a 1-byte echo, then a sink); "vb2", created after vb1's
# disk phases, with a card on br0, runs the TCP round trips and a 16 MiB stream against it. The
# phase "null" has no requests: its counters are what the method itself costs. Before and after
# each phase (the guest waits on its COM1 until told to go) every VM's keelctl info --json is
# kept in /tmp/snaps; at the end, one counter a line:
#   bench exits PHASE before|after VM total|run_ns|REASON COUNT
# and each phase's result as the guest printed it, as it comes:  bench result PHASE ...
# Other lines: "ok NAME" / "FAIL NAME: why"; the end: "vbench done".
G=/usr/share/keel/guests

# shellcheck source=../lib/keeltest.sh
. /usr/share/keel/lib/keeltest.sh # ok, bad, wait_console VM PATTERN [SECONDS] [POLL]
# snap PHASE before|after VM...: every VM's keelctl info --json, into /tmp/snaps as they are (as
# little work as can be inside a phase's window); printed at the end, one counter a line (a line
# on this VM's console costs it an exit a character, and Keel splits long lines).
snap() {
	p=$1
	w=$2
	shift 2
	for v in mgmt "$@"; do
		printf '%s %s %s ' "$p" "$w" "$v" >>/tmp/snaps
		keelctl info "$v" --json >>/tmp/snaps 2>&1
	done
}
print_snaps() {
	while read -r p w v j; do
		echo "bench exits $p $w $v total $(echo "$j" | sed -n 's/.*"exits": \([0-9]*\).*/\1/p')"
		echo "bench exits $p $w $v run_ns $(echo "$j" | sed -n 's/.*"run_ns": \([0-9]*\).*/\1/p')"
		echo "$j" | sed -n 's/.*"exits_by_reason": {\([^}]*\)}.*/\1/p' | tr ',' '\n' | tr -d '" ' |
			tr ':' ' ' | sed "s/^/bench exits $p $w $v /"
	done </tmp/snaps
}
# phase VM PHASE OTHER-VMS...: wait for the guest to be ready, go, wait for its result line.
phase() {
	vm=$1
	ph=$2
	shift 2
	if ! wait_console "$vm" "keel-bench: ready $ph\|keel-bench: FAIL\|Kernel panic" 900; then
		bad "$vm ready for $ph"
		return 1
	fi
	grep -q "keel-bench: ready $ph" "/tmp/con.$vm" || {
		bad "$vm ready for $ph: $(grep -a 'FAIL\|panic' "/tmp/con.$vm" | head -n 3)"
		return 1
	}
	snap "$ph" before "$vm" "$@"
	keelctl input "$vm" go || bad "input $vm"
	if wait_console "$vm" "keel-bench: $ph \|keel-bench: FAIL" 1800 0.5; then
		snap "$ph" after "$vm" "$@"
		r=$(grep -a "keel-bench: $ph " "/tmp/con.$vm" | tr -d '\r' | sed 's/.*keel-bench: //')
		if [ -n "$r" ]; then
			echo "bench result $r"
			ok "$vm $ph"
			return 0
		fi
	fi
	bad "$vm $ph: $(grep -a 'keel-bench: FAIL' "/tmp/con.$vm" | head -n 1)"
	return 1
}
cfg() { # NAME FILE KEELBENCH MAC IP [DISK]
	cat >"$2" <<EOF
name = "$1"
memory = 160
vcpus = 1
cpus = "0"
kernel = "$G/vmlinuz"
ramdisk = "$G/initramfs-virtio.cpio.gz"
extra = "console=ttyS0 panic=-1 keelbench=$3 keelip=$5/24 keelpeer=10.0.0.2"
vif = [ "bridge=br0,mac=$4" ]
EOF
	[ -z "$6" ] || echo "disk = [ \"$6,raw,xvda,rw\" ]" >>"$2"
}
finish() {
	for v in vb1 vb2; do
		keelctl destroy "$v" >/dev/null 2>&1
		[ -f "/tmp/con.$v" ] && grep -a 'keel-init\|keel-bench\|Kernel panic\|BUG' "/tmp/con.$v" | sed "s/^/$v: /"
	done
	[ -f /tmp/snaps ] && print_snaps
	echo "vbench done"
	exit 0
}

# The image: random bytes, so that no layer can skip the reads of zeros or holes.
if ! dd if=/dev/urandom of=/tmp/bench.img bs=1048576 count=64 2>/dev/null; then
	bad "64 MiB image in tmpfs"
	finish
fi
echo "bench image $(stat -c '%s bytes, %b blocks of %B' /tmp/bench.img)"
if ! brctl addbr br0 || ! ip link set br0 up; then bad "bridge br0"; fi

cfg vb1 /tmp/vb1.cfg blk,server 02:4b:00:00:00:11 10.0.0.2 /tmp/bench.img
if ! out=$(keelctl create /tmp/vb1.cfg 2>&1) || ! keelctl start vb1; then
	bad "create vb1: $out"
	finish
fi
ok "create vb1: $out"
for p in null blk_qd1 blk_qd32 blk_seq; do
	phase vb1 "$p" || finish
done
if ! wait_console vb1 "keel-bench: server listening" 60; then
	bad "vb1 serves TCP"
	finish
fi

cfg vb2 /tmp/vb2.cfg client 02:4b:00:00:00:12 10.0.0.3
if ! out=$(keelctl create /tmp/vb2.cfg 2>&1) || ! keelctl start vb2; then
	bad "create vb2: $out"
	finish
fi
ok "create vb2: $out"
phase vb2 net_rr vb1 && phase vb2 net_stream vb1
wait_console vb2 "keel-init: bench done" 60 >/dev/null
wait_console vb1 "keel-init: bench done" 60 >/dev/null
finish
