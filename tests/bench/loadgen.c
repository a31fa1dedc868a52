/*
 * loadgen.c - HTTP/1.1 load generator for evdb's benchmark, closed or open
 * loop.
 *
 * N connections to 127.0.0.1:PORT (never any other address), one thread
 * each, keep-alive, plain sockets.  Closed loop (the default): each thread
 * sends one request, reads the whole response, records its latency and
 * sends the next, until the run's duration is over or the run's request cap
 * is reached; both are bounded (LG_MAX_SECONDS, LG_MAX_REQUESTS).
 *
 * Open loop (--rate R): requests are due at a fixed rate, R per second
 * across the connections; request k of thread i (of N) is due at
 * start + (k * N + i) / R.  A thread sleeps until its next request is due,
 * or sends it at once when it is late, and a request's latency is measured
 * from the time it was due, not from when it could be sent: a response
 * that holds up the requests behind it is charged to all of them, so that
 * coordinated omission is corrected.  A request due in the measured window
 * counts in it, however late its answer comes (within the I/O timeout).  Any response other than a 200 (or,
 * with checking on, a 200 whose body is not what the workload expects) is
 * an error, as is a connection that fails or times out.
 *
 * Workloads (--workload):
 *   w1          the reference workload: stream.write of the reference body to
 *               test-stream-<0..streams-1>, and after every --writes-per-get
 *               writes one stream.get (position 0, batchSize 10) of the
 *               stream last written; with --categories C > 1, the streams
 *               are test<c>-stream-<0..streams-1>, c drawn uniformly from
 *               0..C-1 per write (C categories instead of one)
 *   write       stream.write only, same body and streams
 *   stream-get  stream.get only (position 0, --batch-size, default 10)
 *   category    category.get of category "test" with --batch-size (default
 *               100) from a position drawn uniformly from 1..--position-max,
 *               with a consumer group when --group-size > 0 (member drawn
 *               uniformly per request)
 *   health      GET /health
 *   batch       batch.write of --batch-entries E (default 10) reference
 *               messages over --batch-streams S (default 3) streams,
 *               test-stream-<0..streams-1> drawn per request, entry j to
 *               the (j mod S)th: W5 of issue 11 (messages/s = ops_s x E)
 *
 * --subscribers S opens S more connections first, each a GET /subscribe of
 * category "test" (the category w1 and write write to), from global
 * position --subscribe-position G (default: evdb's, every message, so
 * the history is sent first as a catch-up), waits until every
 * one has sent ": ready", and keeps them open for the run, a thread reading
 * and discarding what they receive: so every write pokes S subscribers.
 * The pokes counted are reported (pokes=).
 *
 * --seed N makes a run repeatable: the draws (streams, positions, members)
 * come from N instead of the clock, and the write's counter field is a
 * request number of fixed width instead of the time, so that two runs with
 * one connection send the same bytes (make bench-count counts instructions).
 *
 * The token, when the server needs one, comes from $LOADGEN_TOKEN (not argv,
 * so that it stays out of ps).
 *
 * Output: a human summary, then one machine-readable line
 *   RESULT label=.. requests=.. seconds=.. ops_s=.. p50_us=.. p99_us=..
 *          p999_us=.. max_us=.. mean_us=.. errors=.. warmup_errors=.. cpu_s=..
 *          rate=.. pokes=..
 * (rate is the asked rate, 0 in closed loop; pokes the subscribers' frames.)
 * Latency percentiles come from a log-linear histogram of nanoseconds with
 * 64 sub-buckets per power of two (relative error under 1.6 %); each is
 * reported as the upper bound of its bucket.
 *
 * Threads: the configuration and the run clock are read-only once the
 * threads start; each thread owns its connection, buffers and histogram; the
 * only shared mutable data are the atomic request counter and the atomic
 * poke counter of the subscriber thread.  main() merges the histograms after
 * joining every thread.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define LG_MAX_CONNECTIONS 256
#define LG_MAX_SECONDS 3600.0
#define LG_MAX_REQUESTS 100000000ULL
#define LG_IO_TIMEOUT_S 10		/* per send/recv call */
#define LG_REQ_MAX 16384		/* one request, headers and body */
#define LG_BATCH_ENTRIES_MAX 20		/* --batch-entries: they fit in one */
#define LG_RESP_MAX (64u << 20)		/* a larger response is an error */
#define LG_ERR_SAMPLE 240		/* bytes of the first bad response kept */
#define LG_MAX_SUBSCRIBERS 1000		/* --subscribers */
#define LG_MAX_RATE 1000000.0		/* --rate, requests per second */
#define LG_READY_TIMEOUT_S 60		/* for every subscriber's ": ready" */

/* Histogram: values below 2*LG_SUB exactly, then LG_SUB buckets per octave. */
#define LG_SUB_BITS 6
#define LG_SUB (1u << LG_SUB_BITS)
#define LG_HIST_MAX_NS (1ULL << 41)	/* ~36 min; larger values are clamped */
#define LG_HIST_BUCKETS (2 * LG_SUB + (41 - LG_SUB_BITS) * LG_SUB)

/* Outcome of one request. */
enum lg_outcome {
	LG_OK,				/* 200 with the expected body */
	LG_IO,				/* connect, send, recv, timeout, bad HTTP */
	LG_BODY,			/* 200 with an unexpected body */
	LG_4XX,				/* a 4xx status */
	LG_5XX,				/* a 5xx status */
	LG_OTHER,			/* any other status */
	LG_NOUTCOMES
};

