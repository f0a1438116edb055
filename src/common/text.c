// SPDX-License-Identifier: MIT
/* Escaping control characters in text shown to a person (text.h). */
#include "common/text.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

size_t aod_utf8_decode(const unsigned char *s, size_t left, uint32_t *cp)
{
	size_t n;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, c = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, c = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10FFFF)))
		return 0;
	*cp = c;
	return n;
}

/* Bytes of the character at s that may be shown as they are; 0: escape s[0]. */
static size_t safe_len(const unsigned char *s, size_t left, bool keep_newlines)
{
	uint32_t cp;
	size_t n = aod_utf8_decode(s, left, &cp);

	if (!n)
		return 0;
	if (cp < 0x20)
		return keep_newlines && (cp == '\n' || cp == '\t') ? 1 : 0;
	if (cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
		return 0;
	return n;
}

size_t aod_text_escape(const char *in, size_t inlen, char *out, size_t outlen,
		       bool keep_newlines)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t len = strnlen(in, inlen), need = 0, o = 0;
	bool full = false;

	for (size_t i = 0; i < len;) {
		size_t n = safe_len(s + i, len - i, keep_newlines);
		char esc[4] = { '\\', 'x', hex[s[i] >> 4], hex[s[i] & 0xF] };
		const char *piece = n ? (const char *)s + i : esc;
		size_t plen = n ? n : 4;

		need += plen;
		if (!full && o + plen < outlen) {
			memcpy(out + o, piece, plen);
			o += plen;
		} else {
			full = true;
		}
		i += n ? n : 1;
	}
	if (outlen)
		out[o < outlen ? o : outlen - 1] = '\0';
	return need;
}

bool aod_text_needs_escape(const char *s, size_t len, bool keep_newlines)
{
	const unsigned char *u = (const unsigned char *)s;

	len = strnlen(s, len);
	for (size_t i = 0; i < len;) {
		size_t n = safe_len(u + i, len - i, keep_newlines);

		if (!n)
			return true;
		i += n;
	}
	return false;
}

void aod_text_fput(FILE *f, const char *s, size_t len, bool keep_newlines)
{
	char buf[1024];
	size_t need;

	if (!aod_text_needs_escape(s, len, keep_newlines)) {
		fwrite(s, 1, strnlen(s, len), f);
		return;
	}
	need = aod_text_escape(s, len, buf, sizeof(buf), keep_newlines);
	if (need < sizeof(buf)) {
		fputs(buf, f);
		return;
	}
	/* long text: escape it in pieces of whole characters */
	for (size_t i = 0, n = strnlen(s, len); i < n;) {
		size_t piece = n - i < 200 ? n - i : 200;

		while (i + piece < n && ((unsigned char)s[i + piece] & 0xC0) == 0x80)
			piece++; /* do not split a UTF-8 sequence */
		aod_text_escape(s + i, piece, buf, sizeof(buf), keep_newlines);
		fputs(buf, f);
		i += piece;
	}
}

void aod_text_printf(FILE *f, const char *fmt, ...)
{
	char *line = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	aod_text_fput(f, line, (size_t)n, true);
	free(line);
}
