/*
 * tests/e2e/stream_t.c - stream.write, stream.get, stream.last and
 * stream.version through nginx: the happy paths of EventoDB's SDK test
 * specification (WRITE, READ, LAST, VERSION, EDGE ids) and every documented
 * argument error (reference-behaviour.md section 3, CONTRACT.md 10).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN

/* Message fields of a stream message [id,type,pos,gpos,data,meta,time]. */
#define M_ID	"0"
#define M_TYPE	"1"
#define M_POS	"2"
#define M_GPOS	"3"
#define M_DATA	"4"
#define M_META	"5"
#define M_TIME	"6"

/* A 400 INVALID_REQUEST through the admin token. */
static struct json_object *
bad_ok(struct harness *h, const char *body, const char *desc)
{
	return rpc_ok(h, ADM, body, 400, "INVALID_REQUEST", desc);
}

/* Field f of message i of array a. */
static struct json_object *
msg(struct json_object *a, int i, const char *f)
{
	char path[32];

	snprintf(path, sizeof(path), "%d.%s", i, f);
	return jpath_get(a, path);
}

static int64_t
msg_int(struct json_object *a, int i, const char *f)
{
	char path[32];

	snprintf(path, sizeof(path), "%d.%s", i, f);
	return jpath_int(a, path);
}

/* 1 if the messages of a have positions from, from+1, ... (n of them). */
static int
positions_are(struct json_object *a, int64_t from, int n)
{
	int i;

	if (jpath_len(a, "") != n)
		return 0;
	for (i = 0; i < n; i++)
		if (msg_int(a, i, M_POS) != from + i)
			return 0;
	return 1;
}

/* Writes n messages {"i":k} to stream; 1 if all succeeded. */
static int
fill(struct harness *h, const char *stream, int n, int64_t *gpos_first)
{
	int64_t g;
	int i, good = 1;

	for (i = 0; i < n; i++) {
		if (write_quiet(h, ADM, stream, "Filled",
		    hstr(h, "{\"i\":%d}", i), NULL, NULL, NULL, &g) != 0)
			good = 0;
		if (i == 0 && gpos_first != NULL)
			*gpos_first = g;
	}
	return good;
}

