// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* The memory window's checks (keel_abi.h): no kernel or libc calls. */
#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif

#include "keel_abi.h"

#define GIB	      (1ull << 30)
#define WIN_PAGE_SIZE 4096ull

int keel_check_win_map(const struct keel_win_map *req)
{
	return req->flags || req->mmap_offset || req->size ? -EINVAL : 0;
}

int keel_check_win_unmap(const struct keel_win_unmap *req)
{
	return req->reserved ? -EINVAL : 0;
}

int keel_win_pick_slot(uint64_t used, uint32_t bar_gib, uint64_t size)
{
	uint64_t n = size / GIB + (size % GIB != 0);

	if (!size || bar_gib > 64 || n > bar_gib)
		return -ENOSPC;
	for (uint32_t first = 0; first + n <= bar_gib; first++)
		if (!(used & keel_win_slot_mask((int)first, size)))
			return (int)first;
	return -ENOSPC;
}

uint64_t keel_win_slot_mask(int first, uint64_t size)
{
	uint64_t n = size / GIB + (size % GIB != 0);

	if (first < 0 || n == 0 || first + n > 64)
		return 0;
	return (n == 64 ? ~0ull : (1ull << n) - 1) << first;
}

int keel_check_win_mmap(uint64_t off, uint64_t len, uint64_t size)
{
	if (!len || (off | len) % WIN_PAGE_SIZE || off >= size || len > size - off)
		return -EINVAL;
	return 0;
}
