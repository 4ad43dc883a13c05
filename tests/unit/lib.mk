# Host unit tests for the kernel library, the command-line parser and the framebuffer console.
# Host libc provides memcpy/strlen & co., so kernel/lib/string.c is not linked in.
UNIT_TESTS += test_format test_cmdline test_fbcon

test_format_SRCS := tests/unit/test_format.c tests/unit/shim.c kernel/lib/format.c
test_cmdline_SRCS := tests/unit/test_cmdline.c tests/unit/shim.c kernel/cmdline.c
# The font is generated from a Debian console font by drivers/font.mk.
test_fbcon_SRCS := tests/unit/test_fbcon.c tests/unit/shim.c drivers/fbcon.c $(B)/gen/font8x16.c
