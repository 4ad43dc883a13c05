/* SPDX-License-Identifier: MIT */
#ifndef KEEL_PIC_H
#define KEEL_PIC_H

/* Remaps the 8259 PICs away from the exception vectors and masks every line. */
void pic_disable(void);

#endif
