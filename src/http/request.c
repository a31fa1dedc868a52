/*
 * request.c - FastCGI request helpers: parameters, body, query, responses.
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>

#include "core/json_out.h"
#include "http/request.h"
#include "core/strutil.h"

const char *
request_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

const char *
request_param(const struct request *r, const char *name)
{
	return r->fcgi != NULL ? FCGX_GetParam(name, r->fcgi->envp) : NULL;
}

enum evdb_status
request_read_body(struct request *r, size_t max)
{
	size_t want;
	int n;

	if (r->fcgi == NULL)	/* detached: the body is preloaded */
		return r->body->len > max ? EVDB_ERR_INVALID : EVDB_OK;
	buf_reset(r->body);
	if (r->content_length > 0 && (uint64_t)r->content_length > max)
		return EVDB_ERR_INVALID;
	want = r->content_length > 0 ? (size_t)r->content_length : 0;
	for (;;) {
		size_t room;

		buf_reserve(r->body, 16384);
		room = r->body->cap - r->body->len - 1;
		if (room > 65536)
			room = 65536;
		n = FCGX_GetStr(r->body->data + r->body->len, (int)room, r->fcgi->in);
		if (n <= 0)
			break;
		r->body->len += (size_t)n;
		r->body->data[r->body->len] = '\0';
		if (r->body->len > max)
			return EVDB_ERR_INVALID;
	}
	if (r->body->len < want)
		return EVDB_ERR_CLOSED;
	return EVDB_OK;
}

