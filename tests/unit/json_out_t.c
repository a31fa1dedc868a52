/*
 * tests/unit/json_out_t.c - unit tests of src/core/json_out.c.
 *
 * Escaping is checked byte for byte against Go's encoding/json rules, and
 * independently by parsing the output back with json-c: every string must
 * round-trip to the very bytes that went in.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/buf.h"
#include "core/json_out.h"
#include "../tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct esc_case {
	const char *in;		/* input bytes */
	size_t len;		/* input length (explicit: may hold NUL) */
	const char *want;	/* expected JSON text */
};

#define S(lit) lit, sizeof(lit) - 1

static const struct esc_case esc_cases[] = {
	{ S(""), "\"\"" },
	{ S("plain text"), "\"plain text\"" },
	{ S("say \"hi\""), "\"say \\\"hi\\\"\"" },
	{ S("back\\slash"), "\"back\\\\slash\"" },
	{ S("a\nb\rc\td"), "\"a\\nb\\rc\\td\"" },
	{ S("\x01\x1f"), "\"\\u0001\\u001f\"" },
	{ S("\b\f"), "\"\\u0008\\u000c\"" },
	{ S("nul\0byte"), "\"nul\\u0000byte\"" },
	{ S("<script>&</script>"),
	    "\"\\u003cscript\\u003e\\u0026\\u003c/script\\u003e\"" },
	{ S("del\x7f"), "\"del\x7f\"" },
	{ S("/slash'quote"), "\"/slash'quote\"" },
	{ S("\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80"),
	    "\"\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80\"" },
	{ S("line\xe2\x80\xa8para\xe2\x80\xa9"),
	    "\"line\\u2028para\\u2029\"" },
	/* Neighbours of U+2028/U+2029 stay raw. */
	{ S("\xe2\x80\xa7\xe2\x80\xaa\xe2\x81\xa8"),
	    "\"\xe2\x80\xa7\xe2\x80\xaa\xe2\x81\xa8\"" },
	/* Invalid UTF-8 becomes U+FFFD, one per byte that starts nothing. */
	{ S("x\xe2"), "\"x\\ufffd\"" },
	{ S("x\xe2\x80"), "\"x\\ufffd\\ufffd\"" },
	{ S("\xff"), "\"\\ufffd\"" },
	{ S("\xc0\xaf"), "\"\\ufffd\\ufffd\"" },
	{ S("a\xed\xa0\x80" "b"), "\"a\\ufffd\\ufffd\\ufffdb\"" },
	{ S("\xe2\x80\xa8"), "\"\\u2028\"" },
};

/* Runs json_out_string on an exact-size heap copy (ASan sees over-reads). */
static void
emit(struct buf *b, const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (copy == NULL)
		tap_bail("out of memory");
	memcpy(copy, s, len);
	json_out_string(b, copy, len);
	free(copy);
}

/* Parses b as JSON with json-c; true when it is a string equal to s[0..len). */
static int
parses_back(const struct buf *b, const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	int r = 0;

	if (tok == NULL)
		tap_bail("out of memory");
	o = json_tokener_parse_ex(tok, b->data, (int)b->len);
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    json_object_is_type(o, json_type_string) &&
	    (size_t)json_object_get_string_len(o) == len &&
	    memcmp(json_object_get_string(o), s, len) == 0)
		r = 1;
	json_object_put(o);
	json_tokener_free(tok);
	return r;
}

static void
escape_ok(void)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < NELEM(esc_cases); i++) {
		const struct esc_case *c = &esc_cases[i];

		buf_reset(&b);
		emit(&b, c->in, c->len);
		ok(b.len == strlen(c->want) && strcmp(b.data, c->want) == 0,
		    "escape case %zu gives %s", i, c->want);
		if (b.len != strlen(c->want) || strcmp(b.data, c->want) != 0)
			tap_diag("got %s", b.data);
	}
	/* Every other printable ASCII byte is copied as it is. */
	{
		char plain[96], want[100];
		size_t n = 0;
		int c;

		for (c = 0x20; c < 0x80; c++)
			if (strchr("\"\\<>&", c) == NULL)
				plain[n++] = (char)c;
		want[0] = '"';
		memcpy(want + 1, plain, n);
		want[n + 1] = '"';
		want[n + 2] = '\0';
		buf_reset(&b);
		emit(&b, plain, n);
		ok(n == 91 && strcmp(b.data, want) == 0,
		    "the 91 other printable ASCII bytes (DEL too) are copied as they are");
	}
	buf_free(&b);
}

