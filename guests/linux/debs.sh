# Sourced by guests/linux/mkguest.sh and guests/mgmt/mkmgmt.sh: Debian packages fetched with
# apt-get download into a cache directory (never installed), and the busybox initramfs both
# build on. Needs die() from the caller.

# The version of package $1 that apt would take.
candidate() {
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1
}

# Path of the .deb for package $2 at version $3 in directory $1, downloading it if absent.
fetch_deb() {
	local dir=$1 pkg=$2 ver=$3 f
	for f in "$dir/${pkg}_"*.deb; do
		[ -f "$f" ] || continue
		if [ "$(dpkg-deb -f "$f" Package)" = "$pkg" ] && [ "$(dpkg-deb -f "$f" Version)" = "$ver" ]; then
			echo "$f"
			return
		fi
	done
	echo "fetch_deb: downloading $pkg $ver" >&2
	# apt-get download writes into the current directory. As root, apt drops to the _apt user
	# for the download, which cannot write into a root-owned directory: it falls back to
	# downloading unsandboxed and warns; silence only that warning.
	(cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
		die "apt-get download $pkg=$ver failed (apt-get update? is $ver still in the archive?)"
	for f in "$dir/${pkg}_"*.deb; do
		if [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$ver" ]; then
			echo "$f"
			return
		fi
	done
	die "apt-get download $pkg=$ver left no .deb in $dir"
}

# The mkcpio.py list of a busybox initramfs with init script $2 (busybox binary $1): the usual
# directories, /dev/console, /init, busybox and a link for each of its applets. The caller adds
# its own files after it.
busybox_initramfs_list() {
	local busybox=$1 init=$2 d applet
	for d in /bin /sbin /usr /usr/bin /usr/sbin /dev /etc /lib /lib/modules; do
		echo "dir $d 0755 0 0"
	done
	echo "dir /proc 0555 0 0"
	echo "dir /sys 0555 0 0"
	echo "dir /tmp 1777 0 0"
	echo "dir /root 0700 0 0"
	# The kernel opens /dev/console for init before anything is mounted on /dev.
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /init $init 0755 0 0"
	echo "file /bin/busybox $busybox 0755 0 0"
	# --list-full prints each applet's install path (bin/sh, sbin/poweroff, usr/bin/...).
	"$busybox" --list-full | sort | while read -r applet; do
		[ "$applet" = bin/busybox ] || echo "slink /$applet /bin/busybox 0777 0 0"
	done
}
