/*
 * tests/e2e/tenant_read_bytes_t.c - issue 15, finding 3: a read answer is
 * capped in bytes, not only in messages.
 *
 * The attack: 300 messages of 1 MB in one stream, then ["stream.get", S] at
 * the default batchSize (1000).  Before the cap evdb built a 312 MB answer
 * and grew by 310 MB for it.  Measured here:
 *   - the answer of one stream.get (and one category.get) is at most
 *     --max-response-bytes, and evdb's peak resident size (VmHWM, reset
 *     before the read) grows by at most a few times the cap plus 16 MiB
 *     (SQLite's page cache of the reading connection, the allocator);
 *   - a client paging from its last position gets every message exactly
 *     once, in order, through short pages;
 *   - with a cap below the size of one message, every page still carries
 *     one message, so a client makes progress.
 *
 * The stack runs with 2 workers so that "one request at a time per worker"
 * bounds what the paging client can make evdb hold; an ASan build of evdb
 * runs without its quarantine (proc_asan_lean).  The messages are
 * 1,000,000 bytes of data: the largest that fits in a 1 MiB /rpc body
 * (nginx client_max_body_size 1m, evdb --max-body 1048576).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "harness.h"
#include "harness_proc.h"

#define ADM		HARNESS_ADMIN_TOKEN
#define NMSG		300		/* messages in the stream */
#define MSG_BYTES	1000000		/* bytes of padding in each */
#define CAP		(4L << 20)	/* --max-response-bytes, the default */
#define SMALL_CAP	500000L		/* a cap below one message */
#define SLACK_KB	(16L << 10)	/* page cache, allocator: 16 MiB */
/* Growth allowed for one read: the answer's buffer with its doublings
 * (ASan's quarantine keeps the freed ones resident), plus SLACK_KB. */
#define READ_GROWTH_KB	(3 * (CAP >> 10) + SLACK_KB)

static char *pad;	/* MSG_BYTES of 'x', NUL-terminated */

/* Writes message i ({"i":i,"pad":"xxx..."}) to stream big-1. */
static int
write_big(struct hconn *c, int i)
{
	struct http_resp r;
	char *body;
	size_t n = MSG_BYTES + 128;
	int good;

	body = malloc(n);
	if (body == NULL)
		tap_bail("out of memory");
	snprintf(body, n, "[\"stream.write\",\"big-1\",{\"type\":\"Big\","
	    "\"data\":{\"i\":%d,\"pad\":\"%s\"}}]", i, pad);
	memset(&r, 0, sizeof(r));
	good = hconn_rpc(c, ADM, body, &r) == 0 && r.status == 200 &&
	    jpath_int(r.json, "position") == i;
	if (!good)
		tap_diag("write %d: status %ld: %.200s", i, r.status, r.body);
	http_resp_free(&r);
	free(body);
	return good;
}

/* The outcome of one read request. */
struct page {
	long status;		/* HTTP status */
	size_t bytes;		/* body length */
	int count;		/* messages, -1 when the answer is no array */
	int64_t first_i;	/* data.i of the first message */
	int64_t last_pos;	/* position (stream) or globalPosition (category)
				 * of the last message */
	int in_order;		/* every data.i is the previous + 1 */
};

/*
 * Runs one read and fills *p.  category selects category.get (stream name
 * at index 1, data at 5, globalPosition at 4); else stream.get (data at 4,
 * position at 2).
 */
