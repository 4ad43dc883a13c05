/* SPDX-License-Identifier: MIT */
/*
 * keel-dm's virtio modern PCI transport (guests/mgmt/dm/virtio_pci.c, virtio_pci_common.c) with a
 * fake two-queue device: configuration space as Linux's PCI core and virtio_pci_modern read it,
 * BAR sizing, feature negotiation, queue setup, reset, doorbells, ISR/INTx and MSI-X.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dm_driver.h"

#define FAKE_TYPE     42
#define FAKE_CFG_SIZE 8
#define FAKE_FEATURE  3

struct fake {
	struct virtio_pci vp;
	unsigned int notified[2], resets;
	uint8_t config[FAKE_CFG_SIZE];
	struct drv d;
};

static void fake_cfg_read(struct virtio_pci *vp, uint32_t off, uint8_t *buf, uint32_t len)
{
	memcpy(buf, ((struct fake *)vp)->config + off, len);
}

static void fake_cfg_write(struct virtio_pci *vp, uint32_t off, const uint8_t *buf, uint32_t len)
{
	memcpy(((struct fake *)vp)->config + off, buf, len);
}

static void fake_notify(struct virtio_pci *vp, uint16_t n)
{
	((struct fake *)vp)->notified[n]++;
}

static void fake_reset(struct virtio_pci *vp)
{
	((struct fake *)vp)->resets++;
}

static const struct virtio_dev_ops fake_ops = {
	.type = FAKE_TYPE,
	.class_code = 0xff0000,
	.nr_queues = 2,
	.queue_max = 128,
	.config_size = FAKE_CFG_SIZE,
	.config_read = fake_cfg_read,
	.config_write = fake_cfg_write,
	.notify = fake_notify,
	.reset = fake_reset,
};

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	drv_init(&f->d);
	virtio_pci_init(&f->vp, &fake_ops, VIRTIO_BIT(FAKE_FEATURE), &f->d.mem, &f->d.irq);
	drv_attach(&f->d, &f->vp);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	drv_free(&f->d);
	free(f);
	return 0;
}

static uint32_t cfg(struct fake *f, uint32_t reg, uint32_t size)
{
	return virtio_pci_cfg_read(&f->vp, reg, size);
}

/* Walks the capability list as Linux's virtio_pci_find_capability does. */
static unsigned int find_vendor_cap(struct fake *f, uint8_t type)
{
	unsigned int guard = 0;

	for (unsigned int pos = cfg(f, PCI_CAP_PTR, 1); pos && guard < 48; pos = cfg(f, pos + 1, 1), guard++)
		if (cfg(f, pos, 1) == 0x09 && cfg(f, pos + VIRTIO_PCI_CAP_CFG_TYPE, 1) == type)
			return pos;
	return 0;
}

