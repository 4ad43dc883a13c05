/* SPDX-License-Identifier: MIT */
/*
 * keel.cfg parser. One "key=value" per line; the format is documented in boot/efi/README.md.
 * Nothing in the file can make the parser read out of bounds or stop early: every bad line is
 * reported with its number and skipped, and the caller decides what a missing kernel= means.
 */
#include "boot/efi/loader.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

struct span {
	const char *p;
	size_t n;
};

static struct span trim(const char *p, size_t n)
{
	while (n && is_space(*p)) {
		p++;
		n--;
	}
	while (n && is_space(p[n - 1]))
		n--;
	return (struct span){ p, n };
}

static bool span_eq(struct span s, const char *word)
{
	size_t n = efi_strlen(word);

	if (s.n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s.p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return false;
	}
	return true;
}

/* Copies s into dst (size bytes, NUL included); false and a warning if it does not fit. */
static bool copy_value(char *dst, size_t size, struct span s, const char *what, u32 line, const struct diag *d)
{
	if (s.n >= size) {
		diagf(d, DIAG_WARN, "keel.cfg:%u: %s is %zu bytes, longer than the %zu allowed; line ignored", line,
		      what, s.n, size - 1);
		return false;
	}
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return true;
}

static void parse_module(struct keel_cfg *cfg, struct span v, u32 line, const struct diag *d)
{
	struct cfg_module *m;
	struct span path, args;
	size_t i = 0;

	while (i < v.n && !is_space(v.p[i]))
		i++;
	path = (struct span){ v.p, i };
	args = trim(v.p + i, v.n - i);
	if (!path.n) {
		diagf(d, DIAG_WARN, "keel.cfg:%u: module= needs a file name; line ignored", line);
		return;
	}
	if (cfg->nr_modules == BOOT_MAX_MODULES) {
		cfg->dropped_modules++;
		diagf(d, DIAG_WARN, "keel.cfg:%u: more than %d modules; module %.*s dropped", line, BOOT_MAX_MODULES,
		      (int)path.n, path.p);
		return;
	}
	m = &cfg->modules[cfg->nr_modules];
	if (!copy_value(m->path, sizeof(m->path), path, "the module path", line, d) ||
	    !copy_value(m->args, sizeof(m->args), args, "the module's arguments", line, d))
		return;
	cfg->nr_modules++;
}

static void parse_line(struct keel_cfg *cfg, bool *have_kernel, bool *have_cmdline, const char *p, size_t n, u32 line,
		       const struct diag *d)
{
	struct span s = trim(p, n), key, value;
	size_t eq;

	if (!s.n || s.p[0] == '#')
		return;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] == '\0') {
			diagf(d, DIAG_WARN, "keel.cfg:%u: NUL byte in line; line ignored", line);
			return;
		}
	}
	for (eq = 0; eq < s.n && s.p[eq] != '='; eq++)
		;
	if (eq == s.n) {
		diagf(d, DIAG_WARN, "keel.cfg:%u: expected key=value, got \"%.*s\"; line ignored", line,
		      (int)MIN(s.n, (size_t)60), s.p);
		return;
	}
	key = trim(s.p, eq);
	value = trim(s.p + eq + 1, s.n - eq - 1);

	if (span_eq(key, "kernel")) {
		if (!value.n) {
			diagf(d, DIAG_WARN, "keel.cfg:%u: kernel= is empty; line ignored", line);
			return;
		}
		if (!copy_value(cfg->kernel, sizeof(cfg->kernel), value, "the kernel path", line, d))
			return;
		if (*have_kernel)
			diagf(d, DIAG_WARN, "keel.cfg:%u: second kernel= line; it replaces the first", line);
		*have_kernel = true;
	} else if (span_eq(key, "cmdline")) {
		if (!copy_value(cfg->cmdline, sizeof(cfg->cmdline), value, "the command line", line, d))
			return;
		if (*have_cmdline)
			diagf(d, DIAG_WARN, "keel.cfg:%u: second cmdline= line; it replaces the first", line);
		*have_cmdline = true;
	} else if (span_eq(key, "module")) {
		parse_module(cfg, value, line, d);
	} else {
		diagf(d, DIAG_WARN, "keel.cfg:%u: unknown key \"%.*s\"; line ignored", line,
		      (int)MIN(key.n, (size_t)40), key.p);
	}
}

int cfg_parse(const char *text, size_t len, struct keel_cfg *cfg, const struct diag *d)
{
	bool have_kernel = false, have_cmdline = false;
	size_t pos = 0;
	u32 line = 1;

	memset(cfg, 0, sizeof(*cfg));
	if (len >= 2 &&
	    (((u8)text[0] == 0xff && (u8)text[1] == 0xfe) || ((u8)text[0] == 0xfe && (u8)text[1] == 0xff))) {
		diagf(d, DIAG_ERROR, "keel.cfg is UTF-16 text; save it as ASCII or UTF-8");
		return -EINVAL;
	}
	if (len >= 3 && (u8)text[0] == 0xef && (u8)text[1] == 0xbb && (u8)text[2] == 0xbf)
		pos = 3; /* UTF-8 byte-order mark, as some editors write */

	while (pos < len) {
		size_t end = pos;

		while (end < len && text[end] != '\n')
			end++;
		parse_line(cfg, &have_kernel, &have_cmdline, text + pos, end - pos, line, d);
		pos = end + 1;
		line++;
	}
	if (!have_kernel) {
		diagf(d, DIAG_ERROR, "keel.cfg has no kernel= line; add one such as kernel=keel.elf");
		return -ENOENT;
	}
	return 0;
}
