/*
 * tests/e2e/tenant_import_t.c - /import cannot corrupt a namespace (issue
 * 15, findings 2, 9, 10 and 11), through nginx:
 *   - positions near 2^63 are refused, and a write afterwards is correct,
 *     or, at the highest position evdb allows, refused with a clear error,
 *     never answered with a negative or random position (finding 2);
 *   - /import?force=true of a bad file leaves the namespace intact
 *     (finding 9);
 *   - an import behind the head, or with a hole in a stream, or with an id
 *     that is not a UUID, is refused with an error event naming the line,
 *     and nothing of that batch is committed (finding 10);
 *   - a failed import answers an error status, not 200, with an error
 *     event, and the corrected file sent again resumes: the records already
 *     stored are skipped, a differing one is refused (finding 11).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN
#define TIME	"2026-03-01T10:30:00.123456Z"
#define POS_MAX	"4611686018427387903"		/* 2^62 - 1: STORE_POSITION_MAX */

/* A record line: id number n, stream, positions, type. */
static const char *
rec(struct harness *h, int n, const char *stream, const char *pos,
    const char *gpos, const char *type)
{
	return hstr(h, "{\"id\":\"00000000-0000-4000-8000-%012d\",\"stream\":\"%s\","
	    "\"type\":\"%s\",\"pos\":%s,\"gpos\":%s,\"data\":{\"n\":%d},\"meta\":null,"
	    "\"time\":\"" TIME "\"}\n", n, stream, type, pos, gpos, n);
}

/* Same, with integer positions. */
static const char *
reci(struct harness *h, int n, const char *stream, int64_t pos, int64_t gpos)
{
	return rec(h, n, stream, hstr(h, "%" PRId64, pos), hstr(h, "%" PRId64, gpos),
	    "Imported");
}

/* POSTs body to /import (query: "" or "?force=true") with token. */
static void
import_post(struct harness *h, const char *token, const char *query,
    const char *body, struct http_resp *r)
{
	const char *hdr[] = { hstr(h, "Authorization: Bearer %s", token),
	    "Content-Type: application/x-ndjson", NULL };

	http_post_raw(h, hstr(h, "/import%s", query), hdr, body, strlen(body), r);
}

/*
 * One TAP result: the import answered want_status, as an event stream,
 * and, when want_error is non-NULL, its last event is that error with
 * "line":want_line (0: any line); otherwise its last event is "done".
 */
static int
import_ok(struct harness *h, const struct http_resp *r, long want_status,
    const char *want_error, int want_line, const char *desc)
{
	const char *last = r->body, *p;
	char want[128];
	int good;

	for (p = r->body; (p = strstr(p, "data: ")) != NULL; p++)
		last = p;
	good = r->status == want_status && r->ctype != NULL &&
	    strncmp(r->ctype, "text/event-stream", 17) == 0;
	if (want_error != NULL) {
		snprintf(want, sizeof(want), "data: {\"error\":\"%s\"", want_error);
		good = good && strncmp(last, want, strlen(want)) == 0;
		if (want_line > 0) {
			snprintf(want, sizeof(want), "\"line\":%d}", want_line);
			good = good && strstr(last, want) != NULL;
		}
	} else
		good = good && strncmp(last, "data: {\"done\":true", 18) == 0;
	if (!ok(good, "%s", desc))
		tap_diag("status %ld, body: %.600s", r->status, r->body);
	return good;
}

/* import_post() then import_ok(), for the cases whose body is not looked into. */
static void
import_case_ok(struct harness *h, const char *token, const char *query,
    const char *body, long want_status, const char *want_error, int want_line,
    const char *desc)
{
	struct http_resp r = { 0 };

	import_post(h, token, query, body, &r);
	import_ok(h, &r, want_status, want_error, want_line, desc);
	http_resp_free(&r);
}

