#!/bin/sh
# keeltest=dm (tests/guests/test_mgmt_dm.py, make check-stack): Linux guests from config files
# with virtio disks and network cards, served by keel-dm. keelctl create refuses bad disks
# (missing, read-only, truncated) before it makes anything; then two guests, "g1" and "g2", boot
# the stock kernel with its own virtio modules (initramfs-virtio, keeltest=virtio) side by side:
# each mounts its ext4 disk (a writable copy in this VM's tmpfs), writes and reads back a file,
# reads /dev/hwrng, writes to hvc0 and, on bridge br0 (where this VM is 10.0.0.1), pings this VM
# and the other guest; g1 then fetches 4 MiB over TCP from g2 (sha256 compared here). g1 is
# destroyed while g2 goes on serving, to this VM this time. Then faults (a hostile virtio driver,
# a killed keel-dm) and 50 VMs with keel-dm without a leak. Each check prints "ok NAME" or
# "FAIL NAME: why".
G=/usr/share/keel/guests
R=/run/keel
# shellcheck source=../lib/keeltest.sh
. /usr/share/keel/lib/keeltest.sh # ok, bad, check, field, wait_console, wait_event, dm_pids

dm_of() { # the pid of the keel-dm serving VM NAME (its command line names its log)
	for p in $(dm_pids); do
		tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "/run/keel/$1.hvc" && echo "$p"
	done
}
# wait_gone CMD...: CMD's output is empty within 5 s.
wait_gone() {
	_n=0
	while [ $_n -lt 50 ] && [ -n "$("$@")" ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	[ -z "$("$@")" ]
}

cfg() { # FILE DISK-SPEC [NAME]
	cat >"$1" <<EOF
name = "${3:-g1}"
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
cp $G/disk-ext4.img /tmp/ro.img
chmod 0444 /tmp/ro.img
check "a read-only disk given read-write is refused" refused ro "/tmp/ro.img,raw,xvda,rw" "is read-only"
head -c 4194304 $G/disk-ext4.img >/tmp/short.img
check "a truncated disk is refused" refused short "/tmp/short.img,raw,xvda,rw" "truncated"
rm -f /tmp/ro.img /tmp/short.img

# The disk image also came as a boot module for this VM (test_mgmt_dm.py: mods= on Keel's command
# line), a read-only file keel.ko gives it: the guests' disks are copies of that one.
M=/sys/module/keel/boot_modules/disk-ext4.img
check "the boot module reads as the image" cmp $M $G/disk-ext4.img
check "the boot module is read-only" sh -c "! echo x 2>/dev/null >$M && ! truncate -s 0 $M 2>/dev/null"
check "and still the image" cmp $M $G/disk-ext4.img

# A bridge for the guests' network cards, with an address of this VM's on it.
brctl addbr br0 && ip addr add 10.0.0.1/24 dev br0 && ip link set br0 up || bad "bridge br0"
lcfg() { # NAME HOST(the address's last byte, and the MAC's) PEERS KEELTCP
	cat $M >"/tmp/$1.img" # a writable copy (cp would keep the module's mode, 0444)
	cfg "/tmp/$1.cfg" "/tmp/$1.img,raw,xvda,rw" "$1"
	sed -i "s#^extra = \"\(.*\)\"#extra = \"\1 keelip=10.0.0.$2/24 keelpeer=$3 keeltcp=$4\"#" "/tmp/$1.cfg"
	echo "vif = [ \"bridge=br0,mac=02:4b:00:00:00:0$2\" ]" >>"/tmp/$1.cfg"
}
# g2 serves 4 MiB twice: to g1, then (g1 destroyed) to this VM.
lcfg g1 2 10.0.0.1,10.0.0.3 fetch:10.0.0.3:5000
lcfg g2 3 10.0.0.1,10.0.0.2 serve:5000:4:2
for g in g1 g2; do
	out=$(keelctl create /tmp/$g.cfg 2>&1)
	echo "create: $out"
	if echo "$out" | grep -q "created $g: id [0-9]*, keel-dm pid [0-9]*"; then
		ok "create $g with keel-dm"
	else
		bad "create $g with keel-dm"
		echo "dm done"
		exit 0
	fi
done
sed 's/^/dm log: /' $R/g1.dm.log
check "keel-dm listens on g1's console socket" [ -S $R/g1.hvc.sock ]
keelctl start g1 || bad "start g1"
keelctl start g2 || bad "start g2"
# Both booted: the list shows them running, with their numbers (test_mgmt_dm.py reads them).
wait_console g1 "keel-init: virtio: loaded" 400 >/dev/null
wait_console g2 "keel-init: virtio: loaded" 120 >/dev/null
echo "list: $(keelctl list --json)"
# g1 is done when it has fetched g2's data; g2 when it has served it (it waits for a second client).
check "g1 ran its virtio checks" wait_console g1 "keel-init: virtio: done\|keel-init: FAIL\|Kernel panic" 400
check "g2 ran its virtio checks" wait_console g2 "keel-init: tcp: served client 1\|keel-init: FAIL\|Kernel panic" 120
for g in g1 g2; do
	sed -n "s/^/$g: /p" /tmp/con.$g | grep -a 'keel-init\|virtio\|Kernel panic\|BUG' | head -n 60
	check "$g: no FAIL" sh -c "! grep -q 'keel-init: FAIL' /tmp/con.$g"
	check "$g: the virtio modules loaded" grep -q 'keel-init: virtio: loaded 16/16 modules' /tmp/con.$g
	check "$g: its disk is vda" grep -q 'keel-init: virtio: disks vda' /tmp/con.$g
	check "$g: read the image's file" grep -q 'keel-init: vda: hello.txt: keel ext4 disk image: hello' /tmp/con.$g
	check "$g: wrote and read back its disk" grep -q 'keel-init: vda: ext4 mounted, wrote 4 MiB, sha256 ok' /tmp/con.$g
	check "$g: hwrng" grep -q 'keel-init: hwrng: 64 bytes' /tmp/con.$g
	check "$g: hvc0" grep -q 'keel-init: hvc0: wrote hello' /tmp/con.$g
	check "$g: pinged the management VM through the bridge" grep -q 'keel-init: net: ping 10.0.0.1: 3 packets received' /tmp/con.$g
done
check "g1: its network card" grep -q 'keel-init: net: eth0 02:4b:00:00:00:02 10.0.0.2/24' /tmp/con.g1
check "g2: its network card" grep -q 'keel-init: net: eth0 02:4b:00:00:00:03 10.0.0.3/24' /tmp/con.g2
check "g1 pinged g2" grep -q 'keel-init: net: ping 10.0.0.3: 3 packets received' /tmp/con.g1
check "g2 pinged g1" grep -q 'keel-init: net: ping 10.0.0.2: 3 packets received' /tmp/con.g2
# What g2 served and what g1 fetched: 4 MiB with one sha256.
served=$(sed -n 's/.*keel-init: tcp: serving \([0-9]*\) bytes on port 5000, sha256 \([0-9a-f]*\).*/\1 \2/p' /tmp/con.g2 | head -n1)
fetched=$(sed -n 's/.*keel-init: tcp: fetched \([0-9]*\) bytes from 10.0.0.3:5000, sha256 \([0-9a-f]*\).*/\1 \2/p' /tmp/con.g1 | head -n1)
echo "tcp: g2 served '$served'" # two lines: Keel's console wraps long ones
echo "tcp: g1 fetched '$fetched'"
same_4mib() { [ -n "$served" ] && [ "$served" = "$fetched" ] && [ "${served%% *}" = 4194304 ]; }
check "g1 fetched 4 MiB from g2 over TCP, sha256 equal" same_4mib
wait_console g1 "keel-init: done, powering off" 30 >/dev/null
sleep 1
check "g1's hvc0 output reached keel-dm" grep -q 'keel-hvc0: hello from' $R/g1.hvc
check "keelctl console --hvc shows it" sh -c "keelctl console --hvc g1 | grep -q 'keel-hvc0: hello from'"
sed 's/^/dm log: /' $R/g1.dm.log
# The guest's writes are in the image, in this VM's tmpfs: the file it wrote is there.
check "g1's disk changed" sh -c "! cmp -s $G/disk-ext4.img /tmp/g1.img"
g1dm=$(dm_of g1)
keelctl destroy g1 || bad "destroy g1"
check "keel-dm ended with its VM" wait_gone dm_of g1
check "and removed its console socket" [ ! -e $R/g1.hvc.sock ]
sed 's/^/dm log: /' $R/g1.dm.log | tail -n 3
echo "keel-dm of g1 was ${g1dm:-none}; of g2: $(dm_of g2)"
# g1 is gone; g2 and its keel-dm go on: it serves its data again, to this VM.
if timeout 60 nc 10.0.0.3 5000 </dev/null >/tmp/tcp.rx; then
	got="$(wc -c </tmp/tcp.rx) $(sha256sum </tmp/tcp.rx | cut -d' ' -f1)"
else
	got="nc failed"
fi
echo "tcp: this VM fetched '$got' from g2"
check "g2 still serves after g1 was destroyed" [ "$got" = "$served" ]
rm -f /tmp/tcp.rx
check "g2 ended by itself" wait_console g2 "keel-init: done, powering off" 60
check "g2: no FAIL at its end" sh -c "! grep -q 'keel-init: FAIL' /tmp/con.g2"
keelctl destroy g2 || bad "destroy g2"
check "both keel-dm ended" wait_gone dm_pids
rm -f /tmp/g1.img /tmp/g2.img

# Faults are contained: two VMs with a disk each, their own keel-dm each; one keel-dm killed ends
# its VM with a reason naming it, and the other VM and its keel-dm go on. Events in /tmp/events.
: >/tmp/events
keelctl events --json >>/tmp/events
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
kill -9 "$kpid"
check "a killed keel-dm ends its VM with the reason" \
	wait_event '"name": "dmk", "event": "crashed", .*"reason": "device model gone: its process ended'
sleep 1
check "the other VM still runs" sh -c "keelctl info dmo --json | grep -q '\"state\": \"running\"'"
check "the other keel-dm still serves" sh -c "[ -n '$opid' ] && [ -d '/proc/$opid' ]"
keelctl destroy dmk || bad "destroy dmk"
keelctl destroy dmo || bad "destroy dmo"
rm -f /tmp/k.img /tmp/o.img /tmp/h.img

# 50 VMs with a disk and a network card, each served by its own keel-dm, created, started and
# destroyed: no page of Keel's, no keel-dm process, none of their file descriptors (the disk
# image) and none of their TAP devices left. One cycle first, so that the allocators hold what
# they keep before the measure starts.
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
vif = [ "bridge=br0" ]
EOF
taps() { # keel-dm's TAP devices (kdID.N) there are now
	n=0
	for t in /sys/class/net/kd*; do [ -e "$t" ] && n=$((n + 1)); done
	echo $n
}
cycle() {
	keelctl create /tmp/cyc.cfg >/dev/null || bad "create dmc ($1)"
	keelctl start dmc || bad "start dmc ($1)"
	[ "$1" = 0 ] && taps_up=$(taps) # its card's TAP is there while it runs
	keelctl destroy dmc || bad "destroy dmc ($1)"
}
cycle 0
wait_gone dm_pids
kf0=$(keel_free)
taps0=$(taps)
n=1
while [ $n -le 50 ]; do
	cycle $n
	n=$((n + 1))
done
check "50 VMs with keel-dm: every keel-dm ended" wait_gone dm_pids
kf1=$(keel_free)
fds=$(open_fds)
taps1=$(taps)
echo "measure keel_free_before=$kf0 keel_free_after=$kf1 image_fds=$fds taps_running=$taps_up taps_before=$taps0 taps_after=$taps1"
no_taps() { [ "$taps_up" -eq 1 ] && [ "$taps0" -eq 0 ] && [ "$taps1" -eq 0 ]; }
check "50 VMs with keel-dm: no TAP device left" no_taps
check "50 VMs with keel-dm: Keel's free memory is back" [ "$kf1" = "$kf0" ]
check "50 VMs with keel-dm: no descriptor of the image left" [ "$fds" -eq 0 ]
check "50 VMs with keel-dm: none left in the list" sh -c "! keelctl list | grep -q ' dmc '"
echo "dm done"
