/* SPDX-License-Identifier: MIT */
/*
 * Bounded printf-style formatting (see format.h). No floating point and no %n: the kernel never
 * needs the first, and the second turns a format string into a write primitive.
 */
#include "kernel/lib/format.h"

#include <limits.h>

/* Output cursor: bytes past size - 1 are counted but not stored. */
struct out {
	char *buf;
	size_t size;
	size_t pos;
};

/* Widths and precisions are clamped so that their arithmetic can never overflow. */
#define FMT_FIELD_MAX (INT_MAX / 4)

enum {
	F_LEFT = 1 << 0,  /* '-' */
	F_ZERO = 1 << 1,  /* '0' */
	F_PLUS = 1 << 2,  /* '+' */
	F_SPACE = 1 << 3, /* ' ' */
	F_ALT = 1 << 4,	  /* '#' */
};

enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

struct spec {
	unsigned int flags;
	int width; /* 0: none */
	int prec;  /* -1: none */
	enum length len;
	char conv;
};

static void put(struct out *o, char c)
{
	if (o->size && o->pos < o->size - 1)
		o->buf[o->pos] = c;
	o->pos++;
}

/* n copies of c, without looping over the part that no longer fits. */
static void pad(struct out *o, char c, size_t n)
{
	while (n && o->size && o->pos < o->size - 1) {
		o->buf[o->pos++] = c;
		n--;
	}
	o->pos += n;
}

static void put_str(struct out *o, const char *s, size_t n)
{
	while (n--)
		put(o, *s++);
}

static size_t bounded_strlen(const char *s, int prec)
{
	size_t n = 0;

	while ((prec < 0 || n < (size_t)prec) && s[n])
		n++;
	return n;
}

static void fmt_str(struct out *o, const struct spec *sp, const char *s)
{
	size_t len;
	size_t width = (size_t)sp->width;

	if (!s)
		s = "(null)";
	len = bounded_strlen(s, sp->prec);
	if (!(sp->flags & F_LEFT) && width > len)
		pad(o, ' ', width - len);
	put_str(o, s, len);
	if ((sp->flags & F_LEFT) && width > len)
		pad(o, ' ', width - len);
}

/*
 * One integer conversion. The layout is: [padding] [sign or prefix] [zeros] digits [padding],
 * as C11 7.21.6.1 defines it for d, i, u, o, x and X.
 */
static void fmt_int(struct out *o, const struct spec *sp, u64 mag, bool negative)
{
	static const char lower[] = "0123456789abcdef";
	static const char upper[] = "0123456789ABCDEF";
	const char *digits = sp->conv == 'X' ? upper : lower;
	unsigned int base = 10;
	char tmp[24]; /* 22 octal digits hold 2^64 - 1 */
	size_t nd = 0, zeros = 0, total, width = (size_t)sp->width;
	char prefix[2];
	size_t np = 0;
	bool is_signed = sp->conv == 'd' || sp->conv == 'i';
	u64 value = mag;

	if (sp->conv == 'o')
		base = 8;
	else if (sp->conv == 'x' || sp->conv == 'X' || sp->conv == 'p')
		base = 16;

	/* A precision of 0 prints no digits for the value 0. */
	if (mag || sp->prec != 0) {
		do {
			tmp[nd++] = digits[mag % base];
			mag /= base;
		} while (mag);
	}

	if (is_signed) {
		if (negative)
			prefix[np++] = '-';
		else if (sp->flags & F_PLUS)
			prefix[np++] = '+';
		else if (sp->flags & F_SPACE)
			prefix[np++] = ' ';
	} else if (sp->flags & F_ALT) {
		if (base == 16 && value) {
			prefix[np++] = '0';
			prefix[np++] = sp->conv == 'X' ? 'X' : 'x';
		} else if (base == 8 && (nd == 0 || tmp[nd - 1] != '0') && (sp->prec < 0 || (size_t)sp->prec <= nd)) {
			/* '#' with o: the precision grows just enough for a leading zero. */
			zeros = 1;
		}
	}

	if (sp->prec >= 0 && (size_t)sp->prec > nd)
		zeros = (size_t)sp->prec - nd;
	total = np + zeros + nd;

	/* '0' pads with zeros after the sign; '-' or an explicit precision disables it. */
	if ((sp->flags & F_ZERO) && !(sp->flags & F_LEFT) && sp->prec < 0 && width > total) {
		zeros += width - total;
		total = width;
	}
	if (!(sp->flags & F_LEFT) && width > total)
		pad(o, ' ', width - total);
	put_str(o, prefix, np);
	pad(o, '0', zeros);
	while (nd)
		put(o, tmp[--nd]);
	if ((sp->flags & F_LEFT) && width > total)
		pad(o, ' ', width - total);
}

/* %p always has the same shape, "0x" and 16 digits, so that columns of addresses line up. */
static void fmt_ptr(struct out *o, const struct spec *sp, const void *p)
{
	const struct spec digits = { .prec = 16, .conv = 'x' };
	size_t width = (size_t)sp->width;

	if (!(sp->flags & F_LEFT) && width > 18)
		pad(o, ' ', width - 18);
	put(o, '0');
	put(o, 'x');
	fmt_int(o, &digits, (u64)(uintptr_t)p, false);
	if ((sp->flags & F_LEFT) && width > 18)
		pad(o, ' ', width - 18);
}

