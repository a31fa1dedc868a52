/*
 * tests/e2e/sse_heartbeat_t.c - issue 13, SSE at scale: each subscriber's
 * ": ping" is due at its own last write + --sse-heartbeat.
 *
 * The hub used to scan every subscriber once a second and ping all whose
 * heartbeat had come due since: a subscriber waited up to heartbeat + 1 s
 * between pings, and all of a second's subscribers were pinged in one
 * burst (3,333 at once with 50,000 of them), which live pokes waited
 * behind.  With EVDB_SSE_HEARTBEAT=HB_MS and NSUB subscribers opened
 * OPEN_GAP_MS apart, this checks that no subscriber waits more than
 * HB_MS + SLACK_MS for a ping (from its ": ready" on), and that
 * subscribers opened apart are pinged apart, not together.
 *
 * Then NTOGETHER subscribers opened at once, as every client does after a
 * restart: their first pings must not come together either (hub.c,
 * hub_beat_start), each between half a heartbeat and a heartbeat after its
 * ": ready", and spread over at least a quarter of the heartbeat.
 */
#include "config.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"

#define ADM		HARNESS_ADMIN_TOKEN
#define NSUB		6
#define HB_MS		2000		/* EVDB_SSE_HEARTBEAT */
#define SLACK_MS	400		/* scheduling on a busy machine; the
					 * old once-a-second scan needs up to
					 * 999 more */
#define OPEN_GAP_MS	350		/* between two subscribers' opening */
#define WATCH_MS	9000		/* how long pings are watched */
#define MAXPING		16
#define NTOGETHER	8		/* opened at once, in the second part */
#define SPREAD_MS	(HB_MS / 4)	/* their first pings' spread, at least */

struct beat {
	int fd;
	char text[8192];		/* what came, searched for frames */
	size_t len;
	size_t seen;			/* text searched up to here */
	int64_t ready_ms;		/* ": ready" came (-1: not yet) */
	int64_t ping_ms[MAXPING];	/* when each ": ping" came */
	int nping;
	int dead;			/* the stream ended */
};

static void beat_read(struct beat *b, int64_t now);

/*
 * Reads b[0..n) for ms, stamping what comes; a stream that ends is marked
 * dead.
 */
static void
beat_watch(struct beat *b, int n, int64_t ms)
{
	struct pollfd pfd[NTOGETHER > NSUB ? NTOGETHER : NSUB];
	int64_t until = harness_now_ms() + ms;
	int i;

	while (harness_now_ms() < until) {
		for (i = 0; i < n; i++) {
			pfd[i].fd = b[i].dead ? -1 : b[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)n, 20) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				beat_read(&b[i], harness_now_ms());
	}
}

/* Reads what fd has and stamps the frames that came with now. */
static void
beat_read(struct beat *b, int64_t now)
{
	ssize_t n;
	char *p;

	n = read(b->fd, b->text + b->len, sizeof(b->text) - 1 - b->len);
	if (n <= 0) {
		b->dead = 1;
		return;
	}
	b->len += (size_t)n;
	b->text[b->len] = '\0';
	for (;;) {
		p = strstr(b->text + b->seen, "\n\n");
		if (p == NULL)
			break;
		if (b->ready_ms < 0 && strstr(b->text, ": ready") != NULL)
			b->ready_ms = now;
		else if (strstr(b->text + b->seen, ": ping") != NULL &&
		    strstr(b->text + b->seen, ": ping") < p && b->nping < MAXPING)
			b->ping_ms[b->nping++] = now;
		b->seen = (size_t)(p + 2 - b->text);
	}
	/* Keep the buffer from filling: drop what was searched. */
	if (b->seen > sizeof(b->text) / 2) {
		memmove(b->text, b->text + b->seen, b->len - b->seen);
		b->len -= b->seen;
		b->seen = 0;
		b->text[b->len] = '\0';
	}
}

