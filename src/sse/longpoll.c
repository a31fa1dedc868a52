/*
 * longpoll.c - the long-poll loop (see longpoll.h for the model).
 *
 * One thread runs an epoll loop over:
 *   - an eventfd, written when a worker attaches a read or at stop;
 *   - the store's watch (store.h), readable after commits of any process;
 *   - every held read's FastCGI socket (non-blocking): a hang-up frees the
 *     read, and a long answer is written as the socket drains.
 * The loop's timeout is the nearest deadline, and at most LP_SCAN_MS, when
 * every namespace is checked for writers the watch cannot see.
 *
 * Each namespace with held reads keeps a tail, the global position up to
 * which its new messages were looked at.  A notice reads the messages
 * above the tail (stream names and positions only) and marks the held
 * reads they may satisfy: same stream, or same category and, with a
 * consumer group, the same member.  Only those run again, so a write to
 * one stream costs nothing to the reads held on others; a read whose other
 * filters (correlation, a position further on) still exclude the message
 * runs, finds nothing and stays held.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/streamname.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "http/fcgi_record.h"
#include "http/request.h"
#include "sse/longpoll.h"
#include "sse/places.h"

#define LP_BATCH 256			/* pokes per tail read */
#define LP_TAIL_BUDGET 16		/* tail reads per namespace and turn */
#define LP_SCAN_MS 1000			/* periodic check of every namespace */
#define LP_STOP_WRITE_MS 2000		/* how long answers are written at stop */

struct lp_ns;

struct lp_hold {
	struct lp_hold *prev, *next;	/* its namespace's list */
	struct lp_ns *ns;		/* its namespace */
	int fd;				/* FastCGI connection, owned */
	uint16_t request_id;		/* FastCGI request id */
	enum store_poke_kind kind;	/* stream or category */
	char *name;			/* stream or category, owned */
	size_t name_len;
	int64_t group_member;		/* consumer group */
	int64_t group_size;		/* 0: none */
	struct buf body;		/* the RPC call, run again */
	int64_t deadline_ms;		/* answered by then, whatever it reads */
	bool due;			/* a message it may return arrived */
	bool answered;			/* out holds its answer: only writing left */
	bool want_out;			/* EPOLLOUT registered */
	bool keep_conn;			/* nginx keeps the connection */
	struct buf out;			/* FastCGI records not yet written */
	size_t out_off;			/* bytes of out already written */
};

struct lp_ns {
	struct lp_ns *next;		/* the loop's namespaces */
	char name[TOKEN_NS_MAX + 1];
	int64_t tail;			/* messages up to here were looked at */
	uint64_t tail_key;		/* lp_key of the message at tail, 0: none */
	int64_t watch_id;		/* its id in the store watch, or -1 */
	bool dirty;			/* changed since the tail */
	int count;			/* reads held (the list below) */
	struct lp_hold *holds;		/* its held reads */
};

/* An attach handed over by a worker (guarded by longpoll.mu). */
struct lp_pending {
	struct lp_pending *next;
	struct longpoll_read rd;	/* name and body point into this allocation */
	int fd;
	int request_id;
};

struct longpoll {
	struct longpoll_options opt;	/* settings, copied */
	pthread_t thread;		/* the event loop */
	bool started;			/* thread is running */
	int epfd;			/* epoll instance */
	int evfd;			/* wakes the loop */
	struct store_watch *watch;	/* the store's change notices, or NULL */
	int watch_fd;			/* its descriptor, or -1 */
	struct store_conn *store;	/* the loop's store connection */
	pthread_mutex_t mu;		/* guards pending, stopping */
	struct lp_pending *pending;	/* attaches not yet taken by the loop */
	bool stopping;			/* longpoll_stop was called */
	struct places *places;		/* reads reserved or held, per namespace */
	/* Owned by the loop thread: */
	struct lp_ns *namespaces;	/* namespaces with held reads */
	struct lp_hold *writing;	/* answered, output not yet all written */
	struct buf answer;		/* scratch: the body of one run */
	int64_t now_ms;			/* monotonic time of this loop turn */
};

static int64_t
lp_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- namespaces -------------------------------------------------------- */