/* Messages of category cat read with token, in global order (untested). */
static struct json_object *
category_all(struct harness *h, const char *token, const char *cat)
{
	return rpc_call(h, token, hstr(h, "[\"category.get\",\"%s\",{\"batchSize\":-1}]",
	    cat), NULL);
}

/* Finding 2: positions near 2^63. */
static void
test_overflow(struct harness *h)
{
	const char *tok = ns_create_ok(h, "big", "create namespace big");
	struct json_object *w;
	int n;

	import_case_ok(h, tok, "", rec(h, 1, "big-1", "9223372036854775807",
	    "9223372036854775807", "Imported"), 400, "INVALID_RECORD", 1,
	    "pos and gpos 9223372036854775807 (2^63 - 1) are refused");
	import_case_ok(h, tok, "", rec(h, 2, "big-2", "0", "4611686018427387904",
	    "Imported"), 400, "INVALID_RECORD", 1, "gpos 2^62 is refused (above the maximum)");
	n = jpath_len(category_all(h, tok, "big"), "");
	ok(n == 0, "nothing was imported (%d messages)", n);
	w = write_ok(h, tok, "big-3", "T", "{}", NULL, NULL, NULL, NULL,
	    "a write after the refused imports succeeds");
	ok(jpath_int(w, "position") == 0 && jpath_int(w, "globalPosition") == 1,
	    "... at position 0, global position 1 (got %" PRId64 ", %" PRId64 ")",
	    jpath_int(w, "position"), jpath_int(w, "globalPosition"));

	/* The highest global position allowed: accepted; writes then refused. */
	import_case_ok(h, tok, "", rec(h, 3, "big-4", "0", POS_MAX, "Imported"), 200,
	    NULL, 0, "gpos 2^62 - 1 (the maximum) is accepted");
	rpc_ok(h, tok, "[\"stream.write\",\"big-5\",{\"type\":\"T\",\"data\":{}}]", 507,
	    "STORAGE_FULL", "a write into a namespace at the maximum is refused: 507");
	rpc_ok(h, tok, "[\"stream.write\",\"big-4\",{\"type\":\"T\",\"data\":{}}]", 507,
	    "STORAGE_FULL",
	    "... also to the stream at the head, not a 500 and no random position");
	w = category_all(h, tok, "big");
	ok(jpath_len(w, "") == 2 && jpath_int(w, "1.4") == INT64_C(4611686018427387903),
	    "the namespace holds the two messages, in global order");
}

/* Finding 9: a forced import of a bad file. */
static void
test_force_bad(struct harness *h)
{
	const char *tok = ns_create_ok(h, "forcebad", "create namespace forcebad");
	struct http_resp r = { 0 };
	int i, n = 0;

	for (i = 0; i < 26; i++)
		n += write_quiet(h, tok, hstr(h, "fb-%d", i % 3), "T", "{}", NULL, NULL,
		    NULL, NULL) == 0;
	ok(n == 26, "26 messages written");
	import_case_ok(h, tok, "?force=true", "not json\n", 400, "INVALID_JSON", 1,
	    "force import of a file whose first line is invalid: 400 and an error event");
	n = jpath_len(category_all(h, tok, "fb"), "");
	ok(n == 26, "the namespace still holds its 26 messages (%d)", n);
	import_post(h, tok, "?force=true", hstr(h, "%s%s%s{\"id\":1}\n",
	    reci(h, 1, "fb-0", 0, 1), reci(h, 2, "fb-0", 1, 2), reci(h, 3, "fb-1", 0, 3)),
	    &r);
	import_ok(h, &r, 400, "INVALID_RECORD", 4,
	    "force import with an invalid fourth line: 400, line 4");
	http_resp_free(&r);
	n = jpath_len(category_all(h, tok, "fb"), "");
	ok(n == 26, "the namespace still holds its 26 messages (%d; the clear was"
	    " not committed)", n);
	import_case_ok(h, tok, "?force=true", hstr(h, "%s%s", reci(h, 1, "fb-0", 0, 1),
	    reci(h, 2, "fb-0", 1, 2)), 200, NULL, 0, "a valid force import succeeds");
	ok(jpath_len(category_all(h, tok, "fb"), "") == 2,
	    "... and replaces the namespace's messages");
}

