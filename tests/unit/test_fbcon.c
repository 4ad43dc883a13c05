/* SPDX-License-Identifier: MIT */
/* The framebuffer console rendering into framebuffers in host memory, checked pixel by pixel. */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#include "drivers/fbcon.h"
#include "drivers/font8x16.h"

#define POISON 0xee /* what the framebuffer holds before init, and the pitch padding after */

struct fb {
	struct boot_framebuffer info;
	u8 *mem;
	size_t size;
};

static struct fb fb;

static void fb_free(void)
{
	free(fb.mem);
	memset(&fb, 0, sizeof(fb));
}

/* A framebuffer of w x h pixels; `pad` extra bytes per line beyond the visible pixels. */
static void fb_make(u32 w, u32 h, u8 bpp, u32 pad)
{
	fb_free();
	fb.info = (struct boot_framebuffer){
		.width = w,
		.height = h,
		.bpp = bpp,
		.type = BOOT_FB_RGB,
		.pitch = w * (bpp / 8) + pad,
	};
	if (bpp == 16) {
		fb.info.red_pos = 11, fb.info.red_size = 5;
		fb.info.green_pos = 5, fb.info.green_size = 6;
		fb.info.blue_pos = 0, fb.info.blue_size = 5;
	} else {
		fb.info.red_pos = 16, fb.info.red_size = 8;
		fb.info.green_pos = 8, fb.info.green_size = 8;
		fb.info.blue_pos = 0, fb.info.blue_size = 8;
	}
	fb.size = (size_t)fb.info.pitch * h;
	fb.mem = malloc(fb.size); /* exact size: ASan reports any write past the last line */
	assert_non_null(fb.mem);
	memset(fb.mem, POISON, fb.size);
}

static void fb_init(u32 w, u32 h, u8 bpp, u32 pad)
{
	fb_make(w, h, bpp, pad);
	assert_int_equal(fbcon_init(&fb.info, fb.mem), 0);
	assert_true(fbcon_active());
}

static void put(const char *s)
{
	fbcon_write(s, strlen(s));
}

/* The pixel value for 0xRRGGBB, worked out here independently of fbcon.c. */
static u32 expect_px(u32 rgb)
{
	u32 r = rgb >> 16 & 0xff, g = rgb >> 8 & 0xff, b = rgb & 0xff;

	if (fb.info.bpp == 16)
		return (r >> 3) << 11 | (g >> 2) << 5 | b >> 3;
	return rgb;
}

static u32 read_px(u32 x, u32 y)
{
	const u8 *p = fb.mem + (size_t)y * fb.info.pitch + (size_t)x * (fb.info.bpp / 8);

	switch (fb.info.bpp) {
	case 32:
		return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
	case 24:
		return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16;
	default:
		return (u32)p[0] | (u32)p[1] << 8;
	}
}

/* Whether cell (col, row) shows glyph ch in rgb on the background, at the given scale. */
static bool cell_shows(u32 col, u32 row, u8 ch, u32 rgb, u32 scale)
{
	u32 fg = expect_px(rgb), bg = expect_px(FBCON_COLOR_BG);

	for (u32 y = 0; y < FONT_HEIGHT * scale; y++) {
		for (u32 x = 0; x < FONT_WIDTH * scale; x++) {
			bool on = font8x16[ch][y / scale] & (0x80 >> (x / scale));
			u32 px = read_px(col * FONT_WIDTH * scale + x, row * FONT_HEIGHT * scale + y);

			if (px != (on ? fg : bg))
				return false;
		}
	}
	return true;
}

/* Row `row` reads `text` in the default color, blank after it. */
static void check_row(u32 row, const char *text)
{
	u32 cols, rows;

	fbcon_size(&cols, &rows);
	for (u32 c = 0; c < cols; c++) {
		u8 ch = c < strlen(text) ? (u8)text[c] : ' ';

		if (!cell_shows(c, row, ch, FBCON_COLOR_DEFAULT, 1))
			fail_msg("row %u col %u: expected '%c' (row should read \"%s\")", row, c, ch, text);
	}
}

