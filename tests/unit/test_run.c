/* SPDX-License-Identifier: MIT */
/* The VM run loop's lifecycle: pause stops guest entries, resume restarts them, an ended VM
 * stays ended. The vendor backend and the devices are fakes that script the scenario. */
#include "shim.h"

#include "vmm/exit.h"
#include "vmm/guest_console.h"
#include "vmm/platform.h"
#include "vmm/run.h"

static struct vm vm;
static struct vcpu vcpu = { .vm = &vm };
static int entries, idles, dispatched, flushed;

static void fake_run(struct vcpu *v, struct vm_exit *e)
{
	entries++;
	e->reason = EXIT_HLT;
	assert_int_equal(vm.state, VM_RUNNING); /* never entered while paused */
	if (entries == 3)
		assert_true(vm_pause(&vm)); /* as another CPU would, while the guest runs */
	if (entries == 6)
		vm.state = VM_DEAD; /* the guest ended itself (debug-exit port) */
}

static const struct vcpu_ops fake_ops = { .name = "fake", .run = fake_run };
const struct vcpu_ops *vcpu_ops = &fake_ops;

static int fpu_resets;

void vmm_fpu_reset(void)
{
	fpu_resets++;
	assert_int_equal(entries, 0); /* before the first entry */
}

void vmm_idle(void)
{
	idles++;
	assert_int_equal(vm.state, VM_PAUSED);
	assert_false(vm_pause(&vm)); /* already paused */
	if (idles == 5)
		assert_true(vm_resume(&vm));
}

void platform_before_entry(struct vcpu *v)
{
}

void exit_dispatch(struct vcpu *v, const struct vm_exit *e)
{
	dispatched++;
}

void guest_console_flush(struct vm *v)
{
	flushed++;
}

static void test_pause_resume(void **state)
{
	vm.state = VM_CREATED;
	vm.vcpus[0] = &vcpu;
	vm.nr_vcpus = 1;
	assert_false(vm_resume(&vm)); /* not paused */
	vm_run(&vm);
	assert_int_equal(entries, 6);
	assert_int_equal(idles, 5);
	assert_int_equal(dispatched, 5); /* the exit that ended the VM is not handled */
	assert_int_equal(flushed, 1);
	assert_int_equal(fpu_resets, 1);
	assert_int_equal(vm.state, VM_DEAD);
	assert_false(vm_pause(&vm));
	assert_false(vm_resume(&vm));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_resume),
	};

	return cmocka_run_group_tests_name("vm run loop", tests, NULL, NULL);
}
