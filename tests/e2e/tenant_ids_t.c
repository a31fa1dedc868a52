/*
 * tests/e2e/tenant_ids_t.c - issue 15, findings 12, 13 and 15, through
 * nginx: the attacks as the hostile test made them, and their measures.
 *
 * 12. One UUID in five spellings (lower case, upper case, {}-braced,
 *     urn:uuid: prefixed, without dashes) is one message: the first write
 *     creates it, the other four are idempotent retries with the same
 *     positions, and reads return the canonical lowercase form.  An
 *     /import record's id is canonicalised too, so a stream.write retry of
 *     an imported message in another spelling is a retry.
 * 13. A retry with the same id and a changed stream, type, data or
 *     metadata answers 409 MESSAGE_ID_CONFLICT naming the field, and stores
 *     nothing; the identical retry still answers 200 with the original
 *     positions.
 * 15. ns.create refuses a supplied token whose secret is guessable (64
 *     zeros, one digit, a short repeated pattern, a long run) with 400
 *     INVALID_REQUEST, creates no namespace, and accepts a random secret.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN

/* One UUID, and its five spellings. */
#define ID_LOWER	"3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define ID_UPPER	"3F2504E0-4F89-41D3-9A0C-0305E82C3301"
#define ID_BRACED	"{3f2504e0-4f89-41d3-9a0c-0305e82c3301}"
#define ID_URN		"urn:uuid:3F2504E0-4f89-41d3-9a0c-0305e82c3301"
#define ID_NODASH	"3F2504E04F8941D39A0C0305E82C3301"

/* The id of the idempotency checks (finding 13). */
#define ID_13		"7d444840-9dc0-11d1-b245-5ffdce74fad2"

/* Fields of a stream message. */
#define M_ID	"0"
#define M_TYPE	"1"
#define M_DATA	"4"

/* The count of messages in stream of namespace token (-1 on error). */
static int
count(struct harness *h, const char *token, const char *stream)
{
	return jpath_len(stream_read_all(h, token, stream), "");
}

/* The number of messages in category cat of the admin namespace. */
static int
count_category(struct harness *h, const char *cat)
{
	return jpath_len(rpc_call(h, ADM, hstr(h, "[\"category.get\",\"%s\","
	    "{\"batchSize\":-1}]", cat), NULL), "");
}

static void
test_spellings(struct harness *h)
{
	static const char *const spellings[] = {
		ID_LOWER, ID_UPPER, ID_BRACED, ID_URN, ID_NODASH,
	};
	struct json_object *m;
	int64_t p0 = -1, g0 = -1, p, g;
	size_t i;
	int same = 0;

	for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		write_ok(h, ADM, "spell-1", "Opened", "{\"n\":1}", NULL,
		    hstr(h, "{\"id\":\"%s\"}", spellings[i]), &p, &g,
		    hstr(h, "finding 12: write with id %s -> 200", spellings[i]));
		if (i == 0) {
			p0 = p;
			g0 = g;
		} else if (p == p0 && g == g0)
			same++;
	}
	is_int(same, 4, "finding 12: the four other spellings are retries "
	    "with the first write's positions (%" PRId64 ", %" PRId64 ")", p0, g0);
	is_int(count(h, ADM, "spell-1"), 1, "finding 12: five spellings of one "
	    "UUID gave one message");
	is_int(count_category(h, "spell"), 1, "finding 12: one message in the "
	    "category too");
	m = stream_read_all(h, ADM, "spell-1");
	is_str(jpath_str(m, "0." M_ID), ID_LOWER, "finding 12: the id reads "
	    "back in canonical lowercase 8-4-4-4-12 form");

	/* A spelling that is not canonical, written first, reads back canonical. */
	write_ok(h, ADM, "spell-2", "T", "{}", NULL, "{\"id\":\"{" \
	    "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}\"}", NULL, NULL,
	    "finding 12: a first write with a braced upper-case id");
	m = stream_read_all(h, ADM, "spell-2");
	is_str(jpath_str(m, "0." M_ID), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	    "finding 12: it is stored and read back canonical");
	m = rpc_ok(h, ADM, "[\"stream.last\",\"spell-2\"]", 200, NULL,
	    "stream.last spell-2");
	is_str(jpath_str(m, M_ID), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	    "finding 12: stream.last returns the canonical id");

	/* One UUID in another stream, in another spelling: still a conflict. */
	rpc_ok(h, ADM, "[\"stream.write\",\"spell-3\",{\"type\":\"Opened\","
	    "\"data\":{\"n\":1}},{\"id\":\"" ID_NODASH "\"}]", 409,
	    "MESSAGE_ID_CONFLICT", "finding 12: the same UUID, spelled without "
	    "dashes, in another stream -> 409");

	/* Still refused: what is not one of the accepted spellings. */
	rpc_ok(h, ADM, "[\"stream.write\",\"spell-4\",{\"type\":\"T\",\"data\":{}},"
	    "{\"id\":\"{3f2504e04f8941d39a0c0305e82c3301}\"}]", 400,
	    "INVALID_REQUEST", "finding 12: braces around 32 digits -> 400");
	rpc_ok(h, ADM, "[\"stream.write\",\"spell-4\",{\"type\":\"T\",\"data\":{}},"
	    "{\"id\":\"3f2504e0-4f89-41d3-9a0c-0305e82c330\"}]", 400,
	    "INVALID_REQUEST", "finding 12: 31 digits -> 400");
	is_int(count(h, ADM, "spell-4"), 0, "finding 12: nothing written by "
	    "the refused ids");
}

