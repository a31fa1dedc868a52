/*
 * sqlite_read.c - reading streams, categories and namespace listings.
 *
 * Reads run on the calling thread's own connection outside any explicit
 * transaction: each statement sees one consistent WAL snapshot, and never
 * blocks a writer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_internal.h"
#include "core/buf.h"
#include "core/xalloc.h"

/* Fills m from a row of MSG_COLS (sqlite_internal.h). */
static void
read_row(sqlite3_stmt *s, struct store_message *m)
{
	m->id = (const char *)sqlite3_column_text(s, 0);
	m->id_len = (size_t)sqlite3_column_bytes(s, 0);
	m->stream = (const char *)sqlite3_column_text(s, 1);
	m->stream_len = (size_t)sqlite3_column_bytes(s, 1);
	m->type = (const char *)sqlite3_column_text(s, 2);
	m->type_len = (size_t)sqlite3_column_bytes(s, 2);
	m->position = sqlite3_column_int64(s, 3);
	m->global_position = sqlite3_column_int64(s, 4);
	m->data = (const char *)sqlite3_column_text(s, 5);
	m->data_len = (size_t)sqlite3_column_bytes(s, 5);
	m->metadata = (const char *)sqlite3_column_text(s, 6);
	m->metadata_len = (size_t)sqlite3_column_bytes(s, 6);
	m->time_us = sqlite3_column_int64(s, 7);
}

/* A caller's callback and its context, as sqlite_step_rows' arg. */
struct read_cb {
	union {
		store_message_fn message;	/* read_message_row */
		store_stream_fn stream;		/* read_stream_row */
		store_category_fn category;	/* read_category_row */
	} fn;
	void *ctx;
};

static enum evdb_status
read_message_row(sqlite3_stmt *s, void *arg)
{
	struct read_cb *cb = arg;
	struct store_message m;

	read_row(s, &m);
	return cb->fn.message(cb->ctx, &m);
}

/* read_steps over rows of MSG_COLS, calling fn with each message. */
static enum evdb_status
read_rows(struct sqlite_conn *c, sqlite3 *db, sqlite3_stmt *s, int64_t limit,
    store_message_fn fn, void *ctx)
{
	struct read_cb cb = { .fn.message = fn, .ctx = ctx };

	return sqlite_step_rows(c, db, s, limit, "read", read_message_row, &cb);
}

/*
 * One read of messages, a stream's or a category's, as the statement sees
 * it: which statement, and what it binds.  Both reads, the reference's
 * and evdb's extensions, take one path through it (read_run).
 */
struct read_plan {
	enum ns_stmt cached;		/* the reference's read: this cached statement */
	struct buf *sql;		/* evdb's extensions: SQL built for this
					 * call (borrowed), prepared and finalized
					 * by read_run; NULL for the cached one */
	const char *key;		/* ?1: stream or category; NULL binds NULL
					 * (the whole namespace) */
	size_t key_len;
	int64_t from;			/* ?2: the first (or, backward, the last)
					 * position or global position */
	int64_t limit;			/* ?3, and the most rows fn sees; -1: all */
	const char *correlation;	/* ?4, bound when not NULL */
	size_t correlation_len;
	bool grouped;			/* the statement has READ_GROUP's ?5 and ?6 */
	int64_t group_size;		/* ?5 when grouped; 0 binds NULL: no group */
	int64_t group_member;		/* ?6 when grouped and group_size > 0 */
	const struct store_type *types;	/* bound from ?types_first on (borrowed) */
	size_t ntypes;
	int types_first;
};

/* A stream read's first type parameter (sqlite_read_stream_sql). */
#define READ_STREAM_TYPE_FIRST 5
/* A category read's first type parameter: after READ_GROUP's ?5 and ?6. */
#define READ_TYPE_FIRST 7

/* Prepares sql on h, or fails with SQLite's message. */
static enum evdb_status
read_prepare(struct sqlite_conn *c, struct ns_handle *h, struct buf *sql,
    sqlite3_stmt **s)
{
	int rc;

	rc = sqlite3_prepare_v2(h->db, buf_cstr(sql), -1, s, NULL);
	if (rc != SQLITE_OK) {
		*s = NULL;
		return sqlite_fail(c, h->db, rc, "prepare read");
	}
	return EVDB_OK;
}

