/*
 * utf8_t.c - strict UTF-8 validation: the RFC 3629 table, byte by byte.
 */
#include "config.h"

#include <string.h>

#include "../tap.h"
#include "core/utf8.h"

struct utf8_case {
	const char *bytes;	/* input */
	size_t len;		/* its length */
	int valid;		/* expected verdict */
	size_t bad;		/* expected offset of the bad sequence */
	const char *what;	/* description */
};

#define C(s, v, b, w) { s, sizeof(s) - 1, v, b, w }

static const struct utf8_case cases[] = {
	C("", 1, 0, "empty"),
	C("plain ASCII", 1, 0, "ASCII"),
	C("a\0b", 1, 0, "NUL is well-formed"),
	C("\xc3\xbc", 1, 0, "U+00FC"),
	C("\xe2\x82\xac", 1, 0, "U+20AC"),
	C("\xf0\x9f\x98\x80", 1, 0, "U+1F600 emoji"),
	C("\xef\xbf\xbf", 1, 0, "U+FFFF"),
	C("\xf4\x8f\xbf\xbf", 1, 0, "U+10FFFF, the last code point"),
	C("\xed\x9f\xbf", 1, 0, "U+D7FF, just below the surrogates"),
	C("\xee\x80\x80", 1, 0, "U+E000, just above the surrogates"),
	C("\x80", 0, 0, "a lone continuation byte"),
	C("a\xbf", 0, 1, "a continuation byte after ASCII"),
	C("\xc0\xaf", 0, 0, "overlong '/' (C0 AF)"),
	C("\xc1\xbf", 0, 0, "overlong (C1)"),
	C("\xe0\x80\xaf", 0, 0, "overlong 3-byte form"),
	C("\xe0\x9f\xbf", 0, 0, "overlong 3-byte, top of range"),
	C("\xf0\x80\x80\xaf", 0, 0, "overlong 4-byte form"),
	C("\xf0\x8f\xbf\xbf", 0, 0, "overlong 4-byte, top of range"),
	C("\xed\xa0\x80", 0, 0, "U+D800, a surrogate"),
	C("\xed\xbf\xbf", 0, 0, "U+DFFF, a surrogate"),
	C("\xf4\x90\x80\x80", 0, 0, "U+110000, above the range"),
	C("\xf5\x80\x80\x80", 0, 0, "F5 never starts a sequence"),
	C("\xff", 0, 0, "FF never appears"),
	C("ok\xc3", 0, 2, "truncated 2-byte sequence at the end"),
	C("\xe2\x82", 0, 0, "truncated 3-byte sequence"),
	C("\xf0\x9f\x98", 0, 0, "truncated 4-byte sequence"),
	C("\xe2\x28\xa1", 0, 0, "bad second byte"),
	C("\xe2\x82\x28", 0, 0, "bad third byte"),
	C("\xf0\x9f\x98\x28", 0, 0, "bad fourth byte"),
};

int
main(void)
{
	size_t i, n = sizeof(cases) / sizeof(cases[0]);

	tap_plan((int)n * 2 - 10);
	for (i = 0; i < n; i++) {
		size_t bad = (size_t)-1;
		int v = utf8_valid(cases[i].bytes, cases[i].len, &bad);

		ok(v == cases[i].valid, "%s: %s", cases[i].what,
		    cases[i].valid ? "valid" : "invalid");
		if (!cases[i].valid)
			is_int(bad, cases[i].bad, "%s: offset of the bad sequence",
			    cases[i].what);
	}
	return tap_done();
}
