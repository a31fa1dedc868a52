/*
 * tests/e2e/write_semantics_t.c - what a write means, through nginx:
 * expectedVersion conflicts with their details, idempotent retries and
 * MESSAGE_ID_CONFLICT (CONTRACT.md 4), id validation (5), null metadata
 * (6), exact 64-bit positions (7), exact payloads (8), microsecond
 * timestamps (9); the WRITE, EDGE and ENCODING cases of EventoDB's SDK test
 * specification that concern them; and that all of it survives a restart.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN
#define UUID1	"550e8400-e29b-41d4-a716-446655440000"
#define UUID2	"6ba7b810-9dad-11d1-80b4-00c04fd430c8"
#define UUID3	"01890a5d-ac96-774b-bcce-b302099a8057"

/* Fields of a stream message. */
#define M_ID	"0"
#define M_TYPE	"1"
#define M_POS	"2"
#define M_GPOS	"3"
#define M_DATA	"4"
#define M_META	"5"
#define M_TIME	"6"

static const char *
write_body(struct harness *h, const char *stream, const char *data,
    const char *options)
{
	return hstr(h, "[\"stream.write\",\"%s\",{\"type\":\"T\",\"data\":%s}"
	    "%s%s]", stream, data, options ? "," : "", options ? options : "");
}

/* The count of messages in stream (-1 on error), untested. */
static int
count(struct harness *h, const char *stream)
{
	return jpath_len(stream_read_all(h, ADM, stream), "");
}

static void
test_expected_version(struct harness *h)
{
	struct json_object *r;
	int64_t p;

	/* WRITE-005 */
	write_quiet(h, ADM, "ev-1", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, ADM, "ev-1", "T", "{}", NULL, NULL, NULL, NULL);
	r = rpc_ok(h, ADM, write_body(h, "ev-1", "{}", "{\"expectedVersion\":5}"),
	    409, "STREAM_VERSION_CONFLICT", "WRITE-005 expectedVersion 5 on a "
	    "stream at 1 -> 409 STREAM_VERSION_CONFLICT");
	ok(jvalue_equal(jpath_get(r, "error.details"), jparse(h,
	    "{\"actual\":1,\"expected\":5}"), 0), "WRITE-005 details "
	    "{actual:1, expected:5}: %s", jpath_text(h, r, "error.details"));
	is_int(count(h, "ev-1"), 2, "WRITE-005 the conflict wrote nothing");
	r = rpc_ok(h, ADM, write_body(h, "ev-1", "{}", "{\"expectedVersion\":0}"),
	    409, "STREAM_VERSION_CONFLICT", "expectedVersion 0 on a stream at "
	    "1 -> 409");
	ok(jvalue_equal(jpath_get(r, "error.details"), jparse(h,
	    "{\"actual\":1,\"expected\":0}"), 0), "details {actual:1, "
	    "expected:0}: %s", jpath_text(h, r, "error.details"));
	write_ok(h, ADM, "ev-1", "T", "{}", NULL, "{\"expectedVersion\":1}",
	    &p, NULL, "expectedVersion 1 on a stream at 1 -> 200");
	is_int(p, 2, "... at position 2");

	/* EDGE-007 */
	write_ok(h, ADM, "ev-7", "T", "{}", NULL, "{\"expectedVersion\":-1}",
	    &p, NULL, "EDGE-007 expectedVersion -1 on a new stream -> 200");
	is_int(p, 0, "EDGE-007 at position 0");
	r = rpc_ok(h, ADM, write_body(h, "ev-7", "{}",
	    "{\"expectedVersion\":-1}"), 409, "STREAM_VERSION_CONFLICT",
	    "EDGE-007 expectedVersion -1 on an existing stream -> 409");
	ok(jvalue_equal(jpath_get(r, "error.details"), jparse(h,
	    "{\"actual\":0,\"expected\":-1}"), 0), "EDGE-007 details "
	    "{actual:0, expected:-1}: %s", jpath_text(h, r, "error.details"));

	/* EDGE-008 */
	r = rpc_ok(h, ADM, write_body(h, "ev-8", "{}", "{\"expectedVersion\":0}"),
	    409, "STREAM_VERSION_CONFLICT", "EDGE-008 expectedVersion 0 on a "
	    "new stream -> 409");
	ok(jvalue_equal(jpath_get(r, "error.details"), jparse(h,
	    "{\"actual\":-1,\"expected\":0}"), 0), "EDGE-008 details "
	    "{actual:-1, expected:0}: %s", jpath_text(h, r, "error.details"));
	is_int(count(h, "ev-8"), 0, "EDGE-008 nothing written");

	/* CONTRACT 7: positions are exact 64-bit integers end to end. */
	r = rpc_ok(h, ADM, write_body(h, "ev-7", "{}",
	    "{\"expectedVersion\":9007199254740993}"), 409,
	    "STREAM_VERSION_CONFLICT", "expectedVersion 2^53+1 -> 409");
	is_int(jpath_int(r, "error.details.expected"), 9007199254740993LL,
	    "details.expected is exactly 9007199254740993 (no float64 "
	    "rounding)");
	r = rpc_ok(h, ADM, write_body(h, "ev-7", "{}",
	    "{\"expectedVersion\":9223372036854775807}"), 409,
	    "STREAM_VERSION_CONFLICT", "expectedVersion 2^63-1 -> 409");
	is_int(jpath_int(r, "error.details.expected"), INT64_MAX,
	    "details.expected is exactly 9223372036854775807");
	r = rpc_ok(h, ADM, write_body(h, "ev-7", "{}",
	    "{\"expectedVersion\":-9007199254740993}"), 409,
	    "STREAM_VERSION_CONFLICT", "expectedVersion -(2^53+1) -> 409");
	is_int(jpath_int(r, "error.details.expected"), -9007199254740993LL,
	    "details.expected is exactly -9007199254740993");
	r = rpc_ok(h, ADM, "[\"stream.get\",\"ev-7\",{\"globalPosition\":"
	    "9223372036854775807}]", 200, NULL, "stream.get globalPosition "
	    "2^63-1");
	is_int(jpath_len(r, ""), 0, "... returns []");
	r = rpc_ok(h, ADM, "[\"stream.get\",\"ev-7\",{\"position\":"
	    "9007199254740993}]", 200, NULL, "stream.get position 2^53+1");
	is_int(jpath_len(r, ""), 0, "... returns []");
	r = rpc_ok(h, ADM, write_body(h, "ev-7", "{}",
	    "{\"expectedVersion\":1e3}"), 409, "STREAM_VERSION_CONFLICT",
	    "expectedVersion 1e3 (a number in exponent form) -> 409");
	is_int(jpath_int(r, "error.details.expected"), 1000,
	    "details.expected is 1000");
	is_int(count(h, "ev-7"), 1, "none of the conflicting writes wrote");
}