/* Which message p is (stream and position), hashed; never 0. */
static uint64_t
lp_key(const struct store_poke *p)
{
	uint64_t k = strutil_fnv1a(STRUTIL_FNV1A_SEED, p->stream, p->stream_len);

	k = (k * UINT64_C(0x9E3779B97F4A7C15)) ^ (uint64_t)p->position;
	return k != 0 ? k : 1;
}

static enum evdb_status
lp_key_row(void *arg, const struct store_poke *p)
{
	*(uint64_t *)arg = lp_key(p);
	return EVDB_OK;
}

/* *key: lp_key of the message at global position gpos of ns, 0 if none. */
static enum evdb_status
lp_key_at(struct longpoll *lp, const char *ns, int64_t gpos, uint64_t *key)
{
	struct store_poke_query q;

	*key = 0;
	if (gpos <= 0)
		return EVDB_OK;
	memset(&q, 0, sizeof(q));
	q.kind = STORE_POKE_ALL;
	q.after_gpos = gpos - 1;
	q.upto_gpos = gpos;
	q.limit = 1;
	return store_poke_range(lp->store, ns, &q, lp_key_row, key);
}

static struct lp_ns *
lp_ns_get(struct longpoll *lp, const char *name)
{
	struct lp_ns *n;

	for (n = lp->namespaces; n != NULL; n = n->next)
		if (strcmp(n->name, name) == 0)
			return n;
	n = xcalloc(1, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->watch_id = -1;
	/* Watch first: a commit after the head is read must be noticed. */
	if (lp->watch != NULL &&
	    store_watch_add(lp->watch, lp->store, name, &n->watch_id) != EVDB_OK)
		n->watch_id = -1;
	if (store_head(lp->store, name, &n->tail) != EVDB_OK ||
	    lp_key_at(lp, name, n->tail, &n->tail_key) != EVDB_OK) {
		n->tail = 0;
		n->tail_key = 0;
	}
	n->next = lp->namespaces;
	lp->namespaces = n;
	return n;
}

static void
lp_ns_drop_if_empty(struct longpoll *lp, struct lp_ns *n)
{
	struct lp_ns **pp;

	if (n->count > 0)
		return;
	for (pp = &lp->namespaces; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			if (n->watch_id >= 0)
				store_watch_remove(lp->watch, n->watch_id);
			free(n);
			return;
		}
	}
}

/* ---- held reads -------------------------------------------------------- */

/* Takes hold out of its namespace's list (it stays counted). */
static void
lp_hold_unlink(struct lp_hold *hd)
{
	if (hd->prev != NULL)
		hd->prev->next = hd->next;
	else
		hd->ns->holds = hd->next;
	if (hd->next != NULL)
		hd->next->prev = hd->prev;
	hd->prev = hd->next = NULL;
}

/* Closes hold's connection and gives its place back. */
static void
lp_hold_free(struct longpoll *lp, struct lp_hold *hd)
{
	struct lp_ns *n = hd->ns;

	if (!hd->answered)
		lp_hold_unlink(hd);
	else {
		struct lp_hold **pp;

		for (pp = &lp->writing; *pp != NULL; pp = &(*pp)->next)
			if (*pp == hd) {
				*pp = hd->next;
				break;
			}
	}
	if (hd->fd >= 0) {
		epoll_ctl(lp->epfd, EPOLL_CTL_DEL, hd->fd, NULL);
		close(hd->fd);
	}
	n->count--;
	places_give(lp->places, n->name);
	lp_ns_drop_if_empty(lp, n);
	buf_free(&hd->body);
	buf_free(&hd->out);
	free(hd->name);
	free(hd);
}

static void
lp_hold_events(struct longpoll *lp, struct lp_hold *hd, bool want_out)
{
	struct epoll_event ev;

	if (hd->want_out == want_out)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0);
	ev.data.ptr = hd;
	epoll_ctl(lp->epfd, EPOLL_CTL_MOD, hd->fd, &ev);
	hd->want_out = want_out;
}

/*
 * Writes what the socket takes of an answered read's output; frees the
 * read once all is written or the connection is dead.  A connection nginx
 * keeps, all written, goes back through options.keep instead of closing:
 * nginx may send its next request on it at once, and a close there would
 * race with that request (nginx answers it 502).
 */