static void
test_write(struct harness *h)
{
	struct json_object *r, *m;
	int64_t p, g, g2, prevg;
	int i, good;

	/* WRITE-001 */
	r = write_ok(h, ADM, "test-w1", "TestEvent", "{\"foo\":\"bar\"}", NULL,
	    NULL, &p, &g, "WRITE-001 write minimal message");
	is_int(p, 0, "WRITE-001 first message of a stream has position 0");
	ok(g >= 1, "WRITE-001 globalPosition >= 1 (got %" PRId64 ")", g);
	ok(r != NULL && json_object_object_length(r) == 2,
	    "WRITE-001 result has exactly position and globalPosition: %s",
	    jpath_text(h, r, ""));

	/* WRITE-002 */
	write_ok(h, ADM, "test-w2", "TestEvent", "{\"foo\":\"bar\"}",
	    "{\"correlationId\":\"123\"}", NULL, NULL, NULL,
	    "WRITE-002 write message with metadata");
	m = stream_read_all(h, ADM, "test-w2");
	ok(jvalue_equal(msg(m, 0, M_META), jparse(h,
	    "{\"correlationId\":\"123\"}"), 0),
	    "WRITE-002 metadata reads back as written: %s",
	    jpath_text(h, m, "0." M_META));

	/* WRITE-004 */
	fill(h, "test-w4", 2, NULL);
	write_ok(h, ADM, "test-w4", "TestEvent", "{}", NULL,
	    "{\"expectedVersion\":1}", &p, NULL,
	    "WRITE-004 write with expectedVersion 1 on a 2-message stream");
	is_int(p, 2, "WRITE-004 write lands at position 2");

	/* WRITE-006 */
	good = 1;
	prevg = 0;
	for (i = 0; i < 5; i++) {
		if (write_quiet(h, ADM, "test-w6", "TestEvent",
		    hstr(h, "{\"n\":%d}", i), NULL, NULL, &p, &g2) != 0 ||
		    p != i || g2 <= prevg) {
			good = 0;
			tap_diag("write %d: position %" PRId64 ", global %"
			    PRId64 " after %" PRId64, i, p, g2, prevg);
		}
		prevg = g2;
	}
	ok(good, "WRITE-006 five sequential writes: positions 0..4, global "
	    "positions increasing");

	/* WRITE-007 */
	write_ok(h, ADM, "account-123", "Deposited", "{\"amount\":100}", NULL,
	    NULL, NULL, NULL, "WRITE-007 write to a stream with an id part");
	m = stream_read_all(h, ADM, "account-123");
	is_int(jpath_len(m, ""), 1, "WRITE-007 stream account-123 has the "
	    "message");

	/* WRITE-008 */
	write_ok(h, ADM, "test-w8", "TestEvent", "{}", NULL, NULL, NULL, NULL,
	    "WRITE-008 write with empty data object");
	m = stream_read_all(h, ADM, "test-w8");
	ok(msg(m, 0, M_DATA) != NULL &&
	    json_object_is_type(msg(m, 0, M_DATA), json_type_object) &&
	    json_object_object_length(msg(m, 0, M_DATA)) == 0,
	    "WRITE-008 data reads back as {}: %s",
	    jpath_text(h, m, "0." M_DATA));

	/* Metadata absent reads back as null (7 fields always). */
	ok(jpath_is_null(m, "0." M_META),
	    "WRITE-008 absent metadata reads back as null");

	/* Extra arguments are ignored. */
	rpc_ok(h, ADM, "[\"stream.write\",\"test-extra\",{\"type\":\"T\","
	    "\"data\":{}},{},\"extra\",42]", 200, NULL,
	    "stream.write ignores arguments after options");
	/* Unknown option keys are ignored. */
	rpc_ok(h, ADM, "[\"stream.write\",\"test-extra\",{\"type\":\"T\","
	    "\"data\":{}},{\"unknownOption\":1}]", 200, NULL,
	    "stream.write ignores unknown option keys");
	/* A message with unknown keys is fine too. */
	rpc_ok(h, ADM, "[\"stream.write\",\"test-extra\",{\"type\":\"T\","
	    "\"data\":{},\"extraKey\":true}]", 200, NULL,
	    "stream.write ignores unknown message keys");
}

