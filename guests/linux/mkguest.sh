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
INPUTS=("$HERE/mkguest.sh" "$HERE/mkcpio.py" "$HERE/init")
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

# Candidate version of a package, from apt's lists.
candidate() {
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1
}

# Path of the .deb for package $1 at version $2 in OUTDIR/debs, downloading it if absent.
fetch_deb() {
	local pkg=$1 ver=$2 f
	for f in "$OUT/debs/${pkg}_"*.deb; do
		[ -f "$f" ] || continue
		if [ "$(dpkg-deb -f "$f" Package)" = "$pkg" ] && [ "$(dpkg-deb -f "$f" Version)" = "$ver" ]; then
			echo "$f"
			return
		fi
	done
	log "downloading $pkg $ver"
	# apt-get download writes into the current directory. As root, apt drops to the _apt user
	# for the download, which cannot write into a root-owned directory: it falls back to
	# downloading unsandboxed and warns; silence only that warning.
	(cd "$OUT/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2)
	for f in "$OUT/debs/${pkg}_"*.deb; do
		if [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$ver" ]; then
			echo "$f"
			return
		fi
	done
	die "apt-get download $pkg=$ver left no .deb in $OUT/debs"
}

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

kdeb=$(fetch_deb "$kpkg" "$kver")
bdeb=$(fetch_deb busybox-static "$bver")

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
{
	echo "dir /bin 0755 0 0"
	echo "dir /sbin 0755 0 0"
	echo "dir /usr 0755 0 0"
	echo "dir /usr/bin 0755 0 0"
	echo "dir /usr/sbin 0755 0 0"
	echo "dir /dev 0755 0 0"
	echo "dir /proc 0555 0 0"
	echo "dir /sys 0555 0 0"
	echo "dir /tmp 1777 0 0"
	echo "dir /root 0700 0 0"
	echo "dir /etc 0755 0 0"
	# The kernel opens /dev/console for init before anything is mounted on /dev.
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /init $HERE/init 0755 0 0"
	echo "file /bin/busybox $busybox 0755 0 0"
	# --list-full prints each applet's install path (bin/sh, sbin/poweroff, usr/bin/...).
	"$busybox" --list-full | sort | while read -r applet; do
		[ "$applet" = bin/busybox ] || echo "slink /$applet /bin/busybox 0777 0 0"
	done
} >"$list"
grep -q '^slink /bin/sh ' "$list" || die "busybox has no sh applet"

"$PYTHON" "$HERE/mkcpio.py" "$list" "$WORK/initramfs.cpio"
gzip -9 -n -c "$WORK/initramfs.cpio" >"$WORK/initramfs.cpio.gz"

# Install the outputs last, initramfs after vmlinuz, so an interrupted run is never up to date.
cp "${vmlinuz[0]}" "$OUT/vmlinuz.tmp" && mv -f "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
printf '%s %s\n%s %s\n' "$kpkg" "$kver" busybox-static "$bver" >"$OUT/packages"
echo "$release" >"$OUT/kernel-version"
mv -f "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
log "kernel $release ($kpkg $kver), busybox-static $bver -> $OUT"
