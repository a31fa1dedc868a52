/*
 * tests/e2e/harness_http.c - HTTP to the stack's nginx with libcurl (one
 * keep-alive easy handle per struct hconn), raw TCP exchanges for malformed
 * HTTP, and the RPC assertion helpers (rpc_ok, write_ok, ...): see harness.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "harness.h"
#include "harness_internal.h"

/* ---------------------------------------------------------------------- */
/* HTTP */

void
sink_add(struct sink *s, const void *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = s->cap ? s->cap : 4096;
		while (s->len + n + 1 > s->cap)
			s->cap *= 2;
		s->data = xrealloc(s->data, s->cap);
	}
	memcpy(s->data + s->len, p, n);
	s->len += n;
	s->data[s->len] = '\0';
}

static size_t
sink_write(char *p, size_t size, size_t n, void *arg)
{
	sink_add(arg, p, size * n);
	return size * n;
}

/* 1 for JSON whitespace. */
static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * 1 if every number in o is finite.  json-c's tokener, even in strict mode,
 * takes NaN, Infinity and out-of-range literals such as 1e999, which are
 * not JSON (RFC 8259, section 6) and break clients.
 */
static int
json_all_finite(struct json_object *o)
{
	struct json_object_iterator it, end;
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_double:
		return isfinite(json_object_get_double(o));
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (!json_all_finite(json_object_array_get_idx(o, i)))
				return 0;
		return 1;
	case json_type_object:
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		for (; !json_object_iter_equal(&it, &end);
		    json_object_iter_next(&it))
			if (!json_all_finite(json_object_iter_peek_value(&it)))
				return 0;
		return 1;
	default:
		return 1;
	}
}

/*
 * 1 if the len bytes at s are valid UTF-8 (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF.  json-c's own check lets all three
 * through.
 */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, k, n;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/*
 * Parses body as exactly one JSON value (surrounding whitespace allowed),
 * strictly: valid UTF-8, no NaN/Infinity, nothing after the value.
 */
int
json_parse_exact(const char *body, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;
	size_t off;
	int good = 0;

	*out = NULL;
	if (body == NULL || len == 0 || len > INT_MAX - 1 ||
	    !utf8_valid((const unsigned char *)body, len))
		return 0;
	if ((tok = json_tokener_new_ex(HARNESS_PARSE_DEPTH)) == NULL)
		return 0;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	e = json_tokener_get_error(tok);
	off = json_tokener_get_parse_end(tok);
	if (o == NULL && e == json_tokener_continue) {
		/* A bare number or literal needs an end: a NUL gives one. */
		o = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
		off = len;
	}
	if (e == json_tokener_success) {
		while (off < len && is_ws(body[off]))
			off++;
		good = off == len && json_all_finite(o);
	}
	if (good)
		*out = o;
	else
		json_object_put(o);
	json_tokener_free(tok);
	return good;
}

struct json_object *
jparse(struct harness *h, const char *text)
{
	struct json_object *o;

	json_parse_exact(text, strlen(text), &o);
	return harness_keep(h, o);
}

struct hconn *
hconn_new(const struct harness *h)
{
	struct hconn *c;

	c = xmalloc(sizeof(*c));
	memset(c, 0, sizeof(*c));
	if ((c->curl = curl_easy_init()) == NULL) {
		free(c);
		return NULL;
	}
	c->base = xstrdup(h->url);
	return c;
}

void
hconn_free(struct hconn *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c->base);
	free(c);
}

void
http_resp_free(struct http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->ctype);
	free(r->headers);
	json_object_put(r->json);
	memset(r, 0, sizeof(*r));
}

/* 1 if the NULL-terminated header list names header (case-insensitive). */
static int
headers_have(const char *const *headers, const char *name)
{
	size_t n = strlen(name);

	for (; headers != NULL && *headers != NULL; headers++)
		if (strncasecmp(*headers, name, n) == 0 &&
		    (*headers)[n] == ':')
			return 1;
	return 0;
}

