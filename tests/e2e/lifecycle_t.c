/*
 * tests/e2e/lifecycle_t.c - stream lifecycle through the real nginx
 * (EXTENSIONS.md section 5, docs/api.md "Stream lifecycle"): stream.delete
 * soft and hard, stream.truncate, stream.setRetention,
 * category.setRetention and stream.info, with each documented error;
 * deleted messages absent from every read (stream.get, category.get with
 * consumer groups, SSE catch-up, ns.streams, ns.info counts, export);
 * retention by count and by age through the background sweep, with a
 * short --retention-interval and the test clock (EVDB_TEST_CLOCK_FILE);
 * the sweep under 8 concurrent writers; and the store no longer growing
 * once retention holds a stream's size steady.  Runs on either backend
 * (EVDB_E2E_PGDIR for PostgreSQL).
 */
#include "config.h"

#include <sys/stat.h>

#include <signal.h>

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN

static char clock_file[4200];	/* EVDB_TEST_CLOCK_FILE of the stack */

static void
clock_set(long secs)
{
	FILE *f = fopen(clock_file, "w");

	if (f == NULL)
		tap_bail("cannot write %s", clock_file);
	fprintf(f, "%ld\n", secs);
	fclose(f);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void
writes(struct harness *h, const char *stream, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (write_quiet(h, ADM, stream, "T", "{\"i\":1}", NULL, NULL, NULL,
		    NULL) != 0)
			tap_bail("write to %s failed", stream);
}

/* The positions of stream as "0,1,2" (harness-owned). */
static const char *
positions(struct harness *h, const char *stream)
{
	struct json_object *a = stream_read_all(h, ADM, stream);
	char buf[4096] = "";
	size_t len = 0;
	int i, n = jpath_len(a, "");

	for (i = 0; i < n && len < sizeof(buf) - 32; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%" PRId64,
		    i ? "," : "", jpath_int(a, hstr(h, "%d.2", i)));
	return hstr(h, "%s", buf);
}

/* Waits up to 15 s for stream to hold want messages (the sweep). */
static int
wait_count(struct harness *h, const char *stream, int want)
{
	int64_t until = mono_ms() + 15000;

	while (mono_ms() < until) {
		if (jpath_len(stream_read_all(h, ADM, stream), "") == want)
			return 1;
		sleep_ms(100);
	}
	return 0;
}

static void
test_errors(struct harness *h)
{
	static const struct {
		const char *body;
		const char *desc;
	} bad[] = {
		{ "[\"stream.delete\"]", "stream.delete without a stream" },
		{ "[\"stream.delete\",\"\"]", "stream.delete with an empty name" },
		{ "[\"stream.delete\",7]", "stream.delete with a number for a name" },
		{ "[\"stream.delete\",\"e-1\",[]]", "stream.delete with options not an object" },
		{ "[\"stream.delete\",\"e-1\",{\"hard\":\"yes\"}]", "hard not a boolean" },
		{ "[\"stream.delete\",\"e-1\",{\"hard\":null}]", "hard null" },
		{ "[\"stream.delete\",\"e-1\",{\"expectedVersion\":\"1\"}]",
		  "stream.delete expectedVersion a string" },
		{ "[\"stream.truncate\",\"e-1\"]", "stream.truncate without options" },
		{ "[\"stream.truncate\",\"e-1\",{}]", "stream.truncate without before" },
		{ "[\"stream.truncate\",\"e-1\",{\"before\":-1}]", "before negative" },
		{ "[\"stream.truncate\",\"e-1\",{\"before\":1.5}]", "before not whole" },
		{ "[\"stream.truncate\",\"e-1\",{\"before\":\"2\"}]", "before a string" },
		{ "[\"stream.truncate\",\"e-1\",{\"before\":null}]", "before null" },
		{ "[\"stream.setRetention\",\"e-1\"]", "stream.setRetention without options" },
		{ "[\"stream.setRetention\",\"e-1\",null]", "retention null" },
		{ "[\"stream.setRetention\",\"e-1\",{\"maxAge\":-1}]", "maxAge negative" },
		{ "[\"stream.setRetention\",\"e-1\",{\"maxAge\":\"1h\"}]", "maxAge a string" },
		{ "[\"stream.setRetention\",\"e-1\",{\"maxAge\":2.5}]", "maxAge not whole" },
		{ "[\"stream.setRetention\",\"e-1\",{\"maxAge\":99999999999}]",
		  "maxAge above 100 years" },
		{ "[\"stream.setRetention\",\"e-1\",{\"maxCount\":-3}]", "maxCount negative" },
		{ "[\"stream.setRetention\",\"e-1\",{\"maxCount\":true}]", "maxCount a boolean" },
		{ "[\"stream.setRetention\",\"\",{\"maxCount\":1}]", "setRetention empty name" },
		{ "[\"category.setRetention\",\"e\"]", "category.setRetention without options" },
		{ "[\"category.setRetention\",\"e-1\",{\"maxCount\":1}]",
		  "category.setRetention with a stream name (has '-')" },
		{ "[\"category.setRetention\",\"\",{\"maxCount\":1}]", "empty category" },
		{ "[\"category.setRetention\",3,{\"maxCount\":1}]", "category a number" },
		{ "[\"category.setRetention\",\"e\",{\"maxAge\":{}}]", "category maxAge an object" },
		{ "[\"stream.info\"]", "stream.info without a stream" },
		{ "[\"stream.info\",\"\"]", "stream.info with an empty name" },
		{ "[\"stream.info\",null]", "stream.info with null" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rpc_ok(h, ADM, bad[i].body, 400, "INVALID_REQUEST",
		    hstr(h, "400 INVALID_REQUEST: %s", bad[i].desc));
	/* Nothing was changed by any of them. */
	rpc_ok(h, ADM, "[\"stream.info\",\"e-1\"]", 200, NULL, "stream.info e-1");
	ok(strcmp(rpc_last_body(h), "null") == 0,
	    "no refused call left a trace: stream.info e-1 is null (%s)",
	    rpc_last_body(h));
	rpc_ok(h, NULL, "[\"stream.delete\",\"e-1\"]", 401, NULL,
	    "stream.delete without a token is refused");
	rpc_ok(h, ADM, "[\"stream.info\",\"never-1\"]", 200, NULL,
	    "stream.info of a stream that never existed answers 200");
	ok(strcmp(rpc_last_body(h), "null") == 0, "... with null");
}

static void
test_soft_delete(struct harness *h)
{
	struct json_object *r;
	int64_t pos = -1;

	writes(h, "soft-a", 3);
	r = rpc_ok(h, ADM, "[\"stream.delete\",\"soft-a\"]", 200, NULL,
	    "soft delete answers 200");
	ok(jpath_int(r, "messagesDeleted") == 3, "messagesDeleted is 3 (%s)",
	    rpc_last_body(h));
	ok(strcmp(positions(h, "soft-a"), "") == 0, "stream.get is empty after it");
	rpc_ok(h, ADM, "[\"stream.version\",\"soft-a\"]", 200, NULL, "stream.version");
	ok(strcmp(rpc_last_body(h), "null") == 0,
	    "the version reads as absent (%s)", rpc_last_body(h));
	r = rpc_ok(h, ADM, "[\"stream.last\",\"soft-a\"]", 200, NULL, "stream.last");
	ok(strcmp(rpc_last_body(h), "null") == 0, "stream.last is null");
	r = rpc_ok(h, ADM, "[\"stream.info\",\"soft-a\"]", 200, NULL, "stream.info");
	ok(r != NULL && strcmp(jpath_str(r, "deleted") ?: "", "soft") == 0 &&
	    jpath_is_null(r, "version") && jpath_int(r, "messageCount") == 0 &&
	    jpath_is_null(r, "firstPosition") &&
	    strcmp(jpath_str(r, "stream") ?: "", "soft-a") == 0 &&
	    jpath_is_null(r, "retention") && jpath_str(r, "lastActivity") != NULL,
	    "stream.info: deleted soft, version null, no messages (%s)",
	    rpc_last_body(h));
	write_ok(h, ADM, "soft-a", "T", "{}", NULL, NULL, &pos, NULL,
	    "a write after the soft delete succeeds");
	ok(pos == 3, "... at position 3: after the old version 2 (got %" PRId64 ")",
	    pos);
	r = rpc_ok(h, ADM, "[\"stream.info\",\"soft-a\"]", 200, NULL, "stream.info");
	ok(r != NULL && json_object_is_type(jpath_get(r, "deleted"),
	    json_type_boolean) && !json_object_get_boolean(jpath_get(r, "deleted")) &&
	    jpath_int(r, "version") == 3 && jpath_int(r, "firstPosition") == 3 &&
	    jpath_int(r, "messageCount") == 1,
	    "stream.info after the write: deleted false, version 3 (%s)",
	    rpc_last_body(h));
	/* A soft delete of a stream that never existed deletes nothing. */
	r = rpc_ok(h, ADM, "[\"stream.delete\",\"soft-none\"]", 200, NULL,
	    "soft delete of a stream that never existed");
	ok(jpath_int(r, "messagesDeleted") == 0, "... deletes 0");
}

static void
test_expected_version(struct harness *h)
{
	struct json_object *r;
	int64_t pos = -1;

	writes(h, "ev-a", 2);
	r = rpc_ok(h, ADM, "[\"stream.delete\",\"ev-a\",{\"expectedVersion\":0}]",
	    409, "STREAM_VERSION_CONFLICT", "delete with a stale expectedVersion: 409");
	ok(jpath_int(r, "error.details.actual") == 1 &&
	    jpath_int(r, "error.details.expected") == 0,
	    "details carry actual 1 and expected 0 (%s)", rpc_last_body(h));
	ok(strcmp(positions(h, "ev-a"), "0,1") == 0, "... and nothing was deleted");
	r = rpc_ok(h, ADM, "[\"stream.delete\",\"ev-a\",{\"expectedVersion\":1}]",
	    200, NULL, "delete with the current expectedVersion");
	ok(jpath_int(r, "messagesDeleted") == 2, "... deletes 2");
	r = rpc_ok(h, ADM, "[\"stream.write\",\"ev-a\",{\"type\":\"T\",\"data\":{}},"
	    "{\"expectedVersion\":1}]", 409, "STREAM_VERSION_CONFLICT",
	    "a write expecting the old version on a soft-deleted stream: 409");
	ok(jpath_int(r, "error.details.actual") == -1,
	    "... the stream reads as absent: actual -1 (%s)", rpc_last_body(h));
	write_ok(h, ADM, "ev-a", "T", "{}", NULL, "{\"expectedVersion\":-1}", &pos,
	    NULL, "a write expecting an absent stream (-1) succeeds");
	ok(pos == 2, "... at position 2, after the old version (got %" PRId64 ")",
	    pos);
	write_ok(h, ADM, "ev-a", "T", "{}", NULL, "{\"expectedVersion\":2}", &pos,
	    NULL, "then expectedVersion 2 (the new message) succeeds");
	ok(pos == 3, "... at position 3");
	r = rpc_ok(h, ADM, "[\"stream.delete\",\"ev-a\",{\"expectedVersion\":-1,"
	    "\"hard\":true}]", 409, "STREAM_VERSION_CONFLICT",
	    "hard delete with a stale expectedVersion: 409");
	ok(strcmp(positions(h, "ev-a"), "2,3") == 0, "... nothing deleted");
}

static void
test_hard_delete(struct harness *h)
{
	struct json_object *r;

	writes(h, "hard-a", 2);
	r = rpc_ok(h, ADM, "[\"stream.delete\",\"hard-a\",{\"hard\":true}]", 200,
	    NULL, "hard delete answers 200");
	ok(jpath_int(r, "messagesDeleted") == 2, "messagesDeleted is 2");
	rpc_ok(h, ADM, "[\"stream.write\",\"hard-a\",{\"type\":\"T\",\"data\":{}}]",
	    410, "STREAM_DELETED", "a write after the hard delete: 410 STREAM_DELETED");
	rpc_ok(h, ADM, "[\"stream.write\",\"hard-a\",{\"type\":\"T\",\"data\":{}},"
	    "{\"expectedVersion\":-1}]", 410, "STREAM_DELETED",
	    "... also with expectedVersion -1");
	ok(strcmp(positions(h, "hard-a"), "") == 0, "stream.get reads as empty");
	rpc_ok(h, ADM, "[\"stream.version\",\"hard-a\"]", 200, NULL, "stream.version");
	ok(strcmp(rpc_last_body(h), "null") == 0, "stream.version is null");
	r = rpc_ok(h, ADM, "[\"stream.info\",\"hard-a\"]", 200, NULL, "stream.info");
	ok(r != NULL && strcmp(jpath_str(r, "deleted") ?: "", "hard") == 0 &&
	    jpath_int(r, "messageCount") == 0,
	    "stream.info says deleted hard (%s)", rpc_last_body(h));
	r = rpc_ok(h, ADM, "[\"stream.delete\",\"hard-a\",{\"hard\":true}]", 200, NULL,
	    "a second hard delete is a no-op");
	ok(jpath_int(r, "messagesDeleted") == 0, "... deleting 0");
	rpc_ok(h, ADM, "[\"stream.delete\",\"hard-a\"]", 410, "STREAM_DELETED",
	    "a soft delete of a tombstone: 410");
	rpc_ok(h, ADM, "[\"stream.truncate\",\"hard-a\",{\"before\":1}]", 410,
	    "STREAM_DELETED", "truncating a tombstone: 410");
	rpc_ok(h, ADM, "[\"stream.setRetention\",\"hard-a\",{\"maxCount\":1}]", 410,
	    "STREAM_DELETED", "setting a tombstone's retention: 410");
	/* batch.write (EXTENSIONS.md section 2) refuses the whole batch. */
	r = rpc_ok(h, ADM, "[\"batch.write\",[{\"stream\":\"hard-c\",\"type\":\"T\","
	    "\"data\":{}},{\"stream\":\"hard-a\",\"type\":\"T\",\"data\":{}}]]", 410,
	    "STREAM_DELETED", "a batch.write with an entry to a tombstone: 410");
	ok(strstr(rpc_last_body(h), "\"index\":1") != NULL, "... naming entry 1"
	    " (%s)", rpc_last_body(h));
	ok(strcmp(positions(h, "hard-c"), "") == 0, "... and writing nothing of the"
	    " batch (hard-c: \"%s\")", positions(h, "hard-c"));
	/* A name never written can be tombstoned too (erasure ahead of time). */
	rpc_ok(h, ADM, "[\"stream.delete\",\"hard-b\",{\"hard\":true}]", 200, NULL,
	    "hard delete of a stream never written");
	rpc_ok(h, ADM, "[\"stream.write\",\"hard-b\",{\"type\":\"T\",\"data\":{}}]",
	    410, "STREAM_DELETED", "... refuses its writes");
	r = rpc_ok(h, ADM, "[\"stream.info\",\"hard-b\"]", 200, NULL, "stream.info");
	ok(r != NULL && strcmp(jpath_str(r, "deleted") ?: "", "hard") == 0,
	    "... and stream.info says hard");
	/* Survives a restart: the tombstone is stored, not cached. */
	if (harness_restart(h) != 0)
		tap_bail("restart failed");
	rpc_ok(h, ADM, "[\"stream.write\",\"hard-a\",{\"type\":\"T\",\"data\":{}}]",
	    410, "STREAM_DELETED", "after a restart, still 410");
}

/* A category's messages as "stream:pos," pairs (harness-owned). */
static const char *
category_rows(struct harness *h, const char *body)
{
	struct json_object *a = rpc_ok(h, ADM, body, 200, NULL,
	    hstr(h, "category read %s", body));
	char buf[4096] = "";
	size_t len = 0;
	int i, n = jpath_len(a, "");

	for (i = 0; i < n && len < sizeof(buf) - 64; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s:%" PRId64 ",",
		    jpath_str(a, hstr(h, "%d.1", i)), jpath_int(a, hstr(h, "%d.3", i)));
	return hstr(h, "%s", buf);
}

static void
test_absent_everywhere(struct harness *h)
{
	struct json_object *r, *info;
	const char *all, *g0, *g1, *sse, *line;
	int64_t before_msgs, before_streams;
	char *req, *out, path[4200], cmd[8192];
	size_t outlen;
	FILE *f;
	int found_a = 0, found_b = 0;

	writes(h, "gone-a", 3);
	writes(h, "gone-b", 2);
	writes(h, "gone-a", 1);
	info = rpc_ok(h, ADM, "[\"ns.info\",\"default\"]", 200, NULL, "ns.info before");
	before_msgs = jpath_int(info, "messageCount");
	before_streams = jpath_int(info, "streamCount");
	r = rpc_ok(h, ADM, "[\"stream.delete\",\"gone-a\"]", 200, NULL,
	    "delete gone-a");
	ok(jpath_int(r, "messagesDeleted") == 4, "4 messages deleted");
	info = rpc_ok(h, ADM, "[\"ns.info\",\"default\"]", 200, NULL, "ns.info after");
	ok(jpath_int(info, "messageCount") == before_msgs - 4,
	    "ns.info messageCount drops by 4 (%" PRId64 " -> %" PRId64 ")",
	    before_msgs, jpath_int(info, "messageCount"));
	ok(jpath_int(info, "streamCount") == before_streams - 1,
	    "ns.info streamCount drops by 1 (%" PRId64 " -> %" PRId64 ")",
	    before_streams, jpath_int(info, "streamCount"));
	r = rpc_ok(h, ADM, "[\"ns.list\"]", 200, NULL, "ns.list");
	{
		int i, n = jpath_len(r, ""), agree = 0;

		for (i = 0; i < n; i++)
			if (strcmp(jpath_str(r, hstr(h, "%d.namespace", i)) ?: "",
			    "default") == 0 &&
			    jpath_int(r, hstr(h, "%d.messageCount", i)) ==
			    jpath_int(info, "messageCount"))
				agree = 1;
		ok(agree, "ns.list agrees with ns.info (%s)", rpc_last_body(h));
	}
	all = category_rows(h, "[\"category.get\",\"gone\"]");
	ok(strstr(all, "gone-a") == NULL && strstr(all, "gone-b:0,") != NULL &&
	    strstr(all, "gone-b:1,") != NULL,
	    "category.get has gone-b's messages only (%s)", all);
	g0 = category_rows(h, "[\"category.get\",\"gone\",{\"consumerGroup\":"
	    "{\"member\":0,\"size\":2}}]");
	g1 = category_rows(h, "[\"category.get\",\"gone\",{\"consumerGroup\":"
	    "{\"member\":1,\"size\":2}}]");
	ok(strstr(g0, "gone-a") == NULL && strstr(g1, "gone-a") == NULL &&
	    strlen(g0) + strlen(g1) == strlen(all),
	    "consumer groups: neither member sees gone-a, together they see the"
	    " rest (%s | %s)", g0, g1);
	r = rpc_ok(h, ADM, "[\"ns.streams\",{\"prefix\":\"gone\"}]", 200,
	    NULL, "ns.streams");
	ok(strstr(rpc_last_body(h), "gone-a") == NULL &&
	    strstr(rpc_last_body(h), "gone-b") != NULL,
	    "ns.streams lists gone-b, not gone-a (%s)", rpc_last_body(h));

	/* SSE catch-up from the start of the category. */
	req = (char *)hstr(h, "GET /subscribe?category=gone&position=0&token=%s"
	    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", ADM);
	out = http_raw_exchange(h, req, strlen(req), 0, 1500, &outlen);
	sse = out != NULL ? out : "";	/* harness-owned */
	ok(strstr(sse, ": ready") != NULL && strstr(sse, "\"gone-b\"") != NULL &&
	    strstr(sse, "\"gone-a\"") == NULL,
	    "SSE catch-up pokes gone-b, never gone-a");

	/* evdb export of the category. */
	snprintf(path, sizeof(path), "%s/export-gone.ndjson", harness_datadir(h));
	snprintf(cmd, sizeof(cmd), "'%s/evdb' export --url '%s' --token '%s'"
	    " --categories gone --output '%s' --quiet", getenv("EVDB_BUILDDIR"),
	    harness_url(h), ADM, path);
	ok(system(cmd) == 0, "evdb export --categories gone runs");
	if ((f = fopen(path, "r")) != NULL) {
		char lbuf[4096];

		while ((line = fgets(lbuf, sizeof(lbuf), f)) != NULL) {
			found_a += strstr(line, "\"gone-a\"") != NULL;
			found_b += strstr(line, "\"gone-b\"") != NULL;
		}
		fclose(f);
	}
	ok(found_a == 0 && found_b == 2, "the export holds gone-b's 2 messages and"
	    " none of gone-a (%d, %d)", found_b, found_a);
}

static void
test_head_gap(struct harness *h)
{
	int64_t g1 = -1, g2 = -1;

	/* The namespace's newest message deleted: its global position stays used. */
	write_ok(h, ADM, "gap-a", "T", "{}", NULL, NULL, NULL, &g1, "write gap-a");
	rpc_ok(h, ADM, "[\"stream.delete\",\"gap-a\",{\"hard\":true}]", 200, NULL,
	    "delete the head's stream");
	write_ok(h, ADM, "gap-b", "T", "{}", NULL, NULL, NULL, &g2, "write gap-b");
	ok(g2 > g1, "the next global position is above the deleted head"
	    " (%" PRId64 " > %" PRId64 ")", g2, g1);
	if (harness_restart(h) != 0)
		tap_bail("restart failed");
	rpc_ok(h, ADM, "[\"stream.delete\",\"gap-b\"]", 200, NULL, "delete gap-b");
	write_ok(h, ADM, "gap-c", "T", "{}", NULL, NULL, NULL, &g1, "write gap-c");
	ok(g1 > g2, "... also after a restart (%" PRId64 " > %" PRId64 ")", g1, g2);
}

static void
test_truncate(struct harness *h)
{
	struct json_object *r;
	int64_t pos = -1;

	writes(h, "trunc-a", 5);
	r = rpc_ok(h, ADM, "[\"stream.truncate\",\"trunc-a\",{\"before\":3}]", 200,
	    NULL, "truncate before 3");
	ok(jpath_int(r, "messagesDeleted") == 3, "3 messages deleted (%s)",
	    rpc_last_body(h));
	ok(strcmp(positions(h, "trunc-a"), "3,4") == 0, "positions 3 and 4 remain (%s)",
	    positions(h, "trunc-a"));
	rpc_ok(h, ADM, "[\"stream.version\",\"trunc-a\"]", 200, NULL, "version");
	ok(strcmp(rpc_last_body(h), "4") == 0, "the version is still 4");
	r = rpc_ok(h, ADM, "[\"stream.info\",\"trunc-a\"]", 200, NULL, "stream.info");
	ok(jpath_int(r, "firstPosition") == 3 && jpath_int(r, "messageCount") == 2 &&
	    jpath_int(r, "version") == 4, "stream.info: firstPosition 3, 2 messages"
	    " (%s)", rpc_last_body(h));
	r = rpc_ok(h, ADM, "[\"stream.truncate\",\"trunc-a\",{\"before\":0}]", 200,
	    NULL, "truncate before 0");
	ok(jpath_int(r, "messagesDeleted") == 0, "... deletes nothing");
	r = rpc_ok(h, ADM, "[\"stream.truncate\",\"trunc-a\",{\"before\":100}]", 200,
	    NULL, "truncate past the end");
	ok(jpath_int(r, "messagesDeleted") == 2, "... deletes the rest");
	rpc_ok(h, ADM, "[\"stream.version\",\"trunc-a\"]", 200, NULL, "version");
	ok(strcmp(rpc_last_body(h), "4") == 0,
	    "the version is still 4 (a truncate is no delete)");
	write_ok(h, ADM, "trunc-a", "T", "{}", NULL, "{\"expectedVersion\":4}", &pos,
	    NULL, "write expecting version 4");
	ok(pos == 5, "... lands at position 5");
}

static void
test_retention_count(struct harness *h)
{
	struct json_object *r;

	rpc_ok(h, ADM, "[\"stream.setRetention\",\"cnt-a\",{\"maxCount\":2}]", 200,
	    NULL, "setRetention maxCount 2");
	ok(strcmp(rpc_last_body(h), "true") == 0, "... answers true");
	writes(h, "cnt-a", 5);
	ok(wait_count(h, "cnt-a", 2), "the sweep keeps 2 messages");
	ok(strcmp(positions(h, "cnt-a"), "3,4") == 0, "... the newest: 3,4 (%s)",
	    positions(h, "cnt-a"));
	r = rpc_ok(h, ADM, "[\"stream.info\",\"cnt-a\"]", 200, NULL, "stream.info");
	ok(jpath_is_null(r, "retention.maxAge") &&
	    jpath_int(r, "retention.maxCount") == 2 && jpath_int(r, "version") == 4,
	    "stream.info shows the retention (%s)", rpc_last_body(h));
	rpc_ok(h, ADM, "[\"stream.setRetention\",\"cnt-a\",{\"maxCount\":null}]", 200,
	    NULL, "maxCount null removes it");
	r = rpc_ok(h, ADM, "[\"stream.info\",\"cnt-a\"]", 200, NULL, "stream.info");
	ok(jpath_is_null(r, "retention"), "retention is null again (%s)",
	    rpc_last_body(h));
	writes(h, "cnt-a", 3);
	sleep_ms(2500);
	ok(jpath_len(stream_read_all(h, ADM, "cnt-a"), "") == 5,
	    "with no retention, two sweeps later all 5 messages stay");
	/* A category's count. */
	rpc_ok(h, ADM, "[\"category.setRetention\",\"cntc\",{\"maxCount\":1}]", 200,
	    NULL, "category.setRetention maxCount 1");
	writes(h, "cntc-x", 3);
	writes(h, "cntc-y", 2);
	ok(wait_count(h, "cntc-x", 1) && wait_count(h, "cntc-y", 1),
	    "every stream of the category keeps 1");
	ok(strcmp(positions(h, "cntc-x"), "2") == 0, "cntc-x keeps position 2");
	/* A stream's own setting wins over its category's. */
	rpc_ok(h, ADM, "[\"stream.setRetention\",\"cntc-z\",{\"maxCount\":3}]", 200,
	    NULL, "cntc-z's own maxCount 3");
	writes(h, "cntc-z", 5);
	ok(wait_count(h, "cntc-z", 3), "cntc-z keeps 3, its own setting");
	rpc_ok(h, ADM, "[\"category.setRetention\",\"cntc\",{\"maxCount\":null}]", 200,
	    NULL, "category maxCount null");
}

static void
test_retention_age(struct harness *h)
{
	struct json_object *r;
	int64_t pos = -1;

	rpc_ok(h, ADM, "[\"category.setRetention\",\"age\",{\"maxAge\":3600}]", 200,
	    NULL, "category.setRetention maxAge 3600");
	writes(h, "age-a", 3);
	r = rpc_ok(h, ADM, "[\"stream.info\",\"age-a\"]", 200, NULL, "stream.info");
	ok(jpath_int(r, "retention.maxAge") == 3600 &&
	    jpath_is_null(r, "retention.maxCount"),
	    "stream.info shows the category's maxAge (%s)", rpc_last_body(h));
	sleep_ms(2500);
	ok(jpath_len(stream_read_all(h, ADM, "age-a"), "") == 3,
	    "young messages survive the sweeps");
	clock_set(7200);
	ok(wait_count(h, "age-a", 0), "two hours later (test clock) they are gone");
	clock_set(0);
	rpc_ok(h, ADM, "[\"stream.version\",\"age-a\"]", 200, NULL, "version");
	ok(strcmp(rpc_last_body(h), "2") == 0, "the version stays 2 (%s)",
	    rpc_last_body(h));
	write_ok(h, ADM, "age-a", "T", "{}", NULL, NULL, &pos, NULL, "write again");
	ok(pos == 3, "... at position 3");
	rpc_ok(h, ADM, "[\"category.setRetention\",\"age\",{\"maxAge\":null}]", 200,
	    NULL, "maxAge null removes the category's setting");
	clock_set(7200);
	sleep_ms(2500);
	ok(jpath_len(stream_read_all(h, ADM, "age-a"), "") == 1,
	    "without it, old messages stay");
	clock_set(0);
}

static int64_t
metric(struct harness *h, const char *name)
{
	struct http_resp r;
	const char *hdr[] = { "Authorization: Bearer " ADM, NULL };
	int64_t v = -1;
	char *p;

	if (http_get(h, "/metrics", hdr, &r) != 0)
		return -1;
	for (p = r.body; p != NULL && (p = strstr(p, name)) != NULL; p++)
		if ((p == r.body || p[-1] == '\n') && p[strlen(name)] == ' ') {
			v = (int64_t)strtod(p + strlen(name) + 1, NULL);
			break;
		}
	http_resp_free(&r);
	return v;
}

/*
 * /metrics per namespace: a namespace that retention removed messages from
 * has its own evdb_namespace_retention_* lines, and loses them once it is
 * deleted (the next sweep does not find it).
 */
#define NS_REMOVED "evdb_namespace_retention_removed_total{namespace=\"%s\"}"
#define NS_LAST "evdb_namespace_retention_sweep_last_seconds{namespace=\"%s\"}"

static void
test_retention_metrics(struct harness *h)
{
	const char *tok = ns_create_ok(h, "lc-metrics", NULL);
	int64_t until, v = -1;
	int i;

	rpc_ok(h, tok, "[\"stream.setRetention\",\"met-a\",{\"maxCount\":1}]",
	    200, NULL, "lc-metrics: setRetention maxCount 1");
	for (i = 0; i < 4; i++)
		if (write_quiet(h, tok, "met-a", "T", "{}", NULL, NULL, NULL,
		    NULL) != 0)
			tap_bail("write to lc-metrics failed");
	until = mono_ms() + 15000;
	while (mono_ms() < until &&
	    (v = metric(h, hstr(h, NS_REMOVED, "lc-metrics"))) != 3)
		sleep_ms(200);
	ok(v == 3, "/metrics: lc-metrics had 3 messages removed (%" PRId64 ")", v);
	ok(metric(h, hstr(h, NS_LAST, "lc-metrics")) >= 0,
	    "/metrics: lc-metrics's part of the last sweep has its duration");
	v = metric(h, hstr(h, NS_REMOVED, "default"));
	ok(v > 0 && v <= metric(h, "evdb_retention_removed_total"), "/metrics: "
	    "default's count (%" PRId64 ") is its own, within the total", v);
	rpc_ok(h, ADM, "[\"ns.delete\",\"lc-metrics\"]", 200, NULL,
	    "ns.delete lc-metrics");
	until = mono_ms() + 15000;
	while (mono_ms() < until &&
	    (v = metric(h, hstr(h, NS_REMOVED, "lc-metrics"))) != -1)
		sleep_ms(200);
	ok(v == -1 && metric(h, hstr(h, NS_LAST, "lc-metrics")) == -1,
	    "/metrics: a deleted namespace's lines go at the next sweep");
	ok(metric(h, "evdb_namespace_retention_truncated") == 0,
	    "/metrics: no namespace left without its lines");
}

/* ---- the sweep under concurrent writers ---- */

#define W_THREADS 8
#define W_EACH 150

struct wjob {
	struct harness *h;
	int id;
	int ok;			/* writes answered 200 */
	int64_t last_pos;	/* positions must come 0, 1, 2, ... */
	int in_order;
	int64_t max_ms;		/* slowest write */
};

static void *
wjob_main(void *arg)
{
	struct wjob *w = arg;
	struct hconn *c = hconn_new(w->h);
	struct http_resp r;
	char body[256];
	int i;

	w->last_pos = -1;
	w->in_order = 1;
	for (i = 0; c != NULL && i < W_EACH; i++) {
		int64_t t0 = mono_ms(), ms;

		snprintf(body, sizeof(body), "[\"stream.write\",\"sweep-%d\","
		    "{\"type\":\"T\",\"data\":{\"i\":%d}}]", w->id, i);
		if (hconn_rpc(c, ADM, body, &r) == 0 && r.status == 200 && r.json) {
			json_object *p;

			w->ok++;
			if (json_object_object_get_ex(r.json, "position", &p) &&
			    json_object_get_int64(p) != w->last_pos + 1)
				w->in_order = 0;
			w->last_pos = p != NULL ? json_object_get_int64(p) : -2;
		}
		http_resp_free(&r);
		ms = mono_ms() - t0;
		if (ms > w->max_ms)
			w->max_ms = ms;
		/* Spread the writes over a few sweeps. */
		if (i % 25 == 0)
			sleep_ms(50);
	}
	hconn_free(c);
	return NULL;
}

static void
test_sweep_concurrent(struct harness *h)
{
	struct wjob w[W_THREADS];
	pthread_t tid[W_THREADS];
	int64_t max_ms = 0;
	int i, all_ok = 1, order = 1, kept = 1;

	rpc_ok(h, ADM, "[\"category.setRetention\",\"sweep\",{\"maxCount\":10}]",
	    200, NULL, "category sweep: maxCount 10");
	memset(w, 0, sizeof(w));
	for (i = 0; i < W_THREADS; i++) {
		w[i].h = h;
		w[i].id = i;
		if (pthread_create(&tid[i], NULL, wjob_main, &w[i]) != 0)
			tap_bail("pthread_create failed");
	}
	for (i = 0; i < W_THREADS; i++) {
		pthread_join(tid[i], NULL);
		all_ok &= w[i].ok == W_EACH;
		order &= w[i].in_order;
		if (w[i].max_ms > max_ms)
			max_ms = w[i].max_ms;
	}
	ok(all_ok, "8 writers x %d writes while the sweep runs: every write"
	    " answered 200", W_EACH);
	ok(order, "each writer's positions came 0, 1, 2, ... with none lost");
	tap_diag("slowest write during the sweeps: %" PRId64 " ms", max_ms);
	/* Generous: make check runs beside other suites on a shared machine. */
	ok(max_ms < 2000, "no write waited 2 s or more behind the sweep"
	    " (slowest %" PRId64 " ms)", max_ms);
	for (i = 0; i < W_THREADS; i++)
		kept &= wait_count(h, hstr(h, "sweep-%d", i), 10);
	ok(kept, "then every stream holds exactly its newest 10");
	ok(strcmp(positions(h, "sweep-0"),
	    "140,141,142,143,144,145,146,147,148,149") == 0,
	    "... positions 140..149 of sweep-0 (%s)", positions(h, "sweep-0"));
}

/* ---- the store stops growing ---- */

/* Size of the namespace's storage: the SQLite file, or the PG table. */
static int64_t
store_size(struct harness *h)
{
	char path[8400], cmd[4600], buf[64];
	struct dirent *d;
	struct stat sb;
	int64_t size = -1;
	DIR *dir;
	FILE *p;

	if (strcmp(harness_backend(h), "sqlite") == 0) {
		snprintf(path, sizeof(path), "%s/data/ns", harness_datadir(h));
		if ((dir = opendir(path)) == NULL)
			return -1;
		while ((d = readdir(dir)) != NULL) {
			size_t n = strlen(d->d_name);

			if (strncmp(d->d_name, "default.", 8) == 0 && n > 3 &&
			    strcmp(d->d_name + n - 3, ".db") == 0) {
				snprintf(path, sizeof(path), "%s/data/ns/%s",
				    harness_datadir(h), d->d_name);
				if (stat(path, &sb) == 0)
					size = (int64_t)sb.st_size;
			}
		}
		closedir(dir);
		return size;
	}
	snprintf(cmd, sizeof(cmd), "psql '%s' -Atqc \"SELECT"
	    " pg_total_relation_size('message_store.messages')\"",
	    harness_store(h));
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), p) != NULL)
		size = strtoll(buf, NULL, 10);
	pclose(p);
	return size;
}

#define G_THREADS 8
#define G_TOTAL 50000

struct gjob {
	struct harness *h;
	int n;			/* writes to do */
	int ok;
};

static void *
gjob_main(void *arg)
{
	struct gjob *g = arg;
	struct hconn *c = hconn_new(g->h);
	struct http_resp r;
	char body[512];
	int i;

	for (i = 0; c != NULL && i < g->n; i++) {
		snprintf(body, sizeof(body), "[\"stream.write\",\"grow-a\","
		    "{\"type\":\"T\",\"data\":{\"pad\":\"%0200d\"}}]", i);
		if (hconn_rpc(c, ADM, body, &r) == 0 && r.status == 200)
			g->ok++;
		http_resp_free(&r);
	}
	hconn_free(c);
	return NULL;
}

/* Writes n messages to grow-a from G_THREADS threads; the number written. */
static int
grow(struct harness *h, int n)
{
	struct gjob g[G_THREADS];
	pthread_t tid[G_THREADS];
	int i, done = 0;

	for (i = 0; i < G_THREADS; i++) {
		g[i].h = h;
		g[i].n = n / G_THREADS + (i < n % G_THREADS);
		g[i].ok = 0;
		if (pthread_create(&tid[i], NULL, gjob_main, &g[i]) != 0)
			tap_bail("pthread_create failed");
	}
	for (i = 0; i < G_THREADS; i++) {
		pthread_join(tid[i], NULL);
		done += g[i].ok;
	}
	return done;
}

static void
test_no_growth(struct harness *h)
{
	int64_t s1, s2, until;
	int n1, n2;

	rpc_ok(h, ADM, "[\"stream.setRetention\",\"grow-a\",{\"maxCount\":100}]", 200,
	    NULL, "grow-a: maxCount 100");
	n1 = grow(h, G_TOTAL / 5);
	ok(wait_count(h, "grow-a", 100), "after %d writes the sweep holds 100", n1);
	s1 = store_size(h);
	n2 = grow(h, G_TOTAL - G_TOTAL / 5);
	ok(n1 + n2 == G_TOTAL, "%d writes in all answered 200", n1 + n2);
	ok(wait_count(h, "grow-a", 100), "the sweep still holds 100");
	/*
	 * The file follows the database at checkpoints (SQLite): give the
	 * sweeps after the last write up to 15 s to have one complete.
	 */
	until = mono_ms() + 15000;
	while ((s2 = store_size(h)) > s1 + s1 / 2 + (1 << 20) && mono_ms() < until)
		sleep_ms(250);
	tap_diag("%s storage after %d writes: %" PRId64 " bytes, after %d: %" PRId64,
	    harness_backend(h), n1, s1, n1 + n2, s2);
	/* 4x more writes, and the store at most 1.5 x (+1 MiB of slack for
	 * the other tests' rows and page-level jitter). */
	ok(s1 > 0 && s2 > 0 && s2 <= s1 + s1 / 2 + (1 << 20),
	    "the store stopped growing: %" PRId64 " -> %" PRId64 " bytes", s1, s2);
}

/* ---- kill -9 with a sweep running and deletes in flight ---- */

#define C_DEL 40

struct cjob {
	struct harness *h;
	volatile int *stop;
	int64_t last_acked;		/* crash-a: highest acknowledged position */
	int acked_delete[C_DEL];	/* crash-d-k: delete acknowledged */
	int tried_delete[C_DEL];	/* ... sent */
	int setup[C_DEL];		/* crash-d-k: its 5 writes acknowledged */
};

static void *
cjob_writer(void *arg)
{
	struct cjob *j = arg;
	struct hconn *c = hconn_new(j->h);
	struct http_resp r;
	json_object *p;

	j->last_acked = -1;
	while (c != NULL && !*j->stop) {
		if (hconn_rpc(c, ADM, "[\"stream.write\",\"crash-a\",{\"type\":\"T\","
		    "\"data\":{}}]", &r) == 0 && r.status == 200 && r.json != NULL &&
		    json_object_object_get_ex(r.json, "position", &p))
			j->last_acked = json_object_get_int64(p);
		http_resp_free(&r);
	}
	hconn_free(c);
	return NULL;
}

static void *
cjob_deleter(void *arg)
{
	struct cjob *j = arg;
	struct hconn *c = hconn_new(j->h);
	struct http_resp r;
	char body[160];
	int k, i, n;

	for (k = 0; c != NULL && k < C_DEL && !*j->stop; k++) {
		for (i = n = 0; i < 5; i++) {
			snprintf(body, sizeof(body), "[\"stream.write\",\"crash-d%d\","
			    "{\"type\":\"T\",\"data\":{}}]", k);
			n += hconn_rpc(c, ADM, body, &r) == 0 && r.status == 200;
			http_resp_free(&r);
		}
		j->setup[k] = n == 5;
		if (n != 5)
			break;
		snprintf(body, sizeof(body), "[\"stream.delete\",\"crash-d%d\"%s]", k,
		    k % 2 ? ",{\"hard\":true}" : "");
		j->tried_delete[k] = 1;
		if (hconn_rpc(c, ADM, body, &r) == 0 && r.status == 200)
			j->acked_delete[k] = 1;
		http_resp_free(&r);
	}
	hconn_free(c);
	return NULL;
}

static void
test_crash_sweep(struct harness *h)
{
	struct cjob j;
	pthread_t tw, td;
	volatile int stop = 0;
	char path[4300];
	FILE *f;
	long pid = 0;
	int k, bad = 0, acked = 0, ok_after = 1, version_ok;
	int64_t version, n_all, n_info;
	struct json_object *r;
	const char *pos;

	rpc_ok(h, ADM, "[\"stream.setRetention\",\"crash-a\",{\"maxCount\":20}]",
	    200, NULL, "crash-a: maxCount 20");
	memset(&j, 0, sizeof(j));
	j.h = h;
	j.stop = &stop;
	if (pthread_create(&tw, NULL, cjob_writer, &j) != 0 ||
	    pthread_create(&td, NULL, cjob_deleter, &j) != 0)
		tap_bail("pthread_create failed");
	sleep_ms(1800);		/* the sweep runs every second meanwhile */
	snprintf(path, sizeof(path), "%s/run/evdb.pid", harness_datadir(h));
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	ok(pid > 1 && kill((pid_t)pid, SIGKILL) == 0,
	    "kill -9 evdb (pid %ld) with writes, deletes and the sweep running", pid);
	sleep_ms(300);
	stop = 1;
	pthread_join(tw, NULL);
	pthread_join(td, NULL);
	ok(harness_restart(h) == 0, "the stack starts again on the same store");
	rpc_ok(h, ADM, "[\"stream.version\",\"crash-a\"]", 200, NULL, "version");
	version = strtoll(rpc_last_body(h), NULL, 10);
	version_ok = j.last_acked >= 0 && version >= j.last_acked;
	ok(version_ok, "no acknowledged write to crash-a was lost (version %" PRId64
	    ", last acknowledged %" PRId64 ")", version, j.last_acked);
	ok(wait_count(h, "crash-a", 20), "the sweep works again: crash-a holds 20");
	pos = positions(h, "crash-a");
	{
		/* The tail left by the sweep: consecutive, ending at the version. */
		const char *last = strrchr(pos, ',');
		int64_t prev = -2, cur;
		const char *p = pos;
		int consecutive = 1;

		while (*p != '\0') {
			cur = strtoll(p, (char **)&p, 10);
			if (prev != -2 && cur != prev + 1)
				consecutive = 0;
			prev = cur;
			if (*p == ',')
				p++;
		}
		ok(consecutive && prev == version && last != NULL,
		    "crash-a's stored positions are consecutive up to its version"
		    " (%s)", pos);
	}
	for (k = 0; k < C_DEL; k++) {
		int n;

		if (!j.setup[k])
			continue;
		n = jpath_len(stream_read_all(h, ADM, hstr(h, "crash-d%d", k)), "");
		acked += j.acked_delete[k];
		if (j.acked_delete[k] ? n != 0 : (n != 0 && n != 5))
			bad++;
		if (j.acked_delete[k] && k % 2 == 0) {
			int64_t p2 = -1;

			write_quiet(h, ADM, hstr(h, "crash-d%d", k), "T", "{}", NULL, NULL,
			    &p2, NULL);
			ok_after &= p2 == 5;
		}
	}
	ok(acked > 0 && bad == 0, "%d acknowledged deletes stayed done, and the one"
	    " in flight was all or nothing", acked);
	ok(ok_after, "writes after an acknowledged soft delete continue at position 5");
	r = rpc_ok(h, ADM, "[\"category.get\",\"\",{\"batchSize\":-1}]", 200, NULL,
	    "read the whole namespace");
	n_all = jpath_len(r, "");
	r = rpc_ok(h, ADM, "[\"ns.info\",\"default\"]", 200, NULL, "ns.info");
	n_info = jpath_int(r, "messageCount");
	ok(n_all == n_info, "ns.info's messageCount agrees with the messages stored"
	    " (%" PRId64 " = %" PRId64 ")", n_info, n_all);
}

/*
 * SQLite gives the space back to the filesystem (auto_vacuum=INCREMENTAL
 * and the sweep's incremental_vacuum, once a checkpoint has copied the
 * shrunk file back); PostgreSQL keeps it for reuse, which test_no_growth
 * checks on both.
 */
static void
test_space_returned(struct harness *h)
{
	char body[9000];
	int64_t big, small = -1, until;
	int i, n = 0;

	if (strcmp(harness_backend(h), "sqlite") != 0) {
		ok(1, "postgres: deleted rows' space is reused, not returned"
		    " (test_no_growth checks the reuse)");
		return;
	}
	/*
	 * The retention is set after the writes: set before, a sweep that
	 * ran during them would leave the file small before it is measured.
	 */
	for (i = 0; i < 600; i++) {
		snprintf(body, sizeof(body), "[\"stream.write\",\"big-a\",{\"type\":"
		    "\"T\",\"data\":{\"pad\":\"%08000d\"}}]", i);
		n += rpc_call(h, ADM, body, NULL) != NULL;
	}
	ok(n == 600, "600 writes of 8 KB");
	/* Once the background checkpoint has copied them into the file. */
	until = mono_ms() + 20000;
	while ((big = store_size(h)) <= 4000000 && mono_ms() < until)
		sleep_ms(200);
	rpc_ok(h, ADM, "[\"stream.setRetention\",\"big-a\",{\"maxCount\":1}]", 200,
	    NULL, "big-a: maxCount 1");
	ok(wait_count(h, "big-a", 1), "the sweep keeps 1 of them");
	until = mono_ms() + 20000;
	while (mono_ms() < until && (small = store_size(h)) > big / 2)
		sleep_ms(200);
	ok(big > 4000000 && small >= 0 && small <= big / 2,
	    "the namespace file shrinks once they are swept: %" PRId64 " -> %"
	    PRId64 " bytes", big, small);
}

int
main(void)
{
	struct harness *h;
	char dir[4096];
	const char *tmp = getenv("TMPDIR");
	int64_t removed, sweeps;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(dir, sizeof(dir), "%s/lifecycle_t.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp failed");
	snprintf(clock_file, sizeof(clock_file), "%s/clock", dir);
	clock_set(0);
	setenv("EVDB_TEST_CLOCK_FILE", clock_file, 1);
	setenv("EVDB_RETENTION_INTERVAL", "1", 1);
	h = harness_start();
	test_errors(h);
	test_soft_delete(h);
	test_expected_version(h);
	test_hard_delete(h);
	test_absent_everywhere(h);
	test_head_gap(h);
	test_truncate(h);
	test_retention_count(h);
	test_retention_age(h);
	test_sweep_concurrent(h);
	test_retention_metrics(h);
	removed = metric(h, "evdb_retention_removed_total");
	sweeps = metric(h, "evdb_retention_sweeps_total");
	ok(removed > 0 && sweeps > 0, "/metrics counts what retention removed (%"
	    PRId64 ") and the sweeps (%" PRId64 ")", removed, sweeps);
	ok(metric(h, "evdb_retention_sweep_last_seconds") >= 0,
	    "/metrics has the last sweep's duration");
	test_crash_sweep(h);
	test_space_returned(h);
	test_no_growth(h);
	harness_stop(h);
	unlink(clock_file);
	rmdir(dir);
	tap_plan(tap_run);
	return tap_done();
}