static void
test_write_errors(struct harness *h)
{
	static const char *const cases[][2] = {
		{ "[\"stream.write\"]", "no arguments" },
		{ "[\"stream.write\",\"test-err\"]",
		    "ERROR-002 missing message argument" },
		{ "[\"stream.write\",123,{\"type\":\"T\",\"data\":{}}]",
		    "ERROR-003 streamName is a number" },
		{ "[\"stream.write\",\"\",{\"type\":\"T\",\"data\":{}}]",
		    "streamName is empty" },
		{ "[\"stream.write\",null,{\"type\":\"T\",\"data\":{}}]",
		    "streamName is null" },
		{ "[\"stream.write\",[\"a\"],{\"type\":\"T\",\"data\":{}}]",
		    "streamName is an array" },
		{ "[\"stream.write\",{\"a\":1},{\"type\":\"T\",\"data\":{}}]",
		    "streamName is an object" },
		{ "[\"stream.write\",true,{\"type\":\"T\",\"data\":{}}]",
		    "streamName is a boolean" },
		{ "[\"stream.write\",\"test-err\",\"msg\"]",
		    "message is a string" },
		{ "[\"stream.write\",\"test-err\",5]", "message is a number" },
		{ "[\"stream.write\",\"test-err\",[]]", "message is an array" },
		{ "[\"stream.write\",\"test-err\",null]", "message is null" },
		{ "[\"stream.write\",\"test-err\",true]",
		    "message is a boolean" },
		{ "[\"stream.write\",\"test-err\",{}]", "message has no type" },
		{ "[\"stream.write\",\"test-err\",{\"data\":{}}]",
		    "message.type is missing" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"\",\"data\":{}}]",
		    "message.type is empty" },
		{ "[\"stream.write\",\"test-err\",{\"type\":5,\"data\":{}}]",
		    "message.type is a number" },
		{ "[\"stream.write\",\"test-err\",{\"type\":null,\"data\":{}}]",
		    "message.type is null" },
		{ "[\"stream.write\",\"test-err\",{\"type\":[\"T\"],"
		    "\"data\":{}}]", "message.type is an array" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\"}]",
		    "message.data is missing" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\","
		    "\"data\":null}]", "message.data is null" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\","
		    "\"data\":[1,2]}]", "message.data is an array" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\","
		    "\"data\":\"x\"}]", "message.data is a string" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\","
		    "\"data\":5}]", "message.data is a number" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\","
		    "\"data\":true}]", "message.data is a boolean" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{},"
		    "\"metadata\":\"x\"}]", "message.metadata is a string" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{},"
		    "\"metadata\":[]}]", "message.metadata is an array" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{},"
		    "\"metadata\":5}]", "message.metadata is a number" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{},"
		    "\"metadata\":false}]", "message.metadata is a boolean" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "\"opts\"]", "options is a string" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "5]", "options is a number" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "[]]", "options is an array" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "null]", "options is null" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "true]", "options is a boolean" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "{\"id\":5}]", "options.id is a number" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "{\"id\":null}]", "options.id is null" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "{\"id\":{}}]", "options.id is an object" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "{\"expectedVersion\":\"1\"}]",
		    "options.expectedVersion is a string" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "{\"expectedVersion\":null}]",
		    "options.expectedVersion is null" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "{\"expectedVersion\":true}]",
		    "options.expectedVersion is a boolean" },
		{ "[\"stream.write\",\"test-err\",{\"type\":\"T\",\"data\":{}},"
		    "{\"expectedVersion\":[0]}]",
		    "options.expectedVersion is an array" },
	};
	struct json_object *r;
	char big[1100];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad_ok(h, cases[i][0], hstr(h, "stream.write: %s -> 400 "
		    "INVALID_REQUEST", cases[i][1]));

	/* Stream-name rules: 1..1024 bytes, no control characters. */
	memset(big, 'n', 1024);
	memcpy(big, "long-", 5);
	big[1024] = '\0';
	write_ok(h, ADM, big, "T", "{}", NULL, NULL, NULL, NULL,
	    "stream.write: a 1024-byte stream name is accepted");
	r = stream_read_all(h, ADM, big);
	is_int(jpath_len(r, ""), 1, "stream.get reads the 1024-byte stream");
	big[1024] = 'n';
	big[1025] = '\0';
	bad_ok(h, hstr(h, "[\"stream.write\",\"%s\",{\"type\":\"T\","
	    "\"data\":{}}]", big), "stream.write: a 1025-byte stream name -> "
	    "400 INVALID_REQUEST");
	bad_ok(h, "[\"stream.write\",\"test-\\u0001ctl\",{\"type\":\"T\","
	    "\"data\":{}}]", "stream.write: U+0001 in the stream name -> 400");
	bad_ok(h, "[\"stream.write\",\"test-a\\nb\",{\"type\":\"T\","
	    "\"data\":{}}]", "stream.write: a newline in the stream name -> "
	    "400");
	bad_ok(h, "[\"stream.write\",\"test-a\\tb\",{\"type\":\"T\","
	    "\"data\":{}}]", "stream.write: a tab in the stream name -> 400");
	bad_ok(h, "[\"stream.write\",\"test-a\\u001fb\",{\"type\":\"T\","
	    "\"data\":{}}]", "stream.write: U+001F in the stream name -> 400");
	bad_ok(h, "[\"stream.write\",\"test-a\\u0000b\",{\"type\":\"T\","
	    "\"data\":{}}]", "stream.write: U+0000 in the stream name -> 400");

	/* None of the rejected requests left anything behind. */
	rpc_ok(h, ADM, "[\"stream.version\",\"test-err\"]", 200, NULL,
	    "stream.version test-err after the rejected writes");
	is_str(rpc_last_body(h), "null", "rejected writes left no message "
	    "in test-err");
	r = rpc_ok(h, ADM, "[\"ns.streams\",{\"prefix\":\"test-a\"}]", 200,
	    NULL, "ns.streams after the rejected stream names");
	is_int(jpath_len(r, ""), 0, "rejected stream names left no stream");
}