static void test_config_space(void **state)
{
	struct fake *f = *state;
	unsigned int pos;

	assert_int_equal(cfg(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg(f, PCI_DEVICE_ID, 2), 0x1040 + FAKE_TYPE);
	assert_int_equal(cfg(f, PCI_REVISION, 1), 1);
	assert_int_equal(cfg(f, PCI_CLASS_PROG, 1) | cfg(f, PCI_CLASS_PROG + 1, 2) << 8, 0xff0000);
	assert_int_equal(cfg(f, PCI_SUBSYS_VENDOR, 2), 0x1af4);
	assert_int_equal(cfg(f, PCI_SUBSYS_ID, 2), FAKE_TYPE);
	assert_int_equal(cfg(f, PCI_HEADER_TYPE, 1), 0);
	assert_true(cfg(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg(f, PCI_INT_PIN, 1), 1);
	assert_int_equal(cfg(f, PCI_CAP_PTR, 1), VIRTIO_PCI_CAP_MSIX);
	assert_int_equal(cfg(f, VIRTIO_PCI_CAP_MSIX, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(cfg(f, VIRTIO_PCI_CAP_MSIX + PCI_MSIX_CTRL, 2), VIRTIO_PCI_MSIX_VECTORS - 1);
	assert_int_equal(cfg(f, VIRTIO_PCI_CAP_MSIX + PCI_MSIX_TABLE, 4), VIRTIO_PCI_MSIX_OFF | VIRTIO_PCI_MEM_BAR);
	assert_int_equal(cfg(f, VIRTIO_PCI_CAP_MSIX + PCI_MSIX_PBA, 4), VIRTIO_PCI_PBA_OFF | VIRTIO_PCI_MEM_BAR);

	pos = find_vendor_cap(f, VIRTIO_PCI_CAP_COMMON_CFG);
	assert_int_not_equal(pos, 0);
	assert_int_equal(cfg(f, pos + VIRTIO_PCI_CAP_BAR, 1), VIRTIO_PCI_MEM_BAR);
	assert_int_equal(cfg(f, pos + VIRTIO_PCI_CAP_OFFSET, 4), VIRTIO_PCI_COMMON_OFF);
	assert_true(cfg(f, pos + VIRTIO_PCI_CAP_LENGTH, 4) >= VIRTIO_PCI_COMMON_CFG_SIZE);
	pos = find_vendor_cap(f, VIRTIO_PCI_CAP_NOTIFY_CFG);
	assert_int_not_equal(pos, 0);
	assert_int_equal(cfg(f, pos + 2, 1), VIRTIO_PCI_NOTIFY_CAP_LEN);
	assert_int_equal(cfg(f, pos + VIRTIO_PCI_CAP_BAR, 1), VIRTIO_PCI_NOTIFY_BAR);
	assert_int_equal(cfg(f, pos + VIRTIO_PCI_NOTIFY_MULTIPLIER, 4), VIRTIO_PCI_NOTIFY_MULT);
	/* Linux: queue_notify_off * multiplier + 2 must fit the notify region, for every queue */
	assert_true(cfg(f, pos + VIRTIO_PCI_CAP_LENGTH, 4) >= VIRTIO_PCI_NOTIFY_MULT * 1 + 2);
	pos = find_vendor_cap(f, VIRTIO_PCI_CAP_ISR_CFG);
	assert_int_equal(cfg(f, pos + VIRTIO_PCI_CAP_OFFSET, 4), VIRTIO_PCI_ISR_OFF);
	pos = find_vendor_cap(f, VIRTIO_PCI_CAP_DEVICE_CFG);
	assert_int_equal(cfg(f, pos + VIRTIO_PCI_CAP_OFFSET, 4), VIRTIO_PCI_DEVICE_OFF);
	assert_int_equal(cfg(f, pos + VIRTIO_PCI_CAP_LENGTH, 4), FAKE_CFG_SIZE);
	assert_int_not_equal(find_vendor_cap(f, VIRTIO_PCI_CAP_PCI_CFG), 0);
	/* Reads outside the space or misaligned: all-ones, no crash. */
	assert_int_equal(cfg(f, 256, 4), 0xffffffffu);
	assert_int_equal(cfg(f, 254, 4), 0xffffffffu);
	assert_int_equal(cfg(f, 0, 3), 0xffffffffu);
	virtio_pci_cfg_write(&f->vp, PCI_VENDOR_ID, 2, 0x1234); /* read-only */
	assert_int_equal(cfg(f, PCI_VENDOR_ID, 2), 0x1af4);
}

/* PCI 3.0 §6.2.5.1: all-ones reads back the size mask with the type bits. */
static void test_bar_sizing_and_decode(void **state)
{
	struct fake *f = *state;

	for (unsigned int i = 0; i < 6; i++)
		virtio_pci_cfg_write(&f->vp, PCI_BAR0 + 4 * i, 4, 0xffffffffu);
	assert_int_equal(cfg(f, PCI_BAR0, 4), (uint32_t) ~(VIRTIO_PCI_NOTIFY_BAR_SIZE - 1) | 1);
	assert_int_equal(cfg(f, PCI_BAR0 + 4, 4), 0);
	assert_int_equal(cfg(f, PCI_BAR0 + 8, 4), (uint32_t) ~(VIRTIO_PCI_MEM_BAR_SIZE - 1) | 4);
	assert_int_equal(cfg(f, PCI_BAR0 + 12, 4), 0xffffffffu);
	assert_int_equal(cfg(f, PCI_BAR0 + 16, 4), 0);
	assert_int_equal(cfg(f, PCI_BAR0 + 20, 4), 0);
	virtio_pci_cfg_write(&f->vp, PCI_BAR0, 4, 0xc040);
	virtio_pci_cfg_write(&f->vp, PCI_BAR0 + 8, 4, 0xfebf4000u);
	virtio_pci_cfg_write(&f->vp, PCI_BAR0 + 12, 4, 0x1);
	assert_int_equal(cfg(f, PCI_BAR0, 4), 0xc041);
	assert_int_equal(cfg(f, PCI_BAR0 + 8, 4), 0xfebf4004u);
	/* decoded only once COMMAND enables the space */
	assert_int_equal(virtio_pci_bar_base(&f->vp, 0), 0);
	assert_int_equal(virtio_pci_bar_base(&f->vp, 2), 0);
	virtio_pci_cfg_write(&f->vp, PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEMORY);
	assert_int_equal(virtio_pci_bar_base(&f->vp, 0), 0xc040);
	assert_int_equal(virtio_pci_bar_base(&f->vp, 2), 0x1febf4000ull);
	assert_int_equal(virtio_pci_bar_base(&f->vp, 1), 0);
	virtio_pci_cfg_write(&f->vp, PCI_BAR0 + 9, 1, 0x80); /* a byte write: bits 15:8, below the size ignored */
	assert_int_equal(virtio_pci_bar_base(&f->vp, 2), 0x1febf8000ull);
	virtio_pci_cfg_write(&f->vp, PCI_COMMAND, 2, PCI_CMD_MEMORY);
	assert_int_equal(virtio_pci_bar_base(&f->vp, 0), 0);
}

static void test_feature_negotiation(void **state)
{
	struct fake *f = *state;
	uint64_t feat = drv_features(&f->d);
	uint64_t offered = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |
			   VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(FAKE_FEATURE);

	assert_int_equal(feat, offered);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_DFSELECT, 4, 2); /* beyond 64 bits: 0 */
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_DF, 4), 0);
	/* a feature not offered: FEATURES_OK stays clear */
	assert_false(drv_negotiate(&f->d, offered | VIRTIO_BIT(40)) & VIRTIO_STATUS_FEATURES_OK);
	/* no VERSION_1: refused too (no legacy interface) */
	assert_false(drv_negotiate(&f->d, VIRTIO_BIT(FAKE_FEATURE)) & VIRTIO_STATUS_FEATURES_OK);
	assert_true(drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(FAKE_FEATURE)) &
		    VIRTIO_STATUS_FEATURES_OK);
	assert_true(virtio_pci_has_feature(&f->vp, FAKE_FEATURE));
	assert_false(virtio_pci_has_feature(&f->vp, VIRTIO_F_RING_EVENT_IDX));
	/* frozen once FEATURES_OK is set */
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_GF, 4, 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_GF, 4), VIRTIO_BIT(FAKE_FEATURE));
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	/* the driver cannot set DEVICE_NEEDS_RESET */
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 0xff & ~VIRTIO_STATUS_FAILED);
	assert_false(drv_common_read(&f->d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void test_queue_setup_rules(void **state)
{
	struct fake *f = *state;

	drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2, 100); /* not a power of 2 */
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2, 256); /* above the maximum */
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2, 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2, 32);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 32);
	/* vectors: one that exists sticks, another reads back NO_VECTOR */
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_MSIX, 2), 2);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_PCI_MSIX_VECTORS);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_MSIX, 2, 0x1234);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_MSIX, 2), 0);
	/* addresses: 64-bit at once or in halves */
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, 0x123456789abcdef0ull);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0x123456789abcdef0ull);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0x9abcdef0ull);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_DESCLO + 1, 1), 0xde); /* any read width */
	/* a queue that does not exist: size 0, writes dropped */
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 2);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	/* enabled: setup frozen */
	drv_setup_queue(&f->d, 0, 16, 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 16);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_DESCLO, 8), f->d.ring[0].desc);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0); /* not the driver's to write */
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	assert_false(drv_common_read(&f->d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* Doorbells reach the device only for an enabled queue after DRIVER_OK. */
static void test_notify(void **state)
{
	struct fake *f = *state;

	drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	drv_setup_queue(&f->d, 0, 16, VIRTIO_MSI_NO_VECTOR);
	drv_kick(&f->d, 0);
	assert_int_equal(f->notified[0], 0); /* before DRIVER_OK */
	drv_driver_ok(&f->d);
	drv_kick(&f->d, 0);
	assert_int_equal(f->notified[0], 1);
	drv_kick(&f->d, 1); /* queue 1 is not enabled */
	assert_int_equal(f->notified[1], 0);
	drv_kick(&f->d, 7);								       /* no such queue */
	virtio_pci_bar_write(&f->vp, VIRTIO_PCI_NOTIFY_BAR, 1, 1, 0);			       /* odd port */
	virtio_pci_bar_write(&f->vp, VIRTIO_PCI_NOTIFY_BAR, VIRTIO_PCI_NOTIFY_BAR_SIZE, 2, 0); /* past the BAR */
	assert_int_equal(f->notified[0] + f->notified[1], 1);
	assert_int_equal(virtio_pci_bar_read(&f->vp, VIRTIO_PCI_NOTIFY_BAR, 0, 2), 0);
}

static void test_reset(void **state)
{
	struct fake *f = *state;

	drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(FAKE_FEATURE));
	drv_setup_queue(&f->d, 0, 16, 1);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	drv_driver_ok(&f->d);
	assert_int_equal(f->resets, 2); /* init, and drv_negotiate's reset */
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(f->resets, 3);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_STATUS, 1), 0); /* reset done */
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_GF, 4), 0);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0);
	assert_false(virtio_pci_vq(&f->vp, 0)->ready);
	drv_kick(&f->d, 0);
	assert_int_equal(f->notified[0], 0);
}

