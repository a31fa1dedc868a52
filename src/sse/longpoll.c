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
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/streamname.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "http/fcgi_record.h"
#include "http/request.h"
#include "sse/longpoll.h"
#include "sse/loop.h"
#include "sse/ns_tail.h"
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
	struct ns_tail t;		/* first: name, tail (messages up to
					 * here were looked at), watch, dirty;
					 * t.next links the loop's namespaces */
	int count;			/* reads held (the list below) */
	struct lp_hold *holds;		/* its held reads */
};

/* An attach handed over by a worker (on the loop's pending list). */
struct lp_pending {
	struct loop_item it;		/* first: list link, fd, request id */
	struct longpoll_read rd;	/* name and body point into this allocation */
};

struct longpoll {
	struct longpoll_options opt;	/* settings, copied */
	struct loop loop;		/* thread, epoll, wake-up, watch, store
					 * connection, pending attaches, places
					 * (reads reserved or held) */
	/* Owned by the loop thread: */
	struct ns_tail *namespaces;	/* namespaces with held reads (struct lp_ns) */
	struct lp_hold *writing;	/* answered, output not yet all written */
	struct buf answer;		/* scratch: the body of one run */
	int64_t now_ms;			/* monotonic time of this loop turn */
};

/* ---- namespaces -------------------------------------------------------- */

static struct lp_ns *
lp_ns_get(struct longpoll *lp, const char *name)
{
	struct lp_ns *n = (struct lp_ns *)ns_tail_find(lp->namespaces, name);

	if (n != NULL)
		return n;
	n = xcalloc(1, sizeof(*n));
	ns_tail_open(&n->t, name, lp->loop.store, lp->loop.watch);
	n->t.next = lp->namespaces;
	lp->namespaces = &n->t;
	return n;
}

