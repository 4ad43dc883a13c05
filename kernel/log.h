/* SPDX-License-Identifier: MIT */
#ifndef KEEL_LOG_H
#define KEEL_LOG_H

#include "kernel/types.h"
#include <stdarg.h>

enum log_level {
	LOG_ALWAYS = -1, /* status lines users' scripts key on: printed at every log level */
	LOG_ERR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* Print one message at a level: "[   1.234567] text". Messages above the console level are dropped. */
void klog(int level, const char *fmt, ...) __printf(2, 3);
void vklog(int level, const char *fmt, va_list ap);

#define pr_err(...)   klog(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  klog(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  klog(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) klog(LOG_DEBUG, __VA_ARGS__)

#endif