/* Binds p's parameters to s (see struct read_plan). */
static void
read_bind(sqlite3_stmt *s, const struct read_plan *p)
{
	size_t i;

	if (p->key == NULL)
		sqlite3_bind_null(s, 1);
	else
		sqlite3_bind_text(s, 1, p->key, (int)p->key_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, p->from);
	sqlite3_bind_int64(s, 3, p->limit);
	if (p->correlation != NULL)
		sqlite3_bind_text(s, 4, p->correlation, (int)p->correlation_len,
		    SQLITE_STATIC);
	if (p->grouped && p->group_size > 0) {
		sqlite3_bind_int64(s, 5, p->group_size);
		sqlite3_bind_int64(s, 6, p->group_member);
	} else if (p->grouped) {
		sqlite3_bind_null(s, 5);
		sqlite3_bind_null(s, 6);
	}
	for (i = 0; i < p->ntypes; i++)
		sqlite3_bind_text(s, (int)i + p->types_first, p->types[i].name,
		    (int)p->types[i].len, SQLITE_STATIC);
}

/* A read's callback that counts the rows it passed on (read_run). */
struct read_counted {
	store_message_fn fn;
	void *ctx;
	int64_t rows;
};

static enum evdb_status
read_count_row(void *arg, const struct store_message *m)
{
	struct read_counted *rc = arg;

	rc->rows++;
	return rc->fn(rc->ctx, m);
}

/*
 * The statement that reads p on its member's index (--group-indexes),
 * prepared on first use and kept, or NULL when p is not such a read: no
 * group, a size not declared, the whole namespace, types (their own
 * index), or a file without the index (then never again on h).
 */
static sqlite3_stmt *
read_group_stmt(struct sqlite_conn *c, struct ns_handle *h,
    const struct read_plan *p)
{
	struct sqlite_store *st = c->st;
	bool corr = p->correlation != NULL;
	sqlite3_stmt **s;
	struct buf sql;
	int slot, rc;

	if (h->group_off || !p->grouped || p->group_size <= 0 || p->key == NULL ||
	    p->sql != NULL ||
	    (slot = store_group_slot(st->group_sizes, st->group_count,
	    p->group_size, p->group_member)) < 0)
		return NULL;
	if (h->group_stmt == NULL)
		h->group_stmt = xcalloc(2 * (size_t)st->group_slots,
		    sizeof(*h->group_stmt));
	s = &h->group_stmt[(corr ? st->group_slots : 0) + slot];
	if (*s == NULL) {
		buf_init(&sql);
		sqlite_read_group_sql(&sql, (int)p->group_size,
		    (int)p->group_member, corr);
		rc = sqlite3_prepare_v3(h->db, buf_cstr(&sql), -1,
		    SQLITE_PREPARE_PERSISTENT, s, NULL);
		buf_free(&sql);
		if (rc != SQLITE_OK) {
			/* "no such index": the file was given another
			 * evdb's setting, or none (a must_exist store). */
			log_warn(st->log, "store: %s: %s; this connection reads"
			    " consumer groups without their indexes",
			    sqlite3_db_filename(h->db, NULL), sqlite3_errmsg(h->db));
			*s = NULL;
			h->group_off = true;
			return NULL;
		}
	}
	return *s;
}

/*
 * Reads p in namespace ns, calling fn for each row: on a member's index,
 * on the cached statement, or on p->sql prepared for the call and
 * finalized after it.
 */
static enum evdb_status
read_run(struct sqlite_conn *c, const char *ns, const struct read_plan *p,
    store_message_fn fn, void *ctx)
{
	struct read_plan on_index;
	struct ns_handle *h;
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
		return rs;
	if ((s = read_group_stmt(c, h, p)) != NULL) {
		struct read_counted counted = { .fn = fn, .ctx = ctx };

		/* The index is the group test: the statement has no ?5, ?6. */
		on_index = *p;
		on_index.grouped = false;
		read_bind(s, &on_index);
		rs = read_rows(c, h->db, s, p->limit, read_count_row, &counted);
		if (rs == EVDB_OK || counted.rows > 0 ||
		    sqlite3_errcode(h->db) != SQLITE_ERROR) {
			atomic_fetch_add_explicit(&c->st->group_index_reads, 1,
			    memory_order_relaxed);
			return rs;
		}
		/* Its index was dropped since it was prepared (the first step
		 * prepares it again, and fails before any row): read as
		 * without, from now on. */
		log_warn(c->st->log, "store: %s: a consumer-group index is gone;"
		    " this connection reads consumer groups without their indexes",
		    sqlite3_db_filename(h->db, NULL));
		h->group_off = true;
	}
	if (p->sql != NULL)
		rs = read_prepare(c, h, p->sql, &s);
	else
		rs = sqlite_ns_stmt(c, h, p->cached, &s);
	if (rs == EVDB_OK) {
		read_bind(s, p);
		rs = read_rows(c, h->db, s, p->limit, fn, ctx);
	}
	if (p->sql != NULL)
		sqlite3_finalize(s);
	return rs;
}

