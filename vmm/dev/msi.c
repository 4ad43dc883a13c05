/* SPDX-License-Identifier: MIT */
/* MSI address/data decoding (see msi.h); both words come from the guest. */
#include "vmm/dev/msi.h"

#define MODE_RESERVED_3 3
#define MODE_RESERVED_6 6

int msi_decode(u64 addr, u32 data, struct vioapic_msg *m)
{
	u32 mode = MSI_DATA_MODE(data);

	if (addr >> 32 || ((u32)addr & MSI_ADDR_BASE_MASK) != MSI_ADDR_BASE)
		return -EINVAL;
	if (mode == MODE_RESERVED_3 || mode == MODE_RESERVED_6)
		return -EINVAL;
	if ((data & MSI_DATA_TRIGGER) && !(data & MSI_DATA_LEVEL))
		return -EINVAL;
	*m = (struct vioapic_msg){
		.vector = (u8)MSI_DATA_VECTOR(data),
		.mode = (u8)mode,
		.logical = addr & MSI_ADDR_DM,
		.level = false,
		.dest = (u8)MSI_ADDR_DEST(addr),
	};
	return 0;
}
