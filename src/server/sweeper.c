/*
 * sweeper.c - the retention sweeper thread (see sweeper.h).
 *
 * It sleeps on a condition variable for the interval, so that
 * sweeper_stop() wakes it at once; it owns one store_conn, used only by
 * its thread.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/timefmt.h"
#include "core/xalloc.h"
#include "server/sweeper.h"

/* Rows deleted per transaction: a writer waits behind one batch at most. */
#define SWEEP_BATCH 500

struct sweeper {
	struct sweeper_options opt;	/* copied */
	const char *clock_file;		/* EVDB_TEST_CLOCK_FILE, or NULL */
	pthread_t thread;
	pthread_mutex_t mu;		/* guards stop */
	pthread_cond_t cv;		/* signalled by sweeper_stop */
	bool stop;
};

/* The namespace names, collected before sweeping (store_ns_fn). */
struct sweep_names {
	char **names;
	size_t n, cap;
};

static enum evdb_status
sweeper_collect(void *ctx, const struct store_ns_info *ns)
{
	struct sweep_names *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->names = xrealloc(l->names, xmul(l->cap, sizeof(*l->names)));
	}
	l->names[l->n++] = xstrdup(ns->name);
	return EVDB_OK;
}

/* The test clock's offset in microseconds (sweeper.h). */
static int64_t
sweeper_clock_offset_us(const struct sweeper *s)
{
	FILE *f;
	long long secs = 0;

	if (s->clock_file == NULL || (f = fopen(s->clock_file, "r")) == NULL)
		return 0;
	if (fscanf(f, "%lld", &secs) != 1 || secs < -3153600000LL ||
	    secs > 3153600000LL)
		secs = 0;
	fclose(f);
	return (int64_t)secs * 1000000;
}

static int64_t
sweeper_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One sweep over every namespace. */
static void
sweeper_pass(struct sweeper *s, struct store_conn *c)
{
	struct sweep_names l = { NULL, 0, 0 };
	int64_t t0 = sweeper_mono_us(), t_ns, total = 0, removed;
	int64_t now_us = timefmt_now_us() + sweeper_clock_offset_us(s);
	enum evdb_status rs;
	size_t i;

	store_conn_request_begin(c);
	if ((rs = store_ns_list(c, sweeper_collect, &l)) != EVDB_OK)
		log_warn(s->opt.log, "retention: cannot list namespaces: %s: %s",
		    evdb_strerror(rs), store_conn_errmsg(c));
	for (i = 0; i < l.n; i++) {
		t_ns = sweeper_mono_us();
		rs = store_retention_sweep(c, l.names[i], now_us, SWEEP_BATCH,
		    &removed);
		metrics_sweep_ns(s->opt.metrics, l.names[i], removed,
		    sweeper_mono_us() - t_ns);
		total += removed;
		if (removed > 0)
			log_info(s->opt.log, "retention: ns=%s caller=sweeper"
			    " messagesDeleted=%lld", l.names[i], (long long)removed);
		if (rs != EVDB_OK && rs != EVDB_ERR_NOT_FOUND)
			log_warn(s->opt.log, "retention: ns=%s: %s: %s", l.names[i],
			    evdb_strerror(rs), store_conn_errmsg(c));
		free(l.names[i]);
	}
	store_conn_request_end(c);
	free(l.names);
	metrics_sweep(s->opt.metrics, total, sweeper_mono_us() - t0);
}

static void *
sweeper_main(void *arg)
{
	struct sweeper *s = arg;
	struct store_conn *c = NULL;
	struct timespec until;
	bool stop = false;

	while (!stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += s->opt.interval_s;
		pthread_mutex_lock(&s->mu);
		while (!s->stop &&
		    pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
			;
		stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		if (store_conn_open(s->opt.store, &c) != EVDB_OK) {
			log_warn(s->opt.log, "retention: cannot open a store connection;"
			    " retrying at the next interval");
			c = NULL;
			continue;
		}
		sweeper_pass(s, c);
		/*
		 * A pass opens every namespace; between passes, a minute apart,
		 * the sweeper holds none of their files or page caches.
		 */
		store_conn_close(c);
		c = NULL;
	}
	return NULL;
}

enum evdb_status
sweeper_start(const struct sweeper_options *opt, struct sweeper **out)
{
	struct sweeper *s = xcalloc(1, sizeof(*s));
	const char *env = getenv("EVDB_TEST_CLOCK_FILE");

	*out = NULL;
	s->opt = *opt;
	if (s->opt.interval_s < 1)
		s->opt.interval_s = 1;
	s->clock_file = env != NULL && *env != '\0' ? env : NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, sweeper_main, s) != 0) {
		log_error(opt->log, "cannot start the retention sweeper: %s",
		    strerror(errno));
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		return EVDB_ERR_IO;
	}
	if (s->clock_file != NULL)
		log_warn(opt->log, "retention: test clock from %s (EVDB_TEST_CLOCK_FILE)",
		    s->clock_file);
	*out = s;
	return EVDB_OK;
}

void
sweeper_stop(struct sweeper *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
