// SPDX-License-Identifier: MIT
/* The few string functions the guests use; the compiler may also emit calls to these. */
#include "guest.h"

/* rep stosb / movsb: a plain loop here could be turned back into a call to itself by gcc. */
void *memset(void *d, int c, size_t n)
{
	void *p = d;
	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *dp = d;
	__asm__ volatile("rep movsb" : "+D"(dp), "+S"(s), "+c"(n) : : "memory");
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *pa = a, *pb = b;
	for (; n; n--, pa++, pb++) {
		if (*pa != *pb)
			return *pa < *pb ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b || !*a)
			return (unsigned char)*a - (unsigned char)*b;
	}
	return 0;
}
