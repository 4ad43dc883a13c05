# The framebuffer console's font, generated from a Debian console font at build time.
# The PSF fonts under /usr/share/consolefonts come from console-setup-linux (which `kbd` pulls in
# through its Recommends). FONT_PSF may name any 8x16 PSF1/PSF2 font, gzipped or not.
FONT_PSF ?= /usr/share/consolefonts/Lat15-VGA16.psf.gz

$(B)/gen/font8x16.c: drivers/psf2c.py drivers/font.mk $(wildcard $(FONT_PSF))
	@test -f $(FONT_PSF) || { echo "font: $(FONT_PSF) is missing: run 'make deps'" \
		"(Debian package console-setup-linux)"; exit 1; }
	@mkdir -p $(dir $@)
	$(PYTHON) drivers/psf2c.py $(FONT_PSF) $@

KOBJS += $(B)/k/gen/font8x16.c.o

$(B)/k/gen/font8x16.c.o: $(B)/gen/font8x16.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@
