/* SPDX-License-Identifier: MIT */
#ifndef KEEL_CONSOLE_H
#define KEEL_CONSOLE_H

#include "kernel/types.h"

struct console {
	const char *name;
	void (*write)(const char *s, size_t n);
	void (*set_error)(bool on); /* optional: highlight error-level output */
	struct console *next;
};

/* Registers a console and replays the log written so far onto it. */
void console_register(struct console *c);
void console_write(const char *s, size_t n, bool error);
/* After a panic on another CPU: take the console lock without waiting forever. */
void console_force_unlock(void);

#endif
