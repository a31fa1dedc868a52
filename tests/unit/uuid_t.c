/*
 * tests/unit/uuid_t.c - unit tests of src/core/uuid.c.
 *
 * Generated ids: canonical lowercase form, version 7, RFC variant, a
 * timestamp taken from the wall clock, strictly increasing, unique, and
 * still increasing when the clock steps back or the 12-bit counter
 * overflows.  Syntax checking: every form Go's uuid.Parse accepts, and a
 * list of near misses.  Canonical form (issue 15 finding 12): every
 * accepted spelling of one UUID gives the same lowercase 8-4-4-4-12 text.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/uuid.h"
#include "../tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NGEN 5000

struct valid_case {
	const char *s;		/* input */
	size_t len;		/* its length when it holds a NUL; else 0 */
	bool valid;		/* expected uuid_is_valid */
};

static const struct valid_case valid_cases[] = {
	{ "0190f3a1-7b2c-7d3e-8f40-123456789abc", 0, true },
	{ "0190F3A1-7B2C-7D3E-8F40-123456789ABC", 0, true },
	{ "0190f3A1-7b2C-7d3E-8f40-123456789aBc", 0, true },
	{ "00000000-0000-0000-0000-000000000000", 0, true },
	{ "ffffffff-ffff-ffff-ffff-ffffffffffff", 0, true },
	{ "{0190f3a1-7b2c-7d3e-8f40-123456789abc}", 0, true },
	{ "urn:uuid:0190f3a1-7b2c-7d3e-8f40-123456789abc", 0, true },
	{ "URN:UUID:0190f3a1-7b2c-7d3e-8f40-123456789abc", 0, true },
	{ "Urn:Uuid:0190F3A1-7B2C-7D3E-8F40-123456789ABC", 0, true },
	{ "0190f3a17b2c7d3e8f40123456789abc", 0, true },
	{ "0190F3A17B2C7D3E8F40123456789ABC", 0, true },
	{ "", 0, false },
	{ "not-a-uuid", 0, false },
	{ "0190f3a1-7b2c-7d3e-8f40-123456789ab", 0, false },
	{ "0190f3a1-7b2c-7d3e-8f40-123456789abcd", 0, false },
	{ "0190f3a1-7b2c-7d3e-8f40-123456789abg", 0, false },
	{ "0190f3a17-b2c-7d3e-8f40-123456789abc", 0, false },
	{ "0190f3a1-7b2c-7d3e-8f401-23456789abc", 0, false },
	{ "0190f3a1_7b2c_7d3e_8f40_123456789abc", 0, false },
	{ "0190f3a1-7b2c-7d3e-8f40-123456789ab ", 0, false },
	{ " 0190f3a1-7b2c-7d3e-8f40-123456789ab", 0, false },
	{ "0190f3a1-7b2c-7d3e-8f40-1234567890\xc3\xbc", 0, false },
	{ "0190f3a1-7b2c-7d3e-8f40-123456789a\0c", 36, false },
	{ "(0190f3a1-7b2c-7d3e-8f40-123456789abc)", 0, false },
	{ "{0190f3a1-7b2c-7d3e-8f40-123456789abc)", 0, false },
	{ "x0190f3a1-7b2c-7d3e-8f40-123456789abcy", 0, false },
	{ "{0190f3a17b2c7d3e8f40123456789abc}", 0, false },
	{ "{{0190f3a1-7b2c-7d3e-8f40-123456789abc}}", 0, false },
	{ "urn:uuix:0190f3a1-7b2c-7d3e-8f40-123456789abc", 0, false },
	{ "uuid:urn:0190f3a1-7b2c-7d3e-8f40-123456789abc", 0, false },
	{ "urn:uuid:0190f3a17b2c7d3e8f40123456789abc", 0, false },
	{ "urn:uuid:{0190f3a1-7b2c-7d3e-8f40-123456789abc}", 0, false },
	{ "0190f3a17b2c7d3e8f40123456789ab", 0, false },
	{ "0190f3a17b2c7d3e8f40123456789abcd", 0, false },
	{ "0190f3a1-7b2c7d3e8f40123456789abc", 0, false },
	{ "0190f3a17b2c7d3e8f40123456789abz", 0, false },
	{ "+190f3a17b2c7d3e8f40123456789abc", 0, false },
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The 48-bit timestamp of a canonical id. */
static uint64_t
id_ms(const char *id)
{
	char hex[13];

	memcpy(hex, id, 8);
	memcpy(hex + 8, id + 9, 4);
	hex[12] = '\0';
	return strtoull(hex, NULL, 16);
}

/* The 12-bit counter (rand_a) of a canonical id. */
static unsigned
id_counter(const char *id)
{
	char hex[4];

	memcpy(hex, id + 15, 3);
	hex[3] = '\0';
	return (unsigned)strtoul(hex, NULL, 16);
}

/* Canonical, lowercase, version 7, variant 10. */
static bool
shape_ok(const char *id)
{
	size_t i;

	if (strlen(id) != UUID_STR_LEN)
		return false;
	for (i = 0; i < UUID_STR_LEN; i++) {
		char c = id[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return id[14] == '7' && strchr("89ab", id[19]) != NULL &&
	    uuid_is_valid(id, UUID_STR_LEN);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
generate_ok(void)
{
	struct uuid_gen gen = { 0, 0 };
	char (*ids)[UUID_STR_LEN + 1] = malloc(NGEN * sizeof(*ids));
	char **sorted = malloc(NGEN * sizeof(*sorted));
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1];
	uint64_t before, after, far;
	bool shapes = true, rising = true, in_time = true, unique = true;
	bool status = true;
	size_t i;

	if (ids == NULL || sorted == NULL)
		tap_bail("out of memory");
	before = now_ms();
	for (i = 0; i < NGEN; i++) {
		if (uuid_v7_generate(&gen, ids[i]) != EVDB_OK)
			status = false;
		if (!shape_ok(ids[i]))
			shapes = false;
		if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
			rising = false;
		sorted[i] = ids[i];
	}
	after = now_ms();
	for (i = 0; i < NGEN; i++) {
		uint64_t ms = id_ms(ids[i]);

		/* A counter overflow may borrow a few future milliseconds. */
		if (ms < before || ms > after + NGEN / 2048 + 1)
			in_time = false;
	}
	qsort(sorted, NGEN, sizeof(*sorted), cmp_str);
	for (i = 1; i < NGEN; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			unique = false;
	ok(status, "%d ids generated", NGEN);
	ok(shapes, "each is canonical lowercase v7 with variant 10 (%s)",
	    ids[0]);
	ok(rising, "each id sorts after the previous one");
	ok(unique, "no id repeats");
	ok(in_time, "timestamps lie between %llu and %llu ms",
	    (unsigned long long)before, (unsigned long long)after);
	is_int(gen.last_ms, id_ms(ids[NGEN - 1]), "gen.last_ms is the last "
	    "id's timestamp");
	is_int(gen.counter, id_counter(ids[NGEN - 1]), "gen.counter is the "
	    "last id's counter");

	/* The clock stepping back: the generator stays on its own time. */
	far = now_ms() + 3600 * 1000;
	gen.last_ms = far;
	gen.counter = 0x100;
	uuid_v7_generate(&gen, a);
	is_int(id_ms(a), far, "clock behind last_ms: timestamp stays at last_ms");
	is_int(id_counter(a), 0x101, "and the counter goes up by one");

	/* Counter overflow: borrow the next millisecond. */
	gen.last_ms = far;
	gen.counter = 0xffe;
	uuid_v7_generate(&gen, a);
	uuid_v7_generate(&gen, b);
	is_int(id_counter(a), 0xfff, "counter reaches 0xfff");
	is_int(id_ms(a), far, "still in the same millisecond");
	is_int(id_ms(b), far + 1, "overflow moves to the next millisecond");
	ok(id_counter(b) <= 0x7ff, "and reseeds the counter below 0x800 "
	    "(got 0x%03x)", id_counter(b));
	ok(strcmp(a, b) < 0 && shape_ok(a) && shape_ok(b),
	    "ids around the overflow still increase");

	/* A fresh millisecond reseeds: the seed differs between runs. */
	{
		struct uuid_gen g2 = { 0, 0 };
		unsigned seen_high = 0, n;

		for (n = 0; n < 64; n++) {
			g2.last_ms = 0;
			uuid_v7_generate(&g2, a);
			seen_high |= id_counter(a);
		}
		ok((seen_high & 0x800) == 0 && seen_high != 0,
		    "new-millisecond seeds are random and below 0x800 "
		    "(or of 64 seeds: 0x%03x)", seen_high);
	}
	free(sorted);
	free(ids);
}

static void
valid_ok(void)
{
	size_t i;

	for (i = 0; i < NELEM(valid_cases); i++) {
		const struct valid_case *c = &valid_cases[i];
		size_t len = c->len ? c->len : strlen(c->s);
		char *copy = malloc(len ? len : 1);

		/* Exact-size copy: ASan catches reads past len. */
		if (copy == NULL)
			tap_bail("out of memory");
		memcpy(copy, c->s, len);
		is_int(uuid_is_valid(copy, len), c->valid, "%s: \"%s\"",
		    c->valid ? "valid" : "invalid", c->s);
		free(copy);
	}
}

/* One canonicalisation: input and expected output ("" when refused). */
struct canon_case {
	const char *s;		/* input */
	const char *want;	/* canonical form, or "" */
};

static const struct canon_case canon_cases[] = {
	/* Issue 15 finding 12: five spellings of one UUID, one canonical id. */
	{ "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
	    "3f2504e0-4f89-41d3-9a0c-0305e82c3301" },
	{ "3F2504E0-4F89-41D3-9A0C-0305E82C3301",
	    "3f2504e0-4f89-41d3-9a0c-0305e82c3301" },
	{ "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}",
	    "3f2504e0-4f89-41d3-9a0c-0305e82c3301" },
	{ "urn:uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301",
	    "3f2504e0-4f89-41d3-9a0c-0305e82c3301" },
	{ "3f2504e04f8941d39a0c0305e82c3301",
	    "3f2504e0-4f89-41d3-9a0c-0305e82c3301" },
	{ "{3F2504E0-4f89-41D3-9a0c-0305E82C3301}",
	    "3f2504e0-4f89-41d3-9a0c-0305e82c3301" },
	{ "URN:UUID:3F2504E0-4F89-41D3-9A0C-0305E82C3301",
	    "3f2504e0-4f89-41d3-9a0c-0305e82c3301" },
	{ "3F2504E04F8941D39A0C0305E82C3301",
	    "3f2504e0-4f89-41d3-9a0c-0305e82c3301" },
	{ "ABCDEF01-2345-6789-ABCD-EF0123456789",
	    "abcdef01-2345-6789-abcd-ef0123456789" },
	/* Refused, as uuid_is_valid refuses them. */
	{ "", "" },
	{ "{3f2504e04f8941d39a0c0305e82c3301}", "" },
	{ "urn:uuid:3f2504e04f8941d39a0c0305e82c3301", "" },
	{ "3f2504e0-4f89-41d3-9a0c-0305e82c330g", "" },
	{ "3f2504e0-4f89-41d3-9a0c-0305e82c330", "" },
	{ "3f2504e04f8941d39a0c0305e82c33-1", "" },
};

static void
canonical_ok(void)
{
	char out[UUID_STR_LEN + 1];
	size_t i;

	for (i = 0; i < NELEM(canon_cases); i++) {
		const struct canon_case *c = &canon_cases[i];
		size_t len = strlen(c->s);
		char *copy = malloc(len ? len : 1);
		enum evdb_status st;

		/* Exact-size copy, no NUL: ASan catches reads past len. */
		if (copy == NULL)
			tap_bail("out of memory");
		memcpy(copy, c->s, len);
		memset(out, 'x', sizeof(out));
		st = uuid_canonical(copy, len, out);
		if (c->want[0] != '\0')
			ok(st == EVDB_OK && strcmp(out, c->want) == 0 &&
			    uuid_is_valid(out, strlen(out)),
			    "canonical: \"%s\" -> %s", c->s, out);
		else
			ok(st == EVDB_ERR_INVALID && out[0] == '\0',
			    "refused: \"%s\"", c->s);
		free(copy);
	}
}

int
main(void)
{
	tap_plan((int)(15 + NELEM(valid_cases) + NELEM(canon_cases)));
	generate_ok();
	valid_ok();
	canonical_ok();
	return tap_done();
}
