/*
 * hub.c - the SSE subscription hub (see hub.h for the delivery model).
 *
 * One thread runs an epoll loop over:
 *   - an eventfd, written when a worker attaches a subscriber or at stop;
 *   - the store's watch (store.h), readable after other commits;
 *   - every subscriber's FastCGI socket (non-blocking).
 * The loop's timeout drives heartbeats and a once-a-second tail check that
 * covers writers the watch cannot see (a lost notice, a writer that sends
 * none).
 *
 * Live pokes go out in batches: the first notice after a fan-out
 * schedules the next one opt.batch_ms later, and the watch's descriptor
 * stays disarmed (EPOLLONESHOT) until then, so under a steady write load
 * the hub wakes and reads the store's tail once per batch_ms, not once per
 * commit.  (Measured with 1,000 subscribers at about 12,000 writes/s: a
 * read per commit cost each write 18 - 30 us of CPU; with 2 ms batches the
 * cost was within the noise.  docs/sse.md.)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/buf.h"
#include "sse/hub.h"
#include "core/json_out.h"
#include "core/streamname.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "http/fcgi_record.h"
#include "sse/loop.h"
#include "sse/ns_tail.h"
#include "sse/places.h"

#define HUB_BUCKETS 1024		/* live index buckets per namespace */
#define HUB_BATCH 256			/* rows per catch-up or tail read */
#define HUB_CATCHUP_BUDGET 64		/* catch-up batches per loop turn */
#define HUB_SCAN_MS 1000		/* periodic tail check */
#define HUB_OUT_KEEP 4096		/* output buffer kept after draining */
#define HUB_BEAT_SLICE 64		/* heartbeats per loop turn at most */
#define HUB_BEAT_QUEUES 8		/* heartbeat queues (hub_beat_start) */

enum sub_state {
	SUB_CATCHUP,			/* reading its backlog from the store */
	SUB_LIVE			/* in the live index, fed from the tail */
};

struct hub_ns;

struct sub {
	struct sub *prev, *next;	/* the hub's list of all subscribers */
	struct sub *bucket_next;	/* live index chain (SUB_LIVE only) */
	struct sub *catchup_next;	/* catch-up queue link */
	struct sub *flush_next;		/* flush list link */
	struct hub_ns *ns;		/* its namespace */
	int fd;				/* FastCGI connection, owned */
	uint16_t request_id;		/* FastCGI request id */
	enum store_poke_kind kind;	/* what it follows */
	char *name;			/* stream or category, owned */
	size_t name_len;
	int64_t min_position;		/* stream subscriptions: first position not
					 * yet sent (advanced by catch-up) */
	int64_t first_position;		/* the min_position it asked for, restored
					 * when its namespace is replaced */
	int64_t cursor;			/* every global position <= cursor is done */
	int64_t group_member;		/* consumer group */
	int64_t group_size;		/* 0: none */
	enum sub_state state;
	bool queued;			/* on the catch-up queue */
	bool flushing;			/* on the flush list */
	bool want_out;			/* EPOLLOUT registered */
	struct buf out;			/* FastCGI records not yet written */
	size_t out_off;			/* bytes of out already written */
	int64_t last_write_ms;		/* for heartbeats: its ping is due at
					 * last_write_ms + hub_beat_interval */
	struct sub *beat_prev, *beat_next; /* its heartbeat queue, ordered
					 * by last_write_ms */
	unsigned beat_q;		/* that queue: until its first ping, the
					 * one it started in; then 0 */
};

struct hub_ns {
	struct ns_tail t;		/* first: name, tail (live pokes were
					 * fanned out up to here), watch, dirty;
					 * t.next links the hub's namespaces */
	bool gone;			/* the namespace was deleted */
	int subs;			/* subscribers attached */
	struct sub *all_live;		/* live subscribers of kind ALL */
	struct sub *buckets[HUB_BUCKETS]; /* live STREAM and CATEGORY subscribers */
};

/* An attach handed over by a worker (on the loop's pending list). */
struct hub_pending {
	struct loop_item it;		/* first: list link, fd, request id */
	struct hub_subscription sub;	/* name points into this allocation */
};

