# Host unit tests of the management VM's code (guests/mgmt/): keel.ko's ABI checks, compiled from
# the module's own source file.
UNIT_TESTS += test_keel_abi
test_keel_abi_SRCS := tests/unit/test_keel_abi.c guests/mgmt/keel/keel_abi.c
test_keel_abi_CFLAGS := -Iguests/mgmt/keel -Ivmm/public
# VMs created at run time: the management VM's lifecycle hypercalls, the event queue and the VM
# list's run-time slots (vmm/mgmt_vm.c, vmm/mgmt_events.c, vmm/vmm.c, vmm/vm_config.c).
UNIT_TESTS += test_mgmt_vm
test_mgmt_vm_SRCS := tests/unit/test_mgmt_vm.c tests/unit/shim.c vmm/mgmt_vm.c vmm/mgmt_abi.c vmm/mgmt_events.c vmm/vmm.c \
	vmm/vm_config.c vmm/vm_state.c kernel/lib/format.c kernel/lib/string.c kernel/cmdline.c
# keel.ko's checks of the VM lifecycle ioctls, from the module's own source.
UNIT_TESTS += test_keel_abi_vm
test_keel_abi_vm_SRCS := tests/unit/test_keel_abi_vm.c guests/mgmt/keel/keel_abi_vm.c
test_keel_abi_vm_CFLAGS := -Iguests/mgmt/keel -Ivmm/public
# keelctl create FILE's config parser (guests/mgmt/tools/keelcfg.c), pure: no libkeel.
UNIT_TESTS += test_keelcfg
test_keelcfg_SRCS := tests/unit/test_keelcfg.c guests/mgmt/tools/keelcfg.c
test_keelcfg_CFLAGS := -Iguests/mgmt/tools -Ivmm/public
# keelctl create, both forms, over a fake libkeel that records the calls (keelctl_vm.c's own source).
UNIT_TESTS += test_keelctl_create
test_keelctl_create_SRCS := tests/unit/test_keelctl_create.c guests/mgmt/tools/keelctl_vm.c guests/mgmt/tools/keelcfg.c \
	guests/mgmt/tools/keelctl_disk.c guests/mgmt/tools/keelctl_mon.c
# keelctl's side of keel-dm: disk checks on real files, keel-dm's argv, starting a stand-in keel-dm.
UNIT_TESTS += test_keelctl_dm
test_keelctl_dm_SRCS := tests/unit/test_keelctl_dm.c guests/mgmt/tools/keelctl_dm.c guests/mgmt/tools/keelctl_disk.c
test_keelctl_dm_CFLAGS := -Iguests/mgmt/tools -Ivmm/public
test_keelctl_create_CFLAGS := -Iguests/mgmt/tools -Ivmm/public
# keelctl's per-VM monitor (keelctl_mon.c: on_poweroff, on_reboot, on_crash): the end -> key
# mapping, the restart-loop guard, its loop over a fake libkeel and clock, the forked process.
UNIT_TESTS += test_keelctl_mon
test_keelctl_mon_SRCS := tests/unit/test_keelctl_mon.c guests/mgmt/tools/keelctl_mon.c guests/mgmt/tools/keelctl_dm.c \
	guests/mgmt/tools/keelcfg.c
test_keelctl_mon_CFLAGS := -Iguests/mgmt/tools -Ivmm/public
# keelctl console's session (keelctl_console.c) through pipes and a socketpair over a fake libkeel:
# bytes unchanged both ways, Ctrl-] detaches, the VM's end and keel-dm's socket closing.
UNIT_TESTS += test_keelctl_console
test_keelctl_console_SRCS := tests/unit/test_keelctl_console.c guests/mgmt/tools/keelctl_console.c
test_keelctl_console_CFLAGS := -Iguests/mgmt/tools -Ivmm/public
# keelctl top (keelctl_top.c): rates from two samples matched by id, the table, batch mode over a
# fake keel_vm_list.
UNIT_TESTS += test_keelctl_top
test_keelctl_top_SRCS := tests/unit/test_keelctl_top.c guests/mgmt/tools/keelctl_top.c
test_keelctl_top_CFLAGS := -Iguests/mgmt/tools -Ivmm/public