/* INTx: the ISR bit, INTA# asserted, read-to-clear deasserts it; COMMAND can disable it. */
static void test_isr_intx(void **state)
{
	struct fake *f = *state;
	struct drv_ring *r = &f->d.ring[0];
	struct virtq_chain *c = malloc(sizeof(*c));
	struct drv_buf b = { drv_alloc(&f->d, 16), 16, true };

	drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	drv_setup_queue(&f->d, 0, 16, VIRTIO_MSI_NO_VECTOR);
	drv_driver_ok(&f->d);
	drv_add_chain(&f->d, r, &b, 1);
	assert_int_equal(virtq_pop(virtio_pci_vq(&f->vp, 0), c), 1);
	virtq_push(virtio_pci_vq(&f->vp, 0), c->head, 4);
	virtio_pci_used(&f->vp, 0);
	assert_int_equal(f->d.intx, 1);
	assert_true(cfg(f, PCI_STATUS, 2) & 0x8);
	assert_int_equal(virtio_pci_bar_read(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_QUEUE);
	assert_int_equal(f->d.intx, 0);
	assert_false(cfg(f, PCI_STATUS, 2) & 0x8);
	assert_int_equal(virtio_pci_bar_read(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_ISR_OFF, 1), 0);
	/* a configuration change: ISR bit 1 and config_generation moves */
	uint8_t gen = (uint8_t)drv_common_read(&f->d, VIRTIO_PCI_COMMON_CFGGENERATION, 1);
	virtio_pci_cfg_write(&f->vp, PCI_COMMAND, 2, PCI_CMD_INTX_DISABLE);
	virtio_pci_config_changed(&f->vp);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_CFGGENERATION, 1), (uint8_t)(gen + 1));
	assert_int_equal(f->d.intx, 0); /* disabled in COMMAND */
	assert_int_equal(f->d.intx_raised, 1);
	virtio_pci_cfg_write(&f->vp, PCI_COMMAND, 2, 0);
	assert_int_equal(f->d.intx, 1); /* still pending: asserted once allowed */
	assert_int_equal(virtio_pci_bar_read(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	free(c);
}

/* MSI-X: each queue its vector; masked vectors wait in the PBA; NO_VECTOR: nothing. */
static void test_msix(void **state)
{
	struct fake *f = *state;
	struct virtq_chain *c = malloc(sizeof(*c));
	struct drv_buf b = { drv_alloc(&f->d, 16), 16, true };
	struct virtq *vq0 = virtio_pci_vq(&f->vp, 0), *vq1 = virtio_pci_vq(&f->vp, 1);

	drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	drv_enable_msix(&f->d);
	drv_setup_queue(&f->d, 0, 16, 3);
	drv_setup_queue(&f->d, 1, 16, VIRTIO_MSI_NO_VECTOR);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	drv_driver_ok(&f->d);
	drv_add_chain(&f->d, &f->d.ring[0], &b, 1);
	assert_int_equal(virtq_pop(vq0, c), 1);
	virtq_push(vq0, c->head, 0);
	virtio_pci_used(&f->vp, 0);
	assert_int_equal(f->d.msis, 1);
	assert_int_equal(f->d.last_msi_addr, DRV_MSI_ADDR);
	assert_int_equal(f->d.last_msi_data, DRV_MSI_DATA(3));
	assert_int_equal(f->d.intx_raised, 0);
	/* queue 1 has no vector */
	drv_add_chain(&f->d, &f->d.ring[1], &b, 1);
	assert_int_equal(virtq_pop(vq1, c), 1);
	virtq_push(vq1, c->head, 0);
	virtio_pci_used(&f->vp, 1);
	assert_int_equal(f->d.msis, 1);
	/* vector 3 masked: pending, then sent on unmask */
	virtio_pci_bar_write(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_MSIX_OFF + 16 * 3 + 12, 4, 1);
	drv_add_chain(&f->d, &f->d.ring[0], &b, 1);
	assert_int_equal(virtq_pop(vq0, c), 1);
	virtq_push(vq0, c->head, 0);
	virtio_pci_used(&f->vp, 0);
	assert_int_equal(f->d.msis, 1);
	assert_int_equal(virtio_pci_bar_read(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_PBA_OFF, 4), 1u << 3);
	virtio_pci_bar_write(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_MSIX_OFF + 16 * 3 + 12, 4, 0);
	assert_int_equal(f->d.msis, 2);
	assert_int_equal(virtio_pci_bar_read(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_PBA_OFF, 4), 0);
	/* the function mask */
	virtio_pci_cfg_write(&f->vp, VIRTIO_PCI_CAP_MSIX + PCI_MSIX_CTRL, 2, 0xc000);
	virtio_pci_config_changed(&f->vp);
	assert_int_equal(f->d.msis, 2);
	virtio_pci_cfg_write(&f->vp, VIRTIO_PCI_CAP_MSIX + PCI_MSIX_CTRL, 2, 0x8000);
	assert_int_equal(f->d.msis, 3);
	assert_int_equal(f->d.msi_per_vector[0], 1);
	free(c);
}

/* Rings outside RAM: the device needs a reset, and says so with a configuration interrupt. */
static void test_needs_reset(void **state)
{
	struct fake *f = *state;

	drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	drv_enable_msix(&f->d);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	drv_setup_queue(&f->d, 0, 16, 1);
	drv_driver_ok(&f->d);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, DRV_RAM_SIZE);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_true(drv_common_read(&f->d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(f->d.msi_per_vector[0], 1);
	drv_kick(&f->d, 0); /* no more work until reset */
	assert_int_equal(f->notified[0], 0);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_STATUS, 1), 0);
}

