# libFuzzer targets (clang, Debian package libclang-rt-14-dev). `make check-fuzz` builds them and
# runs each for FUZZ_TIME seconds from a small seed corpus generated in the build directory.
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_MGMT_TIME ?= 30
FUZZ_DM_TIME ?= 20
FUZZ_CFG_TIME ?= 10
FUZZ_LOOP_TIME ?= 10
FUZZ_CFLAGS := -std=gnu11 -g -O1 -I. -DKEEL_HOST_TEST -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Wall -Wextra -Werror -Wshadow \
	-Wno-unused-parameter

# (tests/unit/ioreq_stub.c: the fuzzed VM has no device model, so nothing is claimed.)
FUZZ_MMIO_SRCS := tests/fuzz/fuzz_mmio.c vmm/insn.c vmm/mmio.c vmm/emul_mem.c vmm/exit_io.c vmm/guest_mem.c \
	tests/unit/ioreq_stub.c

$(B)/fuzz/fuzz_mmio: $(FUZZ_MMIO_SRCS) $(wildcard */*.h */*/*.h */*/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_MMIO_SRCS)

# The management interface's argument checks: keel.ko's (its own source files) and Keel's.
FUZZ_MGMT_SRCS := tests/fuzz/fuzz_mgmt_abi.c vmm/mgmt_abi.c vmm/ioreq_check.c \
	$(filter-out %/keel_main.c %/keel_vm.c %/keel_ioreq.c %/keel_window.c,$(wildcard guests/mgmt/keel/keel_abi*.c))

$(B)/fuzz/fuzz_mgmt_abi: $(FUZZ_MGMT_SRCS) $(wildcard */*.h */*/*.h */*/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iguests/mgmt/keel -Ivmm/public -o $@ $(FUZZ_MGMT_SRCS)

# keel-dm's virtqueues and devices over rings the fuzzer writes (tests/fuzz/fuzz_virtq.c),
# set up by the unit tests' fake driver; vmm/dev/vpci_dev.c is the PCI function model keel-dm uses.
FUZZ_DM_SRCS := tests/fuzz/fuzz_virtq.c tests/unit/dm_driver.c vmm/dev/vpci_dev.c \
	$(filter-out %/keel_dm_main.c,$(wildcard guests/mgmt/dm/*.c))

$(B)/fuzz/seeds-dm/.stamp: tests/fuzz/virtq_seeds.py
	$(Q)$(PYTHON) tests/fuzz/virtq_seeds.py $(dir $@)
	@touch $@

$(B)/fuzz/fuzz_virtq: $(FUZZ_DM_SRCS) $(wildcard */*.h */*/*.h */*/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/unit -o $@ $(FUZZ_DM_SRCS)

# keel-dm's request dispatch (tests/fuzz/fuzz_dm_loop.c): the loop core over a fake libkeel. The
# seed programs the first function's BARs and COMMAND through its configuration claim, then
# reads and writes through the claims that appear, and rings every doorbell.
FUZZ_LOOP_SRCS := tests/fuzz/fuzz_dm_loop.c vmm/dev/vpci_dev.c vmm/ioreq_check.c \
	$(filter-out %/keel_dm_main.c,$(wildcard guests/mgmt/dm/*.c))

$(B)/fuzz/fuzz_dm_loop: $(FUZZ_LOOP_SRCS) $(wildcard */*.h */*/*.h */*/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_LOOP_SRCS)

$(B)/fuzz/seeds-loop/.stamp:
	@mkdir -p $(dir $@)
	$(Q)$(PYTHON) -c 'import struct, sys; rec = lambda t, d, s, c, a, v: struct.pack("<BBBBIQ", t, d, s, c, a, v); \
		open(sys.argv[1] + "seed-bars", "wb").write(b"".join([rec(2, 4, 4, 0xff, 0x10, 0xc000), \
		rec(2, 4, 4, 0xff, 0x18, 0xe0000000), rec(2, 4, 4, 0xff, 0x1c, 0), rec(2, 4, 2, 0xff, 0x04, 7), \
		rec(1, 5, 1, 0xff, 0x14, 0), rec(1, 4, 1, 0xff, 0x14, 0xf), rec(0, 5, 2, 0xff, 0, 0), \
		rec(1, 5, 1, 0xff, 0x1000, 0), rec(3, 0, 0, 0, 0, 2**64 - 1)]))' $(dir $@)
	@touch $@

# keelctl create FILE's config parser (guests/mgmt/tools/keelcfg.c); seeds in tests/fuzz/cfg_seeds/.
FUZZ_CFG_SRCS := tests/fuzz/fuzz_keelcfg.c guests/mgmt/tools/keelcfg.c

$(B)/fuzz/fuzz_keelcfg: $(FUZZ_CFG_SRCS) $(wildcard */*.h */*/*.h */*/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iguests/mgmt/tools -Ivmm/public -o $@ $(FUZZ_CFG_SRCS)

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
check-fuzz: $(B)/fuzz/fuzz_mmio $(B)/fuzz/seeds/.stamp $(B)/fuzz/fuzz_mgmt_abi $(B)/fuzz/fuzz_virtq \
	$(B)/fuzz/seeds-dm/.stamp $(B)/fuzz/fuzz_keelcfg $(B)/fuzz/fuzz_dm_loop $(B)/fuzz/seeds-loop/.stamp
	@mkdir -p $(B)/fuzz/corpus
	@echo "== fuzz: fuzz_mmio for $(FUZZ_TIME)s"
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(B)/fuzz/fuzz_mmio -max_total_time=$(FUZZ_TIME) -max_len=512 -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus $(B)/fuzz/seeds
	@mkdir -p $(B)/fuzz/corpus-mgmt
	@echo "== fuzz: fuzz_mgmt_abi for $(FUZZ_MGMT_TIME)s"
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(B)/fuzz/fuzz_mgmt_abi -max_total_time=$(FUZZ_MGMT_TIME) -max_len=1200 -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz/mgmt- $(B)/fuzz/corpus-mgmt
	@mkdir -p $(B)/fuzz/corpus-dm
	@echo "== fuzz: fuzz_virtq for $(FUZZ_DM_TIME)s"
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(B)/fuzz/fuzz_virtq -max_total_time=$(FUZZ_DM_TIME) -max_len=4096 -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz/dm- $(B)/fuzz/corpus-dm $(B)/fuzz/seeds-dm
	@mkdir -p $(B)/fuzz/corpus-loop
	@echo "== fuzz: fuzz_dm_loop for $(FUZZ_LOOP_TIME)s"
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(B)/fuzz/fuzz_dm_loop -max_total_time=$(FUZZ_LOOP_TIME) -max_len=1024 -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz/loop- $(B)/fuzz/corpus-loop $(B)/fuzz/seeds-loop
	@mkdir -p $(B)/fuzz/corpus-cfg
	@echo "== fuzz: fuzz_keelcfg for $(FUZZ_CFG_TIME)s"
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(B)/fuzz/fuzz_keelcfg -max_total_time=$(FUZZ_CFG_TIME) -max_len=4096 -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz/cfg- $(B)/fuzz/corpus-cfg tests/fuzz/cfg_seeds
