/*
 * tests/e2e/pg_outage_t.c - PostgreSQL stopped under load and started
 * again (issue 9, "Failures"): while four writers keep writing through
 * nginx, the cluster is stopped with `pg_ctl stop -m immediate` and started
 * again.  Then (issue 14) evdb's connections are killed at random with
 * pg_terminate_backend(), and the postmaster is stopped with SIGSTOP for
 * 10 s (evdb's backends killed too, so that every reconnection meets the
 * frozen postmaster) and continued.  Every write that answered 200 is
 * present afterwards; every answer in between is 503 BACKEND_UNAVAILABLE
 * JSON, and it comes within the connection time-out (no request hangs);
 * /health says 503 while the database is down; evdb serves again without a
 * restart.
 *
 * The test never stops a shared cluster: it starts a private one of its
 * own (tests/pgtest.h, deploy/pg-cluster) in make check, whether or not
 * EVDB_E2E_PGDIR names a shared one.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "../pgtest.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN
#define WRITERS 4
#define MAX_WRITES 20000

/* One writer thread and what its writes got. */
struct writer {
	const struct harness *h;	/* the stack */
	int index;			/* names the stream: outage-<index> */
	atomic_int *stop;		/* set by main: stop writing */
	int ok200;			/* writes answered 200 */
	int unavailable;		/* answered 503 BACKEND_UNAVAILABLE JSON */
	int other;			/* any other answer */
	double slowest;			/* slowest answer, seconds */
	char last_other[256];		/* the last other answer */
	int64_t *acked;			/* positions of the 200s, in order */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct hconn *c = hconn_new(w->h);
	struct http_resp r;
	char body[256];
	const char *code;
	double t0, dt;
	int i;

	if (c == NULL)
		return NULL;
	for (i = 0; i < MAX_WRITES && !atomic_load(w->stop); i++) {
		snprintf(body, sizeof(body), "[\"stream.write\",\"outage-%d\","
		    "{\"type\":\"T\",\"data\":{\"i\":%d}}]", w->index, i);
		t0 = now_s();
		memset(&r, 0, sizeof(r));
		if (hconn_rpc(c, ADM, body, &r) != 0) {
			w->other++;
			snprintf(w->last_other, sizeof(w->last_other),
			    "no answer: %s", r.err);
			http_resp_free(&r);
			continue;
		}
		dt = now_s() - t0;
		if (dt > w->slowest)
			w->slowest = dt;
		code = r.json != NULL ? jpath_str(r.json, "error.code") : NULL;
		if (r.status == 200 && r.json != NULL &&
		    jpath_get(r.json, "position") != NULL) {
			w->acked[w->ok200] = jpath_int(r.json, "position");
			/* main reads the count while we write (writers_ok). */
			__atomic_store_n(&w->ok200, w->ok200 + 1, __ATOMIC_RELEASE);
		} else if (r.status == 503 && r.json_ok && code != NULL &&
		    strcmp(code, "BACKEND_UNAVAILABLE") == 0) {
			w->unavailable++;
			usleep(20000);
		} else {
			w->other++;
			snprintf(w->last_other, sizeof(w->last_other), "%ld %.200s",
			    r.status, r.body != NULL ? r.body : "");
		}
		http_resp_free(&r);
	}
	hconn_free(c);
	return NULL;
}

/*
 * Runs sql on the cluster in dir through psql (a connection of its own,
 * not one of evdb's) and returns the number of rows it printed, or -1.
 * Fills pids[0..max) with the rows' first column when pids is not NULL.
 */
static int
pg_psql(const char *dir, const char *sql, long *pids, int max)
{
	char cmd[1024], line[64];
	FILE *f;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "psql -X -q -At -h '%s' -U evdb -d evdb_test"
	    " -c \"%s\" 2>/dev/null", dir, sql);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (pids != NULL && n < max)
			pids[n] = strtol(line, NULL, 10);
		n++;
	}
	return pclose(f) == 0 ? n : -1;
}

