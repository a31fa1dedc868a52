/*
 * tests/e2e/longpoll_t.c - long-poll reads ("wait": MS on stream.get and
 * category.get, EXTENSIONS.md section 3) through the real nginx:
 *   - a held read answers soon after a write from another client, and after
 *     a write by another evdb process on the same store;
 *   - 200 held reads leave the (two) workers free: writes keep answering;
 *   - the time-out answers [] on time, never early;
 *   - --longpoll-max-per-token and --longpoll-max answer 429 LONGPOLL_LIMIT,
 *     and a client that disconnects while held gives its place back;
 *   - consumer-group and correlation reads wake only for their messages;
 *   - SIGTERM answers every held read.
 * The docs/api.md curl example runs too (t_curl_example), and every invalid
 * "wait" is a 400.
 *
 * Held reads are made on raw sockets (one HTTP/1.1 request with
 * "Connection: close" each), so that hundreds can be open at once and one
 * can be cut by closing it.  evdb runs with EVDB_E2E_WORKERS=2 and small
 * long-poll limits (EVDB_LONGPOLL_MAX*, set here, passed through by
 * deploy/evdb-local).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../tap.h"
#include "harness.h"

#define ADM		HARNESS_ADMIN_TOKEN
#define LP_MAX		210	/* EVDB_LONGPOLL_MAX */
#define LP_PER_TOKEN	205	/* EVDB_LONGPOLL_MAX_PER_TOKEN */
#define LP_MANY		200	/* held reads while writes go on */
/* Longest wait for an answer that must come (an ASan build on a loaded
 * machine can be slow); only reached when something is wrong. */
#define LP_MUST_MS	20000
#define LP_QUIET_MS	300	/* silence that shows a read is still held */
#define LP_WAKE_MS	100	/* a held read answers this soon after a write */

/* One HTTP request on a socket of its own. */
struct lp {
	int fd;			/* -1 once closed */
	double t_sent;		/* when the request went out (ms) */
	double t_done;		/* when the answer was complete (ms) */
	char buf[65536];	/* the raw answer */
	size_t len;
	int done;		/* the connection ended */
	long status;		/* HTTP status, 0 if none */
	struct json_object *json; /* parsed body (owned), NULL if none */
};

static int lp_port;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Sends POST /rpc with body and token; 0 when sent. */
static int
lp_open(struct lp *c, const char *token, const char *body)
{
	struct sockaddr_in sa;
	char req[8192];
	int n;
	size_t off = 0;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)lp_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	n = snprintf(req, sizeof(req), "POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", token,
	    strlen(body), body);
	if (n < 0 || (size_t)n >= sizeof(req))
		goto fail;
	c->t_sent = now_ms();
	while (off < (size_t)n) {
		ssize_t w = write(c->fd, req + off, (size_t)n - off);

		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return -1;
}

/* Parses what arrived: status line, Content-Length body, JSON. */
static void
lp_parse(struct lp *c)
{
	char *end, *body;

	c->buf[c->len] = '\0';
	if (sscanf(c->buf, "HTTP/1.%*d %ld", &c->status) != 1)
		c->status = 0;
	if ((end = strstr(c->buf, "\r\n\r\n")) == NULL)
		return;
	body = end + 4;
	c->json = json_tokener_parse(body);
}

/*
 * Reads c's answer for up to timeout_ms (0: only what is there).  Returns 1
 * once the answer is complete (the server closed), 0 when still waiting.
 */
static int
lp_wait(struct lp *c, int timeout_ms)
{
	struct pollfd pfd;
	double until = now_ms() + timeout_ms;
	ssize_t n;

	while (!c->done && c->fd >= 0) {
		int left = (int)(until - now_ms());

		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left > 0 ? left : 0) <= 0)
			return 0;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		c->done = 1;
		c->t_done = now_ms();
		lp_parse(c);
	}
	return c->done;
}

static void
lp_close(struct lp *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->json != NULL)
		json_object_put(c->json);
	c->json = NULL;
}

/* The answer's messages: their count, or -1 when it is not a 200 array. */
static int
lp_count(const struct lp *c)
{
	if (c->status != 200 || c->json == NULL ||
	    !json_object_is_type(c->json, json_type_array))
		return -1;
	return (int)json_object_array_length(c->json);
}

