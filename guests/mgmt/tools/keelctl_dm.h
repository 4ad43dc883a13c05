/* SPDX-License-Identifier: MIT */
/* keelctl's side of keel-dm (keelctl_dm.c): disk checks and starting a VM's device model. */
#ifndef KEELCTL_DM_H
#define KEELCTL_DM_H

#include <stddef.h>
#include <stdint.h>

#include "keelcfg.h"

#define KEELCTL_DM_PATH "/usr/sbin/keel-dm" /* or $KEEL_DM */
/* The run directory (or $KEEL_RUN_DIR): NAME.dm.log, NAME.hvc, NAME.hvc.sock; NAME.mon.log and
 * NAME.mon.pid (keelctl_mon.h). */
#define KEELCTL_RUN_DIR "/run/keel"
/* keel-dm's virtio console socket, DIR/NAME.hvc.sock (keelctl console --hvc). */
#define KEELCTL_HVC_SOCK_SUFFIX ".hvc.sock"
#define KEELCTL_DM_TIMEOUT_S	20
/* How long keelctl waits for keel-dm to serve the VM (KEELCTL_DM_TIMEOUT_S; tests shorten it). */
extern int keelctl_dm_timeout_s;

/* The bytes the first len bytes of a disk image say it needs: its ext2/3/4 file system's size,
 * or the end of its last MBR partition (the larger); 0 if it holds neither. */
uint64_t keelctl_disk_needs(const uint8_t *head, size_t len);
/* 0, or -1 with why filled ("PATH: ..."): missing, unreadable, read-only for a read-write disk,
 * not a regular file, not whole sectors, shorter than what it holds. */
int keelctl_disk_check(const struct keelcfg_disk *d, char *why, size_t len);
/* Network cards (vif): at most KEELCTL_NETS_MAX (keel-dm's DM_NET_MAX), /dev/net/tun present
 * ($KEEL_DEV_TUN), the bridge named there exists (/sys/class/net/BR/bridge; $KEEL_SYS_NET). 0,
 * or -1 with why filled. */
#define KEELCTL_NETS_MAX 4
int keelctl_vif_check(const struct keelcfg *cfg, uint32_t i, char *why, size_t len);
/* keel-dm's argv for VM `id` named `name` (argv[max - 1] at most, NULL-terminated; the strings in
 * buf; its console to DIR/NAME.hvc and DIR/NAME.hvc.sock; its readiness byte on ready_fd): its count, or -1 if it does not fit. */
int keelctl_dm_argv(const char *name, uint32_t id, const struct keelcfg *cfg, const char *dir, int ready_fd,
		    char **argv, size_t max, char *buf, size_t buflen);
/* The run directory: $KEEL_RUN_DIR or KEELCTL_RUN_DIR. */
const char *keelctl_run_dir(void);
/* mkdir -p: 0, or -1 with errno. */
int keelctl_mkdir_p(const char *dir);
/* Starts keel-dm for the VM and waits (KEELCTL_DM_TIMEOUT_S at most) until it serves it: 0 (its
 * pid in *pid), or a negative errno with the reason printed. */
int keelctl_dm_start(const char *name, uint32_t id, const struct keelcfg *cfg, int *pid);

#endif