struct hub {
	struct hub_options opt;		/* settings, copied */
	struct loop loop;		/* thread, epoll, wake-up, watch, store
					 * connection, pending attaches, places */
	atomic_llong pokes;		/* pokes produced since start */
	/* Owned by the loop thread: */
	struct sub *subs;		/* every attached subscriber */
	struct ns_tail *namespaces;	/* namespaces with subscribers (struct hub_ns) */
	struct sub *catchup_head;	/* subscribers with a backlog */
	struct sub **catchup_tailp;
	struct sub *flush;		/* subscribers with fresh output */
	struct sub *beat_head[HUB_BEAT_QUEUES]; /* heartbeat queues: every
					 * subscriber in one, oldest
					 * last_write_ms first */
	struct sub *beat_tail[HUB_BEAT_QUEUES];
	unsigned beat_started;		/* subscribers started, for the next
					 * one's queue */
	bool any_gone;			/* some namespace was found deleted */
	int64_t fanout_due_ms;		/* when dirty namespaces are read; 0: none */
	struct buf frame;		/* scratch for one SSE frame */
	int64_t now_ms;			/* monotonic time of this loop turn */
};

static unsigned
hub_hash(enum store_poke_kind kind, const char *s, size_t n)
{
	return strutil_fnv1a(STRUTIL_FNV1A_SEED ^ (uint32_t)kind, s, n) %
	    HUB_BUCKETS;
}

/* ---- FastCGI output ---------------------------------------------------- */

/* Appends SSE text as STDOUT records (each at most 65535 bytes). */
static void
hub_sub_put(struct hub *h, struct sub *s, const char *text, size_t len)
{
	fcgi_record_stdout(&s->out, s->request_id, text, len);
	if (!s->flushing) {
		s->flushing = true;
		s->flush_next = h->flush;
		h->flush = s;
	}
}

static size_t
hub_sub_pending(const struct sub *s)
{
	return s->out.len - s->out_off;
}

/*
 * The silence after which a subscriber of queue q is pinged: --sse-heartbeat
 * for queue 0, and for queue q a q / (2 * HUB_BEAT_QUEUES) part less, so
 * that the queues' intervals step evenly from the heartbeat down to a
 * little over half of it.
 */
static int64_t
hub_beat_interval(const struct hub *h, unsigned q)
{
	return h->opt.heartbeat_ms -
	    h->opt.heartbeat_ms * (int64_t)q / (2 * HUB_BEAT_QUEUES);
}

static int64_t
hub_beat_due(const struct hub *h, const struct sub *s)
{
	return s->last_write_ms + hub_beat_interval(h, s->beat_q);
}

static void
hub_beat_unlink(struct hub *h, struct sub *s)
{
	unsigned q = s->beat_q;

	if (s->beat_prev != NULL)
		s->beat_prev->beat_next = s->beat_next;
	else if (h->beat_head[q] == s)
		h->beat_head[q] = s->beat_next;
	if (s->beat_next != NULL)
		s->beat_next->beat_prev = s->beat_prev;
	else if (h->beat_tail[q] == s)
		h->beat_tail[q] = s->beat_prev;
	s->beat_prev = s->beat_next = NULL;
}

/*
 * Sets s's last write to this turn and moves it to the end of its
 * heartbeat queue.  Every subscriber is stamped with the loop's clock,
 * which never goes back, and all of a queue wait the same interval, so
 * each queue stays ordered by due time: a subscriber's ping is due at its
 * own last write + its queue's interval, and the pings of subscribers that
 * wrote at different times go out at different times, not in one burst
 * per scan (issue 13).
 */
static void
hub_beat_touch(struct hub *h, struct sub *s)
{
	unsigned q = s->beat_q;

	s->last_write_ms = h->now_ms;
	if (h->beat_tail[q] == s)
		return;
	hub_beat_unlink(h, s);
	s->beat_prev = h->beat_tail[q];
	if (h->beat_tail[q] != NULL)
		h->beat_tail[q]->beat_next = s;
	else
		h->beat_head[q] = s;
	h->beat_tail[q] = s;
}

/*
 * Enters a new subscriber into the heartbeat queues.  Subscribers that
 * connect together (every client of a restarted nginx or evdb, within
 * seconds) would otherwise be pinged together for as long as they stay
 * idle: 50,000 of them opened in 6 - 9 s got their pings in a 6 - 9 s
 * burst of every 15 s, which cost writes 8 - 38 % of their throughput
 * depending on when they fell (docs/performance.md, "SSE at scale").  So
 * the subscribers started one after another go to the queues in turn, and
 * a queue's first ping comes after its own part of the heartbeat (between
 * a half and the whole of it); from its first ping on, a subscriber waits
 * the whole heartbeat (queue 0).  The turn runs from the shortest wait to
 * the longest, so that each later arrival also waits longer, and a crowd's
 * first pings spread over more than its arrival, never less.  No silence
 * is ever longer than --sse-heartbeat.
 */
