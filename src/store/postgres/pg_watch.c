/*
 * pg_watch.c - change notification on PostgreSQL: LISTEN/NOTIFY.
 *
 * Every write batch and import batch sends pg_notify(evdb_<ns id>, '')
 * inside its transaction, so the notice is delivered at commit, once the
 * messages are visible, to every listening connection of every host.
 *
 * A store has ONE listening connection, whatever the number of its watches
 * (the SSE hub's, the long-poll loop's): the listener.  It runs only LISTEN
 * and UNLISTEN, outside any transaction (a listener inside a transaction
 * would make the server's notification queue fill up), and listens to the
 * union of the watches' namespaces, each channel counted by the watches
 * that want it.  The listener lives in the store under a mutex; every
 * watch call takes it, briefly (a reconnection attempt, bounded by
 * connect_timeout, holds it longest).
 *
 * The descriptor a watch's owner polls is an epoll set of its own, stable
 * for the watch's life, holding
 *  - the listener's socket while connected (the same socket sits in the
 *    epoll set of every watch): whichever owner finds it readable drains
 *    every notice and appends each to the pending set of every watch that
 *    watches its channel, whichever thread owns that watch;
 *  - an eventfd of the watch's own, readable while its pending set is not
 *    empty or it owes an id -1: how a notice drained by another thread
 *    reaches it;
 *  - a timer, ticking while disconnected, so that store_watch_read() runs
 *    to reconnect with back-off.
 * After a lost connection and after every reconnect, every watch hears id
 * -1 (anything may have changed), so no poke is lost across the gap; any
 * watch's read reconnects and listens again to the union.  Writers that
 * send no NOTIFY (Message DB's write_message) are covered by the owner's
 * periodic scan, as store.h asks.
 *
 * The listener also listens to PG_REGISTRY_CHANNEL, whatever the watches
 * want, and keeps the registry epoch (pg_registry_epoch): each registry
 * notice, connect and loss moves it on, and the namespace lookups of
 * pg_registry.c read a cached row again only when it moved.  A lookup
 * drains the socket itself first (if no other thread holds the listener),
 * so that a notice that has arrived counts at once, however busy the
 * watches' owners are.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "store/postgres/pg_internal.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

/* A channel the listener listens to: the union of the watches'. */
struct pg_channel {
	struct pg_channel *next;	/* the listener's list */
	int watches;			/* watches that watch it */
	char name[32];			/* evdb_<ns id> */
};

/* A namespace one watch watches. */
struct pg_watched {
	struct pg_watched *next;	/* the watch's list */
	int64_t ns_id;			/* registry id; also the id handed out */
	int refs;			/* watch_add calls not yet removed */
	struct pg_channel *chan;	/* the listener's entry for it */
};

struct pg_watch {
	struct store_watch base;	/* first: the seam's view */
	struct pg_store *st;		/* borrowed */
	struct pg_watch *next;		/* the listener's list */
	int epfd;			/* what the owner polls */
	int timerfd;			/* ticks while disconnected */
	int eventfd;			/* readable while something is owed */
	/* The rest is guarded by the listener's mutex. */
	bool in_ep;			/* the listener's socket is in epfd */
	struct pg_watched *list;	/* namespaces watched */
	int64_t *pending;		/* ids heard, not yet reported */
	size_t npending, cap;
	bool report_lost;		/* owe the owner an id -1 */
};

struct pg_listener {
	pthread_mutex_t mu;		/* guards all of it and the watches' */
	PGconn *pg;			/* the listening connection, or NULL */
	int sockfd;			/* pg's socket, in every watch's epfd */
	struct pg_channel *chans;	/* channels listened to */
	struct pg_watch *watches;	/* every open watch */
	int backoff_ms;			/* next reconnection back-off */
	int64_t retry_at_us;		/* no attempt before this */
	bool had_pg;			/* connected once: next is a reconnect */
	atomic_ullong epoch;		/* the registry epoch (never 0) */
	atomic_bool registry;		/* connected and listening to
					 * PG_REGISTRY_CHANNEL */
};