static void
test_ids(struct harness *h)
{
	static const char *const bad[] = {
		"not-a-uuid", "12345", "550e8400-e29b-41d4-a716-44665544000",
		"550e8400-e29b-41d4-a716-4466554400000",
		"zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
		"550e8400e29b-41d4-a716-446655440000-",
		"550e8400-e29b-41d4-a716_446655440000",
		" 550e8400-e29b-41d4-a716-446655440000",
		"550e8400-e29b-41d4-a716-446655440000 ",
		"\\u0000",
	};
	/* Other spellings Go's uuid.Parse accepts; evdb may refuse them. */
	static const char *const maybe[] = {
		"{6ba7b811-9dad-11d1-80b4-00c04fd430c8}",
		"urn:uuid:6ba7b812-9dad-11d1-80b4-00c04fd430c8",
		"6ba7b8139dad11d180b400c04fd430c8",
	};
	struct json_object *r;
	struct http_resp resp;
	const char *id, *id2;
	size_t i;

	/* WRITE-003 */
	write_ok(h, ADM, "id-1", "T", "{}", NULL, "{\"id\":\"" UUID1 "\"}", NULL,
	    NULL, "WRITE-003 write with a custom id");
	r = stream_read_all(h, ADM, "id-1");
	is_str(jpath_str(r, "0." M_ID), UUID1, "WRITE-003 the message has the "
	    "custom id");

	/* Uppercase is a UUID too. */
	write_ok(h, ADM, "id-2", "T", "{}", NULL, "{\"id\":"
	    "\"6BA7B814-9DAD-11D1-80B4-00C04FD430C8\"}", NULL, NULL,
	    "an uppercase UUID is accepted");
	r = stream_read_all(h, ADM, "id-2");
	id = jpath_str(r, "0." M_ID);
	ok(id != NULL && strcasecmp(id, "6ba7b814-9dad-11d1-80b4-00c04fd430c8")
	    == 0, "it reads back as the same UUID: %s", id ? id : "(none)");

	/* Generated ids: absent or "". */
	write_ok(h, ADM, "id-3", "T", "{}", NULL, NULL, NULL, NULL,
	    "write without an id");
	write_ok(h, ADM, "id-3", "T", "{}", NULL, "{\"id\":\"\"}", NULL, NULL,
	    "write with id \"\"");
	r = stream_read_all(h, ADM, "id-3");
	id = jpath_str(r, "0." M_ID);
	id2 = jpath_str(r, "1." M_ID);
	ok(uuid_valid(id, 7) && uuid_valid(id2, 7), "generated ids are "
	    "lowercase UUIDv7: %s %s", id ? id : "-", id2 ? id2 : "-");
	ok(id != NULL && id2 != NULL && strcmp(id, id2) != 0, "generated ids "
	    "differ");

	/* CONTRACT 5: a supplied id that is not a UUID -> 400. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rpc_ok(h, ADM, write_body(h, "id-bad", "{}", hstr(h, "{\"id\":"
		    "\"%s\"}", bad[i])), 400, "INVALID_REQUEST", hstr(h,
		    "id \"%s\" -> 400 INVALID_REQUEST", bad[i]));
	is_int(count(h, "id-bad"), 0, "no message with a bad id was written");
	for (i = 0; i < sizeof(maybe) / sizeof(maybe[0]); i++) {
		rpc_call(h, ADM, write_body(h, "id-maybe", "{}", hstr(h,
		    "{\"id\":\"%s\"}", maybe[i])), &resp);
		ok(resp.status == 200 || (resp.status == 400 &&
		    jpath_str(resp.json, "error.code") != NULL &&
		    strcmp(jpath_str(resp.json, "error.code"),
		    "INVALID_REQUEST") == 0), "id \"%s\" -> 200 or 400 "
		    "INVALID_REQUEST, never 500 (got %ld)", maybe[i],
		    resp.status);
		http_resp_free(&resp);
	}
}

static void
test_idempotency(struct harness *h)
{
	struct json_object *r, *m;
	const char *t;
	int64_t p0, g0, p, g;

	/* CONTRACT 4: same id, same stream -> the original positions. */
	write_quiet(h, ADM, "idem-1", "T", "{\"n\":0}", NULL, NULL, NULL, NULL);
	write_ok(h, ADM, "idem-1", "T", "{\"n\":1}", NULL,
	    "{\"id\":\"" UUID2 "\"}", &p0, &g0, "idempotency: first write "
	    "with an id");
	write_quiet(h, ADM, "idem-1", "T", "{\"n\":2}", NULL, NULL, NULL, NULL);
	write_quiet(h, ADM, "other-1", "T", "{}", NULL, NULL, NULL, NULL);

	write_ok(h, ADM, "idem-1", "T", "{\"n\":1}", NULL,
	    "{\"id\":\"" UUID2 "\"}", &p, &g, "the same write again -> 200");
	ok(p == p0 && g == g0, "... with the original position %" PRId64
	    " and globalPosition %" PRId64 " (got %" PRId64 ", %" PRId64 ")",
	    p0, g0, p, g);
	is_int(count(h, "idem-1"), 3, "... and nothing new written");

	/* Issue 15 finding 13: a changed payload is not a retry. */
	rpc_ok(h, ADM, hstr(h, "[\"stream.write\",\"idem-1\",{\"type\":"
	    "\"Changed\",\"data\":{\"n\":99}},{\"id\":\"" UUID2 "\"}]"), 409,
	    "MESSAGE_ID_CONFLICT", "a retry with a different payload -> 409 "
	    "MESSAGE_ID_CONFLICT");
	m = stream_read_all(h, ADM, "idem-1");
	ok(jpath_len(m, "") == 3 && jvalue_equal(jpath_get(m, "1." M_DATA),
	    jparse(h, "{\"n\":1}"), 0) && jpath_str(m, "1." M_TYPE) != NULL &&
	    strcmp(jpath_str(m, "1." M_TYPE), "T") == 0,
	    "... and the stored message is unchanged");

	/* The id is checked before expectedVersion. */
	write_ok(h, ADM, "idem-1", "T", "{\"n\":1}", NULL,
	    "{\"id\":\"" UUID2 "\",\"expectedVersion\":0}", &p, &g,
	    "a retry with a stale expectedVersion -> 200 (id checked first)");
	ok(p == p0 && g == g0, "... with the original positions");
	write_ok(h, ADM, "idem-1", "T", "{\"n\":1}", NULL,
	    "{\"id\":\"" UUID2 "\",\"expectedVersion\":2}", &p, &g,
	    "a retry whose expectedVersion matches the stream now -> 200");
	ok(p == p0 && g == g0, "... still the original, not a new write");
	is_int(count(h, "idem-1"), 3, "the stream still has 3 messages");

	/* Same id in another stream -> 409 MESSAGE_ID_CONFLICT. */
	rpc_ok(h, ADM, write_body(h, "idem-2", "{}", "{\"id\":\"" UUID2 "\"}"),
	    409, "MESSAGE_ID_CONFLICT", "the same id in another stream -> 409 "
	    "MESSAGE_ID_CONFLICT");
	is_int(count(h, "idem-2"), 0, "... and nothing written there");
	rpc_ok(h, ADM, write_body(h, "idem-2", "{}", "{\"id\":\"" UUID2 "\","
	    "\"expectedVersion\":-1}"), 409, "MESSAGE_ID_CONFLICT",
	    "... also with a matching expectedVersion");

	/* The same id in another namespace is unrelated. */
	t = ns_create_ok(h, "idem-ns", "setup: ns.create idem-ns");
	write_ok(h, t, "idem-2", "T", "{}", NULL, "{\"id\":\"" UUID2 "\"}",
	    &p, &g, "the same id in another namespace -> 200");
	ok(p == 0 && g == 1, "... as a new message there");

	r = rpc_ok(h, ADM, "[\"stream.version\",\"idem-1\"]", 200, NULL,
	    "stream.version idem-1");
	is_int(jpath_int(r, ""), 2, "the retries moved no version");
}