static void
hub_beat_start(struct hub *h, struct sub *s)
{
	s->beat_q = HUB_BEAT_QUEUES - 1 - h->beat_started++ % HUB_BEAT_QUEUES;
	s->beat_prev = s->beat_next = NULL;
	hub_beat_touch(h, s);
}

/* The heartbeat due first, and its subscriber (NULL: none). */
static struct sub *
hub_beat_next(const struct hub *h, int64_t *due)
{
	struct sub *first = NULL;
	int64_t d, best = INT64_MAX;
	unsigned q;

	for (q = 0; q < HUB_BEAT_QUEUES; q++) {
		if (h->beat_head[q] == NULL)
			continue;
		d = hub_beat_due(h, h->beat_head[q]);
		if (first == NULL || d < best) {
			first = h->beat_head[q];
			best = d;
		}
	}
	*due = best;
	return first;
}

/*
 * True when len bytes of SSE text, with their record headers, fit in s's
 * buffer without its unsent bytes reaching --sse-buffer.  An empty buffer
 * takes anything, so one oversized frame cannot stall a subscriber for ever.
 * Staying strictly below the limit also keeps the allocation at the limit
 * (rounded up to a power of two), not the power of two above it.
 */
static bool
hub_sub_fits(const struct hub *h, const struct sub *s, size_t len)
{
	size_t records = len / 65535 + 1;

	return hub_sub_pending(s) == 0 ||
	    hub_sub_pending(s) + len + 8 * records < h->opt.buffer_max;
}

/*
 * Appends the poke frame of p to s, or returns false, appending nothing,
 * when it does not fit (hub_sub_fits): the caller leaves s's cursor before
 * p, and catch-up sends it once the buffer drained.
 */
static bool
hub_sub_poke(struct hub *h, struct sub *s, const struct store_poke *p)
{
	struct buf *f = &h->frame;

	buf_reset(f);
	buf_puts(f, "id: ");
	json_out_int(f, p->global_position);
	buf_puts(f, "\nevent: poke\ndata: {\"stream\":");
	json_out_string(f, p->stream, p->stream_len);
	buf_puts(f, ",\"position\":");
	json_out_int(f, p->position);
	buf_puts(f, ",\"globalPosition\":");
	json_out_int(f, p->global_position);
	buf_puts(f, "}\n\n");
	if (!hub_sub_fits(h, s, f->len))
		return false;
	hub_sub_put(h, s, f->data, f->len);
	atomic_fetch_add_explicit(&h->pokes, 1, memory_order_relaxed);
	return true;
}

static void
hub_sub_events(struct hub *h, struct sub *s, bool want_out)
{
	struct epoll_event ev;

	if (s->want_out == want_out)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0);
	ev.data.ptr = s;
	epoll_ctl(h->loop.epfd, EPOLL_CTL_MOD, s->fd, &ev);
	s->want_out = want_out;
}

/* Writes what it can.  Returns false when the connection is dead. */
static bool
hub_sub_write(struct hub *h, struct sub *s)
{
	while (hub_sub_pending(s) > 0) {
		ssize_t n = write(s->fd, s->out.data + s->out_off, hub_sub_pending(s));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/*
				 * Let go of what the socket took: the buffer then
				 * holds only unsent bytes, at most --sse-buffer,
				 * however slowly the peer reads.
				 */
				buf_drop_front(&s->out, s->out_off);
				s->out_off = 0;
				hub_sub_events(h, s, true);
				return true;
			}
			return false;
		}
		s->out_off += (size_t)n;
		hub_beat_touch(h, s);
	}
	s->out_off = 0;
	buf_trim(&s->out, HUB_OUT_KEEP);
	hub_sub_events(h, s, false);
	return true;
}

/* ---- namespaces and the live index ------------------------------------ */

