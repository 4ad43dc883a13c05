#!/bin/bash
# mkiso.sh OUT.iso CMDLINE [MODULE...]
#
# A hybrid BIOS + UEFI ISO (grub-mkrescue) whose GRUB menu boots keel.elf with multiboot2 and
# CMDLINE, and whose EFI system partition also holds keel.efi with a keel.cfg saying the same:
#   ISO 9660:  /boot/grub/grub.cfg  (from iso/boot/grub/grub.cfg.in)
#              /boot/keel.elf, /boot/modules/...
#              /EFI/KEEL/KEEL.EFI   (for GRUB's chainloader entry)
#   ESP:       \EFI\BOOT\BOOTX64.EFI (GRUB), \EFI\KEEL\{KEEL.EFI,keel.cfg,keel.elf,modules\}
# A MODULE is "host-file [arguments]" in one word. Uses build/keel.efi and build/keel.elf, or
# $KEEL_EFI and $KEEL_ELF. $KEEL_GRUB_TIMEOUT sets the menu timeout (default 1 s);
# KEEL_GRUB_DEFAULT=1 makes the keel.efi entry the default on UEFI (0: multiboot2, the default);
# $KEEL_ISO_STAGE keeps the staging tree there instead of in a temporary directory.
#   qemu-system-x86_64 -cdrom OUT.iso -serial stdio
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../boot/efi/esp-lib.sh"

(($# >= 2)) || keel_die "usage: $0 OUT.iso CMDLINE [MODULE...]"
out=$1 cmdline=$2
shift 2
timeout=${KEEL_GRUB_TIMEOUT:-1}
[[ $timeout =~ ^[0-9]+$ ]] || keel_die "KEEL_GRUB_TIMEOUT must be a number of seconds"
# Bochs 2.7's BIOS: GRUB's multiboot2 loader crashes inside GRUB when the kernel asks for a
# framebuffer (it never reaches Keel); multiboot (1) asks for none and boots there.
protocol=${KEEL_GRUB_PROTOCOL:-multiboot2}
case $protocol in
multiboot2) modcmd=module2 ;;
multiboot) modcmd=module ;;
*) keel_die "KEEL_GRUB_PROTOCOL must be multiboot2 or multiboot" ;;
esac
default=${KEEL_GRUB_DEFAULT:-0}
[[ $default =~ ^[01]$ ]] || keel_die "KEEL_GRUB_DEFAULT must be 0 (multiboot2) or 1 (keel.efi)"
keel_check_cmdline "$cmdline"

if [[ -n ${KEEL_ISO_STAGE:-} ]]; then
	stage=$KEEL_ISO_STAGE
	rm -rf "$stage"
	mkdir -p "$stage"
else
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
fi
tree=$stage/tree

# GRUB passes each word of a multiboot2/module2 line on, joined by one space; quoting each word
# in '' keeps GRUB from expanding $, ; and the like (a ' itself is written '\'').
grub_words() {
	local q=\'\\\'\' w out='' words
	read -ra words <<<"$1"
	for w in "${words[@]}"; do
		out+=" '${w//\'/$q}'"
	done
	printf '%s' "$out"
}
# GRUB 2.06 then escapes \, ' and " with a backslash and wraps a word containing blanks in
# double quotes (grub_create_loader_cmdline()): the kernel sees those bytes changed.
case $cmdline in *[\"\'\\]*)
	echo "${0##*/}: warning: GRUB will backslash-escape the quotes and backslashes in: $cmdline" >&2
	;;
esac

# Everything keel.efi needs, later copied into the ESP as \EFI\KEEL\ by xorriso-esp.sh.
keel_stage "$stage/esp-keel" KEEL.EFI "$cmdline" "$@"

mkdir -p "$tree/boot/grub" "$tree/EFI/KEEL"
cp "$KEEL_ELF" "$tree/boot/keel.elf"
cp "$KEEL_EFI" "$tree/EFI/KEEL/KEEL.EFI"
modlines=
for i in "${!KEEL_MOD_SRC[@]}"; do
	mkdir -p "$tree/boot/modules"
	cp "${KEEL_MOD_SRC[i]}" "$tree/boot/modules/${KEEL_MOD_NAME[i]}"
	modlines+=$'\t'"$modcmd /boot/modules/${KEEL_MOD_NAME[i]}"
	modlines+="$(grub_words "${KEEL_MOD_ARGS[i]}")"$'\n'
done
qcmdline=$(grub_words "$cmdline")

while IFS= read -r line; do
	case $line in
	*@MODULES@*) printf '%s' "$modlines" ;;
	*)
		line=${line//@TIMEOUT@/"$timeout"}
		line=${line//@DEFAULT@/"$default"}
		line=${line//@MULTIBOOT@/"$protocol"}
		printf '%s\n' "${line//@CMDLINE@/"$qcmdline"}"
		;;
	esac
done <"$here/boot/grub/grub.cfg.in" >"$tree/boot/grub/grub.cfg"

mkdir -p "$(dirname "$out")"
if ! KEEL_ESP_KEEL_DIR=$stage/esp-keel grub-mkrescue --xorriso="$here/xorriso-esp.sh" \
	-o "$out.tmp" "$tree" >"$stage/grub-mkrescue.log" 2>&1; then
	cat "$stage/grub-mkrescue.log" >&2
	rm -f "$out.tmp"
	keel_die "grub-mkrescue failed"
fi
# Older or newer grub-mkrescue versions might not hand efi.img to xorriso the way
# xorriso-esp.sh expects: check that Keel really is on the ESP.
if ! xorriso -osirrox on -indev "$out.tmp" -extract /efi.img "$stage/efi.img" >/dev/null 2>&1 ||
	! mdir -b -i "$stage/efi.img" ::/EFI/KEEL/KEEL.EFI >/dev/null 2>&1; then
	keel_die "the ISO's EFI system partition has no \\EFI\\KEEL\\KEEL.EFI (grub-mkrescue changed?)"
fi
mv "$out.tmp" "$out"
cat "$tree/boot/grub/grub.cfg"
