# Boot tests in QEMU TCG, driven by pytest + pexpect (Debian's python3-pytest, python3-pexpect).
# -rs: every skipped test is listed with its reason (in CI a skip fails the run: tests/skip_policy.py).
PYTEST := /usr/bin/python3 -m pytest -rs
PYTEST_ARGS ?=
# The Bochs suites (check-vmx, check-linux-vmx, check-mgmt-bochs) run two Bochs at once: Bochs
# emulates every CPU in one thread and CI has two cores. pytest-xdist (Debian's
# python3-pytest-xdist, make deps); without it they run one test at a time.
PYTEST_BOCHS_JOBS := $(if $(shell /usr/bin/python3 -c 'import xdist' 2>/dev/null && echo y),-n 2)

BOOT_TEST_DEPS := $(B)/keel.elf $(B)/keel.efi $(B)/keel.iso $(B)/keel-efi.img $(B)/tests/corrupt.elf

# A module that claims to be an ELF executable but whose program headers point past its end.
$(B)/tests/corrupt.elf: tests/boot/make_corrupt_elf.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 $< $@

.PHONY: check-boot
check-boot: $(BOOT_TEST_DEPS)
	@rm -f $(B)/boot-times.txt
	cd tests/boot && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) .
	@echo "== time from QEMU start to 'CPUs online':"; sort $(B)/boot-times.txt 2>/dev/null || true