static void
test_metadata_null(struct harness *h)
{
	struct json_object *r;

	/* WRITE-009, CONTRACT 6 */
	write_ok(h, ADM, "meta-1", "T", "{\"x\":1}", "null", NULL, NULL, NULL,
	    "WRITE-009 write with metadata null -> 200");
	r = stream_read_all(h, ADM, "meta-1");
	ok(jpath_is_null(r, "0." M_META), "WRITE-009 metadata reads back as "
	    "null: %s", jpath_text(h, r, "0." M_META));
	ok(jvalue_equal(jpath_get(r, "0." M_DATA), jparse(h, "{\"x\":1}"), 0),
	    "WRITE-009 data intact");
	r = rpc_ok(h, ADM, "[\"stream.last\",\"meta-1\"]", 200, NULL,
	    "stream.last meta-1");
	ok(jpath_is_null(r, M_META), "stream.last shows metadata null");
	r = rpc_ok(h, ADM, "[\"category.get\",\"meta\"]", 200, NULL,
	    "category.get meta");
	ok(jpath_is_null(r, "0.6"), "category.get shows metadata null");
	write_ok(h, ADM, "meta-2", "T", "{}", "{}", NULL, NULL, NULL,
	    "write with metadata {}");
	r = stream_read_all(h, ADM, "meta-2");
	ok(jpath_get(r, "0." M_META) != NULL && json_object_is_type(
	    jpath_get(r, "0." M_META), json_type_object), "metadata {} stays "
	    "an object: %s", jpath_text(h, r, "0." M_META));
}

