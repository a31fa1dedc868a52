/*
 * tests/e2e/sse_t.c - GET /subscribe through the real nginx: the SSE cases of
 * EventoDB's SDK test specification (SSE-001 to SSE-009) and CONTRACT.md
 * points 13 to 18.  Pokes for a stream, a category and all=true; catch-up
 * from a position; catch-up running into live writes from concurrent
 * writers (each write exactly once, in order); consumer groups by the MD5
 * rule of reference-behaviour.md section 4; resuming with Last-Event-ID;
 * heartbeats; subscribers freed on disconnect; pokes across two evdb
 * processes; the Node SDK's alias paths; auth and every validation error;
 * the per-token and per-process subscriber limits; and a clean end of every
 * stream when evdb shuts down.
 *
 * The SSE client is a small HTTP/1.1 client on a raw socket (chunked bodies
 * decoded by hand, so a clean end of the response is told apart from a cut
 * connection).  The same client speaks FastCGI to the second evdb process,
 * to see the headers evdb itself sends (nginx consumes X-Accel-Buffering).
 *
 * evdb runs with EVDB_SSE_HEARTBEAT=200 (set here, passed through by
 * deploy/evdb-local), and is restarted with small subscriber limits near the
 * end.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../tap.h"
#include "harness.h"

#define ADM		HARNESS_ADMIN_TOKEN
/*
 * A wait for what must come ends as soon as it is there: its bound only
 * matters when it never comes, so it is generous (on a loaded machine, an
 * evdb built with ASan can be seconds late).
 */
#define SSE_WAIT_MS	20000	/* longest wait for a frame that must come */
#define SSE_QUIET_MS	300	/* silence that shows nothing more is coming */
#define HEARTBEAT_MS	200	/* EVDB_SSE_HEARTBEAT given to evdb */
#define HEARTBEAT_PINGS	8	/* pings test_heartbeat measures */

/* FastCGI record types (FastCGI 1.0 specification). */
#define FCGI_BEGIN_REQUEST	1
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6

/* A growable byte buffer, always NUL-terminated. */
struct bytes {
	char		*data;		/* bytes, or NULL when empty */
	size_t		 len;		/* bytes used, without the NUL */
	size_t		 cap;		/* bytes allocated */
};

/* One SSE frame: the lines up to a blank line. */
struct frame {
	int		 comment;	/* 1: a comment frame (": text") */
	char		*text;		/* comment text without ": ", or NULL */
	int64_t		 id;		/* value of the "id:" line, or -1 */
	char		*event;		/* value of the "event:" line, or NULL */
	char		*data;		/* value of the "data:" line, or NULL */
	char		*stream;	/* poke: data.stream, or NULL */
	int64_t		 pos;		/* poke: data.position, or -1 */
	int64_t		 gpos;		/* poke: data.globalPosition, or -1 */
	int		 well_formed;	/* comment: one line; poke: id, event,
					 * data {stream,position,globalPosition}
					 * in that order, id == globalPosition */
};

/* One subscription: an HTTP (or FastCGI) response being received. */
struct sse {
	int		 fd;		/* the connection, or -1 */
	int		 fcgi;		/* 1: FastCGI records, 0: HTTP/1.1 */
	long		 status;	/* HTTP status, 0 before the head */
	char		*head;		/* response head (status line, headers) */
	int		 chunked;	/* Transfer-Encoding: chunked */
	int64_t		 clen;		/* Content-Length, or -1 */
	struct bytes	 raw;		/* received bytes not yet decoded */
	struct bytes	 cgi;		/* FastCGI: STDOUT bytes before the head */
	struct bytes	 body;		/* decoded body */
	size_t		 parsed;	/* body bytes already split into frames */
	int64_t		 chunk_left;	/* bytes left in this chunk, -1: size line */
	int		 chunk_crlf;	/* the CRLF after chunk data is due */
	int		 ended;		/* the response ended as the protocol says */
	int		 closed;	/* the peer closed the connection */
	struct frame	*frames;	/* every frame received, in order */
	size_t		 nframes;	/* used entries of frames */
	size_t		 capframes;	/* allocated entries of frames */
	size_t		*pokes;		/* indexes of poke frames in frames */
	size_t		 npokes;	/* used entries of pokes */
	size_t		 nping;		/* ": ping" frames */
	int		 bad_frames;	/* frames that are not well formed */
	int64_t		*ping_ms;	/* arrival time of each ping */
	char		 err[160];	/* transport error, "" when none */
};

/* A write and where it landed. */
struct wrec {
	const char	*stream;	/* stream name (static or harness-owned) */
	int64_t		 pos;		/* position in its stream */
	int64_t		 gpos;		/* global position */
};

/* ---------------------------------------------------------------------- */
/* Small helpers */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void *
zalloc(size_t n)
{
	void *p = calloc(1, n == 0 ? 1 : n);

	if (p == NULL)
		tap_bail("out of memory");
	return p;
}

static void *
grow(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		tap_bail("out of memory");
	return p;
}

static char *
dupn(const char *s, size_t n)
{
	char *d = zalloc(n + 1);

	memcpy(d, s, n);
	return d;
}