static void
lp_hold_write(struct longpoll *lp, struct lp_hold *hd)
{
	while (hd->out_off < hd->out.len) {
		ssize_t n = write(hd->fd, hd->out.data + hd->out_off,
		    hd->out.len - hd->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			lp_hold_events(lp, hd, true);
			return;
		}
		if (n <= 0)
			break;
		hd->out_off += (size_t)n;
	}
	if (hd->out_off == hd->out.len && hd->keep_conn && lp->opt.keep != NULL) {
		epoll_ctl(lp->epfd, EPOLL_CTL_DEL, hd->fd, NULL);
		fcntl(hd->fd, F_SETFL, fcntl(hd->fd, F_GETFL) & ~O_NONBLOCK);
		lp->opt.keep(lp->opt.keep_ctx, hd->fd);
		hd->fd = -1;
	}
	lp_hold_free(lp, hd);
}

/*
 * Runs hold's read again.  Unless it still returns nothing and force is
 * false, answers it: the read leaves its namespace's list for the writing
 * list, and the caller writes it (lp_hold_write).  Returns true when it was
 * answered.  Frees nothing.
 */
static bool
lp_hold_run(struct longpoll *lp, struct lp_hold *hd, bool force)
{
	const char *ctype = "application/json";
	char head[256];
	int status = 500, n;
	bool empty;

	buf_reset(&lp->answer);
	store_conn_request_begin(lp->store);
	empty = lp->opt.run(lp->opt.run_ctx, lp->store, hd->ns->name, &hd->body,
	    &lp->answer, &status, &ctype);
	store_conn_request_end(lp->store);
	hd->due = false;
	if (empty && !force)
		return false;
	n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n\r\n",
	    status, request_reason(status), ctype, lp->answer.len);
	buf_reset(&hd->out);
	fcgi_record_stdout(&hd->out, hd->request_id, head, (size_t)n);
	fcgi_record_stdout(&hd->out, hd->request_id, lp->answer.data,
	    lp->answer.len);
	fcgi_record_end(&hd->out, hd->request_id);
	buf_free(&hd->body);
	lp_hold_unlink(hd);
	hd->answered = true;
	hd->next = lp->writing;
	lp->writing = hd;
	return true;
}

/* A hold's socket is readable or hung up: nginx sends nothing more. */
static void
lp_hold_readable(struct longpoll *lp, struct lp_hold *hd, uint32_t events)
{
	char tmp[4096];
	ssize_t n;

	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		lp_hold_free(lp, hd);
		return;
	}
	for (;;) {
		n = read(hd->fd, tmp, sizeof(tmp));
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		lp_hold_free(lp, hd);	/* EOF: nginx closed it */
		return;
	}
}

static void
lp_take_pending(struct longpoll *lp)
{
	struct lp_pending *p, *next;
	struct epoll_event ev;
	struct lp_hold *hd;

	pthread_mutex_lock(&lp->mu);
	p = lp->pending;
	lp->pending = NULL;
	pthread_mutex_unlock(&lp->mu);
	for (; p != NULL; p = next) {
		next = p->next;
		hd = xcalloc(1, sizeof(*hd));
		hd->fd = p->fd;
		hd->request_id = (uint16_t)p->request_id;
		hd->keep_conn = p->rd.keep_conn;
		hd->kind = p->rd.kind;
		hd->name = xstrndup(p->rd.name, p->rd.name_len);
		hd->name_len = p->rd.name_len;
		hd->group_member = p->rd.group_member;
		hd->group_size = p->rd.group_size;
		buf_init(&hd->body);
		buf_append(&hd->body, p->rd.body, p->rd.body_len);
		buf_init(&hd->out);
		hd->deadline_ms = lp->now_ms + p->rd.wait_ms;
		hd->ns = lp_ns_get(lp, p->rd.ns);
		hd->ns->count++;
		hd->next = hd->ns->holds;
		if (hd->next != NULL)
			hd->next->prev = hd;
		hd->ns->holds = hd;
		free(p);
		fcntl(hd->fd, F_SETFL, fcntl(hd->fd, F_GETFL) | O_NONBLOCK);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = hd;
		if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, hd->fd, &ev) != 0) {
			log_warn(lp->opt.log, "longpoll: epoll_ctl: %s", strerror(errno));
			lp_hold_free(lp, hd);
			continue;
		}
		/*
		 * What was committed between the worker's read and the tail
		 * this namespace has is below the tail: run once now, so that
		 * no such message is missed.
		 */
		if (lp_hold_run(lp, hd, false))
			lp_hold_write(lp, hd);
	}
}

