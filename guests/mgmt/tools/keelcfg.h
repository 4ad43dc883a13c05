/* SPDX-License-Identifier: MIT */
/*
 * keelcfg: the parser of `keelctl create FILE`'s VM configuration, a subset of xl.cfg's syntax
 * (docs/mgmt.md, "A VM from a config file"). Pure: it takes a buffer and fills a struct, with no
 * I/O and no libkeel call, so host unit tests and a libFuzzer target run it as keelctl does.
 */
#ifndef KEELCFG_H
#define KEELCFG_H

#include <stddef.h>
#include <stdint.h>

#include "keel_hypercall.h"

#define KEELCFG_PATH_MAX 256	    /* kernel, ramdisk and disk paths, with their NUL */
#define KEELCFG_LIST_MAX 8	    /* entries of disk = [...] and of vif = [...] */
#define KEELCFG_FILE_MAX (1u << 20) /* a config file larger than 1 MiB is not one */

enum keelcfg_kernel_type { KEELCFG_KERNEL_DETECT, KEELCFG_KERNEL_LINUX, KEELCFG_KERNEL_MULTIBOOT };
/* What happens when the VM powers off, reboots or crashes. PRESERVE is what Keel does today: the
 * VM stays in the list, dead, until `keelctl destroy`. */
enum keelcfg_action { KEELCFG_PRESERVE, KEELCFG_DESTROY, KEELCFG_RESTART };

/* Keys, in the order keelcfg_key_name names them; cfg->line[key] is where each was set (0: not). */
enum keelcfg_key {
	KEELCFG_NAME,
	KEELCFG_MEMORY,
	KEELCFG_VCPUS,
	KEELCFG_WEIGHT,
	KEELCFG_CAP,
	KEELCFG_CPUS,
	KEELCFG_KERNEL,
	KEELCFG_RAMDISK,
	KEELCFG_CMDLINE, /* also spelled `extra`, as xl does */
	KEELCFG_KERNEL_TYPE,
	KEELCFG_ON_POWEROFF,
	KEELCFG_ON_REBOOT,
	KEELCFG_ON_CRASH,
	KEELCFG_DISK,
	KEELCFG_VIF,
	KEELCFG_NR_KEYS
};

struct keelcfg_disk {
	char path[KEELCFG_PATH_MAX];
	char vdev[8]; /* "xvda", "vdb", "hda", "sdc"...: default "xvd" + its letter */
	uint8_t readonly;
};

struct keelcfg_vif {
	char bridge[16]; /* a Linux interface name: at most 15 characters; "" none given */
	uint8_t mac[6];
	uint8_t has_mac;
};

struct keelcfg {
	char name[KEEL_VM_NAME_MAX];
	uint64_t mem_bytes;
	uint32_t vcpus, weight, cap_pct; /* vcpus 1 unless given; weight, cap 0: Keel's defaults */
	uint64_t affinity[KEEL_VM_MAX_VCPUS];
	char kernel[KEELCFG_PATH_MAX], ramdisk[KEELCFG_PATH_MAX], cmdline[KEEL_CMDLINE_MAX];
	enum keelcfg_kernel_type kernel_type;
	enum keelcfg_action on_poweroff, on_reboot, on_crash;
	uint32_t nr_disks, nr_vifs;
	struct keelcfg_disk disks[KEELCFG_LIST_MAX];
	struct keelcfg_vif vifs[KEELCFG_LIST_MAX];
	uint32_t line[KEELCFG_NR_KEYS];
};

/* Where and why a config was refused: "key 'memory': not a number" at line `line` (1-based; a
 * missing key is reported at the last line). */
struct keelcfg_error {
	uint32_t line;
	char msg[160];
};

/* Parses len bytes of buf (no NUL needed; a NUL byte in them is an error) into *cfg.
 * 0, or -1 with *err filled. */
int keelcfg_parse(const char *buf, size_t len, struct keelcfg *cfg, struct keelcfg_error *err);
const char *keelcfg_key_name(enum keelcfg_key key);

/* A CPU set per vCPU, as `keelctl create --cpus` takes it: "all", or CPU numbers (0..63) and
 * ranges joined by ',', one set per vCPU separated by '/', the last repeated for the vCPUs after
 * it. Fills aff[0..vcpus-1] (aff has KEEL_VM_MAX_VCPUS entries); -1 if malformed or empty. */
int keelcfg_parse_cpus(const char *s, uint64_t *aff, uint32_t vcpus);

/* 1 if the first len bytes of a kernel image are a Linux bzImage's (the boot protocol's "HdrS"
 * at 0x202), else 0: how kernel_type "detect" decides. */
int keelcfg_is_bzimage(const void *head, size_t len);
#define KEELCFG_BZIMAGE_HEAD 0x206

#endif