enum evdb_status
sqlite_read_stream(struct sqlite_conn *c, const char *ns,
    const struct store_stream_query *q, store_message_fn fn, void *ctx)
{
	struct read_plan p = {
		.cached = q->by_global ? NS_READ_STREAM_GLOBAL : NS_READ_STREAM,
		.key = q->stream,
		.key_len = q->stream_len,
		.from = q->by_global ? q->global_position : q->position,
		.limit = q->limit,
		.types = q->types,
		.ntypes = q->ntypes,
		.types_first = READ_STREAM_TYPE_FIRST,
	};
	struct buf sql;
	enum evdb_status rs;

	buf_init(&sql);
	if (q->backward || q->ntypes > 0) {
		sqlite_read_stream_sql(&sql, q);
		p.sql = &sql;
	}
	rs = read_run(c, ns, &p, fn, ctx);
	buf_free(&sql);
	return rs;
}

enum evdb_status
sqlite_read_last(struct sqlite_conn *c, const char *ns, const char *stream,
    size_t stream_len, const char *type, size_t type_len, store_message_fn fn,
    void *ctx)
{
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, type != NULL ? NS_READ_LAST_TYPE
	    : NS_READ_LAST, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, stream, (int)stream_len, SQLITE_STATIC);
	if (type != NULL)
		sqlite3_bind_text(s, 2, type, (int)type_len, SQLITE_STATIC);
	return read_rows(c, h->db, s, 1, fn, ctx);
}

enum evdb_status
sqlite_stream_version(struct sqlite_conn *c, const char *ns, const char *stream,
    size_t stream_len, int64_t *version)
{
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;
	int rc;

	*version = -1;
	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_STREAM_VERSION, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, stream, (int)stream_len, SQLITE_STATIC);
	/* Column 1: the version as readers see it (sqlite_handle.c). */
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*version = sqlite3_column_int64(s, 1);
	else
		rs = sqlite_fail(c, h->db, rc, "stream version");
	sqlite_stmt_done(s);
	return rs;
}

enum evdb_status
sqlite_read_category(struct sqlite_conn *c, const char *ns,
    const struct store_category_query *q, store_message_fn fn, void *ctx)
{
	bool all = q->category_len == 0;
	struct read_plan p = {
		.key = all ? NULL : q->category,
		.key_len = q->category_len,
		.from = q->global_position,
		.limit = q->limit,
		.correlation = q->correlation,
		.correlation_len = q->correlation_len,
		.grouped = true,
		.group_size = q->group_size,
		.group_member = q->group_member,
		.types = q->types,
		.ntypes = q->ntypes,
		.types_first = READ_TYPE_FIRST,
	};
	struct buf sql;
	enum evdb_status rs;

	if (q->correlation != NULL)
		p.cached = all ? NS_READ_ALL_CORR : NS_READ_CATEGORY_CORR;
	else
		p.cached = all ? NS_READ_ALL : NS_READ_CATEGORY;
	buf_init(&sql);
	if (q->ntypes > 0) {
		sqlite_read_category_sql(&sql, q);
		p.sql = &sql;
	}
	rs = read_run(c, ns, &p, fn, ctx);
	buf_free(&sql);
	return rs;
}

/* A row of NS_STREAMS: name, version, last activity. */
static enum evdb_status
read_stream_row(sqlite3_stmt *s, void *arg)
{
	struct read_cb *cb = arg;
	struct store_stream_info info;

	info.name = (const char *)sqlite3_column_text(s, 0);
	info.name_len = (size_t)sqlite3_column_bytes(s, 0);
	info.version = sqlite3_column_int64(s, 1);
	info.last_activity_us = sqlite3_column_int64(s, 2);
	return cb->fn.stream(cb->ctx, &info);
}

enum evdb_status
sqlite_ns_streams(struct sqlite_conn *c, const char *ns, const char *prefix,
    size_t prefix_len, const char *cursor, size_t cursor_len, int64_t limit,
    store_stream_fn fn, void *ctx)
{
	struct read_cb cb = { .fn.stream = fn, .ctx = ctx };
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;
	char *upper = NULL;
	size_t upper_len = prefix_len;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_STREAMS, &s)) != EVDB_OK)
		return rs;
	/*
	 * Names with the prefix sort in [prefix, upper), where upper is the
	 * prefix with its last non-0xff byte incremented.  With no such byte
	 * there is no upper bound: a zero-length blob sorts after every text.
	 */
	if (prefix_len > 0) {
		upper = xstrndup(prefix, prefix_len);
		while (upper_len > 0 && (unsigned char)upper[upper_len - 1] == 0xff)
			upper_len--;
		if (upper_len > 0)
			upper[upper_len - 1]++;
	}
	sqlite3_bind_text(s, 1, prefix_len ? prefix : "", (int)prefix_len, SQLITE_STATIC);
	if (upper_len > 0)
		sqlite3_bind_text(s, 2, upper, (int)upper_len, SQLITE_STATIC);
	else
		sqlite3_bind_zeroblob(s, 2, 0);
	sqlite3_bind_text(s, 3, cursor_len ? cursor : "", (int)cursor_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, limit);
	rs = sqlite_step_rows(c, h->db, s, -1, "list streams", read_stream_row, &cb);
	free(upper);
	return rs;
}

