/*
 * tests/e2e/tenant_upload_t.c - slow uploads hold no worker (issue 15,
 * finding 1).
 *
 * The attack as found: eight /import uploads trickling a byte every 2 s,
 * with any tenant token, held all eight workers; /health answered 504
 * after 5 s and every tenant's /rpc 504 after 30 s.
 *
 * Through nginx: eight trickling uploads (two each from four tokens, so
 * that nginx's per-token upload limit does not turn them away), while
 * /health and another tenant's write must answer within 1 s; a third
 * upload of one token is refused by nginx at once.  Imports
 * still work, a large one (spooled by nginx) and a chunked one included.
 * Straight to evdb's socket, past nginx: eight trickling imports again;
 * evdb runs --import-concurrency of them and answers the rest 429, and
 * another tenant's write answers within 1 s.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"
#include "tenant.h"

#define UPLOADS		8
#define TRICKLE_MS	2000
#define BOUND_MS	1000

struct trickle {
	int fds[UPLOADS];		/* the uploads' connections */
	bool fcgi;			/* FastCGI records, not HTTP bytes */
	atomic_int stop;		/* set by the main thread */
};

/* Sends one byte of every upload every TRICKLE_MS until told to stop. */
static void *
trickle_main(void *arg)
{
	struct trickle *t = arg;
	int i, k;

	while (!atomic_load(&t->stop)) {
		for (k = 0; k < TRICKLE_MS / 50 && !atomic_load(&t->stop); k++)
			usleep(50000);
		for (i = 0; i < UPLOADS; i++) {
			if (t->fds[i] < 0)
				continue;
			if (t->fcgi) {
				/* One STDIN record: a newline and 7 bytes of padding. */
				static const unsigned char rec[16] = { 1, 5, 0, 1, 0, 1, 7,
				    0, '\n' };
				(void)tenant_send(t->fds[i], rec, sizeof(rec));
			} else
				(void)tenant_send(t->fds[i], "\n", 1);
		}
	}
	return NULL;
}

/* An NDJSON import of n records into stream s (positions from 0, global
 * positions from gpos0). */
static char *
ndjson(size_t n, const char *s, long gpos0, size_t pad, size_t *len)
{
	size_t i, cap = n * (pad + 200) + 1, off = 0;
	char *b = malloc(cap), *fill = malloc(pad + 1);

	memset(fill, 'x', pad);
	fill[pad] = '\0';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(b + off, cap - off, "{\"id\":\"00000000-0000-"
		    "4000-8000-%012zx\",\"stream\":\"%s\",\"type\":\"T\",\"pos\":%zu,"
		    "\"gpos\":%ld,\"data\":{\"f\":\"%s\"},\"meta\":null,\"time\":"
		    "\"2026-01-01T00:00:00Z\"}\n", (size_t)gpos0 + i, s, i,
		    gpos0 + (long)i, fill);
	free(fill);
	*len = off;
	return b;
}

static void
test_through_nginx(struct harness *h, const char *toks[4], const char *other)
{
	struct trickle t;
	pthread_t tid;
	struct http_resp r;
	const char *req, *hdr[] = { "Content-Type: application/x-ndjson", NULL };
	const char *chunked[] = { "Content-Type: application/x-ndjson",
	    "Transfer-Encoding: chunked", NULL };
	int64_t ms;
	long status;
	char *body, *rest = NULL;
	size_t len;
	int i, opened = 0, third;

	memset(&t, 0, sizeof(t));
	atomic_init(&t.stop, 0);
	for (i = 0; i < UPLOADS; i++) {
		t.fds[i] = tenant_connect(tenant_port(h), 0);
		req = hstr(h, "POST /import?token=%s HTTP/1.1\r\nHost: e2e\r\n"
		    "Content-Type: application/x-ndjson\r\nContent-Length: 1000000\r\n"
		    "\r\n", toks[i / 2]);
		if (t.fds[i] >= 0 && tenant_send(t.fds[i], req, strlen(req)) == 0)
			opened++;
	}
	ok(opened == UPLOADS, "%d uploads to /import trickle a byte every %d ms "
	    "(two each from four tokens)", opened, TRICKLE_MS);
	pthread_create(&tid, NULL, trickle_main, &t);
	/* Long enough for every upload to reach a worker, if it can. */
	sleep(3);

	status = tenant_timed_health(h, &ms);
	ok(status == 200 && ms < BOUND_MS, "/health answers %ld within %d ms "
	    "during the uploads (%lld ms)", status, BOUND_MS, (long long)ms);

	/* A third upload of one token, its token in the header this time. */
	third = tenant_connect(tenant_port(h), 0);
	req = hstr(h, "POST /import HTTP/1.1\r\nHost: e2e\r\nAuthorization: Bearer "
	    "%s\r\nContent-Length: 1000000\r\n\r\n", toks[0]);
	status = third >= 0 && tenant_send(third, req, strlen(req)) == 0 ?
	    tenant_http_status(h, third, 5000, &rest) : 0;
	ok(status == 429 && rest != NULL && strstr(rest, "IMPORT_LIMIT") != NULL,
	    "nginx answers a third upload of one token at once: %ld IMPORT_LIMIT",
	    status);
	if (third >= 0)
		close(third);
	status = tenant_timed_write(h, other, "upload-other-1", &ms);
	ok(status == 200 && ms < BOUND_MS, "another tenant's write answers %ld "
	    "within %d ms during the uploads (%lld ms)", status, BOUND_MS,
	    (long long)ms);

	/* A real import still goes through meanwhile: 3 MB, spooled by nginx. */
	body = ndjson(3000, "upload-big", 1001, 1000, &len);
	memset(&r, 0, sizeof(r));
	(void)http_post_raw(h, hstr(h, "/import?token=%s", other), hdr, body, len,
	    &r);
	ok(r.status == 200 && strstr(r.body, "\"done\":true,\"imported\":3000") != NULL,
	    "a 3 MB import of another tenant succeeds during the uploads (%ld)",
	    r.status);
	http_resp_free(&r);
	free(body);
	body = ndjson(10, "upload-chunked", 5001, 10, &len);
	memset(&r, 0, sizeof(r));
	(void)http_post_raw(h, hstr(h, "/import?token=%s", other), chunked, body,
	    len, &r);
	ok(r.status == 200 && strstr(r.body, "\"done\":true,\"imported\":10") != NULL,
	    "a chunked import succeeds (%ld)", r.status);
	http_resp_free(&r);
	free(body);

	atomic_store(&t.stop, 1);
	pthread_join(tid, NULL);
	for (i = 0; i < UPLOADS; i++)
		if (t.fds[i] >= 0)
			close(t.fds[i]);
}

