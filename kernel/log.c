/* SPDX-License-Identifier: MIT */
#include "kernel/log.h"

#include "arch/x86/tsc.h"
#include "kernel/console.h"
#include "kernel/lib/format.h"
#include "kernel/options.h"

static bool at_line_start = true;

void vklog(int level, const char *fmt, va_list ap)
{
	char buf[512];
	int n = 0, m;

	if (level > opts.loglevel)
		return;
	if (at_line_start && opts.timestamps) {
		u64 us = time_ns() / 1000;

		n = ksnprintf(buf, sizeof(buf), "[%5llu.%06llu] ", (unsigned long long)(us / 1000000),
			      (unsigned long long)(us % 1000000));
	}
	m = kvsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	n = MIN((size_t)n + (size_t)m, sizeof(buf) - 1);
	if (n > 0)
		at_line_start = buf[n - 1] == '\n';
	console_write(buf, (size_t)n, level == LOG_ERR);
}

void klog(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vklog(level, fmt, ap);
	va_end(ap);
}
