/*
 * tests/crash/crashwriter.c - the load and the checks of the crash loop
 * (tests/crash/crash-loop): concurrent writers that log every answer, and
 * a verifier that holds the store to those answers after a kill -9.
 *
 *   crashwriter freeport
 *	Prints a free TCP port on 127.0.0.1.
 *
 *   crashwriter write --port P --token-file F --round R --log L
 *		[--millis M] [--threads N] [--ev-threads K]
 *	Runs N writer threads for M ms against http://127.0.0.1:P/rpc, each
 *	on its own keep-alive HTTP/1.1 connection (plain sockets).  Threads
 *	0..K-1 own their streams "r<R>ev<t>-<k>" and write with
 *	expectedVersion; the others share four streams "r<R>sh-<k>" and write
 *	without.  Every message carries a unique marker {"w":"<R>-<t>-<seq>"}.
 *	After each answer one line goes to L with a single write(2) (O_APPEND),
 *	before the next request:
 *	    A marker stream position globalPosition   acknowledged (200)
 *	    E marker stream status code               refused by evdb itself
 *	    U marker stream reason                    no usable answer: a lost
 *	        connection, a timeout, or nginx's own 5xx (evdb unreachable)
 *	    N marker stream reason                    never sent (connect failed)
 *	An expectedVersion thread moves to a fresh stream after a U, because
 *	it no longer knows the version of the old one.
 *
 *   crashwriter verify --round R --log L --from G
 *		(--port P --token-file F | --rows-tsv FILE)
 *	Reads the messages with global position >= G, through the RPC API
 *	(category.get "" with batchSize -1, then stream.get with batchSize -1
 *	for every stream seen, which must agree) or from a TSV dump made with
 *	the sqlite3 CLI (global_position, stream_name, position, data.w), and
 *	checks them against round R of the log:
 *	  - every A is present once, at exactly its position and global
 *	    position, with its marker;
 *	  - no E or N is present;
 *	  - a U is present at most once;
 *	  - every row carries a marker of the log (no phantom write), and no
 *	    marker appears twice;
 *	  - global positions strictly increase; each stream's positions are
 *	    0, 1, 2, ... in global order.
 *	Through the API it then writes one more message to every stream of the
 *	round with expectedVersion = its last position, which must land right
 *	after it (the recovered store takes writes), and logs those as A lines.
 *	Prints one line of counts ending in "head=<highest global position>";
 *	exits 1, with the reasons on stderr, when a check fails.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/* Seconds a request may take before it counts as unanswered. */
#define CW_IO_TIMEOUT_S 5
/* Shared streams the non-expectedVersion threads write to. */
#define CW_SHARED_STREAMS 4
/* Most writer threads. */
#define CW_MAX_THREADS 64
/* Largest response accepted (a verification read of one round). */
#define CW_MAX_RESPONSE (256u << 20)
/* Most problems printed before the rest are only counted. */
#define CW_MAX_REPORTS 20

/* A growable byte string. */
struct cw_str {
	char *p;		/* NUL-terminated storage, or NULL */
	size_t len;		/* bytes used */
	size_t cap;		/* bytes allocated */
};

/* One keep-alive HTTP connection to nginx. */
struct cw_http {
	int port;		/* 127.0.0.1:port */
	int fd;			/* -1 when not connected */
	const char *token;	/* bearer token */
	struct cw_str in;	/* bytes read and not yet consumed */
};

/* The outcome of one request. */
enum cw_outcome {
	CW_ANSWERED,		/* a complete HTTP response */
	CW_LOST,		/* sent (maybe partly), no complete response */
	CW_NOT_SENT		/* no connection could be made */
};

/* Settings of the write command, shared read-only by the threads. */
struct cw_write_opts {
	int port;		/* nginx's port */
	const char *token;	/* admin token */
	int round;		/* round number, part of stream names and markers */
	int log_fd;		/* O_APPEND log */
	int threads;		/* writer threads */
	int ev_threads;		/* of which write with expectedVersion */
	int64_t deadline_ms;	/* monotonic time at which to stop */
};

/* One writer thread. */
struct cw_writer {
	const struct cw_write_opts *o;	/* shared settings */
	int id;				/* thread number */
	pthread_t thread;		/* the thread */
	long acked;			/* A lines written */
	long other;			/* E, U and N lines written */
};

/* ---- small helpers --------------------------------------------------- */

