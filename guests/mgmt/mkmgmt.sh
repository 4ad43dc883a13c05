#!/bin/bash
# Build the management VM: keel.ko against Debian's headers of exactly the kernel the Linux
# guest uses, keelctl and libkeel, and an initramfs carrying them.
#   guests/mgmt/mkmgmt.sh OUTDIR LINUXDIR
# LINUXDIR is guests/linux/mkguest.sh's output (vmlinuz, kernel-version, packages, debs/). The
# headers are fetched with apt-get download at the version of the linux-image package used and
# unpacked with dpkg -x under OUTDIR/headers: nothing is installed, no root is needed. keel.ko is
# built by that kernel's kbuild with Debian's gcc (the compiler the kernel was built with), also
# when Keel itself is built with clang. Outputs: OUTDIR/keel.ko, OUTDIR/keelctl (static),
# OUTDIR/initramfs.cpio.gz (and OUTDIR/initramfs-io.cpio.gz: only the guests in MGMT_IO_GUESTS).
# See docs/mgmt.md.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 OUTDIR LINUXDIR" >&2
	exit 2
fi
OUT=$1
LINUX=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-python3}
export LC_ALL=C
# Not the caller's make: its variables (CC=clang, B=...) must not reach the kernel's kbuild.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

log() { echo "mkmgmt: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$OUT/debs"
OUT=$(cd "$OUT" && pwd)

release=$(cat "$LINUX/kernel-version") || die "$LINUX/kernel-version missing (make linux-guest)"
read -r kpkg kver < <(grep '^linux-image-' "$LINUX/packages") || die "no linux-image in $LINUX/packages"
[ "$kpkg" = "linux-image-$release" ] || die "$LINUX/packages names $kpkg, the kernel is $release"

# The headers of exactly this kernel: linux-headers-<release> at the image's package version, and
# what it depends on at the versions it names (the -common headers, linux-kbuild-<series>).
# fetch_deb, busybox_initramfs_list
. "$ROOT/guests/linux/debs.sh"
# The version, if apt knows package $1 at exactly version $2.
candidate_at() {
	apt-cache show "$1" 2>/dev/null | sed -n 's/^Version: //p' | grep -Fx "$2" | head -n1
}
fetch_exact() { # package version
	[ -n "$(candidate_at "$1" "$2")" ] ||
		die "apt has no $1 $2: the headers must match the kernel exactly (apt-get update? a newer kernel?)"
	fetch_deb "$OUT/debs" "$1" "$2"
}
hpkg=linux-headers-$release
hdeb=$(fetch_exact "$hpkg" "$kver")
debs=("$hdeb")
deps=$(dpkg-deb -f "$hdeb" Depends | tr ',' '\n' | sed 's/^ *//')
for dep in $(echo "$deps" | sed -n 's/^\(linux-headers-[^ ]*-common\) .*/\1/p; s/^\(linux-kbuild-[^ ]*\) .*/\1/p'); do
	debs+=("$(fetch_exact "$dep" "$kver")")
done
[ ${#debs[@]} -eq 3 ] || die "$hpkg $kver: expected a -common headers and a linux-kbuild dependency, got: $deps"

stamp="$OUT/headers/.debs"
if [ "$(cat "$stamp" 2>/dev/null)" != "${debs[*]}" ]; then
	rm -rf "$OUT/headers"
	mkdir -p "$OUT/headers"
	for d in "${debs[@]}"; do dpkg -x "$d" "$OUT/headers"; done
	# The per-flavour Makefile includes the -common one by its absolute /usr/src path.
	sed -i "s#/usr/src/#$OUT/headers/usr/src/#" "$OUT/headers/usr/src/$hpkg/Makefile"
	echo "${debs[*]}" >"$stamp"
fi
KDIR="$OUT/headers/usr/src/$hpkg"
kcc=$(sed -n 's/^CC = .*\(gcc-[0-9]*\)$/\1/p' "$KDIR/.kernelvariables" | head -n1)
kcc=${kcc:-gcc}
command -v "$kcc" >/dev/null || die "the kernel was built with $kcc, which is not installed (make deps)"

# keel.ko, built in a copy (kbuild writes next to the sources).
rm -rf "$OUT/keel-build"
cp -r "$HERE/keel" "$OUT/keel-build"
make -s -C "$KDIR" M="$OUT/keel-build" KEEL_PUBLIC="$ROOT/vmm/public" CC="$kcc" modules >&2
magic=$(grep -a -o 'vermagic=[^ ]*' "$OUT/keel-build/keel.ko" | head -n1)
[ "$magic" = "vermagic=$release" ] || die "keel.ko has $magic, the kernel is $release"
cp "$OUT/keel-build/keel.ko" "$OUT/keel.ko"

# The tools, static so the initramfs needs no libc: keelctl (keelctl*.c) and every keel-*.c (a
# program of its own, such as the device-model test), each linked with libkeel (libkeel*.c).
tools_cc() {
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -pthread -I"$HERE/tools" -I"$HERE/keel" \
		-I"$ROOT/vmm/public" "$@"
}
tools_cc -o "$OUT/keelctl" "$HERE"/tools/keelctl*.c "$HERE"/tools/keelcfg.c "$HERE"/tools/libkeel*.c
progs=()
for src in "$HERE"/tools/keel-*.c; do
	[ -e "$src" ] || continue
	prog=$(basename "$src" .c)
	tools_cc -o "$OUT/$prog" "$src" "$HERE"/tools/libkeel*.c
	progs+=("$prog")
done
# keel-dm, the virtio device model (guests/mgmt/dm/, docs/virtio.md): every dm/*.c (the unit
# tests and fuzzers live in tests/), Keel's own PCI function model (vmm/dev/vpci_dev.c, hence
# -I$ROOT) and libkeel. The dm sources are built as the unit tests build them, where callbacks
# that ignore some of their ops' parameters are normal (-Wno-unused-parameter).
tools_cc -Wno-unused-parameter -I"$ROOT" -o "$OUT/keel-dm" "$HERE"/dm/*.c "$ROOT/vmm/dev/vpci_dev.c" \
	"$HERE"/tools/libkeel*.c
progs+=(keel-dm)

# The initramfs: busybox (the Linux guest's, already fetched), /init, keel.ko, keelctl, keel-dm.
bdeb=$(ls "$LINUX"/debs/busybox-static_*.deb 2>/dev/null | head -n1)
[ -n "$bdeb" ] || die "no busybox-static .deb in $LINUX/debs (make linux-guest)"
WORK=$(mktemp -d "$OUT/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
dpkg -x "$bdeb" "$WORK/busybox"
busybox="$WORK/busybox/bin/busybox"
# The stock kernel's modules the management VM loads at start for keel-dm's network cards: tun
# (TAP devices) and bridge, with what they need, resolved from the linux-image package's own
# dependency records (guests/linux/kmods.py, as for the virtio guest) and extracted from it.
NET_MODULES=(tun bridge)
kdeb=""
for f in "$LINUX/debs/${kpkg}_"*.deb; do
	if [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$kver" ]; then kdeb=$f; fi
done
[ -n "$kdeb" ] || die "no $kpkg $kver .deb in $LINUX/debs (make linux-guest)"
dpkg-deb --fsys-tarfile "$kdeb" | "$PYTHON" "$ROOT/guests/linux/kmods.py" index "$WORK/kindex"
"$PYTHON" "$ROOT/guests/linux/kmods.py" resolve "$WORK/kindex" "${NET_MODULES[@]}" >"$WORK/korder"
"$PYTHON" "$ROOT/guests/linux/kmods.py" check "$WORK/kindex" "$WORK/korder" "${NET_MODULES[@]}"
mkdir -p "$WORK/kroot"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$WORK/kroot" -T <(sed "s#^#./lib/modules/$release/#" "$WORK/korder")
kmoddir="$WORK/kroot/lib/modules/$release"
while read -r m; do
	case $m in
	*.ko.xz) xz -d "$kmoddir/$m" ;;
	*.ko) ;;
	*) die "cannot store module $m (only .ko and .ko.xz are handled)" ;;
	esac
done <"$WORK/korder"
sed 's/\.ko\.xz$/.ko/' "$WORK/korder" >"$kmoddir/load-order"
# The list of the initramfs carrying the test guests $@.
initramfs_list() {
	busybox_initramfs_list "$busybox" "$HERE/init"
	# Not in the small one (initramfs-io: no keel-dm network there, and Bochs reads it slowly).
	if [ "$NET" = 1 ]; then
		echo "dir /lib/modules/$release 0755 0 0"
		echo "file /lib/modules/$release/load-order $kmoddir/load-order 0644 0 0"
		while read -r m; do
			echo "file /lib/modules/$release/$(basename "$m") $kmoddir/$m 0644 0 0"
		done <"$kmoddir/load-order"
	fi
	echo "file /lib/modules/keel.ko $OUT/keel.ko 0644 0 0"
	echo "file /usr/sbin/keelctl $OUT/keelctl 0755 0 0"
	for prog in "${progs[@]}"; do echo "file /usr/sbin/$prog $OUT/$prog 0755 0 0"; done
	# Test scripts /init runs for keeltest=NAME (guests/mgmt/tests/NAME.sh), and the test guests
	# the management VM creates at run time (MGMT_GUESTS: ELF files).
	echo "dir /usr/share 0755 0 0"
	echo "dir /usr/share/keel 0755 0 0"
	echo "dir /usr/share/keel/tests 0755 0 0"
	echo "dir /usr/share/keel/guests 0755 0 0"
	for t in "$HERE"/tests/*.sh; do
		[ -e "$t" ] && echo "file /usr/share/keel/tests/$(basename "$t") $t 0755 0 0"
	done
	# What those scripts source (not tests of their own: outside tests/).
	echo "dir /usr/share/keel/lib 0755 0 0"
	echo "file /usr/share/keel/lib/keeltest.sh $HERE/lib/keeltest.sh 0644 0 0"
	# make run's demo (keeltest=demo) and its VM's config, an example to copy.
	echo "file /usr/share/keel/demo.sh $HERE/demo.sh 0755 0 0"
	echo "dir /usr/share/keel/examples 0755 0 0"
	echo "file /usr/share/keel/examples/demo.cfg $HERE/demo.cfg 0644 0 0"
	for g in "$@"; do echo "file /usr/share/keel/guests/$(basename "$g") $g 0644 0 0"; done
}
mkinitramfs() { # OUTPUT GUEST...
	local out=$1
	shift
	initramfs_list "$@" >"$WORK/list"
	"$PYTHON" "$ROOT/guests/linux/mkcpio.py" "$WORK/list" "$WORK/initramfs.cpio"
	gzip -9 -n -c "$WORK/initramfs.cpio" >"$out.tmp"
	mv -f "$out.tmp" "$out"
}
# shellcheck disable=SC2086 # lists of paths without blanks
NET=1 mkinitramfs "$OUT/initramfs.cpio.gz" ${MGMT_GUESTS:-}
# A small one with only MGMT_IO_GUESTS (no Linux guest) for the basic I/O-request test on Bochs,
# whose BIOS GRUB loads each MiB of a module in about 2 s (tests/guests/test_mgmt_io_bochs.py).
# shellcheck disable=SC2086
NET=0 mkinitramfs "$OUT/initramfs-io.cpio.gz" ${MGMT_IO_GUESTS:-}
log "keel.ko for $release (built with $kcc), keelctl, initramfs (and initramfs-io) -> $OUT"