/* Form-decodes s[0..n) into out (which has room for n + 1 bytes). */
static size_t
request_form_decode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%' && i + 2 < n &&
		    (hi = strutil_hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = strutil_hex_value((unsigned char)s[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return o;
}

char *
request_query(struct request *r, const char *key, size_t *len)
{
	const char *p = r->query;
	size_t klen = strlen(key);

	while (*p != '\0') {
		const char *amp = strchr(p, '&');
		const char *end = amp != NULL ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *name_end = eq != NULL ? eq : end;

		if ((size_t)(name_end - p) == klen && memcmp(p, key, klen) == 0) {
			const char *v = eq != NULL ? eq + 1 : end;
			size_t vn = (size_t)(end - v);
			char *out = arena_alloc(r->arena, vn + 1);

			*len = request_form_decode(v, vn, out);
			return out;
		}
		p = amp != NULL ? amp + 1 : end;
	}
	*len = 0;
	return NULL;
}

void
request_send(struct request *r, int status, const char *content_type,
    const char *body, size_t len)
{
	if (r->status != 0 || r->streaming)
		return;
	r->status = status;
	r->content_type = content_type;
	if (r->out->data == NULL || body != r->out->data) {
		buf_reset(r->out);
		buf_append(r->out, body, len);
	} else
		r->out->len = len;
}

void
request_send_out(struct request *r, int status)
{
	request_send(r, status, "application/json", r->out->data ? r->out->data : "",
	    r->out->len);
}

/* Writes all of data to the FastCGI output stream. */
static enum evdb_status
request_put(struct request *r, const char *data, size_t len)
{
	while (len > 0) {
		int chunk = len > (1u << 30) ? 1 << 30 : (int)len;

		if (FCGX_PutStr(data, chunk, r->fcgi->out) != chunk)
			return EVDB_ERR_CLOSED;
		data += chunk;
		len -= (size_t)chunk;
	}
	return EVDB_OK;
}

int
request_take_socket(struct request *r)
{
	/* FCGX_Request.ipcFd is part of the public struct in fcgiapp.h. */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fd;

	if (devnull < 0)
		return -1;
	fd = r->fcgi->ipcFd;
	r->fcgi->ipcFd = devnull;
	r->fcgi->keepConnection = 0;
	return fd;
}

/*
 * A response head, built by hand: snprintf spent some 1,900 instructions on
 * it, 1 - 2 % of a small request.  What does not fit is cut (every piece
 * is evdb's own: a status, its reason, a static content type, a length).
 */
struct response_head {
	char *text;	/* REQUEST_HEAD_MAX bytes of the caller's */
	size_t len;
};

static void
head_put(struct response_head *h, const char *s, size_t n)
{
	if (n > REQUEST_HEAD_MAX - h->len)
		n = REQUEST_HEAD_MAX - h->len;
	memcpy(h->text + h->len, s, n);
	h->len += n;
}

static void
head_puts(struct response_head *h, const char *s)
{
	head_put(h, s, strlen(s));
}

static void
head_put_u64(struct response_head *h, uint64_t v)
{
	char tmp[STRUTIL_U64_DIGITS];
	char *p = strutil_u64_dec(tmp + sizeof(tmp), v);

	head_put(h, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* "Status: 200 OK\r\nContent-Type: ...\r\n" */
static void
head_status(struct response_head *h, int status, const char *content_type)
{
	head_puts(h, "Status: ");
	head_put_u64(h, status > 0 ? (uint64_t)status : 0);
	head_puts(h, " ");
	head_puts(h, request_reason(status));
	head_puts(h, "\r\nContent-Type: ");
	head_puts(h, content_type);
	head_puts(h, "\r\n");
}

size_t
request_format_head(char out[REQUEST_HEAD_MAX], int status,
    const char *content_type, size_t content_length)
{
	struct response_head h = { .text = out, .len = 0 };

	head_status(&h, status, content_type);
	head_puts(&h, "Content-Length: ");
	head_put_u64(&h, content_length);
	head_puts(&h, "\r\nCache-Control: no-store\r\n\r\n");
	return h.len;
}

void
request_finish(struct request *r)
{
	char head[REQUEST_HEAD_MAX];
	size_t n;

	if (r->fcgi == NULL || r->streaming)
		return;
	if (r->status == 0)
		request_send_error(r, 500, "INTERNAL_ERROR", "No response was produced", NULL);
	n = request_format_head(head, r->status, r->content_type, r->out->len);
	/* A client that went away makes these fail; there is nobody to tell. */
	if (request_put(r, head, n) == EVDB_OK)
		(void)request_put(r, r->out->data ? r->out->data : "", r->out->len);
}

enum evdb_status
request_stream_begin(struct request *r, int status, const char *content_type,
    const char *headers)
{
	char head[REQUEST_HEAD_MAX];
	struct response_head h = { .text = head, .len = 0 };

	if (r->status != 0 || r->streaming)
		return EVDB_ERR_INVALID;
	r->status = status;
	r->content_type = content_type;
	r->streaming = true;
	if (r->fcgi == NULL) {
		buf_reset(r->out);
		return EVDB_OK;
	}
	head_status(&h, status, content_type);
	if (request_put(r, h.text, h.len) != EVDB_OK ||
	    (headers != NULL && request_put(r, headers, strlen(headers)) != EVDB_OK) ||
	    request_put(r, "\r\n", 2) != EVDB_OK || FCGX_FFlush(r->fcgi->out) != 0)
		return EVDB_ERR_CLOSED;
	return EVDB_OK;
}

enum evdb_status
request_stream_write(struct request *r, const char *data, size_t len)
{
	if (r->fcgi == NULL) {
		buf_append(r->out, data, len);
		return EVDB_OK;
	}
	if (request_put(r, data, len) != EVDB_OK || FCGX_FFlush(r->fcgi->out) != 0 ||
	    FCGX_GetError(r->fcgi->out) != 0)
		return EVDB_ERR_CLOSED;
	return EVDB_OK;
}

void
request_send_error(struct request *r, int status, const char *code,
    const char *message, const char *details)
{
	buf_reset(r->out);
	buf_puts(r->out, "{\"error\":{\"code\":");
	json_out_cstr(r->out, code);
	buf_puts(r->out, ",\"message\":");
	json_out_cstr(r->out, message);
	if (details != NULL) {
		buf_puts(r->out, ",\"details\":");
		buf_puts(r->out, details);
	}
	buf_puts(r->out, "}}\n");
	request_send_out(r, status);
}