static struct hub_ns *
hub_ns_get(struct hub *h, const char *name)
{
	struct hub_ns *n = (struct hub_ns *)ns_tail_find(h->namespaces, name);

	if (n != NULL)
		return n;
	n = xcalloc(1, sizeof(*n));
	/* Whatever is committed now is catch-up; what comes later is live. */
	ns_tail_open(&n->t, name, h->loop.store, h->loop.watch);
	n->t.next = h->namespaces;
	h->namespaces = &n->t;
	return n;
}

static void
hub_ns_drop_if_empty(struct hub *h, struct hub_ns *n)
{
	if (n->subs > 0)
		return;
	ns_tail_unlink(&h->namespaces, &n->t);
	ns_tail_close(&n->t, h->loop.watch);
	free(n);
}

static struct sub **
hub_live_chain(struct hub_ns *n, const struct sub *s)
{
	if (s->kind == STORE_POKE_ALL)
		return &n->all_live;
	return &n->buckets[hub_hash(s->kind, s->name, s->name_len)];
}

static void
hub_live_add(struct sub *s)
{
	struct sub **chain = hub_live_chain(s->ns, s);

	s->state = SUB_LIVE;
	s->bucket_next = *chain;
	*chain = s;
}

static void
hub_live_remove(struct sub *s)
{
	struct sub **pp;

	if (s->state != SUB_LIVE)
		return;
	for (pp = hub_live_chain(s->ns, s); *pp != NULL; pp = &(*pp)->bucket_next) {
		if (*pp == s) {
			*pp = s->bucket_next;
			break;
		}
	}
	s->bucket_next = NULL;
	s->state = SUB_CATCHUP;
}

static void
hub_catchup_push(struct hub *h, struct sub *s)
{
	if (s->queued)
		return;
	s->queued = true;
	s->catchup_next = NULL;
	*h->catchup_tailp = s;
	h->catchup_tailp = &s->catchup_next;
}

/* True when poke p is one s wants (cursor aside). */
static bool
hub_sub_matches(const struct sub *s, const struct store_poke *p)
{
	size_t cat;

	switch (s->kind) {
	case STORE_POKE_STREAM:
		return p->stream_len == s->name_len &&
		    memcmp(p->stream, s->name, s->name_len) == 0 &&
		    p->position >= s->min_position;
	case STORE_POKE_CATEGORY:
		cat = streamname_category_len(p->stream, p->stream_len);
		if (cat != s->name_len || memcmp(p->stream, s->name, cat) != 0)
			return false;
		if (s->group_size > 0)
			return p->has_cardinal_hash &&
			    streamname_member_of_hash(p->cardinal_hash, s->group_size) ==
			    s->group_member;
		return true;
	case STORE_POKE_ALL:
		return true;
	}
	return false;
}

/*
 * Delivers p to a live subscriber; one whose output is over the limit
 * leaves the live set and will catch up from its cursor.
 */
static void
hub_live_deliver(struct hub *h, struct sub *s, const struct store_poke *p)
{
	if (p->global_position <= s->cursor || !hub_sub_matches(s, p))
		return;
	if (!hub_sub_poke(h, s, p)) {
		/* Full: p and what follows come through catch-up. */
		hub_live_remove(s);
		hub_catchup_push(h, s);
		return;
	}
	s->cursor = p->global_position;
	if (s->kind == STORE_POKE_STREAM)
		s->min_position = p->position + 1;	/* see hub_catchup_row */
}

struct hub_tail_ctx {
	struct hub *h;
	struct hub_ns *n;
	int64_t rows;
};

static enum evdb_status
hub_tail_row(void *arg, const struct store_poke *p)
{
	struct hub_tail_ctx *t = arg;
	struct hub_ns *n = t->n;
	size_t cat = streamname_category_len(p->stream, p->stream_len);
	struct sub *s, *next;

	t->rows++;
	for (s = n->buckets[hub_hash(STORE_POKE_STREAM, p->stream, p->stream_len)];
	    s != NULL; s = next) {
		next = s->bucket_next;
		if (s->kind == STORE_POKE_STREAM)
			hub_live_deliver(t->h, s, p);
	}
	for (s = n->buckets[hub_hash(STORE_POKE_CATEGORY, p->stream, cat)];
	    s != NULL; s = next) {
		next = s->bucket_next;
		if (s->kind == STORE_POKE_CATEGORY)
			hub_live_deliver(t->h, s, p);
	}
	for (s = n->all_live; s != NULL; s = next) {
		next = s->bucket_next;
		hub_live_deliver(t->h, s, p);
	}
	ns_tail_set(&n->t, p);
	return EVDB_OK;
}

