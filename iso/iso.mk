# build/keel.iso: hybrid BIOS + UEFI ISO made by iso/mkiso.sh (grub-mkrescue + xorriso). Its
# staging tree stays in build/iso/ for inspection. Included by the top-level Makefile.
#   make KEEL_CMDLINE="console=com1 loglevel=debug" run   rebuilds the ISO with that command line
KEEL_GRUB_TIMEOUT ?= 1

ISO_DEPS := iso/mkiso.sh iso/xorriso-esp.sh iso/boot/grub/grub.cfg.in boot/efi/esp-lib.sh

$(B)/keel.iso: $(B)/keel.elf $(B)/keel.efi $(B)/keel-cmdline.txt $(ISO_DEPS)
	KEEL_ISO_STAGE=$(B)/iso KEEL_GRUB_TIMEOUT=$(KEEL_GRUB_TIMEOUT) KEEL_EFI=$(B)/keel.efi \
		KEEL_ELF=$(B)/keel.elf iso/mkiso.sh $@ "$$KEEL_CMDLINE" >/dev/null

# build/keel-demo.iso, what `make run` boots: an SMP guest that starts its second vCPU and passes,
# an echo guest to type to (Ctrl-A three times moves the console's input to it), and a CPU hog
# with two vCPUs capped at 50% of one CPU in total (`top` on the console shows it), and Debian's
# kernel with the test initramfs, which runs its checks and then a shell on its COM1 (Ctrl-A
# three times more; `exit` powers it off). Linux runs on CPU 0: under QEMU's multi-threaded TCG a
# Linux VM on another CPU can corrupt CPU 0's SVM state (docs/testing.md).
DEMO_CMDLINE := vm=hello,module=0,mem=16M,vcpus=2 vm=echo,module=1,mem=16M vm=hog,module=2,mem=16M,vcpus=2,cap=50 \
	vm=linux,module=3,initrd=4,boot=linux,mem=160M,cpus=0
DEMO_GUESTS := $(B)/guests/smp_hello.elf $(B)/guests/echo.elf $(B)/guests/spin.elf $(LINUX_GUEST)

$(B)/keel-demo.iso: $(B)/keel.elf $(B)/keel.efi $(ISO_DEPS) $(DEMO_GUESTS)
	KEEL_ISO_STAGE=$(B)/iso-demo KEEL_GRUB_TIMEOUT=$(KEEL_GRUB_TIMEOUT) KEEL_EFI=$(B)/keel.efi \
		KEEL_ELF=$(B)/keel.elf iso/mkiso.sh $@ "$(DEMO_CMDLINE) $$KEEL_CMDLINE" \
		"$(B)/guests/smp_hello.elf cpus=2" $(B)/guests/echo.elf "$(B)/guests/spin.elf cpus=2" \
		"$(LINUX_DIR)/vmlinuz console=ttyS0 quiet keeltest=shell" $(LINUX_DIR)/initramfs.cpio.gz >/dev/null