static void
lp_ns_drop_if_empty(struct longpoll *lp, struct lp_ns *n)
{
	if (n->count > 0)
		return;
	ns_tail_unlink(&lp->namespaces, &n->t);
	ns_tail_close(&n->t, lp->loop.watch);
	free(n);
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
		epoll_ctl(lp->loop.epfd, EPOLL_CTL_DEL, hd->fd, NULL);
		close(hd->fd);
	}
	n->count--;
	places_give(lp->loop.places, n->t.name);
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
	epoll_ctl(lp->loop.epfd, EPOLL_CTL_MOD, hd->fd, &ev);
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
		epoll_ctl(lp->loop.epfd, EPOLL_CTL_DEL, hd->fd, NULL);
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
	char head[REQUEST_HEAD_MAX];
	int status = 500;
	size_t n;
	bool empty;

	buf_reset(&lp->answer);
	store_conn_request_begin(lp->loop.store);
	empty = lp->opt.run(lp->opt.run_ctx, lp->loop.store, hd->ns->t.name, &hd->body,
	    &lp->answer, &status, &ctype);
	store_conn_request_end(lp->loop.store);
	hd->due = false;
	if (empty && !force)
		return false;
	n = request_format_head(head, status, ctype, lp->answer.len);
	buf_reset(&hd->out);
	fcgi_record_stdout(&hd->out, hd->request_id, head, n);
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

	for (p = (struct lp_pending *)loop_take(&lp->loop); p != NULL; p = next) {
		next = (struct lp_pending *)p->it.next;
		hd = xcalloc(1, sizeof(*hd));
		hd->fd = p->it.fd;
		hd->request_id = (uint16_t)p->it.request_id;
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
		if (epoll_ctl(lp->loop.epfd, EPOLL_CTL_ADD, hd->fd, &ev) != 0) {
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
	if (p->global_position > t->n->t.tail)
		ns_tail_set(&t->n->t, p);
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
	int64_t head, start = n->t.tail;
	int budget = LP_TAIL_BUDGET;
	bool all = false;

	n->t.dirty = false;
	while (budget-- > 0) {
		t.rows = 0;
		if (store_poke_tail(lp->loop.store, n->t.name, n->t.tail, LP_BATCH,
		    lp_tail_row, &t) != EVDB_OK) {
			all = true;
			break;
		}
		if (t.rows < LP_BATCH)
			break;
	}
	if (budget < 0)
		n->t.dirty = true;	/* more next turn */
	if (!all && n->t.tail == start) {
		if (store_head(lp->loop.store, n->t.name, &head) != EVDB_OK)
			all = true;
		else if (head < n->t.tail) {
			n->t.tail = head;
			(void)ns_tail_key_at(lp->loop.store, n->t.name, head, &n->t.tail_key);
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

	n->t.dirty = true;
	if (!ns_tail_replaced(&n->t, lp->loop.store))
		return;	/* a failed read: the tail read finds it too */
	if (store_head(lp->loop.store, n->t.name, &n->t.tail) != EVDB_OK ||
	    ns_tail_key_at(lp->loop.store, n->t.name, n->t.tail, &n->t.tail_key) !=
	    EVDB_OK) {
		n->t.tail = 0;
		n->t.tail_key = 0;
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

	for (n = (struct lp_ns *)lp->namespaces; n != NULL; n = nnext) {
		/* n may be freed with its last read */
		nnext = (struct lp_ns *)n->t.next;
		if (n->t.dirty)
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

/* ---- the loop ---------------------------------------------------------- */

/* Answers every held read at stop, writing for LP_STOP_WRITE_MS at most. */
static void
lp_answer_all(struct longpoll *lp)
{
	struct ns_tail *n;
	struct lp_hold *hd;
	struct pollfd pfd;
	int64_t until;

	lp_take_pending(lp);
	/* Running frees nothing; the writing below does. */
	for (n = lp->namespaces; n != NULL; n = n->next)
		while ((hd = ((struct lp_ns *)n)->holds) != NULL)
			(void)lp_hold_run(lp, hd, true);
	until = loop_clock_ms() + LP_STOP_WRITE_MS;
	while ((hd = lp->writing) != NULL) {
		int64_t left = until - loop_clock_ms();

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
	struct ns_tail *n;
	int i, nev, timeout;

	lp->now_ms = loop_clock_ms();
	next_scan = lp->now_ms + LP_SCAN_MS;
	nearest = INT64_MAX;
	for (;;) {
		int64_t wake = nearest < next_scan ? nearest : next_scan;

		timeout = (int)(wake - lp->now_ms);
		if (timeout < 0)
			timeout = 0;
		nev = epoll_wait(lp->loop.epfd, evs, 256, timeout);
		lp->now_ms = loop_clock_ms();
		for (i = 0; i < nev; i++) {
			void *ptr = evs[i].data.ptr;
			struct lp_hold *hd;

			if (ptr == &lp->loop.evfd) {
				loop_drain_wake(&lp->loop);
				continue;
			}
			if (ptr == &lp->loop.watch_fd) {
				(void)store_watch_read(lp->loop.watch, ns_tail_notice,
				    &lp->namespaces);
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
		if (loop_stopping(&lp->loop))
			break;
		lp_take_pending(lp);
		if (lp->now_ms >= next_scan) {
			for (n = lp->namespaces; n != NULL; n = n->next)
				lp_ns_check_replaced(lp, (struct lp_ns *)n);
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
	struct longpoll *lp = xcalloc(1, sizeof(*lp));

	*out = NULL;
	lp->opt = *opt;
	buf_init(&lp->answer);
	if (loop_open(&lp->loop, opt->store, opt->max_held, opt->max_per_namespace,
	    false) != EVDB_OK)
		goto fail;
	if (lp->loop.watch == NULL) {
		log_warn(opt->log, "longpoll: no change notices from the store; held"
		    " reads may answer up to %d ms late", LP_SCAN_MS);
	}
	if (loop_run(&lp->loop, lp_main, lp, "evdb-longpoll") != EVDB_OK)
		goto fail;
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
	if (lp == NULL)
		return;
	loop_stop(&lp->loop);
	loop_close(&lp->loop);
	buf_free(&lp->answer);
	free(lp);
}

enum evdb_status
longpoll_reserve(struct longpoll *lp, const char *ns, const char **why)
{
	return loop_reserve(&lp->loop, ns,
	    "This server holds its maximum number of waiting reads"
	    " (--longpoll-max)",
	    "This token holds its maximum number of waiting reads"
	    " (--longpoll-max-per-token)", why);
}

void
longpoll_release(struct longpoll *lp, const char *ns)
{
	places_give(lp->loop.places, ns);
}

void
longpoll_attach(struct longpoll *lp, const struct longpoll_read *rd, int fd,
    int request_id)
{
	struct lp_pending *p = xcalloc(1, xadd(sizeof(*p),
	    xadd(xadd(rd->name_len, 1), rd->body_len)));
	char *name = (char *)(p + 1), *body = name + rd->name_len + 1;

	p->rd = *rd;
	memcpy(name, rd->name, rd->name_len);
	memcpy(body, rd->body, rd->body_len);
	p->rd.name = name;
	p->rd.body = body;
	p->it.fd = fd;
	p->it.request_id = request_id;
	loop_hand(&lp->loop, &p->it);
}

int64_t
longpoll_held_count(const struct longpoll *lp)
{
	return lp != NULL ? places_count(lp->loop.places) : 0;
}
