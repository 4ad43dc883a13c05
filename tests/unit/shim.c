/* Host-test implementations of klog() and panic(). panic() goes through cmocka's mock_assert so
 * tests can expect it with expect_assert_failure(). */
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/log.h"
#include "kernel/panic.h"

char shim_log[65536];
int shim_log_count[4];
unsigned long shim_log_bytes;

void shim_log_reset(void)
{
	shim_log[0] = '\0';
	shim_log_bytes = 0;
	memset(shim_log_count, 0, sizeof(shim_log_count));
}

int shim_log_contains(const char *needle)
{
	return strstr(shim_log, needle) != NULL;
}

void vklog(int level, const char *fmt, va_list ap)
{
	char line[512];
	size_t used = strlen(shim_log);

	shim_log_bytes += (unsigned long)vsnprintf(line, sizeof(line), fmt, ap);
	if (level >= 0 && level < 4)
		shim_log_count[level]++;
	if (getenv("KEEL_TEST_VERBOSE"))
		fprintf(stderr, "klog<%d>: %s", level, line);
	snprintf(shim_log + used, sizeof(shim_log) - used, "%s", line);
}

void klog(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vklog(level, fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	static char msg[512]; /* cmocka prints it after longjmp-ing out of this frame */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mock_assert(0, msg, __FILE__, __LINE__);
	abort(); /* not reached when the test expects the failure */
}