static void
cw_die(const char *fmt, ...)
{
	va_list ap;

	fputs("crashwriter: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
cw_str_reserve(struct cw_str *s, size_t extra)
{
	size_t want = s->len + extra + 1;

	if (want <= s->cap)
		return;
	if (s->cap == 0)
		s->cap = 4096;
	while (s->cap < want)
		s->cap *= 2;
	if ((s->p = realloc(s->p, s->cap)) == NULL)
		cw_die("out of memory");
}

static void
cw_str_append(struct cw_str *s, const void *p, size_t n)
{
	cw_str_reserve(s, n);
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void
cw_str_printf(struct cw_str *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
cw_str_printf(struct cw_str *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		cw_die("vsnprintf failed");
	cw_str_reserve(s, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

/* Removes the first n bytes. */
static void
cw_str_consume(struct cw_str *s, size_t n)
{
	memmove(s->p, s->p + n, s->len - n);
	s->len -= n;
	s->p[s->len] = '\0';
}

static int64_t
cw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the first line of path (a token) into a malloc'd string. */
static char *
cw_read_token(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
		cw_die("cannot read the token from %s", path);
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return strdup(line);
}

/* Writes one log line with a single write(2). */
static void
cw_log(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
cw_log(int fd, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		cw_die("log line too long");
	if (write(fd, line, (size_t)n) != n)
		cw_die("cannot write the log: %s", strerror(errno));
}

/* ---- HTTP/1.1 over plain sockets -------------------------------------- */

static void
cw_http_close(struct cw_http *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->in.len = 0;
}

static bool
cw_http_connect(struct cw_http *h)
{
	struct sockaddr_in sa;
	struct timeval tv = { CW_IO_TIMEOUT_S, 0 };
	int one = 1;

	if (h->fd >= 0)
		return true;
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)h->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(h->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		cw_http_close(h);
		return false;
	}
	return true;
}

/* Reads more bytes into h->in; false on EOF, error or timeout. */
static bool
cw_http_fill(struct cw_http *h)
{
	ssize_t n;

	cw_str_reserve(&h->in, 65536);
	do
		n = read(h->fd, h->in.p + h->in.len, 65536);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false;
	h->in.len += (size_t)n;
	h->in.p[h->in.len] = '\0';
	return h->in.len <= CW_MAX_RESPONSE;
}

/* Finds header name (lowercase, with the colon) in head; its value or NULL. */
static const char *
cw_header(const char *head, const char *name)
{
	const char *p = head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0) {
			p += n;
			while (*p == ' ')
				p++;
			return p;
		}
	}
	return NULL;
}

/*
 * Reads one response: *status and the body into body.  False when the
 * connection failed before a complete response arrived.
 */
static bool
cw_http_read(struct cw_http *h, int *status, struct cw_str *body)
{
	char *end;
	const char *v;
	size_t head_len, need;
	bool chunked, close_after;

	body->len = 0;
	while ((end = strstr(h->in.p != NULL ? h->in.p : "", "\r\n\r\n")) == NULL)
		if (!cw_http_fill(h))
			return false;
	head_len = (size_t)(end - h->in.p) + 4;
	*end = '\0';	/* the head as a C string, for the parsing below */
	if (sscanf(h->in.p, "HTTP/1.%*d %d", status) != 1)
		return false;
	v = cw_header(h->in.p, "transfer-encoding:");
	chunked = v != NULL && strncasecmp(v, "chunked", 7) == 0;
	v = cw_header(h->in.p, "connection:");
	close_after = v != NULL && strncasecmp(v, "close", 5) == 0;
	if (chunked) {
		size_t at = head_len;

		for (;;) {
			char *crlf, *ep;
			unsigned long n;

			while ((crlf = strstr(h->in.p + at, "\r\n")) == NULL)
				if (!cw_http_fill(h))
					return false;
			n = strtoul(h->in.p + at, &ep, 16);
			need = (size_t)(crlf - h->in.p) + 2 + n + 2;
			while (h->in.len < need)
				if (!cw_http_fill(h))
					return false;
			cw_str_append(body, crlf + 2, n);
			at = need;
			if (n == 0)
				break;
		}
		cw_str_consume(&h->in, at);
	} else {
		v = cw_header(h->in.p, "content-length:");
		if (v == NULL)
			return false;	/* keep-alive needs a length */
		need = head_len + strtoul(v, NULL, 10);
		while (h->in.len < need)
			if (!cw_http_fill(h))
				return false;
		cw_str_append(body, h->in.p + head_len, need - head_len);
		cw_str_consume(&h->in, need);
	}
	if (close_after)
		cw_http_close(h);
	return true;
}

/* POSTs body to /rpc and reads the answer. */
static enum cw_outcome
cw_rpc(struct cw_http *h, const char *json, size_t len, int *status,
    struct cw_str *answer)
{
	struct cw_str req = { NULL, 0, 0 };
	size_t off = 0;
	enum cw_outcome res = CW_LOST;

	if (!cw_http_connect(h))
		return CW_NOT_SENT;
	cw_str_printf(&req, "POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n", h->token, len);
	cw_str_append(&req, json, len);
	while (off < req.len) {
		ssize_t n = send(h->fd, req.p + off, req.len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	if (cw_http_read(h, status, answer))
		res = CW_ANSWERED;
out:
	if (res != CW_ANSWERED)
		cw_http_close(h);
	free(req.p);
	return res;
}

/* The error code of an error envelope, copied into code[0..size). */
static void
cw_error_code(const struct cw_str *answer, char *code, size_t size)
{
	struct json_object *root = json_tokener_parse(answer->p != NULL ? answer->p : "");
	struct json_object *err = NULL, *c = NULL;

	snprintf(code, size, "-");
	if (root != NULL && json_object_object_get_ex(root, "error", &err) &&
	    json_object_object_get_ex(err, "code", &c) &&
	    json_object_is_type(c, json_type_string))
		snprintf(code, size, "%s", json_object_get_string(c));
	json_object_put(root);
}

/*
 * True when an error answer came from nginx for an unreachable or failed
 * evdb (nothing can be said about the write), not from evdb itself.
 */
static bool
cw_is_proxy_error(int status, const char *code)
{
	if (status == 502 || status == 504)
		return true;
	return (status == 503 || status == 500) &&
	    (strcmp(code, "BACKEND_UNAVAILABLE") == 0 ||
	    strcmp(code, "BACKEND_TIMEOUT") == 0 || strcmp(code, "-") == 0 ||
	    (status == 500 && strcmp(code, "INTERNAL_ERROR") == 0));
}

/* Reads {"globalPosition":G,"position":P}. */
static bool
cw_parse_write(const struct cw_str *answer, int64_t *pos, int64_t *gpos)
{
	struct json_object *root = json_tokener_parse(answer->p != NULL ? answer->p : "");
	struct json_object *p = NULL, *g = NULL;
	bool ok = root != NULL &&
	    json_object_object_get_ex(root, "position", &p) &&
	    json_object_object_get_ex(root, "globalPosition", &g) &&
	    json_object_is_type(p, json_type_int) &&
	    json_object_is_type(g, json_type_int);

	if (ok) {
		*pos = json_object_get_int64(p);
		*gpos = json_object_get_int64(g);
	}
	json_object_put(root);
	return ok;
}

/* ---- write ------------------------------------------------------------ */

static void *
cw_writer_main(void *arg)
{
	struct cw_writer *w = arg;
	const struct cw_write_opts *o = w->o;
	struct cw_http h = { o->port, -1, o->token, { NULL, 0, 0 } };
	struct cw_str body = { NULL, 0, 0 }, answer = { NULL, 0, 0 };
	bool ev = w->id < o->ev_threads;
	unsigned int seed = (unsigned int)(o->round * 7919 + w->id * 104729);
	int64_t version = -1, pos, gpos;
	long seq = 0;
	int ev_stream = 0, status = 0;
	char stream[64], marker[64], code[64];

	while (cw_now_ms() < o->deadline_ms) {
		enum cw_outcome res;

		seq++;
		snprintf(marker, sizeof(marker), "%d-%d-%ld", o->round, w->id, seq);
		if (ev)
			snprintf(stream, sizeof(stream), "r%dev%d-%d", o->round, w->id,
			    ev_stream);
		else
			snprintf(stream, sizeof(stream), "r%dsh-%d", o->round,
			    (int)(rand_r(&seed) % CW_SHARED_STREAMS));
		body.len = 0;
		cw_str_printf(&body, "[\"stream.write\",\"%s\",{\"type\":\"Crash\","
		    "\"data\":{\"w\":\"%s\"}}", stream, marker);
		if (ev)
			cw_str_printf(&body, ",{\"expectedVersion\":%" PRId64 "}", version);
		cw_str_append(&body, "]", 1);

		res = cw_rpc(&h, body.p, body.len, &status, &answer);
		if (res == CW_NOT_SENT) {
			cw_log(o->log_fd, "N\t%s\t%s\tconnect\n", marker, stream);
			w->other++;
			usleep(10000);	/* nginx is down: do not spin */
			continue;
		}
		if (res == CW_LOST) {
			cw_log(o->log_fd, "U\t%s\t%s\tlost\n", marker, stream);
			w->other++;
			if (ev) {
				ev_stream++;
				version = -1;
			}
			continue;
		}
		if (status == 200 && cw_parse_write(&answer, &pos, &gpos)) {
			cw_log(o->log_fd, "A\t%s\t%s\t%" PRId64 "\t%" PRId64 "\n", marker,
			    stream, pos, gpos);
			w->acked++;
			version = pos;
			continue;
		}
		cw_error_code(&answer, code, sizeof(code));
		w->other++;
		if (status == 200 || cw_is_proxy_error(status, code)) {
			/* A 200 we cannot read is as good as no answer. */
			cw_log(o->log_fd, "U\t%s\t%s\thttp-%d-%s\n", marker, stream, status,
			    code);
			if (ev) {
				ev_stream++;
				version = -1;
			}
			usleep(2000);
			continue;
		}
		cw_log(o->log_fd, "E\t%s\t%s\t%d\t%s\n", marker, stream, status, code);
		if (ev) {
			/* Should not happen; start over on a fresh stream. */
			ev_stream++;
			version = -1;
		}
	}
	cw_http_close(&h);
	free(h.in.p);
	free(body.p);
	free(answer.p);
	return NULL;
}

static int
cw_cmd_write(int port, const char *token, int round, const char *log_path,
    int millis, int threads, int ev_threads)
{
	struct cw_write_opts o;
	struct cw_writer w[CW_MAX_THREADS];
	long acked = 0, other = 0;
	int i;

	if (threads < 1 || threads > CW_MAX_THREADS || ev_threads < 0 ||
	    ev_threads > threads)
		cw_die("bad thread counts");
	memset(&o, 0, sizeof(o));
	o.port = port;
	o.token = token;
	o.round = round;
	o.threads = threads;
	o.ev_threads = ev_threads;
	o.log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (o.log_fd < 0)
		cw_die("cannot open %s: %s", log_path, strerror(errno));
	o.deadline_ms = cw_now_ms() + millis;
	for (i = 0; i < threads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].o = &o;
		w[i].id = i;
		if (pthread_create(&w[i].thread, NULL, cw_writer_main, &w[i]) != 0)
			cw_die("pthread_create failed");
	}
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		acked += w[i].acked;
		other += w[i].other;
	}
	close(o.log_fd);
	printf("acked=%ld other=%ld\n", acked, other);
	return 0;
}

/* ---- verify ----------------------------------------------------------- */

/* What the log says of one write. */
struct cw_entry {
	char kind;		/* 'A', 'E', 'U' or 'N' */
	char *marker;		/* owned */
	char *stream;		/* owned */
	int64_t pos;		/* A: acknowledged position */
	int64_t gpos;		/* A: acknowledged global position */
	int seen;		/* rows carrying the marker */
};

/* A stored message as read back. */
struct cw_row {
	int64_t gpos;		/* global position */
	char *stream;		/* owned */
	int64_t pos;		/* stream position */
	char *marker;		/* owned; data.w, or "" */
};

struct cw_verify {
	struct cw_entry *e;	/* log entries of the round, sorted by marker */
	size_t ne;		/* entries */
	struct cw_row *rows;	/* rows, in the order read */
	size_t nrows;		/* rows */
	size_t rows_cap;	/* rows allocated */
	long problems;		/* failed checks */
};

static void
cw_problem(struct cw_verify *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
cw_problem(struct cw_verify *v, const char *fmt, ...)
{
	va_list ap;

	if (v->problems++ >= CW_MAX_REPORTS)
		return;
	fputs("crashwriter verify: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
cw_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cw_entry *)a)->marker,
	    ((const struct cw_entry *)b)->marker);
}

static struct cw_entry *
cw_find(struct cw_verify *v, const char *marker)
{
	struct cw_entry key;

	key.marker = (char *)marker;
	return bsearch(&key, v->e, v->ne, sizeof(*v->e), cw_entry_cmp);
}

/* Loads the log lines whose marker starts with "<round>-". */
static void
cw_load_log(struct cw_verify *v, const char *path, int round)
{
	FILE *f = fopen(path, "r");
	char line[1024], prefix[32];
	size_t cap = 0, i;

	if (f == NULL)
		cw_die("cannot open %s: %s", path, strerror(errno));
	snprintf(prefix, sizeof(prefix), "%d-", round);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fields[5], *save = NULL, *t;
		int nf = 0;
		struct cw_entry *e;

		line[strcspn(line, "\n")] = '\0';
		for (t = strtok_r(line, "\t", &save); t != NULL && nf < 5;
		    t = strtok_r(NULL, "\t", &save))
			fields[nf++] = t;
		if (nf < 3 || strlen(fields[0]) != 1 || strchr("AEUN", fields[0][0]) == NULL)
			cw_die("malformed log line in %s", path);
		if (strncmp(fields[1], prefix, strlen(prefix)) != 0)
			continue;
		if (v->ne == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((v->e = realloc(v->e, cap * sizeof(*v->e))) == NULL)
				cw_die("out of memory");
		}
		e = &v->e[v->ne++];
		memset(e, 0, sizeof(*e));
		e->kind = fields[0][0];
		e->marker = strdup(fields[1]);
		e->stream = strdup(fields[2]);
		if (e->kind == 'A') {
			if (nf != 5)
				cw_die("malformed A line in %s", path);
			e->pos = strtoll(fields[3], NULL, 10);
			e->gpos = strtoll(fields[4], NULL, 10);
		}
	}
	fclose(f);
	qsort(v->e, v->ne, sizeof(*v->e), cw_entry_cmp);
	for (i = 1; i < v->ne; i++)
		if (strcmp(v->e[i - 1].marker, v->e[i].marker) == 0)
			cw_die("marker %s is twice in the log", v->e[i].marker);
}

static void
cw_add_row(struct cw_verify *v, int64_t gpos, const char *stream, int64_t pos,
    const char *marker)
{
	struct cw_row *r;

	if (v->nrows == v->rows_cap) {
		v->rows_cap = v->rows_cap ? v->rows_cap * 2 : 4096;
		if ((v->rows = realloc(v->rows, v->rows_cap * sizeof(*v->rows))) == NULL)
			cw_die("out of memory");
	}
	r = &v->rows[v->nrows++];
	r->gpos = gpos;
	r->stream = strdup(stream);
	r->pos = pos;
	r->marker = strdup(marker);
}

/* The marker in a message's data JSON text or object. */
static const char *
cw_row_marker(struct json_object *data)
{
	struct json_object *w = NULL;

	if (data != NULL && json_object_object_get_ex(data, "w", &w) &&
	    json_object_is_type(w, json_type_string))
		return json_object_get_string(w);
	return "";
}

/* Issues an RPC that must answer 200 with JSON; returns the parsed tree. */
static struct json_object *
cw_rpc_json(struct cw_http *h, const char *json)
{
	struct cw_str answer = { NULL, 0, 0 };
	struct json_object *root = NULL;
	int status = 0, tries;

	for (tries = 0; tries < 3; tries++) {
		if (cw_rpc(h, json, strlen(json), &status, &answer) == CW_ANSWERED)
			break;
		usleep(100000);
	}
	if (tries == 3 || status != 200)
		cw_die("%s: %s %s", json, tries == 3 ? "no answer" : "status",
		    answer.p != NULL ? answer.p : "");
	root = json_tokener_parse(answer.p);
	if (root == NULL)
		cw_die("%s: an answer that is not JSON", json);
	free(answer.p);
	return root;
}

/* Reads the rows from global position `from` on through the API. */
static void
cw_read_rpc(struct cw_verify *v, struct cw_http *h, int64_t from)
{
	struct json_object *all, *one;
	char req[256];
	size_t i, j, n;

	snprintf(req, sizeof(req), "[\"category.get\",\"\",{\"globalPosition\":%" PRId64
	    ",\"batchSize\":-1}]", from);
	all = cw_rpc_json(h, req);
	if (!json_object_is_type(all, json_type_array))
		cw_die("category.get: not an array");
	n = json_object_array_length(all);
	for (i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(all, i);

		/* [id, stream, type, position, globalPosition, data, metadata, time] */
		if (!json_object_is_type(m, json_type_array) ||
		    json_object_array_length(m) != 8)
			cw_die("category.get: row %zu is malformed", i);
		cw_add_row(v, json_object_get_int64(json_object_array_get_idx(m, 4)),
		    json_object_get_string(json_object_array_get_idx(m, 1)),
		    json_object_get_int64(json_object_array_get_idx(m, 3)),
		    cw_row_marker(json_object_array_get_idx(m, 5)));
	}
	json_object_put(all);

	/* stream.get of every stream must show the same rows, from position 0. */
	for (i = 0; i < v->nrows; i++) {
		const char *s = v->rows[i].stream;
		size_t k = 0;

		for (j = 0; j < i; j++)
			if (strcmp(v->rows[j].stream, s) == 0)
				break;
		if (j < i)
			continue;	/* done already */
		snprintf(req, sizeof(req), "[\"stream.get\",\"%s\",{\"batchSize\":-1}]", s);
		one = cw_rpc_json(h, req);
		if (!json_object_is_type(one, json_type_array))
			cw_die("stream.get %s: not an array", s);
		n = json_object_array_length(one);
		for (j = i; j < v->nrows; j++) {
			struct json_object *m;

			if (strcmp(v->rows[j].stream, s) != 0)
				continue;
			if (k >= n) {
				k++;
				continue;
			}
			/* [id, type, position, globalPosition, data, metadata, time] */
			m = json_object_array_get_idx(one, k++);
			if (json_object_get_int64(json_object_array_get_idx(m, 2)) !=
			    v->rows[j].pos ||
			    json_object_get_int64(json_object_array_get_idx(m, 3)) !=
			    v->rows[j].gpos ||
			    strcmp(cw_row_marker(json_object_array_get_idx(m, 4)),
			    v->rows[j].marker) != 0)
				cw_problem(v, "stream.get %s disagrees with category.get at"
				    " global position %" PRId64, s, v->rows[j].gpos);
		}
		if (k != n)
			cw_problem(v, "stream %s: stream.get returns %zu rows, category.get"
			    " %zu", s, n, k);
		json_object_put(one);
	}
}

/* Reads rows from a TSV dump: gpos, stream, position, marker. */
static void
cw_read_tsv(struct cw_verify *v, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (f == NULL)
		cw_die("cannot open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fields[4], *save = NULL, *t;
		int nf = 0;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		for (t = strtok_r(line, "\t", &save); t != NULL && nf < 4;
		    t = strtok_r(NULL, "\t", &save))
			fields[nf++] = t;
		if (nf < 3)
			cw_die("malformed row in %s", path);
		cw_add_row(v, strtoll(fields[0], NULL, 10), fields[1],
		    strtoll(fields[2], NULL, 10), nf == 4 ? fields[3] : "");
	}
	fclose(f);
}

/* Per-stream bookkeeping of check_rows. */
struct cw_stream_seen {
	const char *name;	/* borrowed from a row */
	int64_t next;		/* the position the next row must have */
};

/* The invariants of the rows themselves and against the log. */
static void
cw_check(struct cw_verify *v, int round, int64_t from, long *counts)
{
	struct cw_stream_seen *ss = NULL;
	size_t nss = 0, i, j;
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "%d-", round);
	for (i = 0; i < v->nrows; i++) {
		struct cw_row *r = &v->rows[i];
		struct cw_entry *e;

		if (r->gpos < from)
			cw_problem(v, "row at global position %" PRId64 " below %" PRId64,
			    r->gpos, from);
		if (i > 0 && r->gpos <= v->rows[i - 1].gpos)
			cw_problem(v, "global positions %" PRId64 " then %" PRId64
			    ": not increasing", v->rows[i - 1].gpos, r->gpos);
		for (j = 0; j < nss; j++)
			if (strcmp(ss[j].name, r->stream) == 0)
				break;
		if (j == nss) {
			if ((ss = realloc(ss, (nss + 1) * sizeof(*ss))) == NULL)
				cw_die("out of memory");
			ss[nss].name = r->stream;
			ss[nss++].next = 0;
		}
		if (r->pos != ss[j].next)
			cw_problem(v, "stream %s: position %" PRId64 " where %" PRId64
			    " was due (global %" PRId64 ")", r->stream, r->pos, ss[j].next,
			    r->gpos);
		ss[j].next = r->pos + 1;
		if (strncmp(r->marker, prefix, strlen(prefix)) != 0 ||
		    (e = cw_find(v, r->marker)) == NULL) {
			cw_problem(v, "a write nobody made: \"%s\" in %s at %" PRId64
			    "/%" PRId64, r->marker, r->stream, r->pos, r->gpos);
			continue;
		}
		if (++e->seen > 1)
			cw_problem(v, "write %s is stored twice (again at global %" PRId64
			    ")", r->marker, r->gpos);
		if (strcmp(e->stream, r->stream) != 0)
			cw_problem(v, "write %s went to %s, not %s", r->marker, r->stream,
			    e->stream);
		switch (e->kind) {
		case 'A':
			if (e->pos != r->pos || e->gpos != r->gpos)
				cw_problem(v, "write %s acknowledged at %" PRId64 "/%" PRId64
				    " is stored at %" PRId64 "/%" PRId64, e->marker, e->pos,
				    e->gpos, r->pos, r->gpos);
			break;
		case 'E':
			cw_problem(v, "write %s was refused by evdb but is stored", e->marker);
			break;
		case 'N':
			cw_problem(v, "write %s was never sent but is stored", e->marker);
			break;
		default:
			break;
		}
	}
	memset(counts, 0, 5 * sizeof(*counts));
	for (i = 0; i < v->ne; i++) {
		struct cw_entry *e = &v->e[i];

		switch (e->kind) {
		case 'A':
			counts[0]++;
			if (e->seen == 0)
				cw_problem(v, "acknowledged write %s (%s %" PRId64 "/%" PRId64
				    ") is missing", e->marker, e->stream, e->pos, e->gpos);
			break;
		case 'U':
			counts[e->seen > 0 ? 1 : 2]++;
			break;
		case 'E':
			counts[3]++;
			break;
		default:
			counts[4]++;
			break;
		}
	}
	free(ss);
}

/*
 * Writes one more message to every stream of the round with
 * expectedVersion = its last position; each must land right after it.
 */
static long
cw_post_writes(struct cw_verify *v, struct cw_http *h, int round,
    const char *log_path, int64_t *head)
{
	struct cw_str body = { NULL, 0, 0 }, answer = { NULL, 0, 0 };
	int64_t pos, gpos;
	long n = 0;
	size_t i, j;
	int fd, status = 0;
	char marker[64];

	fd = open(log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		cw_die("cannot open %s: %s", log_path, strerror(errno));
	for (i = v->nrows; i-- > 0;) {
		const struct cw_row *r = &v->rows[i];

		for (j = i + 1; j < v->nrows; j++)
			if (strcmp(v->rows[j].stream, r->stream) == 0)
				break;
		if (j < v->nrows)
			continue;	/* not the stream's last row */
		snprintf(marker, sizeof(marker), "%d-post-%ld", round, n);
		body.len = 0;
		cw_str_printf(&body, "[\"stream.write\",\"%s\",{\"type\":\"After\","
		    "\"data\":{\"w\":\"%s\"}},{\"expectedVersion\":%" PRId64 "}]",
		    r->stream, marker, r->pos);
		if (cw_rpc(h, body.p, body.len, &status, &answer) != CW_ANSWERED ||
		    status != 200 || !cw_parse_write(&answer, &pos, &gpos)) {
			cw_problem(v, "after the restart, a write to %s at version %" PRId64
			    " failed: %d %s", r->stream, r->pos, status,
			    answer.p != NULL ? answer.p : "(no answer)");
			continue;
		}
		cw_log(fd, "A\t%s\t%s\t%" PRId64 "\t%" PRId64 "\n", marker, r->stream,
		    pos, gpos);
		if (pos != r->pos + 1 || gpos <= *head)
			cw_problem(v, "after the restart, a write to %s landed at %" PRId64
			    "/%" PRId64 ", after %" PRId64 "/%" PRId64, r->stream, pos, gpos,
			    r->pos, *head);
		if (gpos > *head)
			*head = gpos;
		n++;
	}
	close(fd);
	free(body.p);
	free(answer.p);
	return n;
}

static int
cw_cmd_verify(int port, const char *token, int round, const char *log_path,
    int64_t from, const char *tsv)
{
	struct cw_verify v;
	struct cw_http h = { port, -1, token, { NULL, 0, 0 } };
	long counts[5], post = 0;
	int64_t head = from - 1;
	size_t i, streams = 0;

	memset(&v, 0, sizeof(v));
	cw_load_log(&v, log_path, round);
	if (tsv != NULL)
		cw_read_tsv(&v, tsv);
	else
		cw_read_rpc(&v, &h, from);
	cw_check(&v, round, from, counts);
	for (i = 0; i < v.nrows; i++) {
		if (v.rows[i].gpos > head)
			head = v.rows[i].gpos;
		if (v.rows[i].pos == 0)
			streams++;
	}
	if (tsv == NULL && v.problems == 0)
		post = cw_post_writes(&v, &h, round, log_path, &head);
	printf("acked=%ld unknown_present=%ld unknown_absent=%ld refused=%ld"
	    " not_sent=%ld rows=%zu streams=%zu post_writes=%ld problems=%ld"
	    " head=%" PRId64 "\n", counts[0], counts[1], counts[2], counts[3],
	    counts[4], v.nrows, streams, post, v.problems, head);
	cw_http_close(&h);
	free(h.in.p);
	for (i = 0; i < v.ne; i++) {
		free(v.e[i].marker);
		free(v.e[i].stream);
	}
	for (i = 0; i < v.nrows; i++) {
		free(v.rows[i].stream);
		free(v.rows[i].marker);
	}
	free(v.e);
	free(v.rows);
	return v.problems == 0 ? 0 : 1;
}

/* ---- main ------------------------------------------------------------- */

/* ---- lifecycle: deletes in flight and a retention sweep ---------------- */

/* Messages written to a deleted stream before its delete. */
#define CW_LC_BEFORE 3
/* maxCount of the round's retention stream. */
#define CW_LC_KEEP 5
/* Most streams one round's lifecycle client touches. */
#define CW_LC_MAX 4096

/* One RPC of the lifecycle client: 'A' (200), 'E' (evdb refused), 'U'. */
static char
cw_lc_call(struct cw_http *h, const char *json, struct cw_str *answer,
    int64_t *pos)
{
	char code[64];
	int64_t g;
	int status = 0;

	answer->len = 0;
	if (cw_rpc(h, json, strlen(json), &status, answer) != CW_ANSWERED)
		return 'U';
	if (status == 200) {
		if (pos != NULL && !cw_parse_write(answer, pos, &g))
			return 'U';
		return 'A';
	}
	cw_error_code(answer, code, sizeof(code));
	return cw_is_proxy_error(status, code) ? 'U' : 'E';
}

/*
 * crashwriter lifecycle: one client, in the namespace of the token, for M
 * ms.  Gives stream r<R>rt maxCount CW_LC_KEEP, then for k = 0, 1, ...
 * writes CW_LC_BEFORE messages to r<R>d-<k> with expectedVersion, deletes
 * it (k % 3: 0 truncate before 2, 1 soft, 2 hard), writes once more, and
 * writes once to r<R>rt.  Logs, one line per answer:
 *   W stream position A|E|U     a write (E/U: the position it asked for)
 *   D stream t|s|h before A|E|U a delete of the positions below `before`
 *   R stream maxCount A|E|U     the retention setting
 * and stops at the first U: after it the stack is down.
 */
static int
cw_cmd_lifecycle(int port, const char *token, int round, const char *log_path,
    int millis)
{
	static const char kinds[3] = { 't', 's', 'h' };
	struct cw_http h = { port, -1, token, { NULL, 0, 0 } };
	struct cw_str answer = { NULL, 0, 0 };
	int64_t deadline = cw_now_ms() + millis, pos;
	char json[512], rt[64], st[64], r;
	int fd, k, i;

	if ((fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0644)) < 0)
		cw_die("%s: %s", log_path, strerror(errno));
	snprintf(rt, sizeof(rt), "r%drt", round);
	snprintf(json, sizeof(json), "[\"stream.setRetention\",\"%s\","
	    "{\"maxCount\":%d}]", rt, CW_LC_KEEP);
	r = cw_lc_call(&h, json, &answer, NULL);
	cw_log(fd, "R\t%s\t%d\t%c\n", rt, CW_LC_KEEP, r);
	for (k = 0; r != 'U' && k < CW_LC_MAX && cw_now_ms() < deadline; k++) {
		snprintf(st, sizeof(st), "r%dd-%d", round, k);
		for (i = 0; i <= CW_LC_BEFORE && r != 'U'; i++) {
			if (i == CW_LC_BEFORE) {
				if (kinds[k % 3] == 't')
					snprintf(json, sizeof(json), "[\"stream."
					    "truncate\",\"%s\",{\"before\":2}]", st);
				else
					snprintf(json, sizeof(json), "[\"stream."
					    "delete\",\"%s\",{\"hard\":%s}]", st,
					    kinds[k % 3] == 'h' ? "true" : "false");
				r = cw_lc_call(&h, json, &answer, NULL);
				cw_log(fd, "D\t%s\t%c\t%d\t%c\n", st, kinds[k % 3],
				    kinds[k % 3] == 't' ? 2 : CW_LC_BEFORE, r);
				if (r == 'U')
					break;
			}
			/* After the delete: position CW_LC_BEFORE (410 if hard). */
			if (i < CW_LC_BEFORE)
				snprintf(json, sizeof(json), "[\"stream.write\","
				    "\"%s\",{\"type\":\"L\",\"data\":{}},"
				    "{\"expectedVersion\":%d}]", st, i - 1);
			else
				snprintf(json, sizeof(json), "[\"stream.write\","
				    "\"%s\",{\"type\":\"L\",\"data\":{}}]", st);
			pos = i;
			r = cw_lc_call(&h, json, &answer, &pos);
			cw_log(fd, "W\t%s\t%lld\t%c\n", st, (long long)pos, r);
		}
		if (r == 'U')
			break;
		snprintf(json, sizeof(json), "[\"stream.write\",\"%s\","
		    "{\"type\":\"R\",\"data\":{}}]", rt);
		pos = -1;
		r = cw_lc_call(&h, json, &answer, &pos);
		cw_log(fd, "W\t%s\t%lld\t%c\n", rt, (long long)pos, r);
	}
	close(fd);
	cw_http_close(&h);
	free(h.in.p);
	free(answer.p);
	printf("lifecycle streams=%d\n", k);
	return 0;
}

/* One stream of the lifecycle log. */
struct cw_lc_stream {
	char name[64];
	char w[CW_LC_BEFORE + 1];	/* status of the write at each position */
	char d, kind;			/* the delete's status ('\0': none), t/s/h */
	int before;			/* first position the delete keeps */
	bool retention;			/* the r<R>rt stream */
	char r;				/* its setRetention's status */
	int64_t *acked;			/* retention stream: acknowledged positions */
	size_t nacked, cap;
};

static struct cw_lc_stream *
cw_lc_find(struct cw_lc_stream *s, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(s[i].name, name) == 0)
			return &s[i];
	if (*n == CW_LC_MAX + 1)
		cw_die("too many lifecycle streams");
	memset(&s[*n], 0, sizeof(s[*n]));
	snprintf(s[*n].name, sizeof(s[*n].name), "%s", name);
	return &s[(*n)++];
}