void
pg_channel_name(int64_t id, char *out, size_t out_size)
{
	snprintf(out, out_size, "evdb_%lld", (long long)id);
}

struct pg_listener *
pg_listener_new(void)
{
	struct pg_listener *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	l->sockfd = -1;
	atomic_init(&l->epoch, 1);
	atomic_init(&l->registry, false);
	return l;
}

void
pg_listener_free(struct pg_store *st, struct pg_listener *l)
{
	struct pg_channel *ch;

	if (l == NULL)
		return;
	pg_disconnect(st, l->pg);
	while ((ch = l->chans) != NULL) {
		l->chans = ch->next;
		free(ch);
	}
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* Arms (ms > 0) or disarms (0) a watch's reconnection timer. */
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

/* Makes w's descriptor readable: it has something to report.  Locked. */
static void
watch_signal(struct pg_watch *w)
{
	uint64_t one = 1;

	(void)!write(w->eventfd, &one, sizeof(one));
}

/* Appends id to w's pending set, once.  Locked. */
static void
watch_pend(struct pg_watch *w, int64_t id)
{
	size_t i;

	for (i = 0; i < w->npending; i++)
		if (w->pending[i] == id)
			return;
	if (w->npending == w->cap) {
		w->cap = w->cap == 0 ? 8 : w->cap * 2;
		w->pending = xrealloc(w->pending, xmul(w->cap, sizeof(*w->pending)));
	}
	w->pending[w->npending++] = id;
	watch_signal(w);
}

/* Every watch owes an id -1 (after a loss, after a reconnect).  Locked. */
static void
listener_lost_all(struct pg_listener *l)
{
	struct pg_watch *w;

	for (w = l->watches; w != NULL; w = w->next) {
		w->report_lost = true;
		watch_signal(w);
	}
}

/* Puts the listener's socket into w's epoll set.  Locked. */
static bool
watch_ep_add(struct pg_listener *l, struct pg_watch *w)
{
	struct epoll_event ev;

	if (w->in_ep || l->sockfd < 0)
		return true;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, l->sockfd, &ev) != 0)
		return false;
	w->in_ep = true;
	return true;
}

/* Takes the listener's socket out of w's epoll set.  Locked. */
static void
watch_ep_del(struct pg_listener *l, struct pg_watch *w)
{
	if (w->in_ep && l->sockfd >= 0)
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, l->sockfd, NULL);
	w->in_ep = false;
}

/*
 * Hands every notice libpq has parsed to the watches of its channel.  Call
 * after anything that read from the connection (PQconsumeInput, PQexec):
 * notices parsed then no longer make the socket readable.  Locked.
 */
static void
listener_drain(struct pg_listener *l)
{
	struct pg_watched *n;
	struct pg_watch *w;
	PGnotify *note;

	while (l->pg != NULL && (note = PQnotifies(l->pg)) != NULL) {
		if (strcmp(note->relname, PG_REGISTRY_CHANNEL) == 0)
			atomic_fetch_add(&l->epoch, 1);
		for (w = l->watches; w != NULL; w = w->next)
			for (n = w->list; n != NULL; n = n->next)
				if (strcmp(n->chan->name, note->relname) == 0) {
					watch_pend(w, n->ns_id);
					break;
				}
		PQfreemem(note);
	}
}

/*
 * The registry is no longer heard (the connection is going): rows read
 * from now on are read again at every request, and rows read before are
 * old.  Locked.
 */
static void
listener_unheard(struct pg_listener *l)
{
	atomic_store(&l->registry, false);
	atomic_fetch_add(&l->epoch, 1);
}

/*
 * Closes a lost (or failing) connection: every watch owes an id -1 and
 * ticks until a read reconnects.  retry_at_us is left as it is.  Locked.
 */
static void
listener_drop(struct pg_store *st, struct pg_listener *l)
{
	struct pg_watch *w;

	if (l->backoff_ms < PG_BACKOFF_MIN_MS)
		l->backoff_ms = PG_BACKOFF_MIN_MS;
	for (w = l->watches; w != NULL; w = w->next) {
		watch_ep_del(l, w);
		watch_timer(w, l->backoff_ms);
	}
	l->sockfd = -1;
	if (l->pg != NULL)
		listener_lost_all(l);
	listener_unheard(l);
	pg_disconnect(st, l->pg);
	l->pg = NULL;
}