static int
hconn_request(struct hconn *c, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len,
    struct http_resp *out)
{
	struct curl_slist *hl = NULL;
	struct sink bs = { NULL, 0, 0 }, hs = { NULL, 0, 0 };
	char *url = NULL, *ct = NULL;
	CURLcode res;
	const char *const *hp;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	curl_easy_reset(c->curl);
	url = xasprintf("%s%s", c->base, path);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 90L);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &bs);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, sink_write);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &hs);
	curl_easy_setopt(c->curl, CURLOPT_PATH_AS_IS, 1L);
	c->errbuf[0] = '\0';

	if (strcmp(method, "GET") == 0 && body == NULL)
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	else {
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
		if (body != NULL || strcmp(method, "POST") == 0) {
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)len);
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS,
			    body != NULL ? body : "");
		}
	}
	for (hp = headers; hp != NULL && *hp != NULL; hp++)
		hl = curl_slist_append(hl, *hp);
	/* No "Expect: 100-continue" round trip unless a test asks for it. */
	if (!headers_have(headers, "Expect"))
		hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hl);

	res = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
	if (res != CURLE_OK)
		snprintf(out->err, sizeof(out->err), "%s: %s",
		    curl_easy_strerror(res), c->errbuf);
	if (curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ct) ==
	    CURLE_OK && ct != NULL)
		out->ctype = xstrdup(ct);
	if (bs.data == NULL)
		sink_add(&bs, "", 0);
	if (hs.data == NULL)
		sink_add(&hs, "", 0);
	out->body = bs.data;
	out->len = bs.len;
	out->headers = hs.data;
	out->json_ok = json_parse_exact(out->body, out->len, &out->json);
	if (out->status > 0)
		rc = 0;
	curl_slist_free_all(hl);
	free(url);
	return rc;
}

int
http_request(struct harness *h, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len,
    struct http_resp *out)
{
	return hconn_request(h->conn, method, path, headers, body, len, out);
}

int
http_get(struct harness *h, const char *path, const char *const *headers,
    struct http_resp *out)
{
	return http_request(h, "GET", path, headers, NULL, 0, out);
}

int
http_post_raw(struct harness *h, const char *path, const char *const *headers,
    const void *body, size_t len, struct http_resp *out)
{
	return http_request(h, "POST", path, headers, body, len, out);
}

int
hconn_rpc(struct hconn *c, const char *token, const char *body,
    struct http_resp *out)
{
	const char *hdr[3] = { NULL, NULL, NULL };
	char *auth = NULL;
	int rc;

	if (token != NULL) {
		auth = xasprintf("Authorization: Bearer %s", token);
		hdr[0] = auth;
		hdr[1] = "Content-Type: application/json";
	} else
		hdr[0] = "Content-Type: application/json";
	rc = hconn_request(c, "POST", "/rpc", hdr, body, strlen(body), out);
	free(auth);
	return rc;
}

int
hconn_rpc_to(struct hconn *c, int instance, const char *token,
    const char *body, struct http_resp *out)
{
	const char *hdr[4] = { NULL, NULL, NULL, NULL };
	char *auth = NULL, *pin = NULL;
	int rc, n = 0;

	if (token != NULL)
		hdr[n++] = auth = xasprintf("Authorization: Bearer %s", token);
	hdr[n++] = "Content-Type: application/json";
	if (instance > 0)
		hdr[n++] = pin = xasprintf("X-Evdb-Instance: %d", instance);
	rc = hconn_request(c, "POST", "/rpc", hdr, body, strlen(body), out);
	free(auth);
	free(pin);
	return rc;
}

char *
http_raw_exchange(struct harness *h, const void *req, size_t len, int shut_wr,
    int timeout_ms, size_t *outlen)
{
	struct sink s = { NULL, 0, 0 };
	struct pollfd pfd;
	const char *p = req;
	char buf[8192];
	ssize_t n;
	size_t off = 0;
	int fd, elapsed = 0;
	char *res;

	*outlen = 0;
	if ((fd = tcp_connect(h->port, 0)) == -1)
		return NULL;
	while (off < len) {
		n = send(fd, p + off, len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (shut_wr)
		shutdown(fd, SHUT_WR);
	sink_add(&s, "", 0);
	while (elapsed < timeout_ms) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) <= 0) {
			elapsed += 100;
			continue;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		sink_add(&s, buf, (size_t)n);
	}
	close(fd);
	*outlen = s.len;
	res = hmem(h, s.data, s.len);
	free(s.data);
	return res;
}