static void
read_page(struct hconn *c, const char *body, int category, struct page *p)
{
	struct http_resp r;
	struct json_object *m;
	int k, n;
	int64_t i, prev = -1;

	memset(p, 0, sizeof(*p));
	memset(&r, 0, sizeof(r));
	p->count = -1;
	p->first_i = p->last_pos = -1;
	if (hconn_rpc(c, ADM, body, &r) != 0) {
		tap_diag("read: no answer: %s", r.err);
		http_resp_free(&r);
		return;
	}
	p->status = r.status;
	p->bytes = r.len;
	if (r.status != 200 || (n = jpath_len(r.json, "")) < 0) {
		tap_diag("read: status %ld: %.200s", r.status, r.body);
		http_resp_free(&r);
		return;
	}
	p->count = n;
	p->in_order = 1;
	for (k = 0; k < n; k++) {
		m = json_object_array_get_idx(r.json, (size_t)k);
		i = jpath_int(m, category ? "5.i" : "4.i");
		if (k == 0)
			p->first_i = i;
		else if (i != prev + 1)
			p->in_order = 0;
		prev = i;
		p->last_pos = jpath_int(m, category ? "4" : "2");
	}
	http_resp_free(&r);
}

/*
 * Reads the whole stream (or category) page by page from its last
 * position + 1, as a client does.  Returns 1 when every message 0..NMSG-1
 * came exactly once, in order; *pages and *max_bytes receive the number of
 * pages and the largest.
 */
static int
page_through(struct hconn *c, int category, int *pages, size_t *max_bytes)
{
	struct page p;
	int64_t next = category ? 1 : 0, want = 0;
	const char *body;
	char tmp[160];

	*pages = 0;
	*max_bytes = 0;
	for (;;) {
		if (category)
			snprintf(tmp, sizeof(tmp), "[\"category.get\",\"big\","
			    "{\"globalPosition\":%" PRId64 "}]", next);
		else
			snprintf(tmp, sizeof(tmp), "[\"stream.get\",\"big-1\","
			    "{\"position\":%" PRId64 "}]", next);
		body = tmp;
		read_page(c, body, category, &p);
		if (p.count < 0)
			return 0;
		if (p.count == 0)
			break;
		(*pages)++;
		if (p.bytes > *max_bytes)
			*max_bytes = p.bytes;
		if (!p.in_order || p.first_i != want) {
			tap_diag("page %d from %" PRId64 ": first i %" PRId64
			    ", wanted %" PRId64 ", in order %d", *pages, next,
			    p.first_i, want, p.in_order);
			return 0;
		}
		want += p.count;
		next = p.last_pos + 1;
		if (*pages > NMSG + 1)
			return 0;	/* no progress somewhere */
	}
	if (want != NMSG)
		tap_diag("paging ended after %" PRId64 " of %d messages", want, NMSG);
	return want == NMSG;
}

/* Peak growth of pid in kB since the last reset, or -1. */
static long
peak_growth_kb(pid_t pid, long base_kb)
{
	long hwm = proc_status_kb(pid, "VmHWM");

	tap_diag("evdb: VmHWM %ld kB, VmRSS %ld kB (anon %ld, file %ld, shmem %ld)"
	    " from %ld kB", hwm, proc_status_kb(pid, "VmRSS"),
	    proc_status_kb(pid, "RssAnon"), proc_status_kb(pid, "RssFile"),
	    proc_status_kb(pid, "RssShmem"), base_kb);

	return hwm < 0 || base_kb < 0 ? -1 : hwm - base_kb;
}