/* The positions stream.get answers, in order (a 410 reads as none). */
static int64_t *
cw_lc_positions(struct cw_http *h, const char *stream, size_t *n)
{
	struct cw_str answer = { NULL, 0, 0 };
	struct json_object *root;
	int64_t *p;
	char json[256];
	int status = 0, tries;
	size_t i;

	snprintf(json, sizeof(json), "[\"stream.get\",\"%s\",{\"batchSize\":-1}]",
	    stream);
	for (tries = 0; tries < 3; tries++) {
		if (cw_rpc(h, json, strlen(json), &status, &answer) == CW_ANSWERED)
			break;
		usleep(100000);
	}
	*n = 0;
	if (tries == 3 || (status != 200 && status != 410))
		cw_die("%s: %s", json, tries == 3 ? "no answer" : answer.p);
	if (status == 410) {
		free(answer.p);
		return NULL;
	}
	root = json_tokener_parse(answer.p);
	if (!json_object_is_type(root, json_type_array))
		cw_die("%s: not an array", json);
	*n = json_object_array_length(root);
	p = calloc(*n + 1, sizeof(*p));
	for (i = 0; i < *n; i++)
		p[i] = json_object_get_int64(json_object_array_get_idx(
		    json_object_array_get_idx(root, i), 2));
	json_object_put(root);
	free(answer.p);
	return p;
}