static void
test_read(struct harness *h)
{
	struct json_object *r, *m;
	int64_t g0, gx, t, now;
	const char *ts;
	int i;

	/* READ-001 */
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-none\"]", 200, NULL,
	    "READ-001 stream.get of a non-existent stream");
	ok(jpath_len(r, "") == 0, "READ-001 returns []: %s",
	    jpath_text(h, r, ""));

	/* READ-002 */
	write_ok(h, ADM, "test-r2", "TestEvent", "{\"foo\":\"bar\"}", NULL,
	    NULL, NULL, &g0, "READ-002 setup: one message");
	now = (int64_t)time(NULL);
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r2\"]", 200, NULL,
	    "READ-002 stream.get of a one-message stream");
	is_int(jpath_len(r, ""), 1, "READ-002 one message");
	is_int(jpath_len(r, "0"), 7, "READ-002 message has 7 fields "
	    "[id,type,position,globalPosition,data,metadata,time]");
	ok(uuid_valid(jpath_str(r, "0." M_ID), 7),
	    "READ-002 id is a generated lowercase UUIDv7: %s",
	    jpath_text(h, r, "0." M_ID));
	is_str(jpath_str(r, "0." M_TYPE), "TestEvent", "READ-002 type");
	is_int(jpath_int(r, "0." M_POS), 0, "READ-002 position 0");
	is_int(jpath_int(r, "0." M_GPOS), g0, "READ-002 globalPosition as "
	    "written");
	ok(jvalue_equal(msg(r, 0, M_DATA), jparse(h, "{\"foo\":\"bar\"}"), 1),
	    "READ-002 data");
	ok(jpath_is_null(r, "0." M_META), "READ-002 metadata null");

	/* READ-010, CONTRACT 9: microsecond UTC timestamps. */
	ts = jpath_str(r, "0." M_TIME);
	ok(timestamp_valid(ts, &t), "READ-010 time is "
	    "YYYY-MM-DDTHH:MM:SS.ffffffZ: %s", ts ? ts : "(none)");
	ok(t >= now - 30 && t <= now + 30, "READ-010 time is now (UTC), "
	    "within 30 s");

	/* READ-003 */
	fill(h, "test-r3", 5, NULL);
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r3\"]", 200, NULL,
	    "READ-003 stream.get of a 5-message stream");
	ok(positions_are(r, 0, 5), "READ-003 positions 0..4 ascending");

	/* READ-004 */
	fill(h, "test-r4", 10, NULL);
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r4\",{\"position\":5}]",
	    200, NULL, "READ-004 stream.get with position 5");
	ok(positions_are(r, 5, 5), "READ-004 positions 5..9");

	/* READ-005: interleave another stream so global positions differ. */
	for (i = 0; i < 4; i++) {
		write_quiet(h, ADM, "test-r5", "T", hstr(h, "{\"i\":%d}", i),
		    NULL, NULL, NULL, i == 2 ? &gx : NULL);
		write_quiet(h, ADM, "test-r5other", "T", "{}", NULL, NULL,
		    NULL, NULL);
	}
	r = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"test-r5\","
	    "{\"globalPosition\":%" PRId64 "}]", gx), 200, NULL,
	    "READ-005 stream.get with globalPosition");
	ok(positions_are(r, 2, 2) && msg_int(r, 0, M_GPOS) == gx &&
	    msg_int(r, 1, M_GPOS) > gx, "READ-005 messages with global "
	    "position >= %" PRId64 " only: %s", gx, jpath_text(h, r, ""));
	r = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"test-r5\","
	    "{\"position\":0,\"globalPosition\":%" PRId64 "}]", gx + 1), 200,
	    NULL, "stream.get: globalPosition overrides position");
	ok(positions_are(r, 3, 1), "globalPosition wins over position");

	/* READ-006, READ-007 */
	ok(fill(h, "test-r6", 100, NULL), "READ-006 setup: 100 messages");
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r6\",{\"batchSize\":10}]",
	    200, NULL, "READ-006 stream.get with batchSize 10");
	ok(positions_are(r, 0, 10), "READ-006 exactly positions 0..9");
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r6\",{\"batchSize\":-1}]",
	    200, NULL, "READ-007 stream.get with batchSize -1");
	ok(positions_are(r, 0, 100), "READ-007 all 100 messages");
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r6\",{\"position\":95,"
	    "\"batchSize\":3}]", 200, NULL, "stream.get position 95 "
	    "batchSize 3");
	ok(positions_are(r, 95, 3), "position and batchSize combine");

	/* READ-008 */
	write_ok(h, ADM, "test-r8", "T",
	    "{\"nested\":{\"array\":[1,2,3],\"bool\":true,\"null\":null}}",
	    NULL, NULL, NULL, NULL, "READ-008 setup: complex data");
	m = stream_read_all(h, ADM, "test-r8");
	ok(jvalue_equal(msg(m, 0, M_DATA), jparse(h,
	    "{\"nested\":{\"array\":[1,2,3],\"bool\":true,\"null\":null}}"),
	    harness_keeps_key_order(h)), "READ-008 data reads back deep-equal: %s",
	    jpath_text(h, m, "0." M_DATA));

	/* READ-009 */
	write_ok(h, ADM, "test-r9", "T", "{}",
	    "{\"correlationId\":\"123\",\"userId\":\"user-456\"}", NULL, NULL,
	    NULL, "READ-009 setup: metadata");
	m = stream_read_all(h, ADM, "test-r9");
	ok(jvalue_equal(msg(m, 0, M_META), jparse(h,
	    "{\"correlationId\":\"123\",\"userId\":\"user-456\"}"),
	    harness_keeps_key_order(h)), "READ-009 metadata reads back exactly: %s",
	    jpath_text(h, m, "0." M_META));

	/* Default batchSize is 1000. */
	ok(fill(h, "test-r1001", 1001, NULL), "setup: 1001 messages");
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r1001\"]", 200, NULL,
	    "stream.get without batchSize");
	ok(positions_are(r, 0, 1000), "default batchSize is 1000");
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r1001\",{\"batchSize\":"
	    "10000}]", 200, NULL, "stream.get batchSize 10000 (the maximum)");
	ok(positions_are(r, 0, 1001), "batchSize 10000 returns all 1001");

	/* Truncation toward zero of fractional numbers (reference 2.6). */
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r4\",{\"position\":1.7,"
	    "\"batchSize\":2.9}]", 200, NULL, "stream.get position 1.7, "
	    "batchSize 2.9");
	ok(positions_are(r, 1, 2), "fractions truncate toward zero: "
	    "position 1, batchSize 2");
}

