/*
 * tests/e2e/category_t.c - category.get through nginx: the CATEGORY cases
 * of EventoDB's SDK test specification, positions and batchSize rules
 * (CONTRACT.md 10), consumer groups checked against the MD5 test vectors of
 * reference-behaviour.md section 4, every consumer-group and argument
 * error, and correlation with Message DB's exact-category rule (CONTRACT.md
 * 11).  The consumer groups again on a stack started with
 * EVDB_GROUP_INDEXES=2,3,4 (docs/configuration.md, "Consumer-group
 * indexes"), whose members read indexes of their own: the same answers.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN

/* Fields of a category message [id,stream,type,pos,gpos,data,meta,time]. */
#define C_ID	"0"
#define C_STREAM "1"
#define C_TYPE	"2"
#define C_POS	"3"
#define C_GPOS	"4"
#define C_DATA	"5"
#define C_META	"6"
#define C_TIME	"7"

/* A consumer-group test vector: stream name and its member per size. */
struct cg_vector {
	const char	*stream;	/* stream name in category "vec" */
	int		 m2;		/* member for size 2, -1 = none */
	int		 m3;		/* member for size 3, -1 = none */
	int		 m4;		/* member for size 4, -1 = none */
};

/*
 * reference-behaviour.md section 4: the table of cardinal ids and members,
 * as streams of category "vec".  "vec" has no cardinal id and belongs to no
 * member; "vec-" has the empty cardinal id "" and belongs to a member, as
 * in Message DB (CONTRACT.md, consumer-group hash).
 */
static const struct cg_vector cg_vectors[] = {
	{ "vec-123", 1, 1, 3 },
	{ "vec-456", 1, 1, 3 },
	{ "vec-1", 0, 0, 2 },
	{ "vec-2", 1, 1, 1 },
	{ "vec-3", 0, 2, 2 },
	{ "vec-4", 1, 0, 3 },
	{ "vec-abc", 0, 2, 0 },
	{ "vec-user", 1, 2, 1 },
	{ "vec-a", 0, 0, 0 },
	{ "vec-x", 0, 2, 0 },
	{ "vec-some-id", 1, 1, 1 },
	{ "vec-\xc3\xbc", 1, 2, 3 },
	{ "vec-00000000-0000-0000-0000-000000000000", 0, 0, 2 },
	{ "vec-123+deposit", 1, 1, 3 },
	{ "vec-456+withdrawal+x", 1, 1, 3 },
	{ "vec", -1, -1, -1 },
	{ "vec-", 0, 2, 0 },
};

