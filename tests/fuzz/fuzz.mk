# libFuzzer targets (clang, Debian package libclang-rt-14-dev). `make check-fuzz` builds them and
# runs each for FUZZ_TIME seconds from a small seed corpus generated in the build directory.
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_CFLAGS := -std=gnu11 -g -O1 -I. -DKEEL_HOST_TEST -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Wall -Wextra -Werror -Wshadow \
	-Wno-unused-parameter

FUZZ_MMIO_SRCS := tests/fuzz/fuzz_mmio.c vmm/insn.c vmm/mmio.c vmm/emul_mem.c vmm/exit_io.c vmm/guest_mem.c

$(B)/fuzz/fuzz_mmio: $(FUZZ_MMIO_SRCS) $(wildcard */*.h */*/*.h */*/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_MMIO_SRCS)

# Seeds: 36 bytes of vCPU state (tests/fuzz/fuzz_mmio.c) + 15 instruction bytes, one per form.
FUZZ_MMIO_SEEDS := 8b08 8908 010b 2b0b 803b80 48830bfe 81173412 f7030000008 850b 48870b 0fab0b \
	480fba333f 660fba2311 f0010b f0390b f3a5 f348a5 66ab 67f3aa f3aa a4 64a4 0fb601 c7000100000 6c f366ad 67f36e 2ef36f

$(B)/fuzz/seeds/.stamp: tests/fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	$(Q)$(PYTHON) -c 'import sys, os; d = sys.argv[1]; \
		[open(os.path.join(d, "seed-%02d-%d" % (i, m)), "wb").write(bytes([m, 0x40]) + \
		 (4).to_bytes(8, "little") + (0).to_bytes(8, "little") + (0xfee00000).to_bytes(8, "little") + \
		 (0x1234).to_bytes(8, "little") + (0x30).to_bytes(2, "little") + bytes.fromhex(h.ljust(30, "0"))) \
		 for i, h in enumerate(sys.argv[2:]) for m in (0x03, 0x41, 0x40)]' \
		$(dir $@) $(FUZZ_MMIO_SEEDS)
	@touch $@

.PHONY: check-fuzz
check-fuzz: $(B)/fuzz/fuzz_mmio $(B)/fuzz/seeds/.stamp
	@mkdir -p $(B)/fuzz/corpus
	@echo "== fuzz: fuzz_mmio for $(FUZZ_TIME)s"
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(B)/fuzz/fuzz_mmio -max_total_time=$(FUZZ_TIME) -max_len=512 -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus $(B)/fuzz/seeds