/* ---- noticing messages ------------------------------------------------- */

/* True when poke p is in what hold hd reads (its other filters aside). */
static bool
lp_hold_touched(const struct lp_hold *hd, const struct store_poke *p)
{
	size_t cat;

	if (hd->kind == STORE_POKE_STREAM)
		return p->stream_len == hd->name_len &&
		    memcmp(p->stream, hd->name, hd->name_len) == 0;
	/* A category of length 0 reads every stream (category.get ""). */
	cat = streamname_category_len(p->stream, p->stream_len);
	if (hd->name_len > 0 &&
	    (cat != hd->name_len || memcmp(p->stream, hd->name, cat) != 0))
		return false;
	if (hd->group_size > 0)
		return p->has_cardinal_hash &&
		    streamname_member_of_hash(p->cardinal_hash, hd->group_size) ==
		    hd->group_member;
	return true;
}

struct lp_tail_ctx {
	struct lp_ns *n;
	int64_t rows;
};

static enum evdb_status
lp_tail_row(void *arg, const struct store_poke *p)
{
	struct lp_tail_ctx *t = arg;
	struct lp_hold *hd;

	t->rows++;
	for (hd = t->n->holds; hd != NULL; hd = hd->next)
		if (!hd->due && lp_hold_touched(hd, p))
			hd->due = true;
	if (p->global_position > t->n->tail) {
		t->n->tail = p->global_position;
		t->n->tail_key = lp_key(p);
	}
	return EVDB_OK;
}

/*
 * Reads n's messages above its tail and marks the reads they touch.  When
 * the read fails (the namespace is gone), every read of n runs: each then
 * answers its error.  A notice that finds nothing above the tail checks
 * the head: below the tail, the namespace was replaced by an import with
 * force, and every read of n runs on what is there now.
 */
static void
lp_ns_advance(struct longpoll *lp, struct lp_ns *n)
{
	struct lp_tail_ctx t = { n, 0 };
	struct lp_hold *hd;
	int64_t head, start = n->tail;
	int budget = LP_TAIL_BUDGET;
	bool all = false;

	n->dirty = false;
	while (budget-- > 0) {
		t.rows = 0;
		if (store_poke_tail(lp->store, n->name, n->tail, LP_BATCH, lp_tail_row,
		    &t) != EVDB_OK) {
			all = true;
			break;
		}
		if (t.rows < LP_BATCH)
			break;
	}
	if (budget < 0)
		n->dirty = true;	/* more next turn */
	if (!all && n->tail == start) {
		if (store_head(lp->store, n->name, &head) != EVDB_OK)
			all = true;
		else if (head < n->tail) {
			n->tail = head;
			(void)lp_key_at(lp, n->name, head, &n->tail_key);
			all = true;
		}
	}
	if (all)
		for (hd = n->holds; hd != NULL; hd = hd->next)
			hd->due = true;
}

/*
 * The periodic check of n: an import with force may have replaced the
 * namespace with a head at or above the tail, which the tail read cannot
 * see; the message at the tail is then another one (or none), and every
 * read of n runs on what is there now.
 */
static void
lp_ns_check_replaced(struct longpoll *lp, struct lp_ns *n)
{
	struct lp_hold *hd;
	uint64_t key;

	n->dirty = true;
	if (n->tail == 0 || lp_key_at(lp, n->name, n->tail, &key) != EVDB_OK ||
	    key == n->tail_key)
		return;	/* a failed read: the tail read finds it too */
	if (store_head(lp->store, n->name, &n->tail) != EVDB_OK ||
	    lp_key_at(lp, n->name, n->tail, &n->tail_key) != EVDB_OK) {
		n->tail = 0;
		n->tail_key = 0;
	}
	for (hd = n->holds; hd != NULL; hd = hd->next)
		hd->due = true;
}

