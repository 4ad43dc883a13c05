/* SPDX-License-Identifier: MIT */
/* boot_info pieces that need checking rather than copying: the ACPI RSDP and colour masks. */
#include "boot/efi/loader.h"

/* ACPI 6.4 section 5.2.5.3: RSDP layout. */
#define RSDP_V1_LEN   20
#define RSDP_V2_LEN   36
#define RSDP_REVISION 15
#define RSDP_LENGTH   20

static u8 sum_bytes(const u8 *p, size_t n)
{
	u8 s = 0;

	while (n--)
		s = (u8)(s + *p++);
	return s;
}

bool rsdp_copy(struct boot_info *bi, const void *rsdp)
{
	static const char sig[8] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ' };
	const u8 *p = rsdp;
	u32 len;

	for (unsigned i = 0; i < sizeof(sig); i++)
		if (p[i] != (u8)sig[i])
			return false;
	if (sum_bytes(p, RSDP_V1_LEN))
		return false;
	bi->rsdp_len = RSDP_V1_LEN;
	if (p[RSDP_REVISION] >= 2) {
		memcpy(&len, p + RSDP_LENGTH, sizeof(len));
		/* A v2 RSDP whose extended part is broken still has a usable v1 part (RSDT). */
		if (len >= RSDP_V2_LEN && len <= 4096 && !sum_bytes(p, len))
			bi->rsdp_len = RSDP_V2_LEN;
	}
	memcpy(bi->rsdp, p, bi->rsdp_len);
	return true;
}

void fb_mask_to_field(u32 mask, u8 *pos, u8 *size)
{
	u8 p = 0, n = 0;

	if (mask) {
		while (!(mask & 1)) {
			mask >>= 1;
			p++;
		}
		while (mask & 1) {
			mask >>= 1;
			n++;
		}
	}
	*pos = p;
	*size = n;
}
