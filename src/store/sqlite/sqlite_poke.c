/*
 * sqlite_poke.c - change notification between processes, and the light
 * reads the SSE hub makes (positions only, no payloads).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/sqlite/sqlite_internal.h"
#include "core/xalloc.h"

int
sqlite_poke_open(const char *db_path)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s-poke", db_path) >= sizeof(path))
		return -1;
	/* Without a poke file, only this process's own subscribers hear of writes. */
	return open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}

void
sqlite_poke_signal(struct ns_handle *h, int64_t global_position)
{
	/* One small pwrite per commit: inotify reports it as IN_MODIFY. */
	if (h->poke_fd >= 0)
		(void)!pwrite(h->poke_fd, &global_position, sizeof(global_position), 0);
}

char *
sqlite_poke_path(struct sqlite_conn *c, const char *ns)
{
	struct ns_entry *e;
	struct ns_handle *h;
	char *db, *path;
	size_t n;

	/* Opening the handle creates the poke file if no writer did yet. */
	if (sqlite_ns_handle(c, ns, &e, &h) != EVDB_OK)
		return NULL;
	db = sqlite_ns_path(c->st, ns, e->generation);
	n = xadd(strlen(db), 8);
	path = xmalloc(n);
	snprintf(path, n, "%s-poke", db);
	free(db);
	return path;
}

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

static enum evdb_status
poke_rows(struct sqlite_conn *c, sqlite3 *db, sqlite3_stmt *s, store_poke_fn fn,
    void *ctx)
{
	struct store_poke p;
	enum evdb_status rs = EVDB_OK;
	int rc;

	for (;;) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			rs = sqlite_fail(c, db, rc, "read pokes");
			break;
		}
		p.stream = (const char *)sqlite3_column_text(s, 0);
		p.stream_len = (size_t)sqlite3_column_bytes(s, 0);
		p.position = sqlite3_column_int64(s, 1);
		p.global_position = sqlite3_column_int64(s, 2);
		p.has_cardinal_hash = sqlite3_column_type(s, 3) != SQLITE_NULL;
		p.cardinal_hash = sqlite3_column_int64(s, 3);
		if ((rs = fn(ctx, &p)) != EVDB_OK)
			break;
	}
	sqlite_stmt_done(s);
	return rs;
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
