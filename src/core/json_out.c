/*
 * json_out.c - JSON text output into reusable buffers (see json_out.h).
 */
#include "config.h"

#include <string.h>

#include "core/json_out.h"
#include "core/strutil.h"
#include "core/timefmt.h"
#include "core/utf8.h"

static const char json_hex[] = "0123456789abcdef";

/*
 * 1 for the bytes json_out_string copies as they are: printable ASCII but
 * '"', '\\', '<', '>' and '&'.  One load per byte instead of the chain
 * of tests it replaced (a fifth of a category read's instructions went
 * into that loop).  Bytes from 0x80 go through the UTF-8 checks.
 */
static const unsigned char json_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x10 */
	1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x20: " & */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,	/* 0x30: < > */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 0x50: backslash */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x70 */
	/* 0x80 - 0xff: 0 */
};

void
json_out_string(struct buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, run = 0;

	/* Worst case every byte becomes \u00XX: reserve once for the common case. */
	buf_reserve(b, len + 2);
	buf_putc(b, '"');
	for (i = 0; i < len; i++) {
		size_t start = i;
		const char *esc = NULL;
		unsigned char c;
		char u[6];

		/* The plain bytes up to the next one that needs a look. */
		while (i < len && json_plain[p[i]])
			i++;
		run += i - start;
		if (i == len)
			break;
		c = p[i];
		if (c >= 0x80 && c != 0xe2) {
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

			/* Invalid UTF-8 never leaves as such: it becomes U+FFFD. */
			if (i + n <= len && utf8_valid(s + i, n, NULL)) {
				run += n;
				i += n - 1;
				continue;
			}
			buf_append(b, s + i - run, run);
			run = 0;
			buf_puts(b, "\\ufffd");
			continue;
		}
		if (c == 0xe2 && !(i + 2 < len && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))) {
			if (i + 3 <= len && utf8_valid(s + i, 3, NULL)) {
				run += 3;
				i += 2;
				continue;
			}
			buf_append(b, s + i - run, run);
			run = 0;
			buf_puts(b, "\\ufffd");
			continue;
		}
		buf_append(b, s + i - run, run);
		run = 0;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case 0xe2:
			/* U+2028 / U+2029: JavaScript line terminators. */
			esc = p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			i += 2;
			break;
		default:
			memcpy(u, "\\u00", 4);
			u[4] = json_hex[c >> 4];
			u[5] = json_hex[c & 0xf];
			buf_append(b, u, 6);
			continue;
		}
		buf_puts(b, esc);
	}
	buf_append(b, s + len - run, run);
	buf_putc(b, '"');
}

void
json_out_cstr(struct buf *b, const char *s)
{
	json_out_string(b, s, strlen(s));
}

void
json_out_int(struct buf *b, int64_t v)
{
	char tmp[STRUTIL_U64_DIGITS];
	char *end = tmp + sizeof(tmp);
	/* The magnitude as unsigned, so that INT64_MIN does not overflow. */
	char *p = strutil_u64_dec(end, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);

	if (v < 0)
		buf_putc(b, '-');
	buf_append(b, p, (size_t)(end - p));
}

void
json_out_time(struct buf *b, int64_t us)
{
	char tmp[TIMEFMT_LEN + 1];

	timefmt_format_us(us, tmp);
	buf_putc(b, '"');
	buf_append(b, tmp, TIMEFMT_LEN);
	buf_putc(b, '"');
}

void
json_out_raw(struct buf *b, const char *json, size_t len)
{
	buf_append(b, json, len);
}

void
json_out_key(struct buf *b, const char *key)
{
	json_out_cstr(b, key);
	buf_putc(b, ':');
}
