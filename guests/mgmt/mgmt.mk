# The management VM (guests/mgmt/): keel.ko built against Debian's headers of exactly the Linux
# guest's kernel, keelctl and libkeel, and its initramfs. Included by the top-level Makefile.
#   make mgmt-guest   $(B)/mgmt/keel.ko, keelctl, initramfs.cpio.gz (headers .debs cached there)
#   make check-mgmt   tests/guests/test_mgmt.py: the module on the stock kernel under Keel (SVM)
MGMT_DIR := $(B)/mgmt
MGMT_GUEST := $(MGMT_DIR)/keel.ko $(MGMT_DIR)/keelctl $(MGMT_DIR)/initramfs.cpio.gz
MGMT_INPUTS := guests/mgmt/mkmgmt.sh guests/mgmt/init $(wildcard guests/mgmt/keel/* guests/mgmt/keel/compat/*) \
	$(wildcard guests/mgmt/tools/*.[ch]) vmm/public/keel_hypercall.h guests/linux/mkcpio.py guests/linux/debs.sh

.PHONY: mgmt-guest check-mgmt
mgmt-guest: $(MGMT_GUEST)

# Grouped target: one run of the script makes all three.
$(MGMT_GUEST) &: $(MGMT_INPUTS) $(LINUX_GUEST)
	@echo "  MKMGMT  $(MGMT_DIR)"
	$(Q)PYTHON=$(PYTHON) bash guests/mgmt/mkmgmt.sh $(MGMT_DIR) $(LINUX_DIR)

check-mgmt: $(B)/keel.elf guest-tests $(LINUX_GUEST) $(MGMT_GUEST)
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) test_mgmt.py
