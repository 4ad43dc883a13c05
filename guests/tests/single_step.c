// SPDX-License-Identifier: MIT
/*
 * Single-stepping (RFLAGS.TF) over instructions the hypervisor completes for the guest (CPUID,
 * RDMSR, OUT) and over STI and MOV SS, whose shadows delay interrupts and, for MOV SS, the
 * single-step trap itself (issue 13 item 5). Each sequence sets TF with POPF and runs a few
 * instructions; the #DB handler records the address after each step and DR6, and clears TF at
 * the sequence's end. A CPU raises one #DB after every instruction (SDM vol. 3B §17.3.1.4), the
 * trap after MOV SS only after the instruction that follows it, always with DR6.BS.
 *
 * Under a hypervisor: an instruction it emulated must still be followed by its #DB (it is lost
 * if the hypervisor just moves RIP on); the #DB after STI hits inside the STI shadow, where
 * VT-x refuses a VM entry that re-injects the (intercepted) #DB unless the pending-debug-
 * exceptions BS bit is set (SDM vol. 3C §26.3.1.5): the VM would die with "VM entry failed".
 * Emulators differ at one place each: Intel CPUs (and Bochs) raise the #DB after STI inside its
 * shadow, QEMU's TCG holds it for one instruction as after MOV SS; and QEMU raises the #DB after
 * MOV SS at once instead of one instruction later. That one step may be there or not (nothing
 * else may differ).
 */
#include "dreg.h"
#include "guest.h"

GUEST_TEST("single_step");

#define RFLAGS_TF (1ul << 8)
#define DR6_BS	  (1ul << 14)
#define MAX_STEPS 8

static volatile unsigned long step_ip[MAX_STEPS], step_dr6[MAX_STEPS];
static volatile unsigned steps, overflow;
static volatile unsigned long seq_end;

GUEST_RAW_HANDLER(db_stub, db_step);

void db_step(struct iret_frame *f)
{
	if (steps < MAX_STEPS) {
		step_ip[steps] = f->ip;
		step_dr6[steps] = read_dr(6);
		steps++;
	} else {
		overflow++;
	}
	write_dr(6, DR6_INIT); /* the CPU never clears DR6 itself */
	if (f->ip == seq_end || steps >= MAX_STEPS)
		f->flags &= ~RFLAGS_TF;
}

/*
 * The sequences, each a function: TF on with POPF (the first trap comes after the instruction
 * that follows the POPF), the labelled instructions, TF off by the handler at *_end.
 */
#define TF_ON "pushfq\n orq $0x100, (%rsp)\n popfq\n"
__asm__(".text\n"
	/* CPUID: exits on both vendors, completed by the hypervisor. */
	"ss_cpuid: push %rbx\n xor %eax, %eax\n xor %ecx, %ecx\n" TF_ON "ss_cpuid_a: nop\n"
	"ss_cpuid_b: cpuid\n"
	"ss_cpuid_c: nop\n"
	"ss_cpuid_end: pop %rbx\n ret\n"
	/* RDMSR of IA32_APIC_BASE (the hypervisor's local APIC answers) and an OUT to port 0x80. */
	"ss_msr_io: mov $0x1b, %ecx\n" TF_ON "ss_msr_io_a: nop\n"
	"ss_msr_io_b: rdmsr\n"
	"ss_msr_io_c: outb %al, $0x80\n"
	"ss_msr_io_d: nop\n"
	"ss_msr_io_end: ret\n"
	/* STI with IF = 0: the #DB after it lands in the STI shadow. */
	"ss_sti: cli\n" TF_ON "ss_sti_a: nop\n"
	"ss_sti_b: sti\n"
	"ss_sti_c: nop\n"
	"ss_sti_end: cli\n ret\n"
	/* STI, then an instruction the hypervisor completes inside the shadow. */
	"ss_sti_cpuid: push %rbx\n xor %eax, %eax\n xor %ecx, %ecx\n cli\n" TF_ON "ss_sti_cpuid_a: nop\n"
	"ss_sti_cpuid_b: sti\n"
	"ss_sti_cpuid_c: cpuid\n"
	"ss_sti_cpuid_d: nop\n"
	"ss_sti_cpuid_end: cli\n pop %rbx\n ret\n"
	/* MOV SS: the trap after it waits for the next instruction, a CPUID that exits. */
	"ss_movss_cpuid: push %rbx\n mov %ss, %edx\n xor %eax, %eax\n xor %ecx, %ecx\n" TF_ON "ss_movss_cpuid_a: nop\n"
	"ss_movss_cpuid_b: mov %edx, %ss\n"
	"ss_movss_cpuid_c: cpuid\n"
	"ss_movss_cpuid_d: nop\n"
	"ss_movss_cpuid_end: pop %rbx\n ret\n"
	/* MOV SS then a NOP: one #DB, after the NOP. */
	"ss_movss: mov %ss, %edx\n" TF_ON "ss_movss_a: nop\n"
	"ss_movss_b: mov %edx, %ss\n"
	"ss_movss_c: nop\n"
	"ss_movss_end: ret\n");