/* Finding 10: imports behind the head, holes, ids. */
static void
test_rules(struct harness *h)
{
	const char *tok = ns_create_ok(h, "rules", "create namespace rules");
	struct http_resp r = { 0 };
	struct json_object *all;
	int i;

	for (i = 0; i < 10; i++)
		write_quiet(h, tok, "ru-0", "T", "{}", NULL, NULL, NULL, NULL);
	/* A gap in global positions is allowed: the head moves to 100. */
	import_case_ok(h, tok, "", reci(h, 1, "ru-1", 0, 100), 200, NULL, 0,
	    "an import above the head (10 -> 100) is accepted");
	import_post(h, tok, "", reci(h, 2, "ru-2", 0, 50), &r);
	import_ok(h, &r, 409, "POSITION_BEHIND_HEAD", 1,
	    "gpos 50 into a namespace whose head is 100: 409, line 1");
	ok(strstr(r.body, "head (100)") != NULL, "... naming the head");
	http_resp_free(&r);
	import_case_ok(h, tok, "", hstr(h, "%s%s", reci(h, 3, "ru-2", 0, 101),
	    reci(h, 4, "ru-2", 1, 60)), 409, "POSITION_BEHIND_HEAD", 2,
	    "gpos 60 after gpos 101 in the same batch: refused at line 2");
	import_case_ok(h, tok, "", reci(h, 5, "ru-7", 0, 6), 409, "POSITION_EXISTS", 1,
	    "gpos 6, held by another message: 409 POSITION_EXISTS");
	import_case_ok(h, tok, "", reci(h, 6, "ru-3", 3, 120), 409, "POSITION_GAP", 1,
	    "pos 3 for an empty stream: 409 POSITION_GAP");
	import_case_ok(h, tok, "", hstr(h, "%s%s", reci(h, 7, "ru-4", 0, 120),
	    reci(h, 8, "ru-4", 7, 121)), 409, "POSITION_GAP", 2,
	    "pos 7 for a stream at version 0 (same batch): refused at line 2");
	import_case_ok(h, tok, "", reci(h, 9, "ru-0", 11, 120), 409, "POSITION_GAP", 1,
	    "pos 11 for a written stream at version 9: refused");
	import_case_ok(h, tok, "", hstr(h, "%s%s", reci(h, 10, "ru-8", 0, 120),
	    reci(h, 1, "ru-8", 1, 121)), 409, "POSITION_EXISTS", 2,
	    "an id already stored: refused at line 2");
	import_post(h, tok, "", "{\"id\":\"not-a-uuid\",\"stream\":\"ru-5\",\"type\":\"T\","
	    "\"pos\":0,\"gpos\":130,\"data\":{},\"time\":\"" TIME "\"}\n", &r);
	import_ok(h, &r, 400, "INVALID_RECORD", 1, "an id that is not a UUID: 400");
	ok(strstr(r.body, "id must be a UUID") != NULL, "... saying so");
	http_resp_free(&r);
	all = category_all(h, tok, "ru");
	ok(jpath_len(all, "") == 11, "nothing of the refused batches was committed"
	    " (%d messages, want 11)", jpath_len(all, ""));

	/* What the rules allow: above the head, each stream continued. */
	import_case_ok(h, tok, "", hstr(h, "%s%s%s%s", reci(h, 11, "ru-0", 10, 115),
	    reci(h, 12, "ru-6", 0, 116), reci(h, 13, "ru-6", 1, 140),
	    reci(h, 14, "ru-0", 11, 141)), 200, NULL, 0,
	    "records above the head that continue their streams are imported");
	rpc_ok(h, tok, "[\"stream.write\",\"ru-6\",{\"type\":\"T\",\"data\":{}},"
	    "{\"expectedVersion\":1}]", 200, NULL,
	    "expectedVersion sees the imported stream's version");
	all = category_all(h, tok, "ru");
	ok(jpath_len(all, "") == 16 && jpath_int(all, "15.4") == 142 &&
	    jpath_int(all, "15.3") == 2, "the next write continues at global position 142,"
	    " stream position 2");
}

