/* SPDX-License-Identifier: MIT */
/* Volume paths for keel.cfg entries: UEFI file paths use '\' (UEFI 2.9 section 13.5). */
#include "boot/efi/loader.h"

static bool is_sep(char c)
{
	return c == '\\' || c == '/';
}

/* Appends the components of src to out (at *len), one '\' before each. */
static int append(char *out, size_t size, size_t *len, const char *src)
{
	for (const char *p = src; *p;) {
		if (is_sep(*p)) {
			p++;
			continue;
		}
		if (*len + 1 >= size)
			return -E2BIG;
		out[(*len)++] = '\\';
		for (; *p && !is_sep(*p); p++) {
			if (*p < 0x20 || *p > 0x7e)
				return -EINVAL;
			if (*len + 1 >= size)
				return -E2BIG;
			out[(*len)++] = *p;
		}
	}
	return 0;
}

int path_resolve(char *out, size_t size, const char *dir, const char *path)
{
	size_t len = 0;
	int err;

	if (!size)
		return -E2BIG;
	out[0] = '\0';
	if (!path[0])
		return -EINVAL;
	err = is_sep(path[0]) ? 0 : append(out, size, &len, dir);
	if (!err)
		err = append(out, size, &len, path);
	if (!err && !len)
		err = -EINVAL; /* only separators: the root directory is not a file */
	out[err ? 0 : len] = '\0';
	return err;
}

void path_dirname(char *path)
{
	size_t cut = 0;

	for (size_t i = 0; path[i]; i++)
		if (path[i] == '\\')
			cut = i;
	path[cut] = '\0';
}