static struct json_object *
bad_ok(struct harness *h, const char *body, const char *desc)
{
	return rpc_ok(h, ADM, body, 400, "INVALID_REQUEST", desc);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * 1 if the category messages of a name exactly the streams in want (n of
 * them, one message each, any order).  Diagnoses a mismatch.
 */
static int
streams_are(struct harness *h, struct json_object *a, const char **want,
    int n, const char *what)
{
	const char *got[64];
	char path[16];
	int i, len = jpath_len(a, ""), good;

	if (len < 0 || len > 64) {
		tap_diag("%s: not an array of messages: %s", what,
		    jpath_text(h, a, ""));
		return 0;
	}
	for (i = 0; i < len; i++) {
		snprintf(path, sizeof(path), "%d.%s", i, C_STREAM);
		got[i] = jpath_str(a, path);
		if (got[i] == NULL)
			got[i] = "(none)";
	}
	good = len == n;
	if (good) {
		qsort(got, (size_t)len, sizeof(got[0]), cmp_str);
		qsort(want, (size_t)n, sizeof(want[0]), cmp_str);
		for (i = 0; i < n; i++)
			if (strcmp(got[i], want[i]) != 0)
				good = 0;
	}
	if (!good) {
		tap_diag("%s: want %d streams, got %d:", what, n, len);
		for (i = 0; i < n; i++)
			tap_diag("  want %s", want[i]);
		for (i = 0; i < len; i++)
			tap_diag("  got  %s", got[i]);
	}
	return good;
}

/* 1 if the global positions of a are strictly increasing. */
static int
gpos_ascending(struct json_object *a)
{
	char path[16];
	int64_t prev = 0, g;
	int i, len = jpath_len(a, "");

	if (len < 0)
		return 0;
	for (i = 0; i < len; i++) {
		snprintf(path, sizeof(path), "%d.%s", i, C_GPOS);
		g = jpath_int(a, path);
		if (g <= prev)
			return 0;
		prev = g;
	}
	return 1;
}

static void
test_basics(struct harness *h, int *written)
{
	const char *want[8];
	struct json_object *r;
	int64_t g[4], t, first_gpos;
	int i, good;

	/* CATEGORY-001 */
	for (i = 1; i <= 3; i++) {
		write_ok(h, ADM, hstr(h, "cat1-%d", i), "TestEvent",
		    hstr(h, "{\"n\":%d}", i), NULL, NULL, NULL, NULL,
		    hstr(h, "CATEGORY-001 setup: write to cat1-%d", i));
		(*written)++;
	}
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat1\"]", 200, NULL,
	    "CATEGORY-001 category.get cat1");
	want[0] = "cat1-1";
	want[1] = "cat1-2";
	want[2] = "cat1-3";
	ok(streams_are(h, r, want, 3, "cat1"), "CATEGORY-001 messages from "
	    "all three streams");

	/* CATEGORY-002: gaps in the global positions of the category. */
	for (i = 0; i < 4; i++) {
		write_quiet(h, ADM, hstr(h, "cat2-%d", i), "T", "{}", NULL,
		    NULL, NULL, &g[i]);
		write_quiet(h, ADM, "other2-1", "T", "{}", NULL, NULL, NULL,
		    NULL);
		*written += 2;
	}
	r = rpc_ok(h, ADM, hstr(h, "[\"category.get\",\"cat2\","
	    "{\"position\":%" PRId64 "}]", g[2]), 200, NULL,
	    "CATEGORY-002 category.get with position (a global position)");
	ok(jpath_len(r, "") == 2 && jpath_int(r, "0." C_GPOS) == g[2] &&
	    jpath_int(r, "1." C_GPOS) == g[3], "CATEGORY-002 messages at "
	    "global positions %" PRId64 " and %" PRId64 ": %s", g[2], g[3],
	    jpath_text(h, r, ""));
	r = rpc_ok(h, ADM, hstr(h, "[\"category.get\",\"cat2\","
	    "{\"position\":%" PRId64 "}]", g[2] - 1), 200, NULL,
	    "category.get with a position between two messages");
	is_int(jpath_int(r, "0." C_GPOS), g[2], "reads from the next message");
	r = rpc_ok(h, ADM, hstr(h, "[\"category.get\",\"cat2\","
	    "{\"position\":1,\"globalPosition\":%" PRId64 "}]", g[3]), 200,
	    NULL, "category.get: globalPosition overrides position");
	ok(jpath_len(r, "") == 1 && jpath_int(r, "0." C_GPOS) == g[3],
	    "globalPosition wins over position");
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat2\",{\"position\":0}]",
	    200, NULL, "category.get position 0");
	is_int(jpath_len(r, ""), 4, "position 0 reads the whole category");
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat2\",{\"position\":"
	    "9223372036854775807}]", 200, NULL, "category.get position "
	    "2^63-1");
	is_int(jpath_len(r, ""), 0, "a position past the end returns []");

	/* CATEGORY-003 */
	good = 1;
	for (i = 0; i < 50; i++) {
		if (write_quiet(h, ADM, hstr(h, "cat3-%d", i % 5), "T",
		    hstr(h, "{\"i\":%d}", i), NULL, NULL, NULL,
		    i == 0 ? &first_gpos : NULL) != 0)
			good = 0;
		(*written)++;
	}
	ok(good, "CATEGORY-003 setup: 50 messages across 5 streams");
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat3\",{\"batchSize\":10}]",
	    200, NULL, "CATEGORY-003 category.get batchSize 10");
	is_int(jpath_len(r, ""), 10, "CATEGORY-003 exactly 10 messages");
	is_int(jpath_int(r, "0." C_GPOS), first_gpos, "CATEGORY-003 starting "
	    "with the first message of the category");
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat3\",{\"batchSize\":-1}]",
	    200, NULL, "category.get batchSize -1");
	is_int(jpath_len(r, ""), 50, "batchSize -1: all 50");

	/* CATEGORY-008 */
	ok(gpos_ascending(r), "CATEGORY-008 messages in ascending global "
	    "position order across streams");

	/* CATEGORY-004 */
	write_ok(h, ADM, "cat4-123", "TestEvent", "{\"k\":\"v\"}",
	    "{\"m\":1}", NULL, NULL, NULL, "CATEGORY-004 setup: write to "
	    "cat4-123");
	(*written)++;
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat4\"]", 200, NULL,
	    "CATEGORY-004 category.get cat4");
	is_int(jpath_len(r, "0"), 8, "CATEGORY-004 message has 8 fields");
	ok(uuid_valid(jpath_str(r, "0." C_ID), 0), "CATEGORY-004 [0] is the "
	    "id");
	is_str(jpath_str(r, "0." C_STREAM), "cat4-123", "CATEGORY-004 [1] is "
	    "the stream name");
	is_str(jpath_str(r, "0." C_TYPE), "TestEvent", "CATEGORY-004 [2] is "
	    "the type");
	is_int(jpath_int(r, "0." C_POS), 0, "CATEGORY-004 [3] is the stream "
	    "position");
	ok(jpath_int(r, "0." C_GPOS) >= 1, "CATEGORY-004 [4] is the global "
	    "position");
	ok(jvalue_equal(jpath_get(r, "0." C_DATA), jparse(h, "{\"k\":\"v\"}"),
	    1) && jvalue_equal(jpath_get(r, "0." C_META), jparse(h,
	    "{\"m\":1}"), 1), "CATEGORY-004 [5] data and [6] metadata");
	ok(timestamp_valid(jpath_str(r, "0." C_TIME), &t), "CATEGORY-004 [7] "
	    "time with microseconds: %s", jpath_text(h, r, "0." C_TIME));

	/* CATEGORY-007 */
	r = rpc_ok(h, ADM, "[\"category.get\",\"nonexistent\"]", 200, NULL,
	    "CATEGORY-007 category.get of an empty category");
	ok(jpath_len(r, "") == 0, "CATEGORY-007 returns []");

	/* Category matching: text before the first '-', exact, case. */
	write_quiet(h, ADM, "cat9-1", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, ADM, "Cat9-1", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, ADM, "cat9x-1", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, ADM, "cat9", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, ADM, "cat9-1-2", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, ADM, "cat9+x-1", "T", "{}", NULL, NULL, NULL, NULL);
	*written += 6;
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat9\"]", 200, NULL,
	    "category.get cat9");
	want[0] = "cat9-1";
	want[1] = "cat9";
	want[2] = "cat9-1-2";
	ok(streams_are(h, r, want, 3, "cat9"), "category = text before the "
	    "first '-': cat9-1, cat9, cat9-1-2 (not Cat9-1, cat9x-1, "
	    "cat9+x-1)");
	r = rpc_ok(h, ADM, "[\"category.get\",\"Cat9\"]", 200, NULL,
	    "category.get Cat9");
	want[0] = "Cat9-1";
	ok(streams_are(h, r, want, 1, "Cat9"), "category matching is "
	    "case-sensitive");
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat9+x\"]", 200, NULL,
	    "category.get cat9+x");
	want[0] = "cat9+x-1";
	ok(streams_are(h, r, want, 1, "cat9+x"), "a category may contain "
	    "'+'");
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat9-1\"]", 200, NULL,
	    "category.get cat9-1 (a stream name, not a category)");
	is_int(jpath_len(r, ""), 0, "a name with '-' matches no category");
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat\"]", 200, NULL,
	    "category.get cat (a prefix of categories)");
	is_int(jpath_len(r, ""), 0, "a category prefix matches nothing");
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat%\"]", 200, NULL,
	    "category.get cat%");
	is_int(jpath_len(r, ""), 0, "'%' is no wildcard");
	r = rpc_ok(h, ADM, "[\"category.get\",\"cat_\"]", 200, NULL,
	    "category.get cat_");
	is_int(jpath_len(r, ""), 0, "'_' is no wildcard");
}

