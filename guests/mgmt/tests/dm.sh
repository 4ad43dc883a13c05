#!/bin/sh
# keeltest=dm (tests/guests/test_mgmt_dm.py): a Linux guest from a config file with a virtio disk,
# served by keel-dm. keelctl create refuses bad disks (missing, read-only, truncated) before it
# makes anything; then the guest "g1" boots the stock kernel with its own virtio modules
# (initramfs-virtio, keeltest=virtio), mounts its ext4 disk (a writable copy in this VM's tmpfs),
# writes and reads back a file, reads /dev/hwrng and writes to hvc0; after it powers off and is
# destroyed, its keel-dm is gone. Each check prints "ok NAME" or "FAIL NAME: why".
G=/usr/share/keel/guests
R=/run/keel

ok() { echo "ok $*"; }
bad() { echo "FAIL $*"; }
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
# wait_console VM PATTERN SECONDS: the VM's COM1 output, gathered in /tmp/con.VM, shows PATTERN.
wait_console() {
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		keelctl console "$1" >>"/tmp/con.$1"
		grep -q "$2" "/tmp/con.$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
dm_pids() { for p in /proc/[0-9]*; do grep -qs '^keel-dm' "$p/comm" && echo "${p#/proc/}"; done; }

cp $G/disk-ext4.img /tmp/d1.img
cfg() { # FILE DISK-SPEC
	cat >"$1" <<EOF
name = "g1"
memory = 160
vcpus = 1
cpus = "0"
kernel = "$G/vmlinuz"
ramdisk = "$G/initramfs-virtio.cpio.gz"
extra = "console=ttyS0 panic=-1 keeltest=virtio"
disk = [ "$2" ]
EOF
}

# Bad disks: exit 2, the key and the reason, and no VM.
refused() { # NAME SPEC WHY
	cfg /tmp/bad.cfg "$2"
	keelctl create /tmp/bad.cfg >/tmp/out 2>&1
	st=$?
	echo "refused $1: exit $st: $(cat /tmp/out)"
	[ $st -eq 2 ] && grep -q "key 'disk': .*$3" /tmp/out && ! keelctl info g1 >/dev/null 2>&1
}
check "a missing disk is refused" refused missing "/tmp/nothing.img,raw,xvda,rw" "No such file"
cp /tmp/d1.img /tmp/ro.img
chmod 0444 /tmp/ro.img
check "a read-only disk given read-write is refused" refused ro "/tmp/ro.img,raw,xvda,rw" "is read-only"
head -c 4194304 /tmp/d1.img >/tmp/short.img
check "a truncated disk is refused" refused short "/tmp/short.img,raw,xvda,rw" "truncated"

# A bridge for g1's network card, with an address for the management VM on it: g1 pings it.
brctl addbr br0 && ip addr add 10.0.0.1/24 dev br0 && ip link set br0 up || bad "bridge br0"
cfg /tmp/g1.cfg "/tmp/d1.img,raw,xvda,rw"
sed -i 's#^extra = "\(.*\)"#extra = "\1 keelip=10.0.0.2/24 keelpeer=10.0.0.1"#' /tmp/g1.cfg
echo 'vif = [ "bridge=br0,mac=02:4b:00:00:00:01" ]' >>/tmp/g1.cfg
out=$(keelctl create /tmp/g1.cfg 2>&1)
echo "create: $out"
if echo "$out" | grep -q 'created g1: id [0-9]*, keel-dm pid [0-9]*'; then
	ok "create g1 with keel-dm"
else
	bad "create g1 with keel-dm"
	echo "dm done"
	exit 0
fi
sed 's/^/dm log: /' $R/g1.dm.log
check "keel-dm listens on g1's console socket" [ -S $R/g1.hvc.sock ]
keelctl start g1 || bad "start g1"
if wait_console g1 "keel-init: virtio: done\|keel-init: FAIL\|Kernel panic" 240; then
	ok "g1 ran its virtio checks"
else
	bad "g1 ran its virtio checks"
fi
sed -n 's/^/g1: /p' /tmp/con.g1 | grep -a 'keel-init\|virtio\|Kernel panic\|BUG' | head -n 60
check "g1: no FAIL" sh -c "! grep -q 'keel-init: FAIL' /tmp/con.g1"
check "g1: the virtio modules loaded" grep -q 'keel-init: virtio: loaded 16/16 modules' /tmp/con.g1
check "g1: its disk is vda" grep -q 'keel-init: virtio: disks vda' /tmp/con.g1
check "g1: read the image's file" grep -q 'keel-init: vda: hello.txt: keel ext4 disk image: hello' /tmp/con.g1
check "g1: wrote and read back its disk" grep -q 'keel-init: vda: ext4 mounted, wrote 4 MiB, sha256 ok' /tmp/con.g1
check "g1: hwrng" grep -q 'keel-init: hwrng: 64 bytes' /tmp/con.g1
check "g1: hvc0" grep -q 'keel-init: hvc0: wrote hello' /tmp/con.g1
check "g1: its network card" grep -q 'keel-init: net: eth0 02:4b:00:00:00:01 10.0.0.2/24' /tmp/con.g1
check "g1: pinged the management VM through the bridge" grep -q 'keel-init: net: ping 10.0.0.1: 3 packets received' /tmp/con.g1
wait_console g1 "keel-init: done, powering off" 30 >/dev/null
sleep 1
check "g1's hvc0 output reached keel-dm" grep -q 'keel-hvc0: hello from' $R/g1.hvc
check "keelctl console --hvc shows it" sh -c "keelctl console --hvc g1 | grep -q 'keel-hvc0: hello from'"
sed 's/^/dm log: /' $R/g1.dm.log
# The guest's writes are in the image, in this VM's tmpfs: the file it wrote is there.
check "g1's disk changed" sh -c "! cmp -s $G/disk-ext4.img /tmp/d1.img"
keelctl destroy g1 || bad "destroy g1"
i=0
while [ $i -lt 50 ] && [ -n "$(dm_pids)" ]; do
	sleep 0.1
	i=$((i + 1))
done
check "keel-dm ended with its VM" [ -z "$(dm_pids)" ]
check "and removed its console socket" [ ! -e $R/g1.hvc.sock ]
sed 's/^/dm log: /' $R/g1.dm.log | tail -n 3

# Faults are contained: two VMs with a disk each, their own keel-dm each; one keel-dm killed ends
# its VM with a reason naming it, and the other VM and its keel-dm go on. Events in /tmp/events.
: >/tmp/events
keelctl events --json >>/tmp/events
wait_event() { # PATTERN within 30 s
	i=0
	while [ $i -lt 30 ]; do
		grep -q "$1" /tmp/events && return 0
		timeout 10 keelctl events --wait --json >>/tmp/events
		i=$((i + 1))
	done
	grep -q "$1" /tmp/events
}
dm_of() { # the pid of the keel-dm serving VM NAME (its command line names its log)
	for p in $(dm_pids); do
		tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "/run/keel/$1.hvc" && echo "$p"
	done
}
fcfg() { # NAME IMAGE [KERNEL]
	cp $G/disk-ext4.img "$2"
	cat >"/tmp/$1.cfg" <<EOF
name = "$1"
memory = 8
kernel = "$G/${3:-idle}.elf"
disk = [ "$2,raw,xvda,rw" ]
EOF
	keelctl create "/tmp/$1.cfg" >/dev/null && keelctl start "$1"
}
fcfg dmk /tmp/k.img || bad "create dmk"
fcfg dmo /tmp/o.img || bad "create dmo"
# A hostile driver (guests/tests/virtio_hostile.c): looping chains, an index past the queue,
# buffers outside RAM, thousands of doorbells. Its device needs a reset; its keel-dm goes on.
fcfg dmh /tmp/h.img virtio_hostile || bad "create dmh"
check "a hostile guest ends by itself (its checks passed)" \
	wait_event '"name": "dmh", "event": "exited", "status": 0,'
keelctl console dmh | sed 's/^/dmh: /'
# keel-dm looks whether its VM is still there once a second when idle.
i=0
while [ $i -lt 30 ] && ! grep -q 'stopping' $R/dmh.dm.log; do
	sleep 0.1
	i=$((i + 1))
done
sed 's/^/dmh dm log: /' $R/dmh.dm.log
check "its keel-dm stopped only when its VM ended" grep -q 'stopping (its VM ended)' $R/dmh.dm.log
keelctl destroy dmh || bad "destroy dmh"
kpid=$(dm_of dmk)
opid=$(dm_of dmo)
echo "keel-dm of dmk: ${kpid:-none}, of dmo: ${opid:-none}"
kill -9 $kpid
check "a killed keel-dm ends its VM with the reason" \
	wait_event '"name": "dmk", "event": "crashed", .*"reason": "device model gone: its process ended'
sleep 1
check "the other VM still runs" sh -c "keelctl info dmo --json | grep -q '\"state\": \"running\"'"
check "the other keel-dm still serves" sh -c "[ -n '$opid' ] && [ -d '/proc/$opid' ]"
keelctl destroy dmk || bad "destroy dmk"
keelctl destroy dmo || bad "destroy dmo"
rm -f /tmp/k.img /tmp/o.img /tmp/h.img

# 50 VMs with a disk, each served by its own keel-dm, created, started and destroyed: no page of
# Keel's, no keel-dm process and none of their file descriptors (the disk image) left. One cycle
# first, so that the allocators hold what they keep before the measure starts.
field() { sed -n "s/.*\"$1\": \"*\([^,\"}]*\).*/\1/p"; }
keel_free() { keelctl mem --json | field free_bytes; }
open_fds() { # how many open file descriptors, in every process, name the image
	n=0
	for f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = /tmp/d2.img ] && n=$((n + 1))
	done
	echo $n
}
cp $G/disk-ext4.img /tmp/d2.img
cat >/tmp/cyc.cfg <<EOF
name = "dmc"
memory = 8
kernel = "$G/idle.elf"
disk = [ "/tmp/d2.img,raw,xvda,rw" ]
EOF
cycle() {
	keelctl create /tmp/cyc.cfg >/dev/null || bad "create dmc ($1)"
	keelctl start dmc || bad "start dmc ($1)"
	keelctl destroy dmc || bad "destroy dmc ($1)"
}
wait_no_dm() {
	i=0
	while [ $i -lt 50 ] && [ -n "$(dm_pids)" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -z "$(dm_pids)" ]
}
cycle 0
wait_no_dm
kf0=$(keel_free)
n=1
while [ $n -le 50 ]; do
	cycle $n
	n=$((n + 1))
done
check "50 VMs with keel-dm: every keel-dm ended" wait_no_dm
kf1=$(keel_free)
fds=$(open_fds)
echo "measure keel_free_before=$kf0 keel_free_after=$kf1 image_fds=$fds"
check "50 VMs with keel-dm: Keel's free memory is back" [ "$kf1" = "$kf0" ]
check "50 VMs with keel-dm: no descriptor of the image left" [ "$fds" -eq 0 ]
check "50 VMs with keel-dm: none left in the list" sh -c "! keelctl list | grep -q ' dmc '"
echo "dm done"
