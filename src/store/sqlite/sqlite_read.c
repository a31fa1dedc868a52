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

static enum evdb_status sqlite_read_stream_ext(struct sqlite_conn *c,
    struct ns_handle *h, const struct store_stream_query *q,
    store_message_fn fn, void *ctx);
static enum evdb_status sqlite_read_category_ext(struct sqlite_conn *c,
    struct ns_handle *h, const struct store_category_query *q,
    store_message_fn fn, void *ctx);

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

/*
 * Steps s to the end (or until limit rows were accepted), calling fn for
 * each row.  Resets s.
 */
static enum evdb_status
read_rows(struct sqlite_conn *c, sqlite3 *db, sqlite3_stmt *s, int64_t limit,
    store_message_fn fn, void *ctx)
{
	struct store_message m;
	enum evdb_status rs = EVDB_OK;
	int64_t n = 0;
	int rc;

	while (limit < 0 || n < limit) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			rs = sqlite_fail(c, db, rc, "read");
			break;
		}
		read_row(s, &m);
		if ((rs = fn(ctx, &m)) != EVDB_OK)
			break;
		n++;
	}
	sqlite_stmt_done(s);
	return rs;
}

/* Binds READ_GROUP's ?5 and ?6 (sqlite_internal.h): NULL for no group. */
static void
read_bind_group(sqlite3_stmt *s, const struct store_category_query *q)
{
	if (q->group_size > 0) {
		sqlite3_bind_int64(s, 5, q->group_size);
		sqlite3_bind_int64(s, 6, q->group_member);
	} else {
		sqlite3_bind_null(s, 5);
		sqlite3_bind_null(s, 6);
	}
}

enum evdb_status
sqlite_read_stream(struct sqlite_conn *c, const char *ns,
    const struct store_stream_query *q, store_message_fn fn, void *ctx)
{
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;

	if (q->backward || q->ntypes > 0) {
		if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
			return rs;
		return sqlite_read_stream_ext(c, h, q, fn, ctx);
	}
	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, q->by_global ? NS_READ_STREAM_GLOBAL
	    : NS_READ_STREAM, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, q->stream, (int)q->stream_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, q->by_global ? q->global_position : q->position);
	sqlite3_bind_int64(s, 3, q->limit);
	return read_rows(c, h->db, s, q->limit, fn, ctx);
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
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;
	enum ns_stmt which;
	bool all = q->category_len == 0;

	if (q->correlation != NULL)
		which = all ? NS_READ_ALL_CORR : NS_READ_CATEGORY_CORR;
	else
		which = all ? NS_READ_ALL : NS_READ_CATEGORY;
	if (q->ntypes > 0) {
		if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
			return rs;
		return sqlite_read_category_ext(c, h, q, fn, ctx);
	}
	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, which, &s)) != EVDB_OK)
		return rs;
	if (all)
		sqlite3_bind_null(s, 1);
	else
		sqlite3_bind_text(s, 1, q->category, (int)q->category_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, q->global_position);
	sqlite3_bind_int64(s, 3, q->limit);
	if (q->correlation != NULL)
		sqlite3_bind_text(s, 4, q->correlation, (int)q->correlation_len,
		    SQLITE_STATIC);
	read_bind_group(s, q);
	return read_rows(c, h->db, s, q->limit, fn, ctx);
}

enum evdb_status
sqlite_ns_streams(struct sqlite_conn *c, const char *ns, const char *prefix,
    size_t prefix_len, const char *cursor, size_t cursor_len, int64_t limit,
    store_stream_fn fn, void *ctx)
{
	struct store_stream_info info;
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;
	char *upper = NULL;
	size_t upper_len = prefix_len;
	int rc;

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
	for (;;) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			rs = sqlite_fail(c, h->db, rc, "list streams");
			break;
		}
		info.name = (const char *)sqlite3_column_text(s, 0);
		info.name_len = (size_t)sqlite3_column_bytes(s, 0);
		info.version = sqlite3_column_int64(s, 1);
		info.last_activity_us = sqlite3_column_int64(s, 2);
		if ((rs = fn(ctx, &info)) != EVDB_OK)
			break;
	}
	sqlite_stmt_done(s);
	free(upper);
	return rs;
}