/* Runs "verb channel" (LISTEN, UNLISTEN) on the connection.  Locked. */
static bool
listener_exec(struct pg_listener *l, const char *verb, const char *channel)
{
	char sql[64];
	PGresult *res;
	bool ok;

	snprintf(sql, sizeof(sql), "%s %s", verb, channel);
	/* Blocking but quick: the connection is in no transaction. */
	(void)PQsetnonblocking(l->pg, 0);
	res = PQexec(l->pg, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	(void)PQsetnonblocking(l->pg, 1);
	listener_drain(l);
	return ok;
}

/*
 * Connects and listens to every channel of the union; false while it
 * cannot (not before retry_at_us).  On success every watch owes an id -1
 * (notices of the gap are lost).  Locked.
 */
static bool
listener_connect(struct pg_store *st, struct pg_listener *l)
{
	struct pg_channel *ch;
	struct pg_watch *w;
	char err[512];
	int64_t now = timefmt_now_us();

	if (l->pg != NULL)
		return true;
	if (now < l->retry_at_us)
		return false;
	l->pg = pg_connect(st, "watch", err, sizeof(err), NULL);
	if (l->pg == NULL)
		goto fail;
	if (PQsetnonblocking(l->pg, 1) != 0) {
		snprintf(err, sizeof(err), "%s", PQerrorMessage(l->pg));
		goto fail;
	}
	if (!listener_exec(l, "LISTEN", PG_REGISTRY_CHANNEL)) {
		snprintf(err, sizeof(err), "%s", PQerrorMessage(l->pg));
		goto fail;
	}
	for (ch = l->chans; ch != NULL; ch = ch->next)
		if (!listener_exec(l, "LISTEN", ch->name)) {
			snprintf(err, sizeof(err), "%s", PQerrorMessage(l->pg));
			goto fail;
		}
	l->sockfd = PQsocket(l->pg);
	if (l->sockfd < 0) {
		snprintf(err, sizeof(err), "no socket");
		goto fail;
	}
	for (w = l->watches; w != NULL; w = w->next)
		if (!watch_ep_add(l, w)) {
			snprintf(err, sizeof(err), "epoll: %s", strerror(errno));
			goto fail;
		}
	for (w = l->watches; w != NULL; w = w->next)
		watch_timer(w, 0);
	l->backoff_ms = 0;
	l->retry_at_us = 0;
	if (l->had_pg)
		atomic_fetch_add(&st->reconnects, 1);
	l->had_pg = true;
	listener_lost_all(l);
	/* What changed while nobody listened is not known: a new epoch. */
	atomic_fetch_add(&l->epoch, 1);
	atomic_store(&l->registry, true);
	return true;
fail:
	log_warn(st->log, "store: postgres: watch: %s", err);
	if (l->pg != NULL)
		listener_drop(st, l);
	if (l->backoff_ms < PG_BACKOFF_MIN_MS)
		l->backoff_ms = PG_BACKOFF_MIN_MS;
	l->retry_at_us = now + (int64_t)l->backoff_ms * 1000;
	for (w = l->watches; w != NULL; w = w->next)
		watch_timer(w, l->backoff_ms);
	l->backoff_ms *= 2;
	if (l->backoff_ms > PG_BACKOFF_MAX_MS)
		l->backoff_ms = PG_BACKOFF_MAX_MS;
	return false;
}

/* Reads what the socket holds; a lost connection is dropped.  Locked. */
static void
listener_consume(struct pg_store *st, struct pg_listener *l)
{
	if (l->pg == NULL)
		return;
	if (PQconsumeInput(l->pg) != 1 || PQstatus(l->pg) != CONNECTION_OK) {
		log_warn(st->log, "store: postgres: watch: %s",
		    PQerrorMessage(l->pg));
		listener_drain(l);
		listener_drop(st, l);
		/* Try again at once: a restarted server may be back already. */
		l->retry_at_us = 0;
		return;
	}
	listener_drain(l);
}

enum evdb_status
pg_watch_open(struct store *base, struct store_watch **out)
{
	struct pg_watch *w;
	struct pg_listener *l;
	struct epoll_event ev;
	int fds[2], i;

	*out = NULL;
	w = xcalloc(1, sizeof(*w));
	w->base.backend = base->backend;
	w->st = pg_store_of(base);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fds[0] = w->timerfd;
	fds[1] = w->eventfd;
	for (i = 0; i < 2; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		if (w->epfd < 0 || fds[i] < 0 ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, fds[i], &ev) != 0) {
			pg_watch_close(&w->base);
			return EVDB_ERR_IO;
		}
	}
	l = w->st->listener;
	pthread_mutex_lock(&l->mu);
	if (l->pg != NULL && !watch_ep_add(l, w)) {
		pthread_mutex_unlock(&l->mu);
		pg_watch_close(&w->base);
		return EVDB_ERR_IO;
	}
	w->next = l->watches;
	l->watches = w;
	if (l->pg == NULL) {
		/* The first watch, or a server that is down: then the timer. */
		if (!listener_connect(w->st, l))
			watch_timer(w, l->backoff_ms > 0 ? l->backoff_ms :
			    PG_BACKOFF_MIN_MS);
		/* A fresh watch owes no -1 for a connection it never had. */
		if (w->report_lost) {
			uint64_t ticks;

			w->report_lost = false;
			(void)!read(w->eventfd, &ticks, sizeof(ticks));
		}
	}
	pthread_mutex_unlock(&l->mu);
	*out = &w->base;
	return EVDB_OK;
}

