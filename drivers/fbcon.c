/* SPDX-License-Identifier: MIT */
/* Framebuffer text console (see fbcon.h). */
#include "drivers/fbcon.h"

#include "drivers/font8x16.h"
#include "kernel/lib/string.h"

/* A character on the screen and an index into the palette of colors in use. */
struct cell {
	u8 ch;
	u8 color;
};

#define NR_COLORS    256
#define MAX_CSI_ARGS 8

enum esc_state { ESC_NONE, ESC_SEEN, ESC_CSI };

static struct {
	bool active;
	u8 *fb;
	u32 pitch;
	u32 bytes_pp;
	u8 shift[3], bits[3]; /* red, green, blue */
	u32 scale;	      /* each font pixel is scale x scale screen pixels */
	u32 cols, rows;
	u32 x, y; /* cursor; x == cols means the line is full and wraps at the next glyph */
	u8 color;
	u32 nr_colors;
	u32 rgb[NR_COLORS];
	u32 pixel[NR_COLORS];
	u32 bg;
	/* Escape and UTF-8 decoding state carried across fbcon_write() calls. */
	enum esc_state esc;
	u32 args[MAX_CSI_ARGS];
	u32 nr_args;
	u32 utf8_cp, utf8_left;
} con;

static struct cell cells[FBCON_MAX_ROWS][FBCON_MAX_COLS];

static const struct cell blank = { .ch = ' ', .color = 0 };

static u32 to_pixel(u32 rgb)
{
	u32 px = 0;

	for (int i = 0; i < 3; i++) {
		u32 c = (rgb >> (16 - 8 * i)) & 0xff;

		px |= (c >> (8 - con.bits[i])) << con.shift[i];
	}
	return px;
}

static void put_pixel(u8 *p, u32 px)
{
	/* Constant-size copies compile to single stores and need no alignment. */
	switch (con.bytes_pp) {
	case 4:
		__builtin_memcpy(p, &px, 4);
		break;
	case 3:
		p[0] = (u8)px;
		p[1] = (u8)(px >> 8);
		p[2] = (u8)(px >> 16);
		break;
	default: {
		u16 v = (u16)px;

		__builtin_memcpy(p, &v, 2);
	}
	}
}

static void draw_cell(u32 row, u32 col)
{
	const struct cell *c = &cells[row][col];
	const u8 *glyph = font8x16[c->ch];
	u32 fg = con.pixel[c->color];
	u32 w = FONT_WIDTH * con.scale, h = FONT_HEIGHT * con.scale;
	u8 *line = con.fb + (size_t)row * h * con.pitch + (size_t)col * w * con.bytes_pp;

	for (u32 y = 0; y < h; y++, line += con.pitch) {
		u8 bits = glyph[y / con.scale];

		for (u32 x = 0; x < w; x++)
			put_pixel(line + x * con.bytes_pp, bits & (0x80 >> (x / con.scale)) ? fg : con.bg);
	}
}

/* Two cells that put the same pixels on the screen: a space looks the same in every color. */
static bool same_look(struct cell a, struct cell b)
{
	return a.ch == b.ch && (a.color == b.color || a.ch == ' ');
}

/*
 * Moves every row up by one and blanks the last. Only cells whose look changes are drawn again:
 * log lines are mostly short, so most of the screen is blank in both and costs nothing.
 */
static void scroll(void)
{
	for (u32 r = 0; r < con.rows; r++) {
		for (u32 c = 0; c < con.cols; c++) {
			struct cell next = r + 1 < con.rows ? cells[r + 1][c] : blank;
			bool changed = !same_look(cells[r][c], next);

			cells[r][c] = next;
			if (changed)
				draw_cell(r, c);
		}
	}
}

static void newline(void)
{
	con.x = 0;
	if (++con.y == con.rows) {
		scroll();
		con.y = con.rows - 1;
	}
}

static void put_glyph(u8 ch)
{
	if (con.x >= con.cols)
		newline();
	cells[con.y][con.x] = (struct cell){ .ch = ch, .color = con.color };
	draw_cell(con.y, con.x);
	con.x++;
}

static u8 color_index(u32 rgb)
{
	u32 i;

	rgb &= 0xffffff;
	for (i = 0; i < con.nr_colors; i++)
		if (con.rgb[i] == rgb)
			return (u8)i;
	/* Palette full: the last slot is recycled, which recolors older text using it on redraw. */
	if (i == NR_COLORS)
		i = NR_COLORS - 1;
	else
		con.nr_colors++;
	con.rgb[i] = rgb;
	con.pixel[i] = to_pixel(rgb);
	return (u8)i;
}

void fbcon_set_color(u32 rgb)
{
	if (con.active)
		con.color = color_index(rgb);
}

/* ESC[...m: the colors of the VGA text palette, which is what serial terminals show too. */
static void sgr(void)
{
	static const u32 vga[16] = {
		0x000000, 0xaa0000, 0x00aa00, 0xaa5500, 0x0000aa, 0xaa00aa, 0x00aaaa, 0xaaaaaa,
		0x555555, 0xff5555, 0x55ff55, 0xffff55, 0x5555ff, 0xff55ff, 0x55ffff, 0xffffff,
	};

	if (!con.nr_args)
		con.args[con.nr_args++] = 0;
	for (u32 i = 0; i < con.nr_args; i++) {
		u32 a = con.args[i];

		if (a == 0 || a == 39)
			con.color = 0;
		else if (a >= 30 && a <= 37)
			con.color = color_index(vga[a - 30]);
		else if (a >= 90 && a <= 97)
			con.color = color_index(vga[a - 90 + 8]);
	}
}