#define SEQ_LABELS(s) extern const char ss_##s##_a[], ss_##s##_b[], ss_##s##_c[], ss_##s##_end[]
void ss_cpuid(void), ss_msr_io(void), ss_sti(void), ss_sti_cpuid(void), ss_movss_cpuid(void), ss_movss(void);
SEQ_LABELS(cpuid);
SEQ_LABELS(msr_io);
SEQ_LABELS(sti);
SEQ_LABELS(sti_cpuid);
SEQ_LABELS(movss_cpuid);
SEQ_LABELS(movss);
extern const char ss_msr_io_d[], ss_sti_cpuid_d[], ss_movss_cpuid_d[];

/* Runs fn single-stepped and checks the #DBs against want[0..n) (the address after each step);
 * the step at `optional`, if not NULL, may be missing (see above). */
static void run(const char *what, void (*fn)(void), const char *const *want, unsigned n, const char *optional)
{
	unsigned long flags0 = read_flags();
	unsigned i = 0, k = 0;

	steps = overflow = 0;
	seq_end = (unsigned long)want[n - 1];
	write_dr(6, DR6_INIT);
	fn();
	CHECK(!(read_flags() & RFLAGS_TF), "%s: TF still set after the sequence", what);
	CHECK(!overflow, "%s: %u more #DBs than recorded", what, overflow);
	for (; k < steps && i < n; k++, i++) {
		if (want[i] == optional && step_ip[k] != (unsigned long)optional)
			i++;
		if (i == n)
			break;
		CHECK(step_ip[k] == (unsigned long)want[i], "%s: step %u: #DB at 0x%lx, expected 0x%lx", what, k,
		      step_ip[k], (unsigned long)want[i]);
	}
	CHECK(k == steps && i == n, "%s: %u #DBs, expected %u (the last at 0x%lx)", what, steps, n,
	      steps ? step_ip[steps - 1] : 0ul);
	for (k = 0; k < steps; k++)
		CHECK((step_dr6[k] & (DR6_BS | 0xf)) == DR6_BS, "%s: step %u: DR6 0x%lx, expected BS alone", what, k,
		      step_dr6[k]);
	if (!(flags0 & (1ul << 9)))
		cli();
	printf("%s: %u steps%s\n", what, steps, failures() ? "" : ", as expected");
}

void test_main(void)
{
	static const char *const cpuid_want[] = { ss_cpuid_b, ss_cpuid_c, ss_cpuid_end };
	static const char *const msr_io_want[] = { ss_msr_io_b, ss_msr_io_c, ss_msr_io_d, ss_msr_io_end };
	static const char *const sti_want[] = { ss_sti_b, ss_sti_c, ss_sti_end };
	static const char *const sti_cpuid_want[] = { ss_sti_cpuid_b, ss_sti_cpuid_c, ss_sti_cpuid_d,
						      ss_sti_cpuid_end };
	static const char *const movss_cpuid_want[] = { ss_movss_cpuid_b, ss_movss_cpuid_c, ss_movss_cpuid_d,
							ss_movss_cpuid_end };
	static const char *const movss_want[] = { ss_movss_b, ss_movss_c, ss_movss_end };

	pic_init(); /* every IRQ masked: STI lets nothing in */
	idt_set_stub(VEC_DB, db_stub);
	run("cpuid", ss_cpuid, cpuid_want, 3, NULL);
	run("rdmsr, out", ss_msr_io, msr_io_want, 4, NULL);
	run("sti", ss_sti, sti_want, 3, ss_sti_c);
	run("sti; cpuid", ss_sti_cpuid, sti_cpuid_want, 4, ss_sti_cpuid_c);
	run("mov ss; cpuid", ss_movss_cpuid, movss_cpuid_want, 4, ss_movss_cpuid_c);
	run("mov ss; nop", ss_movss, movss_want, 3, ss_movss_c);
}
