// SPDX-License-Identifier: MIT
/* COM1 output and a small printf for the test guests. */
#include "guest.h"

#define COM1	      0x3f8
#define UART_THR      0 /* transmit holding register */
#define UART_IER      1
#define UART_LSR      5
#define UART_LSR_THRE 0x20

/* A bounded wait: a virtual UART whose LSR never shows THRE must not hang the guest. */
#define THRE_SPINS 100000

void console_init(void);

/*
 * No baud-rate programming: QEMU's UART and Keel's virtual one ignore the rate, and a divisor
 * written through port 0x3f8 would come out as a stray byte on a virtual UART that does not
 * model LCR.DLAB. Only the UART's interrupts are turned off.
 */
void console_init(void)
{
	outb(COM1 + UART_IER, 0);
}

void console_putc(char c)
{
	for (int i = 0; i < THRE_SPINS && !(inb(COM1 + UART_LSR) & UART_LSR_THRE); i++)
		pause();
	outb(COM1 + UART_THR, (uint8_t)c);
}

struct sink {
	char *buf; /* NULL: COM1 */
	size_t size, len;
};

static void put(struct sink *s, char c)
{
	if (!s->buf)
		console_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

/* Decimal digits of a 64-bit number without libgcc's 64-bit division (32-bit guests). */
static unsigned div10(uint64_t *n)
{
	uint64_t q = 0, r = 0;
	for (int bit = 63; bit >= 0; bit--) {
		r = (r << 1) | ((*n >> bit) & 1);
		if (r >= 10) {
			r -= 10;
			q |= 1ull << bit;
		}
	}
	*n = q;
	return (unsigned)r;
}

static void put_number(struct sink *s, uint64_t v, unsigned base, bool neg, bool upper, int width, char pad, bool left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;
	do {
		if (base == 10) {
			tmp[n++] = digits[div10(&v)];
		} else {
			tmp[n++] = digits[v & 15];
			v >>= 4;
		}
	} while (v);
	int len = n + (neg ? 1 : 0);
	if (neg && pad == '0')
		put(s, '-');
	for (; !left && width > len; width--)
		put(s, pad);
	if (neg && pad != '0')
		put(s, '-');
	while (n)
		put(s, tmp[--n]);
	for (; left && width > len; width--)
		put(s, ' ');
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(s, *fmt);
			continue;
		}
		bool left = false;
		char pad = ' ';
		int width = 0, longs = 0;
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++) {
			if (*fmt == '-')
				left = true;
			else
				pad = '0';
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			longs += *fmt == 'l' ? 1 : (sizeof(size_t) == sizeof(long) ? 1 : 0);
		if (left)
			pad = ' ';
		uint64_t u;
		int64_t d;
		switch (*fmt) {
		case 'd':
		case 'i':
			d = longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
			u = d < 0 ? -(uint64_t)d : (uint64_t)d;
			put_number(s, u, 10, d < 0, false, width, pad, left);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = longs >= 2 ? va_arg(ap, unsigned long long)
			    : longs    ? va_arg(ap, unsigned long)
				       : va_arg(ap, unsigned int);
			put_number(s, u, *fmt == 'u' ? 10 : 16, false, *fmt == 'X', width, pad, left);
			break;
		case 'p':
			put(s, '0');
			put(s, 'x');
			put_number(s, (uintptr_t)va_arg(ap, void *), 16, false, false, width, pad, left);
			break;
		case 'c':
			put(s, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			str = str ? str : "(null)";
			int len = (int)strlen(str);
			for (; !left && width > len; width--)
				put(s, ' ');
			while (*str)
				put(s, *str++);
			for (; left && width > len; width--)
				put(s, ' ');
			break;
		}
		case '%':
			put(s, '%');
			break;
		case '\0':
			return;
		default:
			put(s, '%');
			put(s, *fmt);
		}
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { buf, size, 0 };
	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *fmt, ...)
{
	struct sink s = { NULL, 0, 0 };
	va_list ap;
	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
	return (int)s.len;
}
