/*
 * pg_watch.c - change notification on PostgreSQL: LISTEN/NOTIFY.
 *
 * Every write batch and import batch sends pg_notify(evdb_<ns id>, '')
 * inside its transaction, so the notice is delivered at commit, once the
 * messages are visible, to every listening connection of every host.  A
 * watch holds one connection of its own that only ever runs LISTEN and
 * UNLISTEN outside any transaction (a listener inside a transaction would
 * make the server's notification queue fill up).
 *
 * The descriptor the owner polls is an epoll set, stable for the watch's
 * life: it holds the connection's socket while connected, and a timer
 * while not, so that store_watch_read() runs to reconnect with back-off.
 * After a lost connection and after every reconnect, the owner hears id -1
 * (anything may have changed), so no poke is lost across the gap.  Writers
 * that send no NOTIFY (Message DB's write_message) are covered by the
 * owner's periodic scan, as store.h asks.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "store/postgres/pg_internal.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

struct pg_watched {
	struct pg_watched *next;	/* the watch's list */
	int64_t ns_id;			/* registry id; also the id handed out */
	int refs;			/* watch_add calls not yet removed */
	char channel[32];		/* its NOTIFY channel */
};

struct pg_watch {
	struct store_watch base;	/* first: the seam's view */
	struct pg_store *st;		/* borrowed */
	PGconn *pg;			/* the listening connection, or NULL */
	int epfd;			/* what the owner polls */
	int timerfd;			/* ticks while disconnected */
	int sockfd;			/* pg's socket in epfd, or -1 */
	struct pg_watched *list;	/* namespaces watched */
	int backoff_ms;			/* next reconnection back-off */
	int64_t retry_at_us;		/* no attempt before this */
	bool report_lost;		/* owe the owner an id -1 */
	bool had_pg;			/* connected once: next is a reconnect */
};

void
pg_channel_name(int64_t id, char *out, size_t out_size)
{
	snprintf(out, out_size, "evdb_%lld", (long long)id);
}

/* Arms (ms > 0) or disarms (0) the reconnection timer. */
static void
watch_timer(struct pg_watch *w, int ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (ms > 0) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
		its.it_interval = its.it_value;
	}
	(void)timerfd_settime(w->timerfd, 0, &its, NULL);
}

static void
watch_drop(struct pg_watch *w)
{
	if (w->sockfd >= 0)
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->sockfd, NULL);
	w->sockfd = -1;
	pg_disconnect(w->st, w->pg);
	w->pg = NULL;
	w->report_lost = true;
	if (w->backoff_ms < PG_BACKOFF_MIN_MS)
		w->backoff_ms = PG_BACKOFF_MIN_MS;
	watch_timer(w, w->backoff_ms);
}

static bool
watch_listen(struct pg_watch *w, const char *verb, const char *channel)
{
	char sql[64];
	PGresult *res;
	bool ok;

	snprintf(sql, sizeof(sql), "%s %s", verb, channel);
	res = PQexec(w->pg, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return ok;
}

/* Connects and listens to every watched channel; false while it cannot. */
static bool
watch_connect(struct pg_watch *w)
{
	struct epoll_event ev;
	struct pg_watched *n;
	char err[512];
	int64_t now = timefmt_now_us();

	if (now < w->retry_at_us)
		return false;
	w->pg = pg_connect(w->st, "watch", err, sizeof(err), NULL);
	if (w->pg == NULL)
		goto fail;
	for (n = w->list; n != NULL; n = n->next)
		if (!watch_listen(w, "LISTEN", n->channel)) {
			snprintf(err, sizeof(err), "%s", PQerrorMessage(w->pg));
			goto fail;
		}
	if (PQsetnonblocking(w->pg, 1) != 0) {
		snprintf(err, sizeof(err), "%s", PQerrorMessage(w->pg));
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	w->sockfd = PQsocket(w->pg);
	if (w->sockfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->sockfd, &ev) != 0) {
		w->sockfd = -1;
		snprintf(err, sizeof(err), "epoll: %s", strerror(errno));
		goto fail;
	}
	watch_timer(w, 0);
	w->backoff_ms = 0;
	w->retry_at_us = 0;
	if (w->had_pg)
		atomic_fetch_add(&w->st->reconnects, 1);
	w->had_pg = true;
	return true;
fail:
	log_warn(w->st->log, "store: postgres: watch: %s", err);
	pg_disconnect(w->st, w->pg);
	w->pg = NULL;
	if (w->backoff_ms < PG_BACKOFF_MIN_MS)
		w->backoff_ms = PG_BACKOFF_MIN_MS;
	w->retry_at_us = now + (int64_t)w->backoff_ms * 1000;
	watch_timer(w, w->backoff_ms);
	w->backoff_ms *= 2;
	if (w->backoff_ms > PG_BACKOFF_MAX_MS)
		w->backoff_ms = PG_BACKOFF_MAX_MS;
	return false;
}

enum evdb_status
pg_watch_open(struct store *base, struct store_watch **out)
{
	struct pg_watch *w;
	struct epoll_event ev;

	*out = NULL;
	w = xcalloc(1, sizeof(*w));
	w->base.backend = base->backend;
	w->st = pg_store_of(base);
	w->sockfd = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (w->epfd < 0 || w->timerfd < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->timerfd, &ev) != 0) {
		pg_watch_close(&w->base);
		return EVDB_ERR_IO;
	}
	/* A server that is down now: the timer brings the next attempt. */
	(void)watch_connect(w);
	*out = &w->base;
	return EVDB_OK;
}

