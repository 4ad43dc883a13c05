/* SPDX-License-Identifier: MIT */
/* AML opcodes and prefixes (ACPI 6.4 §20.3), shared by the host's \_S5_ scanner (drivers/acpi/s5.c)
 * and the VMs' AML emitter (vmm/aml.c). */
#ifndef KEEL_DRIVERS_ACPI_AML_OPCODES_H
#define KEEL_DRIVERS_ACPI_AML_OPCODES_H

#define AML_ZERO_OP	      0x00
#define AML_ONE_OP	      0x01
#define AML_NAME_OP	      0x08
#define AML_BYTE_PREFIX	      0x0a
#define AML_WORD_PREFIX	      0x0b
#define AML_DWORD_PREFIX      0x0c
#define AML_QWORD_PREFIX      0x0e
#define AML_SCOPE_OP	      0x10
#define AML_BUFFER_OP	      0x11
#define AML_PACKAGE_OP	      0x12
#define AML_DUAL_NAME_PREFIX  0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX     0x5b
#define AML_DEVICE_OP	      0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR	      0x5c /* '\' */
#define AML_PARENT_CHAR	      0x5e /* '^' */
#define AML_ONES_OP	      0xff

#endif
