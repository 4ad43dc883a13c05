# build/keel.iso: hybrid BIOS + UEFI ISO made by iso/mkiso.sh (grub-mkrescue + xorriso). Its
# staging tree stays in build/iso/ for inspection. Included by the top-level Makefile.
#   make KEEL_CMDLINE="console=com1 loglevel=debug" run   rebuilds the ISO with that command line
KEEL_GRUB_TIMEOUT ?= 1

ISO_DEPS := iso/mkiso.sh iso/xorriso-esp.sh iso/boot/grub/grub.cfg.in boot/efi/esp-lib.sh

$(B)/keel.iso: $(B)/keel.elf $(B)/keel.efi $(B)/keel-cmdline.txt $(ISO_DEPS)
	KEEL_ISO_STAGE=$(B)/iso KEEL_GRUB_TIMEOUT=$(KEEL_GRUB_TIMEOUT) KEEL_EFI=$(B)/keel.efi \
		KEEL_ELF=$(B)/keel.elf iso/mkiso.sh $@ "$$KEEL_CMDLINE" >/dev/null

# build/keel-demo.iso, what `make run` boots: the management VM (Debian's stock kernel, keel.ko,
# keelctl and keel-dm in build/mgmt/initramfs.cpio.gz) on CPU 0, which at start creates the VM
# "demo" from a config file, with a virtio disk and a network card on a bridge
# (guests/mgmt/demo.sh), then gives a shell on its COM1 (Ctrl-A three times on Keel's console).
# Linux runs on CPU 0: under QEMU's multi-threaded TCG a Linux VM on another CPU can corrupt CPU
# 0's SVM state (docs/testing.md). The scheduler's demo guests boot in tests/guests/test_sched.py.
DEMO_CMDLINE := vm=mgmt,module=0,initrd=1,boot=linux,mem=256M,vcpus=2,cpus=0,mgmt
DEMO_GUESTS := $(LINUX_GUEST) $(MGMT_GUEST)

$(B)/keel-demo.iso: $(B)/keel.elf $(B)/keel.efi $(ISO_DEPS) $(DEMO_GUESTS)
	KEEL_ISO_STAGE=$(B)/iso-demo KEEL_GRUB_TIMEOUT=$(KEEL_GRUB_TIMEOUT) KEEL_EFI=$(B)/keel.efi \
		KEEL_ELF=$(B)/keel.elf iso/mkiso.sh $@ "$(DEMO_CMDLINE) $$KEEL_CMDLINE" \
		"$(LINUX_DIR)/vmlinuz console=ttyS0 quiet keeltest=demo" $(MGMT_DIR)/initramfs.cpio.gz >/dev/null
