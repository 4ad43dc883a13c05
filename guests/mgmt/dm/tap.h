/* SPDX-License-Identifier: MIT */
/*
 * keel-dm's network backend (tap.c): the --net option and the TAP device a virtio-net card
 * (virtio_net.c) sends and receives through. The bridge a TAP joins must exist already: making
 * it is the boot script's or the administrator's job (docs/virtio.md).
 */
#ifndef KEEL_DM_TAP_H
#define KEEL_DM_TAP_H

#include <stdbool.h>
#include <stdint.h>

#define DM_NET_MAX    4	   /* --net options */
#define DM_IFNAMSIZ   16   /* IFNAMSIZ: a Linux interface name and its NUL */
#define DM_TAP_PREFIX "kd" /* the default TAP name: kd<vm id>.<card index> */

struct dm_net_arg {
	char tap[DM_IFNAMSIZ];	  /* empty: the default name */
	char bridge[DM_IFNAMSIZ]; /* empty: none */
	uint8_t mac[6];
	bool has_mac;
	int fd;	       /* the TAP, once open */
	bool offloads; /* the TAP takes TUNSETOFFLOAD: receive offloads can be offered */
};

/* [mac=XX:XX:XX:XX:XX:XX][,bridge=BR][,tap=NAME] (spec is cut up): 0, or -EINVAL with *bad the
 * option at fault. */
int dm_net_parse(struct dm_net_arg *a, char *spec, const char **bad);
/* Opens TAP `name` (made if it does not exist; it goes when keel-dm closes it, unless made
 * persistent by someone else) with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 12-byte virtio-net
 * header (TUNSETVNETHDRSZ) and no offloads yet, non-blocking; brings it up and, when bridge is
 * not empty, adds it to that bridge. The fd, or -errno with *step naming what failed;
 * *offloads says whether TUNSETOFFLOAD works. */
int dm_tap_open(const char *name, const char *bridge, bool *offloads, const char **step);
/* virtio_net's offload callback: opaque points at the TAP's fd; guest_offloads are
 * VIRTIO_NET_F_GUEST_* bits, given to the TAP as TUN_F_* (TUNSETOFFLOAD). 0 or -errno. */
int dm_tap_set_offload(void *opaque, uint64_t guest_offloads);
/* The TUN_F_* flags for guest_offloads: TSO only with CSUM, ECN only with TSO (tun's rules). */
unsigned int dm_tap_offload_flags(uint64_t guest_offloads);

#endif
