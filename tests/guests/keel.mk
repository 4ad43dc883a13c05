# The guest suite under Keel (pytest + pexpect; QEMU TCG with AMD-V).
.PHONY: check-svm
check-svm: $(B)/keel.elf $(B)/keel.efi $(B)/tests/corrupt.elf guest-tests $(B)/guests/realmode.bin
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) test_svm.py test_bochs.py

# The same guests under the Intel VT-x backend, on Bochs (tests/guests/test_vmx_bochs.py).
.PHONY: check-vmx
check-vmx: $(B)/keel.elf $(B)/keel.efi guest-tests $(B)/guests/realmode.bin
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) test_vmx_bochs.py

# The vCPU scheduler under load: shares by weight, caps, pinning, idle, SMP guests, the console
# (tests/guests/test_sched.py on QEMU with AMD-V; the SMP and scheduler cases on Bochs's VT-x are
# in test_vmx_bochs.py).
.PHONY: check-sched
check-sched: $(B)/keel.elf $(B)/keel-demo.iso guest-tests
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) test_sched.py

# Debian's stock kernel as a guest (tests/guests/test_linux.py on QEMU with AMD-V): 1 and 2
# vCPUs, two Linux VMs at once, a panicking and a destroyed Linux VM beside others.
.PHONY: check-linux
check-linux: $(B)/keel.elf guest-tests $(LINUX_GUEST)
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) test_linux.py

# The Linux guest under VT-x on Bochs (minutes: Bochs emulates every instruction of the boot).
.PHONY: check-linux-vmx
check-linux-vmx: $(B)/keel.elf $(B)/keel.efi $(LINUX_GUEST)
	cd tests/guests && KEEL_VMX_LINUX=1 KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -s -p no:cacheprovider \
		$(PYTEST_ARGS) test_vmx_bochs.py -k linux

# check-vmx plus the slow cases (a 1.5 GiB VM behind a 1 GiB EPT page: ~50 s more on Bochs).
.PHONY: check-vmx-full
check-vmx-full:
	KEEL_VMX_FULL=1 $(MAKE) check-vmx

.PHONY: check-bench
# The exit microbenchmark against the gates in tests/bench/budgets.txt (deterministic: -icount).
check-bench: $(B)/keel.elf $(B)/guests/bench_exits.elf
	KEEL_BUILD=$(abspath $(B)) $(PYTHON) tests/bench/bench.py check

.PHONY: bench
bench: $(B)/keel.elf $(B)/keel.efi $(B)/guests/bench_exits.elf $(LINUX_GUEST)
	KEEL_BUILD=$(abspath $(B)) $(PYTHON) tests/bench/bench.py
