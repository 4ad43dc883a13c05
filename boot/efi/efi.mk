# keel.efi, the UEFI loader (GNU-EFI), and build/keel-efi.img, a FAT image that UEFI firmware
# boots straight into keel.efi (\EFI\BOOT\BOOTX64.EFI). Included by the top-level Makefile.

# Kernel command line of the default images (keel.cfg in keel-efi.img and keel.iso, and the
# ISO's GRUB menu). Exported: recipes pass it on as "$$KEEL_CMDLINE", so quotes, $ and the
# like survive make and the shell.
KEEL_CMDLINE ?= console=com1
export KEEL_CMDLINE

# Rewritten only when KEEL_CMDLINE changes, so a new command line rebuilds the images.
.PHONY: keel-cmdline-check
keel-cmdline-check:
$(B)/keel-cmdline.txt: keel-cmdline-check
	@mkdir -p $(dir $@)
	@printf '%s\n' "$$KEEL_CMDLINE" | cmp -s - $@ || printf '%s\n' "$$KEEL_CMDLINE" > $@

GNUEFI_INC := /usr/include/efi
GNUEFI_LIB := /usr/lib
GNUEFI_LDS := $(GNUEFI_LIB)/elf_x86_64_efi.lds
GNUEFI_CRT0 := $(GNUEFI_LIB)/crt0-efi-x86_64.o

# -fpic: GNU-EFI's crt0 relocates the image itself (_relocate), so code must be position
# independent. -fshort-wchar: UEFI strings are UCS-2, L"" must be 16-bit. -mno-red-zone: firmware
# interrupt handlers run on our stack. GNU_EFI_USE_MS_ABI: GNU-EFI then declares firmware
# functions ms_abi and uefi_call_wrapper() is a plain call (efibind.h), so calls are type checked;
# EFI_FUNCTION_WRAPPER is not used by GNU-EFI 3.0.15's headers and so not defined.
# GNU-EFI's headers go through -isystem: they use `#if EFI_DEBUG` with EFI_DEBUG undefined and
# K&R-style prototypes, which -Wundef and -Wstrict-prototypes would reject; our files still get
# every warning in $(WARNINGS).
EFI_CFLAGS := -std=gnu11 -ffreestanding -fno-stack-protector -fpic -fshort-wchar -mno-red-zone \
	-fno-strict-aliasing -fno-common -O2 -g -I. -isystem $(GNUEFI_INC) \
	-isystem $(GNUEFI_INC)/x86_64 -DGNU_EFI_USE_MS_ABI -MMD -MP $(WARNINGS)
EFI_LDFLAGS := -nostdlib -znocombreloc -shared -Bsymbolic -T $(GNUEFI_LDS) -L$(GNUEFI_LIB)

EFI_SRCS := $(wildcard boot/efi/*.c)
EFI_OBJS := $(patsubst %.c,$(B)/efi/%.o,$(EFI_SRCS))

$(B)/efi/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(EFI_CFLAGS) -c $< -o $@

# The ELF shared object keeps symbols and debug info (gdb: add-symbol-file at the image base).
# GNU-EFI's _relocate handles only R_X86_64_RELATIVE: any other dynamic relocation would be
# left unapplied at run time, so the build refuses it.
$(B)/efi/keel.efi.so: $(EFI_OBJS) $(GNUEFI_LDS)
	$(LD) $(EFI_LDFLAGS) $(GNUEFI_CRT0) $(EFI_OBJS) -o $@ -lefi -lgnuefi
	@if readelf -rW $@ | grep -E '^[0-9a-f]+ ' | grep -v R_X86_64_RELATIVE; then \
		echo "$@: dynamic relocations other than R_X86_64_RELATIVE"; rm -f $@; exit 1; fi

$(B)/keel.efi: $(B)/efi/keel.efi.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela \
		-j '.rel.*' -j '.rela.*' -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@

$(B)/keel-efi.img: $(B)/keel.efi $(B)/keel.elf $(B)/keel-cmdline.txt boot/efi/mkimg.sh \
		boot/efi/esp-lib.sh
	KEEL_EFI=$(B)/keel.efi KEEL_ELF=$(B)/keel.elf boot/efi/mkimg.sh $@ "$$KEEL_CMDLINE" >/dev/null

all: $(B)/keel-efi.img

-include $(EFI_OBJS:.o=.d)

# Boot under OVMF (UEFI) in QEMU, serial console on this terminal: keel.efi straight from the
# FAT image, or the ISO (GRUB, multiboot2). A fresh copy of the variable store each time.
OVMF_CODE ?= /usr/share/OVMF/OVMF_CODE.fd
OVMF_VARS ?= /usr/share/OVMF/OVMF_VARS.fd
OVMF_ARGS = -drive if=pflash,format=raw,readonly=on,file=$(OVMF_CODE) \
	-drive if=pflash,format=raw,file=$(B)/ovmf-vars.fd
.PHONY: run-efi run-ovmf
run-efi: deps $(B)/keel-efi.img
	cp $(OVMF_VARS) $(B)/ovmf-vars.fd
	$(QEMU) -accel tcg -cpu $(QEMU_CPU) -smp $(SMP) -m $(MEM) $(OVMF_ARGS) \
		-drive file=$(B)/keel-efi.img,format=raw,if=ide -serial mon:stdio -display none \
		-net none -no-reboot

run-ovmf: deps $(B)/keel.iso
	cp $(OVMF_VARS) $(B)/ovmf-vars.fd
	$(QEMU) -accel tcg -cpu $(QEMU_CPU) -smp $(SMP) -m $(MEM) $(OVMF_ARGS) -cdrom $(B)/keel.iso \
		-serial mon:stdio -display none -net none -no-reboot