/* Appends n bytes to b. */
static void
bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = grow(b->data, b->cap);
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Removes the first n bytes of b. */
static void
bytes_drop(struct bytes *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

/* The nginx port of the stack. */
static int
stack_port(struct harness *h)
{
	int port = -1;

	if (sscanf(harness_url(h), "http://127.0.0.1:%d", &port) != 1)
		tap_bail("cannot read the port of %s", harness_url(h));
	return port;
}

static int
connect_port(int port)
{
	struct sockaddr_in sin;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Frames */

/* Checks a poke's data: exactly stream, position, globalPosition. */
static void
frame_poke_parse(struct frame *f)
{
	struct json_object *o = json_tokener_parse(f->data);
	const char *want[3] = { "stream", "position", "globalPosition" };
	int k = 0, good = o != NULL && json_object_is_type(o, json_type_object);

	if (good) {
		json_object_object_foreach(o, key, val) {
			if (k >= 3 || strcmp(key, want[k]) != 0)
				good = 0;
			else if (k == 0 && json_object_is_type(val,
			    json_type_string))
				f->stream = dupn(json_object_get_string(val),
				    (size_t)json_object_get_string_len(val));
			else if (k == 1 && json_object_is_type(val,
			    json_type_int))
				f->pos = json_object_get_int64(val);
			else if (k == 2 && json_object_is_type(val,
			    json_type_int))
				f->gpos = json_object_get_int64(val);
			else
				good = 0;
			k++;
		}
	}
	f->well_formed = good && k == 3 && f->stream != NULL && f->pos >= 0 &&
	    f->gpos >= 1 && f->id == f->gpos;
	json_object_put(o);
}

/* Parses one frame (len bytes of lines, without the blank line). */
static void
sse_frame_add(struct sse *s, const char *p, size_t len)
{
	struct frame *f;
	const char *line, *nl, *end = p + len;
	size_t n, lines = 0;
	int unknown = 0;

	if (s->nframes == s->capframes) {
		s->capframes = s->capframes ? 2 * s->capframes : 64;
		s->frames = grow(s->frames, s->capframes * sizeof(*s->frames));
	}
	f = &s->frames[s->nframes];
	memset(f, 0, sizeof(*f));
	f->id = f->pos = f->gpos = -1;
	for (line = p; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		n = (size_t)(nl - line);
		lines++;
		if (n >= 1 && line[0] == ':') {
			f->comment = 1;
			free(f->text);
			f->text = n >= 2 && line[1] == ' ' ?
			    dupn(line + 2, n - 2) : dupn(line + 1, n - 1);
		} else if (n > 4 && strncmp(line, "id: ", 4) == 0) {
			char *t = dupn(line + 4, n - 4), *e;

			f->id = strtoll(t, &e, 10);
			if (*e != '\0')
				unknown = 1;
			free(t);
		} else if (n > 7 && strncmp(line, "event: ", 7) == 0) {
			free(f->event);
			f->event = dupn(line + 7, n - 7);
		} else if (n > 6 && strncmp(line, "data: ", 6) == 0) {
			free(f->data);
			f->data = dupn(line + 6, n - 6);
		} else
			unknown = 1;
	}
	if (f->comment) {
		f->well_formed = lines == 1 && !unknown;
		if (f->text != NULL && strcmp(f->text, "ping") == 0) {
			s->ping_ms = grow(s->ping_ms, (s->nping + 1) *
			    sizeof(*s->ping_ms));
			s->ping_ms[s->nping++] = now_ms();
		}
	} else if (f->event != NULL && strcmp(f->event, "poke") == 0 &&
	    f->data != NULL) {
		frame_poke_parse(f);
		if (unknown || lines != 3)
			f->well_formed = 0;
		s->pokes = grow(s->pokes, (s->npokes + 1) * sizeof(*s->pokes));
		s->pokes[s->npokes++] = s->nframes;
	}
	if (!f->well_formed)
		s->bad_frames++;
	s->nframes++;
}

/* Splits the body received so far into frames. */
static void
sse_split(struct sse *s)
{
	const char *p, *end;

	while (s->parsed < s->body.len) {
		p = s->body.data + s->parsed;
		end = memmem(p, s->body.len - s->parsed, "\n\n", 2);
		if (end == NULL)
			return;
		sse_frame_add(s, p, (size_t)(end - p));
		s->parsed += (size_t)(end - p) + 2;
	}
}

/* ---------------------------------------------------------------------- */
/* The response */

/*
 * Copies the value of header name from the response head into out (at most
 * outlen bytes with the NUL).  Returns 1 if present.
 */
static int
sse_header(const struct sse *s, const char *name, char *out, size_t outlen)
{
	const char *line, *nl;
	size_t nlen = strlen(name), n;

	if (s->head == NULL)
		return 0;
	for (line = s->head; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		if ((size_t)(nl - line) > nlen && strncasecmp(line, name,
		    nlen) == 0 && line[nlen] == ':') {
			line += nlen + 1;
			while (*line == ' ')
				line++;
			n = (size_t)(nl - line);
			while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
				n--;
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, line, n);
			out[n] = '\0';
			return 1;
		}
		if (*nl == '\0')
			break;
	}
	return 0;
}

/*
 * Takes the response head out of src once complete (a blank line ends it)
 * and parses the status: the HTTP status line, or a CGI "Status:" header
 * (200 when absent).  Returns 1 once the head is known.
 */
static int
sse_take_head(struct sse *s, struct bytes *src)
{
	char *end, v[64];
	size_t hl;

	if (s->head != NULL)
		return 1;
	if (src->len == 0 || (end = memmem(src->data, src->len, "\r\n\r\n",
	    4)) == NULL)
		return 0;
	hl = (size_t)(end - src->data) + 4;
	s->head = dupn(src->data, hl);
	bytes_drop(src, hl);
	if (s->fcgi)
		s->status = sse_header(s, "Status", v, sizeof(v)) ?
		    strtol(v, NULL, 10) : 200;
	else if (sscanf(s->head, "HTTP/%*d.%*d %ld", &s->status) != 1)
		s->status = -1;
	s->chunked = !s->fcgi && sse_header(s, "Transfer-Encoding", v,
	    sizeof(v)) && strcasecmp(v, "chunked") == 0;
	s->clen = !s->fcgi && sse_header(s, "Content-Length", v, sizeof(v)) ?
	    strtoll(v, NULL, 10) : -1;
	s->chunk_left = -1;
	return 1;
}

/* Decodes HTTP/1.1 bytes: head, then a chunked or sized body. */
static void
sse_decode_http(struct sse *s)
{
	char *nl;
	size_t n;

	if (!sse_take_head(s, &s->raw))
		return;
	if (!s->chunked) {
		bytes_add(&s->body, s->raw.data, s->raw.len);
		bytes_drop(&s->raw, s->raw.len);
		if (s->clen >= 0 && (int64_t)s->body.len >= s->clen)
			s->ended = 1;
		return;
	}
	while (!s->ended) {
		if (s->chunk_crlf) {
			if (s->raw.len < 2)
				return;
			bytes_drop(&s->raw, 2);
			s->chunk_crlf = 0;
		}
		if (s->chunk_left < 0) {
			if (s->raw.len == 0 || (nl = memmem(s->raw.data,
			    s->raw.len, "\r\n", 2)) == NULL)
				return;
			s->chunk_left = strtoll(s->raw.data, NULL, 16);
			bytes_drop(&s->raw, (size_t)(nl - s->raw.data) + 2);
			if (s->chunk_left == 0) {
				s->ended = 1;
				return;
			}
		}
		n = s->raw.len < (size_t)s->chunk_left ? s->raw.len :
		    (size_t)s->chunk_left;
		if (n == 0)
			return;
		bytes_add(&s->body, s->raw.data, n);
		bytes_drop(&s->raw, n);
		s->chunk_left -= (int64_t)n;
		if (s->chunk_left == 0) {
			s->chunk_left = -1;
			s->chunk_crlf = 1;
		}
	}
}

/* Decodes FastCGI records: STDOUT is a CGI response, END_REQUEST ends it. */
static void
sse_decode_fcgi(struct sse *s)
{
	const unsigned char *r;
	size_t clen, plen;

	while (s->raw.len >= 8) {
		r = (const unsigned char *)s->raw.data;
		clen = (size_t)r[4] << 8 | r[5];
		plen = r[6];
		if (s->raw.len < 8 + clen + plen)
			break;
		if (r[1] == FCGI_STDOUT)
			bytes_add(&s->cgi, s->raw.data + 8, clen);
		else if (r[1] == FCGI_END_REQUEST)
			s->ended = 1;
		bytes_drop(&s->raw, 8 + clen + plen);
	}
	if (sse_take_head(s, &s->cgi)) {
		bytes_add(&s->body, s->cgi.data, s->cgi.len);
		bytes_drop(&s->cgi, s->cgi.len);
	}
}

/*
 * Waits up to ms for bytes and decodes them.  Returns 1 when bytes came,
 * 0 on timeout, -1 when the connection is closed.
 */
static int
sse_pump(struct sse *s, int ms)
{
	struct pollfd pfd;
	char buf[65536];
	ssize_t n;

	if (s->fd < 0 || s->closed)
		return -1;
	pfd.fd = s->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, ms < 0 ? 0 : ms) <= 0)
		return 0;
	n = read(s->fd, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		s->closed = 1;
		if (!s->ended && s->err[0] == '\0')
			snprintf(s->err, sizeof(s->err), "connection closed "
			    "before the end of the response%s%s",
			    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		return -1;
	}
	bytes_add(&s->raw, buf, (size_t)n);
	if (s->fcgi)
		sse_decode_fcgi(s);
	else
		sse_decode_http(s);
	sse_split(s);
	return 1;
}

/* What sse_wait() waits for. */
enum sse_until {
	UNTIL_HEAD,		/* the response head */
	UNTIL_FRAMES,		/* at least n frames */
	UNTIL_POKES,		/* at least n pokes */
	UNTIL_PINGS,		/* at least n pings */
	UNTIL_END,		/* the end of the response */
	UNTIL_TIME		/* only the time */
};

static int
sse_reached(const struct sse *s, enum sse_until u, size_t n)
{
	switch (u) {
	case UNTIL_HEAD:
		return s->head != NULL;
	case UNTIL_FRAMES:
		return s->nframes >= n;
	case UNTIL_POKES:
		return s->npokes >= n;
	case UNTIL_PINGS:
		return s->nping >= n;
	case UNTIL_END:
		return s->ended;
	case UNTIL_TIME:
		return 0;
	}
	return 0;
}

/* Receives until u is reached, the connection closes, or ms pass. */
static int
sse_wait(struct sse *s, enum sse_until u, size_t n, int ms)
{
	int64_t deadline = now_ms() + ms, left;

	while (!sse_reached(s, u, n) && !s->closed &&
	    (left = deadline - now_ms()) > 0)
		sse_pump(s, (int)left);
	return sse_reached(s, u, n);
}

/* Sends req (len bytes) to port and waits for the head.  Never NULL. */
static struct sse *
sse_start(int port, int fcgi, const char *req, size_t len)
{
	struct sse *s = zalloc(sizeof(*s));

	s->fcgi = fcgi;
	s->clen = -1;
	s->chunk_left = -1;
	if ((s->fd = connect_port(port)) == -1) {
		snprintf(s->err, sizeof(s->err), "connect 127.0.0.1:%d: %s",
		    port, strerror(errno));
		s->closed = 1;
		return s;
	}
	if (send_all(s->fd, req, len) == -1) {
		snprintf(s->err, sizeof(s->err), "send: %s", strerror(errno));
		return s;
	}
	sse_wait(s, UNTIL_HEAD, 0, SSE_WAIT_MS);
	return s;
}

/*
 * GET path (with its query) from the stack's nginx over HTTP/1.1, with the
 * extra header lines of hdrs (NULL-terminated, may be NULL).  Returns once
 * the response head is in (or SSE_WAIT_MS passed).  Never NULL; free with
 * sse_close().
 */
static struct sse *
sse_open(struct harness *h, const char *path, const char *const *hdrs)
{
	static const char rest[] = " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Accept: text/event-stream\r\n";
	struct bytes req = { NULL, 0, 0 };
	struct sse *s;
	size_t i;

	bytes_add(&req, "GET ", 4);
	bytes_add(&req, path, strlen(path));
	bytes_add(&req, rest, strlen(rest));
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i++) {
		bytes_add(&req, hdrs[i], strlen(hdrs[i]));
		bytes_add(&req, "\r\n", 2);
	}
	bytes_add(&req, "\r\n", 2);
	s = sse_start(stack_port(h), 0, req.data, req.len);
	free(req.data);
	return s;
}