enum lg_workload {
	LG_W1,				/* writes plus a stream.get every N */
	LG_WRITE,			/* writes only */
	LG_STREAM_GET,			/* stream.get only */
	LG_CATEGORY,			/* category.get */
	LG_HEALTH,			/* GET /health */
	LG_BATCH			/* batch.write */
};

struct lg_config {
	int port;			/* target port on 127.0.0.1 */
	int connections;		/* threads, one connection each */
	double duration;		/* measured seconds */
	double warmup;			/* unmeasured seconds before them */
	uint64_t max_requests;		/* cap on requests sent, warm-up included */
	enum lg_workload workload;	/* what to send */
	const char *workload_name;	/* its name, for the report */
	const char *label;		/* name of the run in the RESULT line */
	const char *token;		/* bearer token or NULL */
	int streams;			/* w1/write: number of streams */
	int categories;			/* w1/write: categories, 1: "test" */
	int writes_per_get;		/* w1: writes between two stream.get */
	int batch_size;			/* stream-get/category batchSize */
	int group_size;			/* category: consumer group size, 0 none */
	int64_t position_max;		/* category: positions 1..position_max */
	bool check;			/* validate 200 bodies */
	double rate;			/* open loop: requests/s, 0 closed loop */
	bool seeded;			/* --seed given: repeatable draws */
	uint64_t seed;			/* its value */
	int subscribers;		/* SSE subscribers held open, 0 none */
	int64_t sub_position;		/* their first global position, 0 none */
	int batch_entries;		/* batch: entries per batch.write */
	int batch_streams;		/* batch: streams per batch.write */
};

/* The subscribers of --subscribers and the thread that drains them. */
struct lg_subs {
	int *fds;			/* cfg.subscribers connections */
	int n;				/* entries of fds in use */
	atomic_bool stop;		/* set by main(): the drain thread ends */
	atomic_uint_fast64_t pokes;	/* "event:" frames seen, all subscribers */
	pthread_t thread;		/* the drain thread */
	bool started;			/* thread was created */
};

/* Latency histogram of one thread, merged by main(). */
struct lg_hist {
	uint64_t counts[LG_HIST_BUCKETS]; /* requests per bucket */
	uint64_t total;			/* requests recorded */
	uint64_t sum_ns;		/* for the mean */
	uint64_t max_ns;		/* slowest request */
};

/* The run's clock, in CLOCK_MONOTONIC nanoseconds; read-only in threads. */
struct lg_clock {
	int64_t start;			/* threads start sending */
	int64_t measure;		/* warm-up over, recording starts */
	int64_t end;			/* no request is sent after this */
};

/* One response as parsed from the connection's buffer. */
struct lg_resp {
	int status;			/* HTTP status code */
	bool close;			/* server said Connection: close */
	size_t body_off;		/* first body byte in rbuf */
	size_t body_len;		/* body bytes (first chunk if chunked) */
	size_t total;			/* bytes of rbuf this response used */
};

struct lg_thread {
	const struct lg_config *cfg;	/* shared, read-only */
	const struct lg_clock *clk;	/* shared, read-only */
	atomic_uint_fast64_t *issued;	/* shared request counter */
	int id;				/* 0-based thread number */
	pthread_t thread;		/* the thread */
	bool started;			/* thread was created */
	int fd;				/* connection or -1 */
	uint64_t rng;			/* xorshift64* state, never 0 */
	uint64_t seq;			/* requests sent by this thread */
	int last_stream;		/* w1: stream of the last write */
	char last_cat[16];		/* w1: its category's suffix, "" or c */
	char req[LG_REQ_MAX];		/* the request being sent */
	size_t req_len;			/* its length */
	char expect;			/* first body byte a good answer has */
	char *rbuf;			/* response bytes */
	size_t rlen;			/* bytes held in rbuf */
	size_t rcap;			/* rbuf's size */
	struct lg_hist hist;		/* measured latencies */
	uint64_t out[LG_NOUTCOMES];	/* measured requests by outcome */
	uint64_t warm[LG_NOUTCOMES];	/* warm-up requests by outcome */
	uint64_t reconnects;		/* connections opened after the first */
	int64_t last_done;		/* when the last measured response came */
	char sample[LG_ERR_SAMPLE];	/* first error seen, for diagnosis */
};

/* The reference event of the issue; %d stream, %lld counter. */
static const char lg_write_fmt[] =
    "[\"stream.write\",\"test%s-stream-%d\",{\"type\":\"TestEvent\",\"data\":"
    "{\"counter\":%lld,\"payload\":\"test data for profiling with some content"
    " to make it realistic\",\"nested\":{\"field1\":\"value1\",\"field2\":42,"
    "\"field3\":true}},\"metadata\":{\"correlationStreamName\":"
    "\"test-correlation\",\"source\":\"load-test\"}}]";

/* One entry of a batch.write: the reference event; %d stream, %lld counter. */
static const char lg_entry_fmt[] =
    "{\"stream\":\"test-stream-%d\",\"type\":\"TestEvent\",\"data\":"
    "{\"counter\":%lld,\"payload\":\"test data for profiling with some content"
    " to make it realistic\",\"nested\":{\"field1\":\"value1\",\"field2\":42,"
    "\"field3\":true}},\"metadata\":{\"correlationStreamName\":"
    "\"test-correlation\",\"source\":\"load-test\"}}";

static int64_t
lg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
lg_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* xorshift64*: a uniform draw from 0..n-1 (n > 0), good enough for load. */
static uint64_t
lg_rand(struct lg_thread *t, uint64_t n)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return (t->rng * 2685821657736338717ULL) % n;
}

