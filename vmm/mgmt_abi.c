/* SPDX-License-Identifier: MIT */
/* Pure checks of the management hypercalls' arguments (vmm/mgmt_abi.h). */
#include "vmm/mgmt_abi.h"

#include "kernel/lib/string.h"

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
	       ch == '.' || ch == '-';
}

int mgmt_check_create(const struct keel_vm_create *c)
{
	u32 len = 0;

	while (len < KEEL_VM_NAME_MAX && c->name[len])
		len++;
	if (len == 0 || len == KEEL_VM_NAME_MAX)
		return -EINVAL; /* empty, or not NUL-terminated within 32 bytes */
	for (u32 i = 0; i < len; i++)
		if (!name_char(c->name[i]))
			return -EINVAL;
	if (c->mem_bytes < VM_MEM_MIN || c->mem_bytes > VM_MEM_MAX)
		return -EINVAL;
	if (c->vcpus < 1 || c->vcpus > KEEL_VM_MAX_VCPUS || c->weight > 65535 || c->cap_pct > 100 * c->vcpus ||
	    c->flags)
		return -EINVAL;
	for (u32 i = c->vcpus; i < KEEL_VM_MAX_VCPUS; i++)
		if (c->affinity[i])
			return -EINVAL; /* a vCPU it does not have */
	return 0;
}

int mgmt_check_image(const struct keel_vm_image *img)
{
	if (img->image >= KEEL_IMAGE_MAX || img->len < 1 || img->len > KEEL_IMAGE_PIECE)
		return -EINVAL;
	if (img->total < 1 || img->total > IMAGE_TOTAL_MAX || img->offset > img->total ||
	    img->len > img->total - img->offset)
		return -EINVAL;
	return 0;
}

int mgmt_check_load(const struct keel_vm_load *l)
{
	if (l->kind == KEEL_BOOT_MULTIBOOT) {
		if (l->images < 1 || l->images > KEEL_IMAGE_MAX)
			return -EINVAL;
	} else if (l->kind == KEEL_BOOT_LINUX) {
		if (l->images < 1 || l->images > 2) /* a bzImage and its initramfs */
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	for (u32 i = 0; i < KEEL_IMAGE_MAX; i++)
		if (strnlen(l->cmdline[i], KEEL_CMDLINE_MAX) == KEEL_CMDLINE_MAX)
			return -EINVAL; /* not NUL-terminated */
	return 0;
}

int mgmt_check_mod_read(const struct keel_module_read *r, u64 size, u32 *n)
{
	if (r->len > KEEL_MODULE_READ_MAX || r->offset > size)
		return -EINVAL;
	*n = (u32)(size - r->offset < r->len ? size - r->offset : r->len);
	return 0;
}

static bool mod_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
	       ch == '_' || ch == '+' || ch == '-';
}

void mgmt_module_name(const char *cmdline, u32 index, char out[KEEL_MODULE_NAME_MAX])
{
	const char *word = cmdline, *end, *base;
	u32 len = 0;
	bool usable = false;

	while (*word == ' ')
		word++;
	for (end = word; *end && *end != ' '; end++)
		;
	base = end;
	while (base > word && base[-1] != '/')
		base--;
	for (const char *p = base; p < end && len < KEEL_MODULE_NAME_MAX - 1; p++) {
		out[len++] = mod_name_char(*p) ? *p : '_';
		usable |= mod_name_char(*p) && *p != '.';
	}
	out[len] = '\0';
	if (!usable) { /* empty, or only dots and replaced bytes: "", ".", "..", a bare "/" */
		static const char prefix[] = "module-";
		char digits[10];
		u32 nd = 0;

		memcpy(out, prefix, sizeof(prefix) - 1);
		len = sizeof(prefix) - 1;
		do
			digits[nd++] = (char)('0' + index % 10);
		while ((index /= 10) && nd < sizeof(digits));
		while (nd)
			out[len++] = digits[--nd];
		out[len] = '\0';
	}
}
