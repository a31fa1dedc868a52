/*
 * tests/unit/streamname_t.c - unit tests of src/core/streamname.c.
 *
 * Every MD5 vector of reference-behaviour.md section 4 is checked three
 * ways: the signed hash64, the first 16 hex digits of the digest, and the
 * member that owns it in groups of 2, 3 and 4 (directly and through
 * streamname_is_assigned on a stream "cat-<id>").  The span helpers are
 * checked on edge cases, with spans that are not NUL-terminated so that
 * ASan notices any read past the end.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/streamname.h"
#include "../tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct hash_vector {
	const char *card;	/* cardinal id */
	const char *md5_16;	/* first 16 hex digits of its MD5 */
	int64_t hash;		/* hash64 */
	int m2, m3, m4;		/* member for group sizes 2, 3, 4 */
};

static const struct hash_vector vectors[] = {
	{ "123", "202cb962ac59075b", INT64_C(2318431741638412123), 1, 1, 3 },
	{ "456", "250cf8b51c773f3f", INT64_C(2669782135874207551), 1, 1, 3 },
	{ "1", "c4ca4238a0b92382", INT64_C(-4266524885998034046), 0, 0, 2 },
	{ "2", "c81e728d9d4c2f63", INT64_C(-4026655064267673757), 1, 1, 1 },
	{ "3", "eccbc87e4b5ce2fe", INT64_C(-1383792015730482434), 0, 2, 2 },
	{ "4", "a87ff679a2f3e71d", INT64_C(-6305049951010035939), 1, 0, 3 },
	{ "abc", "900150983cd24fb0", INT64_C(-8070080442485551184), 0, 2, 0 },
	{ "user", "ee11cbb19052e40b", INT64_C(-1292027654587620341), 1, 2, 1 },
	{ "a", "0cc175b9c0f1b6a8", INT64_C(919145239626757800), 0, 0, 0 },
	{ "x", "9dd4e461268c8034", INT64_C(-7073778008782503884), 0, 2, 0 },
	{ "some-id", "5a45977891da82f5", INT64_C(6504771780905435893), 1, 1, 1 },
	{ "\xc3\xbc", "c03410a5204b21cd", INT64_C(-4597031018240990771), 1, 2, 3 },
	{ "00000000-0000-0000-0000-000000000000", "9f89c84a559f5736",
	    INT64_C(-6950804328280008906), 0, 0, 2 },
	{ "", "d41d8cd98f00b204", INT64_C(-3162216497309240828), 0, 2, 0 },
};
#define TESTS_PER_VECTOR 8

struct split_case {
	const char *name;	/* stream name */
	size_t cat_len;		/* expected category length */
	int has_id;		/* expected streamname_id result */
	const char *id;		/* expected id */
	int has_card;		/* expected streamname_cardinal_id result */
	const char *card;	/* expected cardinal id */
};

static const struct split_case splits[] = {
	{ "account", 7, 0, "", 0, "" },
	{ "account-", 7, 1, "", 1, "" },
	{ "account-123", 7, 1, "123", 1, "123" },
	{ "account-123+deposit", 7, 1, "123+deposit", 1, "123" },
	{ "sse-test-1", 3, 1, "test-1", 1, "test-1" },
	{ "a-b-c+d+e", 1, 1, "b-c+d+e", 1, "b-c" },
	{ "", 0, 0, "", 0, "" },
	{ "-", 0, 1, "", 1, "" },
	{ "-x", 0, 1, "x", 1, "x" },
	{ "account-+x", 7, 1, "+x", 1, "" },
	{ "account+x-1", 9, 1, "1", 1, "1" },
	{ "account:command-7", 15, 1, "7", 1, "7" },
	{ "\xc3\xbc\xc3\x9f-\xe2\x82\xac+1", 4, 1, "\xe2\x82\xac+1", 1,
	    "\xe2\x82\xac" },
};
#define TESTS_PER_SPLIT 7

/* Copies s into a malloc'd block of exactly strlen(s) bytes (no NUL). */
static char *
span_dup(const char *s, size_t *len)
{
	char *p;

	*len = strlen(s);
	p = malloc(*len ? *len : 1);
	if (p == NULL)
		tap_bail("out of memory");
	memcpy(p, s, *len);
	return p;
}

static int
span_eq(const char *p, size_t n, const char *want)
{
	return n == strlen(want) && (n == 0 || memcmp(p, want, n) == 0);
}