static unsigned
lg_hist_index(uint64_t ns)
{
	unsigned msb, shift;

	if (ns >= LG_HIST_MAX_NS)
		ns = LG_HIST_MAX_NS - 1;
	if (ns < 2 * LG_SUB)
		return (unsigned)ns;
	msb = 63 - (unsigned)__builtin_clzll(ns);
	shift = msb - LG_SUB_BITS;
	return 2 * LG_SUB + (shift - 1) * LG_SUB +
	    (unsigned)((ns >> shift) - LG_SUB);
}

/* The largest value that falls into bucket i. */
static uint64_t
lg_hist_upper(unsigned i)
{
	unsigned shift;
	uint64_t sub;

	if (i < 2 * LG_SUB)
		return i;
	shift = (i - 2 * LG_SUB) / LG_SUB + 1;
	sub = (i - 2 * LG_SUB) % LG_SUB + LG_SUB;
	return ((sub + 1) << shift) - 1;
}

static void
lg_hist_record(struct lg_hist *h, uint64_t ns)
{
	h->counts[lg_hist_index(ns)]++;
	h->total++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static void
lg_hist_merge(struct lg_hist *into, const struct lg_hist *h)
{
	unsigned i;

	for (i = 0; i < LG_HIST_BUCKETS; i++)
		into->counts[i] += h->counts[i];
	into->total += h->total;
	into->sum_ns += h->sum_ns;
	if (h->max_ns > into->max_ns)
		into->max_ns = h->max_ns;
}

/* The value at quantile q (0 < q <= 1) in ns; 0 for an empty histogram. */
static uint64_t
lg_hist_quantile(const struct lg_hist *h, double q)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (h->total == 0)
		return 0;
	want = (uint64_t)(q * (double)h->total + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= want) {
			uint64_t up = lg_hist_upper(i);

			return up < h->max_ns ? up : h->max_ns;
		}
	}
	return h->max_ns;
}

static void
lg_close(struct lg_thread *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->rlen = 0;
}

/* Connects to 127.0.0.1:port; returns false (fd stays -1) on failure. */
static bool
lg_connect(struct lg_thread *t)
{
	struct sockaddr_in sa;
	struct timeval tv = { LG_IO_TIMEOUT_S, 0 };
	int one = 1, fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)t->cfg->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return false;
	}
	t->fd = fd;
	t->rlen = 0;
	return true;
}

/* Formats the next request of the workload into t->req. */
static void
lg_build(struct lg_thread *t)
{
	const struct lg_config *cfg = t->cfg;
	char body[LG_REQ_MAX / 2];
	const char *method = "POST", *path = "/rpc";
	int blen = 0, hlen;
	bool get = false;

	switch (cfg->workload) {
	case LG_W1:
		get = cfg->writes_per_get > 0 &&
		    t->seq % (uint64_t)(cfg->writes_per_get + 1) ==
		    (uint64_t)cfg->writes_per_get;
		/* FALLTHROUGH */
	case LG_WRITE:
		if (get) {
			blen = snprintf(body, sizeof(body), "[\"stream.get\","
			    "\"test%s-stream-%d\",{\"position\":0,\"batchSize\":%d}]",
			    t->last_cat, t->last_stream, cfg->batch_size);
			t->expect = '[';
		} else {
			t->last_stream = (int)lg_rand(t, (uint64_t)cfg->streams);
			if (cfg->categories > 1)
				snprintf(t->last_cat, sizeof(t->last_cat), "%d",
				    (int)lg_rand(t, (uint64_t)cfg->categories));
			/* Seeded: the same width as the clock's 19 digits. */
			blen = snprintf(body, sizeof(body), lg_write_fmt,
			    t->last_cat, t->last_stream, cfg->seeded ?
			    1000000000000000000LL + (long long)t->seq :
			    (long long)lg_realtime_ns());
			t->expect = '{';
		}
		break;
	case LG_STREAM_GET:
		blen = snprintf(body, sizeof(body), "[\"stream.get\","
		    "\"test-stream-%d\",{\"position\":0,\"batchSize\":%d}]",
		    (int)lg_rand(t, (uint64_t)cfg->streams), cfg->batch_size);
		t->expect = '[';
		break;
	case LG_CATEGORY:
		if (cfg->group_size > 0)
			blen = snprintf(body, sizeof(body), "[\"category.get\","
			    "\"test\",{\"position\":%lld,\"batchSize\":%d,"
			    "\"consumerGroup\":{\"member\":%d,\"size\":%d}}]",
			    (long long)(1 + lg_rand(t, (uint64_t)cfg->position_max)),
			    cfg->batch_size,
			    (int)lg_rand(t, (uint64_t)cfg->group_size),
			    cfg->group_size);
		else
			blen = snprintf(body, sizeof(body), "[\"category.get\","
			    "\"test\",{\"position\":%lld,\"batchSize\":%d}]",
			    (long long)(1 + lg_rand(t, (uint64_t)cfg->position_max)),
			    cfg->batch_size);
		t->expect = '[';
		break;
	case LG_HEALTH:
		method = "GET";
		path = "/health";
		t->expect = '{';
		break;
	case LG_BATCH: {
		int st[LG_BATCH_ENTRIES_MAX], j;

		for (j = 0; j < cfg->batch_streams; j++)
			st[j] = (int)lg_rand(t, (uint64_t)cfg->streams);
		blen = snprintf(body, sizeof(body), "[\"batch.write\",[");
		for (j = 0; j < cfg->batch_entries; j++) {
			if (j > 0)
				body[blen++] = ',';
			blen += snprintf(body + blen, sizeof(body) - (size_t)blen,
			    lg_entry_fmt, st[j % cfg->batch_streams], cfg->seeded ?
			    1000000000000000000LL + (long long)t->seq :
			    (long long)lg_realtime_ns());
		}
		blen += snprintf(body + blen, sizeof(body) - (size_t)blen, "]]");
		t->expect = '[';
		break;
	}
	}
	if (blen > 0)
		hlen = snprintf(t->req, sizeof(t->req), "%s %s HTTP/1.1\r\n"
		    "Host: 127.0.0.1:%d\r\n%s%s%s"
		    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
		    "%s", method, path, cfg->port,
		    cfg->token ? "Authorization: Bearer " : "",
		    cfg->token ? cfg->token : "", cfg->token ? "\r\n" : "",
		    blen, body);
	else
		hlen = snprintf(t->req, sizeof(t->req), "%s %s HTTP/1.1\r\n"
		    "Host: 127.0.0.1:%d\r\n\r\n", method, path, cfg->port);
	/* Sizes are bounded by the option checks in main(). */
	t->req_len = (size_t)hlen;
}

