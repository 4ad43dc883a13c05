/* SPDX-License-Identifier: MIT */
/* Saving and loading a guest's debug registers (arch/x86/debugreg.h). */
#include "arch/x86/debugreg.h"

#include "arch/x86/cpu.h"

void dregs_guest_init(struct guest_dregs *d)
{
	*d = (struct guest_dregs){ .dr6 = DR6_INIT };
}

void dregs_guest_save(struct guest_dregs *d)
{
	d->dr[0] = read_dr0();
	d->dr[1] = read_dr1();
	d->dr[2] = read_dr2();
	d->dr[3] = read_dr3();
	d->dr6 = read_dr6();
}

void dregs_guest_restore(const struct guest_dregs *d)
{
	write_dr0(d->dr[0]);
	write_dr1(d->dr[1]);
	write_dr2(d->dr[2]);
	write_dr3(d->dr[3]);
	write_dr6(d->dr6);
}

void dregs_guest_db(u64 pending)
{
	write_dr6(dr6_after_db(read_dr6(), pending));
}

void dregs_guest_reset(struct guest_dregs *d)
{
	dregs_guest_init(d);
	dregs_guest_restore(d);
}
