/* SPDX-License-Identifier: MIT */
/*
 * The console font: 8x16 glyphs indexed by Latin-1 code point, one byte per pixel row, most
 * significant bit leftmost. Generated at build time from a Debian console font (drivers/font.mk).
 */
#ifndef KEEL_DRIVERS_FONT8X16_H
#define KEEL_DRIVERS_FONT8X16_H

#include "kernel/types.h"

#define FONT_WIDTH  8
#define FONT_HEIGHT 16

extern const u8 font8x16[256][FONT_HEIGHT];

#endif