static void
test_batch(struct harness *h, int *written)
{
	struct json_object *r;
	const char *m;
	int i, good = 1;

	for (i = 0; i < 1001; i++) {
		if (write_quiet(h, ADM, hstr(h, "big-%d", i % 7), "T",
		    hstr(h, "{\"i\":%d}", i), NULL, NULL, NULL, NULL) != 0)
			good = 0;
		(*written)++;
	}
	ok(good, "setup: 1001 messages in category big");
	r = rpc_ok(h, ADM, "[\"category.get\",\"big\"]", 200, NULL,
	    "category.get big without batchSize");
	is_int(jpath_len(r, ""), 1000, "default batchSize is 1000");
	r = rpc_ok(h, ADM, "[\"category.get\",\"big\",{\"batchSize\":-1}]",
	    200, NULL, "category.get big batchSize -1");
	is_int(jpath_len(r, ""), 1001, "batchSize -1 is unlimited");
	ok(gpos_ascending(r), "in ascending global position order");
	r = rpc_ok(h, ADM, "[\"category.get\",\"big\",{\"batchSize\":10000}]",
	    200, NULL, "category.get big batchSize 10000 (the maximum)");
	is_int(jpath_len(r, ""), 1001, "batchSize 10000 returns all 1001");
	r = rpc_ok(h, ADM, "[\"category.get\",\"big\",{\"batchSize\":0}]",
	    200, NULL, "category.get batchSize 0");
	ok(jpath_len(r, "") == 0, "batchSize 0 returns [] (CONTRACT 10): %s",
	    jpath_len(r, "") > 3 ? "(a long array)" : jpath_text(h, r, ""));
	r = rpc_ok(h, ADM, "[\"category.get\",\"big\",{\"batchSize\":1}]",
	    200, NULL, "category.get batchSize 1");
	is_int(jpath_len(r, ""), 1, "batchSize 1 returns one message");

	r = bad_ok(h, "[\"category.get\",\"big\",{\"batchSize\":10001}]",
	    "category.get batchSize 10001 -> 400 INVALID_REQUEST");
	m = jpath_str(r, "error.message");
	ok(m != NULL && strstr(m, "batchSize") != NULL, "the error message "
	    "names batchSize: %s", m ? m : "(none)");
	bad_ok(h, "[\"category.get\",\"big\",{\"batchSize\":1000000}]",
	    "category.get batchSize 1000000 -> 400");
	bad_ok(h, "[\"category.get\",\"big\",{\"batchSize\":-2}]",
	    "category.get batchSize -2 -> 400");
	bad_ok(h, "[\"category.get\",\"big\",{\"batchSize\":-100}]",
	    "category.get batchSize -100 -> 400");

	/* Category "" is every message of the namespace (reference 3). */
	r = rpc_ok(h, ADM, "[\"category.get\",\"\",{\"batchSize\":-1}]", 200,
	    NULL, "category.get \"\" batchSize -1");
	is_int(jpath_len(r, ""), *written, "category \"\" returns every "
	    "message of the namespace");
	ok(gpos_ascending(r), "... in ascending global position order");
}