/* The postmaster's pid, from the first line of DIR/data/postmaster.pid. */
static long
pg_postmaster(const char *dir)
{
	char path[512];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/data/postmaster.pid", dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

/* Writes answered 200 so far, by all writers (they only ever grow). */
static int
writers_ok(const struct writer *w)
{
	int i, n = 0;

	for (i = 0; i < WRITERS; i++)
		n += __atomic_load_n(&w[i].ok200, __ATOMIC_ACQUIRE);
	return n;
}

/* Waits up to 30 s for one more 200 than before; whether it came. */
static bool
writers_progress(const struct writer *w, int before)
{
	int k;

	for (k = 0; k < 300; k++) {
		if (writers_ok(w) > before)
			return true;
		usleep(100000);
	}
	return false;
}

int
main(void)
{
	struct harness *h;
	struct writer w[WRITERS];
	pthread_t t[WRITERS];
	atomic_int stop = 0;
	struct http_resp r;
	struct json_object *j;
	char dir[256], store[512], args[512];
	int i, k, n, good, total200 = 0, total503 = 0, other = 0, back;
	int killed, before;
	long postmaster, pids[64];
	double slowest = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Its own cluster, stopped at exit: it stops and starts it. */
	snprintf(dir, sizeof(dir), "%s", pgtest_start_private("outage"));
	snprintf(store, sizeof(store), "host=%s user=evdb dbname=evdb_test", dir);
	setenv("EVDB_E2E_STORE", store, 1);
	h = harness_start();

	write_ok(h, ADM, "outage-0", "T", "{}", NULL, NULL, NULL, NULL,
	    "a write before the outage");
	memset(w, 0, sizeof(w));
	for (i = 0; i < WRITERS; i++) {
		w[i].h = h;
		w[i].index = i + 1;
		w[i].stop = &stop;
		w[i].acked = calloc(MAX_WRITES, sizeof(int64_t));
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	sleep(1);
	snprintf(args, sizeof(args), "stop '%s' immediate", dir);
	ok(pgtest_run(args) == 0, "pg_ctl stop -m immediate under load");
	sleep(1);
	memset(&r, 0, sizeof(r));
	http_get(h, "/health", NULL, &r);
	ok(r.status == 503 && r.json != NULL &&
	    strcmp(jpath_str(r.json, "error.code") ? jpath_str(r.json,
	    "error.code") : "", "BACKEND_UNAVAILABLE") == 0,
	    "/health says 503 BACKEND_UNAVAILABLE while PostgreSQL is down: %ld %s",
	    r.status, r.body != NULL ? r.body : "");
	http_resp_free(&r);
	sleep(1);
	snprintf(args, sizeof(args), "start '%s'", dir);
	ok(pgtest_run(args) == 0, "PostgreSQL started again");
	/* evdb serves again on its own: within 30 s, without a restart. */
	back = 0;
	for (k = 0; k < 300 && !back; k++) {
		memset(&r, 0, sizeof(r));
		http_get(h, "/health", NULL, &r);
		back = r.status == 200;
		http_resp_free(&r);
		if (!back)
			usleep(100000);
	}
	ok(back, "/health is 200 again after %.1f s", k / 10.0);

	/* Kills of evdb's connections at random, 10 rounds of up to 2. */
	killed = 0;
	for (k = 0; k < 10; k++) {
		n = pg_psql(dir, "SELECT pg_terminate_backend(pid) FROM"
		    " pg_stat_activity WHERE application_name LIKE 'evdb%'"
		    " AND pid <> pg_backend_pid() ORDER BY random() LIMIT 2",
		    NULL, 0);
		if (n > 0)
			killed += n;
		usleep(200000);
	}
	ok(killed > 0, "pg_terminate_backend() killed %d of evdb's connections"
	    " in 10 rounds", killed);
	before = writers_ok(w);
	ok(writers_progress(w, before), "writes succeed again after the kills"
	    " (%d 200s before)", before);

	/* The postmaster frozen for 10 s, with evdb's backends gone. */
	postmaster = pg_postmaster(dir);
	n = pg_psql(dir, "SELECT pid FROM pg_stat_activity WHERE"
	    " application_name LIKE 'evdb%'", pids, 64);
	ok(postmaster > 0 && kill((pid_t)postmaster, SIGSTOP) == 0,
	    "SIGSTOP to the postmaster (pid %ld)", postmaster);
	for (k = 0; k < n && k < 64; k++)
		(void)kill((pid_t)pids[k], SIGTERM);
	sleep(10);
	ok(postmaster > 0 && kill((pid_t)postmaster, SIGCONT) == 0,
	    "SIGCONT after 10 s (%d of evdb's backends killed meanwhile)", n);
	before = writers_ok(w);
	ok(writers_progress(w, before), "writes succeed again after the"
	    " postmaster continued");
	sleep(1);
	atomic_store(&stop, 1);
	for (i = 0; i < WRITERS; i++) {
		pthread_join(t[i], NULL);
		total200 += w[i].ok200;
		total503 += w[i].unavailable;
		other += w[i].other;
		if (w[i].slowest > slowest)
			slowest = w[i].slowest;
		if (w[i].other > 0)
			tap_diag("writer %d: %d other answers, last: %s", i + 1,
			    w[i].other, w[i].last_other);
	}
	ok(total200 > 0 && total503 > 0, "writes got 200 (%d) and, while the"
	    " database was down, 503 BACKEND_UNAVAILABLE (%d)", total200, total503);
	ok(other == 0, "no other answer (%d)", other);
	ok(slowest < 10.0, "no request hung: the slowest answer took %.2f s",
	    slowest);
	/* Every 200 is present, at the position it was given. */
	good = 1;
	for (i = 0; i < WRITERS; i++) {
		j = rpc_ok(h, ADM, hstr(h, "[\"stream.get\",\"outage-%d\","
		    "{\"batchSize\":-1}]", i + 1), 200, NULL,
		    hstr(h, "read outage-%d", i + 1));
		for (k = 0; k < w[i].ok200; k++) {
			int64_t p = w[i].acked[k];

			if (p >= jpath_len(j, "") ||
			    jpath_int(j, hstr(h, "%lld.2", (long long)p)) != p)
				good = 0;
		}
		if (jpath_len(j, "") > 0 && jpath_int(j, hstr(h, "%d.2",
		    jpath_len(j, "") - 1)) != jpath_len(j, "") - 1)
			good = 0;
		free(w[i].acked);
	}
	ok(good, "every write that got 200 is present at its position, and the"
	    " streams are gapless");
	write_ok(h, ADM, "outage-0", "T", "{}", NULL, NULL, NULL, NULL,
	    "a write after the outage, by the same evdb processes");
	harness_stop(h);
	snprintf(args, sizeof(args), "stop '%s'", dir);
	(void)pgtest_run(args);
	snprintf(args, sizeof(args), "rm -rf '%s'", dir);
	(void)!system(args);
	tap_plan(tap_run);
	return tap_done();
}
