/*
 * tests/e2e/concurrency_t.c - concurrent writers: many threads writing one
 * stream through nginx get gapless, unique positions and unique global
 * positions (EDGE-005 and beyond); expectedVersion and idempotent-id races
 * have exactly one winner; and two evdb processes writing the same data
 * directory at once never duplicate a position.
 *
 * The second process is a second evdb started by the harness on the stack's
 * own data directory (D/data), listening on a loopback TCP port; the tests
 * talk FastCGI to it directly (harness_fcgi.c) instead of through a second
 * nginx.  Requests alternate between the two processes.
 */
#include "config.h"

#include <sys/random.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN

/* One request of a concurrent run and what came back. */
struct job {
	const char	*body;		/* RPC body (harness-owned) */
	long		 status;	/* HTTP status; 0 if no answer */
	int64_t		 pos;		/* "position" of the answer, or -1 */
	int64_t		 gpos;		/* "globalPosition", or -1 */
	char		 code[48];	/* error.code of the answer, or "" */
	char		 id[40];	/* the options.id sent, or "" */
};

/* One thread's share of a run. */
struct worker {
	const struct harness *h;	/* the stack */
	int		 fcgi_port;	/* >0: FastCGI to this port, else nginx */
	struct job	*jobs;		/* first job of this thread */
	int		 njobs;		/* jobs of this thread */
	pthread_barrier_t *barrier;	/* all threads start together */
	int		 failed;	/* could not set up its connection */
};

static void
job_record(struct job *j, struct http_resp *r)
{
	const char *code;

	j->status = r->status;
	j->pos = jpath_int(r->json, "position");
	j->gpos = jpath_int(r->json, "globalPosition");
	if (j->pos == JPATH_NOINT)
		j->pos = -1;
	if (j->gpos == JPATH_NOINT)
		j->gpos = -1;
	code = jpath_str(r->json, "error.code");
	snprintf(j->code, sizeof(j->code), "%s", code != NULL ? code : "");
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct hconn *c = NULL;
	struct http_resp r;
	int i;

	if (w->fcgi_port <= 0 && (c = hconn_new(w->h)) == NULL)
		w->failed = 1;
	pthread_barrier_wait(w->barrier);
	for (i = 0; i < w->njobs && !w->failed; i++) {
		if (w->fcgi_port > 0)
			fcgi_rpc(w->fcgi_port, ADM, w->jobs[i].body, &r);
		else
			hconn_rpc(c, ADM, w->jobs[i].body, &r);
		job_record(&w->jobs[i], &r);
		http_resp_free(&r);
	}
	hconn_free(c);
	return NULL;
}

/*
 * Runs njobs jobs on nthreads threads, each a contiguous slice.  Odd threads
 * use FastCGI port fcgi_port when it is >0; the others go through nginx.
 * Returns 0 when every thread ran.
 */
static int
run_jobs(struct harness *h, struct job *jobs, int njobs, int nthreads,
    int fcgi_port)
{
	pthread_t tid[64];
	struct worker w[64];
	pthread_barrier_t barrier;
	int i, per, off = 0, rc = 0;

	if (nthreads > 64 || nthreads > njobs)
		return -1;
	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
	per = njobs / nthreads;
	for (i = 0; i < nthreads; i++) {
		w[i].h = h;
		w[i].fcgi_port = (fcgi_port > 0 && i % 2 == 1) ? fcgi_port : 0;
		w[i].jobs = jobs + off;
		w[i].njobs = i == nthreads - 1 ? njobs - off : per;
		w[i].barrier = &barrier;
		w[i].failed = 0;
		off += w[i].njobs;
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]) != 0)
			tap_bail("pthread_create failed");
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		if (w[i].failed)
			rc = -1;
	}
	pthread_barrier_destroy(&barrier);
	return rc;
}

/* A random (version 4) UUID. */
static void
uuid_random(char out[37])
{
	unsigned char b[16];
	size_t i, o = 0;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		tap_bail("getrandom failed");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		snprintf(out + o, 3, "%02x", b[i]);
		o += 2;
	}
	out[o] = '\0';
}