static void
test_timestamps(struct harness *h)
{
	struct json_object *r;
	const char *t1, *t2;
	int64_t e1, now;

	/* CONTRACT 9 */
	now = (int64_t)time(NULL);
	write_quiet(h, ADM, "time-1", "T", "{}", NULL, NULL, NULL, NULL);
	usleep(3000);
	write_quiet(h, ADM, "time-1", "T", "{}", NULL, NULL, NULL, NULL);
	r = stream_read_all(h, ADM, "time-1");
	t1 = jpath_str(r, "0." M_TIME);
	t2 = jpath_str(r, "1." M_TIME);
	ok(timestamp_valid(t1, &e1) && timestamp_valid(t2, NULL),
	    "time is YYYY-MM-DDTHH:MM:SS.ffffffZ: %s, %s", t1 ? t1 : "-",
	    t2 ? t2 : "-");
	ok(e1 >= now - 30 && e1 <= now + 30, "time is the current UTC time "
	    "(within 30 s)");
	ok(t1 != NULL && t2 != NULL && strcmp(t1, t2) < 0, "two writes 3 ms "
	    "apart get increasing times (real microseconds): %s < %s",
	    t1 ? t1 : "-", t2 ? t2 : "-");
}

/* One TAP result: data written to stream reads back value-equal. */
static void
roundtrip_ok(struct harness *h, const char *stream, const char *data,
    const char *meta, int key_order, const char *desc)
{
	struct json_object *r;
	int good;

	/* PostgreSQL's jsonb keeps values, not key order (docs/storage.md). */
	key_order = key_order && harness_keeps_key_order(h);
	if (write_quiet(h, ADM, stream, "T", data, meta, NULL, NULL, NULL) !=
	    0) {
		ok(0, "%s (the write failed)", desc);
		return;
	}
	r = stream_read_all(h, ADM, stream);
	good = jpath_len(r, "") == 1 && jvalue_equal(jpath_get(r, "0." M_DATA),
	    jparse(h, data), key_order);
	if (meta != NULL)
		good = good && jvalue_equal(jpath_get(r, "0." M_META),
		    jparse(h, meta), key_order);
	if (!ok(good, "%s", desc)) {
		tap_diag("wrote data %.300s", data);
		tap_diag("read  %.300s", jpath_text(h, r, "0." M_DATA));
		if (meta != NULL)
			tap_diag("meta %s / %s", meta,
			    jpath_text(h, r, "0." M_META));
	}
}