static void
test_consumer_groups(struct harness *h)
{
	const char *want[32];
	struct json_object *r;
	size_t i, n = sizeof(cg_vectors) / sizeof(cg_vectors[0]);
	int size, member, k, good, m;

	/* CATEGORY-005, with the streams of the Node SDK test. */
	for (k = 1; k <= 4; k++)
		write_ok(h, ADM, hstr(h, "testcat5-%d", k), "T", "{}", NULL,
		    NULL, NULL, NULL, hstr(h, "CATEGORY-005 setup: write to "
		    "testcat5-%d", k));
	r = rpc_ok(h, ADM, "[\"category.get\",\"testcat5\",{\"consumerGroup\":"
	    "{\"member\":0,\"size\":2}}]", 200, NULL, "CATEGORY-005 "
	    "category.get consumerGroup member 0 of 2");
	want[0] = "testcat5-1";
	want[1] = "testcat5-3";
	ok(streams_are(h, r, want, 2, "member 0 of 2"), "CATEGORY-005 member 0 "
	    "of 2 gets testcat5-1 and testcat5-3");
	r = rpc_ok(h, ADM, "[\"category.get\",\"testcat5\",{\"consumerGroup\":"
	    "{\"member\":1,\"size\":2}}]", 200, NULL, "CATEGORY-005 "
	    "category.get consumerGroup member 1 of 2");
	want[0] = "testcat5-2";
	want[1] = "testcat5-4";
	ok(streams_are(h, r, want, 2, "member 1 of 2"), "CATEGORY-005 member 1 "
	    "of 2 gets testcat5-2 and testcat5-4");

	/* The MD5 test vectors of reference-behaviour.md section 4. */
	good = 1;
	for (i = 0; i < n; i++)
		if (write_quiet(h, ADM, cg_vectors[i].stream, "T", "{}", NULL,
		    NULL, NULL, NULL) != 0)
			good = 0;
	ok(good, "setup: one message in each test-vector stream");
	for (size = 2; size <= 4; size++) {
		for (member = 0; member < size; member++) {
			k = 0;
			for (i = 0; i < n; i++) {
				m = size == 2 ? cg_vectors[i].m2 : size == 3 ?
				    cg_vectors[i].m3 : cg_vectors[i].m4;
				if (m == member)
					want[k++] = cg_vectors[i].stream;
			}
			r = rpc_ok(h, ADM, hstr(h, "[\"category.get\",\"vec\","
			    "{\"consumerGroup\":{\"member\":%d,\"size\":%d}}]",
			    member, size), 200, NULL, hstr(h, "category.get "
			    "vec member %d of %d", member, size));
			ok(streams_are(h, r, want, k, hstr(h, "member %d of %d",
			    member, size)), "member %d of %d gets exactly the "
			    "streams of the MD5 vectors (vec in none, vec- by \"\")",
			    member, size);
		}
	}
	r = rpc_ok(h, ADM, "[\"category.get\",\"vec\",{\"consumerGroup\":{}}]",
	    200, NULL, "category.get vec consumerGroup {}");
	is_int(jpath_len(r, ""), (int)n, "consumerGroup {} means no grouping");
	r = rpc_ok(h, ADM, "[\"category.get\",\"vec\",{\"consumerGroup\":"
	    "{\"member\":0,\"size\":1}}]", 200, NULL,
	    "category.get vec member 0 of 1");
	is_int(jpath_len(r, ""), (int)n - 1, "size 1: every stream with a "
	    "cardinal id (vec- too: \"\")");

	/* batchSize counts messages after grouping. */
	r = rpc_ok(h, ADM, "[\"category.get\",\"vec\",{\"consumerGroup\":"
	    "{\"member\":0,\"size\":2},\"batchSize\":3}]", 200, NULL,
	    "category.get vec member 0 of 2, batchSize 3");
	want[0] = "vec-1";
	want[1] = "vec-3";
	want[2] = "vec-abc";
	ok(streams_are(h, r, want, 3, "member 0 of 2, batchSize 3"),
	    "batchSize counts messages after grouping: the first three of "
	    "member 0");
	/* Fractional member/size truncate toward zero (reference 2.6). */
	r = rpc_ok(h, ADM, "[\"category.get\",\"testcat5\",{\"consumerGroup\":"
	    "{\"member\":1.5,\"size\":2.9}}]", 200, NULL,
	    "category.get consumerGroup member 1.5 size 2.9");
	want[0] = "testcat5-2";
	want[1] = "testcat5-4";
	ok(streams_are(h, r, want, 2, "member 1.5 of 2.9"), "member 1.5 of "
	    "2.9 is member 1 of 2");
}

