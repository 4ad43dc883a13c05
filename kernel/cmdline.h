/* SPDX-License-Identifier: MIT */
/* Typed command-line options: "name=value name2 name3=\"quoted value\"". */
#ifndef KEEL_CMDLINE_H
#define KEEL_CMDLINE_H

#include "kernel/types.h"

enum cmdline_type {
	CMDLINE_BOOL, /* value: bool*. "name", "name=on|off|yes|no|true|false|1|0", "no-name" */
	CMDLINE_UINT, /* value: u64*. decimal or 0x hex, within [min, max] */
	CMDLINE_SIZE, /* value: u64*. like UINT with an optional K/M/G suffix (binary units) */
	CMDLINE_STR,  /* value: char[len] */
	CMDLINE_ENUM, /* value: int*, index into choices (NULL-terminated) */
	CMDLINE_LIST, /* may repeat: add(value) is called for each; it warns and returns < 0 if bad */
};

struct cmdline_option {
	const char *name;
	enum cmdline_type type;
	void *value;
	size_t len;
	u64 min, max;
	const char *const *choices;
	const char *help;
	int (*add)(const char *value);
};

/*
 * Parses cmdline against opts. Unknown options and malformed values are warned about (pr_warn)
 * and leave the option at its previous value; the rest of the line is still parsed. Returns the
 * number of problems found (0: all fine).
 */
int cmdline_parse(const char *cmdline, const struct cmdline_option *opts, size_t nr_opts);

#endif