/* POSTs an NDJSON body to /import with token; true on 200 ending in done. */
static bool
import_quiet(struct harness *h, const char *token, const char *ndjson)
{
	const char *hdr[] = { NULL, NULL };
	struct http_resp r;
	bool good;

	hdr[0] = hstr(h, "Authorization: Bearer %s", token);
	memset(&r, 0, sizeof(r));
	good = http_post_raw(h, "/import", hdr, ndjson, strlen(ndjson), &r) == 0 &&
	    r.status == 200 && strstr(r.body, "\"done\":true") != NULL &&
	    strstr(r.body, "\"error\"") == NULL;
	if (!good)
		tap_diag("import: %ld %s", r.status, r.body ? r.body : "");
	http_resp_free(&r);
	return good;
}

static void
test_import_spellings(struct harness *h)
{
	struct json_object *m;
	const char *t;
	int64_t p = -1, g = -1;

	t = ns_create_ok(h, "ids-import", "setup: ns.create ids-import");
	if (t == NULL)
		return;
	ok(import_quiet(h, t, "{\"id\":\"urn:uuid:C9A646D3-9C61-4CB7-BFCD-"
	    "EE2522C8F633\",\"stream\":\"imp-1\",\"type\":\"T\",\"pos\":0,"
	    "\"gpos\":1,\"data\":{\"a\":1},\"meta\":null,"
	    "\"time\":\"2026-01-01T00:00:00.000000Z\"}\n"),
	    "finding 12: /import of a record with a urn:uuid: upper-case id");
	m = stream_read_all(h, t, "imp-1");
	is_str(jpath_str(m, "0." M_ID), "c9a646d3-9c61-4cb7-bfcd-ee2522c8f633",
	    "finding 12: the imported id is stored canonical");
	write_ok(h, t, "imp-1", "T", "{\"a\":1}", NULL, "{\"id\":"
	    "\"C9A646D39C614CB7BFCDEE2522C8F633\"}", &p, &g,
	    "finding 12: a stream.write of the imported message, id without "
	    "dashes -> 200");
	ok(p == 0 && g == 1, "finding 12: ... it is a retry of the imported "
	    "message (position %" PRId64 ", globalPosition %" PRId64 ")", p, g);
	is_int(count(h, t, "imp-1"), 1, "finding 12: ... and nothing new is "
	    "stored");
}

