/* SPDX-License-Identifier: MIT */
/* What the firmware knows about the machine: its name, the ACPI RSDP and the GOP framebuffer. */
#include "boot/efi/efiapp.h"

static void loader_name(struct boot_info *bi)
{
	char vendor[40];
	size_t i = 0;
	u32 rev = ST->Hdr.Revision;

	for (const CHAR16 *v = ST->FirmwareVendor; v && *v && i + 1 < sizeof(vendor); v++)
		vendor[i++] = *v >= 0x20 && *v <= 0x7e ? (char)*v : '?';
	vendor[i] = '\0';
	/* UEFI revision: major in the high 16 bits, minor * 10 + sub-minor in the low ones */
	efi_snprintf(bi->loader_name, sizeof(bi->loader_name), "keel.efi (UEFI %u.%u %s %#x)", rev >> 16, rev & 0xffff,
		     vendor[0] ? vendor : "unknown", ST->FirmwareRevision);
}

/* ACPI 2.0+ RSDP first (it leads to the XSDT), the 1.0 one otherwise (UEFI 2.9 section 4.6). */
static void find_rsdp(struct boot_info *bi)
{
	static EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	EFI_GUID *want[] = { &acpi20, &acpi10 };

	for (unsigned w = 0; w < ARRAY_SIZE(want); w++) {
		for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
			EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

			if (CompareGuid(&t->VendorGuid, want[w]))
				continue;
			if (rsdp_copy(bi, t->VendorTable)) {
				info("ACPI RSDP at %p (revision %u, %u bytes copied)", t->VendorTable, bi->rsdp[15],
				     bi->rsdp_len);
				return;
			}
			warn("ACPI %s RSDP at %p fails its signature or checksum; ignored", w ? "1.0" : "2.0",
			     t->VendorTable);
		}
	}
	warn("the firmware publishes no valid ACPI RSDP; Keel will have no ACPI tables");
}

static void find_framebuffer(struct boot_info *bi)
{
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;
	EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *mi;
	struct boot_framebuffer *fb = &bi->fb;
	EFI_PIXEL_BITMASK *pm;
	u32 all;

	if (EFI_ERROR(BS->LocateProtocol(&GraphicsOutputProtocol, NULL, (void **)&gop)) || !gop->Mode ||
	    !gop->Mode->Info) {
		info("no graphics output (GOP): serial console only");
		return;
	}
	mi = gop->Mode->Info;
	switch (mi->PixelFormat) {
	case PixelRedGreenBlueReserved8BitPerColor: /* byte 0 red, 1 green, 2 blue */
		fb->red_pos = 0, fb->green_pos = 8, fb->blue_pos = 16;
		fb->red_size = fb->green_size = fb->blue_size = 8;
		fb->bpp = 32;
		break;
	case PixelBlueGreenRedReserved8BitPerColor: /* byte 0 blue, 1 green, 2 red */
		fb->blue_pos = 0, fb->green_pos = 8, fb->red_pos = 16;
		fb->red_size = fb->green_size = fb->blue_size = 8;
		fb->bpp = 32;
		break;
	case PixelBitMask:
		pm = &mi->PixelInformation;
		fb_mask_to_field(pm->RedMask, &fb->red_pos, &fb->red_size);
		fb_mask_to_field(pm->GreenMask, &fb->green_pos, &fb->green_size);
		fb_mask_to_field(pm->BlueMask, &fb->blue_pos, &fb->blue_size);
		/* the pixel is as wide as the highest bit any mask uses (UEFI 2.9 section 12.9) */
		all = pm->RedMask | pm->GreenMask | pm->BlueMask | pm->ReservedMask;
		fb->bpp = 0;
		while (all) {
			fb->bpp++;
			all >>= 1;
		}
		fb->bpp = (u8)ALIGN_UP(fb->bpp, 8u);
		break;
	default: /* PixelBltOnly: no linear framebuffer at all */
		info("GOP mode %ux%u has no linear framebuffer (blt only)", mi->HorizontalResolution,
		     mi->VerticalResolution);
		return;
	}
	if (!fb->bpp || !gop->Mode->FrameBufferBase || !mi->PixelsPerScanLine) {
		warn("GOP reports an unusable framebuffer; serial console only");
		memset(fb, 0, sizeof(*fb));
		return;
	}
	fb->addr = gop->Mode->FrameBufferBase;
	fb->width = mi->HorizontalResolution;
	fb->height = mi->VerticalResolution;
	fb->pitch = mi->PixelsPerScanLine * (fb->bpp / 8);
	fb->type = BOOT_FB_RGB;
	info("framebuffer %ux%u, %u bpp, pitch %u, at %#llx", fb->width, fb->height, fb->bpp, fb->pitch,
	     (unsigned long long)fb->addr);
}

void platform_fill(struct boot_info *bi)
{
	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	bi->loader = BOOT_LOADER_EFI;
	bi->efi_system_table = (u64)(uintptr_t)ST;
	loader_name(bi);
	find_rsdp(bi);
	find_framebuffer(bi);
}
