/* SPDX-License-Identifier: MIT */
/* What libkeel's files share (not public). */
#ifndef LIBKEEL_INTERNAL_H
#define LIBKEEL_INTERNAL_H

struct keel {
	int fd; /* /dev/keel */
};

#endif
