#!/bin/sh
# make run's demo (build/keel-demo.iso; /init runs this for keeltest=demo, then a shell): the
# bridge br0 with this VM at 10.0.0.1, a writable copy of the example disk in this VM's tmpfs, and
# the VM "demo" created from /usr/share/keel/examples/demo.cfg and started. The shell follows.
G=/usr/share/keel/guests
if brctl addbr br0 && ip addr add 10.0.0.1/24 dev br0 && ip link set br0 up; then
	echo "demo: bridge br0 up, this VM is 10.0.0.1"
else
	echo "FAIL demo: bridge br0"
fi
cp $G/disk-ext4.img /tmp/demo.img
if out=$(keelctl create /usr/share/keel/examples/demo.cfg 2>&1) && keelctl start demo; then
	echo "demo: $out; started"
	echo "demo: it boots Debian's kernel (about a minute), checks its disk, entropy, console and network"
	echo "demo: keelctl list | keelctl console demo (Ctrl-] leaves) | keelctl console --hvc demo"
else
	echo "FAIL demo: keelctl create /usr/share/keel/examples/demo.cfg: $out"
fi