static const char *
lp_code(const struct lp *c)
{
	return jpath_str(c->json, "error.code");
}

static void
lp_diag(const struct lp *c, const char *what)
{
	tap_diag("%s: done=%d status=%ld answer: %.300s", what, c->done, c->status,
	    c->buf);
}

/* Writes one message; returns its global position, or -1.  *ms: how long. */
static int64_t
put(struct harness *h, const char *token, const char *stream, const char *meta,
    double *ms)
{
	int64_t gpos = -1;
	double t0 = now_ms();

	if (write_quiet(h, token, stream, "T", "{\"n\":1}", meta, NULL, NULL,
	    &gpos) != 0)
		gpos = -1;
	if (ms != NULL)
		*ms = now_ms() - t0;
	return gpos;
}

/* ---- tests ------------------------------------------------------------- */

/* Every invalid wait is a 400 with a clear message; valid edges are 200. */
static void
t_validation(struct harness *h)
{
	static const char *const bad[] = {
		"-1", "30001", "1.5", "\"100\"", "null", "true", "[]", "{}",
		"1e10", "-0.5", "9223372036854775807"
	};
	struct json_object *o;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"lpv-1\",{\"wait\":%s}]",
		    bad[i]), 400, "INVALID_REQUEST",
		    hstr(h, "stream.get wait %s is refused", bad[i]));
		ok(o != NULL && jpath_str(o, "error.message") != NULL &&
		    strstr(jpath_str(o, "error.message"), "options.wait") != NULL,
		    "  and the message names options.wait");
		rpc_ok(h, ADM, hstr(h, "[\"category.get\",\"lpv\",{\"wait\":%s}]",
		    bad[i]), 400, "INVALID_REQUEST",
		    hstr(h, "category.get wait %s is refused", bad[i]));
	}
	o = rpc_ok(h, ADM, "[\"stream.get\",\"lpv-1\",{\"wait\":0}]", 200, NULL,
	    "wait 0 answers at once");
	ok(o != NULL && json_object_array_length(o) == 0, "  with []");
	o = rpc_ok(h, ADM, "[\"category.get\",\"lpv\",{\"wait\":1,"
	    "\"consumerGroup\":{\"member\":0,\"size\":2}}]", 200, NULL,
	    "wait 1 on a consumer group answers []");
	ok(o != NULL && json_object_array_length(o) == 0, "  with []");
	/* A read that finds something is not held at all. */
	put(h, ADM, "lpv-2", NULL, NULL);
	o = rpc_ok(h, ADM, "[\"stream.get\",\"lpv-2\",{\"wait\":30000}]", 200, NULL,
	    "wait 30000 on a stream with a message answers at once");
	ok(o != NULL && json_object_array_length(o) == 1, "  with the message");
}

/*
 * The example of docs/api.md's long-poll section, verbatim: the command
 * lines of its first sh block (comments left out), read from the file,
 * with its rpc() helper (docs/api.md's top) pointed at this stack.
 */
static int
doc_example(char *out, size_t size)
{
	const char *src = getenv("EVDB_SRCDIR");
	char path[1024], line[2048];
	int in_section = 0, in_block = 0, done = 0;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/docs/api.md", src != NULL ? src : ".");
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	out[0] = '\0';
	while (!done && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "## ", 3) == 0)
			in_section = strstr(line, "long-poll reads") != NULL;
		else if (in_section && !in_block && strncmp(line, "```sh", 5) == 0)
			in_block = 1;
		else if (in_block && strncmp(line, "```", 3) == 0)
			done = 1;
		else if (in_block && line[0] != '#' && n + strlen(line) < size) {
			memcpy(out + n, line, strlen(line) + 1);
			n += strlen(line);
		}
	}
	fclose(f);
	return done && n > 0 ? 0 : -1;
}