static void
vector_ok(const struct hash_vector *v)
{
	char hex[17], *stream, *card;
	size_t clen;
	int64_t h, m, size;
	const int want[3] = { v->m2, v->m3, v->m4 };
	int good;

	card = span_dup(v->card, &clen);
	h = streamname_hash64(card, clen);
	is_int(h, v->hash, "hash64(\"%s\")", v->card);
	snprintf(hex, sizeof(hex), "%016" PRIx64, (uint64_t)h);
	is_str(hex, v->md5_16, "md5(\"%s\") starts %s", v->card, v->md5_16);
	is_int(streamname_member_of_hash(h, 2), v->m2, "\"%s\" size 2", v->card);
	is_int(streamname_member_of_hash(h, 3), v->m3, "\"%s\" size 3", v->card);
	is_int(streamname_member_of_hash(h, 4), v->m4, "\"%s\" size 4", v->card);
	free(card);

	/* The same through a stream name, with and without a '+' suffix. */
	stream = malloc(strlen(v->card) + 16);
	if (stream == NULL)
		tap_bail("out of memory");
	sprintf(stream, "cat-%s", v->card);
	good = 1;
	for (size = 2; size <= 4; size++)
		for (m = 0; m < size; m++)
			if (streamname_is_assigned(stream, strlen(stream), m,
			    size) != (m == want[size - 2]))
				good = 0;
	ok(good, "is_assigned(\"%s\") picks exactly the expected members "
	    "(the empty cardinal id too, as in Message DB)", stream);
	sprintf(stream, "cat-%s+retry", v->card);
	good = 1;
	for (size = 2; size <= 4; size++)
		for (m = 0; m < size; m++)
			if (streamname_is_assigned(stream, strlen(stream), m,
			    size) != (m == want[size - 2]))
				good = 0;
	ok(good, "is_assigned(\"%s\") ignores the '+' suffix", stream);
	/* The vector itself as a stream name: only a '-' gives it an id. */
	good = 1;
	for (m = 0; m < 4; m++) {
		const char *dash = strchr(v->card, '-');
		int want_in = dash != NULL &&
		    streamname_member_of_hash(streamname_hash64(dash + 1,
		    strlen(dash + 1)), 4) == m;

		if (streamname_is_assigned(v->card, strlen(v->card), m, 4) !=
		    want_in)
			good = 0;
	}
	ok(good, "\"%s\" as a stream name: member from the text after '-', "
	    "none without '-'", v->card);
	free(stream);
}

static void
split_ok(const struct split_case *c)
{
	const char *id, *card;
	size_t len, id_len, card_len;
	char *s = span_dup(c->name, &len);
	int r;

	is_int(streamname_category_len(s, len), c->cat_len,
	    "category_len(\"%s\")", c->name);
	is_int(streamname_is_category(s, len), !c->has_id,
	    "is_category(\"%s\")", c->name);
	r = streamname_id(s, len, &id, &id_len);
	is_int(r, c->has_id, "id(\"%s\") found", c->name);
	ok(span_eq(id, id_len, c->id) && id >= s && id + id_len <= s + len,
	    "id(\"%s\") is \"%s\" inside the name", c->name, c->id);
	r = streamname_cardinal_id(s, len, &card, &card_len);
	is_int(r, c->has_card, "cardinal_id(\"%s\") found", c->name);
	ok(span_eq(card, card_len, c->card) && card >= s &&
	    card + card_len <= s + len,
	    "cardinal_id(\"%s\") is \"%s\"", c->name, c->card);
	ok(!c->has_card || !streamname_is_assigned(s, len, 0, 0),
	    "is_assigned(\"%s\", 0, 0) is false", c->name);
	free(s);
}

static void
valid_ok(void)
{
	char *big = malloc(STREAMNAME_MAX_LEN + 1);
	const char *why;
	size_t i;

	if (big == NULL)
		tap_bail("out of memory");
	memset(big, 'a', STREAMNAME_MAX_LEN + 1);
	big[3] = '-';

	why = NULL;
	ok(!streamname_valid("", 0, &why) && why != NULL && *why != '\0',
	    "empty name is invalid (%s)", why ? why : "?");
	ok(streamname_valid("x", 1, &why), "one byte is valid");
	ok(streamname_valid(big, STREAMNAME_MAX_LEN, &why),
	    "%d bytes is valid", STREAMNAME_MAX_LEN);
	why = NULL;
	ok(!streamname_valid(big, STREAMNAME_MAX_LEN + 1, &why) && why != NULL,
	    "%d bytes is invalid (%s)", STREAMNAME_MAX_LEN + 1,
	    why ? why : "?");
	why = NULL;
	ok(!streamname_valid("a\0b", 3, &why) && why != NULL &&
	    strcmp(why, "must not contain control characters") == 0,
	    "embedded NUL is invalid (%s)", why ? why : "?");
	ok(!streamname_valid("a\x01", 2, &why), "0x01 is invalid");
	ok(!streamname_valid("a\nb", 3, &why), "newline is invalid");
	ok(!streamname_valid("a\tb", 3, &why), "tab is invalid");
	ok(!streamname_valid("\x1f", 1, &why), "0x1f is invalid");
	ok(!streamname_valid("a\x7f", 2, &why), "DEL is invalid");
	ok(streamname_valid("a b~!", 5, &why), "space and punctuation are valid");
	ok(streamname_valid("\xc3\xbc-\xe2\x82\xac", 6, &why),
	    "multibyte UTF-8 is valid");
	ok(streamname_valid("\x80\xff", 2, &why),
	    "bytes >= 0x80 are left to the JSON parser");
	/* Every control byte, each alone. */
	for (i = 0; i < 0x20; i++) {
		char c = (char)i;

		if (streamname_valid(&c, 1, &why))
			break;
	}
	is_int(i, 0x20, "all of 0x00-0x1f are rejected");
	free(big);
}