static void
test_consumer_group_errors(struct harness *h)
{
	static const char *const cases[][2] = {
		{ "\"x\"", "consumerGroup is a string" },
		{ "5", "consumerGroup is a number" },
		{ "[0,2]", "consumerGroup is an array" },
		{ "null", "consumerGroup is null" },
		{ "{\"member\":\"0\",\"size\":2}", "member is a string" },
		{ "{\"member\":null,\"size\":2}", "member is null" },
		{ "{\"member\":0,\"size\":\"2\"}", "size is a string" },
		{ "{\"member\":0,\"size\":null}", "size is null" },
		{ "{\"member\":0,\"size\":true}", "size is a boolean" },
		{ "{\"member\":-1,\"size\":2}", "member is negative" },
		{ "{\"member\":0,\"size\":0}", "size is 0" },
		{ "{\"member\":0,\"size\":-1}", "size is negative" },
		{ "{\"member\":2,\"size\":2}", "member equals size" },
		{ "{\"member\":3,\"size\":2}", "member above size" },
		{ "{\"member\":0}", "only member" },
		{ "{\"size\":2}", "only size" },
		{ "{\"member\":-1,\"size\":0}", "member -1 and size 0" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad_ok(h, hstr(h, "[\"category.get\",\"vec\",{\"consumerGroup\":"
		    "%s}]", cases[i][0]), hstr(h, "category.get: %s -> 400 "
		    "INVALID_REQUEST", cases[i][1]));
}

static void
test_arg_errors(struct harness *h)
{
	static const char *const cases[][2] = {
		{ "[\"category.get\"]", "no arguments" },
		{ "[\"category.get\",5]", "categoryName is a number" },
		{ "[\"category.get\",null]", "categoryName is null" },
		{ "[\"category.get\",[\"cat1\"]]", "categoryName is an array" },
		{ "[\"category.get\",{}]", "categoryName is an object" },
		{ "[\"category.get\",\"cat1\",\"x\"]", "options is a string" },
		{ "[\"category.get\",\"cat1\",null]", "options is null" },
		{ "[\"category.get\",\"cat1\",[]]", "options is an array" },
		{ "[\"category.get\",\"cat1\",{\"position\":\"1\"}]",
		    "options.position is a string" },
		{ "[\"category.get\",\"cat1\",{\"position\":null}]",
		    "options.position is null" },
		{ "[\"category.get\",\"cat1\",{\"globalPosition\":\"1\"}]",
		    "options.globalPosition is a string" },
		{ "[\"category.get\",\"cat1\",{\"globalPosition\":null}]",
		    "options.globalPosition is null" },
		{ "[\"category.get\",\"cat1\",{\"batchSize\":\"10\"}]",
		    "options.batchSize is a string" },
		{ "[\"category.get\",\"cat1\",{\"batchSize\":null}]",
		    "options.batchSize is null" },
		{ "[\"category.get\",\"cat1\",{\"correlation\":5}]",
		    "options.correlation is a number" },
		{ "[\"category.get\",\"cat1\",{\"correlation\":null}]",
		    "options.correlation is null" },
		{ "[\"category.get\",\"cat1\",{\"correlation\":[\"a\"]}]",
		    "options.correlation is an array" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad_ok(h, cases[i][0], hstr(h, "category.get: %s -> 400 "
		    "INVALID_REQUEST", cases[i][1]));
	rpc_ok(h, ADM, "[\"category.get\",\"cat1\",{\"condition\":\"x\"}]",
	    200, NULL, "category.get ignores unknown options (condition)");
}

static void
test_correlation(struct harness *h)
{
	/* stream, metadata (raw JSON or NULL) */
	static const char *const rows[][2] = {
		{ "corr-1", "{\"correlationStreamName\":\"workflow-123\"}" },
		{ "corr-2", "{\"correlationStreamName\":\"other-456\"}" },
		{ "corr-3", "{\"correlationStreamName\":\"workflow\"}" },
		{ "corr-4", "{\"correlationStreamName\":\"Workflow-1\"}" },
		{ "corr-5", "{\"correlationStreamName\":\"workflowX-1\"}" },
		{ "corr-6", "{\"correlationStreamName\":\"work%-9\"}" },
		{ "corr-7", NULL },
		{ "corr-8", "{\"other\":\"workflow-1\"}" },
		{ "corr-9", "{\"correlationStreamName\":5}" },
		{ "corr-10", "{\"correlationStreamName\":\"workflow-1+x\"}" },
		{ "corr-11", "{\"correlationStreamName\":\"workflow-a-b\"}" },
		{ "corr-12", "{\"correlationStreamName\":\"wo_kflow-1\"}" },
		/*
		 * Spellings the SQLite backend reads two ways (sqlite_write.c,
		 * sqlite_bind_correlation): nested, escaped, a key with an escape.
		 */
		{ "corr-13", "{\"x\":{\"correlationStreamName\":\"workflow-9\"}}" },
		{ "corr-14", "{ \"correlationStreamName\" : \"work\\\"flow-1\" }" },
		{ "corr-15", "{\"correlationStreamName\":\"\\u0077orkflow-7\"}" },
		{ "corr-16", "{\"a\\\"b\":1,\"correlationStreamName\":\"workflow-2\"}" },
	};
	const char *want[8];
	struct json_object *r;
	size_t i;
	int good = 1;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (write_quiet(h, ADM, rows[i][0], "T", "{}", rows[i][1], NULL,
		    NULL, NULL) != 0)
			good = 0;
	ok(good, "CATEGORY-006 setup: messages with various "
	    "correlationStreamName");

	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"workflow\"}]", 200, NULL, "CATEGORY-006 category.get corr "
	    "correlation workflow");
	want[0] = "corr-1";
	want[1] = "corr-3";
	want[2] = "corr-10";
	want[3] = "corr-11";
	want[4] = "corr-15";
	want[5] = "corr-16";
	ok(streams_are(h, r, want, 6, "correlation workflow"), "CATEGORY-006 "
	    "exactly the messages whose correlationStreamName has category "
	    "workflow (workflow-123, workflow, workflow-1+x, workflow-a-b, "
	    "\\u0077orkflow-7, workflow-2 after a key with an escape; not a "
	    "nested one)");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"work\\\"flow\"}]", 200, NULL,
	    "category.get correlation work\"flow");
	want[0] = "corr-14";
	ok(streams_are(h, r, want, 1, "correlation work\"flow"),
	    "an escaped quote in correlationStreamName is decoded");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"other\"}]", 200, NULL, "category.get correlation other");
	want[0] = "corr-2";
	ok(streams_are(h, r, want, 1, "correlation other"), "correlation "
	    "other: only other-456");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"WORKFLOW\"}]", 200, NULL, "category.get correlation WORKFLOW");
	is_int(jpath_len(r, ""), 0, "correlation is case-sensitive (no "
	    "ASCII case folding)");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"Workflow\"}]", 200, NULL, "category.get correlation Workflow");
	want[0] = "corr-4";
	ok(streams_are(h, r, want, 1, "correlation Workflow"),
	    "correlation Workflow matches only Workflow-1");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"work%\"}]", 200, NULL, "category.get correlation work%");
	want[0] = "corr-6";
	ok(streams_are(h, r, want, 1, "correlation work%"), "'%' is no "
	    "wildcard: only the category literally named work%");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"wo_kflow\"}]", 200, NULL, "category.get correlation wo_kflow");
	want[0] = "corr-12";
	ok(streams_are(h, r, want, 1, "correlation wo_kflow"), "'_' is no "
	    "wildcard");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"work\"}]", 200, NULL, "category.get correlation work");
	is_int(jpath_len(r, ""), 0, "a prefix of the category does not match");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"workflow-123\"}]", 200, NULL,
	    "category.get correlation workflow-123");
	is_int(jpath_len(r, ""), 0, "a full stream name as correlation "
	    "matches no category");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":\"\"}]",
	    200, NULL, "category.get correlation \"\"");
	is_int(jpath_len(r, ""), (int)(sizeof(rows) / sizeof(rows[0])),
	    "correlation \"\" means no filter");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"workflow\",\"consumerGroup\":{\"member\":0,\"size\":1}}]", 200,
	    NULL, "category.get correlation with a consumer group");
	is_int(jpath_len(r, ""), 6, "correlation and consumer group combine");
	r = rpc_ok(h, ADM, "[\"category.get\",\"corr\",{\"correlation\":"
	    "\"workflow\",\"batchSize\":2}]", 200, NULL,
	    "category.get correlation with batchSize 2");
	want[0] = "corr-1";
	want[1] = "corr-3";
	ok(streams_are(h, r, want, 2, "correlation workflow, batchSize 2"),
	    "batchSize counts messages after the correlation filter");
}

int
main(void)
{
	struct harness *h;
	int written = 0;

	h = harness_start();
	test_basics(h, &written);
	test_batch(h, &written);
	test_consumer_groups(h);
	test_consumer_group_errors(h);
	test_arg_errors(h);
	test_correlation(h);
	harness_stop(h);

	setenv("EVDB_GROUP_INDEXES", "2,3,4", 1);
	h = harness_start();
	ok(harness_log_has(h, "consumer-group indexes (--group-indexes): 0 kept,"
	    " 9 to build", NULL), "EVDB_GROUP_INDEXES=2,3,4: the default namespace"
	    " gets the 9 members' indexes");
	test_consumer_groups(h);
	harness_stop(h);
	unsetenv("EVDB_GROUP_INDEXES");
	tap_plan(tap_run);
	return tap_done();
}
