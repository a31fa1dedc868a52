/*
 * tests/e2e/tenant_sse_memory_t.c - issue 15, finding 6: a subscriber that
 * never reads holds at most --sse-buffer bytes of evdb's memory.
 *
 * The attack: subscribers to a stream with a long backlog that never read
 * their socket.  Before the fix each cost evdb about 245 KB with a 64 KiB
 * buffer: a catch-up batch of 256 pokes went in whenever the unsent bytes
 * were at or below half the buffer, and the bytes the socket had taken
 * stayed in the buffer until it drained completely.  Measured here:
 *   - a subscriber that reads, slowly, gets every poke of the backlog
 *     exactly once, in order, and then a live one (catch-up batches are now
 *     cut short by the buffer);
 *   - NSUB non-reading subscribers (through nginx, each with a 4 KiB
 *     receive buffer) raise evdb's resident size by at most the buffer plus
 *     32 KiB each, once evdb has stopped growing.
 *
 * The backlog (NMSG messages, loaded through /import, of a stream with a
 * long name so that each poke is about 1.1 KB) is far more than the sockets
 * between evdb and such a client can hold (nginx's send buffer towards the
 * client grows to about 1.3 MB on loopback), so every subscriber fills its
 * buffer.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"
#include "harness_proc.h"

#define ADM		HARNESS_ADMIN_TOKEN
#define NMSG		10000		/* backlog of the stream */
#define NAME_LEN	1000		/* its name: "fill-" + 'x's, so each
					 * poke is about 1.1 KB */
#define NSUB		200		/* subscribers that never read */
#define SSE_BUFFER	65536		/* --sse-buffer, the default */
#define PER_SUB_SLACK	32768		/* per subscriber: its records, and the
					 * allocator and page-cache noise of a
					 * busy process (runs measured 57-88 KB) */
#define RSS_SETTLED_KB	64		/* evdb has stopped growing when two
					 * VmRSS samples 1 s apart are this close */

static char stream[NAME_LEN + 1];	/* the stream's name */

/* Loads NMSG messages into the stream through one /import. */
static int
load_backlog(struct harness *h)
{
	const char *hdr[] = { "Authorization: Bearer " ADM,
	    "Content-Type: application/x-ndjson", NULL };
	struct http_resp r;
	size_t cap = (size_t)NMSG * (NAME_LEN + 200), len = 0;
	char *body = malloc(cap);
	int i, good;

	if (body == NULL)
		tap_bail("out of memory");
	for (i = 0; i < NMSG; i++)
		len += (size_t)snprintf(body + len, cap - len,
		    "{\"id\":\"00000000-0000-4000-8000-%012d\",\"stream\":\"%s\","
		    "\"type\":\"T\",\"pos\":%d,\"gpos\":%d,\"data\":{},\"meta\":null,"
		    "\"time\":\"2026-01-01T00:00:00Z\"}\n", i, stream, i, i + 1);
	memset(&r, 0, sizeof(r));
	good = http_post_raw(h, "/import", hdr, body, len, &r) == 0 &&
	    r.status == 200 && strstr(r.body, "\"done\":true") != NULL &&
	    strstr(r.body, hstr(h, "\"imported\":%d,", NMSG)) != NULL;
	if (!good)
		tap_diag("import: status %ld: %.300s", r.status, r.body);
	http_resp_free(&r);
	free(body);
	return good;
}

/* What a reading subscriber saw. */
struct seen {
	int64_t pokes;		/* pokes parsed */
	int64_t next;		/* the position expected next */
	int in_order;		/* every poke was the next position, no repeat */
};

/* Parses the complete poke frames at the front of buf[0..*len). */
static void
seen_parse(struct seen *s, char *buf, size_t *len)
{
	char *p = buf, *end, *pos;
	int64_t v;

	while ((end = memmem(p, (size_t)(buf + *len - p), "\n\n", 2)) != NULL) {
		*end = '\0';
		if ((pos = strstr(p, "\"position\":")) != NULL &&
		    strstr(p, "event: poke") != NULL) {
			v = strtoll(pos + 11, NULL, 10);
			if (v != s->next)
				s->in_order = 0;
			s->next = v + 1;
			s->pokes++;
		}
		p = end + 2;
	}
	*len -= (size_t)(p - buf);
	memmove(buf, p, *len);
}

