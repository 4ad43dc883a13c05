#!/bin/bash
# Given to grub-mkrescue as --xorriso=: rebuilds the EFI system partition image grub-mkrescue
# made (efi.img: GRUB as \EFI\BOOT\BOOTX64.EFI) with Keel's files added as \EFI\KEEL\, sized
# to fit, then runs the real xorriso with grub-mkrescue's arguments unchanged. GRUB's own
# BOOTX64.EFI must come from the same grub-mkrescue run: it looks for the ISO by a UUID made
# from that run's time stamp.
#   KEEL_ESP_KEEL_DIR  directory whose contents become \EFI\KEEL\ (unset: efi.img untouched)
# mkiso.sh checks that the ISO's ESP really holds \EFI\KEEL\KEEL.EFI afterwards.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../boot/efi/esp-lib.sh"

# grub-mkrescue also runs xorriso to ask for its options; only the run that builds the ISO
# names grub-mkrescue's work directory, the one holding efi.img.
efi=
for arg; do
	if [[ -d $arg && -f $arg/efi.img ]]; then
		efi=$arg/efi.img
	fi
done
if [[ -n ${KEEL_ESP_KEEL_DIR:-} && -n $efi ]]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/esp"
	mcopy -s -n -i "$efi" '::/*' "$tmp/esp/" || keel_die "cannot read $efi"
	# FAT names are case-insensitive: join GRUB's "efi" directory, whatever its case.
	efidir=$(find "$tmp/esp" -mindepth 1 -maxdepth 1 -type d -iname efi -printf '%f\n' | head -n1)
	efidir=${efidir:-EFI}
	mkdir -p "$tmp/esp/$efidir/KEEL"
	cp -r "$KEEL_ESP_KEEL_DIR"/. "$tmp/esp/$efidir/KEEL/"
	keel_fat_image "$tmp/efi.img" "$tmp/esp"
	cp "$tmp/efi.img" "$efi"
fi
exec xorriso "$@"
