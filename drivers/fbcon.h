/* SPDX-License-Identifier: MIT */
/*
 * Framebuffer text console: 8x16 glyphs on a linear RGB framebuffer (GOP or multiboot2) of 16,
 * 24 or 32 bits per pixel. It is for machines without a serial port, so it is write-only and
 * never reads the framebuffer back (slow on real hardware): a shadow grid of characters is
 * re-rendered when the screen scrolls. One console; callers serialize (the log lock does).
 *
 * Understood in the byte stream: '\n' (to the start of the next line), '\r', '\t' (stops every
 * 8 columns), '\b' (one column back, nothing erased), UTF-8 (code points above U+00FF and
 * malformed bytes show as '?'), and the ANSI SGR colors ESC[0m, ESC[39m, ESC[30-37m and
 * ESC[90-97m; other escape sequences and control characters are dropped. Lines wrap at the last
 * column and the screen scrolls up at the bottom.
 */
#ifndef KEEL_DRIVERS_FBCON_H
#define KEEL_DRIVERS_FBCON_H

#include "kernel/bootinfo.h"
#include "kernel/types.h"

/* Colors are 0xRRGGBB; the VGA text palette's values. */
#define FBCON_COLOR_BG	    0x000000
#define FBCON_COLOR_DEFAULT 0xaaaaaa
#define FBCON_COLOR_WARN    0xffff55
#define FBCON_COLOR_ERROR   0xff5555

/* Larger screens get glyphs scaled by a whole factor until the grid fits (4K: 2x, 240x67). */
#define FBCON_MAX_COLS 240
#define FBCON_MAX_ROWS 135

/*
 * Takes over the framebuffer described by fb, which the caller has mapped at virt, and clears
 * it. Returns 0, or -EINVAL for a framebuffer it cannot use (not RGB, unsupported depth, pitch
 * shorter than a line, smaller than one glyph, bad color masks); the console then stays off and
 * fbcon_write() does nothing. May be called again to move to another framebuffer.
 */
int fbcon_init(const struct boot_framebuffer *fb, void *virt);

/* Prints n bytes at the cursor in the current color. */
void fbcon_write(const char *s, size_t n);

/* Color for the characters written from now on (0xRRGGBB), e.g. FBCON_COLOR_ERROR. */
void fbcon_set_color(u32 rgb);

/* Whether fbcon_init() succeeded, and the text grid it chose (0x0 when it did not). */
bool fbcon_active(void);
void fbcon_size(u32 *cols, u32 *rows);

#endif
