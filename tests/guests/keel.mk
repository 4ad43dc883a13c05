# The guest suite under Keel (pytest + pexpect; QEMU TCG with AMD-V).
.PHONY: check-svm
check-svm: $(B)/keel.elf $(B)/keel.efi $(B)/tests/corrupt.elf guest-tests $(B)/guests/realmode.bin
	cd tests/guests && $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) test_svm.py test_bochs.py

.PHONY: bench
bench: $(B)/keel.elf $(B)/guests/bench_exits.elf
	$(PYTHON) tests/bench/bench.py