static bool
lg_send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Reads more bytes into rbuf; false on EOF, error, timeout or overflow. */
static bool
lg_fill(struct lg_thread *t)
{
	ssize_t r;

	if (t->rcap - t->rlen < 16384) {
		size_t ncap = t->rcap * 2;
		char *n;

		if (ncap > LG_RESP_MAX || (n = realloc(t->rbuf, ncap)) == NULL)
			return false;
		t->rbuf = n;
		t->rcap = ncap;
	}
	do
		r = recv(t->fd, t->rbuf + t->rlen, t->rcap - t->rlen, 0);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return false;
	t->rlen += (size_t)r;
	return true;
}

/* Value of header line [p, e) if it is named name, else NULL. */
static const char *
lg_header(const char *p, const char *e, const char *name)
{
	size_t n = strlen(name);

	if ((size_t)(e - p) <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
		return NULL;
	p += n + 1;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/*
 * Reads one whole response into rbuf and parses it into *rs.  Returns false
 * on any I/O or protocol failure, after which the connection must be closed.
 */
static bool
lg_read_response(struct lg_thread *t, struct lg_resp *rs)
{
	char *p, *e, *hend = NULL;
	long long clen = -1;
	bool chunked = false;
	size_t pos, scanned = 0;

	memset(rs, 0, sizeof(*rs));
	for (;;) {
		if (t->rlen >= 4) {
			hend = memmem(t->rbuf + scanned, t->rlen - scanned, "\r\n\r\n", 4);
			if (hend != NULL)
				break;
			scanned = t->rlen - 3;
		}
		if (t->rlen > 65536 || !lg_fill(t))
			return false;
	}
	if (t->rlen < 12 || strncmp(t->rbuf, "HTTP/1.", 7) != 0)
		return false;
	rs->status = atoi(t->rbuf + 9);
	p = memchr(t->rbuf, '\n', (size_t)(hend - t->rbuf)) + 1;
	while (p < hend + 2) {
		const char *v;

		e = memchr(p, '\r', (size_t)(hend + 2 - p));
		if (e == NULL)
			break;
		if ((v = lg_header(p, e, "Content-Length")) != NULL)
			clen = strtoll(v, NULL, 10);
		else if ((v = lg_header(p, e, "Transfer-Encoding")) != NULL)
			chunked = strncasecmp(v, "chunked", 7) == 0;
		else if ((v = lg_header(p, e, "Connection")) != NULL)
			rs->close = strncasecmp(v, "close", 5) == 0;
		p = e + 2;
	}
	pos = (size_t)(hend - t->rbuf) + 4;
	rs->body_off = pos;
	if (chunked) {
		bool first = true;

		for (;;) {
			char *nl, *end;
			unsigned long long sz;

			while ((nl = memchr(t->rbuf + pos, '\n', t->rlen - pos)) == NULL)
				if (!lg_fill(t))
					return false;
			sz = strtoull(t->rbuf + pos, &end, 16);
			if (end == t->rbuf + pos || sz > LG_RESP_MAX)
				return false;
			pos = (size_t)(nl - t->rbuf) + 1;
			if (first) {
				rs->body_off = pos;
				rs->body_len = (size_t)sz;
				first = false;
			}
			/* Chunk data and its CRLF; for the last chunk, the final CRLF. */
			while (t->rlen - pos < sz + 2)
				if (!lg_fill(t))
					return false;
			pos += (size_t)sz + 2;
			if (sz == 0)
				break;
		}
	} else if (clen >= 0) {
		if ((unsigned long long)clen > LG_RESP_MAX)
			return false;
		while (t->rlen - pos < (size_t)clen)
			if (!lg_fill(t))
				return false;
		rs->body_len = (size_t)clen;
		pos += (size_t)clen;
	} else {
		/* No length: the body runs to the end of the connection. */
		while (lg_fill(t))
			;
		rs->body_len = t->rlen - pos;
		pos = t->rlen;
		rs->close = true;
	}
	rs->total = pos;
	return true;
}

/* Keeps the first error of the thread, for the report. */
static void
lg_sample(struct lg_thread *t, const char *what, const char *data, size_t len)
{
	size_t i, n;

	if (t->sample[0] != '\0')
		return;
	n = (size_t)snprintf(t->sample, sizeof(t->sample), "%s", what);
	for (i = 0; i < len && n + 1 < sizeof(t->sample); i++)
		t->sample[n++] = (data[i] >= 0x20 && data[i] < 0x7f) ? data[i] : '.';
	t->sample[n < sizeof(t->sample) ? n : sizeof(t->sample) - 1] = '\0';
}

/*
 * One request and its response.  Returns its outcome, and leaves the
 * connection usable or closed.
 */
static enum lg_outcome
lg_exchange(struct lg_thread *t)
{
	struct lg_resp rs;
	const char *b;
	enum lg_outcome oc = LG_IO;

	if (t->fd < 0) {
		if (t->seq > 0)
			t->reconnects++;
		if (!lg_connect(t)) {
			lg_sample(t, "connect failed: ", strerror(errno),
			    strlen(strerror(errno)));
			/* Don't spin on a refused port. */
			usleep(10000);
			goto out;
		}
	}
	if (!lg_send_all(t->fd, t->req, t->req_len) || !lg_read_response(t, &rs)) {
		lg_sample(t, "connection failed or timed out: ", strerror(errno),
		    strlen(strerror(errno)));
		lg_close(t);
		goto out;
	}
	b = t->rbuf + rs.body_off;
	if (rs.status != 200) {
		oc = rs.status / 100 == 4 ? LG_4XX : rs.status / 100 == 5 ?
		    LG_5XX : LG_OTHER;
		lg_sample(t, "non-200: ", t->rbuf, rs.total);
	} else if (t->cfg->check && (rs.body_len == 0 || b[0] != t->expect ||
	    (t->expect == '{' && t->cfg->workload != LG_HEALTH &&
	    memmem(b, rs.body_len, "\"globalPosition\"", 16) == NULL))) {
		oc = LG_BODY;
		lg_sample(t, "unexpected body: ", b, rs.body_len);
	} else
		oc = LG_OK;
	/* Keep bytes past this response (there should be none). */
	memmove(t->rbuf, t->rbuf + rs.total, t->rlen - rs.total);
	t->rlen -= rs.total;
	if (rs.close)
		lg_close(t);
out:
	return oc;
}

/* Sleeps until CLOCK_MONOTONIC time at (ns); returns at once if past. */
static void
lg_sleep_until(int64_t at)
{
	struct timespec ts = { (time_t)(at / 1000000000), (long)(at % 1000000000) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/*
 * One connection's loop.  Closed loop: each request is sent when the last
 * answer came, and timed from then.  Open loop (cfg->rate > 0): request k
 * of thread id (of N) is due at start + (k * N + id) / rate, sent then or
 * at once when late, and timed from when it was due.
 */
static void *
lg_thread_main(void *arg)
{
	struct lg_thread *t = arg;
	const struct lg_config *cfg = t->cfg;
	const struct lg_clock *clk = t->clk;
	bool open = cfg->rate > 0;
	double step = open ? 1e9 / cfg->rate : 0; /* ns between requests, all threads */
	int64_t t0, t1;
	enum lg_outcome oc;

	lg_sleep_until(clk->start);
	for (;;) {
		t0 = open ? clk->start + (int64_t)(((double)t->seq *
		    (double)cfg->connections + (double)t->id) * step) : lg_now();
		if (t0 >= clk->end)
			break;
		if (atomic_fetch_add(t->issued, 1) >= cfg->max_requests)
			break;
		lg_build(t);
		if (open)
			lg_sleep_until(t0);
		oc = lg_exchange(t);
		t->seq++;
		t1 = lg_now();
		if (t0 < clk->measure) {
			t->warm[oc]++;
			continue;
		}
		/*
		 * Closed loop: a request still in flight at the end is not
		 * counted.  Open loop: every request due in the window is.
		 */
		if (!open && t1 > clk->end)
			break;
		if (t1 > t->last_done)
			t->last_done = t1;
		t->out[oc]++;
		if (oc == LG_OK)
			lg_hist_record(&t->hist, (uint64_t)(t1 - t0));
	}
	lg_close(t);
	return NULL;
}

/* ---- subscribers (--subscribers) --------------------------------------- */

static const char lg_poke_pat[] = "event: poke";

/*
 * Opens one subscriber of category "test" and waits for its ": ready".
 * Returns the connection, or -1 (with a message on stderr).
 */
static int
lg_sub_open(const struct lg_config *cfg)
{
	struct sockaddr_in sa;
	struct timeval tv = { LG_IO_TIMEOUT_S, 0 };
	char req[1024], buf[4096], pos[40] = "";
	size_t have = 0;
	int64_t deadline = lg_now() + (int64_t)LG_READY_TIMEOUT_S * 1000000000;
	ssize_t r;
	int fd, n;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)cfg->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (cfg->sub_position > 0)
		(void)snprintf(pos, sizeof(pos), "&position=%lld",
		    (long long)cfg->sub_position);
	n = snprintf(req, sizeof(req), "GET /subscribe?category=test%s HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n%s%s%s\r\n", pos, cfg->port,
	    cfg->token ? "Authorization: Bearer " : "",
	    cfg->token ? cfg->token : "", cfg->token ? "\r\n" : "");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    !lg_send_all(fd, req, (size_t)n))
		goto fail;
	while (lg_now() < deadline) {
		if ((r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0)) < 0 &&
		    errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = '\0';
		if (strstr(buf, ": ready") != NULL)
			return fd;
		if (strncmp(buf, "HTTP/1.1 200", 12) != 0 && have >= 12)
			break;
		if (have == sizeof(buf) - 1)
			break;
	}
fail:
	fprintf(stderr, "loadgen: subscriber %s: %.*s\n", "not ready",
	    (int)(have < 200 ? have : 200), have ? buf : "no answer");
	close(fd);
	return -1;
}

/* The drain thread: reads every subscriber and counts the pokes. */
static void *
lg_subs_main(void *arg)
{
	struct lg_subs *subs = arg;
	struct pollfd *pf;
	int *state;			/* bytes of lg_poke_pat matched, per fd */
	char buf[16384];
	int i, k, ready;
	ssize_t r;

	pf = calloc((size_t)subs->n, sizeof(*pf));
	state = calloc((size_t)subs->n, sizeof(*state));
	if (pf == NULL || state == NULL) {
		free(pf);
		free(state);
		return NULL;
	}
	for (i = 0; i < subs->n; i++) {
		pf[i].fd = subs->fds[i];
		pf[i].events = POLLIN;
	}
	while (!atomic_load(&subs->stop)) {
		if ((ready = poll(pf, (nfds_t)subs->n, 50)) <= 0)
			continue;
		for (i = 0; i < subs->n; i++) {
			if ((pf[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
				continue;
			r = recv(pf[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				pf[i].fd = -1;	/* gone: poll ignores it */
				continue;
			}
			for (k = 0; k < r; k++) {
				if (buf[k] == lg_poke_pat[state[i]])
					state[i]++;
				else
					state[i] = buf[k] == lg_poke_pat[0];
				if (lg_poke_pat[state[i]] == '\0') {
					atomic_fetch_add(&subs->pokes, 1);
					state[i] = 0;
				}
			}
		}
	}
	free(pf);
	free(state);
	return NULL;
}

/* Opens cfg->subscribers subscribers and starts the drain thread. */
static bool
lg_subs_start(const struct lg_config *cfg, struct lg_subs *subs)
{
	int fd;

	if ((subs->fds = calloc((size_t)cfg->subscribers, sizeof(int))) == NULL)
		return false;
	while (subs->n < cfg->subscribers) {
		if ((fd = lg_sub_open(cfg)) < 0)
			return false;
		subs->fds[subs->n++] = fd;
	}
	if (pthread_create(&subs->thread, NULL, lg_subs_main, subs) != 0)
		return false;
	subs->started = true;
	return true;
}

/* Stops the drain thread and closes the subscribers. */
static void
lg_subs_stop(struct lg_subs *subs)
{
	int i;

	if (subs->started) {
		atomic_store(&subs->stop, true);
		pthread_join(subs->thread, NULL);
		subs->started = false;
	}
	for (i = 0; i < subs->n; i++)
		close(subs->fds[i]);
	free(subs->fds);
	subs->fds = NULL;
	subs->n = 0;
}

static void
lg_usage(FILE *f)
{
	fprintf(f,
	    "usage: loadgen --port P [--connections N] [--duration S] [--warmup S]\n"
	    "               [--requests N]\n"
	    "               [--workload w1|write|stream-get|category|health|batch]\n"
	    "               [--batch-entries E] [--batch-streams S]\n"
	    "               [--streams N] [--categories C] [--writes-per-get N]\n"
	    "               [--batch-size N]\n"
	    "               [--group-size N] [--position-max N] [--no-check] [--label L]\n"
	    "               [--rate R] [--seed N] [--subscribers S]\n"
	    "               [--subscribe-position G]\n"
	    "       loadgen --free-port\n"
	    "Targets 127.0.0.1:P only.  Token from $LOADGEN_TOKEN.\n");
}

/* Parses a bounded integer option; false when out of range. */
static bool
lg_int_arg(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Parses a number of 0..max (seconds, a rate); false when out of range. */
static bool
lg_num_arg(const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > max)
		return false;
	*out = v;
	return true;
}

/* Prints a loopback port that was free a moment ago. */
static int
lg_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, rc = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		goto out;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		goto out;
	printf("%u\n", ntohs(sa.sin_port));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static bool
lg_token_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 512)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		    *s == '.' || *s == '='))
			return false;
	return true;
}

static void
lg_report(const struct lg_config *cfg, struct lg_thread *th, int n,
    const struct lg_clock *clk, uint64_t pokes)
{
	struct lg_hist *h;
	struct rusage ru;
	uint64_t out[LG_NOUTCOMES] = { 0 }, warm[LG_NOUTCOMES] = { 0 };
	uint64_t total = 0, errors, warm_total = 0, reconn = 0;
	int64_t last = clk->measure;
	double secs, ops, cpu = 0;
	const char *sample = NULL;
	int i, k;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		perror("loadgen: calloc");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		lg_hist_merge(h, &th[i].hist);
		for (k = 0; k < LG_NOUTCOMES; k++) {
			out[k] += th[i].out[k];
			warm[k] += th[i].warm[k];
			total += th[i].out[k];
			warm_total += th[i].warm[k];
		}
		reconn += th[i].reconnects;
		if (th[i].last_done > last)
			last = th[i].last_done;
		if (sample == NULL && th[i].sample[0] != '\0')
			sample = th[i].sample;
	}
	errors = total - out[LG_OK];
	/*
	 * Stopped by the request cap: the window ends with the last answer.
	 * Open loop: it ends at the end, or with the last answer due in it.
	 */
	if (cfg->rate > 0) {
		if (last < clk->end)
			last = clk->end;
	} else if (atomic_load(th[0].issued) < cfg->max_requests ||
	    last > clk->end)
		last = clk->end;
	secs = (double)(last - clk->measure) / 1e9;
	ops = secs > 0 ? (double)total / secs : 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("loadgen: %s: workload %s, %d connection%s, %.2f s measured "
	    "(+%.2f s warm-up)\n", cfg->label, cfg->workload_name,
	    cfg->connections, cfg->connections == 1 ? "" : "s", secs, cfg->warmup);
	if (cfg->rate > 0)
		printf("  open loop at %.1f requests/s; latency from the time each "
		    "was due\n", cfg->rate);
	if (cfg->subscribers > 0)
		printf("  %d subscribers of category test: %" PRIu64 " pokes\n",
		    cfg->subscribers, pokes);
	printf("  requests %" PRIu64 " (%.1f/s), errors %" PRIu64
	    " (io %" PRIu64 ", bad body %" PRIu64 ", 4xx %" PRIu64
	    ", 5xx %" PRIu64 ", other %" PRIu64 "), reconnects %" PRIu64 "\n",
	    total, ops, errors, out[LG_IO], out[LG_BODY], out[LG_4XX],
	    out[LG_5XX], out[LG_OTHER], reconn);
	if (warm_total > 0)
		printf("  warm-up: %" PRIu64 " requests, %" PRIu64 " errors\n",
		    warm_total, warm_total - warm[LG_OK]);
	printf("  latency (us): p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  mean %.0f\n",
	    lg_hist_quantile(h, 0.50) / 1e3, lg_hist_quantile(h, 0.99) / 1e3,
	    lg_hist_quantile(h, 0.999) / 1e3, h->max_ns / 1e3,
	    h->total ? (double)h->sum_ns / (double)h->total / 1e3 : 0.0);
	printf("  loadgen CPU: %.2f s (%.1f us per request)\n", cpu,
	    total + warm_total > 0 ? cpu * 1e6 / (double)(total + warm_total) : 0.0);
	if (sample != NULL)
		printf("  first error: %s\n", sample);
	printf("RESULT label=%s workload=%s connections=%d requests=%" PRIu64
	    " seconds=%.3f ops_s=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f"
	    " max_us=%.1f mean_us=%.1f errors=%" PRIu64 " warmup_errors=%" PRIu64
	    " cpu_s=%.2f rate=%.1f pokes=%" PRIu64 "\n", cfg->label, cfg->workload_name, cfg->connections,
	    total, secs, ops, lg_hist_quantile(h, 0.50) / 1e3,
	    lg_hist_quantile(h, 0.99) / 1e3, lg_hist_quantile(h, 0.999) / 1e3,
	    h->max_ns / 1e3,
	    h->total ? (double)h->sum_ns / (double)h->total / 1e3 : 0.0,
	    errors, warm_total - warm[LG_OK], cpu, cfg->rate, pokes);
	fflush(stdout);
	free(h);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "connections", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "requests", required_argument, NULL, 'n' },
		{ "workload", required_argument, NULL, 'w' },
		{ "streams", required_argument, NULL, 's' },
		{ "categories", required_argument, NULL, 'C' },
		{ "writes-per-get", required_argument, NULL, 'g' },
		{ "batch-size", required_argument, NULL, 'b' },
		{ "group-size", required_argument, NULL, 'G' },
		{ "position-max", required_argument, NULL, 'P' },
		{ "no-check", no_argument, NULL, 'N' },
		{ "label", required_argument, NULL, 'l' },
		{ "free-port", no_argument, NULL, 'F' },
		{ "rate", required_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 'S' },
		{ "subscribers", required_argument, NULL, 'U' },
		{ "subscribe-position", required_argument, NULL, 'u' },
		{ "batch-entries", required_argument, NULL, 'e' },
		{ "batch-streams", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lg_config cfg;
	struct lg_clock clk;
	struct lg_thread *th = NULL;
	atomic_uint_fast64_t issued = 0;
	struct lg_subs subs;
	long long v;
	int c, i, n = 0, rc = 2, batch = -1, err;
	uint64_t good = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&cfg, 0, sizeof(cfg));
	memset(&subs, 0, sizeof(subs));
	atomic_init(&subs.stop, false);
	atomic_init(&subs.pokes, 0);
	cfg.connections = 10;
	cfg.duration = 10;
	cfg.max_requests = LG_MAX_REQUESTS;
	cfg.workload = LG_W1;
	cfg.workload_name = "w1";
	cfg.label = NULL;
	cfg.streams = 100;
	cfg.categories = 1;
	cfg.writes_per_get = 10;
	cfg.position_max = 1;
	cfg.check = true;
	cfg.batch_entries = 10;
	cfg.batch_streams = 3;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!lg_int_arg(optarg, 1, 65535, &v))
				goto bad;
			cfg.port = (int)v;
			break;
		case 'c':
			if (!lg_int_arg(optarg, 1, LG_MAX_CONNECTIONS, &v))
				goto bad;
			cfg.connections = (int)v;
			break;
		case 'd':
			if (!lg_num_arg(optarg, LG_MAX_SECONDS, &cfg.duration) ||
			    cfg.duration <= 0)
				goto bad;
			break;
		case 'W':
			if (!lg_num_arg(optarg, LG_MAX_SECONDS, &cfg.warmup))
				goto bad;
			break;
		case 'n':
			if (!lg_int_arg(optarg, 1, (long long)LG_MAX_REQUESTS, &v))
				goto bad;
			cfg.max_requests = (uint64_t)v;
			break;
		case 'w':
			cfg.workload_name = optarg;
			if (strcmp(optarg, "w1") == 0)
				cfg.workload = LG_W1;
			else if (strcmp(optarg, "write") == 0)
				cfg.workload = LG_WRITE;
			else if (strcmp(optarg, "stream-get") == 0)
				cfg.workload = LG_STREAM_GET;
			else if (strcmp(optarg, "category") == 0)
				cfg.workload = LG_CATEGORY;
			else if (strcmp(optarg, "health") == 0)
				cfg.workload = LG_HEALTH;
			else if (strcmp(optarg, "batch") == 0)
				cfg.workload = LG_BATCH;
			else
				goto bad;
			break;
		case 's':
			if (!lg_int_arg(optarg, 1, 1000000, &v))
				goto bad;
			cfg.streams = (int)v;
			break;
		case 'C':
			if (!lg_int_arg(optarg, 1, 1000000, &v))
				goto bad;
			cfg.categories = (int)v;
			break;
		case 'g':
			if (!lg_int_arg(optarg, 0, 1000000, &v))
				goto bad;
			cfg.writes_per_get = (int)v;
			break;
		case 'b':
			if (!lg_int_arg(optarg, -1, 10000, &v))
				goto bad;
			batch = (int)v;
			break;
		case 'G':
			if (!lg_int_arg(optarg, 0, 1000000, &v))
				goto bad;
			cfg.group_size = (int)v;
			break;
		case 'P':
			if (!lg_int_arg(optarg, 1, INT64_MAX / 2, &v))
				goto bad;
			cfg.position_max = v;
			break;
		case 'N':
			cfg.check = false;
			break;
		case 'l':
			cfg.label = optarg;
			break;
		case 'F':
			return lg_free_port();
		case 'R':
			if (!lg_num_arg(optarg, LG_MAX_RATE, &cfg.rate) ||
			    cfg.rate <= 0)
				goto bad;
			break;
		case 'S':
			if (!lg_int_arg(optarg, 0, INT64_MAX, &v))
				goto bad;
			cfg.seeded = true;
			cfg.seed = (uint64_t)v;
			break;
		case 'U':
			if (!lg_int_arg(optarg, 0, LG_MAX_SUBSCRIBERS, &v))
				goto bad;
			cfg.subscribers = (int)v;
			break;
		case 'u':
			if (!lg_int_arg(optarg, 1, INT64_MAX / 2, &v))
				goto bad;
			cfg.sub_position = v;
			break;
		case 'e':
			if (!lg_int_arg(optarg, 1, LG_BATCH_ENTRIES_MAX, &v))
				goto bad;
			cfg.batch_entries = (int)v;
			break;
		case 'X':
			if (!lg_int_arg(optarg, 1, LG_BATCH_ENTRIES_MAX, &v))
				goto bad;
			cfg.batch_streams = (int)v;
			break;
		case 'h':
			lg_usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc || cfg.port == 0 ||
	    cfg.batch_streams > cfg.batch_entries)
		goto bad;
	cfg.batch_size = batch != -1 ? batch :
	    cfg.workload == LG_CATEGORY ? 100 : 10;
	if (cfg.label == NULL)
		cfg.label = cfg.workload_name;
	cfg.token = getenv("LOADGEN_TOKEN");
	if (cfg.token != NULL && *cfg.token == '\0')
		cfg.token = NULL;
	if (cfg.token != NULL && !lg_token_ok(cfg.token)) {
		fprintf(stderr, "loadgen: $LOADGEN_TOKEN has unexpected characters\n");
		goto out;
	}

	if ((th = calloc((size_t)cfg.connections, sizeof(*th))) == NULL) {
		perror("loadgen: calloc");
		rc = 1;
		goto out;
	}
	if (cfg.subscribers > 0 && !lg_subs_start(&cfg, &subs)) {
		rc = 1;
		goto out;
	}
	clk.start = lg_now() + 20000000;
	clk.measure = clk.start + (int64_t)(cfg.warmup * 1e9);
	clk.end = clk.measure + (int64_t)(cfg.duration * 1e9);
	for (i = 0; i < cfg.connections; i++) {
		struct lg_thread *t = &th[i];

		t->cfg = &cfg;
		t->clk = &clk;
		t->issued = &issued;
		t->id = i;
		t->fd = -1;
		t->rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1) ^
		    (cfg.seeded ? cfg.seed : (uint64_t)lg_realtime_ns());
		if (t->rng == 0)
			t->rng = 1;
		t->rcap = 65536;
		if ((t->rbuf = malloc(t->rcap)) == NULL) {
			perror("loadgen: malloc");
			rc = 1;
			goto out;
		}
	}
	for (i = 0; i < cfg.connections; i++) {
		if ((err = pthread_create(&th[i].thread, NULL, lg_thread_main,
		    &th[i])) != 0) {
			fprintf(stderr, "loadgen: pthread_create: %s\n", strerror(err));
			rc = 1;
			goto out;
		}
		th[i].started = true;
		n++;
	}
	for (i = 0; i < cfg.connections; i++) {
		pthread_join(th[i].thread, NULL);
		th[i].started = false;
		good += th[i].out[LG_OK];
	}
	if (subs.started)
		usleep(200000);	/* the pokes of the last writes */
	lg_report(&cfg, th, cfg.connections, &clk, atomic_load(&subs.pokes));
	rc = good > 0 ? 0 : 1;
	goto out;
bad:
	lg_usage(stderr);
	rc = 2;
out:
	if (th != NULL) {
		/* Only after a failed start: let the started threads run out. */
		for (i = 0; i < n; i++)
			if (th[i].started)
				pthread_join(th[i].thread, NULL);
		for (i = 0; i < cfg.connections; i++)
			free(th[i].rbuf);
		free(th);
	}
	lg_subs_stop(&subs);
	return rc;
}