/*
 * crashwriter lcverify: holds the store to round R of the lifecycle log.
 * For each deleted stream: its positions are consecutive, each one was
 * written (A or U), every acknowledged write not below an acknowledged (or
 * unanswered) delete's `before` is there, nothing below an acknowledged
 * delete's `before` is, a soft-deleted or truncated stream went on at
 * position 3, and a hard-deleted one refuses a new write.  For the
 * retention stream: consecutive positions, ending at or after the last
 * acknowledged one, holding every acknowledged write among the newest
 * CW_LC_KEEP.
 */
static int
cw_cmd_lcverify(int port, const char *token, int round, const char *log_path)
{
	struct cw_http h = { port, -1, token, { NULL, 0, 0 } };
	struct cw_str answer = { NULL, 0, 0 };
	struct cw_verify v = { NULL, 0, NULL, 0, 0, 0 };
	struct cw_lc_stream *s, *all;
	char line[512], prefix[32], name[64], t, st;
	long long a1, a2;
	size_t n = 0, i, j, np;
	int64_t *p, top;
	long acked = 0, deletes = 0, absent = 0, rt_stored = 0, rt_written = 0;
	FILE *f;

	if ((f = fopen(log_path, "r")) == NULL)
		cw_die("%s: %s", log_path, strerror(errno));
	all = calloc(CW_LC_MAX + 1, sizeof(*all));
	snprintf(prefix, sizeof(prefix), "r%d", round);
	while (fgets(line, sizeof(line), f) != NULL) {
		t = line[0];
		if (t == 'W' && sscanf(line, "W\t%63s\t%lld\t%c", name, &a1, &st) == 3) {
		} else if (t == 'D' && sscanf(line, "D\t%63s\t%c\t%lld\t%c", name,
		    (char *)&a2, &a1, &st) == 4) {
		} else if (t == 'R' && sscanf(line, "R\t%63s\t%lld\t%c", name, &a1,
		    &st) == 3) {
		} else
			cw_die("lifecycle log: bad line: %s", line);
		if (strncmp(name, prefix, strlen(prefix)) != 0 ||
		    (name[strlen(prefix)] != 'd' && name[strlen(prefix)] != 'r'))
			continue;
		s = cw_lc_find(all, &n, name);
		s->retention = name[strlen(prefix)] == 'r';
		if (t == 'R')
			s->r = st;
		else if (t == 'D') {
			s->d = st;
			s->kind = (char)a2;
			s->before = (int)a1;
			deletes += st == 'A';
		} else if (s->retention) {
			if (st == 'A') {
				if (s->nacked == s->cap) {
					s->cap = s->cap ? s->cap * 2 : 64;
					s->acked = realloc(s->acked,
					    s->cap * sizeof(*s->acked));
				}
				s->acked[s->nacked++] = a1;
				acked++;
			}
		} else if (a1 >= 0 && a1 <= CW_LC_BEFORE) {
			s->w[a1] = st;
			acked += st == 'A';
		}
	}
	fclose(f);
	for (i = 0; i < n; i++) {
		s = &all[i];
		p = cw_lc_positions(&h, s->name, &np);
		for (j = 1; j < np; j++)
			if (p[j] != p[j - 1] + 1)
				cw_problem(&v, "%s: position %lld follows %lld",
				    s->name, (long long)p[j], (long long)p[j - 1]);
		if (s->retention) {
			/* The sweep keeps the newest CW_LC_KEEP stored, which
			 * may include an unanswered write after the last A. */
			top = s->nacked > 0 ? s->acked[s->nacked - 1] : -1;
			if (np > 0 && p[np - 1] < top)
				cw_problem(&v, "%s: ends at %lld, position %lld was"
				    " acknowledged", s->name, (long long)p[np - 1],
				    (long long)top);
			for (j = 0; j < s->nacked; j++) {
				int64_t q = s->acked[j];
				size_t k;
				bool found = false;

				if (s->r != 'A' || np == 0 ||
				    q + CW_LC_KEEP > p[np - 1]) {
					for (k = 0; k < np && !found; k++)
						found = p[k] == q;
					if (!found)
						cw_problem(&v, "%s: acknowledged position"
						    " %lld, among the newest %d, is lost",
						    s->name, (long long)q, CW_LC_KEEP);
				} else
					absent++;
			}
			rt_stored += (long)np;
			rt_written += (long)s->nacked;
			free(p);
			continue;
		}
		for (j = 0; j < np; j++)
			if (p[j] < 0 || p[j] > CW_LC_BEFORE ||
			    (s->w[p[j]] != 'A' && s->w[p[j]] != 'U'))
				cw_problem(&v, "%s: position %lld was never written",
				    s->name, (long long)p[j]);
			else if (s->d == 'A' && p[j] < s->before)
				cw_problem(&v, "%s: position %lld is back after an"
				    " acknowledged delete (%c, before %d)", s->name,
				    (long long)p[j], s->kind, s->before);
		for (j = 0; j <= CW_LC_BEFORE; j++) {
			size_t k;
			bool found = false;

			if (s->w[j] != 'A')
				continue;
			if ((s->d == 'A' || s->d == 'U') && (int)j < s->before) {
				absent++;
				continue;
			}
			for (k = 0; k < np && !found; k++)
				found = p[k] == (int64_t)j;
			if (!found)
				cw_problem(&v, "%s: acknowledged position %zu is lost",
				    s->name, j);
		}
		if (s->d == 'A' && s->kind == 'h') {
			char json[256];

			if (s->w[CW_LC_BEFORE] == 'A')
				cw_problem(&v, "%s: a write after the hard delete was"
				    " acknowledged", s->name);
			snprintf(json, sizeof(json), "[\"stream.write\",\"%s\","
			    "{\"type\":\"L\",\"data\":{}}]", s->name);
			if (cw_lc_call(&h, json, &answer, NULL) != 'E' ||
			    strstr(answer.p != NULL ? answer.p : "", "STREAM_DELETED") == NULL)
				cw_problem(&v, "%s: hard-deleted, yet a write after"
				    " the restart answers %s", s->name,
				    answer.p != NULL ? answer.p : "nothing");
		}
		free(p);
	}
	printf("lc_streams=%zu lc_acked=%ld lc_deletes_acked=%ld"
	    " lc_deleted_or_swept=%ld rt_written=%ld rt_stored=%ld problems=%ld\n",
	    n, acked, deletes, absent, rt_written, rt_stored, v.problems);
	for (i = 0; i < n; i++)
		free(all[i].acked);
	free(all);
	free(answer.p);
	cw_http_close(&h);
	free(h.in.p);
	return v.problems == 0 ? 0 : 1;
}

