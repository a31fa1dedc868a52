/*
 * tests/e2e/tenant.c - helpers of the tenant isolation tests (tenant.h).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"
#include "harness_internal.h"
#include "tenant.h"

int
tenant_port(const struct harness *h)
{
	const char *colon = strrchr(harness_url(h), ':');

	return colon != NULL ? atoi(colon + 1) : -1;
}

int
tenant_connect(int port, int rcvbuf)
{
	int fd = tcp_connect(port, 0);

	/* After connect the window scale is fixed, but the buffer shrinks. */
	if (fd >= 0 && rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

int
tenant_connect_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
tenant_send(int fd, const void *p, size_t len)
{
	const char *b = p;
	ssize_t n;

	while (len > 0) {
		n = send(fd, b, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Appends what arrives on fd to s until it closes, until end (monotonic
 * ms), or, when until is non-NULL, until s holds until.  Returns where
 * until starts in s->data, or NULL.
 */
static char *
tenant_read_into(struct sink *s, int fd, int64_t end, const char *until)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[8192], *found = NULL;
	ssize_t n;
	int left;

	while (found == NULL && (left = (int)(end - harness_now_ms())) > 0) {
		if (poll(&pfd, 1, left) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		sink_add(s, buf, (size_t)n);
		if (until != NULL)
			found = strstr(s->data, until);
	}
	return found;
}

char *
tenant_read(struct harness *h, int fd, int timeout_ms, size_t *lenp)
{
	struct sink s = { NULL, 0, 0 };
	char *p;

	(void)tenant_read_into(&s, fd, harness_now_ms() + timeout_ms, NULL);
	p = hmem(h, s.data != NULL ? s.data : "", s.len);
	if (lenp != NULL)
		*lenp = s.len;
	free(s.data);
	return p;
}

long
tenant_http_status(struct harness *h, int fd, int timeout_ms, char **rest)
{
	struct sink s = { NULL, 0, 0 };
	char *eoh;
	long status = 0;

	eoh = tenant_read_into(&s, fd, harness_now_ms() + timeout_ms,
	    "\r\n\r\n");
	if (eoh != NULL && strncmp(s.data, "HTTP/1.", 7) == 0)
		status = strtol(s.data + 9, NULL, 10);
	if (rest != NULL)
		*rest = eoh != NULL ? hmem(h, eoh + 4, s.len - (size_t)(eoh + 4 - s.data))
		    : hmem(h, "", 0);
	free(s.data);
	return status;
}

long
tenant_timed_write(struct harness *h, const char *token, const char *stream,
    int64_t *ms)
{
	struct http_resp r;
	int64_t t0 = harness_now_ms();
	long status;

	memset(&r, 0, sizeof(r));
	(void)rpc_call(h, token, hstr(h, "[\"stream.write\",\"%s\",{\"type\":\"T\","
	    "\"data\":{}}]", stream), &r);
	*ms = harness_now_ms() - t0;
	status = r.status;
	http_resp_free(&r);
	return status;
}

long
tenant_timed_health(struct harness *h, int64_t *ms)
{
	struct http_resp r;
	int64_t t0 = harness_now_ms();
	long status;

	memset(&r, 0, sizeof(r));
	(void)http_get(h, "/health", NULL, &r);
	*ms = harness_now_ms() - t0;
	status = r.status;
	http_resp_free(&r);
	return status;
}

char *
tenant_fcgi_stdout(struct harness *h, int fd, int timeout_ms)
{
	size_t len, off = 0, clen, plen;
	char *raw = tenant_read(h, fd, timeout_ms, &len);
	struct sink out = { NULL, 0, 0 };
	const unsigned char *p;
	char *res = NULL;

	while (off + 8 <= len) {
		p = (const unsigned char *)raw + off;
		clen = (size_t)p[4] << 8 | p[5];
		plen = p[6];
		if (off + 8 + clen + plen > len)
			break;
		if (p[1] == 6)		/* FCGI_STDOUT */
			sink_add(&out, raw + off + 8, clen);
		else if (p[1] == 3) {	/* FCGI_END_REQUEST */
			res = hmem(h, out.data != NULL ? out.data : "", out.len);
			break;
		}
		off += 8 + clen + plen;
	}
	free(out.data);
	return res;
}

long
tenant_stack_pid(struct harness *h, const char *name)
{
	FILE *f = fopen(hstr(h, "%s/run/%s", harness_datadir(h), name), "r");
	long pid = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return pid;
}

int64_t
tenant_metric(struct harness *h, const char *name)
{
	const char *hdr[] = { "Authorization: Bearer " HARNESS_ADMIN_TOKEN, NULL };
	struct http_resp r;
	const char *line, *want;
	int64_t v = -1;

	memset(&r, 0, sizeof(r));
	if (http_get(h, "/metrics", hdr, &r) == 0 && r.status == 200) {
		want = hstr(h, "\n%s ", name);
		if ((line = strstr(r.body, want)) != NULL)
			v = strtoll(line + strlen(want), NULL, 10);
	}
	http_resp_free(&r);
	return v;
}
