# The guest suite under Keel (pytest + pexpect; QEMU TCG with AMD-V).
.PHONY: check-svm
check-svm: $(B)/keel.elf $(B)/keel.efi $(B)/tests/corrupt.elf guest-tests $(B)/guests/realmode.bin
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) test_svm.py test_bochs.py

# The same guests under the Intel VT-x backend, on Bochs (tests/guests/test_vmx_bochs.py), two
# Bochs at once (PYTEST_BOCHS_JOBS).
.PHONY: check-vmx
check-vmx: $(B)/keel.elf $(B)/keel.efi guest-tests $(B)/guests/realmode.bin
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_BOCHS_JOBS) \
		$(PYTEST_ARGS) test_vmx_bochs.py

# The vCPU scheduler under load: shares by weight, caps, pinning, idle, SMP guests, the console
# (tests/guests/test_sched.py on QEMU with AMD-V; the SMP and scheduler cases on Bochs's VT-x are
# in test_vmx_bochs.py).
.PHONY: check-sched
check-sched: $(B)/keel.elf guest-tests
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) test_sched.py

# Debian's stock kernel as a guest (tests/guests/test_linux.py on QEMU with AMD-V): 1 and 2
# vCPUs, two Linux VMs at once, a panicking and a destroyed Linux VM beside others.
.PHONY: check-linux
check-linux: $(B)/keel.elf guest-tests $(LINUX_GUEST)
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) test_linux.py

# Linux under VT-x on Bochs (minutes: Bochs emulates every instruction of the boot), two Bochs at
# once: the Linux guest to its /init and poweroff, and the management VM's basic I/O-request round
# trip (test_mgmt_io_bochs.py: a quiet boot, keel.ko, a guest created and served at run time; the
# verbose run of it is in check-mgmt-bochs). --durations: each one's wall time.
.PHONY: check-linux-vmx
check-linux-vmx: $(B)/keel.elf $(B)/keel.efi guest-tests $(LINUX_GUEST) $(MGMT_GUEST)
	cd tests/guests && KEEL_VMX_LINUX=1 KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q --durations=0 -p no:cacheprovider \
		$(PYTEST_BOCHS_JOBS) $(PYTEST_ARGS) test_vmx_bochs.py::test_linux_boots_on_bochs_vmx \
		test_mgmt_io_bochs.py::test_basic_io_round_trip_on_bochs_vmx

# check-vmx plus the slow cases (a 1.5 GiB VM behind a 1 GiB EPT page: ~50 s more on Bochs).
.PHONY: check-vmx-full
check-vmx-full:
	KEEL_VMX_FULL=1 $(MAKE) check-vmx

.PHONY: check-bench
# The exit microbenchmark against the gates in tests/bench/budgets.txt, and the I/O-request round
# trips to a sleeping device model against tests/bench/ioreq_budgets.txt (deterministic: -icount).
check-bench: $(B)/keel.elf $(B)/guests/bench_exits.elf $(MGMT_GUEST) $(B)/guests/ioreq.elf
	KEEL_BUILD=$(abspath $(B)) $(PYTHON) tests/bench/bench.py check
	KEEL_BUILD=$(abspath $(B)) $(PYTHON) tests/bench/bench_ioreq.py check

.PHONY: bench
# Not gated: bench_virtio.py (the virtio benchmarks, 2.5-10 min; issue 15) boots three Linux kernels
# and its guests race their timers against the requests, so its counts vary a little run to run;
# under -icount it hung in six of nine runs (docs/virtio.md, Benchmarks), and gives up after 30 min.
bench: $(B)/keel.elf $(B)/keel.efi $(B)/guests/bench_exits.elf $(LINUX_GUEST) $(LINUX_VIRTIO) $(MGMT_GUEST) guest-tests
	KEEL_BUILD=$(abspath $(B)) $(PYTHON) tests/bench/bench.py
	KEEL_BUILD=$(abspath $(B)) $(PYTHON) tests/bench/bench_ioreq.py
	KEEL_BUILD=$(abspath $(B)) $(PYTHON) tests/bench/bench_ioreq.py --busy
	KEEL_BUILD=$(abspath $(B)) $(PYTHON) tests/bench/bench_virtio.py --reasons
