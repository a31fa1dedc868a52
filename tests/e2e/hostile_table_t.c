/*
 * tests/e2e/hostile_table_t.c - a table of hostile requests, read from
 * tests/e2e/hostile_cases.txt and sent through the real nginx to evdb, one
 * TAP result per case (issue 5, hardening).
 *
 * Each case gives a method, a target, headers, a body, the HTTP status and
 * the error code it must get (hostile_cases.txt explains the syntax: byte
 * escapes, generators for huge inputs, token placeholders, raw-socket
 * methods).  Every answer with a status of 400 or more must be evdb's JSON
 * error envelope, and no answer may carry a header line injected through
 * the request (X-Injected, Set-Cookie).
 *
 * Around the table: data written before it (in two namespaces) must read
 * back byte for byte the same after it, no write aimed at the category
 * "hx" (where the table sends every write that must be refused) may have
 * reached the store, and the server must still take and serve writes.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"
#include "core/strutil.h"

#define ADM		HARNESS_ADMIN_TOKEN
#define MIN_CASES	200		/* the table must hold at least this many */
#define MAX_FIELDS	12		/* fields per case line */
#define MAX_HEADERS	16		/* header lines per case */
#define MAX_EXPAND	(256u << 20)	/* largest expanded field, bytes */
/*
 * The waits end as soon as the answer is whole or the connection closed;
 * their bounds only matter when that never happens, so they leave room
 * for a loaded machine.  STALL_WAIT_MS is nginx's client_body_timeout
 * (10 s) plus that room.
 */
#define RAW_WAIT_MS	20000		/* RAW, SSE: wait for a whole answer */
#define STALL_WAIT_MS	40000		/* STALL: wait for nginx to give up */
#define HANGUP_HOLD_MS	200		/* HANGUP: time before closing */

/* A growable byte buffer. */
struct dbuf {
	char		*data;		/* bytes, NUL-terminated; NULL when empty */
	size_t		 len;		/* bytes used, without the NUL */
	size_t		 cap;		/* bytes allocated */
};

/* The tokens the placeholders @token(...) stand for. */
struct tokens {
	const char	*admin;		/* namespace "default" */
	const char	*tenant;	/* namespace "tenant1" */
	const char	*deleted;	/* namespace "gone1", deleted at setup */
};

/* One line of the table, expanded. */
struct tcase {
	int		 lineno;	/* line in the cases file */
	char		*name;		/* TAP description */
	char		*method;	/* HTTP verb, or RAW SSE HANGUP STALL */
	char		*target;	/* path and query; NULL for "-" */
	size_t		 target_len;	/* bytes of target */
	char		*headers[MAX_HEADERS + 1]; /* "Name: value", NULL-ended */
	char		*body;		/* body bytes; NULL for "-" */
	size_t		 body_len;	/* bytes of body */
	long		 status;	/* expected status; 0: no answer */
	char		*code;		/* expected error code; NULL for "-" */
	char		*checks[MAX_FIELDS]; /* extra checks, NULL-ended */
	size_t		 check_len[MAX_FIELDS]; /* bytes of each check */
};

/* One answer, from curl or from a raw socket. */
struct answer {
	long		 status;	/* HTTP status, 0 when none */
	char		*ctype;		/* Content-Type, or NULL */
	char		*headers;	/* raw header block, never NULL */
	char		*body;		/* body (dechunked), never NULL */
	size_t		 len;		/* bytes of body */
	struct json_object *json;	/* parsed body (harness-owned) or NULL */
	int		 json_ok;	/* body is exactly one strict JSON value */
	int		 closed;	/* raw: the server closed the connection */
	long		 elapsed_ms;	/* raw: time until complete or closed */
	char		 err[512];	/* transport error, "" when none */
};

/* ---------------------------------------------------------------------- */
/* Memory and buffers */

static void *
ht_malloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		tap_bail("out of memory (%zu bytes)", n);
	return p;
}

