/* Host-test shims for the kernel services that unit-tested sources call (log, panic). */
#ifndef KEEL_TEST_SHIM_H
#define KEEL_TEST_SHIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Every klog() message is appended here (newline-separated); tests assert on it. */
extern char shim_log[65536];
extern int shim_log_count[4];	     /* per level */
extern unsigned long shim_log_bytes; /* bytes printed since the reset, kept past the buffer's end */
void shim_log_reset(void);
int shim_log_contains(const char *needle);

#endif