/*
 * Since issue 15 a namespace only grows above its head, except through an
 * import with force, which empties it and imports anew in one transaction:
 * the message at the tail is then gone or another one, whether the new head
 * is below the tail or not.  Every message of the new content is new to
 * every subscriber, so the tail and the cursors of n's subscribers go back
 * to 0 (a stream subscriber to the position it asked for) and the tail read
 * that follows fans the new content out from its start.
 */
static void
hub_ns_reset_if_replaced(struct hub *h, struct hub_ns *n)
{
	struct sub *s;

	if (!ns_tail_replaced(&n->t, h->loop.store))
		return;	/* a failed read: the tail read reports it */
	log_info(h->opt.log, "hub: namespace %s was replaced (import with force); "
	    "its subscribers get the new messages from the start", n->t.name);
	for (s = h->subs; s != NULL; s = s->next) {
		if (s->ns != n)
			continue;
		s->cursor = 0;
		s->min_position = s->first_position;
	}
	n->t.tail = 0;
	n->t.tail_key = 0;
}

/* Fans out everything above the namespace's tail to its live subscribers. */
static void
hub_ns_advance(struct hub *h, struct hub_ns *n)
{
	struct hub_tail_ctx t = { h, n, 0 };
	enum evdb_status rs;

	n->t.dirty = false;
	hub_ns_reset_if_replaced(h, n);
	do {
		t.rows = 0;
		rs = store_poke_tail(h->loop.store, n->t.name, n->t.tail, HUB_BATCH,
		    hub_tail_row, &t);
		if (rs == EVDB_ERR_NOT_FOUND) {
			n->gone = true;	/* its subscribers are closed by the loop */
			h->any_gone = true;
			return;
		}
		if (rs != EVDB_OK) {
			log_warn(h->opt.log, "hub: cannot read namespace %s: %s", n->t.name,
			    store_conn_errmsg(h->loop.store));
			return;
		}
	} while (t.rows == HUB_BATCH);
}

/* ---- subscriber lifetime ----------------------------------------------- */

