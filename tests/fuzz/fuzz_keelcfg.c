/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for `keelctl create FILE`'s parser (guests/mgmt/tools/keelcfg.c): the input is
 * the config file. Besides ASan and UBSan, what keelctl relies on is held (CHECK): an accepted
 * config has every required key, a name Keel accepts, memory a whole number of MiB that did not
 * wrap, vCPUs, cap and affinity within Keel's limits, NUL-terminated strings and lines inside the
 * file; a refusal has a message and a line inside the file; parsing is deterministic.
 * Seeds: tests/fuzz/cfg_seeds/.
 */
#include <stdint.h>
#include <string.h>

#include "keelcfg.h"

#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

static int terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void check_accepted(const struct keelcfg *c, uint32_t lines)
{
	size_t name_len = strlen(c->name);

	CHECK(terminated(c->name, sizeof(c->name)) && name_len >= 1);
	for (size_t i = 0; i < name_len; i++) {
		char ch = c->name[i];

		CHECK((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '.' || ch == '-');
	}
	CHECK(c->mem_bytes && !(c->mem_bytes & ((1ull << 20) - 1)));
	CHECK(c->vcpus >= 1 && c->vcpus <= KEEL_VM_MAX_VCPUS && c->weight <= 65535 && c->cap_pct <= 100 * c->vcpus);
	for (uint32_t i = c->vcpus; i < KEEL_VM_MAX_VCPUS; i++)
		CHECK(!c->affinity[i]);
	CHECK(terminated(c->kernel, sizeof(c->kernel)) && c->kernel[0]);
	CHECK(terminated(c->ramdisk, sizeof(c->ramdisk)) && terminated(c->cmdline, sizeof(c->cmdline)));
	CHECK(!(c->ramdisk[0] && c->kernel_type == KEELCFG_KERNEL_MULTIBOOT));
	CHECK(c->nr_disks <= KEELCFG_LIST_MAX && c->nr_vifs <= KEELCFG_LIST_MAX);
	for (uint32_t i = 0; i < c->nr_disks; i++)
		CHECK(terminated(c->disks[i].path, sizeof(c->disks[i].path)) && c->disks[i].path[0] &&
		      terminated(c->disks[i].vdev, sizeof(c->disks[i].vdev)));
	for (uint32_t i = 0; i < c->nr_vifs; i++)
		CHECK(terminated(c->vifs[i].bridge, sizeof(c->vifs[i].bridge)) && !(c->vifs[i].mac[0] & 1));
	CHECK(c->line[KEELCFG_NAME] && c->line[KEELCFG_MEMORY] && c->line[KEELCFG_KERNEL]);
	for (int k = 0; k < KEELCFG_NR_KEYS; k++)
		CHECK(c->line[k] <= lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct keelcfg cfg, again;
	struct keelcfg_error err, err2;
	uint32_t lines = 1;
	int rc;

	for (size_t i = 0; i < len; i++)
		lines += data[i] == '\n';
	rc = keelcfg_parse((const char *)data, len, &cfg, &err);
	if (rc == 0) {
		check_accepted(&cfg, lines);
	} else {
		CHECK(rc == -1 && err.line >= 1 && err.line <= lines);
		CHECK(terminated(err.msg, sizeof(err.msg)) && err.msg[0]);
	}
	CHECK(keelcfg_parse((const char *)data, len, &again, &err2) == rc);
	CHECK(rc ? !memcmp(&err, &err2, sizeof(err)) : !memcmp(&cfg, &again, sizeof(cfg)));
	return 0;
}