/* Runs the reads that are due or timed out; returns the nearest deadline. */
static int64_t
lp_run_due(struct longpoll *lp)
{
	struct lp_ns *n, *nnext;
	struct lp_hold *hd, *next;
	int64_t nearest = INT64_MAX;

	for (n = lp->namespaces; n != NULL; n = nnext) {
		nnext = n->next;	/* n may be freed with its last read */
		if (n->dirty)
			lp_ns_advance(lp, n);
		for (hd = n->holds; hd != NULL; hd = next) {
			next = hd->next;
			/* Writing may free hd, and n with its last read: then
			 * next is NULL, and nnext was taken above. */
			if (hd->deadline_ms <= lp->now_ms ||
			    (hd->due && lp_hold_run(lp, hd, false))) {
				if (!hd->answered)
					(void)lp_hold_run(lp, hd, true);
				lp_hold_write(lp, hd);
				continue;
			}
			if (hd->deadline_ms < nearest)
				nearest = hd->deadline_ms;
		}
	}
	return nearest;
}

static void
lp_watch_notice(void *ctx, int64_t id)
{
	struct longpoll *lp = ctx;
	struct lp_ns *n;

	for (n = lp->namespaces; n != NULL; n = n->next)
		if (id < 0 || n->watch_id == id)
			n->dirty = true;
}

/* ---- the loop ---------------------------------------------------------- */

/* Answers every held read at stop, writing for LP_STOP_WRITE_MS at most. */
static void
lp_answer_all(struct longpoll *lp)
{
	struct lp_ns *n;
	struct lp_hold *hd;
	struct pollfd pfd;
	int64_t until;

	lp_take_pending(lp);
	/* Running frees nothing; the writing below does. */
	for (n = lp->namespaces; n != NULL; n = n->next)
		while ((hd = n->holds) != NULL)
			(void)lp_hold_run(lp, hd, true);
	until = lp_clock_ms() + LP_STOP_WRITE_MS;
	while ((hd = lp->writing) != NULL) {
		int64_t left = until - lp_clock_ms();

		if (left <= 0) {
			lp_hold_free(lp, hd);
			continue;
		}
		pfd.fd = hd->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)left) <= 0) {
			lp_hold_free(lp, hd);
			continue;
		}
		lp_hold_write(lp, hd);
	}
}