static void
test_payloads(struct harness *h)
{
	struct json_object *r;
	char *big;
	const char *raw, *a, *b;
	size_t i, n;

	/* ENCODING-001 .. ENCODING-009 */
	roundtrip_ok(h, "enc-1", "{\"text\":\"Hello \xe4\xb8\x96\xe7\x95\x8c "
	    "\xf0\x9f\x8c\x8d \xc3\xa9mojis\"}", NULL, 1, "ENCODING-001 UTF-8 "
	    "text and emoji in data round-trip byte for byte");
	roundtrip_ok(h, "enc-2", "{}", "{\"description\":\"Test "
	    "\xe6\xb5\x8b\xe8\xaf\x95 \xf0\x9f\x8e\x89\"}", 1, "ENCODING-002 "
	    "Unicode in metadata round-trips");
	write_ok(h, ADM, "test-stream_123.abc", "T", "{}", NULL, NULL, NULL,
	    NULL, "ENCODING-003 write to test-stream_123.abc");
	is_int(count(h, "test-stream_123.abc"), 1, "ENCODING-003 read it back");
	roundtrip_ok(h, "enc-4", "{\"emptyString\":\"\"}", NULL, 1,
	    "ENCODING-004 empty string stays an empty string");
	roundtrip_ok(h, "enc-5", "{\"isTrue\":true,\"isFalse\":false}", NULL, 1,
	    "ENCODING-005 booleans stay booleans");
	roundtrip_ok(h, "enc-6", "{\"nullValue\":null}", NULL, 1,
	    "ENCODING-006 null stays null (key present)");
	roundtrip_ok(h, "enc-7", "{\"integer\":42,\"float\":3.14159,"
	    "\"negative\":-100,\"zero\":0}", NULL, 1, "ENCODING-007 numbers "
	    "keep their values");
	r = stream_read_all(h, ADM, "enc-7");
	ok(json_object_is_type(jpath_get(r, "0.4.integer"), json_type_int) &&
	    json_object_is_type(jpath_get(r, "0.4.float"), json_type_double),
	    "ENCODING-007 42 is still an integer, 3.14159 a fraction");
	roundtrip_ok(h, "enc-8", "{\"level1\":{\"level2\":{\"level3\":"
	    "{\"value\":\"deep\"}}}}", NULL, 1, "ENCODING-008 nested objects");
	roundtrip_ok(h, "enc-9", "{\"items\":[1,\"two\",{\"three\":3},null,"
	    "true]}", NULL, 1, "ENCODING-009 arrays of mixed types");

	/* CONTRACT 8: key order kept, numbers by value, strings exact. */
	roundtrip_ok(h, "enc-order", "{\"zebra\":1,\"apple\":2,\"mango\":"
	    "{\"z\":1,\"a\":2,\"m\":3},\"list\":[{\"y\":1,\"x\":2}],\"b\":3}",
	    "{\"z\":1,\"a\":2}", 1, "key order is kept, at every depth, in "
	    "data and metadata");
	rpc_call(h, ADM, "[\"stream.get\",\"enc-order\"]", NULL);
	raw = rpc_last_body(h);
	a = strstr(raw, "\"zebra\"");
	b = strstr(raw, "\"apple\"");
	ok(a != NULL && b != NULL && (a < b || !harness_keeps_key_order(h)),
	    "the raw answer has zebra before apple%s", harness_keeps_key_order(h) ?
	    "" : " (not on PostgreSQL: jsonb sorts keys, docs/storage.md)");
	/*
	 * jsonb writes 1e21 as 1000000000000000000000, the same value, which
	 * json-c (this test's parser) cannot hold as an integer: on PostgreSQL
	 * the raw answer is checked instead (docs/storage.md).
	 */
	roundtrip_ok(h, "enc-num", harness_keeps_key_order(h) ?
	    "{\"big\":9007199254740993,"
	    "\"max\":9223372036854775807,\"min\":-9223372036854775808,"
	    "\"e\":1e21,\"small\":1.5e-10,\"pi\":3.141592653589793,"
	    "\"tenth\":0.1,\"one\":1.0,\"negzero\":-0.0,\"exp\":2E+3,"
	    "\"frac\":0.30000000000000004,\"neg\":-1.25e-300}" :
	    "{\"big\":9007199254740993,"
	    "\"max\":9223372036854775807,\"min\":-9223372036854775808,"
	    "\"small\":1.5e-10,\"pi\":3.141592653589793,"
	    "\"tenth\":0.1,\"one\":1.0,\"negzero\":-0.0,\"exp\":2E+3,"
	    "\"frac\":0.30000000000000004,\"neg\":-1.25e-300}", NULL, 1,
	    "numbers keep their values (2^53+1, int64 extremes, exponents, "
	    "fractions)");
	if (!harness_keeps_key_order(h)) {
		write_quiet(h, ADM, "enc-num21", "T", "{\"e\":1e21}", NULL, NULL,
		    NULL, NULL);
		rpc_call(h, ADM, "[\"stream.get\",\"enc-num21\"]", NULL);
		ok(strstr(rpc_last_body(h), "{\"e\":1000000000000000000000}") != NULL,
		    "PostgreSQL: 1e21 reads back as 1000000000000000000000");
	}
	r = stream_read_all(h, ADM, "enc-num");
	is_int(jpath_int(r, "0.4.big"), 9007199254740993LL,
	    "9007199254740993 comes back exactly");
	is_int(jpath_int(r, "0.4.min"), INT64_MIN,
	    "-9223372036854775808 comes back exactly");
	if (harness_keeps_key_order(h))
		roundtrip_ok(h, "enc-str", "{\"esc\":\"\\\"\\\\/\\b\\f\\n\\r\\t\","
		    "\"nul\":\"a\\u0000b\",\"html\":\"<a href='x'>&amp;</a>\","
		    "\"seps\":\"\\u2028\\u2029\",\"ctl\":\"\\u0001\\u001f\\u007f\"}",
		    NULL, 1, "escapes, an embedded U+0000, <>&, U+2028/9 and "
		    "control characters round-trip");
	else {
		/* jsonb cannot hold U+0000: refused whole, as bad input. */
		rpc_ok(h, ADM, "[\"stream.write\",\"enc-str0\",{\"type\":\"T\","
		    "\"data\":{\"nul\":\"a\\u0000b\"}}]", 400, "INVALID_REQUEST",
		    "PostgreSQL: an embedded U+0000 is refused with 400 (jsonb)");
		is_int(count(h, "enc-str0"), 0, "... and nothing was written");
		roundtrip_ok(h, "enc-str", "{\"esc\":\"\\\"\\\\/\\b\\f\\n\\r\\t\","
		    "\"html\":\"<a href='x'>&amp;</a>\","
		    "\"seps\":\"\\u2028\\u2029\",\"ctl\":\"\\u0001\\u001f\\u007f\"}",
		    NULL, 1, "escapes, <>&, U+2028/9 and control characters"
		    " round-trip");
	}
	roundtrip_ok(h, "enc-esc", "{\"e\":\"\\u00e9\\ud83c\\udf0d\"}", NULL,
	    1, "\\u escapes (incl. a surrogate pair) read back as the same "
	    "characters");
	r = stream_read_all(h, ADM, "enc-esc");
	is_str(jpath_str(r, "0.4.e"), "\xc3\xa9\xf0\x9f\x8c\x8d", "... which "
	    "are U+00E9 and U+1F30D");
	roundtrip_ok(h, "enc-keys", "{\"\":1,\"a b\":2,\"\xc3\xbc\":3,"
	    "\"a.b\":4,\"\\\"q\\\"\":5}", NULL, 1, "unusual keys (empty, "
	    "space, non-ASCII, dot, quotes) round-trip");
	roundtrip_ok(h, "enc-deep", "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":[[[[[1]]]]]}}}}}}}}}}}}}}}}}}}}",
	    NULL, 1, "25 levels of nesting round-trip");

	/* ENCODING-010: a 100 KB payload. */
	n = 100 * 1024;
	big = malloc(n + 64);
	if (big == NULL)
		tap_bail("out of memory");
	strcpy(big, "{\"blob\":\"");
	for (i = strlen(big); i < n; i++)
		big[i] = (char)('a' + i % 26);
	strcpy(big + n, "\",\"tail\":[1,2,3]}");
	roundtrip_ok(h, "enc-10", big, NULL, 1, "ENCODING-010 a 100 KB "
	    "payload round-trips");
	free(big);
}