/* Returns true when ch belonged to an escape sequence. */
static bool escape(u8 ch)
{
	switch (con.esc) {
	case ESC_NONE:
		if (ch != 0x1b)
			return false;
		if (con.utf8_left) {
			con.utf8_left = 0;
			put_glyph('?'); /* the escape cut a UTF-8 sequence short */
		}
		con.esc = ESC_SEEN;
		return true;
	case ESC_SEEN:
		/* Only CSI sequences are understood; any other ESC x is dropped whole. */
		con.esc = ch == '[' ? ESC_CSI : ESC_NONE;
		con.nr_args = 0;
		con.args[0] = 0;
		return true;
	case ESC_CSI:
		if (ch >= '0' && ch <= '9') {
			u32 *arg;

			if (!con.nr_args)
				con.nr_args = 1;
			arg = &con.args[con.nr_args - 1];
			if (*arg < 10000)
				*arg = *arg * 10 + (ch - '0');
		} else if (ch == ';') {
			if (!con.nr_args)
				con.nr_args = 1;
			if (con.nr_args < MAX_CSI_ARGS)
				con.args[con.nr_args++] = 0;
		} else if (ch >= 0x40 && ch <= 0x7e) {
			if (ch == 'm')
				sgr();
			con.esc = ESC_NONE;
		} else if (ch < 0x20 || ch >= 0x80) {
			con.esc = ESC_NONE; /* not a CSI byte: give up on the sequence */
			return false;
		}
		return true;
	}
	return false;
}

static void control(u8 ch)
{
	switch (ch) {
	case '\n':
		newline();
		break;
	case '\r':
		con.x = 0;
		break;
	case '\t':
		if (con.x >= con.cols)
			newline();
		con.x = MIN((con.x / 8 + 1) * 8, con.cols);
		break;
	case '\b':
		if (con.x)
			con.x--;
		break;
	default:
		break; /* other control characters have nothing to show */
	}
}

/* Decodes UTF-8 into a glyph: the font covers U+0000..U+00FF, anything else is '?'. */
static void utf8(u8 ch)
{
	if (con.utf8_left) {
		if ((ch & 0xc0) == 0x80) {
			u32 cp = con.utf8_cp = con.utf8_cp << 6 | (ch & 0x3f);

			if (--con.utf8_left == 0)
				put_glyph(cp >= 0xa0 && cp <= 0xff ? (u8)cp : '?');
			return;
		}
		/* Truncated sequence: show it, then treat ch on its own. */
		con.utf8_left = 0;
		put_glyph('?');
	}
	if (ch < 0x80) {
		if (ch < 0x20 || ch == 0x7f)
			control(ch);
		else
			put_glyph(ch);
	} else if (ch >= 0xc2 && ch <= 0xf4) {
		con.utf8_left = ch >= 0xf0 ? 3 : ch >= 0xe0 ? 2 : 1;
		con.utf8_cp = ch & (0x3f >> con.utf8_left);
	} else {
		put_glyph('?'); /* a stray continuation byte or a byte UTF-8 never uses */
	}
}

void fbcon_write(const char *s, size_t n)
{
	if (!con.active)
		return;
	for (size_t i = 0; i < n; i++)
		if (!escape((u8)s[i]))
			utf8((u8)s[i]);
}

static bool valid_channel(u8 pos, u8 size, u32 bpp)
{
	return size >= 1 && size <= 8 && (u32)pos + size <= bpp;
}

int fbcon_init(const struct boot_framebuffer *fb, void *virt)
{
	u32 bytes_pp, scale = 1;

	con.active = false;
	if (!fb || !virt || fb->type != BOOT_FB_RGB)
		return -EINVAL;
	if (fb->bpp != 16 && fb->bpp != 24 && fb->bpp != 32)
		return -EINVAL;
	bytes_pp = fb->bpp / 8;
	if (fb->width < FONT_WIDTH || fb->height < FONT_HEIGHT || fb->pitch < (u64)fb->width * bytes_pp)
		return -EINVAL;
	if (!valid_channel(fb->red_pos, fb->red_size, fb->bpp) ||
	    !valid_channel(fb->green_pos, fb->green_size, fb->bpp) ||
	    !valid_channel(fb->blue_pos, fb->blue_size, fb->bpp))
		return -EINVAL;

	while (fb->width / (FONT_WIDTH * scale) > FBCON_MAX_COLS || fb->height / (FONT_HEIGHT * scale) > FBCON_MAX_ROWS)
		scale++;

	memset(&con, 0, sizeof(con));
	con.fb = virt;
	con.pitch = fb->pitch;
	con.bytes_pp = bytes_pp;
	con.shift[0] = fb->red_pos;
	con.bits[0] = fb->red_size;
	con.shift[1] = fb->green_pos;
	con.bits[1] = fb->green_size;
	con.shift[2] = fb->blue_pos;
	con.bits[2] = fb->blue_size;
	con.scale = scale;
	con.cols = fb->width / (FONT_WIDTH * scale);
	con.rows = fb->height / (FONT_HEIGHT * scale);
	con.color = color_index(FBCON_COLOR_DEFAULT);
	con.bg = to_pixel(FBCON_COLOR_BG);

	for (u32 r = 0; r < con.rows; r++)
		for (u32 c = 0; c < con.cols; c++)
			cells[r][c] = blank;
	/* The whole visible area, margins included: firmware may have left a logo there. */
	for (u32 y = 0; y < fb->height; y++)
		for (u32 x = 0; x < fb->width; x++)
			put_pixel(con.fb + (size_t)y * con.pitch + (size_t)x * bytes_pp, con.bg);
	con.active = true;
	return 0;
}

bool fbcon_active(void)
{
	return con.active;
}

void fbcon_size(u32 *cols, u32 *rows)
{
	*cols = con.active ? con.cols : 0;
	*rows = con.active ? con.rows : 0;
}
