#!/bin/bash
# Build the virtio Linux guest's initramfs and a small ext4 disk image for it.
#   guests/linux/mkvirtio.sh OUTDIR
# OUTDIR is guests/linux/mkguest.sh's output (kernel-version, packages, debs/): the modules come
# from the same linux-image .deb as OUTDIR/vmlinuz. Produces
#   OUTDIR/initramfs-virtio.cpio.gz  the default initramfs (same /init, same busybox) plus the
#                                    modules a guest needs for Keel's virtio-pci devices, under
#                                    /lib/modules/<release>/, and load-order, the list /init
#                                    insmods (keeltest=virtio)
#   OUTDIR/virtio-modules            that load order (paths under /lib/modules/<release>)
#   OUTDIR/disk-ext4.img             16 MiB ext4 image holding /hello.txt (see HELLO below)
# The initramfs also carries /usr/bin/vbench (guests/linux/vbench.c, static), the virtio benchmarks
# that keelbench= runs (tests/bench/bench_virtio.py).
# A second initramfs rather than more in the default one: the default is loaded by many tests,
# some through a boot loader that reads about 1 MiB per 2 s. See guests/linux/README.md.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
OUT=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}
export LC_ALL=C
# The modules the guest loads; kmods.py adds what they need. rng-core (hw_random) is built into
# Debian's kernel (modules.builtin), so it is not a root: kmods.py fails on a root the package
# does not have as a module.
ROOTS=(virtio_pci virtio_blk virtio_net virtio_console virtio-rng ext4)
# The known file of disk-ext4.img: a guest test reads it back.
HELLO="keel ext4 disk image: hello"

log() { echo "mkvirtio: $*" >&2; }
die() { log "$*"; exit 1; }

release=$(cat "$OUT/kernel-version" 2>/dev/null) || die "$OUT/kernel-version missing (make linux-guest)"
read -r kpkg kver < <(grep '^linux-image-' "$OUT/packages") || die "no linux-image in $OUT/packages"
[ "$kpkg" = "linux-image-$release" ] || die "$OUT/packages names $kpkg, the kernel is $release"
kdeb=""
for f in "$OUT/debs/${kpkg}_"*.deb; do
	if [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$kver" ]; then kdeb=$f; fi
done
[ -n "$kdeb" ] || die "no $kpkg $kver .deb in $OUT/debs (make linux-guest)"
# The busybox of the default initramfs, at the version mkguest.sh used.
bver=$(sed -n 's/^busybox-static //p' "$OUT/packages")
bdeb=""
for f in "$OUT"/debs/busybox-static_*.deb; do
	if [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$bver" ]; then bdeb=$f; fi
done
[ -n "$bdeb" ] || die "no busybox-static ${bver:-(not in packages)} .deb in $OUT/debs (make linux-guest)"

WORK=$(mktemp -d "$OUT/work-virtio.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# depmod's files for the whole package, rebuilt from each module's .modinfo (the .deb has no
# modules.dep: depmod makes it when the package is installed), then the load order.
dpkg-deb --fsys-tarfile "$kdeb" | "$PYTHON" "$HERE/kmods.py" index "$WORK/index"
"$PYTHON" "$HERE/kmods.py" resolve "$WORK/index" "${ROOTS[@]}" >"$WORK/order"
# The build fails here if a module comes before one it needs or one is missing.
"$PYTHON" "$HERE/kmods.py" check "$WORK/index" "$WORK/order" "${ROOTS[@]}"

# Only those modules out of the package (tar matches the listed member names exactly).
sed "s#^#./lib/modules/$release/#" "$WORK/order" >"$WORK/members"
mkdir -p "$WORK/root"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$WORK/root" -T "$WORK/members"
moddir="$WORK/root/lib/modules/$release"
# Busybox insmod reads the file as it is and may not decompress: store .ko.xz decompressed,
# with the load order naming the .ko.
while read -r m; do
	case $m in
	*.ko.xz) xz -d "$moddir/$m" ;;
	*.ko) ;;
	*) die "cannot store module $m (only .ko and .ko.xz are handled)" ;;
	esac
	[ -s "$moddir/${m%.xz}" ] || die "$kdeb has no lib/modules/$release/$m"