/*
 * Reads fd in 8 KiB pieces with a pause of 1 ms between them (a slow
 * client, which keeps evdb's buffer for it full and its catch-up batches
 * cut short) until want pokes arrived or timeout_ms passed.  The socket
 * keeps its default receive buffer: below one loopback MSS, TCP's
 * silly-window avoidance would stall the sender for 200 ms at a time.
 */
static void
read_slowly(int fd, struct seen *s, int64_t want, int timeout_ms)
{
	static char buf[1 << 16];
	size_t len = 0;
	int64_t until = harness_now_ms() + timeout_ms;
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;

	while (s->pokes < want && harness_now_ms() < until) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(fd, buf + len, sizeof(buf) - len - 1 < 8192 ?
		    sizeof(buf) - len - 1 : 8192);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		seen_parse(s, buf, &len);
		usleep(1000);
	}
}

int
main(void)
{
	struct harness *h;
	struct seen s = { 0, 0, 1 };
	pid_t pid;
	int fds[NSUB], i, opened = 0, reader;
	long before, after, per_sub;
	int64_t subs, t0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_plan(6);
	proc_asan_lean();
	setenv("EVDB_WORKERS", "2", 1);
	setenv("EVDB_SSE_BUFFER", "65536", 1);
	memcpy(stream, "fill-", 5);
	memset(stream + 5, 'x', NAME_LEN - 5);
	h = harness_start();
	if ((pid = proc_evdb_pid(h)) <= 0)
		tap_bail("no evdb pid");
	ok(load_backlog(h), "%d messages imported into a stream with a %d-byte "
	    "name", NMSG, NAME_LEN);

	/*
	 * A subscriber that reads, slowly, gets every poke once, in order.  It
	 * goes first: its catch-up also fills the hub's SQLite page cache to
	 * its bound, which must not count as the non-readers' memory below.
	 */
	/* (A 4 KiB receive window would make TCP itself crawl: see read_slowly.) */
	if ((reader = http_sse_open(h, ADM, stream, 0)) == -1)
		tap_bail("cannot open the reading subscriber");
	t0 = harness_now_ms();
	read_slowly(reader, &s, NMSG, 120000);
	tap_diag("the slow reader took %" PRId64 " ms", harness_now_ms() - t0);
	ok(s.pokes == NMSG && s.next == NMSG && s.in_order, "a slow reader gets "
	    "the %d pokes of the backlog exactly once, in order (%" PRId64
	    " pokes, next position %" PRId64 ")", NMSG, s.pokes, s.next);
	ok(write_quiet(h, ADM, stream, "T", "{}", NULL, NULL, NULL, NULL) == 0,
	    "a write after the catch-up");
	read_slowly(reader, &s, NMSG + 1, 10000);
	ok(s.pokes == NMSG + 1 && s.in_order, "... reaches it live, once, in "
	    "order (%" PRId64 " pokes)", s.pokes);

	/* The attack: subscribers that never read. */
	before = proc_rss_settled(pid, 5000, RSS_SETTLED_KB);
	for (i = 0; i < NSUB; i++) {
		if ((fds[i] = http_sse_open(h, ADM, stream, 4096)) == -1)
			break;
		opened++;
	}
	t0 = harness_now_ms();
	while ((subs = harness_subscribers(h)) != NSUB + 1 &&
	    harness_now_ms() - t0 < 20000)
		usleep(100000);
	ok(opened == NSUB && subs == NSUB + 1, "%d subscribers that never read "
	    "are attached (sys.health says %" PRId64 " with the reader)", opened,
	    subs);
	t0 = harness_now_ms();
	after = proc_rss_settled(pid, 30000, RSS_SETTLED_KB);
	per_sub = (after - before) * 1024 / NSUB;
	tap_diag("evdb VmRSS %ld kB before, %ld kB after (anon %ld kB), settled "
	    "in %" PRId64 " ms", before, after, proc_status_kb(pid, "RssAnon"),
	    harness_now_ms() - t0);
	ok(per_sub <= SSE_BUFFER + PER_SUB_SLACK, "each costs evdb %ld bytes, at "
	    "most --sse-buffer %d + %d", per_sub, SSE_BUFFER, PER_SUB_SLACK);

	close(reader);
	for (i = 0; i < opened; i++)
		close(fds[i]);
	harness_stop(h);
	return tap_done();
}