static void
test_read_errors(struct harness *h)
{
	static const char *const cases[][2] = {
		{ "[\"stream.get\"]", "stream.get: no arguments" },
		{ "[\"stream.get\",5]", "stream.get: streamName is a number" },
		{ "[\"stream.get\",\"\"]", "stream.get: streamName is empty" },
		{ "[\"stream.get\",null]", "stream.get: streamName is null" },
		{ "[\"stream.get\",[]]", "stream.get: streamName is an array" },
		{ "[\"stream.get\",\"test-r4\",\"x\"]",
		    "stream.get: options is a string" },
		{ "[\"stream.get\",\"test-r4\",null]",
		    "stream.get: options is null" },
		{ "[\"stream.get\",\"test-r4\",[]]",
		    "stream.get: options is an array" },
		{ "[\"stream.get\",\"test-r4\",{\"position\":\"0\"}]",
		    "stream.get: options.position is a string" },
		{ "[\"stream.get\",\"test-r4\",{\"position\":null}]",
		    "stream.get: options.position is null" },
		{ "[\"stream.get\",\"test-r4\",{\"position\":true}]",
		    "stream.get: options.position is a boolean" },
		{ "[\"stream.get\",\"test-r4\",{\"globalPosition\":\"1\"}]",
		    "stream.get: options.globalPosition is a string" },
		{ "[\"stream.get\",\"test-r4\",{\"globalPosition\":null}]",
		    "stream.get: options.globalPosition is null" },
		{ "[\"stream.get\",\"test-r4\",{\"globalPosition\":{}}]",
		    "stream.get: options.globalPosition is an object" },
		{ "[\"stream.get\",\"test-r4\",{\"batchSize\":\"10\"}]",
		    "stream.get: options.batchSize is a string" },
		{ "[\"stream.get\",\"test-r4\",{\"batchSize\":null}]",
		    "stream.get: options.batchSize is null" },
		{ "[\"stream.get\",\"test-r4\",{\"batchSize\":-2}]",
		    "stream.get: batchSize -2 (below -1)" },
		{ "[\"stream.get\",\"test-r4\",{\"batchSize\":-1000}]",
		    "stream.get: batchSize -1000" },
		{ "[\"stream.last\"]", "stream.last: no arguments" },
		{ "[\"stream.last\",5]", "stream.last: streamName is a number" },
		{ "[\"stream.last\",\"\"]", "stream.last: streamName is empty" },
		{ "[\"stream.last\",null]", "stream.last: streamName is null" },
		{ "[\"stream.last\",\"test-r4\",\"x\"]",
		    "stream.last: options is a string" },
		{ "[\"stream.last\",\"test-r4\",null]",
		    "stream.last: options is null" },
		{ "[\"stream.last\",\"test-r4\",{\"type\":5}]",
		    "stream.last: options.type is a number" },
		{ "[\"stream.last\",\"test-r4\",{\"type\":null}]",
		    "stream.last: options.type is null" },
		{ "[\"stream.last\",\"test-r4\",{\"type\":[\"A\"]}]",
		    "stream.last: options.type is an array" },
		{ "[\"stream.version\"]", "stream.version: no arguments" },
		{ "[\"stream.version\",5]",
		    "stream.version: streamName is a number" },
		{ "[\"stream.version\",\"\"]",
		    "stream.version: streamName is empty" },
		{ "[\"stream.version\",null]",
		    "stream.version: streamName is null" },
		{ "[\"stream.version\",{}]",
		    "stream.version: streamName is an object" },
	};
	struct json_object *r;
	const char *m;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad_ok(h, cases[i][0], hstr(h, "%s -> 400 INVALID_REQUEST",
		    cases[i][1]));

	/* CONTRACT 10: above 10000 -> 400 naming batchSize. */
	r = bad_ok(h, "[\"stream.get\",\"test-r4\",{\"batchSize\":10001}]",
	    "stream.get: batchSize 10001 -> 400");
	m = jpath_str(r, "error.message");
	ok(m != NULL && strstr(m, "batchSize") != NULL,
	    "batchSize 10001: the message names batchSize: %s",
	    m ? m : "(none)");
}