/* Bytes between the visible width and the pitch are never touched. */
static void check_padding(void)
{
	u32 visible = fb.info.width * (fb.info.bpp / 8);

	for (u32 y = 0; y < fb.info.height; y++)
		for (u32 i = visible; i < fb.info.pitch; i++)
			if (fb.mem[(size_t)y * fb.info.pitch + i] != POISON)
				fail_msg("padding byte %u of line %u written", i, y);
}

static int teardown(void **state)
{
	fb_free();
	return 0;
}

static void test_init_rejects(void **state)
{
	u32 cols, rows;

	fb_make(640, 480, 32, 0);
	assert_int_equal(fbcon_init(NULL, fb.mem), -EINVAL);
	assert_int_equal(fbcon_init(&fb.info, NULL), -EINVAL);
#define REJECT(field, v)                                             \
	do {                                                         \
		struct boot_framebuffer bad = fb.info;               \
		bad.field = v;                                       \
		assert_int_equal(fbcon_init(&bad, fb.mem), -EINVAL); \
		assert_false(fbcon_active());                        \
	} while (0)
	REJECT(type, BOOT_FB_NONE);
	REJECT(bpp, 8);
	REJECT(bpp, 15);
	REJECT(bpp, 0);
	REJECT(width, FONT_WIDTH - 1); /* smaller than one glyph */
	REJECT(height, FONT_HEIGHT - 1);
	REJECT(width, 0);
	REJECT(height, 0);
	REJECT(pitch, 640 * 4 - 1);
	REJECT(red_size, 0);
	REJECT(green_size, 9);
	REJECT(blue_pos, 25);
	REJECT(red_pos, 255);
#undef REJECT
	fbcon_size(&cols, &rows);
	assert_int_equal(cols, 0);
	assert_int_equal(rows, 0);
	/* Off: writing and coloring do nothing, and the framebuffer is untouched. */
	put("hello\n");
	fbcon_set_color(0xffffff);
	for (size_t i = 0; i < fb.size; i++)
		assert_int_equal(fb.mem[i], POISON);

	/* Exactly one glyph is enough. */
	fb_init(FONT_WIDTH, FONT_HEIGHT, 32, 0);
	fbcon_size(&cols, &rows);
	assert_int_equal(cols, 1);
	assert_int_equal(rows, 1);
	put("ab\ncd");
	assert_true(cell_shows(0, 0, 'd', FBCON_COLOR_DEFAULT, 1));
}

static void test_glyphs_and_clear(void **state)
{
	u32 cols, rows;

	fb_init(80 * 8 + 5, 4 * 16 + 7, 32, 64);
	fbcon_size(&cols, &rows);
	assert_int_equal(cols, 80);
	assert_int_equal(rows, 4);
	/* Init cleared every visible pixel, margins included. */
	for (u32 y = 0; y < fb.info.height; y++)
		for (u32 x = 0; x < fb.info.width; x++)
			assert_int_equal(read_px(x, y), expect_px(FBCON_COLOR_BG));
	put("Ag~#@ Hello, world");
	check_row(0, "Ag~#@ Hello, world");
	check_row(1, "");
	check_padding();
}

static void test_control_characters(void **state)
{
	fb_init(10 * 8, 4 * 16, 32, 0);
	put("abc\rX\n");
	check_row(0, "Xbc");
	put("ab\bc\b\b\bd");
	check_row(1, "dc");
	put("\n\b\bq");
	check_row(2, "q");
	put("\na\tb");
	check_row(3, "a       b");
	/* Other control characters and DEL are dropped. */
	put("\r\x01\x07\x7f\x0cZ");
	check_row(3, "Z       b");
}

