/*
 * tests/e2e/harness_fcgi.c - a second evdb process on the stack's data
 * directory, and a minimal FastCGI 1.0 client (BEGIN_REQUEST, PARAMS, STDIN;
 * reads STDOUT until END_REQUEST) to talk to it without a second nginx.
 * Used to prove that two processes writing one database never duplicate a
 * position.  See harness.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"
#include "harness_internal.h"

/* ---------------------------------------------------------------------- */
/* A second evdb process and a minimal FastCGI client */

/*
 * How long a second evdb may take to listen, in polls 50 ms apart: 60 s,
 * for a sanitized evdb on a loaded machine.  The wait ends at the first
 * connection it accepts.
 */
#define SPAWN_LISTEN_TRIES	1200

/*
 * One try of harness_spawn_evdb on a fresh port.  Returns the pid, or -1;
 * *exited is set when evdb exited before listening (e.g. the port was
 * taken between harness_free_port and its bind).
 */
static pid_t
spawn_evdb_once(struct harness *h, int *portp, int *exited)
{
	char *argv[16], *logpath, *listen;
	pid_t pid;
	int port, fd, i = 0, tries, status;

	*exited = 0;
	if ((port = harness_free_port()) <= 0)
		return -1;
	listen = xasprintf("127.0.0.1:%d", port);
	logpath = xasprintf("%s/evdb-extra-%d.log", h->tmp, port);
	argv[i++] = h->evdb_bin;
	argv[i++] = "serve";
	argv[i++] = "--data-dir";
	argv[i++] = h->evdbdir;
	argv[i++] = "--listen";
	argv[i++] = listen;
	argv[i++] = "--workers";
	argv[i++] = "4";
	argv[i++] = "--log-file";
	argv[i++] = logpath;
	argv[i] = NULL;
	if ((pid = fork()) == -1) {
		free(listen);
		free(logpath);
		return -1;
	}
	if (pid == 0) {
		fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	h->extra[h->nextra] = pid;
	h->nextra++;
	for (tries = 0; tries < SPAWN_LISTEN_TRIES; tries++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			h->diagf("second evdb exited early (status %d)",
			    status);
			/* Its slot is the last one: give it back. */
			h->extra[h->nextra - 1] = 0;
			h->nextra--;
			harness_diag_file(h, logpath);
			pid = -1;
			*exited = 1;
			break;
		}
		if ((fd = tcp_connect(port, 0)) != -1) {
			close(fd);
			break;
		}
		usleep(50000);
	}
	if (tries == SPAWN_LISTEN_TRIES) {
		h->diagf("second evdb did not listen on %s", listen);
		harness_diag_file(h, logpath);
		pid = -1;
	}
	free(listen);
	free(logpath);
	if (portp != NULL)
		*portp = port;
	return pid;
}

pid_t
harness_spawn_evdb(struct harness *h, int *portp)
{
	pid_t pid = -1;
	int attempt, exited = 1;

	/* Like harness_start: a port can be taken under us; try another. */
	for (attempt = 0; attempt < HARNESS_START_TRIES && pid == -1 &&
	    exited; attempt++) {
		if (h->nextra >= HARNESS_MAX_EXTRA)
			return -1;
		pid = spawn_evdb_once(h, portp, &exited);
	}
	return pid;
}

/* FastCGI record types and roles (FastCGI 1.0 specification). */
enum {
	FCGI_BEGIN_REQUEST = 1,
	FCGI_END_REQUEST = 3,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_STDOUT = 6,
	FCGI_STDERR = 7,
	FCGI_RESPONDER = 1
};

/* Appends one record (content up to 65535 bytes) to s. */
static void
fcgi_record(struct sink *s, int type, const void *content, size_t len)
{
	unsigned char hdr[8];
	static const unsigned char pad[8];
	size_t padlen = (8 - len % 8) % 8;

	hdr[0] = 1;
	hdr[1] = (unsigned char)type;
	hdr[2] = 0;
	hdr[3] = 1;			/* request id 1 */
	hdr[4] = (unsigned char)(len >> 8);
	hdr[5] = (unsigned char)(len & 0xff);
	hdr[6] = (unsigned char)padlen;
	hdr[7] = 0;
	sink_add(s, hdr, sizeof(hdr));
	if (len > 0)
		sink_add(s, content, len);
	if (padlen > 0)
		sink_add(s, pad, padlen);
}