static void
round_trip_ok(void)
{
	struct buf b;
	char all[200], *big;
	size_t i, n = 0, big_len = 100000;

	buf_init(&b);
	/* Every ASCII byte, NUL included, then some multibyte UTF-8. */
	for (i = 0; i < 128; i++)
		all[n++] = (char)i;
	memcpy(all + n, "\xc3\xbc\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80", 12);
	n += 12;
	emit(&b, all, n);
	ok(parses_back(&b, all, n), "all ASCII bytes and UTF-8 round-trip "
	    "through json-c");

	/* A long string with escapes scattered through it. */
	big = malloc(big_len);
	if (big == NULL)
		tap_bail("out of memory");
	for (i = 0; i < big_len; i++)
		big[i] = (char)(i % 7 == 0 ? '"' : i % 11 == 0 ? '\n' :
		    i % 13 == 0 ? '<' : 'a' + (int)(i % 26));
	buf_reset(&b);
	emit(&b, big, big_len);
	ok(parses_back(&b, big, big_len), "a 100000-byte string round-trips");
	ok(b.data[b.len] == '\0' && strlen(b.data) == b.len,
	    "output is NUL-terminated");
	free(big);

	/* Appending keeps what was there. */
	buf_reset(&b);
	buf_puts(&b, "[");
	json_out_cstr(&b, "x<y");
	buf_puts(&b, "]");
	is_str(b.data, "[\"x\\u003cy\"]", "json_out_cstr appends");
	buf_free(&b);
}

static void
scalars_ok(void)
{
	struct buf b;

	buf_init(&b);
	json_out_int(&b, 0);
	is_str(buf_cstr(&b), "0", "int 0");
	buf_reset(&b);
	json_out_int(&b, -1);
	is_str(buf_cstr(&b), "-1", "int -1");
	buf_reset(&b);
	json_out_int(&b, INT64_MAX);
	is_str(buf_cstr(&b), "9223372036854775807", "INT64_MAX exactly");
	buf_reset(&b);
	json_out_int(&b, INT64_MIN);
	is_str(buf_cstr(&b), "-9223372036854775808", "INT64_MIN exactly");
	buf_reset(&b);
	json_out_int(&b, INT64_C(9007199254740993));
	is_str(buf_cstr(&b), "9007199254740993", "2^53+1 without float loss");

	buf_reset(&b);
	json_out_time(&b, INT64_C(1772361000123456));
	is_str(buf_cstr(&b), "\"2026-03-01T10:30:00.123456Z\"", "time");
	buf_reset(&b);
	json_out_time(&b, 0);
	is_str(buf_cstr(&b), "\"1970-01-01T00:00:00.000000Z\"", "time 0");

	/* A whole object built from pieces. */
	buf_reset(&b);
	buf_putc(&b, '{');
	json_out_key(&b, "globalPosition");
	json_out_int(&b, 12);
	buf_putc(&b, ',');
	json_out_key(&b, "data");
	json_out_raw(&b, "{\"a\":[1,2]}", 11);
	buf_putc(&b, ',');
	json_out_key(&b, "k\"ey");
	json_out_cstr(&b, "v");
	buf_putc(&b, '}');
	is_str(buf_cstr(&b),
	    "{\"globalPosition\":12,\"data\":{\"a\":[1,2]},\"k\\\"ey\":\"v\"}",
	    "object from key/int/raw/cstr");
	{
		struct json_object *o = json_tokener_parse(buf_cstr(&b));
		struct json_object *v = NULL;

		ok(o != NULL && json_object_object_get_ex(o, "k\"ey", &v) &&
		    strcmp(json_object_get_string(v), "v") == 0,
		    "and json-c reads it back");
		json_object_put(o);
	}
	buf_reset(&b);
	json_out_raw(&b, "", 0);
	is_int(b.len, 0, "raw of nothing appends nothing");
	buf_free(&b);
}

/*
 * json_out_int formats by hand: every power of ten and its neighbours, of
 * both signs, and a pseudo-random spread of magnitudes, against printf.
 * Appended to text already in the buffer, as in a response.
 */
static void
int_against_printf_ok(void)
{
	struct buf b;
	char want[48];
	uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
	int64_t v, p = 1;
	int i, d, bad = 0;

	buf_init(&b);
	for (i = 0; i < 2000; i++) {
		if (i < 19 * 6) {
			/* p = 10^(i/6), as long as it fits */
			if (i % 6 == 0 && i > 0)
				p *= 10;
			d = i % 6;
			v = d < 3 ? p - 1 + d : -(p - 1 + d - 3);
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			v = (int64_t)(x >> (x % 64));
			if (x & 1)
				v = -v;
		}
		buf_reset(&b);
		buf_puts(&b, "[");
		json_out_int(&b, v);
		snprintf(want, sizeof(want), "[%" PRId64, v);
		if (strcmp(buf_cstr(&b), want) != 0 && bad++ < 3)
			tap_diag("json_out_int(%" PRId64 ") wrote %s", v, buf_cstr(&b) + 1);
	}
	is_int(bad, 0, "json_out_int equals printf on 2,000 values of every magnitude");
	buf_free(&b);
}

int
main(void)
{
	tap_plan((int)(NELEM(esc_cases) + 1 + 4 + 10 + 1));
	escape_ok();
	round_trip_ok();
	scalars_ok();
	int_against_printf_ok();
	return tap_done();
}