static void
t_curl_example(struct harness *h)
{
	char example[4096], cmd[8192], out[4096];
	double t0, took;
	size_t n;
	FILE *p;

	if (!ok(doc_example(example, sizeof(example)) == 0, "docs/api.md has"
	    " the long-poll section's example")) {
		return;
	}
	snprintf(cmd, sizeof(cmd), "TOKEN='%s'\nrpc() { curl -s %s/rpc -H"
	    " \"Authorization: Bearer $TOKEN\" -d \"$1\"; echo; }\n%swait\n", ADM,
	    harness_url(h), example);
	t0 = now_ms();
	p = popen(cmd, "r");
	n = p != NULL ? fread(out, 1, sizeof(out) - 1, p) : 0;
	if (p != NULL)
		pclose(p);
	out[n] = '\0';
	took = now_ms() - t0;
	ok(strstr(out, "\"Opened\",0,") != NULL && took >= 300 && took < 4000,
	    "docs/api.md's example: the held read answers with the message written"
	    " 0.3 s later (%.0f ms)", took);
	if (strstr(out, "\"Opened\"") == NULL)
		tap_diag("example:\n%s\noutput: %s", example, out);
}

/* A held read answers within LP_WAKE_MS of a write by another client. */
static void
t_wake(struct harness *h)
{
	struct lp c;
	double wms, gap;
	int64_t gpos;

	if (!ok(lp_open(&c, ADM, "[\"stream.get\",\"lpw-1\",{\"wait\":5000}]") == 0,
	    "a read of an empty stream with wait 5000"))
		return;
	ok(!lp_wait(&c, LP_QUIET_MS), "it is held");
	gpos = put(h, ADM, "lpw-1", NULL, &wms);
	gap = now_ms();
	ok(lp_wait(&c, LP_MUST_MS) && lp_count(&c) == 1, "a write by another"
	    " client answers it with the message");
	gap = c.t_done - gap;
	ok(gap < LP_WAKE_MS, "within %d ms of the write's answer (%.1f ms;"
	    " the write took %.1f ms)", LP_WAKE_MS, gap, wms);
	ok(jpath_int(c.json, "0.3") == gpos, "  the message written (global"
	    " position %" PRId64 ")", gpos);
	lp_close(&c);

	/* A position further on: a write below it does not answer. */
	lp_open(&c, ADM, "[\"stream.get\",\"lpw-1\",{\"position\":2,\"wait\":5000}]");
	ok(!lp_wait(&c, LP_QUIET_MS), "a read held from position 2");
	put(h, ADM, "lpw-1", NULL, NULL);	/* position 1 */
	ok(!lp_wait(&c, LP_QUIET_MS), "stays held after position 1 is written");
	put(h, ADM, "lpw-1", NULL, NULL);	/* position 2 */
	ok(lp_wait(&c, LP_MUST_MS) && lp_count(&c) == 1 &&
	    jpath_int(c.json, "0.2") == 2, "answers with position 2");
	lp_close(&c);

	/* category.get too, and a write to another category does not count. */
	lp_open(&c, ADM, "[\"category.get\",\"lpwc\",{\"wait\":5000}]");
	ok(!lp_wait(&c, LP_QUIET_MS), "a category read is held");
	put(h, ADM, "lpwother-1", NULL, NULL);
	ok(!lp_wait(&c, LP_QUIET_MS), "a write to another category leaves it held");
	gpos = put(h, ADM, "lpwc-7", NULL, NULL);
	gap = now_ms();
	ok(lp_wait(&c, LP_MUST_MS) && lp_count(&c) == 1 &&
	    jpath_int(c.json, "0.4") == gpos, "a write to lpwc-7 answers it");
	ok(c.t_done - gap < LP_WAKE_MS, "within %d ms (%.1f ms)", LP_WAKE_MS,
	    c.t_done - gap);
	lp_close(&c);
}

