# keel-dm, the device model (guests/mgmt/dm/): its core and devices compiled for the host, driven
# by a fake virtio driver (tests/unit/dm_driver.c) the way Linux's virtio_pci_modern would; the PCI
# function model is Keel's own (vmm/dev/vpci_dev.c).
DM_CORE_SRCS := guests/mgmt/dm/guest_mem.c guests/mgmt/dm/virtq.c guests/mgmt/dm/virtio_pci.c \
	guests/mgmt/dm/virtio_pci_common.c vmm/dev/vpci_dev.c tests/unit/dm_driver.c
UNIT_TESTS += test_dm_virtq
test_dm_virtq_SRCS := tests/unit/test_dm_virtq.c $(DM_CORE_SRCS)
UNIT_TESTS += test_dm_virtio_pci
test_dm_virtio_pci_SRCS := tests/unit/test_dm_virtio_pci.c $(DM_CORE_SRCS)
DM_DEV_SRCS := guests/mgmt/dm/virtio_rng.c guests/mgmt/dm/virtio_console.c guests/mgmt/dm/virtio_blk.c
UNIT_TESTS += test_dm_blk
test_dm_blk_SRCS := tests/unit/test_dm_blk.c $(DM_CORE_SRCS) $(DM_DEV_SRCS)
UNIT_TESTS += test_dm_net
test_dm_net_SRCS := tests/unit/test_dm_net.c guests/mgmt/dm/virtio_net.c guests/mgmt/dm/tap.c $(DM_CORE_SRCS)
UNIT_TESTS += test_dm_rng_console
test_dm_rng_console_SRCS := tests/unit/test_dm_rng_console.c $(DM_CORE_SRCS) $(DM_DEV_SRCS)
# The main loop's core (dm_loop.c) over a fake libkeel that applies Keel's own checks of claims
# and interrupt batches (vmm/ioreq_check.c).
UNIT_TESTS += test_dm_loop
test_dm_loop_SRCS := tests/unit/test_dm_loop.c guests/mgmt/dm/dm_loop.c vmm/ioreq_check.c $(DM_CORE_SRCS) \
	$(DM_DEV_SRCS)
