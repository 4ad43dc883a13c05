// SPDX-License-Identifier: MIT
/* keel-dm: the --net option and TAP devices (tap.h), Linux's tun driver and bridge ioctls. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "virtio_devs.h"

_Static_assert(DM_IFNAMSIZ == IFNAMSIZ, "tap.h's IFNAMSIZ");

static int copy_name(char *dst, const char *src)
{
	size_t len = strlen(src);

	if (len == 0 || len >= DM_IFNAMSIZ || strchr(src, '/'))
		return -EINVAL;
	memcpy(dst, src, len + 1);
	return 0;
}

int dm_net_parse(struct dm_net_arg *a, char *spec, const char **bad)
{
	char *opt = spec;

	*a = (struct dm_net_arg){ .fd = -1 };
	while (opt && *opt) {
		char *next = strchr(opt, ',');
		int ret = -EINVAL;

		if (next)
			*next++ = '\0';
		if (!strncmp(opt, "mac=", 4))
			ret = virtio_net_parse_mac(opt + 4, a->mac), a->has_mac = ret == 0;
		else if (!strncmp(opt, "bridge=", 7))
			ret = copy_name(a->bridge, opt + 7);
		else if (!strncmp(opt, "tap=", 4))
			ret = copy_name(a->tap, opt + 4);
		if (ret) {
			*bad = opt;
			return ret;
		}
		opt = next;
	}
	return 0;
}

unsigned int dm_tap_offload_flags(uint64_t g)
{
	unsigned int f = 0;

	if (!(g & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return 0; /* tun refuses TSO without CSUM */
	f = TUN_F_CSUM;
	if (g & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (g & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if ((f & (TUN_F_TSO4 | TUN_F_TSO6)) && (g & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)))
		f |= TUN_F_TSO_ECN;
	return f;
}

int dm_tap_set_offload(void *opaque, uint64_t guest_offloads)
{
	int fd = *(const int *)opaque;

	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)dm_tap_offload_flags(guest_offloads)) ? -errno : 0;
}

/* Up, and into the bridge: through an AF_INET datagram socket, as ip(8) and brctl(8) do. */
static int up_and_bridge(const char *name, const char *bridge, const char **step)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0, ifindex;

	if (s < 0) {
		*step = "socket";
		return -errno;
	}
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	*step = "SIOCGIFFLAGS";
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	*step = "bringing it up (SIOCSIFFLAGS)";
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		goto fail;
	if (!*bridge)
		goto out;
	*step = "SIOCGIFINDEX";
	if (ioctl(s, SIOCGIFINDEX, &ifr))
		goto fail;
	ifindex = ifr.ifr_ifindex;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, bridge, strlen(bridge) + 1);
	ifr.ifr_ifindex = ifindex;
	*step = "adding it to the bridge (SIOCBRADDIF; does the bridge exist?)";
	if (ioctl(s, SIOCBRADDIF, &ifr))
		goto fail;
	goto out;
fail:
	ret = -errno;
out:
	close(s);
	return ret;
}

int dm_tap_open(const char *name, const char *bridge, bool *offloads, const char **step)
{
	struct ifreq ifr = { 0 };
	int fd, hdr = (int)sizeof(struct virtio_net_hdr_v1), ret;

	*offloads = false;
	*step = "opening /dev/net/tun (is the tun module loaded?)";
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (copy_name(ifr.ifr_name, name)) {
		close(fd);
		*step = "the name";
		return -EINVAL;
	}
	*step = "TUNSETIFF";
	if (ioctl(fd, TUNSETIFF, &ifr))
		goto fail;
	*step = "TUNSETVNETHDRSZ";
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr))
		goto fail;
	/* Receive offloads are offered only if the TAP takes them; none until the driver asks. */
	*offloads =
	    ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)) == 0;
	*step = "TUNSETOFFLOAD";
	if (ioctl(fd, TUNSETOFFLOAD, 0ul) && *offloads)
		goto fail;
	ret = up_and_bridge(name, bridge, step);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
fail:
	ret = -errno;
	close(fd);
	return ret;
}