static char *
ht_memdup(const void *p, size_t n)
{
	char *s = ht_malloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
dbuf_add(struct dbuf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > MAX_EXPAND)
		tap_bail("an expanded field exceeds %u bytes", MAX_EXPAND);
	if (b->len + n + 1 > b->cap) {
		b->cap = b->cap ? b->cap : 256;
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		if ((b->data = realloc(b->data, b->cap)) == NULL)
			tap_bail("out of memory (%zu bytes)", b->cap);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
dbuf_addc(struct dbuf *b, char c)
{
	dbuf_add(b, &c, 1);
}

static void
dbuf_free(struct dbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---------------------------------------------------------------------- */
/* The cases file: escapes, generators, placeholders */

/*
 * Handles the escape at s[i] == '\\' (s is n bytes): appends its bytes to
 * out and returns how many source bytes it used.  in_string: inside a
 * generator's quoted argument, where \" is a quote.
 */
static size_t
expand_escape(const char *s, size_t n, size_t i, int in_string,
    struct dbuf *out)
{
	int a, b;

	if (i + 1 >= n) {
		dbuf_addc(out, '\\');
		return 1;
	}
	switch (s[i + 1]) {
	case 'x':
		if (i + 3 < n && (a = strutil_hex_value((unsigned char)s[i + 2])) >= 0 &&
		    (b = strutil_hex_value((unsigned char)s[i + 3])) >= 0) {
			dbuf_addc(out, (char)(a << 4 | b));
			return 4;
		}
		break;
	case 'r':
		dbuf_addc(out, '\r');
		return 2;
	case 'n':
		dbuf_addc(out, '\n');
		return 2;
	case 't':
		dbuf_addc(out, '\t');
		return 2;
	case '|':
	case '@':
		dbuf_addc(out, s[i + 1]);
		return 2;
	case '"':
		if (in_string) {
			dbuf_addc(out, '"');
			return 2;
		}
		break;
	}
	/* Anything else is kept as it is: JSON's \" \u0041 \/ pass through. */
	dbuf_add(out, s + i, 2);
	return 2;
}

/*
 * Parses a generator's quoted string argument starting at s[*i] == '"',
 * unescaping it into out; leaves *i after the closing quote.  Returns 0,
 * or -1 when it is not terminated.
 */
static int
parse_string_arg(const char *s, size_t n, size_t *i, struct dbuf *out)
{
	size_t k = *i;

	if (k >= n || s[k] != '"')
		return -1;
	k++;
	while (k < n && s[k] != '"') {
		if (s[k] == '\\')
			k += expand_escape(s, n, k, 1, out);
		else
			dbuf_addc(out, s[k++]);
	}
	if (k >= n)
		return -1;
	*i = k + 1;
	return 0;
}

/* Parses a decimal count at s[*i]; -1 when there is none or it is huge. */
static long
parse_count(const char *s, size_t n, size_t *i)
{
	long v = 0;
	size_t k = *i;

	if (k >= n || !isdigit((unsigned char)s[k]))
		return -1;
	while (k < n && isdigit((unsigned char)s[k])) {
		v = v * 10 + (s[k] - '0');
		if (v > (long)MAX_EXPAND)
			return -1;
		k++;
	}
	*i = k;
	return v;
}

/*
 * Expands the placeholder or generator at s[i] == '@' into out and returns
 * the source bytes used, or 0 when s[i] starts none (the '@' is then an
 * ordinary byte).  Bails out on a malformed generator.
 */
static size_t
expand_at(const struct tokens *tk, const char *s, size_t n, size_t i,
    struct dbuf *out, int lineno)
{
	const char *const toks[][2] = {
		{ "@token(admin)", tk->admin },
		{ "@token(tenant)", tk->tenant },
		{ "@token(deleted)", tk->deleted },
	};
	struct dbuf arg = { NULL, 0, 0 };
	size_t k, t, tl;
	long count, c;

	for (t = 0; t < sizeof(toks) / sizeof(toks[0]); t++) {
		tl = strlen(toks[t][0]);
		if (n - i >= tl && memcmp(s + i, toks[t][0], tl) == 0) {
			dbuf_add(out, toks[t][1], strlen(toks[t][1]));
			return tl;
		}
	}
	if (n - i >= 8 && memcmp(s + i, "@repeat(", 8) == 0) {
		k = i + 8;
		if ((count = parse_count(s, n, &k)) < 0 || k >= n ||
		    s[k++] != ',' || parse_string_arg(s, n, &k, &arg) != 0 ||
		    k >= n || s[k] != ')')
			tap_bail("hostile_cases.txt:%d: malformed @repeat(N,\"s\")",
			    lineno);
		if (arg.len > 0 && (size_t)count > MAX_EXPAND / arg.len)
			tap_bail("hostile_cases.txt:%d: @repeat too large",
			    lineno);
		for (c = 0; c < count; c++)
			dbuf_add(out, arg.data, arg.len);
		dbuf_free(&arg);
		return k + 1 - i;
	}
	if (n - i >= 6 && memcmp(s + i, "@nest(", 6) == 0) {
		k = i + 6;
		if ((count = parse_count(s, n, &k)) < 0 || k >= n ||
		    s[k] != ')')
			tap_bail("hostile_cases.txt:%d: malformed @nest(N)",
			    lineno);
		for (c = 0; c < count; c++)
			dbuf_addc(out, '[');
		for (c = 0; c < count; c++)
			dbuf_addc(out, ']');
		return k + 1 - i;
	}
	return 0;
}

/* Expands the field s[0..n) into out (escapes, placeholders, generators). */
static void
expand_field(const struct tokens *tk, const char *s, size_t n,
    struct dbuf *out, int lineno)
{
	size_t i = 0, used;

	dbuf_add(out, "", 0);
	while (i < n) {
		if (s[i] == '\\') {
			i += expand_escape(s, n, i, 0, out);
			continue;
		}
		if (s[i] == '@' &&
		    (used = expand_at(tk, s, n, i, out, lineno)) > 0) {
			i += used;
			continue;
		}
		dbuf_addc(out, s[i++]);
	}
}

/*
 * Splits line at every '|' not escaped by a backslash into at most
 * MAX_FIELDS fields, each trimmed of blanks.  Returns the number of fields.
 */
static int
split_fields(char *line, char *f[MAX_FIELDS], size_t flen[MAX_FIELDS])
{
	char *p = line, *start = line, *a, *b;
	int nf = 0;

	for (;; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p != '|' && *p != '\0')
			continue;
		if (nf == MAX_FIELDS)
			return -1;
		a = start;
		b = p;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		f[nf] = a;
		flen[nf] = (size_t)(b - a);
		nf++;
		if (*p == '\0')
			break;
		start = p + 1;
	}
	return nf;
}

static char *
expand_dup(const struct tokens *tk, const char *s, size_t n, size_t *outlen,
    int lineno)
{
	struct dbuf b = { NULL, 0, 0 };

	expand_field(tk, s, n, &b, lineno);
	if (outlen != NULL)
		*outlen = b.len;
	return b.data;
}

static int
is_dash(const char *s, size_t n)
{
	return n == 1 && s[0] == '-';
}

/* Splits the headers field at ";;" and expands each item. */
static void
parse_headers(const struct tokens *tk, struct tcase *c, const char *s,
    size_t n)
{
	static const char *const shorthands[][2] = {
		{ "@admin", "Authorization: Bearer @token(admin)" },
		{ "@tenant", "Authorization: Bearer @token(tenant)" },
		{ "@deleted", "Authorization: Bearer @token(deleted)" },
	};
	size_t i = 0, j, a, b, k;
	int nh = 0;

	if (is_dash(s, n))
		return;
	while (i <= n) {
		for (j = i; j < n && !(s[j] == ';' && j + 1 < n &&
		    s[j + 1] == ';'); j++)
			;
		a = i;
		b = j;
		while (a < b && s[a] == ' ')
			a++;
		while (b > a && s[b - 1] == ' ')
			b--;
		if (b > a) {
			const char *item = s + a;
			size_t ilen = b - a;

			if (nh == MAX_HEADERS)
				tap_bail("hostile_cases.txt:%d: more than %d "
				    "headers", c->lineno, MAX_HEADERS);
			for (k = 0; k < sizeof(shorthands) /
			    sizeof(shorthands[0]); k++)
				if (ilen == strlen(shorthands[k][0]) &&
				    memcmp(item, shorthands[k][0], ilen) == 0) {
					item = shorthands[k][1];
					ilen = strlen(item);
				}
			c->headers[nh++] = expand_dup(tk, item, ilen, NULL,
			    c->lineno);
		}
		i = j + 2;
	}
	c->headers[nh] = NULL;
}

/*
 * Parses one line of the table into c.  Returns 1 for a case, 0 for a
 * blank or comment line; bails out on a malformed line.
 */
static int
parse_case(const struct tokens *tk, char *line, int lineno, struct tcase *c)
{
	char *f[MAX_FIELDS];
	size_t flen[MAX_FIELDS], n;
	char *p, *end;
	int nf, i;

	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0' || *p == '#')
		return 0;
	memset(c, 0, sizeof(*c));
	c->lineno = lineno;
	if ((nf = split_fields(p, f, flen)) < 7)
		tap_bail("hostile_cases.txt:%d: a case needs 7 fields "
		    "(name | method | target | headers | body | status | "
		    "code), found %d", lineno, nf);
	c->name = ht_memdup(f[0], flen[0]);
	c->method = ht_memdup(f[1], flen[1]);
	if (!is_dash(f[2], flen[2]))
		c->target = expand_dup(tk, f[2], flen[2], &c->target_len,
		    lineno);
	parse_headers(tk, c, f[3], flen[3]);
	if (!is_dash(f[4], flen[4]))
		c->body = expand_dup(tk, f[4], flen[4], &c->body_len, lineno);
	errno = 0;
	f[5][flen[5]] = '\0';
	c->status = strtol(f[5], &end, 10);
	if (errno != 0 || end == f[5] || *end != '\0' || c->status < 0 ||
	    c->status > 599)
		tap_bail("hostile_cases.txt:%d: bad status '%s'", lineno, f[5]);
	if (!is_dash(f[6], flen[6]))
		c->code = ht_memdup(f[6], flen[6]);
	if (c->status >= 400 && c->code == NULL)
		tap_bail("hostile_cases.txt:%d: an error status needs an error "
		    "code: every error is the JSON envelope", lineno);
	for (i = 7; i < nf; i++)
		c->checks[i - 7] = expand_dup(tk, f[i], flen[i],
		    &c->check_len[i - 7], lineno);
	if (strcmp(c->method, "RAW") != 0 && strcmp(c->method, "HANGUP") != 0 &&
	    strcmp(c->method, "STALL") != 0 && c->target == NULL)
		tap_bail("hostile_cases.txt:%d: method %s needs a target",
		    lineno, c->method);
	return 1;
}

static void
case_free(struct tcase *c)
{
	int i;

	free(c->name);
	free(c->method);
	free(c->target);
	for (i = 0; c->headers[i] != NULL; i++)
		free(c->headers[i]);
	free(c->body);
	free(c->code);
	for (i = 0; c->checks[i] != NULL; i++)
		free(c->checks[i]);
	memset(c, 0, sizeof(*c));
}

/* ---------------------------------------------------------------------- */
/* Raw HTTP over a socket */

static int
harness_port(const struct harness *h)
{
	const char *u = harness_url(h), *colon = strrchr(u, ':');

	return colon != NULL ? atoi(colon + 1) : -1;
}

static int
raw_connect(int port)
{
	struct sockaddr_in sa;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
raw_send(int fd, const char *p, size_t len)
{
	ssize_t n;
	size_t off = 0;

	while (off < len) {
		n = send(fd, p + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* The value of header name in the raw header block hb, malloc'd, or NULL. */
static char *
header_value(const char *hb, const char *name)
{
	size_t nl = strlen(name);
	const char *p = hb, *e, *v;

	while (p != NULL && *p != '\0') {
		e = strstr(p, "\r\n");
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			v = p + nl + 1;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			return ht_memdup(v, (size_t)(e - v));
		}
		p = *e != '\0' ? e + 2 : NULL;
	}
	return NULL;
}

/*
 * Decodes a chunked body src[0..n) into out.  Returns 1 when the last chunk
 * has arrived, 0 when more is needed, -1 when malformed.
 */
static int
dechunk(const char *src, size_t n, struct dbuf *out)
{
	size_t i = 0, size;
	char *end;

	dbuf_add(out, "", 0);
	for (;;) {
		const char *crlf = memmem(src + i, n - i, "\r\n", 2);

		if (crlf == NULL)
			return 0;
		errno = 0;
		size = (size_t)strtoul(src + i, &end, 16);
		if (end == src + i || errno != 0)
			return -1;
		i = (size_t)(crlf - src) + 2;
		if (size == 0)
			return 1;
		if (n - i < size + 2) {
			dbuf_add(out, src + i, n - i < size ? n - i : size);
			return 0;
		}
		dbuf_add(out, src + i, size);
		i += size + 2;
	}
}

/*
 * Splits the raw bytes into a, if a whole answer is there.  Returns 1 when
 * complete, 0 when more is needed.  An event stream is complete once its
 * first event or comment ("\n\n") arrived.
 */
static int
raw_parse(const char *s, size_t n, int eof, struct answer *a)
{
	const char *hend = memmem(s, n, "\r\n\r\n", 4);
	struct dbuf body = { NULL, 0, 0 };
	char *cl, *te;
	size_t hlen, blen;
	int done = 0, r;

	if (hend == NULL)
		return 0;
	hlen = (size_t)(hend - s) + 2;
	blen = n - hlen - 2;
	free(a->headers);
	free(a->ctype);
	free(a->body);
	a->headers = ht_memdup(s, hlen);
	a->status = 0;
	if (hlen > 12 && strncmp(s, "HTTP/1.", 7) == 0)
		a->status = strtol(s + 9, NULL, 10);
	a->ctype = header_value(a->headers, "Content-Type");
	cl = header_value(a->headers, "Content-Length");
	te = header_value(a->headers, "Transfer-Encoding");
	if (te != NULL && strcasecmp(te, "chunked") == 0) {
		r = dechunk(hend + 4, blen, &body);
		done = r != 0 || eof || (a->ctype != NULL &&
		    strncmp(a->ctype, "text/event-stream", 17) == 0 &&
		    memmem(body.data, body.len, "\n\n", 2) != NULL);
	} else if (cl != NULL) {
		size_t want = (size_t)strtoull(cl, NULL, 10);

		dbuf_add(&body, hend + 4, blen < want ? blen : want);
		done = blen >= want || eof;
	} else {
		dbuf_add(&body, hend + 4, blen);
		done = eof;
	}
	a->body = body.data;
	a->len = body.len;
	free(cl);
	free(te);
	return done;
}

/*
 * Sends req over a fresh connection and reads the answer until it is
 * complete, the server closes, or wait_ms passes.  HANGUP semantics are not
 * here: see run_hangup.
 */
static void
raw_exchange(struct harness *h, const char *req, size_t len, long wait_ms,
    struct answer *a)
{
	struct dbuf in = { NULL, 0, 0 };
	struct pollfd pfd;
	char buf[65536];
	long t0 = now_ms(), left;
	ssize_t n;
	int fd, complete = 0;

	if ((fd = raw_connect(harness_port(h))) == -1) {
		snprintf(a->err, sizeof(a->err), "connect: %s",
		    strerror(errno));
		return;
	}
	if (raw_send(fd, req, len) != 0)
		snprintf(a->err, sizeof(a->err), "send: %s", strerror(errno));
	dbuf_add(&in, "", 0);
	while (!complete && (left = wait_ms - (now_ms() - t0)) > 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(left < 100 ? left : 100)) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			a->closed = 1;
			if (n < 0)
				snprintf(a->err, sizeof(a->err), "recv: %s",
				    strerror(errno));
			break;
		}
		dbuf_add(&in, buf, (size_t)n);
		complete = raw_parse(in.data, in.len, 0, a);
	}
	a->elapsed_ms = now_ms() - t0;
	if (!complete && in.len > 0)
		(void)raw_parse(in.data, in.len, 1, a);
	if (a->status == 0 && in.len > 0)
		snprintf(a->err, sizeof(a->err), "%zu bytes that are not an "
		    "HTTP answer", in.len);
	close(fd);
	dbuf_free(&in);
}

/* ---------------------------------------------------------------------- */
/* Running one case */

static void
answer_free(struct answer *a)
{
	free(a->ctype);
	free(a->headers);
	free(a->body);
	memset(a, 0, sizeof(*a));
}

/* Strict JSON of the body into a (harness-owned object). */
static void
answer_json(struct harness *h, struct answer *a)
{
	size_t b;
	const char *s;

	if (a->headers == NULL)
		a->headers = ht_memdup("", 0);
	if (a->body == NULL)
		a->body = ht_memdup("", 0);
	b = a->len;
	s = a->body;
	while (b > 0 && (s[b - 1] == '\n' || s[b - 1] == ' ' ||
	    s[b - 1] == '\r' || s[b - 1] == '\t'))
		b--;
	/* jparse() is strict (UTF-8, finite numbers) but maps null to NULL. */
	a->json = memchr(s, '\0', a->len) == NULL ? jparse(h, s) : NULL;
	a->json_ok = a->json != NULL || (b == 4 && memcmp(s, "null", 4) == 0);
}

/* Takes over a curl answer. */
static void
answer_from_resp(struct harness *h, struct http_resp *r, struct answer *a)
{
	a->status = r->status;
	a->ctype = r->ctype;
	a->headers = r->headers;
	a->body = r->body;
	a->len = r->len;
	snprintf(a->err, sizeof(a->err), "%.500s", r->err);
	r->ctype = r->headers = r->body = NULL;
	answer_json(h, a);
}

static void
run_curl(struct harness *h, const struct tcase *c, struct answer *a)
{
	struct http_resp r;

	http_request(h, c->method, c->target,
	    (const char *const *)c->headers, c->body, c->body_len, &r);
	answer_from_resp(h, &r, a);
	http_resp_free(&r);
}

/* GET over a raw socket: a subscription that works never ends. */
static void
run_sse(struct harness *h, const struct tcase *c, struct answer *a)
{
	struct dbuf req = { NULL, 0, 0 };
	int i;

	dbuf_add(&req, "GET ", 4);
	dbuf_add(&req, c->target, c->target_len);
	dbuf_add(&req, " HTTP/1.1\r\nHost: 127.0.0.1\r\n", 28);
	for (i = 0; c->headers[i] != NULL; i++) {
		dbuf_add(&req, c->headers[i], strlen(c->headers[i]));
		dbuf_add(&req, "\r\n", 2);
	}
	dbuf_add(&req, "Connection: close\r\n\r\n", 21);
	raw_exchange(h, req.data, req.len, RAW_WAIT_MS, a);
	answer_json(h, a);
	dbuf_free(&req);
}

/* 1 when the server answers sys.version; for after a hostile client. */
static int
server_alive(struct harness *h, char *why, size_t whylen)
{
	struct http_resp r;
	int good;

	rpc_call(h, ADM, "[\"sys.version\"]", &r);
	good = r.status == 200 && r.json != NULL &&
	    json_object_is_type(r.json, json_type_string);
	if (!good)
		snprintf(why, whylen, "the server no longer answers: "
		    "sys.version -> %ld %.200s %.100s", r.status, r.err, r.body);
	http_resp_free(&r);
	return good;
}

/* Sends the bytes, waits a moment, closes without reading anything. */
static void
run_hangup(struct harness *h, const struct tcase *c, struct answer *a)
{
	int fd;

	if ((fd = raw_connect(harness_port(h))) == -1) {
		snprintf(a->err, sizeof(a->err), "connect: %s",
		    strerror(errno));
		return;
	}
	(void)raw_send(fd, c->body, c->body_len);
	sleep_ms(HANGUP_HOLD_MS);
	close(fd);
	a->closed = 1;
	a->headers = ht_memdup("", 0);
	a->body = ht_memdup("", 0);
}

static int
ctype_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	return ctype != NULL && strncasecmp(ctype, want, n) == 0 &&
	    (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* The error envelope {"error":{"code","message","details"?}} with code. */
static int
envelope_ok(struct json_object *j, const char *want_code, char *why,
    size_t whylen)
{
	struct json_object *e = NULL, *v;
	const char *code;

	if (j == NULL || !json_object_is_type(j, json_type_object) ||
	    json_object_object_length(j) != 1 ||
	    !json_object_object_get_ex(j, "error", &e) ||
	    !json_object_is_type(e, json_type_object)) {
		snprintf(why, whylen, "body is not {\"error\":{...}}");
		return 0;
	}
	code = jpath_str(e, "code");
	v = jpath_get(e, "message");
	if (code == NULL || *code == '\0' || v == NULL ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0) {
		snprintf(why, whylen, "error.code or error.message missing");
		return 0;
	}
	v = jpath_get(e, "details");
	if ((v != NULL && !json_object_is_type(v, json_type_object)) ||
	    json_object_object_length(e) > (v != NULL ? 3 : 2)) {
		snprintf(why, whylen, "error has a bad details or extra keys");
		return 0;
	}
	if (want_code != NULL && strcmp(code, want_code) != 0) {
		snprintf(why, whylen, "error.code is %s, want %s", code,
		    want_code);
		return 0;
	}
	return 1;
}

/* 1 when a header line of the answer was injected through the request. */
static int
injected(const char *hb, char *why, size_t whylen)
{
	static const char *const bad[] = { "X-Injected", "Set-Cookie" };
	const char *p = hb;
	size_t k;

	while (p != NULL && *p != '\0') {
		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
			if (strncasecmp(p, bad[k], strlen(bad[k])) == 0) {
				snprintf(why, whylen, "an injected header line "
				    "came back: %.80s", p);
				return 1;
			}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return 0;
}

/*
 * The extra checks of a case, on the raw body: "=TEXT" the body (trailing
 * newline removed) is TEXT, "~TEXT" it contains TEXT, "!TEXT" it does not,
 * "time>=MS" the answer (or the close) took at least MS milliseconds.
 */
static int
extra_checks(const struct tcase *c, const struct answer *a, char *why,
    size_t whylen)
{
	size_t b = a->len, k, n;
	const char *t;

	while (b > 0 && a->body[b - 1] == '\n')
		b--;
	for (k = 0; c->checks[k] != NULL; k++) {
		t = c->checks[k] + 1;
		n = c->check_len[k] - 1;
		switch (c->checks[k][0]) {
		case '=':
			if (b != n || memcmp(a->body, t, n) != 0) {
				snprintf(why, whylen, "body is not %.*s",
				    (int)(n < 200 ? n : 200), t);
				return 0;
			}
			break;
		case '~':
			if (memmem(a->body, a->len, t, n) == NULL) {
				snprintf(why, whylen, "body lacks %.*s",
				    (int)(n < 200 ? n : 200), t);
				return 0;
			}
			break;
		case '!':
			if (memmem(a->body, a->len, t, n) != NULL) {
				snprintf(why, whylen, "body contains %.*s",
				    (int)(n < 200 ? n : 200), t);
				return 0;
			}
			break;
		default:
			if (strncmp(c->checks[k], "time>=", 6) == 0) {
				if (a->elapsed_ms < atol(c->checks[k] + 6)) {
					snprintf(why, whylen, "answered after "
					    "%ld ms, want >= %s", a->elapsed_ms,
					    c->checks[k] + 6);
					return 0;
				}
				break;
			}
			tap_bail("hostile_cases.txt:%d: unknown check '%s'",
			    c->lineno, c->checks[k]);
		}
	}
	return 1;
}

/* Judges answer a against case c; why receives the first failure. */
static int
judge(const struct tcase *c, const struct answer *a, char *why,
    size_t whylen)
{
	if (c->status == 0) {
		if (a->status != 0) {
			snprintf(why, whylen, "status %ld, want no answer",
			    a->status);
			return 0;
		}
		if (!a->closed) {
			snprintf(why, whylen, "the connection was not closed "
			    "within the wait");
			return 0;
		}
		return extra_checks(c, a, why, whylen);
	}
	if (a->status != c->status) {
		snprintf(why, whylen, "status %ld, want %ld%s%s", a->status,
		    c->status, a->err[0] ? "; " : "", a->err);
		return 0;
	}
	if (injected(a->headers, why, whylen))
		return 0;
	if (a->status == 200 && ctype_is(a->ctype, "text/event-stream")) {
		if (c->code != NULL || a->len < 9 ||
		    memcmp(a->body, ": ready\n\n", 9) != 0) {
			snprintf(why, whylen, "event stream without \": ready\" "
			    "first");
			return 0;
		}
		return extra_checks(c, a, why, whylen);
	}
	if (!ctype_is(a->ctype, "application/json")) {
		snprintf(why, whylen, "Content-Type is %s, want "
		    "application/json", a->ctype ? a->ctype : "(none)");
		return 0;
	}
	if (!a->json_ok) {
		snprintf(why, whylen, "body is not one strict JSON value");
		return 0;
	}
	if (c->code != NULL || a->status >= 400) {
		if (!envelope_ok(a->json, c->code, why, whylen))
			return 0;
	} else if (a->json != NULL &&
	    json_object_is_type(a->json, json_type_object) &&
	    jpath_get(a->json, "error") != NULL) {
		snprintf(why, whylen, "success status with an error body");
		return 0;
	}
	return extra_checks(c, a, why, whylen);
}

/* Prints bytes as one diagnostic line, control bytes escaped, truncated. */
static void
diag_bytes(const char *label, const char *s, size_t len)
{
	char buf[400];
	size_t i, o = 0;

	for (i = 0; i < len && o + 8 < sizeof(buf); i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
	tap_diag("%s%s%s", label, buf, i < len ? "...(truncated)" : "");
}

static void
run_case(struct harness *h, const struct tcase *c)
{
	struct answer a;
	char why[1024];
	int good;

	memset(&a, 0, sizeof(a));
	why[0] = '\0';
	if (strcmp(c->method, "RAW") == 0) {
		raw_exchange(h, c->body, c->body_len, RAW_WAIT_MS, &a);
		answer_json(h, &a);
	} else if (strcmp(c->method, "STALL") == 0) {
		raw_exchange(h, c->body, c->body_len, STALL_WAIT_MS, &a);
		answer_json(h, &a);
	} else if (strcmp(c->method, "HANGUP") == 0)
		run_hangup(h, c, &a);
	else if (strcmp(c->method, "SSE") == 0)
		run_sse(h, c, &a);
	else
		run_curl(h, c, &a);
	if (a.headers == NULL)
		a.headers = ht_memdup("", 0);
	if (a.body == NULL)
		a.body = ht_memdup("", 0);

	good = judge(c, &a, why, sizeof(why));
	/* After a client that misbehaves at the socket level, evdb answers. */
	if (good && (strcmp(c->method, "HANGUP") == 0 ||
	    strcmp(c->method, "STALL") == 0))
		good = server_alive(h, why, sizeof(why));
	ok(good, "%s -> %ld %s", c->name, c->status, c->code ? c->code : "-");
	if (!good) {
		tap_diag("hostile_cases.txt:%d: %s", c->lineno, why);
		tap_diag("request: %s %.*s (body %zu bytes)", c->method,
		    c->target ? (int)(c->target_len < 200 ? c->target_len :
		    200) : 1, c->target ? c->target : "-", c->body_len);
		if (c->body != NULL)
			diag_bytes("request body: ", c->body, c->body_len);
		tap_diag("answer: status %ld, Content-Type %s, %zu body bytes%s"
		    "%s", a.status, a.ctype ? a.ctype : "(none)", a.len,
		    a.err[0] ? ", " : "", a.err);
		diag_bytes("answer body: ", a.body, a.len);
	}
	answer_free(&a);
}

/* ---------------------------------------------------------------------- */
/* Setup and the checks around the table */

/* The data written before the table, per namespace. */
struct intact {
	const char	*token;		/* the namespace's token */
	const char	*stream;	/* the stream written */
	const char	*before;	/* stream.get's body right after writing */
};

static void
intact_write(struct harness *h, struct intact *in, const char *token,
    const char *stream)
{
	static const char *const data[][2] = {
		{ "{\"n\":1,\"s\":\"plain\"}", NULL },
		{ "{\"u\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"esc\":"
		    "\"a\\u0000b\\n\\\"\"}", "{\"correlationStreamName\":"
		    "\"x-1\"}" },
		/* Instead of the one above on PostgreSQL: jsonb has no U+0000. */
		{ "{\"u\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"esc\":"
		    "\"a\\u0001b\\n\\\"\"}", "{\"correlationStreamName\":"
		    "\"x-1\"}" },
		{ "{\"big\":9007199254740993,\"neg\":-9223372036854775808,"
		    "\"max\":9223372036854775807,\"f\":0.1,\"e\":1e-7}", NULL },
		{ "{\"deep\":{\"a\":[1,[2,[3,{\"b\":null}]]]},\"t\":true,"
		    "\"z\":\"last\",\"a\":\"first\"}", "{\"m\":[]}" },
		{ "{}", "{}" },
	};
	struct http_resp r;
	size_t i;
	int good = 1;

	in->token = token;
	in->stream = stream;
	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		if (i == (harness_keeps_key_order(h) ? 2 : 1))
			continue;
		good &= write_quiet(h, token, stream, "Before", data[i][0],
		    data[i][1], NULL, NULL, NULL) == 0;
	}
	rpc_call(h, token, hstr(h, "[\"stream.get\",\"%s\",{\"batchSize\":-1}]",
	    stream), &r);
	in->before = hmem(h, r.body, r.len);
	ok(good && r.status == 200 && jpath_len(r.json, "") == 5,
	    "setup: 5 messages written to %s before the table", stream);
	http_resp_free(&r);
}

static void
intact_check(struct harness *h, const struct intact *in)
{
	struct http_resp r;
	int good;

	rpc_call(h, in->token, hstr(h, "[\"stream.get\",\"%s\","
	    "{\"batchSize\":-1}]", in->stream), &r);
	good = r.status == 200 && strcmp(r.body, in->before) == 0;
	ok(good, "after the table %s reads back byte for byte as before",
	    in->stream);
	if (!good) {
		diag_bytes("before: ", in->before, strlen(in->before));
		diag_bytes("after:  ", r.body, r.len);
	}
	http_resp_free(&r);
}

static void
setup(struct harness *h, struct tokens *tk)
{
	int good = 1;
	int i;

	tk->admin = ADM;
	tk->tenant = ns_create_ok(h, "tenant1", "setup: namespace tenant1");
	tk->deleted = ns_create_ok(h, "gone1", "setup: namespace gone1");
	if (tk->tenant == NULL || tk->deleted == NULL)
		tap_bail("cannot create the setup namespaces");
	rpc_ok(h, ADM, "[\"ns.delete\",\"gone1\"]", 200, NULL,
	    "setup: namespace gone1 deleted (its token stays for the table)");
	/* Three messages the position and batchSize cases read. */
	for (i = 0; i < 3; i++)
		good &= write_quiet(h, ADM, "pos-1", "P", hstr(h, "{\"i\":%d}",
		    i), NULL, NULL, NULL, NULL) == 0;
	good &= write_quiet(h, tk->tenant, "pos-1", "P", "{\"i\":0}", NULL,
	    NULL, NULL, NULL) == 0;
	ok(good, "setup: stream pos-1 holds 3 messages (1 in tenant1)");
}

/* ---------------------------------------------------------------------- */
/* Secrets and permissions at rest, after all of the above */

/* The whole of file path into b (emptied first); -1 when unreadable. */
static int
file_slurp(const char *path, struct dbuf *b)
{
	char buf[65536];
	size_t n;
	FILE *fp;

	b->len = 0;
	dbuf_add(b, "", 0);
	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		dbuf_add(b, buf, n);
	fclose(fp);
	return 0;
}

/*
 * Looks for each of the NULL-terminated secrets in every file below dir
 * (skipping the file named skip, may be NULL).  Returns how many files hold
 * one; names them as diagnostics.
 */
static int
tree_leaks(const char *dir, const char *const *secrets, const char *skip,
    int *nfiles)
{
	struct dbuf b = { NULL, 0, 0 };
	struct dirent *de;
	struct stat sb;
	char path[4096];
	DIR *d;
	int leaks = 0, k;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			leaks += tree_leaks(path, secrets, skip, nfiles);
			continue;
		}
		if (!S_ISREG(sb.st_mode) || (skip != NULL &&
		    strcmp(de->d_name, skip) == 0) || file_slurp(path, &b) != 0)
			continue;
		(*nfiles)++;
		for (k = 0; secrets[k] != NULL; k++)
			if (memmem(b.data, b.len, secrets[k],
			    strlen(secrets[k])) != NULL) {
				tap_diag("%s holds secret %d", path, k);
				leaks++;
				break;
			}
	}
	closedir(d);
	dbuf_free(&b);
	return leaks;
}

/* SHA-256 of s as lowercase hex (sha256sum), or "" on failure. */
static void
sha256_hex(const char *s, char out[65])
{
	char cmd[512];
	FILE *fp;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "printf %%s '%s' | sha256sum", s);
	if ((fp = popen(cmd, "r")) == NULL)
		return;
	if (fgets(out, 65, fp) == NULL || strlen(out) != 64)
		out[0] = '\0';
	pclose(fp);
}

/* 1 when path exists with exactly the permission bits mode. */
static int
mode_is(const char *path, mode_t mode)
{
	struct stat sb;

	if (stat(path, &sb) != 0) {
		tap_diag("stat %s: %s", path, strerror(errno));
		return 0;
	}
	if ((sb.st_mode & 07777) != mode)
		tap_diag("%s has mode %04o", path, (unsigned)(sb.st_mode & 07777));
	return (sb.st_mode & 07777) == mode;
}

static void
at_rest_checks(struct harness *h, const struct tokens *tk)
{
	const char *secrets[] = { tk->admin, tk->tenant, tk->deleted, NULL };
	const char *qsecrets[] = { tk->admin, tk->tenant, tk->deleted,
	    "token=", NULL };
	const char *d = harness_datadir(h);
	struct dbuf b = { NULL, 0, 0 }, w = { NULL, 0, 0 };
	char hash[65];
	int n = 0, leaks;

	bool sqlite = strcmp(harness_backend(h), "sqlite") == 0;

	leaks = tree_leaks(hstr(h, "%s/data", d), secrets, "admin.token", &n);
	/* On PostgreSQL the data directory holds admin.token only. */
	ok(leaks == 0 && (n >= 3 || !sqlite), "no token is stored in clear in"
	    " the %d files of the data directory (admin.token aside)", n);
	sha256_hex(tk->tenant, hash);
	if (!sqlite)
		goto logs;
	file_slurp(hstr(h, "%s/data/registry.db", d), &b);
	file_slurp(hstr(h, "%s/data/registry.db-wal", d), &w);
	ok(hash[0] != '\0' && (memmem(b.data, b.len, hash, 64) != NULL ||
	    memmem(w.data, w.len, hash, 64) != NULL), "the registry holds the "
	    "SHA-256 of tenant1's token: %s", hash);
logs:
	file_slurp(hstr(h, "%s/log/evdb.log", d), &b);
	ok(b.len > 0 && memmem(b.data, b.len, tk->admin, strlen(tk->admin)) ==
	    NULL && memmem(b.data, b.len, tk->tenant, strlen(tk->tenant)) ==
	    NULL && memmem(b.data, b.len, tk->deleted, strlen(tk->deleted)) ==
	    NULL, "evdb's log (%zu bytes) holds no token", b.len);
	file_slurp(hstr(h, "%s/log/nginx-access.log", d), &b);
	leaks = 0;
	for (n = 0; qsecrets[n] != NULL; n++)
		if (memmem(b.data, b.len, qsecrets[n], strlen(qsecrets[n])) !=
		    NULL)
			leaks++;
	ok(b.len > 0 && leaks == 0, "nginx's access log (%zu bytes) holds no "
	    "token and no query string with token=", b.len);
	ok(mode_is(hstr(h, "%s/data", d), 0700) &&
	    (!sqlite || mode_is(hstr(h, "%s/data/ns", d), 0700)),
	    "the data directory and data/ns are mode 0700");
	ok(mode_is(hstr(h, "%s/data/admin.token", d), 0600) &&
	    (!sqlite || (mode_is(hstr(h, "%s/data/registry.db", d), 0600) &&
	    mode_is(hstr(h, "%s/data/registry.db-wal", d), 0600))),
	    "admin.token and the registry files are mode 0600");
	ok(mode_is(hstr(h, "%s/run/evdb.sock", d), 0660),
	    "evdb's unix socket is mode 0660");
	dbuf_free(&b);
	dbuf_free(&w);
}

static const char *
cases_path(void)
{
	const char *src = getenv("EVDB_SRCDIR");
	static char path[4096];

	snprintf(path, sizeof(path), "%s/tests/e2e/hostile_cases.txt",
	    src != NULL && *src != '\0' ? src : ".");
	return path;
}

/*
 * Whether a case line is for the stack's backend: a line whose name starts
 * "[sqlite] " or "[postgres] " runs only there (the marker is removed), for
 * the documented differences of PostgreSQL's jsonb (docs/storage.md).
 */
static int
case_for_backend(char *line, const char *backend)
{
	char *p = line, *end;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '[' || (end = strstr(p, "] ")) == NULL)
		return 1;
	n = (size_t)(end - p - 1);
	if (n != strlen(backend) || memcmp(p + 1, backend, n) != 0)
		return 0;
	memmove(p, end + 2, strlen(end + 2) + 1);
	return 1;
}

/* Runs every case of the file; returns the number of cases. */
static int
run_table(struct harness *h, const struct tokens *tk)
{
	struct tcase c;
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, n = 0;

	if ((fp = fopen(cases_path(), "r")) == NULL)
		tap_bail("cannot open %s: %s", cases_path(), strerror(errno));
	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		if (!case_for_backend(line, harness_backend(h)) ||
		    !parse_case(tk, line, lineno, &c))
			continue;
		run_case(h, &c);
		case_free(&c);
		n++;
	}
	if (ferror(fp))
		tap_bail("reading %s: %s", cases_path(), strerror(errno));
	free(line);
	fclose(fp);
	return n;
}

