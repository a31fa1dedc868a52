/*
 * sqlite_poke.c - change notification between processes, and the light
 * reads the SSE hub makes (positions only, no payloads).
 *
 * After every commit that wrote messages, the committing process writes the
 * new head global position into the namespace's poke file,
 * ns/<name>.<generation>.db-poke, after COMMIT returned, so the data is
 * visible by then.  A watch (store.h) is an inotify descriptor with one
 * IN_MODIFY watch per namespace's poke file: any process sharing the data
 * directory hears of every commit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/inotify.h>

#include "store/sqlite/sqlite_internal.h"
#include "core/xalloc.h"

enum evdb_status
sqlite_head(struct sqlite_conn *c, const char *ns, int64_t *gpos)
{
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;

	*gpos = 0;
	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_HEAD, &s)) != EVDB_OK)
		return rs;
	return sqlite_step_int64(c, h->db, s, "read head position", 0, gpos);
}

/* A poke callback and its context, as sqlite_step_rows' arg. */
struct poke_cb {
	store_poke_fn fn;
	void *ctx;
};

/* A row of the NS_POKE_* statements: stream, positions, cardinal hash. */
static enum evdb_status
poke_row(sqlite3_stmt *s, void *arg)
{
	struct poke_cb *cb = arg;
	struct store_poke p;

	p.stream = (const char *)sqlite3_column_text(s, 0);
	p.stream_len = (size_t)sqlite3_column_bytes(s, 0);
	p.position = sqlite3_column_int64(s, 1);
	p.global_position = sqlite3_column_int64(s, 2);
	p.has_cardinal_hash = sqlite3_column_type(s, 3) != SQLITE_NULL;
	p.cardinal_hash = sqlite3_column_int64(s, 3);
	return cb->fn(cb->ctx, &p);
}

static enum evdb_status
poke_rows(struct sqlite_conn *c, sqlite3 *db, sqlite3_stmt *s, store_poke_fn fn,
    void *ctx)
{
	struct poke_cb cb = { fn, ctx };

	return sqlite_step_rows(c, db, s, -1, "read pokes", poke_row, &cb);
}

enum evdb_status
sqlite_poke_range(struct sqlite_conn *c, const char *ns,
    const struct store_poke_query *q, store_poke_fn fn, void *ctx)
{
	static const enum ns_stmt which[] = {
		[STORE_POKE_STREAM] = NS_POKE_STREAM,
		[STORE_POKE_CATEGORY] = NS_POKE_CATEGORY,
		[STORE_POKE_ALL] = NS_POKE_ALL,
	};
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, which[q->kind], &s)) != EVDB_OK)
		return rs;
	if (q->kind != STORE_POKE_ALL)
		sqlite3_bind_text(s, 1, q->name, (int)q->name_len, SQLITE_STATIC);
	if (q->kind == STORE_POKE_STREAM)
		sqlite3_bind_int64(s, 2, q->min_position);
	sqlite3_bind_int64(s, 3, q->after_gpos);
	sqlite3_bind_int64(s, 4, q->upto_gpos);
	sqlite3_bind_int64(s, 5, q->limit);
	return poke_rows(c, h->db, s, fn, ctx);
}

enum evdb_status
sqlite_poke_tail(struct sqlite_conn *c, const char *ns, int64_t after_gpos,
    int64_t limit, store_poke_fn fn, void *ctx)
{
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_POKE_TAIL, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_int64(s, 3, after_gpos);
	sqlite3_bind_int64(s, 5, limit);
	return poke_rows(c, h->db, s, fn, ctx);
}

/* ---- the watch ----------------------------------------------------------- */

struct sqlite_watch {
	struct store_watch base;	/* the seam's head (store_backend.h); first */
	int fd;				/* inotify descriptor (non-blocking) */
};

static struct sqlite_watch *
sqlite_watch_of(struct store_watch *w)
{
	return (struct sqlite_watch *)w;
}

enum evdb_status
sqlite_watch_open(struct sqlite_store *st, struct store_watch **out)
{
	struct sqlite_watch *w;
	int fd;

	*out = NULL;
	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_warn(st->log, "store: inotify unavailable: %s", strerror(errno));
		return EVDB_ERR_IO;
	}
	w = xcalloc(1, sizeof(*w));
	w->base.backend = &store_sqlite_backend;
	w->fd = fd;
	*out = &w->base;
	return EVDB_OK;
}

int
sqlite_watch_fd(const struct store_watch *w)
{
	return ((const struct sqlite_watch *)w)->fd;
}

enum evdb_status
sqlite_watch_add(struct store_watch *w, struct sqlite_conn *c, const char *ns,
    int64_t *id)
{
	struct ns_entry *e;
	struct ns_handle *h;
	enum evdb_status rs;
	char *db, *path;
	size_t n;
	int wd;

	*id = -1;
	/* Opening the handle creates the poke file if no writer did yet. */
	if ((rs = sqlite_ns_handle(c, ns, &e, &h)) != EVDB_OK)
		return rs;
	db = sqlite_ns_path(c->st, ns, e->generation);
	n = xadd(strlen(db), 8);
	path = xmalloc(n);
	snprintf(path, n, "%s-poke", db);
	free(db);
	wd = inotify_add_watch(sqlite_watch_of(w)->fd, path, IN_MODIFY);
	if (wd < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "watch %s: %s", ns,
		    strerror(errno));
		free(path);
		return errno == ENOSPC || errno == ENOMEM ? EVDB_ERR_STORAGE_FULL :
		    EVDB_ERR_IO;
	}
	free(path);
	*id = wd;
	return EVDB_OK;
}

void
sqlite_watch_remove(struct store_watch *w, int64_t id)
{
	if (id >= 0)
		(void)inotify_rm_watch(sqlite_watch_of(w)->fd, (int)id);
}

enum evdb_status
sqlite_watch_read(struct store_watch *w, store_watch_fn fn, void *ctx)
{
	char evbuf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len;
	char *p;

	while ((len = read(sqlite_watch_of(w)->fd, evbuf, sizeof(evbuf))) > 0) {
		for (p = evbuf; p < evbuf + len;) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;

			/* An overflow may have lost any event. */
			fn(ctx, (ev->mask & IN_Q_OVERFLOW) ? -1 : ev->wd);
			p += sizeof(struct inotify_event) + ev->len;
		}
	}
	return EVDB_OK;
}

void
sqlite_watch_close(struct store_watch *w)
{
	if (w == NULL)
		return;
	close(sqlite_watch_of(w)->fd);
	free(sqlite_watch_of(w));
}
