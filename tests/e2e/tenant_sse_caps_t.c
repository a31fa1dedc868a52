/*
 * tests/e2e/tenant_sse_caps_t.c - two tenants cannot take every SSE place
 * (issue 15, finding 14).
 *
 * The finding: the per-token subscriber cap (10,000) was more than half
 * the per-process cap (16,384), so two tenants at their caps locked every
 * other tenant out of /subscribe.  The per-token default is now 1/16 of the
 * process cap, and a per-token cap above the process cap is refused.
 *
 * With --sse-max-subscribers 32 and no per-token setting, a token gets 2
 * subscribers and its third is refused 429; two tokens at their caps
 * leave room for a third.  The defaults evdb runs with are read from its
 * start-up line, and the invalid combinations from its exit status.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"
#include "tenant.h"

#define MAX_SUBS	32
#define PER_TOKEN	(MAX_SUBS / 16)

/* Opens a subscriber of token; returns its fd (200) or -1, *status the
 * HTTP status and *rest what followed the head. */
static int
subscribe(struct harness *h, const char *token, long *status, char **rest)
{
	const char *req = hstr(h, "GET /subscribe?stream=caps-1&token=%s HTTP/1.1\r\n"
	    "Host: e2e\r\n\r\n", token);
	int fd = tenant_connect(tenant_port(h), 0);

	*status = 0;
	*rest = NULL;
	if (fd < 0 || tenant_send(fd, req, strlen(req)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*status = tenant_http_status(h, fd, 10000, rest);
	if (*status != 200) {
		if (*status != 0 && strstr(*rest, "SUBSCRIBER_LIMIT") == NULL)
			*rest = tenant_read(h, fd, 1000, NULL);
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens n subscribers of token into fds; returns how many got 200. */
static int
subscribe_n(struct harness *h, const char *token, int n, int *fds)
{
	long status;
	char *rest;
	int i, got = 0;

	for (i = 0; i < n; i++)
		if ((fds[i] = subscribe(h, token, &status, &rest)) >= 0)
			got++;
	return got;
}

/* 1 if the third subscriber of token is refused 429 SUBSCRIBER_LIMIT. */
static int
refused(struct harness *h, const char *token)
{
	long status;
	char *rest;
	int fd = subscribe(h, token, &status, &rest);

	if (fd >= 0)
		close(fd);
	return fd < 0 && status == 429 && rest != NULL &&
	    strstr(rest, "SUBSCRIBER_LIMIT") != NULL;
}

/* Runs evdb with args (settings only); returns its exit status, or -1. */
static int
evdb_exit(struct harness *h, const char *args)
{
	const char *bin = getenv("EVDB_BUILDDIR");
	int rc = system(hstr(h, "timeout 10 %s/evdb serve --data-dir %s/nodata %s "
	    ">/dev/null 2>&1", bin != NULL ? bin : ".", harness_datadir(h), args));

	return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int
main(void)
{
	struct harness *h;
	const char *a, *b, *c;
	int fa[PER_TOKEN], fb[PER_TOKEN], fc[1], i;

	tap_plan(14);
	setenv("EVDB_SSE_MAX_SUBSCRIBERS", "32", 1);
	unsetenv("EVDB_SSE_MAX_PER_TOKEN");
	h = harness_start();
	a = ns_create_ok(h, "capsa", "tenant a");
	b = ns_create_ok(h, "capsb", "tenant b");
	c = ns_create_ok(h, "capsc", "tenant c");
	if (a == NULL || b == NULL || c == NULL)
		return harness_stop(h), tap_done();
	ok(harness_log_has(h, "evdb ready", hstr(h, "%d SSE subscribers"
	    " (%d per token)", MAX_SUBS, PER_TOKEN)), "with --sse-max-subscribers"
	    " %d evdb runs %d per token by default (1/16)", MAX_SUBS, PER_TOKEN);
	ok(subscribe_n(h, a, PER_TOKEN, fa) == PER_TOKEN, "tenant a opens %d "
	    "subscribers", PER_TOKEN);
	ok(refused(h, a), "tenant a's next one: 429 SUBSCRIBER_LIMIT");
	ok(subscribe_n(h, b, PER_TOKEN, fb) == PER_TOKEN, "tenant b opens %d "
	    "subscribers", PER_TOKEN);
	ok(refused(h, b), "tenant b's next one: 429 SUBSCRIBER_LIMIT");
	ok(subscribe_n(h, c, 1, fc) == 1, "two tenants at their caps leave room "
	    "for a third: tenant c subscribes");
	for (i = 0; i < PER_TOKEN; i++) {
		if (fa[i] >= 0)
			close(fa[i]);
		if (fb[i] >= 0)
			close(fb[i]);
	}
	if (fc[0] >= 0)
		close(fc[0]);

	unsetenv("EVDB_SSE_MAX_SUBSCRIBERS");
	ok(harness_restart(h) == 0, "restart with the shipped defaults");
	ok(harness_log_has(h, "evdb ready",
	    "16384 SSE subscribers (1024 per token)"),
	    "the shipped defaults: 16384 subscribers per process, 1024 per token");
	ok(harness_log_has(h, "evdb ready",
	    "4 workers (2 per token, 1 imports)"),
	    "and with 4 workers, 2 requests per token and 1 import at once");

	ok(evdb_exit(h, "--sse-max-subscribers 10 --sse-max-per-token 20") == 2,
	    "a per-token cap above the process cap is refused (exit 2)");
	ok(evdb_exit(h, "--workers 4 --token-concurrency 4") == 2,
	    "token-concurrency equal to workers is refused (exit 2)");
	harness_stop(h);
	return tap_done();
}