/* A write by a second evdb process on the same store answers a held read. */
static void
t_cross_process(struct harness *h)
{
	struct http_resp r;
	struct lp c;
	int port = 0, i;
	double t0, gap;
	pid_t pid;

	pid = harness_spawn_evdb(h, &port);
	if (!ok(pid > 0, "a second evdb process on the same store"))
		return;
	lp_open(&c, ADM, "[\"stream.get\",\"lpx-1\",{\"wait\":5000}]");
	ok(!lp_wait(&c, LP_QUIET_MS), "a read held by the first process");
	memset(&r, 0, sizeof(r));
	t0 = now_ms();
	i = fcgi_rpc(port, ADM, "[\"stream.write\",\"lpx-1\",{\"type\":\"T\","
	    "\"data\":{}}]", &r) == 0 && r.status == 200;
	ok(i, "the second process writes to lpx-1 (%.1f ms)", now_ms() - t0);
	http_resp_free(&r);
	gap = now_ms();
	ok(lp_wait(&c, LP_MUST_MS) && lp_count(&c) == 1,
	    "the held read answers with that message");
	ok(c.t_done - gap < LP_WAKE_MS, "within %d ms of the write's answer"
	    " (%.1f ms)", LP_WAKE_MS, c.t_done - gap);
	lp_close(&c);
}

/*
 * LP_MANY held reads, two workers: if held reads took a worker, the writes
 * would wait for their time-out (10 s).
 */
