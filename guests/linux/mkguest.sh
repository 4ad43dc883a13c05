#!/bin/bash
# Build the Linux test guest: Debian's stock kernel and a busybox-static initramfs.
#   guests/linux/mkguest.sh OUTDIR
# Produces OUTDIR/vmlinuz (bzImage, unmodified), OUTDIR/kernel-version (its uname -r),
# OUTDIR/packages (the .debs used, "name version" a line) and OUTDIR/initramfs.cpio.gz.
# The packages are fetched with apt-get download and unpacked with dpkg -x: nothing is installed
# on the host, no root is needed (once apt's lists exist), and the .debs are kept in OUTDIR/debs
# so a rebuild does not download them again. See guests/linux/README.md.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
OUT=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INPUTS=("$HERE/mkguest.sh" "$HERE/debs.sh" "$HERE/mkcpio.py" "$HERE/init")
KERNEL_META=linux-image-amd64
PYTHON=${PYTHON:-python3}
export LC_ALL=C

log() { echo "mkguest: $*" >&2; }
die() { log "$*"; exit 1; }

# Up to date when both outputs exist and are newer than every input.
up_to_date() {
	local f i
	for f in "$OUT/vmlinuz" "$OUT/initramfs.cpio.gz" "$OUT/kernel-version"; do
		[ -s "$f" ] || return 1
		for i in "${INPUTS[@]}"; do
			[ "$f" -nt "$i" ] || return 1
		done
	done
}
if up_to_date; then
	log "$OUT is up to date"
	exit 0
fi

mkdir -p "$OUT/debs"
OUT=$(cd "$OUT" && pwd)

# candidate, fetch_deb
. "$HERE/debs.sh"

# A machine whose packages were all installed already may have empty apt lists: as root, fetch
# them once (the same step `make deps` runs before installing).
if [ -z "$(candidate "$KERNEL_META")" ] && [ "$(id -u)" = 0 ]; then
	log "apt lists have no $KERNEL_META: apt-get update"
	apt-get update -qq >&2
fi

# linux-image-amd64 is a metapackage: its one dependency is the versioned kernel package.
meta_ver=$(candidate "$KERNEL_META")
[ -n "$meta_ver" ] || die "apt knows no $KERNEL_META (run apt-get update?)"
kpkg=$(apt-cache show --no-all-versions "$KERNEL_META" | sed -n 's/^Depends: //p' | head -n1 |
	tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -m1 '^linux-image-.*-amd64$' || true)
[ -n "$kpkg" ] || die "cannot resolve $KERNEL_META $meta_ver to a linux-image-*-amd64 package"
kver=$(candidate "$kpkg")
[ -n "$kver" ] || die "apt knows no $kpkg"
bver=$(candidate busybox-static)
[ -n "$bver" ] || die "apt knows no busybox-static (run apt-get update?)"

kdeb=$(fetch_deb "$OUT/debs" "$kpkg" "$kver")
bdeb=$(fetch_deb "$OUT/debs" busybox-static "$bver")

WORK=$(mktemp -d "$OUT/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Kernel: boot/vmlinuz-<release> from the package, as Debian ships it. This is dpkg -x limited
# to boot/: the modules (400 MB unpacked) are not needed, as the initramfs loads none.
mkdir -p "$WORK/kernel"
dpkg-deb --fsys-tarfile "$kdeb" | tar -xf - -C "$WORK/kernel" --wildcards './boot/vmlinuz-*'
vmlinuz=("$WORK"/kernel/boot/vmlinuz-*)
if [ ${#vmlinuz[@]} -ne 1 ] || [ ! -f "${vmlinuz[0]}" ]; then
	die "$kdeb has no single boot/vmlinuz-*"
fi
release=${vmlinuz[0]##*/vmlinuz-}

# Busybox: the static binary; its applet list becomes symlinks in the initramfs.
dpkg -x "$bdeb" "$WORK/busybox"
busybox="$WORK/busybox/bin/busybox"
[ -x "$busybox" ] || die "$bdeb has no bin/busybox"

list="$WORK/initramfs.list"
busybox_initramfs_list "$busybox" "$HERE/init" >"$list"
grep -q '^slink /bin/sh ' "$list" || die "busybox has no sh applet"

"$PYTHON" "$HERE/mkcpio.py" "$list" "$WORK/initramfs.cpio"
gzip -9 -n -c "$WORK/initramfs.cpio" >"$WORK/initramfs.cpio.gz"

# Install the outputs last, initramfs after vmlinuz, so an interrupted run is never up to date.
cp "${vmlinuz[0]}" "$OUT/vmlinuz.tmp" && mv -f "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
printf '%s %s\n%s %s\n' "$kpkg" "$kver" busybox-static "$bver" >"$OUT/packages"
echo "$release" >"$OUT/kernel-version"
mv -f "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
log "kernel $release ($kpkg $kver), busybox-static $bver -> $OUT"
