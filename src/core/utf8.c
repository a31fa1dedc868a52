/*
 * utf8.c - strict UTF-8 validation (see utf8.h), after the table in
 * RFC 3629 section 4.
 */
#include "config.h"

#include "core/utf8.h"

bool
utf8_valid(const char *s, size_t len, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* no overlong 3-byte forms */
			else if (c == 0xed)
				hi = 0x9f;	/* no surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;	/* no overlong 4-byte forms */
			else if (c == 0xf4)
				hi = 0x8f;	/* nothing above U+10FFFF */
		} else
			goto fail;
		if (len - i <= n)
			goto fail;
		if (p[i + 1] < lo || p[i + 1] > hi)
			goto fail;
		if (n >= 2 && (p[i + 2] & 0xc0) != 0x80)
			goto fail;
		if (n == 3 && (p[i + 3] & 0xc0) != 0x80)
			goto fail;
		i += n + 1;
	}
	return true;
fail:
	if (bad != NULL)
		*bad = i;
	return false;
}