/* Fills jobs with writes of fresh ids to stream. */
static void
jobs_write(struct harness *h, struct job *jobs, int n, const char *stream)
{
	int i;

	for (i = 0; i < n; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		uuid_random(jobs[i].id);
		jobs[i].body = hstr(h, "[\"stream.write\",\"%s\",{\"type\":"
		    "\"Concurrent\",\"data\":{\"i\":%d}},{\"id\":\"%s\"}]",
		    stream, i, jobs[i].id);
	}
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Number of jobs that got status. */
static int
jobs_with_status(const struct job *jobs, int n, long status)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		if (jobs[i].status == status)
			k++;
	return k;
}

/* Diagnoses the first failed job. */
static void
jobs_diag(const struct job *jobs, int n, long want)
{
	int i;

	for (i = 0; i < n; i++)
		if (jobs[i].status != want) {
			tap_diag("job %d: status %ld code %s", i, jobs[i].status,
			    jobs[i].code);
			return;
		}
}

/* 1 if the returned positions of the jobs are exactly from..from+n-1. */
static int
positions_gapless(const struct job *jobs, int n, int64_t from)
{
	int64_t *v = malloc((size_t)n * sizeof(*v));
	int i, good = v != NULL;

	for (i = 0; good && i < n; i++)
		v[i] = jobs[i].pos;
	if (good)
		qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	for (i = 0; good && i < n; i++)
		if (v[i] != from + i) {
			tap_diag("sorted position %d is %" PRId64, i, v[i]);
			good = 0;
		}
	free(v);
	return good;
}

/* 1 if the values are pairwise distinct and all >= 1. */
static int
unique_positive(int64_t *v, int n)
{
	int i;

	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	for (i = 0; i < n; i++)
		if (v[i] < 1 || (i > 0 && v[i] == v[i - 1])) {
			tap_diag("global position %" PRId64 " repeated or "
			    "invalid", v[i]);
			return 0;
		}
	return 1;
}

static int
gpos_unique(const struct job *jobs, int n)
{
	int64_t *v = malloc((size_t)n * sizeof(*v));
	int i, good;

	if (v == NULL)
		return 0;
	for (i = 0; i < n; i++)
		v[i] = jobs[i].gpos;
	good = unique_positive(v, n);
	free(v);
	return good;
}

/*
 * 1 if stream holds exactly the jobs' messages: positions 0..n-1 in order,
 * each id once, each with the position and global position its writer was
 * told.
 */
static int
stream_matches(struct harness *h, const char *stream, const struct job *jobs,
    int n)
{
	struct json_object *a = stream_read_all(h, ADM, stream);
	char path[32];
	const char *id;
	int i, k, found;
	char *seen;

	if (jpath_len(a, "") != n) {
		tap_diag("%s has %d messages, want %d", stream,
		    jpath_len(a, ""), n);
		return 0;
	}
	if ((seen = calloc((size_t)n, 1)) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%d.2", i);
		if (jpath_int(a, path) != i) {
			tap_diag("message %d has position %" PRId64, i,
			    jpath_int(a, path));
			free(seen);
			return 0;
		}
		snprintf(path, sizeof(path), "%d.0", i);
		id = jpath_str(a, path);
		found = 0;
		for (k = 0; id != NULL && k < n; k++) {
			if (strcmp(jobs[k].id, id) != 0)
				continue;
			snprintf(path, sizeof(path), "%d.3", i);
			if (seen[k] || jobs[k].pos != i ||
			    jobs[k].gpos != jpath_int(a, path))
				break;
			seen[k] = 1;
			found = 1;
			break;
		}
		if (!found) {
			tap_diag("message %d (id %s) is unknown, repeated, or "
			    "not where its writer was told", i,
			    id ? id : "-");
			free(seen);
			return 0;
		}
	}
	free(seen);
	return 1;
}

