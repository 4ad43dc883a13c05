/* SPDX-License-Identifier: MIT */
/*
 * Typed command-line options (see cmdline.h). The line comes from a boot loader config that a
 * person typed, so every problem is reported by option name and the rest of the line still
 * counts: a typo in one option must not cost the user the others, or the console.
 */
#include "kernel/cmdline.h"

#include "kernel/lib/string.h"
#include "kernel/log.h"

#define CMDLINE_NAME_MAX  63
#define CMDLINE_VALUE_MAX 511
/* How much of a hostile name or value a warning shows. */
#define SHOW_MAX 48

/* One "name[=value]" word, quotes removed. */
struct token {
	char name[CMDLINE_NAME_MAX + 1];
	char value[CMDLINE_VALUE_MAX + 1];
	size_t name_len, value_len;
	bool has_value;		    /* an '=' was present */
	bool name_long, value_long; /* did not fit: the word is rejected */
	bool open_quote;	    /* the line ended inside quotes */
};

/* Spaces and tabs separate words; a line read from a config file may also end in CR/LF. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Makes s safe to print: control characters and non-ASCII bytes become '?', long text is cut. */
static const char *shown(char out[SHOW_MAX + 4], const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

static void add_char(char *buf, size_t *len, size_t max, bool *overflow, char c)
{
	if (*len < max)
		buf[(*len)++] = c;
	else
		*overflow = true;
}

/*
 * Reads the next word from *p. Double quotes group blanks into the word and are themselves
 * dropped, so both name="a b" and "name=a b" work. The first '=' splits name from value.
 * Returns false at the end of the line.
 */
static bool next_token(const char **p, struct token *t)
{
	const char *s = *p;
	bool quoted = false;

	while (is_blank(*s))
		s++;
	if (!*s)
		return false;

	memset(t, 0, sizeof(*t));
	for (; *s && (quoted || !is_blank(*s)); s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (!t->has_value && *s == '=')
			t->has_value = true;
		else if (!t->has_value)
			add_char(t->name, &t->name_len, CMDLINE_NAME_MAX, &t->name_long, *s);
		else
			add_char(t->value, &t->value_len, CMDLINE_VALUE_MAX, &t->value_long, *s);
	}
	t->name[t->name_len] = '\0';
	t->value[t->value_len] = '\0';
	t->open_quote = quoted;
	*p = s;
	return true;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool same_nocase(const char *a, const char *b)
{
	while (*a && lower(*a) == lower(*b)) {
		a++;
		b++;
	}
	return lower(*a) == lower(*b);
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "on", "yes", "true" };
	static const char *const no[] = { "0", "off", "no", "false" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (same_nocase(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (same_nocase(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * Decimal or 0x hex, with an optional K/M/G suffix (binary units) when `units`.
 * -EINVAL for no digits or junk after them, -ERANGE when the value does not fit in 64 bits.
 */
static int parse_number(const char *s, bool units, u64 *out)
{
	unsigned int base = 10, shift = 0;
	u64 v = 0;
	const char *start;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (start = s;; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && lower(*s) >= 'a' && lower(*s) <= 'f')
			d = (unsigned int)(lower(*s) - 'a' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (s == start)
		return -EINVAL;
	if (units && *s) {
		switch (lower(*s)) {
		case 'k':
			shift = 10;
			break;
		case 'm':
			shift = 20;
			break;
		case 'g':
			shift = 30;
			break;
		default:
			return -EINVAL;
		}
		s++;
	}
	if (*s)
		return -EINVAL;
	if (shift && v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

static int set_number(const struct cmdline_option *o, const char *value)
{
	char buf[SHOW_MAX + 4];
	u64 v;
	int err = parse_number(value, o->type == CMDLINE_SIZE, &v);

	if (err == -EINVAL) {
		pr_warn("cmdline: %s: '%s' is not a %s\n", o->name, shown(buf, value),
			o->type == CMDLINE_SIZE ? "size (number with optional K, M or G)"
						: "number (decimal or 0x hex)");
		return err;
	}
	if (err || v < o->min || v > o->max) {
		pr_warn("cmdline: %s: %s is out of range [%llu, %llu]\n", o->name, shown(buf, value),
			(unsigned long long)o->min, (unsigned long long)o->max);
		return -ERANGE;
	}
	*(u64 *)o->value = v;
	return 0;
}

static void append(char *buf, size_t size, size_t *used, const char *s)
{
	if (*used < size)
		*used += kstrlcpy(buf + *used, s, size - *used);
}

static int set_enum(const struct cmdline_option *o, const char *value)
{
	char buf[SHOW_MAX + 4], list[128] = "";
	size_t used = 0;
	int i;

	for (i = 0; o->choices && o->choices[i]; i++) {
		if (strcmp(value, o->choices[i]) == 0) {
			*(int *)o->value = i;
			return 0;
		}
	}
	for (i = 0; o->choices && o->choices[i]; i++) {
		append(list, sizeof(list), &used, i ? ", " : "");
		append(list, sizeof(list), &used, o->choices[i]);
	}
	pr_warn("cmdline: %s: unknown choice '%s' (one of: %s)\n", o->name, shown(buf, value), list);
	return -EINVAL;
}

/* Applies one word to its option. Returns 0, or a negative code once the problem is reported. */
static int apply(const struct cmdline_option *o, const struct token *t, bool negated)
{
	char buf[SHOW_MAX + 4];

	if (negated) {
		if (t->has_value) {
			pr_warn("cmdline: no-%s takes no value\n", o->name);
			return -EINVAL;
		}
		*(bool *)o->value = false;
		return 0;
	}
	if (o->type == CMDLINE_BOOL) {
		bool b = true;

		if (t->has_value && parse_bool(t->value, &b)) {
			pr_warn("cmdline: %s: '%s' is not a boolean "
				"(on/off, yes/no, true/false, 1/0)\n",
				o->name, shown(buf, t->value));
			return -EINVAL;
		}
		*(bool *)o->value = b;
		return 0;
	}
	if (!t->has_value) {
		pr_warn("cmdline: %s needs a value (%s=...)\n", o->name, o->name);
		return -EINVAL;
	}
	switch (o->type) {
	case CMDLINE_UINT:
	case CMDLINE_SIZE:
		return set_number(o, t->value);
	case CMDLINE_STR:
		if (t->value_len >= o->len) {
			pr_warn("cmdline: %s: value is too long (%zu bytes, at most %zu)\n", o->name, t->value_len,
				o->len ? o->len - 1 : 0);
			return -E2BIG;
		}
		memcpy(o->value, t->value, t->value_len + 1);
		return 0;
	case CMDLINE_ENUM:
		return set_enum(o, t->value);
	case CMDLINE_LIST:
		return o->add(t->value);
	default:
		pr_warn("cmdline: %s: option has an invalid type %d\n", o->name, (int)o->type);
		return -EINVAL;
	}
}

static const struct cmdline_option *find(const struct cmdline_option *opts, size_t nr, const char *name, bool *negated)
{
	*negated = false;
	for (size_t i = 0; i < nr; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	/* "no-name" turns a boolean off, unless an option really is called that. */
	if (strncmp(name, "no-", 3) == 0) {
		for (size_t i = 0; i < nr; i++) {
			if (opts[i].type == CMDLINE_BOOL && strcmp(opts[i].name, name + 3) == 0) {
				*negated = true;
				return &opts[i];
			}
		}
	}
	return NULL;
}

int cmdline_parse(const char *cmdline, const struct cmdline_option *opts, size_t nr_opts)
{
	struct token t;
	char buf[SHOW_MAX + 4];
	int problems = 0;

	if (!cmdline)
		return 0;
	while (next_token(&cmdline, &t)) {
		const struct cmdline_option *o;
		bool negated;

		if (t.open_quote) {
			pr_warn("cmdline: unterminated quote in '%s'\n", shown(buf, t.name));
			problems++;
			continue;
		}
		if (t.name_long) {
			pr_warn("cmdline: option name '%s' is too long (at most %d bytes)\n", shown(buf, t.name),
				CMDLINE_NAME_MAX);
			problems++;
			continue;
		}
		if (!t.name_len) {
			if (t.has_value) {
				pr_warn("cmdline: '=%s' has no option name\n", shown(buf, t.value));
				problems++;
			}
			continue; /* a lone "" is nothing */
		}
		o = find(opts, nr_opts, t.name, &negated);
		if (!o) {
			pr_warn("cmdline: unknown option '%s'\n", shown(buf, t.name));
			problems++;
			continue;
		}
		if (t.value_long) {
			pr_warn("cmdline: %s: value is too long (at most %d bytes)\n", o->name, CMDLINE_VALUE_MAX);
			problems++;
			continue;
		}
		if (apply(o, &t, negated))
			problems++;
	}
	return problems;
}