static void *
lp_main(void *arg)
{
	struct longpoll *lp = arg;
	struct epoll_event evs[256];
	int64_t next_scan, nearest;
	struct lp_ns *n;
	int i, nev, timeout;
	uint64_t v;

	(void)pthread_setname_np(pthread_self(), "evdb-longpoll");
	lp->now_ms = lp_clock_ms();
	next_scan = lp->now_ms + LP_SCAN_MS;
	nearest = INT64_MAX;
	for (;;) {
		int64_t wake = nearest < next_scan ? nearest : next_scan;

		timeout = (int)(wake - lp->now_ms);
		if (timeout < 0)
			timeout = 0;
		nev = epoll_wait(lp->epfd, evs, 256, timeout);
		lp->now_ms = lp_clock_ms();
		for (i = 0; i < nev; i++) {
			void *ptr = evs[i].data.ptr;
			struct lp_hold *hd;

			if (ptr == &lp->evfd) {
				(void)!read(lp->evfd, &v, sizeof(v));
				continue;
			}
			if (ptr == &lp->watch_fd) {
				(void)store_watch_read(lp->watch, lp_watch_notice, lp);
				continue;
			}
			/*
			 * A hold freed earlier in this batch is not reached again:
			 * only events of its own socket name it, and it has one.
			 */
			hd = ptr;
			if (hd->answered) {
				if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
					lp_hold_write(lp, hd);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
				lp_hold_readable(lp, hd, evs[i].events);
		}
		pthread_mutex_lock(&lp->mu);
		if (lp->stopping) {
			pthread_mutex_unlock(&lp->mu);
			break;
		}
		pthread_mutex_unlock(&lp->mu);
		lp_take_pending(lp);
		if (lp->now_ms >= next_scan) {
			for (n = lp->namespaces; n != NULL; n = n->next)
				lp_ns_check_replaced(lp, n);
			next_scan = lp->now_ms + LP_SCAN_MS;
		}
		nearest = lp_run_due(lp);
	}
	lp_answer_all(lp);
	return NULL;
}

/* ---- public ------------------------------------------------------------ */

enum evdb_status
longpoll_start(const struct longpoll_options *opt, struct longpoll **out)
{
	struct epoll_event ev;
	struct longpoll *lp = xcalloc(1, sizeof(*lp));

	*out = NULL;
	lp->opt = *opt;
	lp->epfd = lp->evfd = lp->watch_fd = -1;
	pthread_mutex_init(&lp->mu, NULL);
	lp->places = places_new(opt->max_held, opt->max_per_namespace);
	buf_init(&lp->answer);
	if (store_conn_open(opt->store, &lp->store) != EVDB_OK)
		goto fail;
	if ((lp->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (lp->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &lp->evfd;
	if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, lp->evfd, &ev) != 0)
		goto fail;
	if (store_watch_open(opt->store, &lp->watch) != EVDB_OK) {
		log_warn(opt->log, "longpoll: no change notices from the store; held"
		    " reads may answer up to %d ms late", LP_SCAN_MS);
	} else {
		lp->watch_fd = store_watch_fd(lp->watch);
		ev.events = EPOLLIN;
		ev.data.ptr = &lp->watch_fd;
		epoll_ctl(lp->epfd, EPOLL_CTL_ADD, lp->watch_fd, &ev);
	}
	if (pthread_create(&lp->thread, NULL, lp_main, lp) != 0)
		goto fail;
	lp->started = true;
	*out = lp;
	return EVDB_OK;
fail:
	log_error(opt->log, "longpoll: cannot start: %s", strerror(errno));
	longpoll_stop(lp);
	return EVDB_ERR_IO;
}

void
longpoll_stop(struct longpoll *lp)
{
	uint64_t one = 1;
	struct lp_pending *p;

	if (lp == NULL)
		return;
	if (lp->started) {
		pthread_mutex_lock(&lp->mu);
		lp->stopping = true;
		pthread_mutex_unlock(&lp->mu);
		(void)!write(lp->evfd, &one, sizeof(one));
		pthread_join(lp->thread, NULL);
	}
	while ((p = lp->pending) != NULL) {
		lp->pending = p->next;
		close(p->fd);
		free(p);
	}
	store_watch_close(lp->watch);
	store_conn_close(lp->store);
	if (lp->evfd >= 0)
		close(lp->evfd);
	if (lp->epfd >= 0)
		close(lp->epfd);
	buf_free(&lp->answer);
	places_free(lp->places);
	pthread_mutex_destroy(&lp->mu);
	free(lp);
}

enum evdb_status
longpoll_reserve(struct longpoll *lp, const char *ns, const char **why)
{
	bool stopping;

	pthread_mutex_lock(&lp->mu);
	stopping = lp->stopping;
	pthread_mutex_unlock(&lp->mu);
	if (stopping) {
		*why = "The server is shutting down";
		return EVDB_ERR_CLOSED;
	}
	switch (places_take(lp->places, ns)) {
	case PLACES_TAKEN:
		return EVDB_OK;
	case PLACES_FULL:
		*why = "This server holds its maximum number of waiting reads"
		    " (--longpoll-max)";
		return EVDB_ERR_LIMIT;
	case PLACES_FULL_NS:
	default:
		*why = "This token holds its maximum number of waiting reads"
		    " (--longpoll-max-per-token)";
		return EVDB_ERR_LIMIT;
	}
}

void
longpoll_release(struct longpoll *lp, const char *ns)
{
	places_give(lp->places, ns);
}

void
longpoll_attach(struct longpoll *lp, const struct longpoll_read *rd, int fd,
    int request_id)
{
	struct lp_pending *p = xcalloc(1, xadd(sizeof(*p),
	    xadd(xadd(rd->name_len, 1), rd->body_len)));
	char *name = (char *)(p + 1), *body = name + rd->name_len + 1;
	uint64_t one = 1;

	p->rd = *rd;
	memcpy(name, rd->name, rd->name_len);
	memcpy(body, rd->body, rd->body_len);
	p->rd.name = name;
	p->rd.body = body;
	p->fd = fd;
	p->request_id = request_id;
	pthread_mutex_lock(&lp->mu);
	p->next = lp->pending;
	lp->pending = p;
	pthread_mutex_unlock(&lp->mu);
	(void)!write(lp->evfd, &one, sizeof(one));
}

int64_t
longpoll_held_count(const struct longpoll *lp)
{
	return lp != NULL ? places_count(lp->places) : 0;
}