static void
fcgi_put_record(struct bytes *b, int type, const void *p, size_t len)
{
	unsigned char hd[8] = { 1, (unsigned char)type, 0, 1,
	    (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	bytes_add(b, hd, sizeof(hd));
	bytes_add(b, p, len);
}

static void
fcgi_put_param(struct bytes *b, const char *name, const char *value)
{
	unsigned char l[2] = { (unsigned char)strlen(name),
	    (unsigned char)strlen(value) };

	bytes_add(b, l, 2);
	bytes_add(b, name, strlen(name));
	bytes_add(b, value, strlen(value));
}

/*
 * GET /subscribe?query straight from an evdb listening for FastCGI on
 * 127.0.0.1:port, as nginx would ask it (names and values < 128 bytes).
 */
static struct sse *
sse_open_fcgi(int port, const char *query)
{
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	struct bytes req = { NULL, 0, 0 }, params = { NULL, 0, 0 };
	char uri[256];
	struct sse *s;

	snprintf(uri, sizeof(uri), "/subscribe?%s", query);
	fcgi_put_param(&params, "REQUEST_METHOD", "GET");
	fcgi_put_param(&params, "DOCUMENT_URI", "/subscribe");
	fcgi_put_param(&params, "REQUEST_URI", uri);
	fcgi_put_param(&params, "QUERY_STRING", query);
	fcgi_put_param(&params, "SERVER_PROTOCOL", "HTTP/1.1");
	fcgi_put_param(&params, "GATEWAY_INTERFACE", "CGI/1.1");
	fcgi_put_param(&params, "REMOTE_ADDR", "127.0.0.1");
	fcgi_put_param(&params, "REMOTE_PORT", "1");
	fcgi_put_param(&params, "REQUEST_ID", "e2essee2essee2essee2essee2esse00");
	fcgi_put_record(&req, FCGI_BEGIN_REQUEST, begin, sizeof(begin));
	fcgi_put_record(&req, FCGI_PARAMS, params.data, params.len);
	fcgi_put_record(&req, FCGI_PARAMS, NULL, 0);
	fcgi_put_record(&req, FCGI_STDIN, NULL, 0);
	s = sse_start(port, 1, req.data, req.len);
	free(req.data);
	free(params.data);
	return s;
}

/* Closes the connection and frees s.  NULL ok. */
static void
sse_close(struct sse *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	for (i = 0; i < s->nframes; i++) {
		free(s->frames[i].text);
		free(s->frames[i].event);
		free(s->frames[i].data);
		free(s->frames[i].stream);
	}
	free(s->frames);
	free(s->pokes);
	free(s->ping_ms);
	free(s->head);
	free(s->raw.data);
	free(s->cgi.data);
	free(s->body.data);
	free(s);
}

/* The i-th poke of s. */
static const struct frame *
sse_poke(const struct sse *s, size_t i)
{
	return &s->frames[s->pokes[i]];
}

/* Prints what s received, for a failed check. */
static void
sse_diag(const struct sse *s, const char *label)
{
	size_t i;

	tap_diag("%s: status %ld, %zu frames, %zu pokes, %s%s", label,
	    s->status, s->nframes, s->npokes, s->ended ? "ended" : "open",
	    s->err[0] ? s->err : "");
	for (i = 0; i < s->npokes && i < 8; i++)
		tap_diag("  poke %zu: id %" PRId64 " %s", i, sse_poke(s, i)->id,
		    sse_poke(s, i)->data);
	if (s->npokes > 8)
		tap_diag("  ... last poke: id %" PRId64 " %s",
		    sse_poke(s, s->npokes - 1)->id,
		    sse_poke(s, s->npokes - 1)->data);
	if (s->npokes == 0 && s->body.len > 0)
		tap_diag("  body: %.300s", s->body.data);
}

/*
 * 1 if s, given up to SSE_WAIT_MS and then SSE_QUIET_MS more, received
 * exactly the pokes of want, in that order, every one well formed.
 * Diagnoses the first difference.
 */
static int
pokes_match(struct sse *s, const struct wrec *want, size_t n, const char *label)
{
	const struct frame *f;
	size_t i;

	sse_wait(s, UNTIL_POKES, n, SSE_WAIT_MS);
	sse_wait(s, UNTIL_TIME, 0, SSE_QUIET_MS);
	for (i = 0; i < n && i < s->npokes; i++) {
		f = sse_poke(s, i);
		if (!f->well_formed || f->stream == NULL ||
		    strcmp(f->stream, want[i].stream) != 0 ||
		    f->pos != want[i].pos || f->gpos != want[i].gpos) {
			tap_diag("%s: poke %zu is id %" PRId64 " %s, want %s "
			    "position %" PRId64 " globalPosition %" PRId64,
			    label, i, f->id, f->data ? f->data : "-",
			    want[i].stream, want[i].pos, want[i].gpos);
			return 0;
		}
	}
	if (s->npokes != n) {
		tap_diag("%s: %zu pokes, want %zu", label, s->npokes, n);
		sse_diag(s, label);
		return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------------- */
/* Writes and health */

/* Writes one message to stream (no TAP result); fills *w. */
static int
put(struct harness *h, const char *token, const char *stream, struct wrec *w)
{
	int64_t pos = -1, gpos = -1;
	int rc;

	rc = write_quiet(h, token, stream, "SseTest", "{\"x\":1}", NULL, NULL,
	    &pos, &gpos);
	if (w != NULL) {
		w->stream = stream;
		w->pos = pos;
		w->gpos = gpos;
	}
	if (rc != 0)
		tap_diag("write to %s failed", stream);
	return rc;
}

/* sys.health "subscribers", or -1. */
static int64_t
health_subscribers(struct harness *h)
{
	struct json_object *j = rpc_call(h, ADM, "[\"sys.health\"]", NULL);
	int64_t v = jpath_int(j, "subscribers");

	return v == JPATH_NOINT ? -1 : v;
}

/* Polls sys.health until subscribers == want or ms pass; returns the last. */
static int64_t
subscribers_reach(struct harness *h, int64_t want, int ms, int64_t *took)
{
	int64_t start = now_ms(), v;

	for (;;) {
		v = health_subscribers(h);
		if (v == want || now_ms() - start >= ms)
			break;
		sleep_ms(20);
	}
	if (took != NULL)
		*took = now_ms() - start;
	return v;
}

/* Subscribes, expects 200 and ": ready" first.  One TAP result. */
static struct sse *
sub_ok(struct harness *h, const char *path, const char *const *hdrs,
    const char *desc)
{
	struct sse *s = sse_open(h, path, hdrs);

	sse_wait(s, UNTIL_FRAMES, 1, SSE_WAIT_MS);
	if (!ok(s->status == 200 && s->nframes >= 1 && s->frames[0].comment &&
	    s->frames[0].text != NULL && strcmp(s->frames[0].text, "ready") == 0,
	    "%s", desc))
		sse_diag(s, path);
	return s;
}

/*
 * One TAP result: GET path answers status with a JSON error envelope of
 * code and (when non-NULL) exactly message, Content-Type application/json.
 */
static void
sub_error_ok(struct harness *h, const char *path, const char *const *hdrs,
    long status, const char *code, const char *message, const char *desc)
{
	struct sse *s = sse_open(h, path, hdrs);
	struct json_object *j = NULL;
	const char *c = NULL, *m = NULL;
	char ctype[128] = "";

	sse_wait(s, UNTIL_END, 0, SSE_WAIT_MS);
	sse_header(s, "Content-Type", ctype, sizeof(ctype));
	if (s->ended && s->body.len > 0)
		j = json_tokener_parse(s->body.data);
	c = jpath_str(j, "error.code");
	m = jpath_str(j, "error.message");
	if (!ok(s->status == status && s->ended &&
	    strncmp(ctype, "application/json", 16) == 0 && c != NULL &&
	    strcmp(c, code) == 0 && m != NULL && *m != '\0' &&
	    (message == NULL || strcmp(m, message) == 0), "%s", desc)) {
		tap_diag("GET %.200s", path);
		tap_diag("want %ld %s \"%s\"", status, code,
		    message ? message : "*");
		tap_diag("got %ld, Content-Type \"%s\", body %.300s%s",
		    s->status, ctype, s->body.data ? s->body.data : "",
		    s->err);
	}
	json_object_put(j);
	sse_close(s);
}

/* ---------------------------------------------------------------------- */
/* Pokes: stream, category, all */

static void
test_stream(struct harness *h)
{
	struct sse *s, *a, *b;
	struct wrec w[3];
	char v[128];
	int64_t t0, took;

	/*
	 * Unflushed, ': ready' would wait in a buffer for kilobytes of
	 * pings (minutes): any bound far below that shows the flush, and a
	 * loose one does not fail on a slow machine.
	 */
	t0 = now_ms();
	s = sub_ok(h, hstr(h, "/subscribe?stream=sse1-a&token=%s", ADM), NULL,
	    "SSE-001 GET /subscribe?stream= answers 200 and sends ': ready' "
	    "first (CONTRACT 13)");
	took = now_ms() - t0;
	ok(s->nframes >= 1 && took < SSE_WAIT_MS, "': ready' arrives at "
	    "once, with no write to the stream (headers flushed; after %"
	    PRId64 " ms)", took);
	ok(sse_header(s, "Content-Type", v, sizeof(v)) &&
	    strncmp(v, "text/event-stream", 17) == 0, "Content-Type is "
	    "text/event-stream (got \"%s\")", v);
	ok(sse_header(s, "Cache-Control", v, sizeof(v)) &&
	    strcmp(v, "no-cache") == 0, "Cache-Control: no-cache");
	ok(sse_header(s, "Access-Control-Allow-Origin", v, sizeof(v)) &&
	    strcmp(v, "*") == 0, "Access-Control-Allow-Origin: *");
	ok(sse_header(s, "Transfer-Encoding", v, sizeof(v)) &&
	    strcmp(v, "chunked") == 0, "the body is chunked (an open-ended "
	    "stream)");
	ok(s->npokes == 0, "a new stream has nothing to catch up");

	put(h, ADM, "sse1-a", &w[0]);
	if (!ok(pokes_match(s, w, 1, "sse1-a"), "SSE-001 a write to the "
	    "stream gives one poke {stream, position 0, globalPosition}"))
		sse_diag(s, "sse1-a");
	ok(s->npokes == 1 && sse_poke(s, 0)->well_formed, "SSE-008 the poke "
	    "is 'id: G', 'event: poke', data exactly "
	    "{\"stream\",\"position\",\"globalPosition\"} with id = "
	    "globalPosition");
	put(h, ADM, "sse1-a", &w[1]);
	put(h, ADM, "sse1-other", NULL);
	put(h, ADM, "sse1-a", &w[2]);
	ok(pokes_match(s, w, 3, "sse1-a"), "pokes follow positions 1, 2 of "
	    "the stream; a write to another stream pokes nothing");
	ok(s->bad_frames == 0, "every frame is well formed");
	sse_close(s);

	/* SSE-006: two subscriptions, each its own pokes. */
	a = sub_ok(h, hstr(h, "/subscribe?stream=sse6-a&token=%s", ADM), NULL,
	    "SSE-006 a first subscription (stream sse6-a)");
	b = sub_ok(h, hstr(h, "/subscribe?stream=sse6-b&token=%s", ADM), NULL,
	    "SSE-006 a second subscription (stream sse6-b)");
	put(h, ADM, "sse6-a", &w[0]);
	put(h, ADM, "sse6-b", &w[2]);
	put(h, ADM, "sse6-a", &w[1]);
	ok(pokes_match(a, w, 2, "sse6-a"), "SSE-006 the first gets positions "
	    "0 and 1 of sse6-a only");
	ok(pokes_match(b, w + 2, 1, "sse6-b"), "SSE-006 the second gets "
	    "position 0 of sse6-b only");
	sse_close(a);
	sse_close(b);
}

static void
test_category(struct harness *h)
{
	struct sse *s;
	struct wrec w[3];

	s = sub_ok(h, hstr(h, "/subscribe?category=sse2&token=%s", ADM), NULL,
	    "SSE-002 GET /subscribe?category= answers 200, ': ready' first");
	put(h, ADM, "sse2x-1", NULL);
	put(h, ADM, "other-1", NULL);
	put(h, ADM, "sse2-123", &w[0]);
	put(h, ADM, "sse2-9+x", &w[1]);
	put(h, ADM, "sse2-123", &w[2]);
	ok(pokes_match(s, w, 3, "category sse2"), "SSE-002 pokes for writes "
	    "to sse2-123, sse2-9+x, sse2-123 (full stream names, their "
	    "positions); none for sse2x-1 or other-1");
	sse_close(s);
}

static void
test_all(struct harness *h)
{
	struct sse *s;
	struct wrec w[6];

	put(h, ADM, "sse3-1", &w[0]);
	put(h, ADM, "sse3x-1", &w[1]);
	s = sub_ok(h, hstr(h, "/subscribe?all=true&token=%s", ADM), NULL,
	    "all=true answers 200, ': ready' first");
	put(h, ADM, "sse3-1", &w[2]);
	put(h, ADM, "sse3y-7", &w[3]);
	put(h, ADM, "sse3", &w[4]);
	ok(pokes_match(s, w + 2, 3, "all=true"), "all=true without a position: "
	    "pokes for every new write in the namespace, none for earlier "
	    "ones");
	sse_close(s);

	s = sub_ok(h, hstr(h, "/subscribe?all=true&position=%" PRId64
	    "&token=%s", w[1].gpos, ADM), NULL, "all=true&position=G answers "
	    "200");
	put(h, ADM, "sse3z-1", &w[5]);
	ok(pokes_match(s, w + 1, 5, "all=true&position"), "all=true&position=G "
	    "replays every write from global position G on, then goes live");
	sse_close(s);
}

/* ---------------------------------------------------------------------- */
/* Catch-up */

static void
test_catchup(struct harness *h)
{
	struct sse *s;
	struct wrec w[10], c[5], *big;
	int i, n = 1300, good;

	for (i = 0; i < 5; i++)
		put(h, ADM, "sse4-1", &w[i]);
	s = sub_ok(h, hstr(h, "/subscribe?stream=sse4-1&position=3&token=%s",
	    ADM), NULL, "SSE-003 subscribe to a stream of 5 from position 3");
	put(h, ADM, "sse4-1", &w[5]);
	ok(pokes_match(s, w + 3, 3, "stream position 3"), "SSE-003 pokes for "
	    "positions 3 and 4, then the new position 5");
	sse_close(s);

	s = sub_ok(h, hstr(h, "/subscribe?stream=sse4-1&token=%s", ADM), NULL,
	    "a stream subscription without a position");
	ok(pokes_match(s, w, 6, "stream position 0"), "position defaults to "
	    "0: every message of the stream is replayed");
	sse_close(s);

	/* Category positions are global positions, inclusive. */
	for (i = 0; i < 5; i++) {
		put(h, ADM, hstr(h, "sse4c-%d", i % 2), &c[i]);
		put(h, ADM, hstr(h, "sse4d-%d", i), NULL);
	}
	s = sub_ok(h, hstr(h, "/subscribe?category=sse4c&position=%" PRId64
	    "&token=%s", c[2].gpos, ADM), NULL, "subscribe to a category "
	    "from the global position of its 3rd message");
	ok(pokes_match(s, c + 2, 3, "category position g3"), "category "
	    "catch-up from global position G includes G: 3 pokes, only the "
	    "category's");
	sse_close(s);
	s = sub_ok(h, hstr(h, "/subscribe?category=sse4c&position=%" PRId64
	    "&token=%s", c[2].gpos + 1, ADM), NULL, "subscribe from G+1");
	ok(pokes_match(s, c + 3, 2, "category position g3+1"), "... from G+1: "
	    "the 2 messages after it");
	sse_close(s);
	s = sub_ok(h, hstr(h, "/subscribe?category=sse4c&token=%s", ADM), NULL,
	    "subscribe to the category without a position");
	ok(pokes_match(s, c, 5, "category position 0"), "... without a "
	    "position: all 5");
	sse_close(s);

	/* CONTRACT 16: no cap at 1000. */
	big = zalloc((size_t)n * sizeof(*big));
	for (i = 0, good = 1; i < n && good; i++)
		good = put(h, ADM, "sse4big-1", &big[i]) == 0;
	ok(good, "wrote %d messages to sse4big-1", n);
	s = sub_ok(h, hstr(h, "/subscribe?stream=sse4big-1&token=%s", ADM),
	    NULL, "subscribe to the stream of 1300 from position 0");
	ok(pokes_match(s, big, (size_t)n, "sse4big-1"), "CONTRACT 16 stream "
	    "catch-up is not capped at 1000: all 1300 pokes, in order");
	sse_close(s);
	s = sub_ok(h, hstr(h, "/subscribe?category=sse4big&token=%s", ADM),
	    NULL, "subscribe to its category from position 0");
	ok(pokes_match(s, big, (size_t)n, "sse4big"), "CONTRACT 16 category "
	    "catch-up: all 1300 pokes, in order");
	sse_close(s);
	free(big);
}

/* One writer thread of the concurrent tests. */
struct writer {
	const struct harness *h;	/* the stack */
	int		 id;		/* thread number */
	int		 n;		/* writes to make at least (test_concurrent) */
	int		 cap;		/* writes to make at most (test_concurrent) */
	int		 made;		/* writes made (test_concurrent) */
	const char	*prefix;	/* stream name prefix */
	struct wrec	*recs;		/* cap results (test_concurrent) */
	atomic_int	*done;		/* writes done by all threads */
	atomic_int	*stop;		/* set to end an open-ended writer */
	atomic_int	*running;	/* writers not yet done (test_concurrent) */
	int		 failed;	/* a write did not answer 200 */
};

/* Writes one message through c; fills *w. */
static int
writer_put(struct hconn *c, const char *stream, struct wrec *w)
{
	struct http_resp r;
	char body[256];
	int rc;

	snprintf(body, sizeof(body), "[\"stream.write\",\"%s\",{\"type\":"
	    "\"SseTest\",\"data\":{}}]", stream);
	rc = hconn_rpc(c, ADM, body, &r);
	w->stream = stream;
	w->pos = jpath_int(r.json, "position");
	w->gpos = jpath_int(r.json, "globalPosition");
	if (rc != 0 || r.status != 200 || w->pos == JPATH_NOINT ||
	    w->gpos == JPATH_NOINT)
		rc = -1;
	http_resp_free(&r);
	return rc;
}

/*
 * Writes at least w->n messages, alternating between sse5-1 and sse5-2,
 * and goes on (up to w->cap) until told to stop.
 */
static void *
writer_main(void *arg)
{
	static const char *const names[2] = { "sse5-1", "sse5-2" };
	struct writer *w = arg;
	struct hconn *c = hconn_new(w->h);
	int i;

	for (i = 0; c != NULL && i < w->cap &&
	    (i < w->n || !atomic_load(w->stop)); i++) {
		if (writer_put(c, names[(i + w->id) % 2], &w->recs[i]) != 0)
			w->failed = 1;
		atomic_fetch_add(w->done, 1);
	}
	w->made = i;
	if (c == NULL)
		w->failed = 1;
	hconn_free(c);
	atomic_fetch_sub(w->running, 1);
	return NULL;
}

static int
cmp_gpos(const void *a, const void *b)
{
	const struct wrec *x = a, *y = b;

	return x->gpos < y->gpos ? -1 : x->gpos > y->gpos;
}

/* Copies the records of recs for which stream matches (NULL: all). */
static size_t
recs_select(const struct wrec *recs, size_t n, const char *stream,
    struct wrec *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (stream == NULL || strcmp(recs[i].stream, stream) == 0)
			out[k++] = recs[i];
	qsort(out, k, sizeof(*out), cmp_gpos);
	return k;
}

/*
 * CONTRACT 13: subscribers connect, and catch up, while writers write;
 * every write reaches each matching subscriber exactly once, in order.
 * The writers make NPER writes each, and more (up to NCAP) if the
 * subscriptions are not open by then, so that on a slow machine too the
 * subscribers connect while writes are in flight.
 */
static void
test_concurrent(struct harness *h)
{
	enum { NPRE = 600, NTHREADS = 4, NPER = 200, NCAP = 4 * NPER };
	struct writer wr[NTHREADS];
	pthread_t tid[NTHREADS];
	struct wrec *all, *want;
	struct sse *s[4];
	atomic_int done, stop, running;
	size_t n = 0, k, i;
	int t, good = 1, at_open, made = 0;

	all = zalloc((NPRE + NTHREADS * NCAP) * sizeof(*all));
	want = zalloc((NPRE + NTHREADS * NCAP) * sizeof(*want));
	for (i = 0; i < NPRE && good; i++)
		good = put(h, ADM, i % 3 == 2 ? "sse5-2" : "sse5-1",
		    &all[n++]) == 0;
	ok(good, "wrote %d messages to sse5-1 and sse5-2 before", NPRE);

	atomic_init(&done, 0);
	atomic_init(&stop, 0);
	atomic_init(&running, NTHREADS);
	for (t = 0; t < NTHREADS; t++) {
		memset(&wr[t], 0, sizeof(wr[t]));
		wr[t].h = h;
		wr[t].id = t;
		wr[t].n = NPER;
		wr[t].cap = NCAP;
		wr[t].recs = all + NPRE + t * NCAP;
		wr[t].done = &done;
		wr[t].stop = &stop;
		wr[t].running = &running;
		if (pthread_create(&tid[t], NULL, writer_main, &wr[t]) != 0)
			tap_bail("pthread_create failed");
	}
	while (atomic_load(&done) < 40)
		sleep_ms(1);
	s[0] = sse_open(h, hstr(h, "/subscribe?stream=sse5-1&token=%s", ADM),
	    NULL);
	s[1] = sse_open(h, hstr(h, "/subscribe?category=sse5&token=%s", ADM),
	    NULL);
	s[2] = sse_open(h, hstr(h, "/subscribe?all=true&position=%" PRId64
	    "&token=%s", all[0].gpos, ADM), NULL);
	s[3] = sse_open(h, hstr(h, "/subscribe?category=sse5&consumer=0&size=2"
	    "&token=%s", ADM), NULL);
	at_open = atomic_load(&done);
	/* One more write lands after the subscriptions, then they may stop. */
	while (atomic_load(&done) <= at_open && atomic_load(&running) > 0)
		sleep_ms(1);
	atomic_store(&stop, 1);
	for (t = 0; t < NTHREADS; t++) {
		pthread_join(tid[t], NULL);
		if (wr[t].failed)
			good = 0;
		/* Close up the slices: thread t's writes follow thread t-1's. */
		memmove(all + n, wr[t].recs, (size_t)wr[t].made * sizeof(*all));
		n += (size_t)wr[t].made;
		made += wr[t].made;
	}
	ok(good, "%d writer threads made %d writes through nginx", NTHREADS,
	    made);
	ok(at_open < made, "the 4 subscribers connected while the writes "
	    "were in flight (%d of %d done)", at_open, made);
	ok(s[0]->status == 200 && s[1]->status == 200 && s[2]->status == 200 &&
	    s[3]->status == 200, "all 4 subscriptions answer 200");

	k = recs_select(all, n, "sse5-1", want);
	for (i = 0, good = 1; i < k; i++)
		if (want[i].pos != (int64_t)i)
			good = 0;
	ok(good, "the writes to sse5-1 have positions 0..%zu", k - 1);
	ok(pokes_match(s[0], want, k, "stream sse5-1"), "stream subscriber: "
	    "each of the %zu writes to sse5-1 exactly once, in order, no gap",
	    k);
	ok(pokes_match(s[3], want, k, "category sse5 member 0/2"), "consumer "
	    "0 of 2 (cardinal id 1): exactly the %zu writes to sse5-1", k);
	k = recs_select(all, n, NULL, want);
	ok(pokes_match(s[1], want, k, "category sse5"), "category subscriber: "
	    "each of the %zu writes exactly once, in global order", k);
	ok(pokes_match(s[2], want, k, "all=true"), "all=true&position= "
	    "subscriber: each of the %zu writes exactly once, in global order",
	    k);
	for (i = 0; i < 4; i++)
		sse_close(s[i]);
	free(all);
	free(want);
}

/* Writes to PREFIX-<i> until told to stop. */
static void *
noise_main(void *arg)
{
	struct writer *w = arg;
	struct hconn *c = hconn_new(w->h);
	struct wrec r;
	char *names[8];
	int i;

	for (i = 0; i < 8; i++)
		if (asprintf(&names[i], "%s-%d", w->prefix, i) < 0)
			tap_bail("out of memory");
	for (i = 0; c != NULL && !atomic_load(w->stop); i++) {
		if (writer_put(c, names[i % 8], &r) != 0)
			w->failed = 1;
		atomic_fetch_add(w->done, 1);
	}
	hconn_free(c);
	for (i = 0; i < 8; i++)
		free(names[i]);
	return NULL;
}

/*
 * CONTRACT 13 for all=true without a position (it follows new writes
 * only): a write made after ": ready" arrived is never lost, while other
 * writers keep the hub busy.
 */
static void
test_ready_race(struct harness *h)
{
	enum { ROUNDS = 100 };
	struct writer noise[2];
	pthread_t tid[2];
	atomic_int stop, done;
	struct wrec w;
	struct sse *s;
	int64_t deadline, left;
	size_t i;
	int r, t, found, passed, lost = 0, order = 1, failed = 0;

	atomic_init(&stop, 0);
	atomic_init(&done, 0);
	for (t = 0; t < 2; t++) {
		memset(&noise[t], 0, sizeof(noise[t]));
		noise[t].h = h;
		noise[t].prefix = "sse12noise";
		noise[t].stop = &stop;
		noise[t].done = &done;
		if (pthread_create(&tid[t], NULL, noise_main, &noise[t]) != 0)
			tap_bail("pthread_create failed");
	}
	for (r = 0; r < ROUNDS; r++) {
		s = sse_open(h, hstr(h, "/subscribe?all=true&token=%s", ADM),
		    NULL);
		if (!sse_wait(s, UNTIL_FRAMES, 1, SSE_WAIT_MS) ||
		    put(h, ADM, "sse12-1", &w) != 0) {
			failed++;
			sse_close(s);
			continue;
		}
		/* Pokes come in order: one past w.gpos means it was lost. */
		found = passed = 0;
		deadline = now_ms() + SSE_WAIT_MS;
		for (i = 0; !found && !passed; i++) {
			if (i >= s->npokes && ((left = deadline - now_ms()) <= 0 ||
			    !sse_wait(s, UNTIL_POKES, i + 1, (int)left)))
				break;
			found = sse_poke(s, i)->gpos == w.gpos;
			passed = sse_poke(s, i)->gpos > w.gpos;
			if (i > 0 && sse_poke(s, i)->gpos <=
			    sse_poke(s, i - 1)->gpos)
				order = 0;
		}
		if (!found) {
			lost++;
			tap_diag("round %d: the write at globalPosition %" PRId64
			    " made after ': ready' was not poked; first poke "
			    "%" PRId64 ", %zu pokes", r, w.gpos, s->npokes > 0 ?
			    sse_poke(s, 0)->gpos : -1, s->npokes);
		}
		sse_close(s);
	}
	atomic_store(&stop, 1);
	for (t = 0; t < 2; t++) {
		pthread_join(tid[t], NULL);
		if (noise[t].failed)
			failed++;
	}
	ok(failed == 0, "%d rounds of all=true subscribe + write, with 2 "
	    "background writers (%d background writes)", ROUNDS,
	    atomic_load(&done));
	ok(lost == 0, "CONTRACT 13 all=true: a write made after ': ready' "
	    "is always poked (%d of %d lost)", lost, ROUNDS);
	ok(order, "... and pokes arrive in increasing global position");
}

/* ---------------------------------------------------------------------- */
/* Consumer groups */

/* A consumer-group test vector: stream name and its member per size. */
struct cg_vector {
	const char	*stream;	/* stream name in category "sse7" */
	int		 m2;		/* member for size 2, -1 = none */
	int		 m3;		/* member for size 3, -1 = none */
};

/* reference-behaviour.md section 4, as streams of category "sse7". */
static const struct cg_vector cg_vectors[] = {
	{ "sse7-123", 1, 1 },
	{ "sse7-456", 1, 1 },
	{ "sse7-1", 0, 0 },
	{ "sse7-2", 1, 1 },
	{ "sse7-3", 0, 2 },
	{ "sse7-4", 1, 0 },
	{ "sse7-abc", 0, 2 },
	{ "sse7-user", 1, 2 },
	{ "sse7-a", 0, 0 },
	{ "sse7-x", 0, 2 },
	{ "sse7-some-id", 1, 1 },
	{ "sse7-\xc3\xbc", 1, 2 },
	{ "sse7-00000000-0000-0000-0000-000000000000", 0, 0 },
	{ "sse7-123+deposit", 1, 1 },
	{ "sse7-456+withdrawal+x", 1, 1 },
	{ "sse7", -1, -1 },
	{ "sse7-", 0, 2 },	/* cardinal id "": a member's, as in Message DB */
};

#define NVEC (sizeof(cg_vectors) / sizeof(cg_vectors[0]))

/* The writes of recs (n) whose vector has member m of size (2 or 3). */
static size_t
cg_select(const struct wrec *recs, size_t n, int size, int m,
    struct wrec *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		const struct cg_vector *v = &cg_vectors[i % NVEC];

		if ((size == 2 ? v->m2 : v->m3) == m)
			out[k++] = recs[i];
	}
	return k;
}

static void
test_groups(struct harness *h)
{
	struct wrec recs[2 * NVEC], want[2 * NVEC];
	struct sse *m0, *m1, *m32;
	size_t i, k0, k1, j;
	int good = 1, overlap = 0;

	for (i = 0; i < NVEC; i++)
		good &= put(h, ADM, cg_vectors[i].stream, &recs[i]) == 0;
	m0 = sub_ok(h, hstr(h, "/subscribe?category=sse7&consumer=0&size=2"
	    "&token=%s", ADM), NULL, "SSE-005 subscribe as member 0 of 2");
	m1 = sub_ok(h, hstr(h, "/subscribe?category=sse7&consumer=1&size=2"
	    "&token=%s", ADM), NULL, "SSE-009 subscribe as member 1 of 2");
	m32 = sub_ok(h, hstr(h, "/subscribe?category=sse7&consumer=2&size=3"
	    "&token=%s", ADM), NULL, "subscribe as member 2 of 3");
	for (i = 0; i < NVEC; i++)
		good &= put(h, ADM, cg_vectors[i].stream, &recs[NVEC + i]) == 0;
	ok(good, "wrote the %zu vector streams before and after subscribing",
	    NVEC);

	k0 = cg_select(recs, 2 * NVEC, 2, 0, want);
	ok(pokes_match(m0, want, k0, "member 0/2"), "SSE-005 member 0 of 2 "
	    "gets exactly the streams MD5 assigns to it, catch-up and live "
	    "(%zu pokes)", k0);
	k1 = cg_select(recs, 2 * NVEC, 2, 1, want);
	ok(pokes_match(m1, want, k1, "member 1/2"), "SSE-009 member 1 of 2 "
	    "gets exactly the others (%zu pokes)", k1);
	for (i = 0; i < m0->npokes; i++)
		for (j = 0; j < m1->npokes; j++)
			if (strcmp(sse_poke(m0, i)->stream,
			    sse_poke(m1, j)->stream) == 0)
				overlap = 1;
	ok(!overlap && m0->npokes + m1->npokes == 2 * (NVEC - 1),
	    "SSE-009 no stream reaches both members, and together they get "
	    "every stream with a cardinal id ('sse7-' too); 'sse7' reaches none");
	k0 = cg_select(recs, 2 * NVEC, 3, 2, want);
	ok(pokes_match(m32, want, k0, "member 2/3"), "member 2 of 3 gets "
	    "exactly its MD5 streams (%zu pokes)", k0);
	sse_close(m0);
	sse_close(m1);
	sse_close(m32);
}

/* ---------------------------------------------------------------------- */
/* Resuming */

static void
test_resume(struct harness *h)
{
	struct wrec w[6];
	struct sse *s;
	const char *hdr[2] = { NULL, NULL };
	int i;

	for (i = 0; i < 3; i++)
		put(h, ADM, hstr(h, "sse8-%d", i % 2), &w[i]);
	s = sub_ok(h, hstr(h, "/subscribe?category=sse8&token=%s", ADM), NULL,
	    "SSE-007 subscribe to category sse8");
	ok(pokes_match(s, w, 3, "sse8 first"), "SSE-007 the first connection "
	    "gets 3 pokes");
	sse_close(s);
	for (i = 3; i < 6; i++)
		put(h, ADM, hstr(h, "sse8-%d", i % 2), &w[i]);

	hdr[0] = hstr(h, "Last-Event-ID: %" PRId64, w[2].gpos);
	s = sub_ok(h, hstr(h, "/subscribe?category=sse8&token=%s", ADM), hdr,
	    "SSE-007 reconnect with Last-Event-ID of the last poke seen");
	ok(pokes_match(s, w + 3, 3, "sse8 resumed"), "SSE-007 CONTRACT 14 it "
	    "resumes after that global position: only the 3 later writes");
	sse_close(s);

	s = sub_ok(h, hstr(h, "/subscribe?category=sse8&position=1&token=%s",
	    ADM), hdr, "Last-Event-ID with an older position=");
	ok(pokes_match(s, w + 3, 3, "sse8 resumed, position 1"),
	    "Last-Event-ID wins over an older position");
	sse_close(s);

	s = sub_ok(h, hstr(h, "/subscribe?stream=sse8-0&token=%s", ADM), hdr,
	    "stream subscription with Last-Event-ID");
	{
		struct wrec want[2] = { w[4] };

		ok(pokes_match(s, want, 1, "sse8-0 resumed"), "stream: only the "
		    "write to sse8-0 after the Last-Event-ID");
	}
	sse_close(s);

	s = sub_ok(h, hstr(h, "/subscribe?all=true&token=%s", ADM), hdr,
	    "all=true with Last-Event-ID");
	ok(pokes_match(s, w + 3, 3, "all resumed"), "all=true: every write "
	    "after the Last-Event-ID");
	sse_close(s);

	hdr[0] = "Last-Event-ID: 0";
	s = sub_ok(h, hstr(h, "/subscribe?category=sse8&token=%s", ADM), hdr,
	    "Last-Event-ID: 0");
	ok(pokes_match(s, w, 6, "sse8 from 0"), "Last-Event-ID: 0 replays "
	    "everything");
	sse_close(s);
}

/* ---------------------------------------------------------------------- */
/* Heartbeat, disconnects */

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The pings are timed where they arrive, in this process: a stall of the
 * machine (of evdb, nginx or this test) shows as one long gap followed by
 * a short one.  So the spacing is judged by the median gap, and the
 * longest gap only against a bound far below evdb's default of 15 s.
 */
static void
test_heartbeat(struct harness *h)
{
	struct sse *s;
	int64_t t0, took, gap = 0, median = -1, gaps[HEARTBEAT_PINGS];
	size_t i, ng = 0;

	s = sub_ok(h, hstr(h, "/subscribe?stream=sse9-idle&token=%s", ADM),
	    NULL, "subscribe to an idle stream");
	t0 = now_ms();
	sse_wait(s, UNTIL_PINGS, HEARTBEAT_PINGS + 1, SSE_WAIT_MS);
	took = now_ms() - t0;
	for (i = 1; i < s->nping && ng < HEARTBEAT_PINGS; i++) {
		gaps[ng] = s->ping_ms[i] - s->ping_ms[i - 1];
		if (gaps[ng] > gap)
			gap = gaps[ng];
		ng++;
	}
	if (ng > 0) {
		qsort(gaps, ng, sizeof(gaps[0]), cmp_i64);
		median = gaps[ng / 2];
	}
	ok(s->nping > HEARTBEAT_PINGS, "CONTRACT 14 with EVDB_SSE_HEARTBEAT=%d, "
	    "': ping' comes while the stream is idle (%zu in %" PRId64 " ms)",
	    HEARTBEAT_MS, s->nping, took);
	ok(ng == HEARTBEAT_PINGS && median >= 0 && median <= 2 * HEARTBEAT_MS,
	    "pings come every %d ms or so: the median gap between %zu pings "
	    "is %" PRId64 " ms", HEARTBEAT_MS, ng + 1, median);
	ok(ng == HEARTBEAT_PINGS && gap <= 10 * HEARTBEAT_MS, "the longest gap "
	    "between pings is %" PRId64 " ms", gap);
	ok(s->bad_frames == 0 && s->npokes == 0, "pings are well-formed "
	    "comment frames");
	sse_close(s);
}

static void
test_disconnect(struct harness *h)
{
	enum { N = 30 };
	struct sse *s[N];
	int64_t took, v;
	int i, good = 1;

	v = subscribers_reach(h, 0, SSE_WAIT_MS, &took);
	is_int(v, 0, "sys.health counts 0 subscribers once earlier ones "
	    "closed");
	for (i = 0; i < N; i++) {
		s[i] = sse_open(h, hstr(h, i % 3 == 0 ? "/subscribe?stream="
		    "sse10-%d&token=%s" : i % 3 == 1 ? "/subscribe?category="
		    "sse10x%d&token=%s" : "/subscribe?all=true&x=%d&token=%s",
		    i, ADM), NULL);
		good &= sse_wait(s[i], UNTIL_FRAMES, 1, SSE_WAIT_MS);
	}
	ok(good, "%d subscribers opened", N);
	is_int(health_subscribers(h), N, "sys.health counts %d subscribers",
	    N);
	for (i = 0; i < N; i++)
		sse_close(s[i]);
	v = subscribers_reach(h, 0, SSE_WAIT_MS, &took);
	ok(v == 0, "closing the clients frees every subscriber within %d s "
	    "(took %" PRId64 " ms, %" PRId64 " left)", SSE_WAIT_MS / 1000,
	    took, v);
}

/* ---------------------------------------------------------------------- */
/* Two processes */

static void
test_two_processes(struct harness *h)
{
	struct sse *s, *a, *f;
	struct http_resp r;
	struct wrec w[3];
	char v[64];
	int64_t t0, lat;
	int port;
	pid_t pid;

	s = sub_ok(h, hstr(h, "/subscribe?stream=sse11-1&token=%s", ADM), NULL,
	    "subscribe to sse11-1 on the first evdb (through nginx)");
	a = sub_ok(h, hstr(h, "/subscribe?category=sse11&token=%s", ADM), NULL,
	    "subscribe to category sse11 on the first evdb");
	pid = harness_spawn_evdb(h, &port);
	if (!ok(pid > 0, "a second evdb serves the same data directory on "
	    "127.0.0.1:%d", port)) {
		sse_close(s);
		sse_close(a);
		return;
	}
	/*
	 * The latency runs from the write's answer, i.e. from its commit: the
	 * first request to a freshly started (and maybe sanitized) process
	 * is slow for reasons that have nothing to do with pokes.
	 */
	fcgi_rpc(port, ADM, "[\"stream.write\",\"sse11-1\",{\"type\":\"T\","
	    "\"data\":{}}]", &r);
	t0 = now_ms();
	w[0].stream = "sse11-1";
	w[0].pos = jpath_int(r.json, "position");
	w[0].gpos = jpath_int(r.json, "globalPosition");
	ok(r.status == 200, "a write through the second process answers 200");
	http_resp_free(&r);
	sse_wait(s, UNTIL_POKES, 1, SSE_WAIT_MS);
	lat = now_ms() - t0;
	ok(pokes_match(s, w, 1, "sse11-1 cross-process"), "CONTRACT 18 the "
	    "write in the second process pokes the first one's stream "
	    "subscriber (after %" PRId64 " ms)", lat);
	ok(lat < 1000, "... within 1 s (inotify, not only the periodic scan)");
	ok(pokes_match(a, w, 1, "sse11 cross-process"), "... and its category "
	    "subscriber");
	sse_close(s);
	sse_close(a);

	/* The other way, straight over FastCGI: also shows evdb's headers. */
	f = sse_open_fcgi(port, "stream=sse11-2&token=" ADM);
	sse_wait(f, UNTIL_FRAMES, 1, SSE_WAIT_MS);
	ok(f->status == 200 && f->nframes >= 1 && f->frames[0].comment &&
	    strcmp(f->frames[0].text, "ready") == 0, "a FastCGI subscription "
	    "to the second process gets ': ready'");
	ok(sse_header(f, "X-Accel-Buffering", v, sizeof(v)) &&
	    strcmp(v, "no") == 0, "CONTRACT 14 evdb sends X-Accel-Buffering: no "
	    "(to nginx, which consumes it)");
	ok(sse_header(f, "Content-Type", v, sizeof(v)) &&
	    strncmp(v, "text/event-stream", 17) == 0, "... and Content-Type "
	    "text/event-stream");
	put(h, ADM, "sse11-2", &w[1]);
	ok(pokes_match(f, w + 1, 1, "sse11-2 via fcgi"), "CONTRACT 18 a write "
	    "through nginx to the first process pokes the second one's "
	    "subscriber");
	sse_close(f);
}

/* ---------------------------------------------------------------------- */
/* Alias paths, auth, validation */

static void
test_alias(struct harness *h)
{
	struct sse *s, *c;
	struct wrec w[4];
	const char *hdr[2] = { NULL, NULL };

	s = sub_ok(h, hstr(h, "/subscribe/stream/sse13-1?token=%s", ADM), NULL,
	    "CONTRACT 17 /subscribe/stream/<name> answers 200, ': ready'");
	c = sub_ok(h, hstr(h, "/subscribe/category/sse13?consumerGroupMember=1"
	    "&consumerGroupSize=2&token=%s", ADM), NULL, "CONTRACT 17 "
	    "/subscribe/category/<name>?consumerGroupMember=1&"
	    "consumerGroupSize=2");
	put(h, ADM, "sse13-1", &w[0]);
	put(h, ADM, "sse13-2", &w[1]);
	put(h, ADM, "sse13-4", &w[2]);
	put(h, ADM, "sse13-3", &w[3]);
	ok(pokes_match(s, w, 1, "alias stream"), "the alias stream path pokes "
	    "for its stream");
	ok(pokes_match(c, w + 1, 2, "alias category"), "the alias category "
	    "path applies the group: member 1 of 2 gets sse13-2 and sse13-4 "
	    "only");
	sse_close(s);
	sse_close(c);

	hdr[0] = "Authorization: Bearer " ADM;
	s = sub_ok(h, hstr(h, "/subscribe/category/sse13?position=%" PRId64,
	    w[2].gpos), hdr, "alias category path with position and the "
	    "token in the Authorization header");
	ok(pokes_match(s, w + 2, 2, "alias category position"), "... replays "
	    "from that global position");
	sse_close(s);

	sub_error_ok(h, hstr(h, "/subscribe/nothing?stream=x&token=%s", ADM),
	    NULL, 404, "NOT_FOUND", "Endpoint not found", "/subscribe/nothing "
	    "is 404 NOT_FOUND");
	sub_error_ok(h, hstr(h, "/subscribe/stream/?token=%s", ADM), NULL, 404,
	    "NOT_FOUND", NULL, "/subscribe/stream/ without a name is 404");
}

static void
test_auth(struct harness *h, const char *nstoken)
{
	struct sse *s, *d;
	const char *hdr[2] = { NULL, NULL };
	struct wrec w[2];
	char v[64];

	sub_error_ok(h, "/subscribe?stream=sse14-1", NULL, 401, "AUTH_REQUIRED",
	    "Authorization header required", "SSE-004 no token: 401 "
	    "AUTH_REQUIRED");
	hdr[0] = "Authorization: Basic Zm9vOmJhcg==";
	sub_error_ok(h, "/subscribe?stream=sse14-1", hdr, 401, "AUTH_REQUIRED",
	    "Authorization header must use Bearer scheme", "a Basic "
	    "Authorization header: 401 AUTH_REQUIRED");
	hdr[0] = "Authorization: Bearer ";
	sub_error_ok(h, "/subscribe?stream=sse14-1", hdr, 401, "AUTH_REQUIRED",
	    NULL, "'Bearer ' with no token: 401 AUTH_REQUIRED");
	sub_error_ok(h, "/subscribe?stream=sse14-1&token=invalid-token", NULL,
	    401, "AUTH_INVALID_TOKEN", "Invalid token format", "a malformed "
	    "token in the query: 401 AUTH_INVALID_TOKEN");
	sub_error_ok(h, hstr(h, "/subscribe?stream=sse14-1&token=%s",
	    token_make(h, "nosuchns", "00000000000000000000000000000000"
	    "00000000000000000000000000000000")), NULL, 403, "AUTH_UNAUTHORIZED",
	    "Token not authorized for namespace", "a token of an unknown "
	    "namespace: 403 AUTH_UNAUTHORIZED");
	sub_error_ok(h, hstr(h, "/subscribe?stream=sse14-1&token=%s",
	    token_make(h, "default", "11111111111111111111111111111111"
	    "11111111111111111111111111111111")), NULL, 403, "AUTH_UNAUTHORIZED",
	    NULL, "a wrong secret for namespace default: 403");

	hdr[0] = "Authorization: Bearer " ADM;
	s = sub_ok(h, "/subscribe?stream=sse14-1", hdr, "the token in the "
	    "Authorization header works");
	ok(sse_header(s, "Content-Type", v, sizeof(v)) &&
	    strncmp(v, "text/event-stream", 17) == 0, "... as an event "
	    "stream");
	d = sub_ok(h, hstr(h, "/subscribe?stream=sse14-1&token=%s", nstoken),
	    NULL, "a subscription with another namespace's token");
	put(h, ADM, "sse14-1", &w[0]);
	put(h, nstoken, "sse14-1", &w[1]);
	ok(pokes_match(s, w, 1, "default sse14-1"), "the default namespace's "
	    "subscriber sees only its own namespace's write");
	ok(pokes_match(d, w + 1, 1, "ssens sse14-1"), "the other namespace's "
	    "subscriber sees only its own (position 0 there)");
	sse_close(s);
	sse_close(d);
}

static void
test_validation(struct harness *h)
{
	static const struct {
		const char	*query;		/* after "?", token appended */
		const char	*message;	/* the expected error message */
	} cases[] = {
		{ "", "Either 'stream', 'category', or 'all=true' parameter "
		    "required" },
		{ "stream=", "Either 'stream', 'category', or 'all=true' "
		    "parameter required" },
		{ "category=&position=1", "Either 'stream', 'category', or "
		    "'all=true' parameter required" },
		{ "all=false", "Either 'stream', 'category', or 'all=true' "
		    "parameter required" },
		{ "all=true&stream=a-1", "Cannot combine 'all' with 'stream' "
		    "or 'category'" },
		{ "all=true&category=a", "Cannot combine 'all' with 'stream' "
		    "or 'category'" },
		{ "stream=a-1&category=a", "Cannot specify both 'stream' and "
		    "'category'" },
		{ "stream=a-1&position=abc", "Invalid position parameter" },
		{ "category=a&position=1.5", "Invalid position parameter" },
		{ "all=true&position=99999999999999999999",
		    "Invalid position parameter" },
		{ "category=a&consumer=x&size=2", "Invalid consumer parameter" },
		{ "category=a&consumer=-1&size=2", "Invalid consumer parameter" },
		{ "category=a&consumer=0&size=two", "Invalid size parameter" },
		{ "category=a&consumer=2&size=2", "Invalid consumer group: "
		    "member must be < size" },
		{ "category=a&consumer=1", "Invalid consumer group: member must "
		    "be < size" },
		{ "category=a&consumer=1&size=0", "Invalid consumer group: "
		    "member must be < size" },
		{ "stream=a%01b", "Invalid stream name" },
		{ "stream=a%00b", "Invalid stream name" },
		{ "category=a%00b", "Invalid category name" },
	};
	const char *hdr[2] = { "Last-Event-ID: abc", NULL };
	size_t i;
	char *longname;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		sub_error_ok(h, hstr(h, "/subscribe?%s%stoken=%s",
		    cases[i].query, cases[i].query[0] ? "&" : "", ADM), NULL,
		    400, "INVALID_REQUEST", cases[i].message,
		    hstr(h, "?%s: 400 INVALID_REQUEST \"%s\"", cases[i].query,
		    cases[i].message));
	sub_error_ok(h, hstr(h, "/subscribe?category=a&token=%s", ADM), hdr,
	    400, "INVALID_REQUEST", "Invalid Last-Event-ID header",
	    "Last-Event-ID: abc is 400 \"Invalid Last-Event-ID header\"");
	hdr[0] = "Last-Event-ID: -5";
	sub_error_ok(h, hstr(h, "/subscribe?category=a&token=%s", ADM), hdr,
	    400, "INVALID_REQUEST", "Invalid Last-Event-ID header",
	    "Last-Event-ID: -5 is 400");
	longname = zalloc(1026);
	memset(longname, 'a', 1025);
	sub_error_ok(h, hstr(h, "/subscribe?stream=%s&token=%s", longname, ADM),
	    NULL, 400, "INVALID_REQUEST", "Invalid stream name", "a stream "
	    "name of 1025 bytes is 400 \"Invalid stream name\"");
	free(longname);
	is_int(subscribers_reach(h, 0, SSE_WAIT_MS, NULL), 0, "rejected "
	    "subscriptions hold no place in the hub");
}

/* ---------------------------------------------------------------------- */
/* Limits, shutdown (after a restart with other settings) */

static void
test_limits(struct harness *h, const char *nstoken)
{
	struct sse *a1, *a2, *b1, *a4;

	setenv("EVDB_SSE_MAX_PER_TOKEN", "2", 1);
	setenv("EVDB_SSE_MAX_SUBSCRIBERS", "3", 1);
	if (!ok(harness_restart(h) == 0, "restart with EVDB_SSE_MAX_PER_TOKEN=2"
	    " and EVDB_SSE_MAX_SUBSCRIBERS=3"))
		return;
	a1 = sub_ok(h, hstr(h, "/subscribe?stream=sse15-1&token=%s", ADM), NULL,
	    "first subscriber of the admin token");
	a2 = sub_ok(h, hstr(h, "/subscribe?all=true&token=%s", ADM), NULL,
	    "second subscriber of the admin token");
	sub_error_ok(h, hstr(h, "/subscribe?category=sse15&token=%s", ADM),
	    NULL, 429, "SUBSCRIBER_LIMIT", "This token has reached its maximum "
	    "number of subscribers", "the third of one token: 429 "
	    "SUBSCRIBER_LIMIT");
	b1 = sub_ok(h, hstr(h, "/subscribe?stream=sse15-1&token=%s", nstoken),
	    NULL, "another token still gets a subscriber (the limit is per "
	    "token)");
	sub_error_ok(h, hstr(h, "/subscribe?stream=sse15-2&token=%s", nstoken),
	    NULL, 429, "SUBSCRIBER_LIMIT", "This server has reached its maximum "
	    "number of subscribers", "the fourth in the process: 429 "
	    "SUBSCRIBER_LIMIT (per-process limit)");
	is_int(health_subscribers(h), 3, "sys.health counts the 3 accepted "
	    "subscribers, not the rejected ones");
	sse_close(a1);
	is_int(subscribers_reach(h, 2, SSE_WAIT_MS, NULL), 2, "closing one "
	    "frees its place");
	a4 = sub_ok(h, hstr(h, "/subscribe?category=sse15&token=%s", ADM), NULL,
	    "the admin token gets a subscriber again");
	sse_close(a2);
	sse_close(b1);
	sse_close(a4);
	is_int(subscribers_reach(h, 0, SSE_WAIT_MS, NULL), 0, "all places are "
	    "free again");
}

/* Reads the pid in D/run/evdb.pid, or -1. */
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

/*
 * 1 once process pid has exited.  evdb is not our child: until whoever
 * adopted it reaps it (init, which may take seconds) it is a zombie, which
 * kill(pid, 0) still finds.
 */
static int
pid_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return kill(pid, 0) == -1 && errno == ESRCH;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 0;
	return p[2] == 'Z' || p[2] == 'X';
}

/*
 * PostgreSQL only: a writer that sends no NOTIFY (Message DB's
 * write_message, or a plain INSERT as here, through psql) still reaches
 * the subscribers, through the hub's periodic scan (HUB_SCAN_MS).
 */
static void
test_silent_writer(struct harness *h)
{
	struct sse *s;
	char cmd[1024];
	int rc;

	/* Also proves the NOTIFY path is not the only one. */
	if (strcmp(harness_backend(h), "postgres") != 0)
		return;
	s = sub_ok(h, hstr(h, "/subscribe?stream=sse-raw-1&token=%s", ADM), NULL,
	    "PostgreSQL: a subscriber to sse-raw-1");
	snprintf(cmd, sizeof(cmd), "psql -qAt '%s' -c \"INSERT INTO"
	    " message_store.messages(stream_name, position, type, data)"
	    " VALUES ('sse-raw-1', 0, 'T', '{}')\" >/dev/null",
	    harness_store(h));
	rc = system(cmd);
	ok(rc == 0, "a row inserted by psql, with no NOTIFY (as write_message"
	    " writes)");
	rc = sse_wait(s, UNTIL_POKES, 1, 10000);
	ok(rc && s->npokes == 1, "the subscriber is poked all the same, by the"
	    " hub's periodic scan (%zu pokes)", s->npokes);
	sse_close(s);
}

static void
test_shutdown(struct harness *h, const char *nstoken)
{
	struct sse *s[3];
	struct wrec w;
	int i, ended = 1, poked = 1, gone = 0;
	pid_t pid;

	s[0] = sub_ok(h, hstr(h, "/subscribe?stream=sse16-1&token=%s", ADM),
	    NULL, "a stream subscriber before shutdown");
	s[1] = sub_ok(h, hstr(h, "/subscribe?all=true&token=%s", ADM), NULL,
	    "an all=true subscriber before shutdown");
	s[2] = sub_ok(h, hstr(h, "/subscribe?category=sse16&token=%s",
	    nstoken), NULL, "a category subscriber (other namespace)");
	put(h, ADM, "sse16-1", &w);
	for (i = 0; i < 2; i++)
		poked &= sse_wait(s[i], UNTIL_POKES, 1, SSE_WAIT_MS);
	ok(poked, "they are live");

	/*
	 * evdb-local stop stops nginx first, which cuts the client
	 * connections; evdb's own shutdown is what must end each stream.
	 */
	pid = evdb_pid(h);
	if (!ok(pid > 0 && kill(pid, SIGTERM) == 0, "SIGTERM to evdb (pid "
	    "%ld from D/run/evdb.pid)", (long)pid))
		goto out;
	for (i = 0; i < 3; i++) {
		if (!sse_wait(s[i], UNTIL_END, 0, SSE_WAIT_MS) ||
		    s[i]->err[0] != '\0') {
			ended = 0;
			sse_diag(s[i], "at shutdown");
		}
	}
	ok(ended, "evdb's shutdown ends every stream cleanly: nginx sends the "
	    "last chunk, no transfer error");
	/* A sanitized evdb checks for leaks on its way out: give it time. */
	for (i = 0; i < 600 && !gone; i++) {
		gone = pid_gone(pid);
		if (!gone)
			sleep_ms(50);
	}
	ok(gone, "evdb exits within 30 s with subscribers attached");
out:
	for (i = 0; i < 3; i++)
		sse_close(s[i]);
}

int
main(void)
{
	struct harness *h;
	const char *nstoken;
	char hb[16];

	snprintf(hb, sizeof(hb), "%d", HEARTBEAT_MS);
	setenv("EVDB_SSE_HEARTBEAT", hb, 1);
	unsetenv("EVDB_SSE_MAX_PER_TOKEN");
	unsetenv("EVDB_SSE_MAX_SUBSCRIBERS");
	unsetenv("EVDB_SSE_BUFFER");
	h = harness_start();
	nstoken = ns_create_ok(h, "ssens", "create namespace ssens");
	if (nstoken == NULL)
		tap_bail("cannot create a namespace");

	test_stream(h);
	test_category(h);
	test_all(h);
	test_catchup(h);
	test_concurrent(h);
	test_ready_race(h);
	test_groups(h);
	test_resume(h);
	test_heartbeat(h);
	test_disconnect(h);
	test_two_processes(h);
	test_alias(h);
	test_auth(h, nstoken);
	test_validation(h);
	test_limits(h, nstoken);
	test_silent_writer(h);
	test_shutdown(h, nstoken);

	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
