/*
 * tests/e2e/pg_mixed_sse_t.c - an SSE all=true subscriber in the mixed
 * stress of issue 9 ("no skipped message in global order"): eight writers
 * over ten categories, four through evdb's HTTP RPC and four through
 * Message DB's own write_message() on the same database, while a
 * subscriber to the whole namespace (/subscribe?all=true&position=G,
 * through nginx) catches up and runs into live.  It must receive every
 * message of the run exactly once, in global order: the messages
 * write_message commits reach it through the watch (NOTIFY or the poll),
 * and the namespace lock (evdb's acquire_lock) keeps a late commit from
 * being stepped over.  tests/unit/pg_mdb_t checks the same with a reader
 * in the store; this one checks the SSE hub.
 *
 * Needs a PostgreSQL cluster (EVDB_E2E_PGDIR's, or a private one:
 * tests/pgtest.h) and Message DB's SQL (tests/mdbtest.h); it never skips.
 */
#include "config.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "../pgtest.h"
#include "../mdbtest.h"
#include "harness.h"

#define ADM HARNESS_ADMIN_TOKEN
#define WRITERS 8			/* half evdb's, half write_message's */
#define PER_WRITER 150			/* writes each */
#define MAX_EVENTS 8192			/* pokes recorded */

/* One writer and what it did. */
struct writer {
	const struct harness *h;	/* evdb writers: the stack */
	const char *conninfo;		/* write_message writers: the database */
	int index;			/* names its streams */
	atomic_int *done;		/* writes completed, every writer */
	int failures;			/* writes that failed */
};

/* The subscriber: the ids of its pokes, in arrival order. */
struct subscriber {
	char url[1024];
	atomic_int stop;		/* set by main: disconnect */
	long status;			/* HTTP status */
	int64_t ids[MAX_EVENTS];	/* id: of each poke */
	atomic_int n;			/* pokes seen */
	char line[256];			/* the line being read */
	size_t line_len;
};

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void *
writer_evdb(void *arg)
{
	struct writer *w = arg;
	struct hconn *c = hconn_new(w->h);
	struct http_resp r;
	char body[256];
	int i;

	for (i = 0; i < PER_WRITER; i++) {
		snprintf(body, sizeof(body), "[\"stream.write\",\"cat%d-e%d\","
		    "{\"type\":\"E\",\"data\":{\"i\":%d}}]", (i + w->index) % 10,
		    w->index, i);
		memset(&r, 0, sizeof(r));
		if (c == NULL || hconn_rpc(c, ADM, body, &r) != 0 ||
		    r.status != 200)
			w->failures++;
		http_resp_free(&r);
		atomic_fetch_add(w->done, 1);
	}
	hconn_free(c);
	return NULL;
}

static void *
writer_mdb(void *arg)
{
	struct writer *w = arg;

	w->failures = mdbtest_write_messages(w->conninfo, w->index, PER_WRITER,
	    w->done);
	return NULL;
}

/* curl's body callback: records the value of every "id: " line. */
static size_t
subscriber_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct subscriber *s = arg;
	size_t len = size * nmemb, i;
	int n;

	for (i = 0; i < len; i++) {
		if (p[i] != '\n') {
			if (s->line_len < sizeof(s->line) - 1)
				s->line[s->line_len++] = p[i];
			continue;
		}
		s->line[s->line_len] = '\0';
		n = atomic_load(&s->n);
		if (strncmp(s->line, "id: ", 4) == 0 && n < MAX_EVENTS) {
			s->ids[n] = strtoll(s->line + 4, NULL, 10);
			atomic_store(&s->n, n + 1);
		}
		s->line_len = 0;
	}
	return len;
}

/* curl's progress callback: ends the transfer once main says so. */
static int
subscriber_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct subscriber *s = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&s->stop);
}

static void *
subscriber_main(void *arg)
{
	struct subscriber *s = arg;
	CURL *curl = curl_easy_init();

	curl_easy_setopt(curl, CURLOPT_URL, s->url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, subscriber_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, subscriber_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
	(void)curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &s->status);
	curl_easy_cleanup(curl);
	return NULL;
}