/* A row of NS_CATEGORIES: name, message count, stream count. */
static enum evdb_status
read_category_row(sqlite3_stmt *s, void *arg)
{
	struct read_cb *cb = arg;
	struct store_category_info info;

	info.name = (const char *)sqlite3_column_text(s, 0);
	info.name_len = (size_t)sqlite3_column_bytes(s, 0);
	info.message_count = sqlite3_column_int64(s, 1);
	info.stream_count = sqlite3_column_int64(s, 2);
	return cb->fn.category(cb->ctx, &info);
}

enum evdb_status
sqlite_ns_categories(struct sqlite_conn *c, const char *ns, store_category_fn fn,
    void *ctx)
{
	struct read_cb cb = { .fn.category = fn, .ctx = ctx };
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_CATEGORIES, &s)) != EVDB_OK)
		return rs;
	return sqlite_step_rows(c, h->db, s, -1, "list categories",
	    read_category_row, &cb);
}

/* ---- evdb's extensions: backward reads and type filters ------------------
 *
 * EXTENSIONS.md section 4.  These reads build their SQL for the query at
 * hand (the number of types varies) and prepare it for the one call; the
 * reference's reads above keep their cached statements, untouched.
 */

/* Appends " AND type IN (?first, ?first+1, ...)" for q's n types. */
static void
read_sql_type_list(struct buf *out, size_t n, size_t first)
{
	size_t i;

	buf_puts(out, " AND type IN (");
	for (i = 0; i < n; i++)
		buf_printf(out, "%s?%zu", i > 0 ? ", " : "", i + first);
	buf_putc(out, ')');
}

void
sqlite_read_stream_sql(struct buf *out, const struct store_stream_query *q)
{
	/* messages_stream serves both directions; types are a filter. */
	buf_printf(out, "SELECT " MSG_COLS " FROM messages WHERE stream_name = ?1"
	    " AND %s %s ?2", q->by_global ? "global_position" : "position",
	    q->backward ? "<=" : ">=");
	if (q->ntypes > 0)
		read_sql_type_list(out, q->ntypes, READ_STREAM_TYPE_FIRST);
	buf_printf(out, " ORDER BY position%s LIMIT ?3", q->backward ? " DESC" : "");
}

void
sqlite_read_group_sql(struct buf *out, int n, int m, bool correlated)
{
	/* The member's test, with literals, is the index's WHERE: the planner
	 * sees the index holds every row the read can return. */
	buf_printf(out, "SELECT " MSG_COLS ", cardinal_hash FROM messages"
	    " INDEXED BY " GROUP_INDEX_NAME " WHERE category = ?1"
	    " AND global_position >= ?2%s AND abs(cardinal_hash %% %d) = %d"
	    " ORDER BY global_position LIMIT ?3", n, m,
	    correlated ? " AND correlation = ?4" : "", n, m);
}

void
sqlite_read_category_sql(struct buf *out, const struct store_category_query *q)
{
	size_t i;

	if (q->category_len == 0) {
		/* The whole namespace: one scan in global order, filtered. */
		buf_puts(out, "SELECT " MSG_COLS ", cardinal_hash FROM messages"
		    " WHERE ?1 IS NULL AND global_position >= ?2");
		if (q->correlation != NULL)
			buf_puts(out, " AND correlation = ?4");
		buf_puts(out, READ_GROUP);
		read_sql_type_list(out, q->ntypes, READ_TYPE_FIRST);
		buf_puts(out, " ORDER BY global_position LIMIT ?3");
		return;
	}
	/*
	 * One category: one arm per type, each a seek into
	 * messages_category_type that yields that type's messages in global
	 * order; SQLite merges the arms (MERGE (UNION ALL)), lazily, so a
	 * rare type costs its own messages only and a page costs its rows.
	 */
	for (i = 0; i < q->ntypes; i++) {
		if (i > 0)
			buf_puts(out, " UNION ALL ");
		buf_printf(out, "SELECT " MSG_COLS ", cardinal_hash FROM messages"
		    " WHERE category = ?1 AND type = ?%zu AND global_position >= ?2",
		    i + READ_TYPE_FIRST);
		if (q->correlation != NULL)
			buf_puts(out, " AND correlation = ?4");
		buf_puts(out, READ_GROUP);
	}
	buf_puts(out, " ORDER BY global_position LIMIT ?3");
}