int
main(void)
{
	static struct beat b[NSUB], t[NTOGETHER];
	struct harness *h;
	int64_t t0, until, gap, worst = 0, prev, apart, closest = INT64_MAX;
	int64_t first_min = INT64_MAX, first_max = INT64_MIN, wait_min = INT64_MAX,
	    wait_max = 0, w;
	int i, k, opened, pinged = 1, alive = 1, together_ok = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_plan(6);
	setenv("EVDB_SSE_HEARTBEAT", "2000", 1);
	h = harness_start();
	for (i = 0; i < NSUB; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		b[i].fd = -1;
		b[i].ready_ms = -1;
	}
	/* Opens one every OPEN_GAP_MS and reads all the while. */
	t0 = harness_now_ms();
	for (opened = 0; opened < NSUB; opened++) {
		until = t0 + (int64_t)opened * OPEN_GAP_MS;
		beat_watch(b, opened, until - harness_now_ms());
		if ((b[opened].fd = http_sse_open(h, ADM,
		    hstr(h, "beat-%d", opened), 0)) == -1)
			tap_bail("cannot subscribe");
	}
	beat_watch(b, NSUB, WATCH_MS);
	ok(opened == NSUB, "%d subscribers opened %d ms apart", NSUB,
	    OPEN_GAP_MS);
	for (i = 0; i < NSUB; i++) {
		if (b[i].dead || b[i].ready_ms < 0)
			alive = 0;
		/* 9 s of a 2 s heartbeat: 3 pings at least, whatever the phase. */
		if (b[i].nping < 3)
			pinged = 0;
		prev = b[i].ready_ms;
		for (k = 0; k < b[i].nping; k++) {
			gap = b[i].ping_ms[k] - prev;
			if (gap > worst)
				worst = gap;
			prev = b[i].ping_ms[k];
		}
		tap_diag("subscriber %d: ready at %" PRId64 " ms, %d pings, the "
		    "first at %" PRId64 " ms", i, b[i].ready_ms - t0, b[i].nping,
		    b[i].nping > 0 ? b[i].ping_ms[0] - t0 : -1);
		if (i > 0 && b[i].nping > 0 && b[i - 1].nping > 0) {
			apart = b[i].ping_ms[0] - b[i - 1].ping_ms[0];
			if (apart < 0)
				apart = -apart;
			if (apart < closest)
				closest = apart;
		}
	}
	ok(alive && pinged, "every subscriber is ready and gets 3 pings or more "
	    "in %d ms", WATCH_MS);
	ok(pinged && worst <= HB_MS + SLACK_MS, "no subscriber waits more than "
	    "%d + %d ms for a ping (the longest wait: %" PRId64 " ms)", HB_MS,
	    SLACK_MS, worst);
	ok(pinged && closest >= OPEN_GAP_MS / 2, "subscribers opened %d ms apart "
	    "get their first pings apart, not in one burst (closest: %" PRId64
	    " ms)", OPEN_GAP_MS, closest);
	for (i = 0; i < NSUB; i++)
		close(b[i].fd);

	/* Opened at once: their first pings spread. */
	for (i = 0; i < NTOGETHER; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].ready_ms = -1;
		if ((t[i].fd = http_sse_open(h, ADM, hstr(h, "together-%d", i),
		    0)) == -1)
			tap_bail("cannot subscribe");
	}
	beat_watch(t, NTOGETHER, HB_MS + SLACK_MS + 200);
	for (i = 0; i < NTOGETHER; i++) {
		if (t[i].dead || t[i].ready_ms < 0 || t[i].nping < 1) {
			together_ok = 0;
			continue;
		}
		w = t[i].ping_ms[0] - t[i].ready_ms;
		if (w < wait_min)
			wait_min = w;
		if (w > wait_max)
			wait_max = w;
		if (t[i].ping_ms[0] < first_min)
			first_min = t[i].ping_ms[0];
		if (t[i].ping_ms[0] > first_max)
			first_max = t[i].ping_ms[0];
	}
	ok(together_ok && wait_min >= HB_MS / 2 - SLACK_MS / 4 &&
	    wait_max <= HB_MS + SLACK_MS, "%d subscribers opened at once: each "
	    "first ping comes %d - %d ms after its ready (%" PRId64 " - %" PRId64
	    " ms)", NTOGETHER, HB_MS / 2, HB_MS, wait_min, wait_max);
	ok(together_ok && first_max - first_min >= SPREAD_MS, "and they spread "
	    "over %d ms at least, not one burst (%" PRId64 " ms)", SPREAD_MS,
	    first_max - first_min);
	for (i = 0; i < NTOGETHER; i++)
		close(t[i].fd);
	harness_stop(h);
	return tap_done();
}
