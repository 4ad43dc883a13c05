# Host unit tests for keel.efi's firmware-independent parts (boot/efi/loader.h).
UNIT_TESTS += test_efi_loader
test_efi_loader_SRCS := tests/unit/test_efi_loader.c boot/efi/config.c boot/efi/path.c \
	boot/efi/elf.c boot/efi/memmap.c boot/efi/bootinfo.c boot/efi/fmt.c
