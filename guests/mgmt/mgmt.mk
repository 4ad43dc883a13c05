# The management VM (guests/mgmt/): keel.ko built against Debian's headers of exactly the Linux
# guest's kernel, keelctl and libkeel, and its initramfs. Included by the top-level Makefile.
#   make mgmt-guest   $(B)/mgmt/keel.ko, keelctl, initramfs.cpio.gz, initramfs-io.cpio.gz (headers
#                     .debs cached there)
#   make check-mgmt   tests/guests/test_mgmt*.py: the module on the stock kernel under Keel (SVM)
#   make check-stack  tests/guests/test_mgmt_dm.py: keelctl, keel-dm and two Linux guests (SVM)
#   make check-mgmt-bochs  the memory window and the I/O-request round trip on Bochs VT-x with the
#                          kernel's boot messages (slow: not part of make test; its quiet basic
#                          round trip runs in make check-linux-vmx)
#   make check-stack-bochs  the whole stack on Bochs VT-x: the management VM creates a Linux guest
#                           with a virtio disk and a network card on a bridge from a config file
#                           (tests/guests/test_mgmt_dm_bochs.py; 11-18 minutes: not in make test)
MGMT_DIR := $(B)/mgmt
MGMT_GUEST := $(MGMT_DIR)/keel.ko $(MGMT_DIR)/keelctl $(MGMT_DIR)/initramfs.cpio.gz $(MGMT_DIR)/initramfs-io.cpio.gz
# Test guests the management VM creates at run time, carried in its initramfs.
MGMT_GUESTS := $(B)/guests/idle.elf
MGMT_GUESTS += $(B)/guests/echo.elf $(B)/guests/reset.elf $(B)/guests/triple_fault.elf
# The I/O-request test guest, created at run time by guests/mgmt/tests/ioreq.sh.
MGMT_GUESTS += $(B)/guests/ioreq.elf
# A Linux guest created at run time (vmlife.sh): Keel's Linux test kernel and initramfs.
MGMT_GUESTS += $(LINUX_GUEST)
# A Linux guest with virtio disks served by keel-dm (dm.sh): the initramfs with the kernel's virtio
# modules and an ext4 image.
MGMT_GUESTS += $(LINUX_DIR)/initramfs-virtio.cpio.gz $(LINUX_DIR)/disk-ext4.img $(B)/guests/virtio_hostile.elf
# initramfs-io.cpio.gz carries only the I/O-request test guest: about 3 MiB where the full one
# has 11 (the Linux guest), for the basic round trip on Bochs (tests/guests/test_mgmt_io_bochs.py).
MGMT_IO_GUESTS := $(B)/guests/ioreq.elf
MGMT_INPUTS := $(wildcard guests/mgmt/tests/*.sh) guests/mgmt/lib/keeltest.sh guests/mgmt/demo.sh guests/mgmt/demo.cfg guests/mgmt/mkmgmt.sh guests/mgmt/init $(wildcard guests/mgmt/keel/* guests/mgmt/keel/compat/*) \
	$(wildcard guests/mgmt/tools/*.[ch]) $(wildcard guests/mgmt/dm/*) vmm/dev/vpci_dev.c vmm/dev/vpci_dev.h \
	kernel/types.h kernel/lib/string.h \
	vmm/public/keel_hypercall.h guests/linux/mkcpio.py guests/linux/debs.sh guests/linux/kmods.py

# The guest tests of check-mgmt (tests/guests/).
MGMT_TESTS := test_mgmt.py test_mgmt_vm.py test_mgmt_window.py test_mgmt_io.py
# The whole stack of issue 15 (make check-stack): keelctl, keel-dm and Linux guests with virtio
# disks and network cards on a bridge (test_mgmt_dm.py).
STACK_TESTS := test_demo.py test_mgmt_dm.py

.PHONY: mgmt-guest check-mgmt check-stack check-mgmt-bochs check-stack-bochs
mgmt-guest: $(MGMT_GUEST)

# Grouped target: one run of the script makes all three.
$(MGMT_GUEST) &: $(MGMT_INPUTS) $(LINUX_GUEST) $(MGMT_GUESTS)
	@echo "  MKMGMT  $(MGMT_DIR)"
	$(Q)PYTHON=$(PYTHON) MGMT_GUESTS="$(abspath $(MGMT_GUESTS))" MGMT_IO_GUESTS="$(abspath $(MGMT_IO_GUESTS))" bash guests/mgmt/mkmgmt.sh $(MGMT_DIR) $(LINUX_DIR)

check-mgmt: $(B)/keel.elf guest-tests $(LINUX_GUEST) $(MGMT_GUEST)
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) $(MGMT_TESTS)
check-stack: $(B)/keel.elf $(B)/keel-demo.iso guest-tests $(LINUX_GUEST) $(MGMT_GUEST)
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q --durations=0 -p no:cacheprovider $(PYTEST_ARGS) $(STACK_TESTS)

# Slow (minutes each: the management VM's Linux on Bochs, two at once): not part of check-mgmt or
# make test. The quiet basic I/O round trip runs in make check-linux-vmx (make test).
check-mgmt-bochs: $(B)/keel.elf guest-tests $(LINUX_GUEST) $(MGMT_GUEST)
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q --durations=0 -p no:cacheprovider $(PYTEST_BOCHS_JOBS) \
		$(PYTEST_ARGS) test_mgmt_window_bochs.py test_mgmt_io_bochs.py::test_io_round_trip_on_bochs_vmx

# One Bochs, 645-1042 s wall (460-546 s of Bochs's CPU time) on a loaded 2-core machine: both Linux
# kernels' boots are the cost (tests/guests/test_mgmt_dm_bochs.py).
check-stack-bochs: $(B)/keel.elf guest-tests $(LINUX_GUEST) $(MGMT_GUEST)
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -s --durations=0 -p no:cacheprovider $(PYTEST_ARGS) \
		test_mgmt_dm_bochs.py