static void
test_changed_payload(struct harness *h)
{
	static const struct {
		const char *stream;	/* where the retry writes */
		const char *message;	/* its message object */
		const char *field;	/* the field the 409 must name */
	} changed[] = {
		{ "idem-1", "{\"type\":\"Opened\",\"data\":{\"n\":2},"
		    "\"metadata\":{\"m\":1}}", "data" },
		{ "idem-1", "{\"type\":\"Opened\",\"data\":{\"n\":1},"
		    "\"metadata\":{\"m\":2}}", "metadata" },
		{ "idem-1", "{\"type\":\"Opened\",\"data\":{\"n\":1}}", "metadata" },
		{ "idem-1", "{\"type\":\"Closed\",\"data\":{\"n\":1},"
		    "\"metadata\":{\"m\":1}}", "type" },
		{ "idem-2", "{\"type\":\"Opened\",\"data\":{\"n\":1},"
		    "\"metadata\":{\"m\":1}}", "stream" },
		{ "idem-1", "{\"type\":\"Opened\",\"data\":{\"n\":1,\"x\":0},"
		    "\"metadata\":{\"m\":1}}", "data" },
	};
	static const char same[] = "{\"type\":\"Opened\",\"data\":{\"n\":1},"
	    "\"metadata\":{\"m\":1}}";
	struct json_object *r, *m;
	int64_t p0 = -1, g0 = -1, p, g;
	size_t i;

	r = rpc_ok(h, ADM, hstr(h, "[\"stream.write\",\"idem-1\",%s,{\"id\":\""
	    ID_13 "\"}]", same), 200, NULL, "finding 13: the first write of id "
	    ID_13);
	p0 = jpath_int(r, "position");
	g0 = jpath_int(r, "globalPosition");
	write_quiet(h, ADM, "idem-1", "T", "{}", NULL, NULL, NULL, NULL);

	for (i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		r = rpc_ok(h, ADM, hstr(h, "[\"stream.write\",\"%s\",%s,{\"id\":\""
		    ID_13 "\"}]", changed[i].stream, changed[i].message), 409,
		    "MESSAGE_ID_CONFLICT", hstr(h, "finding 13: a retry with "
		    "another %s -> 409 MESSAGE_ID_CONFLICT", changed[i].field));
		is_str(jpath_str(r, "error.details.field"), changed[i].field,
		    "finding 13: ... its details name the field %s",
		    changed[i].field);
	}
	is_str(jpath_str(r, "error.details.id"), ID_13,
	    "finding 13: the details name the id");

	/* The identical retry, in another spelling and with a stale version. */
	r = rpc_ok(h, ADM, hstr(h, "[\"stream.write\",\"idem-1\",%s,{\"id\":"
	    "\"%s\",\"expectedVersion\":7}]", same,
	    "{7D444840-9DC0-11D1-B245-5FFDCE74FAD2}"), 200, NULL,
	    "finding 13: the identical retry -> 200");
	p = jpath_int(r, "position");
	g = jpath_int(r, "globalPosition");
	ok(p == p0 && g == g0, "finding 13: ... with the original positions "
	    "%" PRId64 ", %" PRId64 " (got %" PRId64 ", %" PRId64 ")",
	    p0, g0, p, g);

	/* Data key order is part of the stored text: like with like. */
	r = rpc_ok(h, ADM, "[\"stream.write\",\"idem-3\",{\"type\":\"T\","
	    "\"data\":{\"a\":1,\"b\":2}},{\"id\":\"e3b0c442-98fc-4c14-9afb-"
	    "f4c8996fb924\"}]", 200, NULL, "finding 13: a write with data "
	    "{a,b}");
	if (harness_keeps_key_order(h))
		rpc_ok(h, ADM, "[\"stream.write\",\"idem-3\",{\"type\":\"T\","
		    "\"data\":{\"b\":2,\"a\":1}},{\"id\":\"e3b0c442-98fc-4c14-9afb-"
		    "f4c8996fb924\"}]", 409, "MESSAGE_ID_CONFLICT", "finding 13: the "
		    "retry with its keys reordered is another payload (key order is "
		    "kept, CONTRACT.md 8) -> 409");
	else
		/* jsonb keeps no key order: the same value is the same payload. */
		rpc_ok(h, ADM, "[\"stream.write\",\"idem-3\",{\"type\":\"T\","
		    "\"data\":{\"b\":2,\"a\":1}},{\"id\":\"e3b0c442-98fc-4c14-9afb-"
		    "f4c8996fb924\"}]", 200, NULL, "finding 13 on PostgreSQL: the "
		    "retry with its keys reordered is the same jsonb value, an "
		    "idempotent retry (docs/storage.md)");

	is_int(count(h, ADM, "idem-1"), 2, "finding 13: nothing new is stored "
	    "in idem-1");
	is_int(count(h, ADM, "idem-2"), 0, "finding 13: nothing is stored in "
	    "idem-2");
	is_int(count(h, ADM, "idem-3"), 1, "finding 13: nothing new is stored "
	    "in idem-3");
	m = stream_read_all(h, ADM, "idem-1");
	ok(jvalue_equal(jpath_get(m, "0." M_DATA), jparse(h, "{\"n\":1}"), 1) &&
	    jpath_str(m, "0." M_TYPE) != NULL &&
	    strcmp(jpath_str(m, "0." M_TYPE), "Opened") == 0,
	    "finding 13: the stored message is unchanged: %s",
	    jpath_text(h, m, "0"));
}

