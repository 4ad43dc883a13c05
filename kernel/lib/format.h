/* SPDX-License-Identifier: MIT */
#ifndef KEEL_FORMAT_H
#define KEEL_FORMAT_H

#include "kernel/types.h"
#include <stdarg.h>

/*
 * printf-style formatting into a bounded buffer. Supports %d %i %u %x %X %o %p %s %c %%, the
 * flags '-', '0', '+', ' ', '#', width and precision (also '*'), and the length modifiers
 * hh h l ll z t j. Returns the length the full output would have had (like C11 vsnprintf).
 */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