static void
test_past_nginx(struct harness *h, const char *tok, const char *other)
{
	struct trickle t;
	pthread_t tid;
	struct http_resp r;
	char *bytes, *out;
	size_t len;
	int64_t ms;
	int i, port, opened = 0, refused = 0;

	if (!ok(harness_spawn_evdb(h, &port) > 0, "a second evdb on a TCP port "
	    "(4 workers, FastCGI without nginx)")) {
		ok(0, "no trickling imports");
		ok(0, "no 429s");
		ok(0, "no write");
		return;
	}
	memset(&t, 0, sizeof(t));
	atomic_init(&t.stop, 0);
	t.fcgi = true;
	/* Whole parameters, one byte of a body of 1,000,000. */
	bytes = fcgi_request_bytes(h, "/import", "", tok, "\n", 1, 1000000, false,
	    &len);
	for (i = 0; i < UPLOADS; i++) {
		t.fds[i] = tenant_connect(port, 0);
		if (t.fds[i] >= 0 && tenant_send(t.fds[i], bytes, len) == 0)
			opened++;
	}
	ok(opened == UPLOADS, "%d imports trickle straight into evdb", opened);
	pthread_create(&tid, NULL, trickle_main, &t);
	/*
	 * Each refusal costs its worker a drain of at most a second or two (a
	 * read waits 1 s at most): the refusals come in a few seconds.
	 */
	for (i = 0; i < UPLOADS; i++) {
		out = tenant_fcgi_stdout(h, t.fds[i], 6000);
		if (out != NULL && strncmp(out, "Status: 429", 11) == 0 &&
		    strstr(out, "IMPORT_LIMIT") != NULL)
			refused++;
	}
	ok(refused == UPLOADS - 1, "evdb runs one import of a token and answers "
	    "the other %d 429 IMPORT_LIMIT within seconds (%d did)", UPLOADS - 1, refused);

	memset(&r, 0, sizeof(r));
	ms = harness_now_ms();
	(void)fcgi_rpc(port, other, "[\"stream.write\",\"upload-other-2\","
	    "{\"type\":\"T\",\"data\":{}}]", &r);
	ms = harness_now_ms() - ms;
	ok(r.status == 200 && ms < BOUND_MS, "another tenant's write answers %ld "
	    "within %d ms (%lld ms)", r.status, BOUND_MS, (long long)ms);
	http_resp_free(&r);
	atomic_store(&t.stop, 1);
	pthread_join(tid, NULL);
	for (i = 0; i < UPLOADS; i++)
		if (t.fds[i] >= 0)
			close(t.fds[i]);
}

/*
 * A refused upload keeps evdb's answer: the worker drains the body nginx
 * is still sending rather than resetting the connection under it.
 */
static void
test_refused_large(struct harness *h)
{
	const char *hdr[] = { "Content-Type: application/x-ndjson", NULL };
	const char *bad = token_make(h, "nobody",
	    "abababababababababababababababababababababababababababababababab");
	size_t len = 8u << 20;
	char *body = malloc(len);
	struct http_resp r;
	int i, got = 0;

	memset(body, '\n', len);
	for (i = 0; i < 5; i++) {
		memset(&r, 0, sizeof(r));
		(void)http_post_raw(h, hstr(h, "/import?token=%s", bad), hdr, body,
		    len, &r);
		got += r.status == 403;
		http_resp_free(&r);
	}
	free(body);
	ok(got == 5, "five 8 MB uploads with an unregistered token all get evdb's "
	    "403 (%d did)", got);
}

int
main(void)
{
	struct harness *h;
	const char *toks[4], *other;
	int i;

	tap_plan(16);
	h = harness_start();
	for (i = 0; i < 4; i++)
		toks[i] = ns_create_ok(h, hstr(h, "upload%d", i), hstr(h,
		    "attacker namespace %d", i));
	other = ns_create_ok(h, "uploadother", "the other tenant's namespace");
	for (i = 0; i < 4; i++)
		if (toks[i] == NULL)
			toks[i] = HARNESS_ADMIN_TOKEN;
	if (other == NULL)
		other = HARNESS_ADMIN_TOKEN;
	test_through_nginx(h, toks, other);
	test_refused_large(h);
	test_past_nginx(h, toks[0], other);
	harness_stop(h);
	return tap_done();
}
