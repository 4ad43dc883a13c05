/* SPDX-License-Identifier: MIT */
/*
 * A small vsnprintf. GNU-EFI's Print() takes UCS-2 format strings with its own conversions,
 * which the compiler cannot check; keel.efi formats ASCII with C's syntax instead, checked by
 * -Wformat, and converts to UCS-2 only at the console.
 *
 * Supported: %d %i %u %x %X %p %s %c %%, flags '-' '0' '#', a width and a precision (digits or
 * '*'; the precision only limits %s), length modifiers hh h l ll z j t. Anything else is copied
 * out literally so a mistake shows up in the message instead of eating arguments silently.
 */
#include "boot/efi/loader.h"

struct out {
	char *buf;
	size_t size;
	size_t len; /* what the whole output needs, even past size */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

size_t efi_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

struct spec {
	bool left, zero, alt;
	int width;
	int prec; /* -1: none */
};

static void put_str(struct out *o, const char *s, const struct spec *sp)
{
	size_t n = 0;

	if (!s)
		s = "(null)";
	while ((sp->prec < 0 || n < (size_t)sp->prec) && s[n]) /* s need not end within prec */
		n++;
	if (!sp->left)
		pad(o, ' ', sp->width - (int)n);
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
	if (sp->left)
		pad(o, ' ', sp->width - (int)n);
}

static void put_num(struct out *o, u64 v, bool neg, unsigned base, bool upper, const struct spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, prefix = 0, fill;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		prefix = 1;
	else if (sp->alt && base == 16)
		prefix = 2;
	fill = sp->width - n - prefix;
	if (!sp->left && !sp->zero)
		pad(o, ' ', fill);
	if (neg)
		put(o, '-');
	else if (prefix == 2) {
		put(o, '0');
		put(o, upper ? 'X' : 'x');
	}
	if (!sp->left && sp->zero)
		pad(o, '0', fill);
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		pad(o, ' ', fill);
}

static int parse_int(const char **p, va_list *ap)
{
	int v = 0;

	if (**p == '*') {
		(*p)++;
		return va_arg(*ap, int);
	}
	while (**p >= '0' && **p <= '9')
		v = v * 10 + (*(*p)++ - '0');
	return v;
}

int efi_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct out o = { buf, size, 0 };
	va_list ap;

	va_copy(ap, ap_in);
	for (const char *p = fmt; *p; p++) {
		const char *start = p;
		struct spec sp = { false, false, false, 0, -1 };
		int lng = 0; /* 0: int, 1: long/long long/size_t/... (all 64-bit on x86-64) */
		u64 v;

		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		for (p++;; p++) {
			if (*p == '-')
				sp.left = true;
			else if (*p == '0')
				sp.zero = true;
			else if (*p == '#')
				sp.alt = true;
			else
				break;
		}
		sp.width = parse_int(&p, &ap);
		if (sp.width < 0) {
			sp.left = true;
			sp.width = -sp.width;
		}
		if (*p == '.') {
			p++;
			sp.prec = parse_int(&p, &ap);
		}
		while (*p == 'h')
			p++; /* char and short arguments arrive promoted to int */
		while (*p == 'l' || *p == 'z' || *p == 'j' || *p == 't') {
			lng = 1;
			p++;
		}
		switch (*p) {
		case 'd':
		case 'i': {
			s64 sv = lng ? va_arg(ap, s64) : va_arg(ap, int);
			bool neg = sv < 0;

			v = neg ? -(u64)sv : (u64)sv;
			put_num(&o, v, neg, 10, false, &sp);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
			v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned int);
			put_num(&o, v, false, *p == 'u' ? 10 : 16, *p == 'X', &sp);
			break;
		case 'p':
			sp.alt = true;
			put_num(&o, (u64)(uintptr_t)va_arg(ap, void *), false, 16, false, &sp);
			break;
		case 's':
			put_str(&o, va_arg(ap, const char *), &sp);
			break;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		default: /* unsupported: copy the directive out as it was */
			for (const char *q = start; q <= p && *q; q++)
				put(&o, *q);
			if (!*p)
				p--;
			break;
		}
	}
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int efi_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = efi_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void diagf(const struct diag *d, enum diag_level level, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	efi_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d && d->report)
		d->report(d->ctx, level, msg);
}
