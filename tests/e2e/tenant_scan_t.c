/*
 * tests/e2e/tenant_scan_t.c - one tenant's scans leave the others their
 * workers (issue 15, finding 7).
 *
 * The attack as found: 64 concurrent category.get calls with a consumer
 * group of size 1e9 over 50,000 messages each scan the whole category and
 * return [], and pushed /health and other tenants' writes to 1.6 - 1.9 s.
 *
 * Here one tenant imports 50,000 messages into one category and 64 threads
 * scan it without pause, while another tenant writes every 200 ms (20 times):
 * its median write must answer within 200 ms and none may take 1 s.  The
 * scanner's requests over its --token-concurrency are parked (or 429'd,
 * and retried), never lost.
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

#define MESSAGES	50000
#define STREAMS		100
#define SCANNERS	64
#define WRITES		20
#define MEDIAN_MS	200
#define MAX_MS		1000

struct scanner {
	const struct harness *h;	/* the stack */
	const char *token;		/* the scanning tenant's */
	atomic_int *stop;		/* set by the main thread */
	int ok, limited, failed;	/* answers: 200 with [], 429, other */
};

static void *
scanner_main(void *arg)
{
	struct scanner *s = arg;
	struct hconn *c = hconn_new(s->h);
	struct http_resp r;

	while (c != NULL && !atomic_load(s->stop)) {
		memset(&r, 0, sizeof(r));
		(void)hconn_rpc(c, s->token, "[\"category.get\",\"scan\",{\"batchSize\":"
		    "10000,\"consumerGroup\":{\"member\":0,\"size\":1000000000}}]", &r);
		if (r.status == 200 && r.json != NULL &&
		    json_object_is_type(r.json, json_type_array))
			s->ok++;
		else if (r.status == 429) {
			s->limited++;
			usleep(20000);
		} else
			s->failed++;
		http_resp_free(&r);
	}
	hconn_free(c);
	return NULL;
}

static int
cmp_ms(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Imports MESSAGES messages over STREAMS streams of category "scan". */
static int
load(struct harness *h, const char *token)
{
	const char *hdr[] = { "Content-Type: application/x-ndjson", NULL };
	size_t cap = (size_t)MESSAGES * 200, off = 0;
	char *b = malloc(cap);
	struct http_resp r;
	int i, ok_ = 0;

	for (i = 0; i < MESSAGES; i++)
		off += (size_t)snprintf(b + off, cap - off, "{\"id\":\"00000000-0000-"
		    "4000-8000-%012x\",\"stream\":\"scan-%d\",\"type\":\"T\",\"pos\":%d,"
		    "\"gpos\":%d,\"data\":{},\"time\":\"2026-01-01T00:00:00Z\"}\n",
		    i + 1, i % STREAMS, i / STREAMS, i + 1);
	memset(&r, 0, sizeof(r));
	(void)http_post_raw(h, hstr(h, "/import?token=%s", token), hdr, b, off, &r);
	ok_ = r.status == 200 && strstr(r.body, hstr(h, "\"done\":true,\"imported\":%d",
	    MESSAGES)) != NULL;
	if (!ok_)
		tap_diag("import: %ld %.300s", r.status, r.body);
	http_resp_free(&r);
	free(b);
	return ok_;
}

int
main(void)
{
	struct harness *h;
	struct scanner sc[SCANNERS];
	pthread_t tid[SCANNERS];
	const char *attacker, *other;
	atomic_int stop;
	int64_t ms[WRITES], t0, health_ms;
	long health;
	int i, good = 0, okn = 0, limited = 0, failed = 0;

	tap_plan(8);
	h = harness_start();
	attacker = ns_create_ok(h, "scanner", "the scanning tenant's namespace");
	other = ns_create_ok(h, "scanother", "another tenant's namespace");
	if (attacker == NULL || other == NULL)
		return harness_stop(h), tap_done();
	ok(load(h, attacker), "%d messages imported into category scan", MESSAGES);

	t0 = harness_now_ms();
	(void)rpc_call(h, attacker, "[\"category.get\",\"scan\",{\"batchSize\":10000,"
	    "\"consumerGroup\":{\"member\":0,\"size\":1000000000}}]", NULL);
	tap_diag("one scan alone takes %lld ms",
	    (long long)(harness_now_ms() - t0));

	atomic_init(&stop, 0);
	for (i = 0; i < SCANNERS; i++) {
		memset(&sc[i], 0, sizeof(sc[i]));
		sc[i].h = h;
		sc[i].token = attacker;
		sc[i].stop = &stop;
		pthread_create(&tid[i], NULL, scanner_main, &sc[i]);
	}
	sleep(1);
	for (i = 0; i < WRITES; i++) {
		good += tenant_timed_write(h, other, hstr(h, "scanw-%d", i),
		    &ms[i]) == 200;
		usleep(200000);
	}
	health = tenant_timed_health(h, &health_ms);
	sleep(1);
	atomic_store(&stop, 1);
	for (i = 0; i < SCANNERS; i++) {
		pthread_join(tid[i], NULL);
		okn += sc[i].ok;
		limited += sc[i].limited;
		failed += sc[i].failed;
	}
	qsort(ms, WRITES, sizeof(ms[0]), cmp_ms);
	tap_diag("%d scans answered, %d refused 429, %d failed; the other "
	    "tenant's writes took %lld ms (median), %lld ms (max)", okn, limited,
	    failed, (long long)ms[WRITES / 2], (long long)ms[WRITES - 1]);
	ok(good == WRITES, "the other tenant's %d writes all answered 200 (%d did)",
	    WRITES, good);
	ok(ms[WRITES / 2] < MEDIAN_MS, "during the scan flood, the other tenant's "
	    "median write answers within %d ms (%lld ms)", MEDIAN_MS,
	    (long long)ms[WRITES / 2]);
	ok(ms[WRITES - 1] < MAX_MS, "and its slowest within %d ms (%lld ms)",
	    MAX_MS, (long long)ms[WRITES - 1]);
	ok(health == 200 && health_ms < MAX_MS, "/health answers 200 within %d ms "
	    "during the flood (%ld, %lld ms)", MAX_MS, health, (long long)health_ms);
	ok(okn > 0 && failed == 0, "the scanner's own scans are served, none "
	    "fails (%d answered, %d 429, %d other)", okn, limited, failed);
	harness_stop(h);
	return tap_done();
}