bool
pg_registry_epoch(struct pg_store *st, uint64_t *epoch)
{
	struct pg_listener *l = st->listener;

	if (atomic_load(&l->registry) && pthread_mutex_trylock(&l->mu) == 0) {
		listener_consume(st, l);
		pthread_mutex_unlock(&l->mu);
	}
	/* registry first: a loss clears it before it moves the epoch on. */
	if (!atomic_load(&l->registry)) {
		*epoch = atomic_load(&l->epoch);
		return false;
	}
	*epoch = atomic_load(&l->epoch);
	return atomic_load(&l->registry);
}

void
pg_registry_changed(struct pg_store *st)
{
	atomic_fetch_add(&st->listener->epoch, 1);
}

int
pg_watch_fd(const struct store_watch *base)
{
	return ((const struct pg_watch *)base)->epfd;
}

/* The listener's channel for ns id, made and listened to if new.  Locked. */
static struct pg_channel *
listener_channel_ref(struct pg_store *st, struct pg_listener *l, int64_t id)
{
	struct pg_channel *ch;
	char name[32];

	pg_channel_name(id, name, sizeof(name));
	for (ch = l->chans; ch != NULL; ch = ch->next)
		if (strcmp(ch->name, name) == 0) {
			ch->watches++;
			return ch;
		}
	ch = xcalloc(1, sizeof(*ch));
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	ch->watches = 1;
	ch->next = l->chans;
	l->chans = ch;
	if (l->pg != NULL && !listener_exec(l, "LISTEN", ch->name)) {
		log_warn(st->log, "store: postgres: watch: LISTEN: %s",
		    PQerrorMessage(l->pg));
		/* The reconnect listens to it with the rest. */
		listener_drop(st, l);
		l->retry_at_us = 0;
	}
	return ch;
}

/* Drops a watch's reference to ch; unlistens when it was the last. */
static void
listener_channel_unref(struct pg_store *st, struct pg_listener *l,
    struct pg_channel *ch)
{
	struct pg_channel **pp;

