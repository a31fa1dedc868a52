/*
 * json_slice.c - values inside accepted JSON text (see json_slice.h).
 */
#include "config.h"

#include <string.h>

#include "core/json_slice.h"

static bool
json_slice_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *
json_slice_skip_ws(const char *p, const char *end)
{
	while (p < end && json_slice_ws(*p))
		p++;
	return p;
}

/*
 * Bytes that end a run of plain string content: 1 for '"' and '\\', 2 for
 * the raw control bytes, which json-c would write as \u00XX.
 */
static const unsigned char json_slice_stop[256] = {
	[0x00] = 2, [0x01] = 2, [0x02] = 2, [0x03] = 2, [0x04] = 2, [0x05] = 2,
	[0x06] = 2, [0x07] = 2, [0x08] = 2, [0x09] = 2, [0x0a] = 2, [0x0b] = 2,
	[0x0c] = 2, [0x0d] = 2, [0x0e] = 2, [0x0f] = 2, [0x10] = 2, [0x11] = 2,
	[0x12] = 2, [0x13] = 2, [0x14] = 2, [0x15] = 2, [0x16] = 2, [0x17] = 2,
	[0x18] = 2, [0x19] = 2, [0x1a] = 2, [0x1b] = 2, [0x1c] = 2, [0x1d] = 2,
	[0x1e] = 2, [0x1f] = 2, ['"'] = 1, ['\\'] = 1,
};

/* The first byte at or after p that ends a run of plain string content. */
static const char *
json_slice_run(const char *p, const char *end)
{
	while (p < end && json_slice_stop[(unsigned char)*p] == 0)
		p++;
	return p;
}

/* p at an opening quote: returns the byte after the closing one. */
static const char *
json_slice_skip_string(const char *p, const char *end, bool *escaped)
{
	for (p++;; p += 2) {
		while ((p = json_slice_run(p, end)) < end && *p != '"' &&
		    *p != '\\')
			p++;	/* a raw control byte */
		if (p >= end)
			return end;
		if (*p == '"')
			return p + 1;
		*escaped = true;
	}
}

/* p at the first byte of a value: returns the byte after its last. */
static const char *
json_slice_skip_value(const char *p, const char *end)
{
	size_t depth = 0;
	bool escaped;

	if (p >= end)
		return end;
	if (*p == '"')
		return json_slice_skip_string(p, end, &escaped);
	if (*p != '{' && *p != '[') {
		while (p < end && !json_slice_ws(*p) && *p != ',' && *p != ']' &&
		    *p != '}')
			p++;
		return p;
	}
	for (; p < end; p++) {
		if (*p == '"') {
			p = json_slice_skip_string(p, end, &escaped) - 1;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (--depth == 0)
				return p + 1;
		}
	}
	return end;
}

bool
json_slice_element(const char *s, size_t len, size_t idx, struct json_span *v)
{
	const char *end = s + len, *p, *q;
	size_t i;

	p = json_slice_skip_ws(s, end);
	if (p >= end || *p != '[')
		return false;
	for (i = 0;; i++) {
		p = json_slice_skip_ws(p + 1, end);
		if (p >= end || *p == ']')
			return false;
		q = json_slice_skip_value(p, end);
		if (i == idx) {
			v->p = p;
			v->len = (size_t)(q - p);
			return true;
		}
		p = json_slice_skip_ws(q, end);
		if (p >= end || *p != ',')
			return false;
	}
}

void
json_slice_members(const char *s, size_t len, const char *const *keys,
    size_t n, struct json_span *v, enum json_slice_find *found)
{
	const char *end = s + len, *p, *k, *q, *k_end;
	bool escaped = false;
	size_t i;

	for (i = 0; i < n; i++)
		found[i] = JSON_SLICE_ABSENT;
	p = json_slice_skip_ws(s, end);
	if (p >= end || *p != '{')
		return;
	for (;;) {
		p = json_slice_skip_ws(p + 1, end);
		if (p >= end || *p != '"')
			break;		/* "}" of an empty object, or the end */
		k = p + 1;
		p = json_slice_skip_string(p, end, &escaped);
		if (escaped) {
			for (i = 0; i < n; i++)
				found[i] = JSON_SLICE_UNSURE;
			return;
		}
		q = p - 1;	/* the closing quote */
		p = json_slice_skip_ws(p, end);
		if (p >= end || *p != ':')
			break;
		p = json_slice_skip_ws(p + 1, end);
		k_end = json_slice_skip_value(p, end);
		for (i = 0; i < n; i++) {
			if ((size_t)(q - k) != strlen(keys[i]) ||
			    memcmp(k, keys[i], (size_t)(q - k)) != 0)
				continue;
			if (found[i] != JSON_SLICE_ABSENT) {
				found[i] = JSON_SLICE_UNSURE;	/* json-c keeps the last */
				continue;
			}
			found[i] = JSON_SLICE_FOUND;
			v[i].p = p;
			v[i].len = (size_t)(k_end - p);
		}
		p = json_slice_skip_ws(k_end, end);
		if (p >= end || *p != ',')
			break;
	}
}

enum json_slice_find
json_slice_member(const char *s, size_t len, const char *key,
    struct json_span *v)
{
	enum json_slice_find found;

	json_slice_members(s, len, &key, 1, v, &found);
	return found;
}

bool
json_slice_compact(const char *s, size_t len, char *out, size_t *out_len,
    size_t *members)
{
	const char *end = s + len, *p = s;
	char *o = out;
	size_t n = 0;

	while (p < end) {
		char c = *p;

		if (json_slice_ws(c)) {
			p++;
		} else if (c == '"') {
			/* A string; a key when a ':' follows, counted below. */
			*o++ = *p++;
			for (;;) {
				const char *q = json_slice_run(p, end);

				memcpy(o, p, (size_t)(q - p));
				o += q - p;
				p = q;
				if (p >= end || *p == '"')
					break;
				if ((unsigned char)*p < 0x20)
					return false;	/* json-c writes \u00XX */
				if (*p == '\\') {
					if (p + 1 >= end || p[1] == 'u')
						return false;	/* json-c decodes it */
					if (p[1] == '/') {
						*o++ = '/';	/* NOSLASHESCAPE */
						p += 2;
						continue;
					}
					*o++ = *p++;	/* \" \\ \b \f \n \r \t: as json-c */
				}
				*o++ = *p++;
			}
			if (p < end)
				*o++ = *p++;
		} else if (c == ':') {
			n++;
			*o++ = *p++;
		} else if (c == '-' && p + 1 < end && p[1] == '0' &&
		    (p + 2 == end || (p[2] != '.' && p[2] != 'e' && p[2] != 'E' &&
		    (p[2] < '0' || p[2] > '9')))) {
			*o++ = '0';	/* json-c reads -0 as the integer 0 */
			p += 2;
		} else {
			*o++ = *p++;
		}
	}
	*out_len = (size_t)(o - out);
	*members = n;
	return true;
}
