// SPDX-License-Identifier: MIT
/*
 * keelcfg: `keelctl create FILE`'s parser (keelcfg.h). The file is hostile input: one linear pass,
 * no recursion (lists do not nest), every number checked for overflow before it is scaled, every
 * string bounded by the field it goes to, and no user byte echoed into a message except a key's
 * name, which is letters, digits and '_' of bounded length.
 */
#include "keelcfg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDENT_MAX 32

static const char *const key_names[KEELCFG_NR_KEYS] = {
	[KEELCFG_NAME] = "name",
	[KEELCFG_MEMORY] = "memory",
	[KEELCFG_VCPUS] = "vcpus",
	[KEELCFG_WEIGHT] = "weight",
	[KEELCFG_CAP] = "cap",
	[KEELCFG_CPUS] = "cpus",
	[KEELCFG_KERNEL] = "kernel",
	[KEELCFG_RAMDISK] = "ramdisk",
	[KEELCFG_CMDLINE] = "cmdline",
	[KEELCFG_KERNEL_TYPE] = "kernel_type",
	[KEELCFG_ON_POWEROFF] = "on_poweroff",
	[KEELCFG_ON_REBOOT] = "on_reboot",
	[KEELCFG_ON_CRASH] = "on_crash",
	[KEELCFG_DISK] = "disk",
	[KEELCFG_VIF] = "vif",
};

const char *keelcfg_key_name(enum keelcfg_key key)
{
	return (unsigned)key < KEELCFG_NR_KEYS ? key_names[key] : "?";
}

/* One CPU set: "all", or numbers and ranges joined by ','. */
static int parse_set(const char *s, uint64_t *mask)
{
	*mask = 0;
	if (!strcmp(s, "all")) {
		*mask = ~0ull;
		return 0;
	}
	while (*s) {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s || a > 63)
			return -1;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s || b > 63 || b < a)
				return -1;
		}
		for (unsigned long c = a; c <= b; c++)
			*mask |= 1ull << c;
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return *mask ? 0 : -1;
}

int keelcfg_parse_cpus(const char *s, uint64_t *aff, uint32_t vcpus)
{
	char buf[256], *save = NULL, *tok;
	uint32_t i = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save), i++)
		if (i >= KEEL_VM_MAX_VCPUS || parse_set(tok, &aff[i]))
			return -1;
	if (!i)
		return -1;
	for (; i < vcpus && i < KEEL_VM_MAX_VCPUS; i++)
		aff[i] = aff[i - 1];
	return 0;
}

int keelcfg_is_bzimage(const void *head, size_t len)
{
	return len >= KEELCFG_BZIMAGE_HEAD && !memcmp((const char *)head + 0x202, "HdrS", 4);
}

/* The parser's state: where it is, which line, and the key being parsed (for messages). */
struct parser {
	const char *p, *end;
	uint32_t line;
	char key[IDENT_MAX];
	struct keelcfg_error *err;
};

enum val_kind { V_NUM, V_STR, V_LIST };
struct str {
	const char *s;
	size_t len;
};
struct val {
	enum val_kind kind;
	uint64_t num;
	struct str str;
	uint32_t n;
	struct str items[KEELCFG_LIST_MAX];
};

