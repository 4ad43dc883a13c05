# Keel — build, run and test. `make help` lists the targets.
# All tools come from Debian packages: `make deps` installs what is missing.

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
LD := ld
OBJCOPY := objcopy
NM := nm
PYTHON := /usr/bin/python3
QEMU := qemu-system-x86_64
# `make DEBUG=1`: ASSERT() live and spinlocks that check their owner (KEEL_DEBUG), built in
# build-debug so its objects never mix with the normal build's.
ifeq ($(DEBUG),1)
B := build-debug
else
B := build
endif
# `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

# ---------------------------------------------------------------------------------------------
# Kernel image
# ---------------------------------------------------------------------------------------------
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wmissing-declarations -Wpointer-arith -Wundef -Wvla -Wwrite-strings -Wcast-qual \
	-Wformat=2 -Wimplicit-fallthrough -Wno-unused-parameter
KCFLAGS := -std=gnu11 -ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie \
	-mno-red-zone -mcmodel=kernel -mno-sse -mno-sse2 -mno-mmx -mno-avx -mno-3dnow \
	-mgeneral-regs-only -fno-omit-frame-pointer -fno-common -fno-strict-aliasing \
	-O2 -g -I. -MMD -MP $(WARNINGS)
ifeq ($(DEBUG),1)
KCFLAGS += -DKEEL_DEBUG
endif
# Retpolines: every indirect call and jump goes through __x86_indirect_thunk_<reg>, and in the gcc
# build every RET through __x86_return_thunk (arch/x86/thunks.S); spec_init() turns them into
# plain branches on CPUs that do not need them. Debian's clang 14 has no return thunks.
ifneq ($(findstring clang,$(CC)),)
KCFLAGS += -Wno-gnu-variable-sized-type-not-at-end -mretpoline-external-thunk -DKEEL_RETURN_THUNKS=0
else
KCFLAGS += -mindirect-branch=thunk-extern -mindirect-branch-register -mfunction-return=thunk-extern \
	-fcf-protection=none -DKEEL_RETURN_THUNKS=1
endif
KASFLAGS := -I. -D__ASSEMBLER__ -MMD -MP -g
KLDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments

KSRC_DIRS := boot arch/x86 arch/x86/svm arch/x86/vmx kernel kernel/lib kernel/mm drivers drivers/acpi vmm vmm/dev
KSRCS := $(filter-out kernel/ksyms_empty.S,$(foreach d,$(KSRC_DIRS),$(wildcard $(d)/*.c) $(wildcard $(d)/*.S)))
KOBJS := $(patsubst %,$(B)/k/%.o,$(KSRCS))
.DEFAULT_GOAL := all
include drivers/font.mk

.PHONY: all
# keel-demo.iso (make run's) is built by make run and make check-stack: it needs the management VM.
all: $(B)/keel.elf $(B)/keel.efi $(B)/keel.iso

# The compiler and its flags: objects built with others (another CC, retpolines or not) are rebuilt.
$(B)/k/flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CC) $(KCFLAGS) $(KASFLAGS)' | cmp -s - $@ || echo '$(CC) $(KCFLAGS) $(KASFLAGS)' > $@
.PHONY: FORCE
FORCE:

$(B)/k/%.c.o: %.c $(B)/k/flags
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(B)/k/%.S.o: %.S $(B)/k/flags
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(KASFLAGS) -c $< -o $@

# Two-pass link: the first pass fixes every address, the second adds the symbol table used for
# backtraces in a section placed last, so no other symbol moves (checked below; only the
# image-end markers after it may).
$(B)/k/ksyms0.o: kernel/ksyms_empty.S
	@mkdir -p $(dir $@)
	$(CC) $(KASFLAGS) -c $< -o $@

$(B)/keel.pass1.elf: $(KOBJS) $(B)/k/ksyms0.o linker.ld
	$(LD) $(KLDFLAGS) -T linker.ld -o $@ $(KOBJS) $(B)/k/ksyms0.o

$(B)/k/ksyms.S: $(B)/keel.pass1.elf kernel/ksyms.awk
	$(NM) -n $< | awk -f kernel/ksyms.awk > $@

$(B)/k/ksyms.o: $(B)/k/ksyms.S
	$(CC) $(KASFLAGS) -c $< -o $@

# keel64.elf keeps every symbol and debug section for gdb; keel.elf is the ELF32 copy that QEMU's
# -kernel (multiboot1) accepts and GRUB's multiboot2 loads just as well.
$(B)/keel64.elf: $(KOBJS) $(B)/k/ksyms.o linker.ld
	$(LD) $(KLDFLAGS) -T linker.ld -o $@ $(KOBJS) $(B)/k/ksyms.o
	@$(NM) -n $(B)/keel.pass1.elf | grep -v -e ksyms -e _image_end > $(B)/k/syms1.txt
	@$(NM) -n $@ | grep -v -e ksyms -e _image_end > $(B)/k/syms2.txt
	@cmp -s $(B)/k/syms1.txt $(B)/k/syms2.txt || { echo "ksyms: symbol addresses moved between link passes"; exit 1; }

$(B)/keel.elf: $(B)/keel64.elf
	$(OBJCOPY) -O elf32-i386 --strip-debug $< $@

-include $(shell find $(B)/k -name '*.d' 2>/dev/null)

include boot/efi/efi.mk
include guests/linux/linux.mk
include guests/mgmt/mgmt.mk
include iso/iso.mk
include guests/tests/guests.mk

# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
include tests/unit/unit.mk
include tests/boot/boot.mk
include tests/guests/keel.mk
include tests/fuzz/fuzz.mk

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
.PHONY: test format check-format
# What CI runs, and why each is there (the one place that says so; README.md "Tests" points here).
# CI (.ci/run) builds with clang and with gcc, then runs `make test`, which makes, in this order:
#   check-format       the tree keeps .clang-format's style
#   check-unit         real sources on the host under ASan+UBSan: allocators, parsers, scheduler
#                      policy, device models, loaders; the cheapest place to catch a logic bug
#   check-fuzz         libFuzzer on the MMIO decoder and emulator, which parse guest-controlled bytes,
#                      and on the management interface's argument checks (keel.ko's and Keel's)
#   check-bench        the exit microbenchmark under -icount against tests/bench/budgets.txt, and
#                      the I/O-request round trips to a sleeping device model against
#                      tests/bench/ioreq_budgets.txt: deterministic instruction counts, so an
#                      exit-path or device-model wake-up regression fails CI
#   check-boot         every boot path x 1/2/4 CPUs x memory sizes x AMD/Intel CPU models; panics,
#                      bad command lines and modules
#   check-guests-bare  the test guests on bare QEMU, so a broken guest is not taken for a Keel bug
#   check-svm          the guest suite under the SVM backend (QEMU TCG, Bochs ryzen)
#   check-sched        the scheduler under load: weights, caps, pinning, idle, SMP guests, console
#   check-vmx          the guest suite under the VT-x backend on Bochs (QEMU TCG has no VT-x), two
#                      Bochs at once (pytest-xdist: Bochs is one thread, CI has two cores)
#   check-linux        Debian's kernel under Keel on SVM: the guest users run
#   check-linux-vmx    the same kernel under VT-x on Bochs (slow), and beside it the management VM's
#                      basic I/O-request round trip on VT-x: keel.ko loads with VMCALL, keel-iotest
#                      claims and serves a guest created at run time (both directions, doorbells,
#                      MSIs, INTx), with a quiet boot and a small initramfs (test_mgmt_io_bochs.py)
#   check-mgmt         the management VM (SVM): keel.ko built against the stock kernel's headers;
#                      VMs created, run and destroyed at run time (200 cycles, memory back); I/O
#                      requests served by a device model on 2 vCPUs, doorbells, MSI and INTx, the
#                      device model killed and the management VM ending; the memory window and its
#                      revocation; the management hypercalls refused to other VMs
#   check-stack        the whole stack (SVM): make run's demo ISO driven from the management VM's
#                      shell, and the README's second guest typed there (test_demo.py); two Linux
#                      guests created by keelctl from config files, keel-dm serving each its virtio
#                      disk, network card (one bridge: they ping each other and move 4 MiB over
#                      TCP), entropy and console; one destroyed while the other serves; a hostile
#                      virtio driver, a killed keel-dm, 50 VMs with keel-dm without a leak
#                      (test_mgmt_dm.py). Budget: 8 minutes on CI's machine (about 3 + 5); the dm
#                      run's QEMU is stopped at 15
# and prints each target's wall time at the end (tests/timed.sh), also when one fails.
# Then CI runs `make DEBUG=1 check-svm`: the SVM suite on the debug build (build-debug/), with
# ASSERT() and the spinlocks' owner checks live, and the boot test that the owner check catches
# a CPU taking a lock twice (fault=relock). Not in CI: check-vmx-full (a 1.5 GiB VM on
# Bochs, about 50 s more), check-mgmt-bochs (the management VM's window on Bochs VT-x with two
# CPUs, and the I/O round trip with the kernel's boot messages and the full initramfs: 5-15 min
# each), check-stack-bochs (a Linux guest with its disk and network card from a config file, on
# Bochs VT-x: 11-18 min) and bench (measurements).
TEST_TARGETS := check-format check-unit check-fuzz check-bench check-boot check-guests-bare check-svm check-sched check-vmx \
	check-linux check-linux-vmx check-mgmt check-stack
test:
	+$(Q)MAKE="$(MAKE)" tests/timed.sh $(B)/test-times.txt \
		$(if $(findstring k,$(firstword -$(MAKEFLAGS))),1,0) $(TEST_TARGETS)

format:
	clang-format -i $(FORMAT_FILES)

# An empty list (not a git checkout, or git missing) must fail, not pass having checked nothing.
check-format:
	@test -n "$(strip $(FORMAT_FILES))" || { echo "check-format: git ls-files found no C sources to check"; exit 1; }
	@clang-format --dry-run -Werror $(FORMAT_FILES) && echo "check-format: $(words $(FORMAT_FILES)) files formatted"


# ---------------------------------------------------------------------------------------------
# Running, dependencies, housekeeping
# ---------------------------------------------------------------------------------------------
QEMU_CPU ?= EPYC,+svm,+npt
SMP ?= 2
MEM ?= 1G
CMDLINE ?=
# QEMU's own escape moves from Ctrl-A (Keel's console uses Ctrl-A three times) to Ctrl-T: Ctrl-T x quits.
QEMU_SERIAL := -serial mon:stdio -echr 20
.PHONY: run run-kernel run-guest
run: deps $(B)/keel-demo.iso
	$(QEMU) -accel tcg -cpu $(QEMU_CPU) -smp $(SMP) -m $(MEM) -cdrom $(B)/keel-demo.iso \
		$(QEMU_SERIAL) -display none -net none -no-reboot

run-kernel: deps $(B)/keel.elf
	$(QEMU) -accel tcg -cpu $(QEMU_CPU) -smp $(SMP) -m $(MEM) -kernel $(B)/keel.elf \
		-append "$(CMDLINE)" $(QEMU_SERIAL) -display none -net none -no-reboot

# One guest kernel (multiboot ELF) under Keel: make run-guest GUEST=path [ARGS="..."] [MEM=64M]
GUEST_MEM = $(if $(filter command line,$(origin MEM)),$(MEM),64M)
run-guest: deps $(B)/keel.elf
	@test -n "$(GUEST)" || { echo "usage: make run-guest GUEST=path/to/kernel.elf [ARGS=...] [MEM=64M]"; exit 1; }
	$(QEMU) -accel tcg -cpu $(QEMU_CPU) -smp $(SMP) -m 1G -kernel $(B)/keel.elf \
		-initrd "$(GUEST) $(ARGS)" -append "vm=guest,module=0,mem=$(GUEST_MEM) on_finish=poweroff $(CMDLINE)" \
		$(QEMU_SERIAL) -display none -net none -no-reboot

# Debian packages the build, run and tests need.
DEB_PACKAGES := gcc libc6-dev libelf1 clang lld make binutils nasm gnu-efi qemu-system-x86 ovmf grub-pc-bin \
	grub-efi-amd64-bin grub-common xorriso mtools dosfstools libcmocka-dev python3-pytest \
	python3-pexpect python3-pytest-xdist kbd console-setup-linux clang-format bochs bochsbios vgabios \
	libclang-rt-14-dev acpica-tools e2fsprogs
.PHONY: deps
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "deps: installing $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "deps: missing Debian packages; run: sudo apt-get install $$missing"; exit 1; \
		fi; \
	fi

.PHONY: clean help
clean:
	rm -rf $(B)

help:
	@echo "make            build build/keel.elf, build/keel.efi, build/keel.iso"
	@echo "make run        build and boot keel.iso in QEMU (serial console on this terminal)"
	@echo "make run-kernel boot build/keel.elf with qemu -kernel (CMDLINE=... SMP=... MEM=...)"
	@echo "make test       every test CI runs, one target after another, with their times (see test: above)"
	@echo "make DEBUG=1    the debug build in build-debug/: ASSERT() and spinlock owner checks live"
	@echo "make check-unit host unit tests (cmocka, ASan+UBSan)"
	@echo "make check-boot boot-path tests in QEMU TCG"
	@echo "make check-sched the scheduler under load, SMP guests and the console (QEMU, AMD-V)"
	@echo "make check-linux Debian's kernel as a guest (QEMU, AMD-V)"
	@echo "make check-vmx  the guest suite under the VT-x backend on Bochs (corei7_skylake_x)"
	@echo "make run-guest  GUEST=kernel.elf [ARGS=...] [MEM=64M]: one multiboot guest under Keel in QEMU"
	@echo "make run-efi    boot build/keel-efi.img (keel.efi as BOOTX64.EFI) under OVMF"
	@echo "make run-ovmf   boot build/keel.iso under OVMF"
	@echo "make format     apply .clang-format (make check-format checks it)"
	@echo "make deps       install missing Debian packages"