enum evdb_status
sqlite_ns_categories(struct sqlite_conn *c, const char *ns, store_category_fn fn,
    void *ctx)
{
	struct store_category_info info;
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;
	int rc;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK ||
	    (rs = sqlite_ns_stmt(c, h, NS_CATEGORIES, &s)) != EVDB_OK)
		return rs;
	for (;;) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			rs = sqlite_fail(c, h->db, rc, "list categories");
			break;
		}
		info.name = (const char *)sqlite3_column_text(s, 0);
		info.name_len = (size_t)sqlite3_column_bytes(s, 0);
		info.message_count = sqlite3_column_int64(s, 1);
		info.stream_count = sqlite3_column_int64(s, 2);
		if ((rs = fn(ctx, &info)) != EVDB_OK)
			break;
	}
	sqlite_stmt_done(s);
	return rs;
}

/* ---- evdb's extensions: backward reads and type filters ------------------
 *
 * EXTENSIONS.md section 4.  These reads build their SQL for the query at
 * hand (the number of types varies) and prepare it for the one call; the
 * reference's reads above keep their cached statements, untouched.
 */

/* A category read's first type parameter: after READ_GROUP's ?5 and ?6. */
#define READ_TYPE_FIRST 7

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
		read_sql_type_list(out, q->ntypes, 5);
	buf_printf(out, " ORDER BY position%s LIMIT ?3", q->backward ? " DESC" : "");
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

/* Binds the types as ?first... (see sqlite_read_stream_sql). */
static void
read_bind_types(sqlite3_stmt *s, const struct store_type *types, size_t n,
    int first)
{
	size_t i;

	for (i = 0; i < n; i++)
		sqlite3_bind_text(s, (int)i + first, types[i].name,
		    (int)types[i].len, SQLITE_STATIC);
}

static enum evdb_status
sqlite_read_stream_ext(struct sqlite_conn *c, struct ns_handle *h,
    const struct store_stream_query *q, store_message_fn fn, void *ctx)
{
	struct buf sql;
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;

	buf_init(&sql);
	sqlite_read_stream_sql(&sql, q);
	if ((rs = read_prepare(c, h, &sql, &s)) != EVDB_OK)
		goto out;
	sqlite3_bind_text(s, 1, q->stream, (int)q->stream_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, q->by_global ? q->global_position : q->position);
	sqlite3_bind_int64(s, 3, q->limit);
	read_bind_types(s, q->types, q->ntypes, 5);
	rs = read_rows(c, h->db, s, q->limit, fn, ctx);
out:
	sqlite3_finalize(s);
	buf_free(&sql);
	return rs;
}

static enum evdb_status
sqlite_read_category_ext(struct sqlite_conn *c, struct ns_handle *h,
    const struct store_category_query *q, store_message_fn fn, void *ctx)
{
	struct buf sql;
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;

	buf_init(&sql);
	sqlite_read_category_sql(&sql, q);
	if ((rs = read_prepare(c, h, &sql, &s)) != EVDB_OK)
		goto out;
	if (q->category_len == 0)
		sqlite3_bind_null(s, 1);
	else
		sqlite3_bind_text(s, 1, q->category, (int)q->category_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, q->global_position);
	sqlite3_bind_int64(s, 3, q->limit);
	if (q->correlation != NULL)
		sqlite3_bind_text(s, 4, q->correlation, (int)q->correlation_len,
		    SQLITE_STATIC);
	read_bind_group(s, q);
	read_bind_types(s, q->types, q->ntypes, READ_TYPE_FIRST);
	rs = read_rows(c, h->db, s, q->limit, fn, ctx);
out:
	sqlite3_finalize(s);
	buf_free(&sql);
	return rs;
}
