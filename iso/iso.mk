# build/keel.iso: hybrid BIOS + UEFI ISO made by iso/mkiso.sh (grub-mkrescue + xorriso). Its
# staging tree stays in build/iso/ for inspection. Included by the top-level Makefile.
#   make KEEL_CMDLINE="console=com1 loglevel=debug" run   rebuilds the ISO with that command line
KEEL_GRUB_TIMEOUT ?= 1

ISO_DEPS := iso/mkiso.sh iso/xorriso-esp.sh iso/boot/grub/grub.cfg.in boot/efi/esp-lib.sh

$(B)/keel.iso: $(B)/keel.elf $(B)/keel.efi $(B)/keel-cmdline.txt $(ISO_DEPS)
	KEEL_ISO_STAGE=$(B)/iso KEEL_GRUB_TIMEOUT=$(KEEL_GRUB_TIMEOUT) KEEL_EFI=$(B)/keel.efi \
		KEEL_ELF=$(B)/keel.elf iso/mkiso.sh $@ "$$KEEL_CMDLINE" >/dev/null
