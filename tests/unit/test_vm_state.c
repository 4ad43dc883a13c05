/* SPDX-License-Identifier: MIT */
/* A VM's run state from other CPUs: each change that takes effect kicks every vCPU (so blocked
 * ones see it), refused changes kick nobody, and an ended VM stays ended with the first reason. */
#include "shim.h"

#include <string.h>

#include "kernel/sched.h"
#include "vmm/vm_state.h"

static struct vm vm;
static struct vcpu vcpus[3];
static int kicks[3];

void sched_kick(struct sched_entity *e)
{
	kicks[container_of(e, struct vcpu, se) - vcpus]++;
}

static void reset_kicks(void)
{
	memset(kicks, 0, sizeof(kicks));
}

static void assert_kicked(int n)
{
	for (int i = 0; i < 3; i++)
		assert_int_equal(kicks[i], n);
	reset_kicks();
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	strcpy(vm.name, "t");
	for (int i = 0; i < 3; i++) {
		vcpus[i] = (struct vcpu){ .vm = &vm, .id = (u32)i };
		vm.vcpus[i] = &vcpus[i];
	}
	vm.nr_vcpus = 3;
	reset_kicks();
	return 0;
}

static void test_lifecycle(void **state)
{
	assert_int_equal(vm.state, VM_CREATED);
	assert_false(vm_pause(&vm)); /* not running yet */
	assert_false(vm_resume(&vm));
	assert_kicked(0);
	assert_true(vm_start(&vm));
	assert_false(vm_start(&vm));
	assert_int_equal(vm.state, VM_RUNNING);
	assert_false(vm_resume(&vm)); /* not paused */
	assert_kicked(0);
	assert_true(vm_pause(&vm));
	assert_int_equal(vm.state, VM_PAUSED);
	assert_kicked(1);
	assert_false(vm_pause(&vm)); /* already paused */
	assert_kicked(0);
	assert_true(vm_resume(&vm));
	assert_int_equal(vm.state, VM_RUNNING);
	assert_kicked(1);
}

static void test_kill(void **state)
{
	assert_true(vm_start(&vm));
	assert_true(vm_pause(&vm));
	reset_kicks();
	/* Killing a paused VM works: its blocked vCPUs are kicked to retire. */
	assert_true(vm_kill(&vm, "destroyed from the console"));
	assert_int_equal(vm.state, VM_DEAD);
	assert_true(vm.crashed);
	assert_string_equal(vm.crash_reason, "destroyed from the console");
	assert_kicked(1);
	assert_false(vm_kill(&vm, "again"));
	assert_false(vm_resume(&vm));
	assert_false(vm_pause(&vm));
	assert_kicked(0);
	assert_string_equal(vm.crash_reason, "destroyed from the console");
}

static void test_first_end_wins(void **state)
{
	assert_true(vm_start(&vm));
	vm_exit_status(&vm, 7); /* the guest ended itself first */
	assert_false(vm_kill(&vm, "too late"));
	assert_false(vm.crashed);
	assert_int_equal(vm.exit_status, 7);
	vm_crash(&vm, "late crash");
	assert_false(vm.crashed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_lifecycle, setup),
		cmocka_unit_test_setup(test_kill, setup),
		cmocka_unit_test_setup(test_first_end_wins, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
