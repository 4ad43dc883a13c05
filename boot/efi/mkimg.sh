#!/bin/bash
# mkimg.sh OUT.img CMDLINE [MODULE...]
#
# A FAT image that UEFI firmware boots straight into keel.efi, as a disk or USB stick would:
#   \EFI\BOOT\BOOTX64.EFI  keel.efi (the removable-media default boot path, UEFI 2.9 section 3.5)
#   \EFI\BOOT\keel.cfg     kernel=keel.elf, cmdline=CMDLINE, one module= line per MODULE
#   \EFI\BOOT\keel.elf
#   \EFI\BOOT\modules\...
# A MODULE is "host-file [arguments]" in one word. Uses build/keel.efi and build/keel.elf, or the
# files named by $KEEL_EFI and $KEEL_ELF. Prints the keel.cfg it wrote.
#   qemu-system-x86_64 -bios /usr/share/OVMF/OVMF_CODE.fd -drive file=OUT.img,format=raw,if=ide
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/esp-lib.sh"

(($# >= 2)) || keel_die "usage: $0 OUT.img CMDLINE [MODULE...]"
out=$1 cmdline=$2
shift 2

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
keel_stage "$stage/EFI/BOOT" BOOTX64.EFI "$cmdline" "$@"
mkdir -p "$(dirname "$out")"
keel_fat_image "$out.tmp" "$stage"
mv "$out.tmp" "$out"
cat "$stage/EFI/BOOT/keel.cfg"