/* Finding 11: status of a failed import, and resuming it. */
static void
test_resume(struct harness *h)
{
	const char *tok = ns_create_ok(h, "resume", "create namespace resume");
	struct http_resp r = { 0 };
	struct json_object *all;
	char *good, *bad, *changed;
	size_t cap = 1510 * 256, len = 0, blen = 0, clen = 0;
	const char *line;
	int i, n;

	good = malloc(cap);
	bad = malloc(cap);
	changed = malloc(cap);
	if (good == NULL || bad == NULL || changed == NULL)
		tap_bail("out of memory");
	for (i = 0; i < 1510; i++) {
		line = reci(h, i + 1, hstr(h, "re-%d", i % 7), i / 7, i + 1);
		memcpy(good + len, line, strlen(line));
		len += strlen(line);
		if (i == 1199)
			line = "{\"id\":\"00000000-0000-4000-8000-000000001200\",\"time\":\"x\"}\n";
		memcpy(bad + blen, line, strlen(line));
		blen += strlen(line);
		if (i == 500)
			line = rec(h, i + 1, hstr(h, "re-%d", i % 7), hstr(h, "%d", i / 7),
			    hstr(h, "%d", i + 1), "Changed");
		else
			line = reci(h, i + 1, hstr(h, "re-%d", i % 7), i / 7, i + 1);
		memcpy(changed + clen, line, strlen(line));
		clen += strlen(line);
	}
	good[len] = bad[blen] = changed[clen] = '\0';

	import_post(h, tok, "", bad, &r);
	import_ok(h, &r, 400, "INVALID_RECORD", 1200,
	    "an import with a bad line 1200 answers 400, not 200, with the error event");
	ok(strstr(r.body, "{\"imported\":1000,\"gpos\":1000}") != NULL,
	    "... after the event of the committed first batch");
	http_resp_free(&r);
	n = jpath_len(category_all(h, tok, "re"), "");
	ok(n == 1000, "1000 records committed (%d)", n);

	import_case_ok(h, tok, "", changed, 409, "POSITION_EXISTS", 501,
	    "a re-sent file whose line 501 differs from what is stored: 409");
	n = jpath_len(category_all(h, tok, "re"), "");
	ok(n == 1000, "... and changes nothing (%d messages)", n);

	import_post(h, tok, "", good, &r);
	import_ok(h, &r, 200, NULL, 0, "the corrected file sent again succeeds");
	ok(strstr(r.body, "{\"done\":true,\"imported\":510,\"skipped\":1000,") != NULL,
	    "... importing the 510 missing records and skipping the 1000 stored");
	http_resp_free(&r);
	all = category_all(h, tok, "re");
	ok(jpath_len(all, "") == 1510 && jpath_int(all, "1509.4") == 1510,
	    "the namespace holds the 1510 records (%d)", jpath_len(all, ""));
	import_post(h, tok, "", good, &r);
	import_ok(h, &r, 200, NULL, 0, "sending it a third time imports nothing and succeeds");
	ok(strstr(r.body, "\"imported\":0,\"skipped\":1510") != NULL, "... all skipped");
	http_resp_free(&r);
	free(good);
	free(bad);
	free(changed);
}

int
main(void)
{
	struct harness *h;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_plan(45);
	h = harness_start();
	test_overflow(h);
	test_force_bad(h);
	test_rules(h);
	test_resume(h);
	harness_stop(h);
	return tap_done();
}