int
main(void)
{
	struct harness *h;
	struct tokens tk;
	struct intact keep[2];
	struct json_object *j;
	int n;

	h = harness_start();
	setup(h, &tk);
	intact_write(h, &keep[0], ADM, "keep-1");
	intact_write(h, &keep[1], tk.tenant, "keep-2");

	n = run_table(h, &tk);
	ok(n >= MIN_CASES, "the table holds %d cases (at least %d)", n,
	    MIN_CASES);

	intact_check(h, &keep[0]);
	intact_check(h, &keep[1]);
	j = rpc_ok(h, ADM, "[\"category.get\",\"hx\",{\"batchSize\":-1}]",
	    200, NULL, "category.get hx answers");
	ok(jpath_len(j, "") == 0, "no write the table expected refused "
	    "reached the store (category hx): %s", jpath_text(h, j, ""));
	j = rpc_ok(h, tk.tenant, "[\"category.get\",\"hx\",{\"batchSize\":-1}]",
	    200, NULL, "category.get hx answers in tenant1");
	ok(jpath_len(j, "") == 0, "nor in tenant1: %s", jpath_text(h, j, ""));
	rpc_ok(h, ADM, "[\"stream.write\",\"keep-1\",{\"type\":\"After\","
	    "\"data\":{\"k\":\"v\"}},{\"expectedVersion\":4}]", 200, NULL,
	    "after the table the server still takes a write at version 4");
	j = rpc_ok(h, ADM, "[\"stream.last\",\"keep-1\"]", 200, NULL,
	    "and serves it");
	ok(jpath_int(j, "2") == 5 && jvalue_equal(jpath_get(j, "4"),
	    jparse(h, "{\"k\":\"v\"}"), 1), "the write after the table reads "
	    "back at position 5: %s", jpath_text(h, j, ""));
	at_rest_checks(h, &tk);
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