static void
member_ok(void)
{
	static const char *const cat5[] = {
		"testcat5-1", "testcat5-2", "testcat5-3", "testcat5-4"
	};
	size_t i;
	int64_t m;
	int good;

	is_int(streamname_member_of_hash(INT64_MIN, 2), 0,
	    "INT64_MIN mod 2 without overflow");
	is_int(streamname_member_of_hash(INT64_MIN, 3), 2,
	    "|INT64_MIN| = 2^63, mod 3 = 2");
	is_int(streamname_member_of_hash(INT64_MIN, INT64_MAX), 1,
	    "2^63 mod INT64_MAX = 1");
	is_int(streamname_member_of_hash(INT64_MAX, 2), 1, "INT64_MAX mod 2");
	is_int(streamname_member_of_hash(-5, 4), 1, "abs before mod: -5 -> 1");
	is_int(streamname_member_of_hash(12345, 1), 0, "size 1 is always 0");

	ok(streamname_is_assigned("account-123", 11, 1, 2),
	    "account-123 belongs to member 1 of 2");
	ok(!streamname_is_assigned("account-123", 11, 0, 2),
	    "account-123 is not member 0's");
	ok(streamname_is_assigned("account-123+deposit", 19, 1, 2),
	    "account-123+deposit belongs to member 1 of 2");
	good = 1;
	for (i = 0; i < NELEM(cat5); i++) {
		int want_member = (i % 2 == 0) ? 0 : 1;

		for (m = 0; m < 2; m++)
			if (streamname_is_assigned(cat5[i], strlen(cat5[i]), m,
			    2) != (m == want_member))
				good = 0;
	}
	ok(good, "CATEGORY-005: member 0 gets -1,-3, member 1 gets -2,-4");
	ok(!streamname_is_assigned("account-123", 11, -1, 2),
	    "negative member is false");
	ok(!streamname_is_assigned("account-123", 11, 2, 2),
	    "member == size is false");
	ok(!streamname_is_assigned("account-123", 11, 0, -3),
	    "negative size is false");
	good = 1;
	for (m = 0; m < 4; m++)
		if (streamname_is_assigned("account", 7, m, 4) ||
		    streamname_is_assigned("account-", 8, m, 4) != (m == 0) ||
		    streamname_is_assigned("account-+x", 10, m, 4) != (m == 0))
			good = 0;
	/* hash64("") = -3162216497309240828: member 0 of 4 (CONTRACT.md). */
	ok(good, "account belongs to no member; account- and account-+x, whose"
	    " cardinal id is \"\", to member 0 of 4 as in Message DB");
	/* Only the cardinal id counts: same id, different categories. */
	good = 1;
	for (m = 0; m < 3; m++)
		if (streamname_is_assigned("a-xyz", 5, m, 3) !=
		    streamname_is_assigned("other:cmd-xyz+1", 15, m, 3))
			good = 0;
	ok(good, "membership depends on the cardinal id only");
	/* A span cut short of a longer buffer hashes only the span. */
	is_int(streamname_hash64("1234", 3), INT64_C(2318431741638412123),
	    "hash64 reads only len bytes");
}

int
main(void)
{
	size_t i;

	tap_plan((int)(NELEM(vectors) * TESTS_PER_VECTOR +
	    NELEM(splits) * TESTS_PER_SPLIT + 14 + 16));
	for (i = 0; i < NELEM(vectors); i++)
		vector_ok(&vectors[i]);
	for (i = 0; i < NELEM(splits); i++)
		split_ok(&splits[i]);
	valid_ok();
	member_ok();
	return tap_done();
}
