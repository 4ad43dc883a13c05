# Test guests (guests/tests/): tiny multiboot kernels, one behaviour each, built with the kernel's
# compiler and warnings. Included by the top-level Makefile.
#   make guest-tests          every guest as $(B)/guests/<name>.elf (ELF32, multiboot1 + multiboot2)
#   make check-guests-bare    boot each on bare QEMU (no hypervisor) and check the expected outcome
# 32-bit guests link lib/entry32.S; long-mode guests link lib/entry64.S, which enters long mode
# from the same 32-bit multiboot entry, and are linked as ELF64 ($(B)/guests/elf64/<name>.elf,
# for loaders that take ELF64) then copied to ELF32 for QEMU's -kernel.
GUEST_DIR := guests/tests
GUEST_LIB := $(GUEST_DIR)/lib
# The guests, and which are long-mode: tests/guests/guestlist.py, the one list of them.
GUESTS_32 := $(shell $(PYTHON) tests/guests/guestlist.py 32)
GUESTS_64 := $(shell $(PYTHON) tests/guests/guestlist.py 64)
ifeq ($(strip $(GUESTS_32)),)
$(error tests/guests/guestlist.py listed no guests (is $(PYTHON) installed?))
endif
GUEST_ELFS := $(patsubst %,$(B)/guests/%.elf,$(GUESTS_32) $(GUESTS_64))

# The hypercall numbers and errors come from the hypervisor's own public header: of Keel's tree,
# the guests see only vmm/public/.
GUEST_CFLAGS := -std=gnu11 -ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie \
	-mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables -fno-omit-frame-pointer \
	-fno-common -fno-strict-aliasing -O2 -g -I$(GUEST_LIB) -Ivmm/public -MMD -MP $(WARNINGS)
GUEST_ASFLAGS := -I$(GUEST_LIB) -D__ASSEMBLER__ -MMD -MP -g
GUEST_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments \
	-T $(GUEST_LIB)/guest.ld

GUEST_LIB_C := console runtime trap pic hypercall paging string
GUEST_LIB32_OBJS := $(patsubst %,$(B)/guests/lib32/%.o,entry32 header $(GUEST_LIB_C))
GUEST_LIB64_OBJS := $(patsubst %,$(B)/guests/lib64/%.o,entry64 header $(GUEST_LIB_C))
# SMP support (lib/smp.h) is an archive: only the guests that call it carry its AP stacks.
GUEST_SMP_OBJS := smp ap_tramp
GUEST_LIB32_OBJS += $(B)/guests/lib32/libsmp.a
GUEST_LIB64_OBJS += $(B)/guests/lib64/libsmp.a

.PHONY: guest-tests check-guests-bare
guest-tests: $(GUEST_ELFS)

$(B)/guests/lib32/%.o: $(GUEST_LIB)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC32    $<"
	$(Q)$(CC) -m32 $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/lib32/%.o: $(GUEST_LIB)/%.S
	@mkdir -p $(dir $@)
	@echo "  AS32    $<"
	$(Q)$(CC) -m32 $(GUEST_ASFLAGS) -c $< -o $@

$(B)/guests/lib64/%.o: $(GUEST_LIB)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC64    $<"
	$(Q)$(CC) -m64 $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/lib64/%.o: $(GUEST_LIB)/%.S
	@mkdir -p $(dir $@)
	@echo "  AS64    $<"
	$(Q)$(CC) -m64 $(GUEST_ASFLAGS) -c $< -o $@

$(B)/guests/lib32/libsmp.a: $(patsubst %,$(B)/guests/lib32/%.o,$(GUEST_SMP_OBJS))
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/guests/lib64/libsmp.a: $(patsubst %,$(B)/guests/lib64/%.o,$(GUEST_SMP_OBJS))
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/guests/obj32/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC32    $<"
	$(Q)$(CC) -m32 $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/obj64/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC64    $<"
	$(Q)$(CC) -m64 $(GUEST_CFLAGS) -c $< -o $@

$(patsubst %,$(B)/guests/%.elf,$(GUESTS_32)): $(B)/guests/%.elf: $(B)/guests/obj32/%.o $(GUEST_LIB32_OBJS) \
		$(GUEST_LIB)/guest.ld
	@echo "  LD32    $@"
	$(Q)$(LD) -m elf_i386 $(GUEST_LDFLAGS) -o $@ $< $(GUEST_LIB32_OBJS)

# Linked at 32 KiB, as small real-mode-era test kernels are (issue 13 item 6).
$(B)/guests/low_kernel.elf: GUEST_LDFLAGS := --defsym=GUEST_LOAD_ADDR=0x8000 $(GUEST_LDFLAGS)

$(patsubst %,$(B)/guests/elf64/%.elf,$(GUESTS_64)): $(B)/guests/elf64/%.elf: $(B)/guests/obj64/%.o \
		$(GUEST_LIB64_OBJS) $(GUEST_LIB)/guest.ld
	@mkdir -p $(dir $@)
	@echo "  LD64    $@"
	$(Q)$(LD) -m elf_x86_64 $(GUEST_LDFLAGS) -o $@ $< $(GUEST_LIB64_OBJS)

$(patsubst %,$(B)/guests/%.elf,$(GUESTS_64)): $(B)/guests/%.elf: $(B)/guests/elf64/%.elf
	$(Q)$(OBJCOPY) -O elf32-i386 $< $@

# Not part of `make test`: on bare QEMU the policy tests are expected to fail (see the table in
# tests/guests/test_bare.py).
check-guests-bare: $(GUEST_ELFS)
	cd tests/guests && KEEL_BUILD=$(abspath $(B)) $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS) test_bare.py

-include $(shell find $(B)/guests -name '*.d' 2>/dev/null)

# A real-mode guest is a flat image (vm=...,boot=real loads it at 0000:7C00).
$(B)/guests/realmode.bin: $(GUEST_DIR)/realmode.S
	@mkdir -p $(dir $@)
	@echo "  AS16    $<"
	$(Q)$(CC) -m32 -c $< -o $(B)/guests/realmode.o
	$(Q)ld -m elf_i386 -Ttext=0x7c00 -e _start --oformat binary -o $@ $(B)/guests/realmode.o

guest-tests: $(B)/guests/realmode.bin