static int parse_num(const char **fmt)
{
	int n = 0;

	while (**fmt >= '0' && **fmt <= '9') {
		if (n < FMT_FIELD_MAX)
			n = n * 10 + (**fmt - '0');
		(*fmt)++;
	}
	return n > FMT_FIELD_MAX ? FMT_FIELD_MAX : n;
}

static enum length parse_length(const char **fmt)
{
	switch (**fmt) {
	case 'h':
		(*fmt)++;
		if (**fmt == 'h') {
			(*fmt)++;
			return LEN_HH;
		}
		return LEN_H;
	case 'l':
		(*fmt)++;
		if (**fmt == 'l') {
			(*fmt)++;
			return LEN_LL;
		}
		return LEN_L;
	case 'z':
		(*fmt)++;
		return LEN_Z;
	case 't':
		(*fmt)++;
		return LEN_T;
	case 'j':
		(*fmt)++;
		return LEN_J;
	default:
		return LEN_NONE;
	}
}

/* va_list is an array type on x86-64, so it is passed by pointer to stay shared with the caller. */
static s64 arg_signed(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_HH:
		return (signed char)va_arg(*ap, int);
	case LEN_H:
		return (short)va_arg(*ap, int);
	case LEN_L:
		return va_arg(*ap, long);
	case LEN_LL:
		return va_arg(*ap, long long);
	case LEN_Z:
		/* The signed type corresponding to size_t. */
		return va_arg(*ap, long);
	case LEN_T:
		return va_arg(*ap, ptrdiff_t);
	case LEN_J:
		return va_arg(*ap, intmax_t);
	default:
		return va_arg(*ap, int);
	}
}

static u64 arg_unsigned(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_HH:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_H:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_L:
		return va_arg(*ap, unsigned long);
	case LEN_LL:
		return va_arg(*ap, unsigned long long);
	case LEN_Z:
		return va_arg(*ap, size_t);
	case LEN_T:
		return (u64)va_arg(*ap, ptrdiff_t);
	case LEN_J:
		return va_arg(*ap, uintmax_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

/*
 * Parses one conversion after its '%' and prints it. Returns false for a conversion this
 * formatter does not know; the caller then prints that directive as it stands.
 */
static bool convert(struct out *o, const char **fmtp, va_list *ap)
{
	const char *fmt = *fmtp;
	struct spec sp = { .prec = -1 };
	char c;

	for (;; fmt++) {
		if (*fmt == '-')
			sp.flags |= F_LEFT;
		else if (*fmt == '0')
			sp.flags |= F_ZERO;
		else if (*fmt == '+')
			sp.flags |= F_PLUS;
		else if (*fmt == ' ')
			sp.flags |= F_SPACE;
		else if (*fmt == '#')
			sp.flags |= F_ALT;
		else
			break;
	}

	if (*fmt == '*') {
		int w = va_arg(*ap, int);

		fmt++;
		if (w < 0) {
			sp.flags |= F_LEFT;
			w = w == INT_MIN ? INT_MAX : -w;
		}
		sp.width = w > FMT_FIELD_MAX ? FMT_FIELD_MAX : w;
	} else {
		sp.width = parse_num(&fmt);
	}

	if (*fmt == '.') {
		fmt++;
		if (*fmt == '*') {
			int p = va_arg(*ap, int);

			fmt++;
			/* A negative precision argument is taken as if it were omitted. */
			sp.prec = p < 0 ? -1 : (p > FMT_FIELD_MAX ? FMT_FIELD_MAX : p);
		} else {
			sp.prec = parse_num(&fmt);
		}
	}

	sp.len = parse_length(&fmt);
	c = *fmt;
	sp.conv = c;

	switch (c) {
	case 'd':
	case 'i': {
		s64 v = arg_signed(ap, sp.len);

		/* 0 - (u64)v is the magnitude even for INT64_MIN. */
		fmt_int(o, &sp, v < 0 ? 0 - (u64)v : (u64)v, v < 0);
		break;
	}
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		fmt_int(o, &sp, arg_unsigned(ap, sp.len), false);
		break;
	case 'p':
		fmt_ptr(o, &sp, va_arg(*ap, void *));
		break;
	case 's':
		fmt_str(o, &sp, va_arg(*ap, const char *));
		break;
	case 'c': {
		char ch = (char)va_arg(*ap, int);
		size_t width = (size_t)sp.width;

		if (!(sp.flags & F_LEFT) && width > 1)
			pad(o, ' ', width - 1);
		put(o, ch);
		if ((sp.flags & F_LEFT) && width > 1)
			pad(o, ' ', width - 1);
		break;
	}
	case '%':
		put(o, '%');
		break;
	default:
		return false;
	}
	*fmtp = fmt + 1;
	return true;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size, .pos = 0 };
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt++;
		if (!convert(&o, &fmt, &args)) {
			/* Unknown or cut-off directive: show it, do not guess at arguments. */
			put(&o, '%');
			if (*fmt)
				put(&o, *fmt++);
		}
	}
	va_end(args);

	if (size)
		buf[o.pos < size ? o.pos : size - 1] = '\0';
	return o.pos > INT_MAX ? INT_MAX : (int)o.pos;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