static void test_wrap(void **state)
{
	fb_init(10 * 8 + 5, 3 * 16, 32, 12);
	put("0123456789");
	check_row(0, "0123456789");
	check_row(1, ""); /* a full line does not wrap until the next glyph */
	put("\n");
	check_row(1, "");
	put("abcdefghijKL");
	check_row(1, "abcdefghij");
	check_row(2, "KL");
	/* The 5-pixel margin right of the last column stays background. */
	for (u32 y = 0; y < fb.info.height; y++)
		for (u32 x = 80; x < fb.info.width; x++)
			assert_int_equal(read_px(x, y), expect_px(FBCON_COLOR_BG));
	check_padding();
	/* A tab that reaches the last column leaves the next glyph to wrap. */
	fb_init(10 * 8, 3 * 16, 32, 0);
	put("12345678\tX");
	check_row(0, "12345678");
	check_row(1, "X");
	put("\b\b\bY");
	check_row(1, "Y");
	check_padding();
}

static void test_scroll(void **state)
{
	fb_init(10 * 8, 3 * 16, 32, 8);
	put("first\nsecond\nthird");
	check_row(0, "first");
	put("\n");
	check_row(0, "second");
	check_row(1, "third");
	check_row(2, "");
	put("fourth\nfifth\nsixth");
	check_row(0, "fourth");
	check_row(1, "fifth");
	check_row(2, "sixth");
	/* Scrolling through wrapping. */
	put("\n0123456789abcdefghijXYZ");
	check_row(0, "0123456789");
	check_row(1, "abcdefghij");
	check_row(2, "XYZ");
	/* Colors move up with their text. */
	put("\n");
	fbcon_set_color(FBCON_COLOR_ERROR);
	put("err");
	fbcon_set_color(FBCON_COLOR_DEFAULT);
	put("\nok\n");
	assert_true(cell_shows(0, 0, 'e', FBCON_COLOR_ERROR, 1));
	assert_true(cell_shows(2, 0, 'r', FBCON_COLOR_ERROR, 1));
	check_row(1, "ok");
	check_row(2, "");
	put("\n\n\n");
	for (u32 r = 0; r < 3; r++)
		check_row(r, "");
	check_padding();
}

static void test_colors(void **state)
{
	fb_init(20 * 8, 2 * 16, 32, 0);
	fbcon_set_color(FBCON_COLOR_ERROR);
	put("E");
	fbcon_set_color(0x123456);
	put("c");
	fbcon_set_color(FBCON_COLOR_DEFAULT);
	put("d\x1b[31mR\x1b[92mG\x1b[0mN\x1b[1;94mB\x1b[mM\x1b[2K\x1b]x");
	assert_true(cell_shows(0, 0, 'E', FBCON_COLOR_ERROR, 1));
	assert_true(cell_shows(1, 0, 'c', 0x123456, 1));
	assert_true(cell_shows(2, 0, 'd', FBCON_COLOR_DEFAULT, 1));
	assert_true(cell_shows(3, 0, 'R', 0xaa0000, 1));
	assert_true(cell_shows(4, 0, 'G', 0x55ff55, 1));
	assert_true(cell_shows(5, 0, 'N', FBCON_COLOR_DEFAULT, 1));
	assert_true(cell_shows(6, 0, 'B', 0x5555ff, 1));
	assert_true(cell_shows(7, 0, 'M', FBCON_COLOR_DEFAULT, 1));
	/* ESC[2K is swallowed whole, ESC ] drops only itself. */
	assert_true(cell_shows(8, 0, 'x', FBCON_COLOR_DEFAULT, 1));
	/* A sequence split across writes, and more colors than the palette holds. */
	fbcon_write("\x1b[3", 3);
	fbcon_write("2mg", 3);
	assert_true(cell_shows(9, 0, 'g', 0x00aa00, 1));
	for (u32 i = 0; i < 600; i++)
		fbcon_set_color(i);
	put("z");
	assert_true(cell_shows(10, 0, 'z', 599, 1));
}

