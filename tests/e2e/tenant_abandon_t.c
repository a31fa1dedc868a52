/*
 * tests/e2e/tenant_abandon_t.c - a request nginx gave up on is never run
 * (issue 15, finding 5).
 *
 * The attack as found: a stream.write waited in evdb's listen backlog
 * behind busy workers; nginx answered 504 and closed its connection, and
 * evdb served the request from the backlog 14 s later anyway, so a client
 * that retried without an id wrote the message twice.
 *
 * Here every worker is stalled by FastCGI clients, one per worker, that
 * send BEGIN_REQUEST to evdb's own socket and nothing more: the poller
 * hands each to a worker, which then waits for its parameters (before the
 * poller, one such client held the accept lock, and so every worker;
 * EVDB_E2E_WORKERS gives the stack's worker count).  A client then sends a write
 * through nginx and hangs up, so nginx closes its FastCGI connection, as it
 * does after fastcgi_read_timeout; a second client sends a write and
 * waits.  Once the stall ends, the first write must not be applied, and
 * the second must be.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"
#include "tenant.h"

/* The raw HTTP text of a stream.write of one message to stream. */
static const char *
write_request(struct harness *h, const char *token, const char *stream)
{
	const char *body = hstr(h, "[\"stream.write\",\"%s\",{\"type\":\"T\","
	    "\"data\":{\"n\":1}}]", stream);

	return hstr(h, "POST /rpc HTTP/1.1\r\nHost: e2e\r\nAuthorization: Bearer "
	    "%s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", token, strlen(body), body);
}

int
main(void)
{
	struct harness *h;
	const char *tok, *req, *out;
	struct json_object *msgs;
	char *bytes, *rest;
	size_t len;
	int stall[64], gone, live, nstall, i, stalled;
	const char *workers_env = getenv("EVDB_E2E_WORKERS");
	long status;
	int64_t before, after;

	tap_plan(10);
	h = harness_start();
	tok = ns_create_ok(h, "abandon", "a tenant namespace");
	if (tok == NULL)
		tok = HARNESS_ADMIN_TOKEN;
	before = tenant_metric(h, "evdb_requests_abandoned_total");

	/* Stall: BEGIN_REQUEST only, so a worker waits for the parameters. */
	bytes = fcgi_request_bytes(h, "/rpc", "", HARNESS_ADMIN_TOKEN,
	    "[\"sys.version\"]", 15, 15, true, &len);
	nstall = workers_env != NULL && *workers_env != '\0' ? atoi(workers_env) : 4;
	if (nstall < 1 || nstall > 64)
		nstall = 4;
	stalled = 0;
	for (i = 0; i < nstall; i++) {
		stall[i] = tenant_connect_unix(hstr(h, "%s/run/evdb.sock",
		    harness_datadir(h)));
		if (stall[i] >= 0 && tenant_send(stall[i], bytes, 16) == 0)
			stalled++;
	}
	ok(stalled == nstall, "%d FastCGI clients stall evdb's %d workers "
	    "(BEGIN_REQUEST, no parameters)", stalled, nstall);
	usleep(300000);

	/* The write nginx gives up on: its client hangs up while it waits. */
	gone = tenant_connect(tenant_port(h), 0);
	req = write_request(h, tok, "abandon-1");
	ok(gone >= 0 && tenant_send(gone, req, strlen(req)) == 0,
	    "a write is sent through nginx while every worker is stalled");
	/* A live one, whose client waits for the answer. */
	live = tenant_connect(tenant_port(h), 0);
	req = write_request(h, tok, "abandon-2");
	ok(live >= 0 && tenant_send(live, req, strlen(req)) == 0,
	    "a second write is sent, whose client waits");
	usleep(1000000);
	close(gone);
	/* nginx notices the hang-up and closes the FastCGI connection. */
	usleep(1000000);

	/* End the stall. */
	stalled = 0;
	for (i = 0; i < nstall; i++)
		if (stall[i] >= 0 && tenant_send(stall[i], bytes + 16, len - 16) == 0)
			stalled++;
	ok(stalled == nstall, "the stalling clients complete their requests");
	stalled = 0;
	for (i = 0; i < nstall; i++) {
		out = stall[i] >= 0 ? tenant_fcgi_stdout(h, stall[i], 30000) : NULL;
		if (out != NULL && strncmp(out, "Status: 200", 11) == 0)
			stalled++;
		if (stall[i] >= 0)
			close(stall[i]);
	}
	ok(stalled == nstall, "the stalling requests are answered 200 (%d of %d)",
	    stalled, nstall);

	status = live >= 0 ? tenant_http_status(h, live, 30000, &rest) : 0;
	ok(status == 200, "the write whose client waited is answered 200 (got %ld)",
	    status);
	if (live >= 0)
		close(live);

	msgs = stream_read_all(h, tok, "abandon-1");
	ok(msgs != NULL && jpath_len(msgs, "") == 0, "the write nginx gave up on "
	    "was never applied: abandon-1 holds %d message(s), want 0",
	    msgs != NULL ? jpath_len(msgs, "") : -1);
	msgs = stream_read_all(h, tok, "abandon-2");
	ok(msgs != NULL && jpath_len(msgs, "") == 1, "the write whose client "
	    "waited was applied once: abandon-2 holds %d message(s)",
	    msgs != NULL ? jpath_len(msgs, "") : -1);
	after = tenant_metric(h, "evdb_requests_abandoned_total");
	ok(after >= 1 && after > before, "evdb_requests_abandoned_total counts "
	    "it (%lld before, %lld after)", (long long)before, (long long)after);
	harness_stop(h);
	return tap_done();
}