static void
hub_sub_free(struct hub *h, struct sub *s, bool finish)
{
	struct sub **pp;

	if (finish) {
		/* End the FastCGI request so nginx ends the HTTP response cleanly. */
		fcgi_record_end(&s->out, s->request_id);
		(void)hub_sub_write(h, s);
	}
	hub_live_remove(s);
	hub_beat_unlink(h, s);
	if (s->queued) {
		for (pp = &h->catchup_head; *pp != NULL; pp = &(*pp)->catchup_next) {
			if (*pp == s) {
				*pp = s->catchup_next;
				break;
			}
		}
		h->catchup_tailp = &h->catchup_head;
		while (*h->catchup_tailp != NULL)
			h->catchup_tailp = &(*h->catchup_tailp)->catchup_next;
	}
	if (s->flushing) {
		for (pp = &h->flush; *pp != NULL; pp = &(*pp)->flush_next) {
			if (*pp == s) {
				*pp = s->flush_next;
				break;
			}
		}
	}
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		h->subs = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	epoll_ctl(h->loop.epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->ns->subs--;
	places_give(h->loop.places, s->ns->t.name);
	hub_ns_drop_if_empty(h, s->ns);
	buf_free(&s->out);
	free(s->name);
	free(s);
}

static void
hub_take_pending(struct hub *h)
{
	struct hub_pending *p, *next;
	struct epoll_event ev;
	struct sub *s;

	for (p = (struct hub_pending *)loop_take(&h->loop); p != NULL; p = next) {
		next = (struct hub_pending *)p->it.next;
		s = xcalloc(1, sizeof(*s));
		s->fd = p->it.fd;
		s->request_id = (uint16_t)p->it.request_id;
		s->kind = p->sub.kind;
		s->name = xstrndup(p->sub.name ? p->sub.name : "", p->sub.name_len);
		s->name_len = p->sub.name_len;
		s->min_position = p->sub.min_position;
		s->first_position = p->sub.min_position;
		s->group_member = p->sub.group_member;
		s->group_size = p->sub.group_size;
		s->ns = hub_ns_get(h, p->sub.ns);
		s->ns->subs++;
		s->cursor = p->sub.after_gpos;
		s->state = SUB_CATCHUP;
		hub_beat_start(h, s);
		buf_init(&s->out);
		s->next = h->subs;
		if (h->subs != NULL)
			h->subs->prev = s;
		h->subs = s;
		fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = s;
		if (epoll_ctl(h->loop.epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
			log_warn(h->opt.log, "hub: epoll_ctl: %s", strerror(errno));
			hub_sub_free(h, s, false);
		} else
			hub_catchup_push(h, s);
		free(p);
	}
}

/* ---- catch-up ---------------------------------------------------------- */

struct hub_catchup_ctx {
	struct hub *h;
	struct sub *s;
	int64_t rows;
	bool full;			/* the batch stopped at a full buffer */
};

/*
 * One row of a catch-up batch.  A batch ends early, before the poke that
 * does not fit, so a subscriber that does not read holds at most
 * --sse-buffer bytes, whatever the batch size.
 */
static enum evdb_status
hub_catchup_row(void *arg, const struct store_poke *p)
{
	struct hub_catchup_ctx *c = arg;

	c->rows++;
	if (hub_sub_matches(c->s, p)) {
		if (!hub_sub_poke(c->h, c->s, p)) {
			c->full = true;
			return EVDB_ERR_LIMIT;	/* stops the read; the cursor stays before p */
		}
		/*
		 * The next batch of a stream starts after p in the stream's
		 * index, not at the subscription's first position: with batches
		 * cut short by the buffer, scanning from there each time would
		 * make a long catch-up quadratic.
		 */
		if (c->s->kind == STORE_POKE_STREAM)
			c->s->min_position = p->position + 1;
	}
	c->s->cursor = p->global_position;
	return EVDB_OK;
}

/* Reads one batch of s's backlog.  Returns true when s is still behind. */
static bool
hub_catchup_step(struct hub *h, struct sub *s)
{
	struct store_poke_query q;
	struct hub_catchup_ctx c = { h, s, 0, false };
	enum evdb_status rs;

	memset(&q, 0, sizeof(q));
	q.kind = s->kind;
	q.name = s->name;
	q.name_len = s->name_len;
	q.min_position = s->min_position;
	q.after_gpos = s->cursor;
	q.upto_gpos = s->ns->t.tail;
	q.limit = HUB_BATCH;
	if (s->cursor >= s->ns->t.tail) {
		/* Its resume point may be past a tail not yet advanced: keep it. */
		hub_live_add(s);
		return false;
	}
	/*
	 * A backlog fills the buffer: allocate it at its bound at once rather
	 * than through every power of two on the way (less copying, and no
	 * trail of freed smaller blocks per subscriber).
	 */
	if (s->out.len + 1 < h->opt.buffer_max)
		buf_reserve(&s->out, h->opt.buffer_max - s->out.len - 1);
	rs = store_poke_range(h->loop.store, s->ns->t.name, &q, hub_catchup_row, &c);
	/*
	 * Nothing of the backlog was for s: give the reservation back, or every
	 * subscriber whose catch-up finds nothing (a new stream, a quiet one)
	 * would keep --sse-buffer bytes of heap, and a page of them resident,
	 * until its first poke (issue 13: 3.4 KB of RSS per idle subscriber).
	 */
	if (s->out.len == 0)
		buf_free(&s->out);
	if (c.full)
		return true;	/* it waits for its buffer to drain */
	if (rs != EVDB_OK) {
		log_warn(h->opt.log, "hub: catch-up read failed: %s",
		    store_conn_errmsg(h->loop.store));
		return true;
	}
	if (c.rows < HUB_BATCH) {
		/* Everything up to the tail is out: from here on, live. */
		s->cursor = s->ns->t.tail;
		hub_live_add(s);
		return false;
	}
	return true;
}

/*
 * Gives queued subscribers one batch each, up to a budget per loop turn, so
 * that a large backlog never stalls live delivery.  A subscriber whose
 * socket has not drained waits; the flush list writes what was produced.
 */
static void
hub_catchup_run(struct hub *h)
{
	struct sub *s, *next, *list = h->catchup_head;
	int budget = HUB_CATCHUP_BUDGET;
	bool behind;

	h->catchup_head = NULL;
	h->catchup_tailp = &h->catchup_head;
	for (s = list; s != NULL; s = next) {
		next = s->catchup_next;
		s->queued = false;
		s->catchup_next = NULL;
		if (budget > 0 && hub_sub_pending(s) <= h->opt.buffer_max / 2) {
			budget--;
			behind = hub_catchup_step(h, s);
		} else
			behind = true;
		if (behind)
			hub_catchup_push(h, s);
	}
}

static void
hub_flush_all(struct hub *h)
{
	struct sub *s;

	while ((s = h->flush) != NULL) {
		h->flush = s->flush_next;
		s->flush_next = NULL;
		s->flushing = false;
		if (!hub_sub_write(h, s))
			hub_sub_free(h, s, false);
	}
}

/*
 * Ends the streams of deleted namespaces.  A namespace is freed with its
 * last subscriber, so the others of the same namespace keep it alive until
 * they are reached.
 */
static void
hub_close_deleted(struct hub *h)
{
	struct sub *s, *next;

	if (!h->any_gone)
		return;
	h->any_gone = false;
	for (s = h->subs; s != NULL; s = next) {
		next = s->next;
		if (s->ns->gone)
			hub_sub_free(h, s, true);
	}
}

/* True when a queued subscriber can take its next batch right now. */
static bool
hub_catchup_ready(const struct hub *h)
{
	const struct sub *s;

	for (s = h->catchup_head; s != NULL; s = s->catchup_next)
		if (hub_sub_pending(s) <= h->opt.buffer_max / 2)
			return true;
	return false;
}

/* ---- the loop ---------------------------------------------------------- */

static void
hub_read_watch(struct hub *h)
{
	(void)store_watch_read(h->loop.watch, ns_tail_notice, &h->namespaces);
	if (h->fanout_due_ms == 0)
		h->fanout_due_ms = h->now_ms + h->opt.batch_ms;
}

/* Lets the next notice wake the loop again (see the top comment). */
static void
hub_rearm_watch(struct hub *h)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.ptr = &h->loop.watch_fd;
	(void)epoll_ctl(h->loop.epfd, EPOLL_CTL_MOD, h->loop.watch_fd, &ev);
}

/*
 * Pings the subscribers whose heartbeat is due, from the head of the
 * queue, HUB_BEAT_SLICE at most per turn, so that a turn never writes a
 * burst of pings that live pokes would wait behind.  One still writing
 * (output pending) needs no ping: its writes restamp it, and until then it
 * goes to the back of the queue.  Returns true when more are due.
 */
static bool
hub_heartbeat(struct hub *h)
{
	static const char ping[] = ": ping\n\n";
	struct sub *s;
	int64_t due;
	int slice = HUB_BEAT_SLICE;

	while ((s = hub_beat_next(h, &due)) != NULL && h->now_ms >= due) {
		if (slice-- == 0)
			return true;
		if (hub_sub_pending(s) == 0)
			hub_sub_put(h, s, ping, sizeof(ping) - 1);
		if (s->beat_q != 0) {
			/* Its phase is set: from now on, the whole heartbeat. */
			hub_beat_unlink(h, s);
			s->beat_q = 0;
		}
		hub_beat_touch(h, s);
	}
	return false;
}

static void
hub_sub_readable(struct hub *h, struct sub *s, uint32_t events)
{
	char tmp[4096];
	ssize_t n;

	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		hub_sub_free(h, s, false);
		return;
	}
	/* nginx sends nothing after the request but an empty STDIN: drain it. */
	for (;;) {
		n = read(s->fd, tmp, sizeof(tmp));
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		hub_sub_free(h, s, false);	/* EOF: nginx closed it */
		return;
	}
}