__attribute__((format(printf, 3, 4))) static int error_at(struct parser *ps, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	ps->err->line = line;
	if (ps->key[0])
		n = snprintf(ps->err->msg, sizeof(ps->err->msg), "key '%s': ", ps->key);
	va_start(ap, fmt);
	vsnprintf(ps->err->msg + n, sizeof(ps->err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

#define error(ps, ...) error_at(ps, (ps)->line, __VA_ARGS__)

static int is_ident(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Spaces and tabs (and '\r'); with `lines`, also newlines and comments, as inside a list. */
static void skip_blank(struct parser *ps, int lines)
{
	while (ps->p < ps->end) {
		char c = *ps->p;

		if (c == ' ' || c == '\t' || c == '\r') {
			ps->p++;
		} else if (lines && c == '\n') {
			ps->p++;
			ps->line++;
		} else if (lines && c == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		} else {
			return;
		}
	}
}

static int parse_string(struct parser *ps, struct str *out)
{
	char quote = *ps->p++;

	out->s = ps->p;
	while (ps->p < ps->end && *ps->p != quote && *ps->p != '\n')
		ps->p++;
	if (ps->p == ps->end || *ps->p != quote)
		return error(ps, "string not closed on its line");
	out->len = (size_t)(ps->p - out->s);
	ps->p++;
	return 0;
}

static int parse_number(struct parser *ps, uint64_t *out)
{
	uint64_t n = 0;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		unsigned d = (unsigned)(*ps->p++ - '0');

		if (n > (UINT64_MAX - d) / 10)
			return error(ps, "number too large");
		n = n * 10 + d;
	}
	if (ps->p < ps->end && is_ident(*ps->p, 0))
		return error(ps, "not a number");
	*out = n;
	return 0;
}

/* [ "a", 'b', ] over any number of lines; no nesting. */
static int parse_list(struct parser *ps, struct val *v)
{
	uint32_t open_line = ps->line;

	ps->p++;
	v->n = 0;
	for (;;) {
		skip_blank(ps, 1);
		if (ps->p == ps->end)
			return error_at(ps, open_line, "list not closed ('[' on line %u has no ']')", open_line);
		if (*ps->p == ']')
			break;
		if (*ps->p == '[')
			return error(ps, "lists do not nest");
		if (*ps->p != '"' && *ps->p != '\'')
			return error(ps, "list entries are quoted strings");
		if (v->n == KEELCFG_LIST_MAX)
			return error(ps, "more than %u entries", KEELCFG_LIST_MAX);
		if (parse_string(ps, &v->items[v->n++]))
			return -1;
		skip_blank(ps, 1);
		if (ps->p < ps->end && *ps->p == ',')
			ps->p++;
		else if (ps->p < ps->end && *ps->p != ']')
			return error(ps, "expected ',' or ']' after a list entry");
	}
	ps->p++;
	return 0;
}

static int parse_value(struct parser *ps, struct val *v)
{
	char c = ps->p < ps->end ? *ps->p : '\n';

	if (c == '"' || c == '\'') {
		v->kind = V_STR;
		return parse_string(ps, &v->str);
	}
	if (c == '[') {
		v->kind = V_LIST;
		return parse_list(ps, v);
	}
	if (c >= '0' && c <= '9') {
		v->kind = V_NUM;
		return parse_number(ps, &v->num);
	}
	return error(ps, c == '\n' || c == '#' ? "no value" : "not a number, a quoted string or a list");
}

/* A string value into dst (size bytes with its NUL): at least `min` bytes, no control characters. */
static int take_string(struct parser *ps, const struct val *v, char *dst, size_t size, size_t min)
{
	if (v->kind != V_STR)
		return error(ps, "not a quoted string");
	if (v->str.len < min)
		return error(ps, "empty");
	if (v->str.len >= size)
		return error(ps, "too long (at most %zu bytes)", size - 1);
	for (size_t i = 0; i < v->str.len; i++)
		if ((unsigned char)v->str.s[i] < 0x20 && v->str.s[i] != '\t')
			return error(ps, "control character in the string");
	memcpy(dst, v->str.s, v->str.len);
	dst[v->str.len] = '\0';
	return 0;
}

static int take_number(struct parser *ps, const struct val *v, uint64_t min, uint64_t max, uint64_t *out)
{
	if (v->kind != V_NUM)
		return error(ps, "not a number");
	if (v->num < min || v->num > max)
		return error(ps, "out of range (%llu to %llu)", (unsigned long long)min, (unsigned long long)max);
	*out = v->num;
	return 0;
}

/* One of `words` (NULL-terminated); its index in *out. */
static int take_word(struct parser *ps, const struct val *v, const char *const *words, const char *what, int *out)
{
	char buf[16];

	if (take_string(ps, v, buf, sizeof(buf), 0))
		return error(ps, "not %s", what);
	for (int i = 0; words[i]; i++) {
		if (!strcmp(buf, words[i])) {
			*out = i;
			return 0;
		}
	}
	return error(ps, "not %s", what);
}

static int name_char(char c)
{
	return is_ident(c, 0) || c == '.' || c == '-';
}

/* The next ','-separated field of an entry; 0 at its end. */
static int next_field(struct str *rest, struct str *field)
{
	const char *comma;

	if (!rest->s)
		return 0;
	comma = memchr(rest->s, ',', rest->len);
	field->s = rest->s;
	field->len = comma ? (size_t)(comma - rest->s) : rest->len;
	if (comma) {
		rest->len -= field->len + 1;
		rest->s = comma + 1;
	} else {
		rest->s = NULL;
	}
	return 1;
}

static int str_is(const struct str *s, const char *word)
{
	return s->len == strlen(word) && !memcmp(s->s, word, s->len);
}

/* "key=value": splits; 0 if there is no '='. */
static int split_kv(const struct str *f, struct str *k, struct str *val)
{
	const char *eq = memchr(f->s, '=', f->len);

	if (!eq)
		return 0;
	k->s = f->s;
	k->len = (size_t)(eq - f->s);
	val->s = eq + 1;
	val->len = f->len - k->len - 1;
	return 1;
}

static int valid_vdev(const struct str *s)
{
	static const char *const prefixes[] = { "xvd", "vd", "hd", "sd" };

	for (unsigned i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (s->len == n + 1 && !memcmp(s->s, prefixes[i], n) && s->s[n] >= 'a' && s->s[n] <= 'z')
			return 1;
	}
	return 0;
}

/* xl's disk spec, a subset: "PATH[,FORMAT[,VDEV[,ACCESS]]]" with positional or target=, format=,
 * vdev=, access= fields. FORMAT raw; ACCESS rw (w) or ro (r). */
static int parse_disk(struct parser *ps, uint32_t i, const struct str *spec, struct keelcfg_disk *d)
{
	static const char *const fields[] = { "target", "format", "vdev", "access" };
	struct str rest = *spec, f, k, val, got[4] = { { 0 } };
	unsigned pos = 0;

	while (next_field(&rest, &f)) {
		unsigned which;

		if (split_kv(&f, &k, &val)) {
			for (which = 0; which < 4 && !str_is(&k, fields[which]); which++)
				;
			if (which == 4)
				return error(ps, "entry %u: unknown field (target, format, vdev, access)", i + 1);
		} else {
			if (pos == 4)
				return error(ps, "entry %u: more than 4 fields", i + 1);
			which = pos++;
			val = f;
			if (!val.len)
				continue; /* an empty positional field: its default */
		}
		if (got[which].s)
			return error(ps, "entry %u: %s given twice", i + 1, fields[which]);
		got[which] = val;
	}
	if (!got[0].s || !got[0].len)
		return error(ps, "entry %u: no path", i + 1);
	if (got[0].len >= sizeof(d->path))
		return error(ps, "entry %u: path too long (at most %zu bytes)", i + 1, sizeof(d->path) - 1);
	for (size_t j = 0; j < got[0].len; j++)
		if ((unsigned char)got[0].s[j] < 0x20)
			return error(ps, "entry %u: control character in the path", i + 1);
	memcpy(d->path, got[0].s, got[0].len);
	if (got[1].s && !str_is(&got[1], "raw"))
		return error(ps, "entry %u: format not supported (raw only)", i + 1);
	if (got[2].s) {
		if (!valid_vdev(&got[2]))
			return error(ps, "entry %u: vdev not xvdX, vdX, hdX or sdX", i + 1);
		memcpy(d->vdev, got[2].s, got[2].len);
	} else {
		snprintf(d->vdev, sizeof(d->vdev), "xvd%c", 'a' + (int)i);
	}
	if (got[3].s) {
		if (str_is(&got[3], "ro") || str_is(&got[3], "r"))
			d->readonly = 1;
		else if (!str_is(&got[3], "rw") && !str_is(&got[3], "w"))
			return error(ps, "entry %u: access not rw or ro", i + 1);
	}
	return 0;
}

static int hex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* xl's vif spec, a subset: "bridge=BR,mac=XX:XX:XX:XX:XX:XX", either field optional. */
static int parse_vif(struct parser *ps, uint32_t i, const struct str *spec, struct keelcfg_vif *v)
{
	struct str rest = *spec, f, k, val;
	int seen_bridge = 0;

	if (!spec->len)
		return 0; /* '' : every default, as xl takes it */
	while (next_field(&rest, &f)) {
		if (!split_kv(&f, &k, &val))
			return error(ps, "entry %u: a field is not key=value", i + 1);
		if (str_is(&k, "bridge")) {
			if (seen_bridge++)
				return error(ps, "entry %u: bridge given twice", i + 1);
			if (!val.len || val.len >= sizeof(v->bridge))
				return error(ps, "entry %u: bridge name empty or longer than %zu", i + 1,
					     sizeof(v->bridge) - 1);
			for (size_t j = 0; j < val.len; j++)
				if (!name_char(val.s[j]))
					return error(ps, "entry %u: bridge name not letters, digits, '_', '.', '-'",
						     i + 1);
			memcpy(v->bridge, val.s, val.len);
		} else if (str_is(&k, "mac")) {
			if (v->has_mac++)
				return error(ps, "entry %u: mac given twice", i + 1);
			if (val.len != 17)
				return error(ps, "entry %u: mac not XX:XX:XX:XX:XX:XX", i + 1);
			for (unsigned b = 0; b < 6; b++) {
				int hi = hex(val.s[3 * b]), lo = hex(val.s[3 * b + 1]);

				if (hi < 0 || lo < 0 || (b < 5 && val.s[3 * b + 2] != ':'))
					return error(ps, "entry %u: mac not XX:XX:XX:XX:XX:XX", i + 1);
				v->mac[b] = (uint8_t)(hi << 4 | lo);
			}
			if (v->mac[0] & 1)
				return error(ps, "entry %u: mac is a multicast address", i + 1);
		} else {
			return error(ps, "entry %u: unknown field (bridge, mac)", i + 1);
		}
	}
	return 0;
}

static int take_list(struct parser *ps, const struct val *v)
{
	if (v->kind != V_LIST)
		return error(ps, "not a list [ \"...\", ... ]");
	return 0;
}

static int set_key(struct parser *ps, struct keelcfg *cfg, enum keelcfg_key key, const struct val *v, char *cpus)
{
	static const char *const kernel_types[] = { "linux", "multiboot", NULL };
	static const char *const actions[] = { "preserve", "destroy", "restart", NULL };
	uint64_t n = 0;
	int w = 0;

	switch (key) {
	case KEELCFG_NAME:
		if (take_string(ps, v, cfg->name, sizeof(cfg->name), 1))
			return -1;
		for (const char *c = cfg->name; *c; c++)
			if (!name_char(*c))
				return error(ps, "only letters, digits, '_', '.' and '-'");
		return 0;
	case KEELCFG_MEMORY:
		/* MiB; the bound keeps memory << 20 from wrapping (Keel refuses what it cannot give) */
		if (take_number(ps, v, 1, UINT64_MAX >> 20, &n))
			return -1;
		cfg->mem_bytes = n << 20;
		return 0;
	case KEELCFG_VCPUS:
		if (take_number(ps, v, 1, KEEL_VM_MAX_VCPUS, &n))
			return -1;
		cfg->vcpus = (uint32_t)n;
		return 0;
	case KEELCFG_WEIGHT:
		if (take_number(ps, v, 1, 65535, &n))
			return -1;
		cfg->weight = (uint32_t)n;
		return 0;
	case KEELCFG_CAP:
		/* checked against vcpus at the end: cap may come first */
		if (take_number(ps, v, 0, 100 * KEEL_VM_MAX_VCPUS, &n))
			return -1;
		cfg->cap_pct = (uint32_t)n;
		return 0;
	case KEELCFG_CPUS:
		return take_string(ps, v, cpus, 256, 1);
	case KEELCFG_KERNEL:
		return take_string(ps, v, cfg->kernel, sizeof(cfg->kernel), 1);
	case KEELCFG_RAMDISK:
		return take_string(ps, v, cfg->ramdisk, sizeof(cfg->ramdisk), 1);
	case KEELCFG_CMDLINE:
		return take_string(ps, v, cfg->cmdline, sizeof(cfg->cmdline), 0);
	case KEELCFG_KERNEL_TYPE:
		if (take_word(ps, v, kernel_types, "\"linux\" or \"multiboot\"", &w))
			return -1;
		cfg->kernel_type = w ? KEELCFG_KERNEL_MULTIBOOT : KEELCFG_KERNEL_LINUX;
		return 0;
	case KEELCFG_ON_POWEROFF:
	case KEELCFG_ON_REBOOT:
	case KEELCFG_ON_CRASH:
		if (take_word(ps, v, actions, "\"preserve\", \"destroy\" or \"restart\"", &w))
			return -1;
		*(key == KEELCFG_ON_POWEROFF ? &cfg->on_poweroff
		  : key == KEELCFG_ON_REBOOT ? &cfg->on_reboot
					     : &cfg->on_crash) = (enum keelcfg_action)w;
		return 0;
	case KEELCFG_DISK:
		if (take_list(ps, v))
			return -1;
		for (uint32_t i = 0; i < v->n; i++) {
			if (parse_disk(ps, i, &v->items[i], &cfg->disks[i]))
				return -1;
			for (uint32_t j = 0; j < i; j++)
				if (!strcmp(cfg->disks[i].vdev, cfg->disks[j].vdev))
					return error(ps, "entries %u and %u have the same vdev", j + 1, i + 1);
		}
		cfg->nr_disks = v->n;
		return 0;
	case KEELCFG_VIF:
		if (take_list(ps, v))
			return -1;
		for (uint32_t i = 0; i < v->n; i++)
			if (parse_vif(ps, i, &v->items[i], &cfg->vifs[i]))
				return -1;
		cfg->nr_vifs = v->n;
		return 0;
	case KEELCFG_NR_KEYS:
		break;
	}
	return error(ps, "unknown");
}

static int lookup_key(const char *ident)
{
	if (!strcmp(ident, "extra"))
		return KEELCFG_CMDLINE;
	for (int k = 0; k < KEELCFG_NR_KEYS; k++)
		if (!strcmp(ident, key_names[k]))
			return k;
	return -1;
}

/* key = value [;] [# comment] */
static int parse_line(struct parser *ps, struct keelcfg *cfg, char *cpus)
{
	struct val v;
	size_t len = 0;
	uint32_t line;
	int key;

	ps->key[0] = '\0';
	if (!is_ident(*ps->p, 1))
		return error(ps, "expected 'key = value'");
	while (ps->p < ps->end && is_ident(*ps->p, 0)) {
		if (len == IDENT_MAX - 1) {
			ps->key[0] = '\0';
			return error(ps, "key longer than %u characters", IDENT_MAX - 1);
		}
		ps->key[len++] = *ps->p++;
		ps->key[len] = '\0';
	}
	key = lookup_key(ps->key);
	if (key < 0)
		return error(ps, !strcmp(ps->key, "type")
				     ? "not supported: use kernel_type = \"linux\" or \"multiboot\""
				     : "unknown");
	if (cfg->line[key])
		return error(ps, "given twice (first on line %u)", cfg->line[key]);
	skip_blank(ps, 0);
	if (ps->p == ps->end || *ps->p != '=')
		return error(ps, "expected '=' after the key");
	ps->p++;
	skip_blank(ps, 0);
	cfg->line[key] = ps->line;
	if (parse_value(ps, &v))
		return -1;
	skip_blank(ps, 0);
	if (ps->p < ps->end && *ps->p == ';')
		ps->p++;
	skip_blank(ps, 0);
	if (ps->p < ps->end && *ps->p != '\n' && *ps->p != '#')
		return error(ps, "unexpected text after the value");
	/* messages name the line the value starts on: a list may have ended lines later */
	line = ps->line;
	ps->line = cfg->line[key];
	if (set_key(ps, cfg, (enum keelcfg_key)key, &v, cpus))
		return -1;
	ps->line = line;
	return 0;
}

/* What only the whole file can say: required keys, and the keys that depend on others. */
static int check_whole(struct parser *ps, struct keelcfg *cfg, const char *cpus)
{
	static const enum keelcfg_key required[] = { KEELCFG_NAME, KEELCFG_MEMORY, KEELCFG_KERNEL };

	for (unsigned i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!cfg->line[required[i]]) {
			snprintf(ps->key, sizeof(ps->key), "%s", key_names[required[i]]);
			return error(ps, "missing (name, memory and kernel are required)");
		}
	}
	if (!cfg->vcpus)
		cfg->vcpus = 1;
	if (cfg->cap_pct > 100 * cfg->vcpus) {
		snprintf(ps->key, sizeof(ps->key), "cap");
		return error_at(ps, cfg->line[KEELCFG_CAP], "more than 100 x vcpus (%u)", 100 * cfg->vcpus);
	}
	if (cfg->line[KEELCFG_CPUS]) {
		uint32_t sets = 1;

		for (const char *c = cpus; *c; c++)
			sets += *c == '/';
		snprintf(ps->key, sizeof(ps->key), "cpus");
		if (keelcfg_parse_cpus(cpus, cfg->affinity, cfg->vcpus))
			return error_at(ps, cfg->line[KEELCFG_CPUS],
					"not a CPU set (\"0-3\", \"0,2\", \"0/1\", \"all\")");
		if (sets > cfg->vcpus)
			return error_at(ps, cfg->line[KEELCFG_CPUS], "%u sets for %u vCPUs", sets, cfg->vcpus);
	}
	if (cfg->line[KEELCFG_RAMDISK] && cfg->kernel_type == KEELCFG_KERNEL_MULTIBOOT) {
		snprintf(ps->key, sizeof(ps->key), "ramdisk");
		return error_at(ps, cfg->line[KEELCFG_RAMDISK],
				"goes with a Linux kernel, not kernel_type \"multiboot\"");
	}
	return 0;
}

int keelcfg_parse(const char *buf, size_t len, struct keelcfg *cfg, struct keelcfg_error *err)
{
	struct parser ps = { .p = buf, .end = buf + len, .line = 1, .err = err };
	char cpus[256] = "";

	memset(cfg, 0, sizeof(*cfg));
	memset(err, 0, sizeof(*err));
	if (len > KEELCFG_FILE_MAX)
		return error_at(&ps, 1, "file larger than %u bytes", KEELCFG_FILE_MAX);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\0') {
			for (size_t j = 0; j < i; j++)
				ps.line += buf[j] == '\n';
			return error(&ps, "NUL byte in the file");
		}
	}
	for (;;) {
		skip_blank(&ps, 1);
		if (ps.p == ps.end)
			break;
		if (parse_line(&ps, cfg, cpus))
			return -1;
	}
	/* a missing key is reported at the last line */
	if (ps.line > 1 && len && buf[len - 1] == '\n')
		ps.line--;
	return check_whole(&ps, cfg, cpus);
}