static void
test_last_version(struct harness *h)
{
	static const char *const types[] = { "TypeA", "TypeB", "TypeA",
	    "TypeB", "TypeA" };
	struct json_object *r;
	int64_t p;
	int i;

	/* LAST-001 */
	r = rpc_ok(h, ADM, "[\"stream.last\",\"test-r3\"]", 200, NULL,
	    "LAST-001 stream.last of a 5-message stream");
	is_int(jpath_int(r, M_POS), 4, "LAST-001 the message at position 4");
	is_int(jpath_len(r, ""), 7, "LAST-001 a 7-field stream message");
	ok(jvalue_equal(jpath_get(r, M_DATA), jparse(h, "{\"i\":4}"), 1),
	    "LAST-001 its data is the last written");

	/* LAST-002 */
	r = rpc_ok(h, ADM, "[\"stream.last\",\"test-none\"]", 200, NULL,
	    "LAST-002 stream.last of a non-existent stream");
	is_str(rpc_last_body(h), "null", "LAST-002 returns null");

	/* LAST-003 */
	for (i = 0; i < 5; i++)
		write_quiet(h, ADM, "test-l3", types[i],
		    hstr(h, "{\"i\":%d}", i), NULL, NULL, NULL, NULL);
	r = rpc_ok(h, ADM, "[\"stream.last\",\"test-l3\",{\"type\":\"TypeB\"}]",
	    200, NULL, "LAST-003 stream.last filtered by type TypeB");
	is_int(jpath_int(r, M_POS), 3, "LAST-003 position 3, the last TypeB");
	is_str(jpath_str(r, M_TYPE), "TypeB", "LAST-003 type TypeB");
	r = rpc_ok(h, ADM, "[\"stream.last\",\"test-l3\",{\"type\":\"\"}]",
	    200, NULL, "stream.last with type \"\" (no filter)");
	is_int(jpath_int(r, M_POS), 4, "type \"\" means no filter");

	/* LAST-004 */
	fill(h, "test-l4", 2, NULL);
	r = rpc_ok(h, ADM, "[\"stream.last\",\"test-l4\",{\"type\":\"TypeB\"}]",
	    200, NULL, "LAST-004 stream.last with a type never written");
	is_str(rpc_last_body(h), "null", "LAST-004 returns null");
	r = rpc_ok(h, ADM, "[\"stream.last\",\"test-l3\",{\"type\":\"typeb\"}]",
	    200, NULL, "stream.last type filter is case-sensitive");
	is_str(rpc_last_body(h), "null", "type typeb does not match TypeB");

	/* VERSION-001 */
	r = rpc_ok(h, ADM, "[\"stream.version\",\"test-none\"]", 200, NULL,
	    "VERSION-001 stream.version of a non-existent stream");
	is_str(rpc_last_body(h), "null", "VERSION-001 returns null");

	/* VERSION-002 */
	fill(h, "test-v2", 3, NULL);
	r = rpc_ok(h, ADM, "[\"stream.version\",\"test-v2\"]", 200, NULL,
	    "VERSION-002 stream.version of a 3-message stream");
	is_int(jpath_int(r, ""), 2, "VERSION-002 returns 2");

	/* VERSION-003 */
	fill(h, "test-v3", 1, NULL);
	write_ok(h, ADM, "test-v3", "T", "{}", NULL, NULL, &p, NULL,
	    "VERSION-003 second write");
	r = rpc_ok(h, ADM, "[\"stream.version\",\"test-v3\"]", 200, NULL,
	    "VERSION-003 stream.version after the write");
	is_int(jpath_int(r, ""), 1, "VERSION-003 returns 1");
}