static void *
hub_main(void *arg)
{
	struct hub *h = arg;
	struct epoll_event evs[256];
	int64_t next_scan;
	struct ns_tail *n;
	int i, nev, timeout;
	bool beats_left = false;

	h->now_ms = loop_clock_ms();
	next_scan = h->now_ms + HUB_SCAN_MS;
	for (;;) {
		int64_t wake = next_scan, due;

		if (h->fanout_due_ms != 0 && h->fanout_due_ms < wake)
			wake = h->fanout_due_ms;
		if (hub_beat_next(h, &due) != NULL && due < wake)
			wake = due;
		timeout = hub_catchup_ready(h) || beats_left ? 0 :
		    (int)(wake - h->now_ms);
		if (timeout < 0)
			timeout = 0;
		nev = epoll_wait(h->loop.epfd, evs, 256, timeout);
		h->now_ms = loop_clock_ms();
		for (i = 0; i < nev; i++) {
			void *ptr = evs[i].data.ptr;

			if (ptr == &h->loop.evfd) {
				loop_drain_wake(&h->loop);
			} else if (ptr == &h->loop.watch_fd) {
				hub_read_watch(h);
			} else {
				struct sub *s = ptr;

				/* A subscriber freed earlier in this batch is not referenced
				 * again: epoll_ctl(DEL) happens before free, and events of
				 * one epoll_wait are only read here. */
				if (evs[i].events & EPOLLOUT) {
					if (!hub_sub_write(h, s)) {
						hub_sub_free(h, s, false);
						continue;
					}
				}
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
					hub_sub_readable(h, s, evs[i].events);
			}
		}
		if (loop_stopping(&h->loop))
			break;
		hub_take_pending(h);
		if (h->now_ms >= next_scan) {
			for (n = h->namespaces; n != NULL; n = n->next)
				n->dirty = true;
			h->fanout_due_ms = h->now_ms;
			next_scan = h->now_ms + HUB_SCAN_MS;
		}
		if (h->fanout_due_ms != 0 && h->now_ms >= h->fanout_due_ms) {
			for (n = h->namespaces; n != NULL; n = n->next)
				if (n->dirty)
					hub_ns_advance(h, (struct hub_ns *)n);
			h->fanout_due_ms = 0;
			if (h->loop.watch_fd >= 0)
				hub_rearm_watch(h);
		}
		hub_close_deleted(h);
		hub_catchup_run(h);
		beats_left = hub_heartbeat(h);
		hub_flush_all(h);
	}
	while (h->subs != NULL)
		hub_sub_free(h, h->subs, true);
	return NULL;
}