/* Device configuration through BAR2, and the PCI configuration access capability (§4.1.4.9). */
static void test_device_config_and_cfg_window(void **state)
{
	struct fake *f = *state;
	unsigned int cap = VIRTIO_PCI_CAP_CFG;

	memcpy(f->config, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	assert_int_equal(virtio_pci_bar_read(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_DEVICE_OFF + 4, 4), 0x88776655u);
	assert_int_equal(virtio_pci_bar_read(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_DEVICE_OFF + 6, 4), 0); /* past */
	virtio_pci_bar_write(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_DEVICE_OFF, 2, 0xbeef);
	assert_int_equal(f->config[0], 0xef);
	/* through the window: num_queues of the common configuration */
	virtio_pci_cfg_write(&f->vp, cap + VIRTIO_PCI_CAP_BAR, 1, VIRTIO_PCI_MEM_BAR);
	virtio_pci_cfg_write(&f->vp, cap + VIRTIO_PCI_CAP_OFFSET, 4, VIRTIO_PCI_COMMON_NUMQ);
	virtio_pci_cfg_write(&f->vp, cap + VIRTIO_PCI_CAP_LENGTH, 4, 2);
	assert_int_equal(cfg(f, cap + VIRTIO_PCI_CFG_DATA, 4) & 0xffff, 2);
	virtio_pci_cfg_write(&f->vp, cap + VIRTIO_PCI_CAP_OFFSET, 4, VIRTIO_PCI_COMMON_Q_SELECT);
	virtio_pci_cfg_write(&f->vp, cap + VIRTIO_PCI_CFG_DATA, 4, 1);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	/* a bad length: nothing happens */
	virtio_pci_cfg_write(&f->vp, cap + VIRTIO_PCI_CAP_LENGTH, 4, 3);
	virtio_pci_cfg_write(&f->vp, cap + VIRTIO_PCI_CFG_DATA, 4, 0);
	assert_int_equal(drv_common_read(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	/* accesses past the BARs or of odd sizes */
	assert_int_equal(virtio_pci_bar_read(&f->vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_MEM_BAR_SIZE - 2, 4), 0xffffffffu);
	assert_int_equal(virtio_pci_bar_read(&f->vp, 5, 0, 4), 0xffffffffu);
	assert_int_equal(virtio_pci_bar_read(&f->vp, VIRTIO_PCI_MEM_BAR, 0, 3), ~0ull);
	virtio_pci_bar_write(&f->vp, VIRTIO_PCI_MEM_BAR, UINT64_MAX, 8, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_and_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feature_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isr_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_config_and_cfg_window, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