static void test_utf8(void **state)
{
	fb_init(20 * 8, 1 * 16, 32, 0);
	put("\xc3\xa9|\xe2\x82\xac|\x80|\xff|\xc3");
	fbcon_write("\xa0", 1); /* the rest of a sequence in another write */
	put("\xc3x\xc2\x85");
	assert_true(cell_shows(0, 0, 0xe9, FBCON_COLOR_DEFAULT, 1));
	assert_true(cell_shows(2, 0, '?', FBCON_COLOR_DEFAULT, 1));  /* U+20AC: not in the font */
	assert_true(cell_shows(4, 0, '?', FBCON_COLOR_DEFAULT, 1));  /* stray continuation */
	assert_true(cell_shows(6, 0, '?', FBCON_COLOR_DEFAULT, 1));  /* never valid in UTF-8 */
	assert_true(cell_shows(8, 0, 0xe0, FBCON_COLOR_DEFAULT, 1)); /* U+00E0 */
	assert_true(cell_shows(9, 0, '?', FBCON_COLOR_DEFAULT, 1));  /* cut short by 'x' */
	assert_true(cell_shows(10, 0, 'x', FBCON_COLOR_DEFAULT, 1));
	assert_true(cell_shows(11, 0, '?', FBCON_COLOR_DEFAULT, 1)); /* U+0085, a C1 control */
}

static void test_16bpp(void **state)
{
	fb_init(12 * 8, 2 * 16, 16, 6);
	put("Hi!\n");
	fbcon_set_color(FBCON_COLOR_ERROR);
	put("W");
	check_row(0, "Hi!");
	assert_true(cell_shows(0, 1, 'W', FBCON_COLOR_ERROR, 1));
	assert_int_equal(expect_px(FBCON_COLOR_ERROR), 0xfaaa);
	put("\nscrolled");
	assert_true(cell_shows(0, 0, 'W', FBCON_COLOR_ERROR, 1));
	check_padding();
}

static void test_24bpp(void **state)
{
	fb_init(12 * 8 + 1, 2 * 16, 24, 3);
	put("24 bpp\nok");
	check_row(0, "24 bpp");
	check_row(1, "ok");
	check_padding();
}

static void test_scaled(void **state)
{
	u32 cols, rows;

	/* One column too many for scale 1: glyphs double. */
	fb_init((FBCON_MAX_COLS + 1) * 8, 2 * 16, 32, 0);
	fbcon_size(&cols, &rows);
	assert_int_equal(cols, (FBCON_MAX_COLS + 1) / 2);
	assert_int_equal(rows, 1);
	put("Kx");
	assert_true(cell_shows(0, 0, 'K', FBCON_COLOR_DEFAULT, 2));
	assert_true(cell_shows(1, 0, 'x', FBCON_COLOR_DEFAULT, 2));
}

/* Random bytes, controls and escapes included, on odd geometries: nothing out of bounds. */
static void test_random_stream(void **state)
{
	static const u8 bpps[] = { 16, 24, 32 };
	char buf[4096];

	srand(42);
	for (int round = 0; round < 9; round++) {
		fb_init(8 * (1 + round * 3) + (u32)round, 16 * (1 + round % 4) + 3, bpps[round % 3], (u32)round * 4);
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (char)(rand() % 4 ? rand() % 256 : "\n\r\t\b\x1b[;m"[rand() % 9]);
		fbcon_write(buf, sizeof(buf));
		check_padding();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_init_rejects, teardown),
		cmocka_unit_test_teardown(test_glyphs_and_clear, teardown),
		cmocka_unit_test_teardown(test_control_characters, teardown),
		cmocka_unit_test_teardown(test_wrap, teardown),
		cmocka_unit_test_teardown(test_scroll, teardown),
		cmocka_unit_test_teardown(test_colors, teardown),
		cmocka_unit_test_teardown(test_utf8, teardown),
		cmocka_unit_test_teardown(test_16bpp, teardown),
		cmocka_unit_test_teardown(test_24bpp, teardown),
		cmocka_unit_test_teardown(test_scaled, teardown),
		cmocka_unit_test_teardown(test_random_stream, teardown),
	};

	return cmocka_run_group_tests_name("fbcon", tests, NULL, NULL);
}