int
main(void)
{
	static struct subscriber sub;
	struct writer w[WRITERS];
	pthread_t tw[WRITERS], ts;
	atomic_int done = 0;
	struct harness *h;
	const char *dir, *mdb, *conninfo;
	char sql[256];
	PGconn *pg;
	PGresult *res;
	int64_t lo, g, want;
	int i, n, failures = 0, at_open, missing = 0, twice = 0, order = 1;
	unsigned char *seen;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = pgtest_cluster("mixsse");
	if ((mdb = mdbtest_dir()) == NULL)
		tap_bail("Message DB's SQL not available (EVDB_MDB_SQL, or npm to"
		    " fetch @eventide/message-db)");
	conninfo = pgtest_database(dir, "mixsse");
	setenv("EVDB_E2E_STORE", conninfo, 1);
	h = harness_start();

	/* evdb makes message_store; Message DB's functions go into it. */
	write_ok(h, ADM, "first-1", "T", "{}", NULL, NULL, NULL, NULL,
	    "a first write makes the default namespace's schema");
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK)
		tap_bail("connect: %s", PQerrorMessage(pg));
	ok(mdbtest_install(pg, mdb), "Message DB 1.3.0's functions install into"
	    " message_store");
	/* Connections adopt the lock at their first lookup: start afresh. */
	ok(harness_restart(h) == 0, "evdb restarted, so that every connection"
	    " sees Message DB's functions");
	write_ok(h, ADM, "first-1", "T", "{}", NULL, NULL, NULL, NULL,
	    "a write after the restart");
	res = pgtest_sql_ok(pg, "SELECT prosrc LIKE '%evdb namespace lock%'"
	    " FROM pg_proc WHERE oid ="
	    " to_regprocedure('message_store.acquire_lock(varchar)')");
	ok(PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0,
	    "write_message takes evdb's namespace lock (acquire_lock replaced)");
	PQclear(res);
	res = pgtest_sql_ok(pg, "SELECT max(global_position) FROM"
	    " message_store.messages");
	lo = strtoll(PQgetvalue(res, 0, 0), NULL, 10) + 1;
	PQclear(res);

	for (i = 0; i < WRITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].h = h;
		w[i].conninfo = conninfo;
		w[i].index = i;
		w[i].done = &done;
		if (pthread_create(&tw[i], NULL, i % 2 ? writer_mdb : writer_evdb,
		    &w[i]) != 0)
			tap_bail("pthread_create");
	}
	/* Subscribe while the writes are in flight: catch-up runs into live. */
	while (atomic_load(&done) < WRITERS * PER_WRITER / 5)
		sleep_ms(1);
	snprintf(sub.url, sizeof(sub.url), "%s/subscribe?all=true&position=%"
	    PRId64 "&token=%s", harness_url(h), lo, ADM);
	if (pthread_create(&ts, NULL, subscriber_main, &sub) != 0)
		tap_bail("pthread_create");
	at_open = atomic_load(&done);
	for (i = 0; i < WRITERS; i++) {
		pthread_join(tw[i], NULL);
		failures += w[i].failures;
	}
	ok(failures == 0, "8 writers (4 through evdb, 4 through write_message)"
	    " over 10 categories made %d writes (%d failed)",
	    WRITERS * PER_WRITER, failures);
	ok(at_open < WRITERS * PER_WRITER, "the subscriber connected while the"
	    " writes were in flight (%d of %d done)", at_open,
	    WRITERS * PER_WRITER);

	/* Every message of the run, as the database has them. */
	snprintf(sql, sizeof(sql), "SELECT global_position FROM"
	    " message_store.messages WHERE global_position >= %" PRId64
	    " ORDER BY global_position", lo);
	res = pgtest_sql_ok(pg, sql);
	want = PQntuples(res);
	/* Give the subscriber up to 30 s to receive them all. */
	for (i = 0; i < 3000 && atomic_load(&sub.n) < want; i++)
		sleep_ms(10);
	sleep_ms(200);			/* and a moment for any duplicate */
	atomic_store(&sub.stop, 1);
	pthread_join(ts, NULL);
	n = atomic_load(&sub.n);
	ok(sub.status == 200, "the subscription answered 200 (%ld)", sub.status);

	seen = calloc((size_t)(want > 0 ? want : 1), 1);
	for (i = 0; i < n; i++) {
		int lo_i = 0, hi_i = (int)want - 1, mid = -1;

		if (i > 0 && sub.ids[i] <= sub.ids[i - 1])
			order = 0;
		while (lo_i <= hi_i) {	/* the poke's place among the rows */
			int m = (lo_i + hi_i) / 2;

			g = strtoll(PQgetvalue(res, m, 0), NULL, 10);
			if (g == sub.ids[i]) {
				mid = m;
				break;
			}
			if (g < sub.ids[i])
				lo_i = m + 1;
			else
				hi_i = m - 1;
		}
		if (mid >= 0 && seen[mid] < 255)
			seen[mid]++;
	}
	for (i = 0; i < (int)want; i++) {
		if (seen[i] == 0)
			missing++;
		else if (seen[i] > 1)
			twice++;
	}
	ok(want == WRITERS * PER_WRITER, "the database holds the %d messages of"
	    " the run (%" PRId64 ")", WRITERS * PER_WRITER, want);
	ok(n == want && missing == 0 && twice == 0, "the all=true subscriber got"
	    " every one of the %" PRId64 " exactly once (%d pokes, %d missed, %d"
	    " twice)", want, n, missing, twice);
	ok(order, "... in rising global order");
	if (missing > 0)
		for (i = 0; i < (int)want && missing > 0; i++)
			if (seen[i] == 0) {
				tap_diag("missed global position %s",
				    PQgetvalue(res, i, 0));
				missing--;
				if (i > 20)
					break;
			}
	free(seen);
	PQclear(res);
	PQfinish(pg);
	harness_stop(h);
	mdbtest_cleanup();
	tap_plan(tap_run);
	return tap_done();
}