/* ns.create name with token, expecting a 400 INVALID_REQUEST and no namespace. */
static void
weak_ok(struct harness *h, const char *ns, const char *hex64, const char *what)
{
	struct json_object *r;
	const char *msg;

	r = rpc_ok(h, ADM, hstr(h, "[\"ns.create\",\"%s\",{\"token\":\"%s\"}]",
	    ns, token_make(h, ns, hex64)), 400, "INVALID_REQUEST",
	    hstr(h, "finding 15: ns.create with a secret of %s -> 400", what));
	msg = jpath_str(r, "error.message");
	ok(msg != NULL && strstr(msg, "too weak") != NULL, "finding 15: ... "
	    "the message says why: %s", msg ? msg : "(none)");
	rpc_ok(h, ADM, hstr(h, "[\"ns.info\",\"%s\"]", ns), 404,
	    "NAMESPACE_NOT_FOUND", hstr(h, "finding 15: ... and %s was not "
	    "created", ns));
}

static void
test_weak_tokens(struct harness *h)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[32];
	char secret[65];
	const char *tok;
	struct json_object *r;
	FILE *f;
	size_t i;

	weak_ok(h, "weak-zeros", "00000000000000000000000000000000"
	    "00000000000000000000000000000000", "64 zeros");
	weak_ok(h, "weak-f", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
	    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "64 Fs (upper case)");
	weak_ok(h, "weak-e2e0", "e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0"
	    "e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0", "e2e0 repeated");
	weak_ok(h, "weak-beef", "deadbeefdeadbeefdeadbeefdeadbeef"
	    "deadbeefdeadbeefdeadbeefdeadbeef", "deadbeef repeated");
	weak_ok(h, "weak-count", "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", "0-f counted four times");
	weak_ok(h, "weak-run", "00000000000000000000000000000000"
	    "00000000000000004f9a1c7e2b8d6053", "48 zeros then 16 digits");

	/* 32 random bytes, as a client should make them. */
	if ((f = fopen("/dev/urandom", "rb")) == NULL ||
	    fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd))
		tap_bail("cannot read /dev/urandom");
	fclose(f);
	for (i = 0; i < sizeof(rnd); i++) {
		secret[2 * i] = hex[rnd[i] >> 4];
		secret[2 * i + 1] = hex[rnd[i] & 0x0f];
	}
	secret[64] = '\0';
	tok = token_make(h, "strong-1", secret);
	r = rpc_ok(h, ADM, hstr(h, "[\"ns.create\",\"strong-1\",{\"token\":"
	    "\"%s\"}]", tok), 200, NULL, hstr(h, "finding 15: ns.create with "
	    "a random secret %s -> 200", secret));
	is_str(jpath_str(r, "token"), tok, "finding 15: ... it returns the "
	    "given token");
	write_ok(h, tok, "acct-1", "T", "{}", NULL, NULL, NULL, NULL,
	    "finding 15: ... and the token works");

	/* The rule is ns.create's: the harness's fixed admin token still works. */
	rpc_ok(h, ADM, "[\"sys.version\"]", 200, NULL, "finding 15: the "
	    "admin token given with --token (e2e0 repeated) is not refused");
}

int
main(void)
{
	struct harness *h;

	h = harness_start();
	test_spellings(h);
	test_import_spellings(h);
	test_changed_payload(h);
	test_weak_tokens(h);
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