static void
test_restart(struct harness *h)
{
	struct json_object *before, *after, *all;
	const char *t;
	int64_t p, g, gmax;
	int n;

	t = ns_create_ok(h, "persist-ns", "setup: ns.create persist-ns");
	write_quiet(h, t, "keep-1", "T", "{\"kept\":true}", NULL, NULL, NULL,
	    NULL);
	before = stream_read_all(h, ADM, "idem-1");
	all = rpc_call(h, ADM, "[\"category.get\",\"\",{\"batchSize\":-1}]",
	    NULL);
	n = jpath_len(all, "");
	gmax = jpath_int(all, hstr(h, "%d.4", n - 1));

	ok(harness_restart(h) == 0, "the stack restarts on the same data "
	    "directory");
	after = stream_read_all(h, ADM, "idem-1");
	ok(before != NULL && jvalue_equal(before, after, 1), "messages "
	    "survive a restart unchanged (ids, positions, data, times)");
	write_ok(h, ADM, "idem-1", "T", "{}", NULL, NULL, &p, &g,
	    "a write after the restart");
	ok(p == 3 && g == gmax + 1, "... continues at position 3 and global "
	    "position %" PRId64 " (got %" PRId64 ", %" PRId64 ")", gmax + 1,
	    p, g);
	write_ok(h, ADM, "idem-1", "T", "{\"n\":1}", NULL,
	    "{\"id\":\"" UUID2 "\"}", &p, &g, "an idempotent retry after the "
	    "restart");
	ok(p == jpath_int(before, "1." M_POS) && g == jpath_int(before,
	    "1." M_GPOS), "... still returns the original positions");
	rpc_ok(h, t, "[\"stream.get\",\"keep-1\"]", 200, NULL, "a created "
	    "namespace's token works after the restart");
	is_int(jpath_len(rpc_call(h, t, "[\"stream.get\",\"keep-1\"]", NULL),
	    ""), 1, "... and its messages are there");
}

int
main(void)
{
	struct harness *h;

	h = harness_start();
	test_expected_version(h);
	test_ids(h);
	test_idempotency(h);
	test_metadata_null(h);
	test_timestamps(h);
	test_payloads(h);
	test_restart(h);
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
