# The Linux test guest (guests/linux/): Debian's stock kernel and a busybox-static initramfs whose
# /init prints keel-init: markers. Included by the top-level Makefile.
#   make linux-guest        $(B)/linux/vmlinuz and $(B)/linux/initramfs.cpio.gz (the .debs are
#                           cached in $(B)/linux/debs; `make clean` drops them with the rest of $(B))
#   make check-linux-bare   boot them on bare QEMU (no hypervisor), 2 CPUs, and check the markers
#   make linux-guest-virtio $(B)/linux/initramfs-virtio.cpio.gz (the same /init and busybox plus the
#                           stock kernel's virtio and ext4 modules, for keeltest=virtio) and
#                           $(B)/linux/disk-ext4.img; not in the default build (it reads the whole
#                           linux-image package, ~15 s)
LINUX_DIR := $(B)/linux
LINUX_GUEST := $(LINUX_DIR)/vmlinuz $(LINUX_DIR)/initramfs.cpio.gz
LINUX_INPUTS := guests/linux/mkguest.sh guests/linux/debs.sh guests/linux/mkcpio.py guests/linux/init
# Every marker a default (keeltest unset) boot must print.
LINUX_MARKERS := 'keel-init: [0-9]* cpus' 'keel-init: timer ticking on all' \
	'keel-init: file write/read ok' 'keel-init: done, powering off'

.PHONY: linux-guest linux-guest-virtio check-linux-bare
linux-guest: $(LINUX_GUEST)

# Grouped target: one run of the script makes both files, even under make -j.
$(LINUX_GUEST) &: $(LINUX_INPUTS)
	@echo "  MKGUEST $(LINUX_DIR)"
	$(Q)PYTHON=$(PYTHON) bash guests/linux/mkguest.sh $(LINUX_DIR)

# The virtio guest: its modules come from the .deb mkguest.sh fetched for vmlinuz (named in
# kernel-version and packages, written with it), so it is remade whenever the default guest is.
LINUX_VIRTIO := $(LINUX_DIR)/initramfs-virtio.cpio.gz $(LINUX_DIR)/disk-ext4.img $(LINUX_DIR)/virtio-modules
LINUX_VIRTIO_INPUTS := guests/linux/mkvirtio.sh guests/linux/kmods.py guests/linux/vbench.c $(LINUX_INPUTS) $(LINUX_GUEST)
linux-guest-virtio: $(LINUX_VIRTIO)

$(LINUX_VIRTIO) &: $(LINUX_VIRTIO_INPUTS)
	@echo "  MKVIRTIO $(LINUX_DIR)"
	$(Q)PYTHON=$(PYTHON) bash guests/linux/mkvirtio.sh $(LINUX_DIR)

check-linux-bare: $(LINUX_GUEST)
	@echo "  QEMU    linux guest (bare, 2 cpus)"
	$(Q)log=$(LINUX_DIR)/bare.log; \
	timeout 300 $(QEMU) -accel tcg -m 256M -smp 2 -kernel $(LINUX_DIR)/vmlinuz \
		-initrd $(LINUX_DIR)/initramfs.cpio.gz -append 'console=ttyS0 panic=-1' \
		-display none -serial file:$$log -monitor none -net none -no-reboot || \
		{ echo "check-linux-bare: QEMU failed or timed out, see $$log"; exit 1; }; \
	if grep -a 'keel-init: FAIL' $$log; then exit 1; fi; \
	for m in $(LINUX_MARKERS); do \
		grep -aq "$$m" $$log || { echo "check-linux-bare: no '$$m' in $$log"; exit 1; }; \
	done; \
	echo "check-linux-bare: ok ($$(cat $(LINUX_DIR)/kernel-version))"