/* ---- public ------------------------------------------------------------ */

enum evdb_status
hub_start(const struct hub_options *opt, struct hub **out)
{
	struct hub *h = xcalloc(1, sizeof(*h));

	*out = NULL;
	h->opt = *opt;
	atomic_init(&h->pokes, 0);
	h->catchup_tailp = &h->catchup_head;
	buf_init(&h->frame);
	if (loop_open(&h->loop, opt->store, opt->max_subscribers,
	    opt->max_per_namespace, true) != EVDB_OK)
		goto fail;
	if (h->loop.watch == NULL) {
		/* Still correct, only slower: the periodic scan finds every write. */
		log_warn(opt->log, "hub: no change notices from the store; pokes may"
		    " lag by up to %d ms", HUB_SCAN_MS);
	}
	if (loop_run(&h->loop, hub_main, h, "evdb-hub") != EVDB_OK)
		goto fail;
	*out = h;
	return EVDB_OK;
fail:
	log_error(opt->log, "hub: cannot start: %s", strerror(errno));
	hub_stop(h);
	return EVDB_ERR_IO;
}

void
hub_stop(struct hub *h)
{
	if (h == NULL)
		return;
	loop_stop(&h->loop);
	while (h->namespaces != NULL) {
		struct ns_tail *n = h->namespaces;

		h->namespaces = n->next;
		free(n);	/* its struct hub_ns, of which it is the first member */
	}
	loop_close(&h->loop);
	buf_free(&h->frame);
	free(h);
}

enum evdb_status
hub_reserve(struct hub *h, const char *ns, const char **why)
{
	return loop_reserve(&h->loop, ns,
	    "This server has reached its maximum number of subscribers",
	    "This token has reached its maximum number of subscribers", why);
}

void
hub_release(struct hub *h, const char *ns)
{
	places_give(h->loop.places, ns);
}

void
hub_attach(struct hub *h, const struct hub_subscription *sub, int fd,
    int request_id)
{
	struct hub_pending *p = xcalloc(1, xadd(sizeof(*p), xadd(sub->name_len, 1)));
	char *name = (char *)(p + 1);

	p->sub = *sub;
	if (sub->name_len > 0)
		memcpy(name, sub->name, sub->name_len);
	p->sub.name = name;
	p->it.fd = fd;
	p->it.request_id = request_id;
	loop_hand(&h->loop, &p->it);
}

int64_t
hub_pokes_sent(const struct hub *h)
{
	return h != NULL ? atomic_load(&((struct hub *)h)->pokes) : 0;
}

int64_t
hub_subscriber_count(const struct hub *h)
{
	return h != NULL ? places_count(h->loop.places) : 0;
}