/* Appends one name-value pair in FastCGI length encoding. */
static void
fcgi_param(struct sink *s, const char *name, const char *value)
{
	size_t lens[2] = { strlen(name), strlen(value) };
	unsigned char b[4];
	int i;

	for (i = 0; i < 2; i++) {
		if (lens[i] < 128) {
			b[0] = (unsigned char)lens[i];
			sink_add(s, b, 1);
		} else {
			b[0] = (unsigned char)((lens[i] >> 24) | 0x80);
			b[1] = (unsigned char)(lens[i] >> 16);
			b[2] = (unsigned char)(lens[i] >> 8);
			b[3] = (unsigned char)lens[i];
			sink_add(s, b, 4);
		}
	}
	sink_add(s, name, lens[0]);
	sink_add(s, value, lens[1]);
}

/* Appends data as records of type, in chunks, then the empty record. */
static void
fcgi_stream(struct sink *s, int type, const char *data, size_t len)
{
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off > 32768 ? 32768 : len - off;
		fcgi_record(s, type, data + off, n);
	}
	fcgi_record(s, type, NULL, 0);
}

/* Reads exactly n bytes within 60 s; 0 on success. */
static int
read_full(int fd, unsigned char *p, size_t n)
{
	struct pollfd pfd;
	ssize_t r;
	size_t off = 0;

	while (off < n) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 60000) <= 0)
			return -1;
		r = read(fd, p + off, n - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/*
 * After END_REQUEST: whether the server closed its end of the connection
 * entirely within wait_ms.  Seeing EOF is not enough: libfcgi's lingering
 * close also begins with a shutdown of the server's write side, and then
 * reads until the client closes.  So one more byte is sent: to a socket
 * the server has closed it is refused (EPIPE on a unix socket, a reset on
 * TCP, which poll reports as POLLHUP/POLLERR); a lingering server reads
 * it and waits on.
 */
static bool
fcgi_peer_closed(int fd, int wait_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char probe = 0;
	char buf[256];
	int left;

	/* The EOF first: the close may still be on its way. */
	for (left = wait_ms; left > 0; left -= 20)
		if (poll(&p, 1, 20) == 1 && read(fd, buf, sizeof(buf)) <= 0)
			break;
	if (send(fd, &probe, 1, MSG_NOSIGNAL) == -1)
		return errno == EPIPE || errno == ECONNRESET;
	for (; left > 0; left -= 20)
		if (poll(&p, 1, 20) == 1 && (p.revents & (POLLHUP | POLLERR)))
			return true;
	return false;
}

/*
 * Appends a whole request to req: BEGIN_REQUEST, the parameters nginx's
 * fastcgi_params.evdb sends for a POST to path?query (with a Bearer token
 * when token is non-NULL, and CONTENT_LENGTH content_length unless it is
 * negative), then body as STDIN, closed with the empty record when
 * stdin_end.
 */
static void
fcgi_build(struct sink *req, const char *path, const char *query,
    const char *token, const char *body, size_t blen, long content_length,
    bool stdin_end)
{
	struct sink params = { NULL, 0, 0 };
	unsigned char begin[8] = { 0, FCGI_RESPONDER, 0, 0, 0, 0, 0, 0 };
	char lenbuf[32], *auth = NULL;
	size_t off, n;

	fcgi_record(req, FCGI_BEGIN_REQUEST, begin, sizeof(begin));
	snprintf(lenbuf, sizeof(lenbuf), "%ld", content_length);
	fcgi_param(&params, "REQUEST_METHOD", "POST");
	fcgi_param(&params, "DOCUMENT_URI", path);
	fcgi_param(&params, "SCRIPT_NAME", path);
	fcgi_param(&params, "REQUEST_URI", path);
	fcgi_param(&params, "QUERY_STRING", query);
	fcgi_param(&params, "CONTENT_LENGTH", content_length >= 0 ? lenbuf : "");
	fcgi_param(&params, "CONTENT_TYPE", "application/json");
	fcgi_param(&params, "SERVER_PROTOCOL", "HTTP/1.1");
	fcgi_param(&params, "GATEWAY_INTERFACE", "CGI/1.1");
	fcgi_param(&params, "REMOTE_ADDR", "127.0.0.1");
	fcgi_param(&params, "REMOTE_PORT", "1");
	fcgi_param(&params, "REQUEST_ID", "e2efcgie2efcgie2efcgie2efcgi0000");
	if (token != NULL) {
		auth = xasprintf("Bearer %s", token);
		fcgi_param(&params, "HTTP_AUTHORIZATION", auth);
	}
	fcgi_stream(req, FCGI_PARAMS, params.data, params.len);
	if (stdin_end)
		fcgi_stream(req, FCGI_STDIN, body, blen);
	else
		for (off = 0; off < blen; off += n) {
			n = blen - off > 32768 ? 32768 : blen - off;
			fcgi_record(req, FCGI_STDIN, body + off, n);
		}
	free(auth);
	free(params.data);
}

char *
fcgi_request_bytes(struct harness *h, const char *path, const char *query,
    const char *token, const char *body, size_t blen, long content_length,
    bool stdin_end, size_t *outlen)
{
	struct sink req = { NULL, 0, 0 };
	char *p;

	fcgi_build(&req, path, query, token, body, blen, content_length,
	    stdin_end);
	p = hmem(h, req.data, req.len);
	*outlen = req.len;
	free(req.data);
	return p;
}

static int
fcgi_exchange(int port, const char *token, const char *body,
    struct http_resp *out, int close_wait_ms, bool *closed)
{
	struct sink req = { NULL, 0, 0 };
	struct sink so = { NULL, 0, 0 }, se = { NULL, 0, 0 };
	unsigned char hdr[8], *content = NULL;
	char *sep, *line, *next, *hend;
	size_t blen = strlen(body), off, clen, plen;
	ssize_t n;
	int fd = -1, rc = -1, done = 0;

	memset(out, 0, sizeof(out[0]));
	fcgi_build(&req, "/rpc", "", token, body, blen, (long)blen, true);

	if ((fd = tcp_connect(port, 0)) == -1) {
		snprintf(out->err, sizeof(out->err), "connect 127.0.0.1:%d: %s",
		    port, strerror(errno));
		goto out;
	}
	for (off = 0; off < req.len; off += (size_t)n) {
		n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			snprintf(out->err, sizeof(out->err), "send: %s",
			    strerror(errno));
			goto out;
		}
	}
	while (!done) {
		if (read_full(fd, hdr, sizeof(hdr)) == -1) {
			snprintf(out->err, sizeof(out->err),
			    "connection closed before END_REQUEST");
			goto out;
		}
		clen = (size_t)hdr[4] << 8 | hdr[5];
		plen = hdr[6];
		content = xrealloc(content, clen + plen + 1);
		if (read_full(fd, content, clen + plen) == -1) {
			snprintf(out->err, sizeof(out->err), "short record");
			goto out;
		}
		switch (hdr[1]) {
		case FCGI_STDOUT:
			sink_add(&so, content, clen);
			break;
		case FCGI_STDERR:
			sink_add(&se, content, clen);
			break;
		case FCGI_END_REQUEST:
			done = 1;
			break;
		default:
			break;
		}
	}
	sink_add(&so, "", 0);
	if (closed != NULL)
		*closed = fcgi_peer_closed(fd, close_wait_ms);

	/* CGI response: header lines, a blank line, the body. */
	if ((sep = strstr(so.data, "\r\n\r\n")) != NULL) {
		hend = sep;
		off = (size_t)(sep - so.data) + 4;
	} else if ((sep = strstr(so.data, "\n\n")) != NULL) {
		hend = sep;
		off = (size_t)(sep - so.data) + 2;
	} else {
		snprintf(out->err, sizeof(out->err), "no CGI header block");
		goto out;
	}
	out->status = 200;
	*hend = '\0';
	out->headers = xstrdup(so.data);
	for (line = so.data; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (strncasecmp(line, "Status:", 7) == 0)
			out->status = strtol(line + 7, NULL, 10);
		else if (strncasecmp(line, "Content-Type:", 13) == 0) {
			line += 13;
			while (*line == ' ')
				line++;
			out->ctype = xstrdup(line);
		}
	}
	out->len = so.len - off;
	out->body = xmalloc(out->len + 1);
	memcpy(out->body, so.data + off, out->len);
	out->body[out->len] = '\0';
	out->json_ok = json_parse_exact(out->body, out->len, &out->json);
	rc = 0;
out:
	if (out->body == NULL) {
		out->body = xstrdup("");
		out->len = 0;
	}
	if (fd != -1)
		close(fd);
	free(content);
	free(req.data);
	free(so.data);
	free(se.data);
	return rc;
}

int
fcgi_rpc(int port, const char *token, const char *body, struct http_resp *out)
{
	return fcgi_exchange(port, token, body, out, 0, NULL);
}

int
fcgi_rpc_closing(int port, const char *token, const char *body,
    struct http_resp *out, int wait_ms, bool *closed)
{
	*closed = false;
	return fcgi_exchange(port, token, body, out, wait_ms, closed);
}

