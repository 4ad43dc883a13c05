// SPDX-License-Identifier: MIT
/* Start-up after the entry assembly, boot information, and the PASS/FAIL report. */
#include "guest.h"

void console_init(void);
void trap_init(void);
__attribute__((noreturn)) void runtime_main(uint32_t magic, uint32_t info);

struct boot_info boot = { .cmdline = "" };

static int nfail;
static char first_reason[160];

/* Multiboot1 information (multiboot spec 0.6.96, 3.3): flags, then fields they validate. */
#define MB1_INFO_MEM	 (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)

/* Multiboot2 information tags (multiboot2 spec, 3.6). */
#define MB2_TAG_END	0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_MEMINFO 4

static void parse_multiboot1(const uint32_t *mbi)
{
	uint32_t flags = mbi[0];
	if (flags & MB1_INFO_MEM)
		boot.ram_top = 0x100000ull + (uint64_t)mbi[2] * 1024;
	if ((flags & MB1_INFO_CMDLINE) && mbi[4])
		boot.cmdline = (const char *)(uintptr_t)mbi[4];
}

static void parse_multiboot2(const uint8_t *mbi)
{
	uint32_t total = *(const uint32_t *)mbi;
	for (uint32_t off = 8; off + 8 <= total;) {
		const uint32_t *tag = (const uint32_t *)(mbi + off);
		if (tag[0] == MB2_TAG_END || tag[1] < 8)
			break;
		if (tag[0] == MB2_TAG_CMDLINE)
			boot.cmdline = (const char *)&tag[2];
		else if (tag[0] == MB2_TAG_MEMINFO)
			boot.ram_top = 0x100000ull + (uint64_t)tag[3] * 1024;
		off += (tag[1] + 7) & ~7u;
	}
}

void runtime_main(uint32_t magic, uint32_t info)
{
	boot.info = info;
	console_init();
	trap_init();
	boot.magic = magic;
	if (magic == MB1_BOOT_MAGIC && info) {
		parse_multiboot1((const uint32_t *)(uintptr_t)info);
	} else if (magic == MB2_BOOT_MAGIC && info) {
		boot.multiboot2 = true;
		parse_multiboot2((const uint8_t *)(uintptr_t)info);
	}
	printf("%s: start: %s mode, %s, RAM top 0x%llx, cmdline \"%s\"\n", test_name,
	       sizeof(long) == 8 ? "64-bit long" : "32-bit protected",
	       magic == MB1_BOOT_MAGIC	 ? "multiboot1"
	       : magic == MB2_BOOT_MAGIC ? "multiboot2"
					 : "unknown loader",
	       (unsigned long long)boot.ram_top, boot.cmdline);
	test_main();
	if (nfail) {
		printf("FAIL: %s: %s", test_name, first_reason);
		if (nfail > 1)
			printf(" (and %d more)", nfail - 1);
		printf("\n");
		guest_exit(GUEST_FAIL);
	}
	printf("PASS: %s\n", test_name);
	guest_exit(GUEST_PASS);
}

void guest_exit(int status)
{
	outb(KEEL_DEBUG_EXIT_PORT, (uint8_t)status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void fail(const char *fmt, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	printf("%s: check failed: %s\n", test_name, why);
	if (!nfail++)
		memcpy(first_reason, why, sizeof(why));
}

int failures(void)
{
	return nfail;
}

void fail_now(int status, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	printf("FAIL: %s: %s\n", test_name, why);
	guest_exit(status);
}

void expect_crash(const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	printf("EXPECT-CRASH: %s: %s\n", test_name, what);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

unsigned long cmdline_ulong(const char *key, unsigned long def)
{
	size_t klen = strlen(key);
	for (const char *p = boot.cmdline; *p;) {
		while (is_space(*p))
			p++;
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			p += klen + 1;
			unsigned long v = 0, base = 10;
			if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
				base = 16;
				p += 2;
			}
			for (;; p++) {
				unsigned d;
				if (*p >= '0' && *p <= '9')
					d = (unsigned)(*p - '0');
				else if (base == 16 && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
					d = (unsigned)((*p | 0x20) - 'a' + 10);
				else
					break;
				v = v * base + d;
			}
			return v;
		}
		while (*p && !is_space(*p))
			p++;
	}
	return def;
}
