# shellcheck shell=bash
# Shared by boot/efi/mkimg.sh, iso/mkiso.sh and iso/xorriso-esp.sh (sourced, not run).
#
# A MODULE argument is a host file followed by the module's arguments, as one shell word:
# "build/guests/test.elf mode=fast". The file is copied as modules/<name>, where <name> is its
# base name (prefixed with its position if two different files share a base name).

KEEL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KEEL_EFI=${KEEL_EFI:-$KEEL_ROOT/build/keel.efi}
KEEL_ELF=${KEEL_ELF:-$KEEL_ROOT/build/keel.elf}
export MTOOLS_SKIP_CHECK=1 # images without a partition table or PC geometry are fine

keel_die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# keel_check_cmdline CMDLINE: keel.cfg and boot_info hold one line of at most 1023 bytes.
keel_check_cmdline() {
	[[ $1 != *$'\n'* ]] || keel_die "the command line must be one line"
	((${#1} < 1024)) || keel_die "the command line is ${#1} bytes; at most 1023 fit"
}

# keel_modules MODULE...: sets KEEL_MOD_SRC[i], KEEL_MOD_NAME[i], KEEL_MOD_ARGS[i].
keel_modules() {
	local i=0 m src args name j
	KEEL_MOD_SRC=() KEEL_MOD_NAME=() KEEL_MOD_ARGS=()
	for m in "$@"; do
		read -r src args <<<"$m"
		[[ -n $src ]] || keel_die "empty module argument"
		[[ -f $src ]] || keel_die "module $src: no such file"
		((${#args} < 256)) || keel_die "module $src: arguments longer than 255 bytes"
		name=${src##*/}
		[[ $name =~ ^[A-Za-z0-9._+-]+$ ]] || name=module$i
		for ((j = 0; j < i; j++)); do
			if [[ ${KEEL_MOD_NAME[j]} == "$name" && ${KEEL_MOD_SRC[j]} -ef $src ]]; then
				break # the same file again (with other arguments): one copy
			elif [[ ${KEEL_MOD_NAME[j]} == "$name" ]]; then
				name=$i-$name
			fi
		done
		KEEL_MOD_SRC[i]=$src KEEL_MOD_NAME[i]=$name KEEL_MOD_ARGS[i]=$args
		i=$((i + 1))
	done
}

# keel_stage DIR EFI_NAME CMDLINE [MODULE...]: keel.efi (as EFI_NAME), keel.elf, modules/ and a
# keel.cfg naming them, all in DIR: everything keel.efi needs beside itself.
keel_stage() {
	local dir=$1 efi_name=$2 cmdline=$3 i
	shift 3
	keel_check_cmdline "$cmdline"
	[[ -f $KEEL_EFI ]] || keel_die "$KEEL_EFI missing (make build/keel.efi)"
	[[ -f $KEEL_ELF ]] || keel_die "$KEEL_ELF missing (make build/keel.elf)"
	keel_modules "$@"
	mkdir -p "$dir"
	cp "$KEEL_EFI" "$dir/$efi_name"
	cp "$KEEL_ELF" "$dir/keel.elf"
	{
		echo "# Keel boot configuration, read by keel.efi (format: boot/efi/README.md)."
		echo "kernel=keel.elf"
		echo "cmdline=$cmdline"
	} >"$dir/keel.cfg"
	for i in "${!KEEL_MOD_SRC[@]}"; do
		mkdir -p "$dir/modules"
		cp "${KEEL_MOD_SRC[i]}" "$dir/modules/${KEEL_MOD_NAME[i]}"
		echo "module=modules/${KEEL_MOD_NAME[i]}${KEEL_MOD_ARGS[i]:+ ${KEEL_MOD_ARGS[i]}}" \
			>>"$dir/keel.cfg"
	done
}

# keel_fat_image OUT DIR: a FAT file system image holding DIR's contents, sized to them.
keel_fat_image() {
	local out=$1 dir=$2 kib
	# Whole 4 KiB clusters per file and directory, a quarter more for FATs and directory
	# entries, and 1 MiB to spare; mkfs.fat picks FAT12/16/32 from the size.
	kib=$(find "$dir" -mindepth 1 \( -type f -printf '%s\n' -o -type d -printf '4096\n' \) |
		awk '{ k += int(($1 + 4095) / 4096) * 4 } END { print int(k * 5 / 4) + 1024 }')
	((kib >= 2048)) || kib=2048
	rm -f "$out"
	mkfs.fat -C -n KEEL "$out" "$kib" >/dev/null || keel_die "mkfs.fat failed for $out"
	if [[ -n $(ls -A "$dir") ]]; then
		mcopy -s -Q -i "$out" "$dir"/* ::/ || keel_die "mcopy into $out failed"
	fi
}