int
http_sse_open(struct harness *h, const char *token, const char *stream,
    int rcvbuf)
{
	char *req;
	size_t len;
	int fd, sent;

	if ((fd = tcp_connect(h->port, rcvbuf)) == -1)
		return -1;
	req = xasprintf("GET /subscribe?stream=%s&token=%s HTTP/1.0\r\n"
	    "Host: 127.0.0.1\r\n\r\n", stream, token);
	len = strlen(req);
	sent = send(fd, req, len, MSG_NOSIGNAL) == (ssize_t)len;
	free(req);
	if (!sent) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---------------------------------------------------------------------- */
/* RPC helpers */

/* Keeps the trimmed body of r as the last RPC answer. */
static void
rpc_remember(struct harness *h, const struct http_resp *r)
{
	size_t a = 0, b = r->len;

	while (a < b && is_ws(r->body[a]))
		a++;
	while (b > a && is_ws(r->body[b - 1]))
		b--;
	h->last_body = hmem(h, r->body + a, b - a);
}

const char *
rpc_last_body(struct harness *h)
{
	return h->last_body != NULL ? h->last_body : "";
}

struct json_object *
rpc_call(struct harness *h, const char *token, const char *body,
    struct http_resp *out)
{
	struct http_resp r;
	struct json_object *j;

	hconn_rpc(h->conn, token, body, &r);
	rpc_remember(h, &r);
	j = harness_keep(h, r.json != NULL ? json_object_get(r.json) : NULL);
	if (out != NULL)
		*out = r;
	else
		http_resp_free(&r);
	return j;
}

int64_t
harness_subscribers(struct harness *h)
{
	struct json_object *j = rpc_call(h, HARNESS_ADMIN_TOKEN,
	    "[\"sys.health\"]", NULL);
	int64_t v = jpath_int(j, "subscribers");

	return v == JPATH_NOINT ? -1 : v;
}

/* 1 if ctype is application/json (parameters allowed). */
static int
ctype_is_json(const char *ctype)
{
	return ctype != NULL &&
	    strncasecmp(ctype, "application/json", 16) == 0 &&
	    (ctype[16] == '\0' || ctype[16] == ';' || ctype[16] == ' ');
}

/*
 * Checks the error envelope {"error":{"code","message","details"?}} and,
 * when want_code is non-NULL, the code.  Returns 1 if fine; else writes the
 * reason into why.
 */
static int
envelope_check(struct json_object *j, const char *want_code, char *why,
    size_t whylen)
{
	struct json_object *e, *v;
	const char *code;

	if (j == NULL || !json_object_is_type(j, json_type_object)) {
		snprintf(why, whylen, "body is not a JSON object");
		return 0;
	}
	if (json_object_object_length(j) != 1 ||
	    !json_object_object_get_ex(j, "error", &e) ||
	    !json_object_is_type(e, json_type_object)) {
		snprintf(why, whylen, "body is not {\"error\":{...}}");
		return 0;
	}
	code = jpath_str(e, "code");
	if (code == NULL || *code == '\0') {
		snprintf(why, whylen, "error.code missing or not a string");
		return 0;
	}
	v = jpath_get(e, "message");
	if (v == NULL || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0) {
		snprintf(why, whylen, "error.message missing or empty");
		return 0;
	}
	v = jpath_get(e, "details");
	if (v != NULL && !json_object_is_type(v, json_type_object)) {
		snprintf(why, whylen, "error.details is not an object");
		return 0;
	}
	if (json_object_object_length(e) > (v != NULL ? 3 : 2)) {
		snprintf(why, whylen, "error has keys besides code, message, "
		    "details");
		return 0;
	}
	if (want_code != NULL && strcmp(code, want_code) != 0) {
		snprintf(why, whylen, "error.code is %s, want %s", code,
		    want_code);
		return 0;
	}
	return 1;
}

/* Prints a possibly long, possibly binary text as one diagnostic. */
void
diag_text(struct harness *h, const char *label, const char *s, size_t len)
{
	char buf[640];
	size_t i, o = 0;

	for (i = 0; i < len && o + 8 < sizeof(buf); i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
	h->diagf("%s%s%s", label, buf, i < len ? "...(truncated)" : "");
}

static int
resp_check(struct harness *h, const struct http_resp *r, long want_status,
    const char *want_code, const char *desc, const char *reqbody)
{
	char why[256];
	int good = 1;

	why[0] = '\0';
	if (r->status != want_status) {
		snprintf(why, sizeof(why), "status %ld, want %ld", r->status,
		    want_status);
		good = 0;
	} else if (!ctype_is_json(r->ctype)) {
		snprintf(why, sizeof(why), "Content-Type is %s, want "
		    "application/json", r->ctype ? r->ctype : "(none)");
		good = 0;
	} else if (!r->json_ok) {
		snprintf(why, sizeof(why), "body is not one JSON value");
		good = 0;
	} else if (want_code != NULL || want_status >= 300) {
		good = envelope_check(r->json, want_code, why, sizeof(why));
	} else if (json_object_is_type(r->json, json_type_object) &&
	    jpath_get(r->json, "error") != NULL &&
	    json_object_object_length(r->json) == 1) {
		snprintf(why, sizeof(why), "success status but an error "
		    "envelope");
		good = 0;
	}
	h->okf(good, "%s", desc);
	if (!good) {
		h->diagf("%s", why);
		if (reqbody != NULL)
			diag_text(h, "request: ", reqbody, strlen(reqbody));
		if (r->err[0] != '\0')
			h->diagf("transport: %s", r->err);
		diag_text(h, "response body: ", r->body ? r->body : "",
		    r->len);
	}
	return good;
}

int
error_envelope_ok(struct harness *h, const struct http_resp *r,
    long want_status, const char *want_code, const char *desc)
{
	char why[256];
	int good;

	if (r->status != want_status || !ctype_is_json(r->ctype) ||
	    !r->json_ok)
		return resp_check(h, r, want_status, want_code, desc, NULL);
	good = envelope_check(r->json, want_code, why, sizeof(why));
	h->okf(good, "%s", desc);
	if (!good) {
		h->diagf("%s", why);
		diag_text(h, "response body: ", r->body, r->len);
	}
	return good;
}

struct json_object *
rpc_ok(struct harness *h, const char *token, const char *body,
    long want_status, const char *want_code, const char *desc)
{
	struct http_resp r;
	struct json_object *j;

	hconn_rpc(h->conn, token, body, &r);
	rpc_remember(h, &r);
	resp_check(h, &r, want_status, want_code, desc, body);
	j = harness_keep(h, r.json != NULL ? json_object_get(r.json) : NULL);
	http_resp_free(&r);
	return j;
}

/* Returns s as a JSON string literal, harness-owned. */
static const char *
jstring(struct harness *h, const char *s)
{
	struct json_object *o;
	const char *t;

	o = json_object_new_string(s);
	t = hstr(h, "%s", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return t;
}

/*
 * Sends one stream.write; returns 1 on 200 {position>=0,globalPosition>=1}.
 * *r receives the answer (caller frees), *bodyp the request (harness-owned),
 * *pos and *gpos the positions or -1.
 */
static int
write_do(struct harness *h, const char *token, const char *stream,
    const char *type, const char *data, const char *meta,
    const char *options, int64_t *pos, int64_t *gpos, struct http_resp *r,
    const char **bodyp)
{
	const char *body;
	int64_t p, g;
	int good;

	body = hstr(h, "[\"stream.write\",%s,{\"type\":%s,\"data\":%s%s%s}"
	    "%s%s]", jstring(h, stream), jstring(h, type), data,
	    meta != NULL ? ",\"metadata\":" : "", meta != NULL ? meta : "",
	    options != NULL ? "," : "", options != NULL ? options : "");
	*bodyp = body;
	hconn_rpc(h->conn, token, body, r);
	p = jpath_int(r->json, "position");
	g = jpath_int(r->json, "globalPosition");
	good = r->status == 200 && ctype_is_json(r->ctype) && p >= 0 &&
	    g >= 1;
	if (!good)
		p = g = -1;
	if (pos != NULL)
		*pos = p;
	if (gpos != NULL)
		*gpos = g;
	return good;
}

/* Diagnostics for a failed write_do. */
static void
write_diag(struct harness *h, const char *body, const struct http_resp *r)
{
	h->diagf("stream.write did not answer 200 "
	    "{position>=0, globalPosition>=1}");
	diag_text(h, "request: ", body, strlen(body));
	h->diagf("status %ld %s", r->status, r->err);
	diag_text(h, "response body: ", r->body, r->len);
}

struct json_object *
write_ok(struct harness *h, const char *token, const char *stream,
    const char *type, const char *data, const char *meta,
    const char *options, int64_t *pos, int64_t *gpos, const char *desc)
{
	struct http_resp r;
	struct json_object *j;
	const char *body;
	int good;

	good = write_do(h, token, stream, type, data, meta, options, pos,
	    gpos, &r, &body);
	h->okf(good, "%s", desc);
	if (!good)
		write_diag(h, body, &r);
	j = harness_keep(h, r.json != NULL ? json_object_get(r.json) : NULL);
	http_resp_free(&r);
	return j;
}

int
write_quiet(struct harness *h, const char *token, const char *stream,
    const char *type, const char *data, const char *meta,
    const char *options, int64_t *pos, int64_t *gpos)
{
	struct http_resp r;
	const char *body;
	int good;

	good = write_do(h, token, stream, type, data, meta, options, pos,
	    gpos, &r, &body);
	if (!good)
		write_diag(h, body, &r);
	http_resp_free(&r);
	return good ? 0 : -1;
}

struct json_object *
stream_read_all(struct harness *h, const char *token, const char *stream)
{
	struct http_resp r;
	struct json_object *all = json_object_new_array(), *last;
	int64_t position = 0;
	size_t i, n;

	for (;;) {
		hconn_rpc(h->conn, token, hstr(h, "[\"stream.get\",%s,"
		    "{\"position\":%lld,\"batchSize\":-1}]", jstring(h, stream),
		    (long long)position), &r);
		if (r.status != 200 || r.json == NULL ||
		    !json_object_is_type(r.json, json_type_array)) {
			http_resp_free(&r);
			json_object_put(all);
			return NULL;
		}
		n = json_object_array_length(r.json);
		for (i = 0; i < n; i++)
			json_object_array_add(all,
			    json_object_get(json_object_array_get_idx(r.json, i)));
		/* A message is [id, type, position, ...]: go on after the last. */
		last = n > 0 ? json_object_array_get_idx(r.json, n - 1) : NULL;
		position = last != NULL ? json_object_get_int64(
		    json_object_array_get_idx(last, 2)) + 1 : 0;
		http_resp_free(&r);
		if (n == 0)
			break;
	}
	return harness_keep(h, all);
}

const char *
ns_create_ok(struct harness *h, const char *ns, const char *desc)
{
	struct json_object *j;
	const char *tok;

	j = rpc_ok(h, HARNESS_ADMIN_TOKEN, hstr(h, "[\"ns.create\",%s,"
	    "{\"description\":\"e2e\"}]", jstring(h, ns)), 200, NULL, desc);
	tok = jpath_str(j, "token");
	return tok != NULL ? hstr(h, "%s", tok) : NULL;
}

const char *
token_make(struct harness *h, const char *ns, const char *hex64)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *s = (const unsigned char *)ns;
	size_t n = strlen(ns), i, o = 0;
	char *enc = xmalloc(4 * (n / 3 + 1) + 1);
	const char *t;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		enc[o++] = b64[v >> 18 & 63];
		enc[o++] = b64[v >> 12 & 63];
		enc[o++] = b64[v >> 6 & 63];
		enc[o++] = b64[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)s[i] << 16;
		enc[o++] = b64[v >> 18 & 63];
		enc[o++] = b64[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		enc[o++] = b64[v >> 18 & 63];
		enc[o++] = b64[v >> 12 & 63];
		enc[o++] = b64[v >> 6 & 63];
	}
	enc[o] = '\0';
	t = hstr(h, "ns_%s_%s", enc, hex64);
	free(enc);
	return t;
}

