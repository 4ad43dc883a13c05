// SPDX-License-Identifier: MIT
/*
 * keelctl create's checks of a config's disks (docs/mgmt.md, "Disks"), made before anything is
 * created, so a bad disk is a clear error at create time and nothing is left behind:
 * missing, not a regular file or block device, read-only for a read-write disk, empty, not whole
 * 512-byte sectors, or shorter than the ext2/3/4 file system or the MBR partitions it holds say
 * (a truncated copy).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keelctl_dm.h"

#define SECTOR 512u

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t keelctl_disk_needs(const uint8_t *head, size_t len)
{
	uint64_t need = 0;

	/* ext2/3/4: the superblock at byte 1024, magic 0xEF53 at 0x38, s_blocks_count_lo at 4,
	 * s_log_block_size at 0x18 and, with INCOMPAT_64BIT (0x80 in s_feature_incompat at 0x60),
	 * s_blocks_count_hi at 0x150 (the kernel's struct ext4_super_block). */
	if (len >= 1024 + 0x154 && head[1024 + 0x38] == 0x53 && head[1024 + 0x39] == 0xef) {
		const uint8_t *sb = head + 1024;
		uint32_t log = le32(sb + 0x18);
		uint64_t blocks = le32(sb + 4);

		if (le32(sb + 0x60) & 0x80)
			blocks |= (uint64_t)le32(sb + 0x150) << 32;
		if (log <= 6 && blocks <= (1ull << 48))
			need = blocks << (10 + log);
	}
	/* An MBR (0x55AA at 510): each used primary entry's first LBA + sector count (bytes 8 and
	 * 12 of the 16-byte entries from 446). A protective GPT entry (type 0xEE) says "all of it"
	 * with a count of 0xFFFFFFFF, which proves nothing: skipped. */
	if (len >= SECTOR && head[510] == 0x55 && head[511] == 0xaa) {
		for (unsigned i = 0; i < 4; i++) {
			const uint8_t *e = head + 446 + 16 * i;
			uint64_t end = ((uint64_t)le32(e + 8) + le32(e + 12)) * SECTOR;

			if (e[4] && e[4] != 0xee && le32(e + 12) && end > need)
				need = end;
		}
	}
	return need;
}

int keelctl_disk_check(const struct keelcfg_disk *d, char *why, size_t len)
{
	uint8_t head[4096];
	struct stat st;
	uint64_t size, need;
	ssize_t n;
	int fd = open(d->path, (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0) {
		if (!d->readonly && (errno == EROFS || errno == EACCES || errno == EPERM))
			snprintf(why, len,
				 "%s: cannot be written (%s): give it as read-only (\",ro\") or make it writable",
				 d->path, strerror(errno));
		else
			snprintf(why, len, "%s: %s", d->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(why, len, "%s: %s", d->path, strerror(errno));
		goto bad;
	}
	if (S_ISREG(st.st_mode)) {
		/* Root opens a 0444 file for writing all the same: its mode still says what the owner
		 * meant (a boot module exposed read-only, a golden image). */
		if (!d->readonly && !(st.st_mode & 0222)) {
			snprintf(why, len,
				 "%s: is read-only (mode %04o): give it as read-only (\",ro\") or make it writable",
				 d->path, (unsigned)(st.st_mode & 07777));
			goto bad;
		}
		size = (uint64_t)st.st_size;
	} else {
		snprintf(why, len, "%s: not a regular file (keel-dm serves raw image files)", d->path);
		goto bad;
	}
	if (size < SECTOR || size % SECTOR) {
		snprintf(why, len, "%s: truncated: %llu bytes, not a whole number of %u-byte sectors", d->path,
			 (unsigned long long)size, SECTOR);
		goto bad;
	}
	memset(head, 0, sizeof(head));
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0) {
		snprintf(why, len, "%s: %s", d->path, strerror(errno));
		goto bad;
	}
	need = keelctl_disk_needs(head, (size_t)n);
	if (need > size) {
		snprintf(why, len, "%s: truncated: %llu bytes, and what it holds needs %llu", d->path,
			 (unsigned long long)size, (unsigned long long)need);
		goto bad;
	}
	close(fd);
	return 0;
bad:
	close(fd);
	return -1;
}

int keelctl_vif_check(const struct keelcfg *cfg, uint32_t i, char *why, size_t len)
{
	const char *net = getenv("KEEL_SYS_NET") ? getenv("KEEL_SYS_NET") : "/sys/class/net";
	const char *tun = getenv("KEEL_DEV_TUN") ? getenv("KEEL_DEV_TUN") : "/dev/net/tun";
	const struct keelcfg_vif *v = &cfg->vifs[i];
	char path[128];
	struct stat st;

	if (i >= KEELCTL_NETS_MAX) {
		snprintf(why, len, "at most %u network cards (keel-dm's limit)", KEELCTL_NETS_MAX);
		return -1;
	}
	/* keel-dm would fail at its start; the config is the place to say so. */
	if (stat(tun, &st) || !S_ISCHR(st.st_mode)) {
		snprintf(why, len, "%s is missing: the management VM needs the tun module", tun);
		return -1;
	}
	if (v->bridge[0]) {
		snprintf(path, sizeof(path), "%s/%s/bridge", net, v->bridge);
		if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
			snprintf(why, len,
				 "bridge %s does not exist in the management VM (make it first: ip link add %s type "
				 "bridge; ip link set %s up)",
				 v->bridge, v->bridge, v->bridge);
			return -1;
		}
	}
	return 0;
}
