/*
 * json_guard.c - one lexical pass over JSON text (see json_guard.h).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_guard.h"
#include "core/utf8.h"

/* True when the digit run d[0..n) (no sign) is at most max[0..maxn). */
static bool
json_guard_digits_le(const char *d, size_t n, const char *max, size_t maxn)
{
	while (n > 1 && *d == '0') {	/* "-0" and friends */
		d++;
		n--;
	}
	if (n != maxn)
		return n < maxn;
	return memcmp(d, max, n) <= 0;
}

/*
 * Checks the number starting at s[*i]; advances *i past it.  Returns NULL
 * or a reason.
 */
static const char *
json_guard_number(const char *s, size_t len, size_t *i)
{
	size_t p = *i, digits;
	bool neg = false, frac = false;
	const char *start;

	if (s[p] == '-') {
		neg = true;
		p++;
	}
	start = s + p;
	if (p >= len || s[p] < '0' || s[p] > '9')
		return "invalid number";
	if (s[p] == '0')
		p++;
	else
		while (p < len && s[p] >= '0' && s[p] <= '9')
			p++;
	digits = (size_t)(s + p - start);
	if (p < len && s[p] == '.') {
		frac = true;
		p++;
		if (p >= len || s[p] < '0' || s[p] > '9')
			return "invalid number";
		while (p < len && s[p] >= '0' && s[p] <= '9')
			p++;
	}
	if (p < len && (s[p] == 'e' || s[p] == 'E')) {
		frac = true;
		p++;
		if (p < len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= len || s[p] < '0' || s[p] > '9')
			return "invalid number";
		while (p < len && s[p] >= '0' && s[p] <= '9')
			p++;
	}
	*i = p;
	if (!frac) {
		/* json-c keeps int64 and, for positive values, uint64 exactly. */
		if (neg ? !json_guard_digits_le(start, digits, "9223372036854775808", 19)
		    : !json_guard_digits_le(start, digits, "18446744073709551615", 20))
			return "number out of range";
		return NULL;
	} else {
		char tmp[64];
		size_t n = (size_t)(s + p - (start - neg));

		/* Only a huge exponent overflows; short numbers are checked exactly. */
		if (n < sizeof(tmp)) {
			memcpy(tmp, start - neg, n);
			tmp[n] = '\0';
			if (!isfinite(strtod(tmp, NULL)))
				return "number out of range";
		} else if (!isfinite(strtod(start - neg, NULL)))
			return "number out of range";
	}
	return NULL;
}

/* Skips the string at s[*i] ('"'); reports whether it holds \u0000. */
static const char *
json_guard_string(const char *s, size_t len, size_t *i, bool *has_nul)
{
	size_t p = *i + 1;

	*has_nul = false;
	while (p < len) {
		if (s[p] == '"') {
			*i = p + 1;
			return NULL;
		}
		if (s[p] == '\\') {
			if (p + 5 < len && s[p + 1] == 'u' && memcmp(s + p + 2, "0000", 4) == 0)
				*has_nul = true;
			p += 2;
			continue;
		}
		p++;
	}
	*i = len;
	return NULL;	/* unterminated: the parser reports it */
}

bool
json_guard_check(const char *s, size_t len, char *why, size_t why_size)
{
	/* For each open container: is it an object, and is a key expected? */
	unsigned char kind[JSON_GUARD_MAX_DEPTH];
	bool want_key = false;
	size_t i = 0, bad, depth = 0;
	const char *err = NULL;

	if (!utf8_valid(s, len, &bad)) {
		snprintf(why, why_size, "invalid UTF-8 at byte %zu", bad);
		return false;
	}
	while (i < len && err == NULL) {
		char c = s[i];
		size_t at = i;
		bool nul;

		switch (c) {
		case '{':
		case '[':
			if (depth == JSON_GUARD_MAX_DEPTH) {
				snprintf(why, why_size, "nesting too deep at byte %zu", i);
				return false;
			}
			kind[depth++] = c == '{';
			want_key = c == '{';
			i++;
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			want_key = false;
			i++;
			break;
		case ',':
			want_key = depth > 0 && kind[depth - 1];
			i++;
			break;
		case ':':
			want_key = false;
			i++;
			break;
		case '"':
			err = json_guard_string(s, len, &i, &nul);
			if (err == NULL && nul && want_key)
				err = "object key contains NUL";
			want_key = false;
			break;
		case '-':
		case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			err = json_guard_number(s, len, &i);
			break;
		case ' ': case '\t': case '\n': case '\r':
			i++;
			break;
		default:
			if (len - i >= 4 && (memcmp(s + i, "true", 4) == 0 ||
			    memcmp(s + i, "null", 4) == 0))
				i += 4;
			else if (len - i >= 5 && memcmp(s + i, "false", 5) == 0)
				i += 5;
			else
				err = "not JSON";
			break;
		}
		if (err != NULL) {
			snprintf(why, why_size, "%s at byte %zu", err, at);
			return false;
		}
	}
	return true;
}
