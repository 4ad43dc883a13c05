#!/bin/sh
# keeltest=dmvmx (tests/guests/test_mgmt_dm_bochs.py, make check-stack-bochs): the first part of
# dm.sh on Bochs's VT-x model, where every instruction is emulated. One Linux guest "g1" from a
# config file, with a virtio disk (an ext4 image copied into this VM's tmpfs) and a network card
# on the bridge br0, both served by keel-dm: it boots the stock kernel `quiet` with its own virtio
# modules (initramfs-virtio, keeltest=virtio), mounts its disk, writes and reads back a file, reads
# /dev/hwrng, writes to hvc0 and pings this VM through the bridge; then it is destroyed and its
# keel-dm ends. Each check prints "ok NAME" or "FAIL NAME: why"; "dmvmx at T" lines give this
# VM's uptime (Bochs's clock), for the docstring's timings.
G=/usr/share/keel/guests
R=/run/keel

# shellcheck source=../lib/keeltest.sh
. /usr/share/keel/lib/keeltest.sh # ok, bad, check, wait_console, dm_pids
at() { echo "dmvmx at $(cut -d' ' -f1 /proc/uptime) s: $*"; }

at "start"
cp $G/disk-ext4.img /tmp/d1.img
if ! brctl addbr br0 || ! ip addr add 10.0.0.1/24 dev br0 || ! ip link set br0 up; then bad "bridge br0"; fi
cat >/tmp/g1.cfg <<EOF
name = "g1"
memory = 160
vcpus = 1
cpus = "0"
kernel = "$G/vmlinuz"
ramdisk = "$G/initramfs-virtio.cpio.gz"
extra = "console=ttyS0 panic=-1 quiet keeltick=0.2 keeltest=virtio keelip=10.0.0.2/24 keelpeer=10.0.0.1"
disk = [ "/tmp/d1.img,raw,xvda,rw" ]
vif = [ "bridge=br0,mac=02:4b:00:00:00:01" ]
EOF
out=$(keelctl create /tmp/g1.cfg 2>&1)
echo "create: $out"
if echo "$out" | grep -q 'created g1: id [0-9]*, keel-dm pid [0-9]*'; then
	ok "create g1 with keel-dm"
else
	bad "create g1 with keel-dm"
	echo "dmvmx done"
	exit 0
fi
sed 's/^/dm log: /' $R/g1.dm.log
check "keel-dm listens on g1's console socket" [ -S $R/g1.hvc.sock ]
keelctl start g1 || bad "start g1"
at "g1 started"
# Every 2 s, not 0.1: this VM shares Bochs's one CPU with the guest it waits for.
if wait_console g1 "keel-init: virtio: done\|keel-init: FAIL\|Kernel panic" 3600 2; then
	ok "g1 ran its virtio checks"
else
	bad "g1 ran its virtio checks"
fi
at "g1 ran its checks"
sed -n 's/^/g1: /p' /tmp/con.g1 | grep -a 'keel-init\|virtio\|Kernel panic\|BUG' | head -n 60
check "g1: no FAIL" sh -c "! grep -q 'keel-init: FAIL' /tmp/con.g1"
check "g1: its timer ticks" grep -q 'keel-init: timer ticking on all 1 cpus' /tmp/con.g1
check "g1: the virtio modules loaded" grep -q 'keel-init: virtio: loaded 16/16 modules' /tmp/con.g1
check "g1: its disk is vda" grep -q 'keel-init: virtio: disks vda' /tmp/con.g1
check "g1: read the image's file" grep -q 'keel-init: vda: hello.txt: keel ext4 disk image: hello' /tmp/con.g1
check "g1: wrote and read back its disk" grep -q 'keel-init: vda: ext4 mounted, wrote 4 MiB, sha256 ok' /tmp/con.g1
check "g1: hwrng" grep -q 'keel-init: hwrng: 64 bytes' /tmp/con.g1
check "g1: hvc0" grep -q 'keel-init: hvc0: wrote hello' /tmp/con.g1
check "g1: its network card" grep -q 'keel-init: net: eth0 02:4b:00:00:00:01 10.0.0.2/24' /tmp/con.g1
check "g1: pinged the management VM through the bridge" grep -q 'keel-init: net: ping 10.0.0.1: 3 packets received' /tmp/con.g1
check "g1 powered off" wait_console g1 "keel-init: done, powering off" 120 2
sleep 2
check "g1's hvc0 output reached keel-dm" grep -q 'keel-hvc0: hello from' $R/g1.hvc
check "keelctl console --hvc shows it" sh -c "keelctl console --hvc g1 | grep -q 'keel-hvc0: hello from'"
sed 's/^/dm log: /' $R/g1.dm.log
# The guest's writes are in the image, in this VM's tmpfs.
check "g1's disk changed" sh -c "! cmp -s $G/disk-ext4.img /tmp/d1.img"
keelctl destroy g1 || bad "destroy g1"
i=0
while [ $i -lt 30 ] && [ -n "$(dm_pids)" ]; do
	sleep 1
	i=$((i + 1))
done
check "keel-dm ended with its VM" [ -z "$(dm_pids)" ]
check "and removed its console socket" [ ! -e $R/g1.hvc.sock ]
at "g1 destroyed"
echo "dmvmx done"
