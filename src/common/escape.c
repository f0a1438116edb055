// SPDX-License-Identifier: MIT
/* Escaping of control characters in one-line messages (common/escape.h). */
#include "common/escape.h"

#include <stdio.h>

char *aod_escape_ctl(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			if (o + 1 >= len)
				break;
			out[o++] = (char)*p;
		} else {
			if (o + 4 >= len)
				break;
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", *p);
		}
	}
	out[o] = '\0';
	return out;
}