int
pg_watch_fd(const struct store_watch *base)
{
	return ((const struct pg_watch *)base)->epfd;
}

enum evdb_status
pg_watch_add(struct store_watch *base, struct store_conn *c, const char *ns,
    int64_t *id)
{
	struct pg_watch *w = (struct pg_watch *)base;
	struct pg_watched *n;
	struct pg_ns *e;
	enum evdb_status rs;

	*id = -1;
	if ((rs = pg_ns_lookup(pg_conn_of(c), ns, &e)) != EVDB_OK)
		return rs;
	*id = e->id;
	for (n = w->list; n != NULL; n = n->next)
		if (n->ns_id == e->id) {
			n->refs++;
			return EVDB_OK;
		}
	n = xcalloc(1, sizeof(*n));
	n->ns_id = e->id;
	n->refs = 1;
	pg_channel_name(e->id, n->channel, sizeof(n->channel));
	n->next = w->list;
	w->list = n;
	if (w->pg != NULL) {
		/* LISTEN is blocking but quick; the connection is in no transaction. */
		(void)PQsetnonblocking(w->pg, 0);
		if (!watch_listen(w, "LISTEN", n->channel))
			watch_drop(w);
		else
			(void)PQsetnonblocking(w->pg, 1);
	}
	return EVDB_OK;
}

void
pg_watch_remove(struct store_watch *base, int64_t id)
{
	struct pg_watch *w = (struct pg_watch *)base;
	struct pg_watched **pp, *n;

	for (pp = &w->list; (n = *pp) != NULL; pp = &n->next)
		if (n->ns_id == id) {
			if (--n->refs > 0)
				return;
			*pp = n->next;
			if (w->pg != NULL) {
				(void)PQsetnonblocking(w->pg, 0);
				if (!watch_listen(w, "UNLISTEN", n->channel))
					watch_drop(w);
				else
					(void)PQsetnonblocking(w->pg, 1);
			}
			free(n);
			return;
		}
}

enum evdb_status
pg_watch_read(struct store_watch *base, store_watch_fn fn, void *ctx)
{
	struct pg_watch *w = (struct pg_watch *)base;
	struct pg_watched *n;
	PGnotify *note;
	uint64_t ticks;

	(void)!read(w->timerfd, &ticks, sizeof(ticks));
	if (w->pg != NULL && PQconsumeInput(w->pg) != 1) {
		log_warn(w->st->log, "store: postgres: watch: %s",
		    PQerrorMessage(w->pg));
		watch_drop(w);
		/* Try again at once: a restarted server may be back already. */
		w->retry_at_us = 0;
	}
	if (w->pg == NULL) {
		bool up = watch_connect(w);

		/* Once when the connection is lost, once more when it is back. */
		if (w->report_lost || up)
			fn(ctx, -1);
		w->report_lost = false;
		if (!up)
			return EVDB_ERR_UNAVAILABLE;
	}
	while ((note = PQnotifies(w->pg)) != NULL) {
		for (n = w->list; n != NULL; n = n->next)
			if (strcmp(n->channel, note->relname) == 0) {
				fn(ctx, n->ns_id);
				break;
			}
		PQfreemem(note);
	}
	return EVDB_OK;
}

void
pg_watch_close(struct store_watch *base)
{
	struct pg_watch *w = (struct pg_watch *)base;
	struct pg_watched *n;

	if (w == NULL)
		return;
	while ((n = w->list) != NULL) {
		w->list = n->next;
		free(n);
	}
	pg_disconnect(w->st, w->pg);
	if (w->timerfd >= 0)
		close(w->timerfd);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w);
}