static void
test_edge005(struct harness *h)
{
	struct job jobs[10];

	write_quiet(h, ADM, "edge5-1", "T", "{}", NULL, NULL, NULL, NULL);
	jobs_write(h, jobs, 10, "edge5-1");
	ok(run_jobs(h, jobs, 10, 10, 0) == 0, "EDGE-005 10 concurrent writers "
	    "ran");
	if (!ok(jobs_with_status(jobs, 10, 200) == 10, "EDGE-005 all 10 "
	    "concurrent writes succeed"))
		jobs_diag(jobs, 10, 200);
	ok(positions_gapless(jobs, 10, 1), "EDGE-005 positions are unique and "
	    "sequential (1..10)");
}

static void
test_one_stream(struct harness *h)
{
	struct job *jobs;
	int n = 200;

	if ((jobs = calloc((size_t)n, sizeof(*jobs))) == NULL)
		tap_bail("out of memory");
	jobs_write(h, jobs, n, "conc-1");
	ok(run_jobs(h, jobs, n, 50, 0) == 0, "50 concurrent writers, 4 writes "
	    "each, one stream, through nginx");
	if (!ok(jobs_with_status(jobs, n, 200) == n, "all 200 writes answer "
	    "200"))
		jobs_diag(jobs, n, 200);
	ok(positions_gapless(jobs, n, 0), "the writers were told positions "
	    "0..199, each once");
	ok(gpos_unique(jobs, n), "... and 200 distinct global positions");
	ok(stream_matches(h, "conc-1", jobs, n), "the stream holds exactly "
	    "those 200 messages, gapless, where their writers were told");
	free(jobs);
}

/* 20 writers race with the same expectedVersion: one wins. */
static void
test_version_race(struct harness *h, const char *stream, int fcgi_port,
    const char *how)
{
	struct job jobs[20];
	int i;

	write_quiet(h, ADM, stream, "T", "{}", NULL, NULL, NULL, NULL);
	for (i = 0; i < 20; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].body = hstr(h, "[\"stream.write\",\"%s\",{\"type\":\"T\","
		    "\"data\":{\"i\":%d}},{\"expectedVersion\":0}]", stream, i);
	}
	run_jobs(h, jobs, 20, 20, fcgi_port);
	ok(jobs_with_status(jobs, 20, 200) == 1 &&
	    jobs_with_status(jobs, 20, 409) == 19, "%s: 20 racing writes with "
	    "expectedVersion 0: exactly one 200, nineteen 409 (got %d, %d)",
	    how, jobs_with_status(jobs, 20, 200),
	    jobs_with_status(jobs, 20, 409));
	for (i = 0; i < 20; i++)
		if (jobs[i].status == 409 &&
		    strcmp(jobs[i].code, "STREAM_VERSION_CONFLICT") != 0)
			break;
	ok(i == 20, "%s: every loser gets STREAM_VERSION_CONFLICT", how);
	is_int(jpath_len(stream_read_all(h, ADM, stream), ""), 2,
	    "%s: the stream has exactly 2 messages", how);
}

/* 20 writers race with the same id: all get the same, single message. */
static void
test_id_race(struct harness *h, const char *stream, int fcgi_port,
    const char *how)
{
	struct job jobs[20];
	char id[37];
	int i, same = 1;

	uuid_random(id);
	for (i = 0; i < 20; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].body = hstr(h, "[\"stream.write\",\"%s\",{\"type\":\"T\","
		    "\"data\":{}},{\"id\":\"%s\"}]", stream, id);
	}
	run_jobs(h, jobs, 20, 20, fcgi_port);
	if (!ok(jobs_with_status(jobs, 20, 200) == 20, "%s: 20 racing writes "
	    "of one id all answer 200", how))
		jobs_diag(jobs, 20, 200);
	for (i = 1; i < 20; i++)
		if (jobs[i].pos != jobs[0].pos || jobs[i].gpos != jobs[0].gpos)
			same = 0;
	ok(same && jobs[0].pos == 0, "%s: all are told the same position 0 "
	    "and global position", how);
	is_int(jpath_len(stream_read_all(h, ADM, stream), ""), 1,
	    "%s: exactly one message was written", how);
}