int
main(void)
{
	struct harness *h;
	struct hconn *c;
	struct page p;
	pid_t pid;
	long base, grew;
	size_t max_bytes;
	int i, written = 0, pages, exact;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_plan(13);
	proc_asan_lean();
	setenv("EVDB_WORKERS", "2", 1);
	setenv("EVDB_MAX_RESPONSE_BYTES", "4194304", 1);
	h = harness_start();
	if ((c = hconn_new(h)) == NULL || (pid = proc_evdb_pid(h)) <= 0)
		tap_bail("no connection or no evdb pid");
	if ((pad = malloc(MSG_BYTES + 1)) == NULL)
		tap_bail("out of memory");
	memset(pad, 'x', MSG_BYTES);
	pad[MSG_BYTES] = '\0';

	for (i = 0; i < NMSG; i++) {
		if (!write_big(c, i))
			break;
		written++;
	}
	ok(written == NMSG, "%d messages of %d bytes written to big-1", written,
	    MSG_BYTES);

	/* The attack: one stream.get at the default batchSize. */
	if (proc_reset_peak(pid) != 0)
		tap_diag("cannot reset VmHWM of %ld: growth is measured from "
		    "the earlier peak", (long)pid);
	base = proc_status_kb(pid, "VmRSS");
	read_page(c, "[\"stream.get\",\"big-1\"]", 0, &p);
	grew = peak_growth_kb(pid, base);
	ok(p.status == 200 && p.count > 0 && p.first_i == 0 && p.in_order,
	    "stream.get at the default batchSize answers 200 with the first "
	    "messages, in order (%d of them)", p.count);
	ok(p.count < NMSG, "the page is short: %d of %d messages", p.count, NMSG);
	ok(p.bytes <= (size_t)CAP, "the answer is %zu bytes, at most "
	    "--max-response-bytes %ld", p.bytes, CAP);
	ok(grew >= 0 && grew <= READ_GROWTH_KB, "evdb's peak RSS grew by %ld kB "
	    "for it, at most %ld kB (3 x the cap + 16 MiB)", grew, READ_GROWTH_KB);

	/* A client paging through gets every message exactly once. */
	proc_reset_peak(pid);
	base = proc_status_kb(pid, "VmRSS");
	exact = page_through(c, 0, &pages, &max_bytes);
	grew = peak_growth_kb(pid, base);
	ok(exact, "paging stream.get from the last position + 1 reads each of "
	    "the %d messages exactly once, in order (%d pages)", NMSG, pages);
	ok(max_bytes <= (size_t)CAP, "every page is at most the cap (largest "
	    "%zu bytes)", max_bytes);
	ok(grew >= 0 && grew <= 2 * READ_GROWTH_KB, "paging with 2 workers grew "
	    "evdb's peak RSS by %ld kB, at most %ld kB", grew, 2 * READ_GROWTH_KB);

	/* The same for category.get. */
	proc_reset_peak(pid);
	base = proc_status_kb(pid, "VmRSS");
	read_page(c, "[\"category.get\",\"big\"]", 1, &p);
	grew = peak_growth_kb(pid, base);
	ok(p.status == 200 && p.count > 0 && p.count < NMSG &&
	    p.bytes <= (size_t)CAP, "category.get at the default batchSize: a "
	    "short page of %d messages, %zu bytes", p.count, p.bytes);
	ok(grew >= 0 && grew <= READ_GROWTH_KB, "evdb's peak RSS grew by %ld kB "
	    "for it, at most %ld kB", grew, READ_GROWTH_KB);
	exact = page_through(c, 1, &pages, &max_bytes);
	ok(exact && max_bytes <= (size_t)CAP, "paging category.get from the last "
	    "globalPosition + 1 reads each message exactly once, in order (%d "
	    "pages, largest %zu bytes)", pages, max_bytes);

	/* A cap below one message: one message per page, never an empty one. */
	hconn_free(c);
	setenv("EVDB_MAX_RESPONSE_BYTES", "500000", 1);
	if (harness_restart(h) != 0 || (c = hconn_new(h)) == NULL)
		tap_bail("restart with a cap of %ld failed", SMALL_CAP);
	for (i = 0; i < 3; i++) {
		char body[96];

		snprintf(body, sizeof(body),
		    "[\"stream.get\",\"big-1\",{\"position\":%d}]", i);
		read_page(c, body, 0, &p);
		if (p.count != 1 || p.first_i != i)
			break;
	}
	ok(i == 3, "with a cap of %ld bytes, below one message, stream.get "
	    "answers one message per page (%d pages checked)", SMALL_CAP, i);
	read_page(c, "[\"category.get\",\"big\",{\"globalPosition\":1}]", 1, &p);
	ok(p.count == 1 && p.first_i == 0, "... and so does category.get "
	    "(%d messages)", p.count);

	hconn_free(c);
	free(pad);
	harness_stop(h);
	return tap_done();
}
