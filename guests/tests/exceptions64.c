// SPDX-License-Identifier: MIT
/* exceptions.c built as a long-mode guest (guests.mk links it with entry64.S). */
#include "exceptions.c"