static void
test_two_processes(struct harness *h)
{
	struct http_resp r;
	struct job *jobs, extra[16];
	struct json_object *v;
	int64_t *all;
	int port, n = 400, i, nall;
	pid_t pid;

	pid = harness_spawn_evdb(h, &port);
	if (!ok(pid > 0, "a second evdb process serves the same data "
	    "directory on 127.0.0.1:%d", port))
		return;
	fcgi_rpc(port, ADM, "[\"stream.version\",\"conc-1\"]", &r);
	if (!ok(r.status == 200 && jpath_int(r.json, "") == 199, "the second "
	    "process sees the first one's data (stream.version conc-1 = 199)"))
		tap_diag("status %ld, body %.200s, error %s", r.status, r.body,
		    r.err);
	http_resp_free(&r);

	/*
	 * A request read to its end is closed by evdb at once, not with
	 * libfcgi's lingering close (shutdown, then read until the client
	 * closes), which holds the worker until the web server hangs up
	 * (server_finish in src/server/server.c).  This client never closes first.
	 */
	{
		bool closed;

		fcgi_rpc_closing(port, ADM, "[\"stream.write\",\"linger-1\","
		    "{\"type\":\"T\",\"data\":{}}]", &r, 10000, &closed);
		ok(r.status == 200 && closed, "after a write's response evdb closes "
		    "the FastCGI connection without waiting for the client "
		    "(status %ld, closed %d)", r.status, closed);
		http_resp_free(&r);
	}

	if ((jobs = calloc((size_t)n, sizeof(*jobs))) == NULL)
		tap_bail("out of memory");
	jobs_write(h, jobs, n, "dual-1");
	ok(run_jobs(h, jobs, n, 16, port) == 0, "16 writers, 400 writes to "
	    "one stream, alternating between the two processes");
	if (!ok(jobs_with_status(jobs, n, 200) == n, "all 400 writes answer "
	    "200"))
		jobs_diag(jobs, n, 200);
	ok(positions_gapless(jobs, n, 0), "positions 0..399, each once, "
	    "across both processes");
	ok(stream_matches(h, "dual-1", jobs, n), "the stream holds exactly "
	    "those 400 messages, gapless, where their writers were told");

	/* Global positions stay unique across streams and processes. */
	for (i = 0; i < 16; i++) {
		memset(&extra[i], 0, sizeof(extra[i]));
		uuid_random(extra[i].id);
		extra[i].body = hstr(h, "[\"stream.write\",\"dualx-%d\","
		    "{\"type\":\"T\",\"data\":{}},{\"id\":\"%s\"}]", i,
		    extra[i].id);
	}
	run_jobs(h, extra, 16, 16, port);
	nall = n + 16;
	if ((all = malloc((size_t)nall * sizeof(*all))) == NULL)
		tap_bail("out of memory");
	for (i = 0; i < n; i++)
		all[i] = jobs[i].gpos;
	for (i = 0; i < 16; i++)
		all[n + i] = extra[i].gpos;
	ok(jobs_with_status(extra, 16, 200) == 16 && unique_positive(all,
	    nall), "global positions are unique across streams and both "
	    "processes");
	free(all);
	free(jobs);

	fcgi_rpc(port, ADM, "[\"stream.version\",\"dual-1\"]", &r);
	is_int(jpath_int(r.json, ""), 399, "the second process reads version "
	    "399 of dual-1");
	http_resp_free(&r);
	v = rpc_ok(h, ADM, "[\"category.get\",\"dualx\"]", 200, NULL,
	    "category.get dualx through nginx");
	is_int(jpath_len(v, ""), 16, "all 16 messages of both processes are "
	    "visible through nginx");

	test_version_race(h, "dualrace-1", port, "two processes");
	test_id_race(h, "dualidem-1", port, "two processes");
}

int
main(void)
{
	struct harness *h;

	h = harness_start();
	test_edge005(h);
	test_one_stream(h);
	test_version_race(h, "race-1", 0, "one process");
	test_id_race(h, "idemrace-1", 0, "one process");
	test_two_processes(h);
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