	if (--ch->watches > 0)
		return;
	for (pp = &l->chans; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	if (l->pg != NULL && !listener_exec(l, "UNLISTEN", ch->name)) {
		log_warn(st->log, "store: postgres: watch: UNLISTEN: %s",
		    PQerrorMessage(l->pg));
		listener_drop(st, l);
		l->retry_at_us = 0;
	}
	free(ch);
}

enum evdb_status
pg_watch_add(struct store_watch *base, struct store_conn *c, const char *ns,
    int64_t *id)
{
	struct pg_watch *w = (struct pg_watch *)base;
	struct pg_listener *l = w->st->listener;
	struct pg_watched *n;
	struct pg_ns *e;
	enum evdb_status rs;

	*id = -1;
	if ((rs = pg_ns_lookup(pg_conn_of(c), ns, &e)) != EVDB_OK)
		return rs;
	*id = e->id;
	pthread_mutex_lock(&l->mu);
	for (n = w->list; n != NULL; n = n->next)
		if (n->ns_id == e->id) {
			n->refs++;
			pthread_mutex_unlock(&l->mu);
			return EVDB_OK;
		}
	n = xcalloc(1, sizeof(*n));
	n->ns_id = e->id;
	n->refs = 1;
	/* Listed once it has its channel: the LISTEN drains notices. */
	n->chan = listener_channel_ref(w->st, l, e->id);
	n->next = w->list;
	w->list = n;
	pthread_mutex_unlock(&l->mu);
	return EVDB_OK;
}

/* Forgets id from w's pending set.  Locked. */
static void
watch_unpend(struct pg_watch *w, int64_t id)
{
	size_t i;

	for (i = 0; i < w->npending; i++)
		if (w->pending[i] == id) {
			w->pending[i] = w->pending[--w->npending];
			return;
		}
}

void
pg_watch_remove(struct store_watch *base, int64_t id)
{
	struct pg_watch *w = (struct pg_watch *)base;
	struct pg_listener *l = w->st->listener;
	struct pg_watched **pp, *n;

	pthread_mutex_lock(&l->mu);
	for (pp = &w->list; (n = *pp) != NULL; pp = &n->next)
		if (n->ns_id == id) {
			if (--n->refs > 0)
				break;
			*pp = n->next;
			watch_unpend(w, id);
			listener_channel_unref(w->st, l, n->chan);
			free(n);
			break;
		}
	pthread_mutex_unlock(&l->mu);
}

enum evdb_status
pg_watch_read(struct store_watch *base, store_watch_fn fn, void *ctx)
{
	struct pg_watch *w = (struct pg_watch *)base;
	struct pg_listener *l = w->st->listener;
	int64_t *ids;
	size_t n, i;
	uint64_t ticks;
	bool lost, up;

	pthread_mutex_lock(&l->mu);
	(void)!read(w->timerfd, &ticks, sizeof(ticks));
	(void)!read(w->eventfd, &ticks, sizeof(ticks));
	listener_consume(w->st, l);
	up = listener_connect(w->st, l);
	/* What this watch owes, taken whole: fn runs unlocked. */
	lost = w->report_lost;
	w->report_lost = false;
	ids = w->pending;
	n = w->npending;
	w->pending = NULL;
	w->npending = w->cap = 0;
	pthread_mutex_unlock(&l->mu);
	if (lost)
		fn(ctx, -1);
	for (i = 0; i < n; i++)
		fn(ctx, ids[i]);
	free(ids);
	return up ? EVDB_OK : EVDB_ERR_UNAVAILABLE;
}

void
pg_watch_close(struct store_watch *base)
{
	struct pg_watch *w = (struct pg_watch *)base;
	struct pg_listener *l;
	struct pg_watch **pp;
	struct pg_watched *n;

	if (w == NULL)
		return;
	l = w->st->listener;
	pthread_mutex_lock(&l->mu);
	for (pp = &l->watches; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	watch_ep_del(l, w);
	while ((n = w->list) != NULL) {
		w->list = n->next;
		listener_channel_unref(w->st, l, n->chan);
		free(n);
	}
	if (l->watches == NULL && l->pg != NULL) {
		/* The last watch: no connection held for nobody. */
		listener_unheard(l);
		pg_disconnect(w->st, l->pg);
		l->pg = NULL;
		l->sockfd = -1;
		l->had_pg = false;
	}
	pthread_mutex_unlock(&l->mu);
	free(w->pending);
	if (w->eventfd >= 0)
		close(w->eventfd);
	if (w->timerfd >= 0)
		close(w->timerfd);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w);
}