static int
cw_cmd_freeport(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		cw_die("cannot find a free port: %s", strerror(errno));
	printf("%d\n", ntohs(sa.sin_port));
	close(fd);
	return 0;
}

static void
cw_usage(void)
{
	fprintf(stderr,
	    "usage: crashwriter freeport\n"
	    "       crashwriter write --port P --token-file F --round R --log L\n"
	    "                   [--millis M] [--threads N] [--ev-threads K]\n"
	    "       crashwriter verify --round R --log L --from G\n"
	    "                   (--port P --token-file F | --rows-tsv FILE)\n"
	    "       crashwriter lifecycle --port P --token-file F --round R --log L\n"
	    "                   [--millis M]\n"
	    "       crashwriter lcverify --port P --token-file F --round R --log L\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *token_file = NULL, *log_path = NULL, *tsv = NULL;
	char *token = NULL;
	int port = 0, round = -1, millis = 1000, threads = 6, ev_threads = 3, i, rc;
	int64_t from = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		cw_usage();
	if (strcmp(argv[1], "freeport") == 0)
		return cw_cmd_freeport();
	for (i = 2; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (val == NULL)
			cw_usage();
		i++;
		if (strcmp(opt, "--port") == 0)
			port = atoi(val);
		else if (strcmp(opt, "--token-file") == 0)
			token_file = val;
		else if (strcmp(opt, "--round") == 0)
			round = atoi(val);
		else if (strcmp(opt, "--log") == 0)
			log_path = val;
		else if (strcmp(opt, "--millis") == 0)
			millis = atoi(val);
		else if (strcmp(opt, "--threads") == 0)
			threads = atoi(val);
		else if (strcmp(opt, "--ev-threads") == 0)
			ev_threads = atoi(val);
		else if (strcmp(opt, "--from") == 0)
			from = strtoll(val, NULL, 10);
		else if (strcmp(opt, "--rows-tsv") == 0)
			tsv = val;
		else
			cw_usage();
	}
	if (round < 0 || log_path == NULL)
		cw_usage();
	if (tsv == NULL) {
		if (port <= 0 || token_file == NULL)
			cw_usage();
		token = cw_read_token(token_file);
	}
	if (strcmp(argv[1], "write") == 0) {
		if (token == NULL)
			cw_usage();
		rc = cw_cmd_write(port, token, round, log_path, millis, threads,
		    ev_threads);
	} else if (strcmp(argv[1], "verify") == 0)
		rc = cw_cmd_verify(port, token, round, log_path, from, tsv);
	else if (strcmp(argv[1], "lifecycle") == 0 && token != NULL)
		rc = cw_cmd_lifecycle(port, token, round, log_path, millis);
	else if (strcmp(argv[1], "lcverify") == 0 && token != NULL)
		rc = cw_cmd_lcverify(port, token, round, log_path);
	else
		cw_usage();
	free(token);
	return rc;
}