done <"$WORK/order"
sed 's/\.ko\.xz$/.ko/' "$WORK/order" >"$moddir/load-order"
# modules.dep limited to these modules (depmod's format), for a person at the guest's shell.
awk -F: 'NR == FNR { want[$0] = 1; next } $1 in want' "$WORK/order" "$WORK/index/modules.dep" |
	sed 's/\.ko\.xz/.ko/g' >"$moddir/modules.dep"

# The virtio benchmark program (keelbench=): static, so the initramfs needs no libc.
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -static \
	-o "$WORK/vbench" "$HERE/vbench.c" || die "cannot build vbench"

# The default initramfs's list (guests/linux/debs.sh), then the module tree.
dpkg -x "$bdeb" "$WORK/busybox"
# shellcheck disable=SC1091 # busybox_initramfs_list, from guests/linux/debs.sh
. "$HERE/debs.sh"
list="$WORK/initramfs.list"
{
	busybox_initramfs_list "$WORK/busybox/bin/busybox" "$HERE/init"
	echo "file /usr/bin/vbench $WORK/vbench 0755 0 0"
	(cd "$WORK/root" && find lib/modules -mindepth 1 -type d | sort) |
		while read -r d; do echo "dir /$d 0755 0 0"; done
	(cd "$WORK/root" && find lib/modules -type f | sort) |
		while read -r f; do echo "file /$f $WORK/root/$f 0644 0 0"; done
} >"$list"
"$PYTHON" "$HERE/mkcpio.py" "$list" "$WORK/initramfs.cpio"
"$PYTHON" "$HERE/kmods.py" check-cpio "$WORK/initramfs.cpio" "$release" "$moddir/load-order"
gzip -9 -n -c "$WORK/initramfs.cpio" >"$WORK/initramfs-virtio.cpio.gz"

# The disk: mke2fs -d copies a directory into the new file system, no root or loop device
# needed. Reproducible: fixed UUID and hash seed, every time $epoch (1 unless SOURCE_DATE_EPOCH:
# e2fsprogs reads a fake time of 0 as none); the file's ctime, which mke2fs copies from the
# host and touch cannot set, is rewritten with debugfs.
epoch=${SOURCE_DATE_EPOCH:-1}
mke2fs=$(PATH=$PATH:/sbin:/usr/sbin command -v mke2fs) || die "no mke2fs (make deps: e2fsprogs)"
debugfs=$(PATH=$PATH:/sbin:/usr/sbin command -v debugfs) || die "no debugfs (make deps: e2fsprogs)"
img="$WORK/disk-ext4.img"
mkdir -p "$WORK/disk"
echo "$HELLO" >"$WORK/disk/hello.txt"
touch -d @"$epoch" "$WORK/disk/hello.txt" "$WORK/disk"
: >"$img" # or mke2fs says "Creating regular file" despite -q
E2FSPROGS_FAKE_TIME=$epoch "$mke2fs" -q -t ext4 -L keel-disk \
	-U 6b65656c-0000-4000-8000-000000000001 -E hash_seed=6b65656c-0000-4000-8000-000000000002 \
	-d "$WORK/disk" -F "$img" 16M
E2FSPROGS_FAKE_TIME=$epoch "$debugfs" -w -R "set_inode_field /hello.txt ctime @$epoch" "$img" 2>"$WORK/debugfs.log" ||
	die "debugfs failed: $(cat "$WORK/debugfs.log")"
[ "$(E2FSPROGS_FAKE_TIME=$epoch "$debugfs" -R 'cat /hello.txt' "$img" 2>/dev/null)" = "$HELLO" ] ||
	die "$img: /hello.txt does not read back"

# Install the outputs last, so an interrupted run leaves no new-looking partial file.
cp "$moddir/load-order" "$OUT/virtio-modules"
mv -f "$img" "$OUT/disk-ext4.img"
mv -f "$WORK/initramfs-virtio.cpio.gz" "$OUT/initramfs-virtio.cpio.gz"
log "$(wc -l <"$OUT/virtio-modules") modules of $kpkg $kver, initramfs-virtio" \
	"$(stat -c %s "$OUT/initramfs-virtio.cpio.gz") bytes, disk-ext4.img -> $OUT"