static void
test_edge(struct harness *h)
{
	static const char *const names[] = { "a", "stream-with-many-dashes",
	    "stream123", "UPPERCASE" };
	struct json_object *r;
	const char *m;
	size_t i;

	/* EDGE-001, CONTRACT 10: batchSize 0 returns []. */
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r4\",{\"batchSize\":0}]",
	    200, NULL, "EDGE-001 stream.get batchSize 0");
	ok(jpath_len(r, "") == 0, "EDGE-001 returns []: %s",
	    jpath_text(h, r, ""));

	/* EDGE-002: negative position reads from the start (reference 3). */
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r4\",{\"position\":-1}]",
	    200, NULL, "EDGE-002 stream.get position -1");
	ok(positions_are(r, 0, 10), "EDGE-002 negative position reads from "
	    "the start");

	/* EDGE-003, CONTRACT 10: far above 10000 is rejected. */
	r = bad_ok(h, "[\"stream.get\",\"test-r3\",{\"batchSize\":1000000}]",
	    "EDGE-003 stream.get batchSize 1000000 -> 400");
	m = jpath_str(r, "error.message");
	ok(m != NULL && strstr(m, "batchSize") != NULL,
	    "EDGE-003 the error message names batchSize: %s",
	    m ? m : "(none)");
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r3\",{\"batchSize\":-1}]",
	    200, NULL, "EDGE-003 batchSize -1 on 5 messages");
	ok(positions_are(r, 0, 5), "EDGE-003 unlimited returns the 5");

	/* EDGE-004 */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		write_ok(h, ADM, names[i], "T", "{}", NULL, NULL, NULL, NULL,
		    hstr(h, "EDGE-004 write to stream \"%s\"", names[i]));
		r = stream_read_all(h, ADM, names[i]);
		is_int(jpath_len(r, ""), 1, "EDGE-004 read back stream \"%s\"",
		    names[i]);
	}
	r = stream_read_all(h, ADM, "uppercase");
	is_int(jpath_len(r, ""), 0, "stream names are case-sensitive: "
	    "\"uppercase\" is not \"UPPERCASE\"");

	/* EDGE-006 */
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r3\",{\"position\":100}]",
	    200, NULL, "EDGE-006 stream.get position beyond the end");
	ok(jpath_len(r, "") == 0, "EDGE-006 returns []");
	r = rpc_ok(h, ADM, "[\"stream.get\",\"test-r3\",{\"globalPosition\":"
	    "9007199254740993}]", 200, NULL, "stream.get globalPosition "
	    "2^53+1");
	ok(jpath_len(r, "") == 0, "a global position beyond the end "
	    "returns []");
}

int
main(void)
{
	struct harness *h;

	h = harness_start();
	test_write(h);
	test_write_errors(h);
	test_read(h);
	test_read_errors(h);
	test_last_version(h);
	test_edge(h);
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