static void
t_many(struct harness *h)
{
	static struct lp c[LP_MANY];
	double wms, worst = 0;
	int i, opened = 0, held = 0, answered = 0, right = 0, writes_ok = 0;

	for (i = 0; i < LP_MANY; i++)
		opened += lp_open(&c[i], ADM, hstr(h, "[\"stream.get\",\"lpm-%d\","
		    "{\"wait\":10000}]", i)) == 0;
	is_int(opened, LP_MANY, "%d reads with wait 10000 sent", LP_MANY);
	sleep_ms(LP_QUIET_MS);
	for (i = 0; i < LP_MANY; i++)
		held += !lp_wait(&c[i], 0);
	is_int(held, LP_MANY, "all %d are held (none answered)", LP_MANY);
	for (i = 0; i < 50; i++) {
		if (put(h, ADM, hstr(h, "lpmw-%d", i), NULL, &wms) >= 0)
			writes_ok++;
		if (wms > worst)
			worst = wms;
	}
	is_int(writes_ok, 50, "50 writes to other streams succeed while they are"
	    " held, on 2 workers");
	ok(worst < 2000, "no write waited for a held read: the slowest took"
	    " %.1f ms (bound 2000 ms, the reads hold for 10000)", worst);
	for (i = 0; i < LP_MANY; i++)
		held -= lp_wait(&c[i], 0);
	is_int(held, LP_MANY, "the held reads are still held");
	for (i = 0; i < LP_MANY; i++)
		put(h, ADM, hstr(h, "lpm-%d", i), NULL, NULL);
	for (i = 0; i < LP_MANY; i++) {
		answered += lp_wait(&c[i], LP_MUST_MS);
		right += lp_count(&c[i]) == 1 &&
		    strcmp(jpath_str(c[i].json, "0.1") ? jpath_str(c[i].json, "0.1") :
		    "", "T") == 0;
		lp_close(&c[i]);
	}
	is_int(answered, LP_MANY, "a write to each stream answers each read");
	is_int(right, LP_MANY, "each with its one message");
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The time-out answers [] on time: not before wait, and soon after. */
static void
t_timeout(struct harness *h)
{
	enum { N = 5, WAIT = 300 };
	struct lp c[N];
	double took[N];
	int i, empty = 0, early = 0;

	(void)h;
	for (i = 0; i < N; i++)
		lp_open(&c[i], ADM, i % 2 ? "[\"category.get\",\"lpt\",{\"wait\":300}]" :
		    "[\"stream.get\",\"lpt-1\",{\"wait\":300}]");
	for (i = 0; i < N; i++) {
		lp_wait(&c[i], LP_MUST_MS);
		took[i] = c[i].t_done - c[i].t_sent;
		empty += lp_count(&c[i]) == 0;
		early += took[i] < WAIT;
		lp_close(&c[i]);
	}
	qsort(took, N, sizeof(took[0]), cmp_double);
	is_int(empty, N, "%d reads with wait %d answer [] on time-out", N, WAIT);
	is_int(early, 0, "none answers before %d ms (fastest %.1f ms)", WAIT, took[0]);
	ok(took[N / 2] <= WAIT + 50, "the median answers within wait + 50 ms"
	    " (%.1f ms)", took[N / 2]);
	ok(took[N - 1] <= WAIT + 500, "the slowest within wait + 500 ms on a"
	    " loaded machine (%.1f ms)", took[N - 1]);
}

/*
 * The limits: LP_PER_TOKEN per token, LP_MAX in the process, 429
 * LONGPOLL_LIMIT past either; a client that goes away frees its place.
 */
static void
t_limits(struct harness *h, const char *other)
{
	static struct lp c[LP_MAX];
	struct lp extra, last;
	int i, opened = 0, held = 0, freed = 0, tries;

	for (i = 0; i < LP_PER_TOKEN; i++)
		opened += lp_open(&c[i], ADM, hstr(h, "[\"stream.get\",\"lpl-%d\","
		    "{\"wait\":20000}]", i)) == 0;
	sleep_ms(LP_QUIET_MS);
	for (i = 0; i < LP_PER_TOKEN; i++)
		held += !lp_wait(&c[i], 0);
	is_int(held, LP_PER_TOKEN, "one token holds %d reads (its share)",
	    LP_PER_TOKEN);
	lp_open(&extra, ADM, "[\"stream.get\",\"lpl-x\",{\"wait\":20000}]");
	ok(lp_wait(&extra, LP_MUST_MS) && extra.status == 429 &&
	    lp_code(&extra) != NULL && strcmp(lp_code(&extra), "LONGPOLL_LIMIT") == 0,
	    "its next is 429 LONGPOLL_LIMIT");
	if (extra.status != 429)
		lp_diag(&extra, "over the token's share");
	lp_close(&extra);

	/* Another tenant still gets the rest of the process's places. */
	held = 0;
	for (i = LP_PER_TOKEN; i < LP_MAX; i++)
		opened += lp_open(&c[i], other, hstr(h, "[\"stream.get\",\"lpl-%d\","
		    "{\"wait\":20000}]", i)) == 0;
	sleep_ms(LP_QUIET_MS);
	for (i = LP_PER_TOKEN; i < LP_MAX; i++)
		held += !lp_wait(&c[i], 0);
	is_int(held, LP_MAX - LP_PER_TOKEN, "another token still holds %d",
	    LP_MAX - LP_PER_TOKEN);
	lp_open(&extra, other, "[\"stream.get\",\"lpl-y\",{\"wait\":20000}]");
	ok(lp_wait(&extra, LP_MUST_MS) && extra.status == 429 &&
	    lp_code(&extra) != NULL && strcmp(lp_code(&extra), "LONGPOLL_LIMIT") == 0,
	    "past --longpoll-max (%d) the process answers 429 LONGPOLL_LIMIT",
	    LP_MAX);
	lp_close(&extra);

	/* One client goes away: its place comes back. */
	lp_close(&c[LP_MAX - 1]);
	for (tries = 0; tries < 50 && !freed; tries++) {
		sleep_ms(50);
		lp_open(&last, other, "[\"stream.get\",\"lpl-z\",{\"wait\":20000}]");
		if (!lp_wait(&last, LP_QUIET_MS))
			freed = 1;	/* held: accepted */
		else
			lp_close(&last);
	}
	ok(freed, "after a held client disconnects, the next read is held again"
	    " (%d tries)", tries);
	if (freed) {
		put(h, other, "lpl-z", NULL, NULL);
		ok(lp_wait(&last, LP_MUST_MS) && lp_count(&last) == 1,
		    "and answered by a write");
		lp_close(&last);
	}
	for (i = 0; i < LP_MAX - 1; i++)
		lp_close(&c[i]);
	/* The places of the closed ones come back too. */
	for (tries = 0; tries < 100; tries++) {
		lp_open(&last, ADM, "[\"stream.get\",\"lpl-0\",{\"wait\":1}]");
		lp_wait(&last, LP_MUST_MS);
		if (last.status == 200) {
			lp_close(&last);
			break;
		}
		lp_close(&last);
		sleep_ms(50);
	}
	ok(tries < 100, "once all disconnected, the token may wait again");
}

/* A consumer-group read and a correlation read wake only for their own. */
static void
t_filters(struct harness *h)
{
	struct json_object *o;
	struct lp c;
	const char *mine = NULL, *theirs = NULL;
	int64_t head = 0, gpos;
	int i;
	double t0;

	for (i = 0; i < 8; i++)
		head = put(h, ADM, hstr(h, "lpg-%d", i), NULL, NULL);
	o = rpc_ok(h, ADM, "[\"category.get\",\"lpg\",{\"consumerGroup\":"
	    "{\"member\":0,\"size\":2}}]", 200, NULL, "member 0 of 2 reads lpg");
	for (i = 0; i < 8; i++) {
		const char *s = hstr(h, "lpg-%d", i);
		int found = 0;
		size_t k;

		for (k = 0; o != NULL && k < json_object_array_length(o); k++)
			found |= jpath_str(o, hstr(h, "%zu.1", k)) != NULL &&
			    strcmp(jpath_str(o, hstr(h, "%zu.1", k)), s) == 0;
		if (found && mine == NULL)
			mine = s;
		if (!found && theirs == NULL)
			theirs = s;
	}
	if (!ok(mine != NULL && theirs != NULL, "streams of member 0 (%s) and of"
	    " member 1 (%s)", mine ? mine : "-", theirs ? theirs : "-"))
		return;
	lp_open(&c, ADM, hstr(h, "[\"category.get\",\"lpg\",{\"globalPosition\":"
	    "%" PRId64 ",\"consumerGroup\":{\"member\":0,\"size\":2},"
	    "\"wait\":5000}]", head + 1));
	ok(!lp_wait(&c, LP_QUIET_MS), "member 0 waits after the head");
	put(h, ADM, theirs, NULL, NULL);
	ok(!lp_wait(&c, LP_QUIET_MS), "a write to member 1's %s leaves it held",
	    theirs);
	gpos = put(h, ADM, mine, NULL, NULL);
	t0 = now_ms();
	i = lp_wait(&c, LP_MUST_MS);
	ok(i && lp_count(&c) == 1 && jpath_int(c.json, "0.4") == gpos,
	    "a write to its own %s answers it, with that message only (%.1f ms)",
	    mine, c.t_done - t0);
	lp_close(&c);

	head = put(h, ADM, "lpc-1", NULL, NULL);
	lp_open(&c, ADM, hstr(h, "[\"category.get\",\"lpc\",{\"globalPosition\":"
	    "%" PRId64 ",\"correlation\":\"corr\",\"wait\":5000}]", head + 1));
	ok(!lp_wait(&c, LP_QUIET_MS), "a correlation read waits");
	put(h, ADM, "lpc-2", NULL, NULL);
	put(h, ADM, "lpc-3", "{\"correlationStreamName\":\"other-1\"}", NULL);
	ok(!lp_wait(&c, LP_QUIET_MS), "messages without that correlation leave it"
	    " held");
	gpos = put(h, ADM, "lpc-4", "{\"correlationStreamName\":\"corr-9\"}", NULL);
	t0 = now_ms();
	i = lp_wait(&c, LP_MUST_MS);
	ok(i && lp_count(&c) == 1 && jpath_int(c.json, "0.4") == gpos,
	    "one correlated with corr-9 answers it (%.1f ms)", c.t_done - t0);
	lp_close(&c);
}

/*
 * An import with force replaces a namespace; with a new head at the old
 * tail, no message is above the tail, yet the held read's stream now has
 * one: the loop's periodic check finds the namespace replaced and runs the
 * read (within a second or so).
 */
static void
t_import_force(struct harness *h)
{
	char cmd[4096], out[256];
	const char *tok;
	struct lp c;
	double t0;
	size_t n;
	FILE *p;
	int i;

	tok = ns_create_ok(h, "lpimp", "create namespace lpimp");
	if (tok == NULL)
		return;
	for (i = 0; i < 3; i++)
		put(h, tok, "lpiold-1", NULL, NULL);
	lp_open(&c, tok, "[\"stream.get\",\"lpinew-1\",{\"wait\":10000}]");
	ok(!lp_wait(&c, LP_QUIET_MS), "a read of lpinew-1 is held in lpimp");
	snprintf(cmd, sizeof(cmd), "for g in 1 2 3; do printf '{\"id\":"
	    "\"00000000-0000-4000-8000-00000000000%%d\",\"stream\":\"lpinew-1\","
	    "\"type\":\"I\",\"pos\":%%d,\"gpos\":%%d,\"data\":{},\"meta\":null,"
	    "\"time\":\"2026-01-01T00:00:00Z\"}\\n' $g $((g - 1)) $g; done |"
	    " curl -s -o /dev/null -w '%%{http_code}' '%s/import?token=%s&force=true'"
	    " -H 'Content-Type: application/x-ndjson' --data-binary @-",
	    harness_url(h), tok);
	t0 = now_ms();
	p = popen(cmd, "r");
	n = p != NULL ? fread(out, 1, sizeof(out) - 1, p) : 0;
	if (p != NULL)
		pclose(p);
	out[n] = '\0';
	ok(strcmp(out, "200") == 0, "an import with force puts 3 messages of"
	    " lpinew-1 at global positions 1 - 3, the old head (%s)", out);
	i = lp_wait(&c, LP_MUST_MS);
	ok(i && lp_count(&c) == 3 && c.t_done - t0 < 5000, "the held read"
	    " answers with them, well before its wait of 10 s (%.0f ms after the"
	    " import began)", c.t_done - t0);
	if (!i || lp_count(&c) != 3)
		lp_diag(&c, "after the import");
	lp_close(&c);
}

static pid_t
evdb_pid(struct harness *h)
{
	FILE *f = fopen(hstr(h, "%s/run/evdb.pid", harness_datadir(h)), "r");
	long pid = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return (pid_t)pid;
}

/* SIGTERM answers every held read with what it returns then. */
static void
t_shutdown(struct harness *h)
{
	enum { N = 3 };
	struct lp c[N];
	double t0;
	int i, answered = 0;
	pid_t pid;

	for (i = 0; i < N; i++)
		lp_open(&c[i], ADM, hstr(h, "[\"stream.get\",\"lps-%d\","
		    "{\"wait\":20000}]", i));
	sleep_ms(LP_QUIET_MS);
	for (i = 0; i < N; i++)
		answered += lp_wait(&c[i], 0);
	is_int(answered, 0, "%d reads held before shutdown", N);
	pid = evdb_pid(h);
	if (!ok(pid > 0 && kill(pid, SIGTERM) == 0, "SIGTERM to evdb (pid %ld)",
	    (long)pid))
		return;
	t0 = now_ms();
	for (i = 0; i < N; i++) {
		if (lp_wait(&c[i], LP_MUST_MS) && lp_count(&c[i]) == 0)
			answered++;
		else
			lp_diag(&c[i], "at shutdown");
		lp_close(&c[i]);
	}
	is_int(answered, N, "each is answered 200 [] (%.0f ms after SIGTERM, the"
	    " reads would hold for 20000)", now_ms() - t0);
}

int
main(void)
{
	struct harness *h;
	const char *url, *other;
	char v[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(v, sizeof(v), "%d", LP_MAX);
	setenv("EVDB_LONGPOLL_MAX", v, 1);
	snprintf(v, sizeof(v), "%d", LP_PER_TOKEN);
	setenv("EVDB_LONGPOLL_MAX_PER_TOKEN", v, 1);
	setenv("EVDB_E2E_WORKERS", "2", 1);
	h = harness_start();
	url = harness_url(h);
	if (url == NULL || (url = strrchr(url, ':')) == NULL ||
	    (lp_port = atoi(url + 1)) <= 0)
		tap_bail("no port in the harness URL");
	tap_diag("backend: %s", harness_backend(h));
	other = ns_create_ok(h, "lpns", "create namespace lpns");
	if (other == NULL)
		tap_bail("cannot create a namespace");

	t_validation(h);
	t_curl_example(h);
	t_wake(h);
	t_timeout(h);
	t_many(h);
	t_limits(h, other);
	t_filters(h);
	t_cross_process(h);
	t_import_force(h);
	t_shutdown(h);	/* last: evdb is gone after it */

	tap_plan(tap_run);
	return tap_done();
}
