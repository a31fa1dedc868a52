/*
 * pg_read.c - reads on PostgreSQL: streams, categories, listings, the SSE
 * hub's position reads, and bulk import.
 *
 * Every read runs as one statement outside an explicit transaction, on the
 * calling thread's connection, and uses one of Message DB's indexes:
 * messages_stream (stream_name, position) for stream reads, versions and
 * listings; messages_category (category(stream_name), global_position, ...)
 * for category reads; the primary key for reads of the whole namespace.
 * Category and namespace reads fetch in chunks of PG_READ_CHUNK rows, so
 * that a long read never holds a huge result in memory, and so that a
 * consumer group (filtered here, in C, by streamname_member_of_hash(),
 * which is Message DB's MOD(@hash_64(cardinal_id(stream_name)), size)
 * = member) still returns `limit` rows.
 *
 * Text order: listings compare with COLLATE "C" (byte order, as on
 * SQLite); the indexes serve those comparisons when the database's own
 * collation is C (docs/storage.md).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/pg_internal.h"
#include "core/buf.h"
#include "core/streamname.h"

#define PG_READ_CHUNK 1000

#define MSG_COLS \
	"id::text, stream_name, type, position, global_position, data::text," \
	" metadata::text, (extract(epoch FROM time) * 1000000)::bigint"

/* A LIMIT taking -1 for none. */
#define LIMIT_ARG(n) " LIMIT CASE WHEN $" #n "::bigint < 0 THEN NULL ELSE $" #n "::bigint END"

#define POKE_COLS "stream_name, position, global_position"

const char *const pg_read_sql[PGQ_COUNT] = {
	[PGQ_STREAM] =
	    "SELECT " MSG_COLS " FROM %1$s.messages WHERE stream_name = $1"
	    " AND position >= $2 ORDER BY position" LIMIT_ARG(3),
	[PGQ_STREAM_GLOBAL] =
	    "SELECT " MSG_COLS " FROM %1$s.messages WHERE stream_name = $1"
	    " AND global_position >= $2 ORDER BY position" LIMIT_ARG(3),
	[PGQ_LAST] =
	    "SELECT " MSG_COLS " FROM %1$s.messages WHERE stream_name = $1"
	    " ORDER BY position DESC LIMIT 1",
	[PGQ_LAST_TYPE] =
	    "SELECT " MSG_COLS " FROM %1$s.messages WHERE stream_name = $1"
	    " AND type = $2 ORDER BY position DESC LIMIT 1",
	/* As pg_write.c's ITEM_SQL sees it: -1 once soft- or hard-deleted. */
	[PGQ_VERSION] =
	    "SELECT CASE WHEN coalesce(l.hard, false) OR b.v <= l.soft_at THEN -1"
	    " ELSE b.v END FROM (SELECT greatest(coalesce(max(position), -1),"
	    "  coalesce((SELECT floor FROM %1$s.evdb_stream_state"
	    "  WHERE stream_name = $1), -1)) AS v FROM %1$s.messages"
	    "  WHERE stream_name = $1) b"
	    " LEFT JOIN %1$s.evdb_stream_state l ON l.stream_name = $1",
	/* The whole namespace, by primary key. */
	[PGQ_ALL] =
	    "SELECT " MSG_COLS " FROM %1$s.messages"
	    " WHERE $1::text IS NOT NULL AND global_position >= $2"
	    " ORDER BY global_position LIMIT $3",
	[PGQ_ALL_CORR] =
	    "SELECT " MSG_COLS " FROM %1$s.messages"
	    " WHERE $1::text IS NOT NULL AND global_position >= $2"
	    " AND %1$s.category(metadata->>'correlationStreamName') = $4"
	    " ORDER BY global_position LIMIT $3",
	/* One category, by messages_category. */
	[PGQ_CATEGORY] =
	    "SELECT " MSG_COLS " FROM %1$s.messages"
	    " WHERE %1$s.category(stream_name) = $1 AND global_position >= $2"
	    " ORDER BY global_position LIMIT $3",
	[PGQ_CATEGORY_CORR] =
	    "SELECT " MSG_COLS " FROM %1$s.messages"
	    " WHERE %1$s.category(stream_name) = $1 AND global_position >= $2"
	    " AND %1$s.category(metadata->>'correlationStreamName') = $4"
	    " ORDER BY global_position LIMIT $3",
	/*
	 * Names with the prefix sort in [prefix, prefix || U+10FFFF): byte
	 * order, and U+10FFFF is the highest code point.  This one is for a
	 * database whose collation is byte order already (C, C.UTF-8), where
	 * messages_stream serves it; PGQ_STREAMS_C for any other.
	 */
	[PGQ_STREAMS] =
	    "SELECT s.stream_name, l.position, l.time_us FROM"
	    " (SELECT DISTINCT stream_name FROM %1$s.messages"
	    "  WHERE stream_name >= $1 AND stream_name < $1 || chr(1114111)"
	    "  AND starts_with(stream_name, $1) AND stream_name > $2"
	    "  ORDER BY 1" LIMIT_ARG(3) ") s"
	    " CROSS JOIN LATERAL (SELECT position,"
	    "  (extract(epoch FROM time) * 1000000)::bigint AS time_us"
	    "  FROM %1$s.messages m WHERE m.stream_name = s.stream_name"
	    "  ORDER BY position DESC LIMIT 1) l"
	    " ORDER BY s.stream_name",
	[PGQ_STREAMS_C] =
	    "SELECT s.stream_name, l.position, l.time_us FROM"
	    " (SELECT DISTINCT stream_name COLLATE \"C\" AS stream_name"
	    "  FROM %1$s.messages"
	    "  WHERE stream_name COLLATE \"C\" >= $1"
	    "  AND stream_name COLLATE \"C\" < $1 || chr(1114111)"
	    "  AND starts_with(stream_name, $1)"
	    "  AND stream_name COLLATE \"C\" > $2"
	    "  ORDER BY 1" LIMIT_ARG(3) ") s"
	    " CROSS JOIN LATERAL (SELECT position,"
	    "  (extract(epoch FROM time) * 1000000)::bigint AS time_us"
	    "  FROM %1$s.messages m"
	    "  WHERE m.stream_name = s.stream_name COLLATE \"default\""
	    "  ORDER BY position DESC LIMIT 1) l"
	    " ORDER BY s.stream_name",
	[PGQ_CATEGORIES] =
	    "SELECT %1$s.category(stream_name) COLLATE \"C\", count(*),"
	    " count(DISTINCT stream_name) FROM %1$s.messages GROUP BY 1 ORDER BY 1",
	/* max(global_position), never the sequence: see pg_internal.h. */
	[PGQ_HEAD] = "SELECT coalesce(max(global_position), 0) FROM %1$s.messages",
	[PGQ_POKE_STREAM] =
	    "SELECT " POKE_COLS " FROM %1$s.messages WHERE stream_name = $1"
	    " AND position >= $2 AND global_position > $3"
	    " AND global_position <= $4 ORDER BY position" LIMIT_ARG(5),
	[PGQ_POKE_CATEGORY] =
	    "SELECT " POKE_COLS " FROM %1$s.messages"
	    " WHERE %1$s.category(stream_name) = $1 AND $2::bigint IS NOT NULL"
	    " AND global_position > $3 AND global_position <= $4"
	    " ORDER BY global_position" LIMIT_ARG(5),
	[PGQ_POKE_ALL] =
	    "SELECT " POKE_COLS " FROM %1$s.messages WHERE $1::text IS NOT NULL"
	    " AND $2::bigint IS NOT NULL AND global_position > $3"
	    " AND global_position <= $4 ORDER BY global_position" LIMIT_ARG(5),
	[PGQ_POKE_TAIL] =
	    "SELECT " POKE_COLS " FROM %1$s.messages WHERE global_position > $1"
	    " ORDER BY global_position" LIMIT_ARG(2),
	/* evdb's extensions: by messages_stream, types a filter. */
	[PGQ_STREAM_TYPES] =
	    "SELECT " MSG_COLS " FROM %1$s.messages WHERE stream_name = $1"
	    " AND position >= $2 AND ($4::text[] IS NULL OR type = ANY($4::text[]))"
	    " ORDER BY position" LIMIT_ARG(3),
	[PGQ_STREAM_GLOBAL_TYPES] =
	    "SELECT " MSG_COLS " FROM %1$s.messages WHERE stream_name = $1"
	    " AND global_position >= $2"
	    " AND ($4::text[] IS NULL OR type = ANY($4::text[]))"
	    " ORDER BY position" LIMIT_ARG(3),
	[PGQ_STREAM_BACK] =
	    "SELECT " MSG_COLS " FROM %1$s.messages WHERE stream_name = $1"
	    " AND position <= $2 AND ($4::text[] IS NULL OR type = ANY($4::text[]))"
	    " ORDER BY position DESC" LIMIT_ARG(3),
	[PGQ_STREAM_GLOBAL_BACK] =
	    "SELECT " MSG_COLS " FROM %1$s.messages WHERE stream_name = $1"
	    " AND global_position <= $2"
	    " AND ($4::text[] IS NULL OR type = ANY($4::text[]))"
	    " ORDER BY position DESC" LIMIT_ARG(3),
	/* The whole namespace by primary key, types a filter. */
	[PGQ_ALL_TYPES] =
	    "SELECT " MSG_COLS " FROM %1$s.messages"
	    " WHERE $1::text IS NOT NULL AND global_position >= $2"
	    " AND ($4::text IS NULL"
	    "  OR %1$s.category(metadata->>'correlationStreamName') = $4)"
	    " AND type = ANY($5::text[])"
	    " ORDER BY global_position LIMIT $3",
	/*
	 * One category by evdb's index evdb_messages_category_type
	 * (category(stream_name), type, global_position): for each type, its
	 * first $3 messages from $2 in global order (an index range, never a
	 * scan of the category), then the $3 lowest of those.
	 */
	[PGQ_CATEGORY_TYPES] =
	    "SELECT x.* FROM unnest($5::text[]) AS w(want) CROSS JOIN LATERAL"
	    " (SELECT " MSG_COLS " FROM %1$s.messages"
	    "  WHERE %1$s.category(stream_name) = $1 AND type = w.want"
	    "  AND global_position >= $2"
	    "  AND ($4::text IS NULL"
	    "   OR %1$s.category(metadata->>'correlationStreamName') = $4)"
	    "  ORDER BY global_position LIMIT $3) x"
	    " ORDER BY x.global_position LIMIT $3",
	/*
	 * A consumer group's member in one category: the inner query scans
	 * PG_GROUP_INDEX index-only, testing Message DB's
	 * MOD(@hash_64(cardinal_id(stream_name)), size) = member on each
	 * entry (abs() of the remainder, which keeps the dividend's sign,
	 * is |hash| mod size, also for the lowest bigint), and stops at the
	 * member's $3rd row; only those rows are fetched.
	 */
	[PGQ_CATEGORY_GROUP] =
	    "SELECT " MSG_COLS " FROM %1$s.messages WHERE global_position IN"
	    " (SELECT global_position FROM %1$s.messages"
	    "  WHERE %1$s.category(stream_name) = $1 AND global_position >= $2"
	    "  AND abs(mod(%1$s.evdb_cardinal_hash(stream_name), $4::bigint))"
	    "  = $5::bigint ORDER BY global_position LIMIT $3)"
	    " ORDER BY global_position",
};

static enum evdb_status pg_read_stream_ext(struct store_conn *base,
    const char *ns, const struct store_stream_query *q, store_message_fn fn,
    void *ctx);

/*
 * Appends types[0..n) to out as a text[] literal, {"T1","T2"}: each name
 * quoted, with '"' and '\' escaped, so that any name is one element.
 */
static void
read_types_literal(struct buf *out, const struct store_type *types, size_t n)
{
	size_t i, j;

	buf_putc(out, '{');
	for (i = 0; i < n; i++) {
		buf_puts(out, i > 0 ? ",\"" : "\"");
		for (j = 0; j < types[i].len; j++) {
			if (types[i].name[j] == '"' || types[i].name[j] == '\\')
				buf_putc(out, '\\');
			buf_putc(out, types[i].name[j]);
		}
		buf_putc(out, '"');
	}
	buf_putc(out, '}');
}

/* Formats v into t (at least 24 bytes) and returns t. */
static const char *
read_num(char *t, int64_t v)
{
	snprintf(t, 24, "%lld", (long long)v);
	return t;
}

/*
 * Runs statement tmpl ("%1$s" the schema), which tag and q name among
 * the connection's prepared statements of ns.  *res is NULL, with
 * EVDB_OK, when a parameter holds a NUL byte: then nothing matches, and
 * libpq's accessors treat a NULL result as one of no rows.
 */
static enum evdb_status
read_query_named(struct pg_conn *c, const char *ns, const char *what,
    const char *tag, int q, const char *tmpl, int n, const char *const *vals,
    const int *lens, PGresult **res)
{
	struct pg_ns *e;
	enum evdb_status rs;

	*res = NULL;
	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	/* No text value in PostgreSQL holds a NUL: such a name matches nothing. */
	if (pg_params_have_nul(n, vals, lens))
		return EVDB_OK;
	/* Prepared once per connection and namespace: parsed and planned once. */
	return pg_query_ns(c, e, what, tag, q, tmpl, n, vals, lens, res);
}

/* Runs read statement q on ns (pg_read_sql[q]); see read_query_named. */
static enum evdb_status
read_query(struct pg_conn *c, const char *ns, const char *what,
    enum pg_read_query q, int n, const char *const *vals, const int *lens,
    PGresult **res)
{
	return read_query_named(c, ns, what, "r", (int)q, pg_read_sql[q], n,
	    vals, lens, res);
}

void
pg_read_group_sql(struct buf *out, int n, int m)
{
	/* The member's test, with literals, is its index's predicate. */
	buf_puts(out, "SELECT " MSG_COLS " FROM %1$s.messages"
	    " WHERE %1$s.category(stream_name) = $1 AND global_position >= $2"
	    " AND ");
	buf_printf(out, PG_MEMBER_TEST, "%1$s", n, m);
	buf_puts(out, " ORDER BY global_position" LIMIT_ARG(3));
}

/*
 * Removes, in place, the blanks jsonb's text output puts after ':' and ','
 * (outside strings), so that data reads back as compact as it was written;
 * returns the new length.  jsonb keeps neither key order nor duplicates:
 * that difference stays (docs/storage.md).
 */
static size_t
read_json_compact(char *s, size_t len)
{
	size_t i, o = 0;
	bool in_str = false;

	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (in_str) {
			s[o++] = ch;
			if (ch == '\\' && i + 1 < len)
				s[o++] = s[++i];
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == ' ' && o > 0 && (s[o - 1] == ':' || s[o - 1] == ','))
			continue;
		if (ch == '"')
			in_str = true;
		s[o++] = ch;
	}
	if (o < len)
		s[o] = '\0';
	return o;
}

/* Fills m from row i of a MSG_COLS result (compacting its JSON in place). */
static void
read_row(const PGresult *res, int i, struct store_message *m)
{
	m->id = PQgetvalue(res, i, 0);
	m->id_len = (size_t)PQgetlength(res, i, 0);
	m->stream = PQgetvalue(res, i, 1);
	m->stream_len = (size_t)PQgetlength(res, i, 1);
	m->type = PQgetvalue(res, i, 2);
	m->type_len = (size_t)PQgetlength(res, i, 2);
	m->position = pg_value_int64(res, i, 3);
	m->global_position = pg_value_int64(res, i, 4);
	m->data = NULL;
	m->data_len = 0;
	if (!PQgetisnull(res, i, 5)) {
		/* libpq's value buffers are the caller's to change in place. */
		m->data = PQgetvalue(res, i, 5);
		m->data_len = read_json_compact(PQgetvalue(res, i, 5),
		    (size_t)PQgetlength(res, i, 5));
	}
	m->metadata = NULL;
	m->metadata_len = 0;
	if (!PQgetisnull(res, i, 6)) {
		m->metadata = PQgetvalue(res, i, 6);
		m->metadata_len = read_json_compact(PQgetvalue(res, i, 6),
		    (size_t)PQgetlength(res, i, 6));
	}
	m->time_us = pg_value_int64(res, i, 7);
}

static enum evdb_status
read_rows(const PGresult *res, store_message_fn fn, void *ctx)
{
	struct store_message m;
	enum evdb_status rs = EVDB_OK;
	int i;

	for (i = 0; i < PQntuples(res) && rs == EVDB_OK; i++) {
		read_row(res, i, &m);
		rs = fn(ctx, &m);
	}
	return rs;
}

enum evdb_status
pg_read_stream(struct store_conn *base, const char *ns,
    const struct store_stream_query *q, store_message_fn fn, void *ctx)
{
	const char *vals[3];
	int lens[3] = { (int)q->stream_len, 0, 0 };
	char from[24], limit[24];
	enum evdb_status rs;
	PGresult *res;

	if (q->backward || q->ntypes > 0)
		return pg_read_stream_ext(base, ns, q, fn, ctx);
	vals[0] = q->stream;
	vals[1] = read_num(from, q->by_global ? q->global_position : q->position);
	vals[2] = read_num(limit, q->limit);
	lens[1] = (int)strlen(vals[1]);
	lens[2] = (int)strlen(vals[2]);
	rs = read_query(pg_conn_of(base), ns, "read stream",
	    q->by_global ? PGQ_STREAM_GLOBAL : PGQ_STREAM, 3, vals,
	    lens, &res);
	if (rs != EVDB_OK)
		return rs;
	rs = read_rows(res, fn, ctx);
	PQclear(res);
	return rs;
}

/* A stream read with evdb's extensions: backward, types (EXTENSIONS.md section 4). */
static enum evdb_status
pg_read_stream_ext(struct store_conn *base, const char *ns,
    const struct store_stream_query *q, store_message_fn fn, void *ctx)
{
	static const enum pg_read_query which[2][2] = {
		{ PGQ_STREAM_TYPES, PGQ_STREAM_GLOBAL_TYPES },
		{ PGQ_STREAM_BACK, PGQ_STREAM_GLOBAL_BACK },
	};
	const char *vals[4];
	int lens[4] = { (int)q->stream_len, 0, 0, 0 };
	char from[24], limit[24];
	enum evdb_status rs;
	PGresult *res;
	struct buf types;

	buf_init(&types);
	vals[0] = q->stream;
	vals[1] = read_num(from, q->by_global ? q->global_position : q->position);
	vals[2] = read_num(limit, q->limit);
	lens[1] = (int)strlen(vals[1]);
	lens[2] = (int)strlen(vals[2]);
	vals[3] = NULL;
	if (q->ntypes > 0) {
		read_types_literal(&types, q->types, q->ntypes);
		vals[3] = buf_cstr(&types);
		lens[3] = (int)types.len;
	}
	rs = read_query(pg_conn_of(base), ns, "read stream",
	    which[q->backward][q->by_global], 4, vals, lens, &res);
	if (rs == EVDB_OK)
		rs = read_rows(res, fn, ctx);
	PQclear(res);
	buf_free(&types);
	return rs;
}

enum evdb_status
pg_read_last(struct store_conn *base, const char *ns, const char *stream,
    size_t stream_len, const char *type, size_t type_len, store_message_fn fn,
    void *ctx)
{
	const char *vals[2] = { stream, type };
	int lens[2] = { (int)stream_len, (int)type_len };
	enum evdb_status rs;
	PGresult *res;

	rs = read_query(pg_conn_of(base), ns, "read last",
	    type != NULL ? PGQ_LAST_TYPE : PGQ_LAST,
	    type != NULL ? 2 : 1, vals, lens, &res);
	if (rs != EVDB_OK)
		return rs;
	rs = read_rows(res, fn, ctx);
	PQclear(res);
	return rs;
}

enum evdb_status
pg_stream_version(struct store_conn *base, const char *ns, const char *stream,
    size_t stream_len, int64_t *version)
{
	int len = (int)stream_len;
	enum evdb_status rs;
	PGresult *res;

	*version = -1;
	if ((rs = read_query(pg_conn_of(base), ns, "stream version",
	    PGQ_VERSION, 1, &stream, &len, &res)) != EVDB_OK)
		return rs;
	*version = res != NULL ? pg_value_int64(res, 0, 0) : -1;
	PQclear(res);
	return EVDB_OK;
}

/* Whether the row's stream belongs to the query's consumer-group member. */
static bool
read_in_group(const PGresult *res, int i, const struct store_category_query *q)
{
	const char *card;
	size_t card_len;

	if (q->group_size <= 0)
		return true;
	if (!streamname_cardinal_id(PQgetvalue(res, i, 1),
	    (size_t)PQgetlength(res, i, 1), &card, &card_len))
		return false;
	return streamname_member_of_hash(streamname_hash64(card, card_len),
	    q->group_size) == q->group_member;
}

enum evdb_status
pg_read_category(struct store_conn *base, const char *ns,
    const struct store_category_query *q, store_message_fn fn, void *ctx)
{
	static const enum pg_read_query which[2][2] = {
		{ PGQ_ALL, PGQ_ALL_CORR },
		{ PGQ_CATEGORY, PGQ_CATEGORY_CORR },
	};
	struct pg_conn *c = pg_conn_of(base);
	struct store_message m;
	enum evdb_status rs = EVDB_OK;
	const char *vals[5];
	int lens[5];
	char from[24], chunk[24], size[24], member[24];
	int64_t next = q->global_position, taken = 0, want;
	PGresult *res;
	int i, rows;
	bool all = q->category_len == 0, corr = q->correlation != NULL;
	/* Correlation, types and the whole namespace filter here, in C. */
	bool on_index = q->group_size > 0 && !all && !corr && q->ntypes == 0;
	/* ... and on its own index, when its group size is declared. */
	int slot = on_index ? store_group_slot(c->st->group_sizes,
	    c->st->group_count, q->group_size, q->group_member) : -1;
	struct buf types, member_sql;

	vals[0] = all ? "" : q->category;
	lens[0] = all ? 0 : (int)q->category_len;
	vals[3] = q->correlation;
	lens[3] = (int)q->correlation_len;
	/* evdb's type filter: its own statements, taking $5 (see pg_read_sql). */
	buf_init(&types);
	buf_init(&member_sql);
	if (slot >= 0) {
		pg_read_group_sql(&member_sql, (int)q->group_size,
		    (int)q->group_member);
		atomic_fetch_add_explicit(&c->st->group_index_reads, 1,
		    memory_order_relaxed);
	}
	if (q->ntypes > 0) {
		read_types_literal(&types, q->types, q->ntypes);
		vals[4] = buf_cstr(&types);
		lens[4] = (int)types.len;
	}
	/* A member of a group in one category: the group tested in SQL. */
	if (on_index) {
		vals[3] = read_num(size, q->group_size);
		vals[4] = read_num(member, q->group_member);
		lens[3] = (int)strlen(vals[3]);
		lens[4] = (int)strlen(vals[4]);
	}
	for (;;) {
		want = PG_READ_CHUNK;
		if ((q->group_size <= 0 || on_index) && q->limit >= 0 &&
		    q->limit - taken < want)
			want = q->limit - taken;
		if (want <= 0)
			break;
		vals[1] = read_num(from, next);
		vals[2] = read_num(chunk, want);
		lens[1] = (int)strlen(vals[1]);
		lens[2] = (int)strlen(vals[2]);
		if (q->ntypes > 0)
			rs = read_query(c, ns, "read category", all ? PGQ_ALL_TYPES
			    : PGQ_CATEGORY_TYPES, 5, vals, lens, &res);
		else if (slot >= 0)
			rs = read_query_named(c, ns, "read category", "g", slot,
			    buf_cstr(&member_sql), 3, vals, lens, &res);
		else if (on_index)
			rs = read_query(c, ns, "read category",
			    PGQ_CATEGORY_GROUP, 5, vals, lens, &res);
		else
			rs = read_query(c, ns, "read category",
			    which[!all][corr],
			    corr ? 4 : 3, vals, lens, &res);
		if (rs != EVDB_OK)
			break;
		rows = PQntuples(res);
		for (i = 0; i < rows && rs == EVDB_OK; i++) {
			next = pg_value_int64(res, i, 4) + 1;
			if (!on_index && !read_in_group(res, i, q))
				continue;
			read_row(res, i, &m);
			rs = fn(ctx, &m);
			if (++taken == q->limit)
				break;
		}
		PQclear(res);
		if (rs != EVDB_OK || rows < want || taken == q->limit)
			break;
	}
	buf_free(&types);
	buf_free(&member_sql);
	return rs;
}

enum evdb_status
pg_ns_streams(struct store_conn *base, const char *ns, const char *prefix,
    size_t prefix_len, const char *cursor, size_t cursor_len, int64_t limit,
    store_stream_fn fn, void *ctx)
{
	struct store_stream_info info;
	const char *vals[3];
	int lens[3], i;
	char lim[24];
	enum evdb_status rs;
	PGresult *res;

	vals[0] = prefix_len > 0 ? prefix : "";
	lens[0] = (int)prefix_len;
	vals[1] = cursor_len > 0 ? cursor : "";
	lens[1] = (int)cursor_len;
	vals[2] = read_num(lim, limit);
	lens[2] = (int)strlen(vals[2]);
	rs = read_query(pg_conn_of(base), ns, "list streams",
	    pg_conn_of(base)->st->bytewise ? PGQ_STREAMS :
	    PGQ_STREAMS_C, 3, vals, lens, &res);
	if (rs != EVDB_OK)
		return rs;
	for (i = 0; i < PQntuples(res) && rs == EVDB_OK; i++) {
		info.name = PQgetvalue(res, i, 0);
		info.name_len = (size_t)PQgetlength(res, i, 0);
		info.version = pg_value_int64(res, i, 1);
		info.last_activity_us = pg_value_int64(res, i, 2);
		rs = fn(ctx, &info);
	}
	PQclear(res);
	return rs;
}

enum evdb_status
pg_ns_categories(struct store_conn *base, const char *ns, store_category_fn fn,
    void *ctx)
{
	struct store_category_info info;
	enum evdb_status rs;
	PGresult *res;
	int i;

	rs = read_query(pg_conn_of(base), ns, "list categories",
	    PGQ_CATEGORIES, 0, NULL, NULL, &res);
	if (rs != EVDB_OK)
		return rs;
	for (i = 0; i < PQntuples(res) && rs == EVDB_OK; i++) {
		info.name = PQgetvalue(res, i, 0);
		info.name_len = (size_t)PQgetlength(res, i, 0);
		info.message_count = pg_value_int64(res, i, 1);
		info.stream_count = pg_value_int64(res, i, 2);
		rs = fn(ctx, &info);
	}
	PQclear(res);
	return rs;
}

enum evdb_status
pg_head(struct store_conn *base, const char *ns, int64_t *gpos)
{
	enum evdb_status rs;
	PGresult *res;

	*gpos = 0;
	/* max(global_position), never the sequence: see pg_internal.h. */
	if ((rs = read_query(pg_conn_of(base), ns, "read head",
	    PGQ_HEAD, 0, NULL, NULL, &res)) != EVDB_OK)
		return rs;
	*gpos = pg_value_int64(res, 0, 0);
	PQclear(res);
	return EVDB_OK;
}

static enum evdb_status
poke_rows(const PGresult *res, store_poke_fn fn, void *ctx)
{
	struct store_poke p;
	enum evdb_status rs = EVDB_OK;
	const char *card;
	size_t card_len;
	int i;

	for (i = 0; i < PQntuples(res) && rs == EVDB_OK; i++) {
		p.stream = PQgetvalue(res, i, 0);
		p.stream_len = (size_t)PQgetlength(res, i, 0);
		p.position = pg_value_int64(res, i, 1);
		p.global_position = pg_value_int64(res, i, 2);
		p.has_cardinal_hash = streamname_cardinal_id(p.stream, p.stream_len,
		    &card, &card_len);
		p.cardinal_hash = p.has_cardinal_hash ?
		    streamname_hash64(card, card_len) : 0;
		rs = fn(ctx, &p);
	}
	return rs;
}

enum evdb_status
pg_poke_range(struct store_conn *base, const char *ns,
    const struct store_poke_query *q, store_poke_fn fn, void *ctx)
{
	static const enum pg_read_query which[] = {
		[STORE_POKE_STREAM] = PGQ_POKE_STREAM,
		[STORE_POKE_CATEGORY] = PGQ_POKE_CATEGORY,
		[STORE_POKE_ALL] = PGQ_POKE_ALL,
	};
	const char *vals[5];
	int lens[5], i;
	char t[4][24];
	enum evdb_status rs;
	PGresult *res;

	vals[0] = q->kind == STORE_POKE_ALL ? "" : q->name;
	lens[0] = q->kind == STORE_POKE_ALL ? 0 : (int)q->name_len;
	vals[1] = read_num(t[0], q->min_position);
	vals[2] = read_num(t[1], q->after_gpos);
	vals[3] = read_num(t[2], q->upto_gpos);
	vals[4] = read_num(t[3], q->limit);
	for (i = 1; i < 5; i++)
		lens[i] = (int)strlen(vals[i]);
	if ((rs = read_query(pg_conn_of(base), ns, "read pokes",
	    which[q->kind], 5,
	    vals, lens, &res)) != EVDB_OK)
		return rs;
	rs = poke_rows(res, fn, ctx);
	PQclear(res);
	return rs;
}

enum evdb_status
pg_poke_tail(struct store_conn *base, const char *ns, int64_t after_gpos,
    int64_t limit, store_poke_fn fn, void *ctx)
{
	const char *vals[2];
	char t[2][24];
	enum evdb_status rs;
	PGresult *res;

	vals[0] = read_num(t[0], after_gpos);
	vals[1] = read_num(t[1], limit);
	if ((rs = read_query(pg_conn_of(base), ns, "read poke tail",
	    PGQ_POKE_TAIL, 2, vals, NULL, &res)) != EVDB_OK)
		return rs;
	rs = poke_rows(res, fn, ctx);
	PQclear(res);
	return rs;
}

/* ---- import ---------------------------------------------------------- */

static void
import_rollback(struct pg_conn *c)
{
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK &&
	    PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(PQexec(c->pg, "ROLLBACK"));
}

/* BEGIN and the namespace lock, as every writer of ns takes it. */
static enum evdb_status
import_begin(struct pg_conn *c, const struct pg_ns *e)
{
	enum evdb_status rs;
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, %lld)",
	    PG_LOCK_KEY1, (long long)e->id);
	if ((rs = pg_exec(c, "begin", "BEGIN", 0, NULL, NULL)) != EVDB_OK)
		return rs;
	if ((rs = pg_exec(c, "namespace lock", sql, 0, NULL, NULL)) != EVDB_OK)
		import_rollback(c);
	return rs;
}

enum evdb_status
pg_import_clear(struct store_conn *base, const char *ns)
{
	struct pg_conn *c = pg_conn_of(base);
	struct pg_ns *e;
	enum evdb_status rs;
	struct buf sql;

	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	if ((rs = import_begin(c, e)) != EVDB_OK)
		return rs;
	buf_init(&sql);
	/* The lifecycle state goes too: positions start again (pg_lifecycle.c). */
	buf_printf(&sql, "TRUNCATE %1$s.messages, %1$s.evdb_checkpoints,"
	    " %1$s.evdb_stream_state RESTART IDENTITY", e->schema);
	if ((rs = pg_exec(c, "clear namespace", buf_cstr(&sql), 0, NULL, NULL)) ==
	    EVDB_OK)
		rs = pg_exec(c, "commit", "COMMIT", 0, NULL, NULL);
	if (rs != EVDB_OK)
		import_rollback(c);
	buf_free(&sql);
	return rs;
}

/*
 * One import record, checked and inserted by one statement: $1 global
 * position, $2 position, $3 time (us), $4 stream, $5 type, $6 data, $7
 * metadata, $8 id.  The verdict follows store.h's rules in order: a record
 * identical to the message at its global position (data and metadata as
 * jsonb values) is skipped; then it must lie above the head, continue its
 * stream and carry a free id.  Answers (verdict, head, stream version).
 * The time is exact: microseconds added to the epoch, never a double.
 */
#define IMPORT_SQL \
	"WITH at AS (SELECT id = $8::uuid AND stream_name = $4 AND type = $5" \
	"  AND position = $2::bigint AND data IS NOT DISTINCT FROM $6::jsonb" \
	"  AND metadata IS NOT DISTINCT FROM $7::jsonb" \
	"  AND time = timestamp '1970-01-01' + $3::bigint * interval '1 microsecond'" \
	"  AS same FROM %1$s.messages WHERE global_position = $1::bigint)," \
	" head AS (SELECT coalesce(max(global_position), 0) AS h FROM %1$s.messages)," \
	" ver AS (SELECT coalesce(max(position), -1) AS v FROM %1$s.messages" \
	"  WHERE stream_name = $4)," \
	" verdict AS (SELECT CASE" \
	"  WHEN EXISTS (SELECT 1 FROM at) THEN" \
	"   CASE WHEN (SELECT same FROM at) THEN 'skip' ELSE 'differs' END" \
	"  WHEN $1::bigint <= (SELECT h FROM head) THEN 'behind'" \
	"  WHEN $2::bigint <> (SELECT v FROM ver) + 1 THEN 'notnext'" \
	"  WHEN EXISTS (SELECT 1 FROM %1$s.messages WHERE id = $8::uuid)" \
	"   THEN 'idtaken'" \
	"  ELSE 'insert' END AS k)," \
	" ins AS (INSERT INTO %1$s.messages(global_position, position, time," \
	"  stream_name, type, data, metadata, id)" \
	"  SELECT $1::bigint, $2::bigint," \
	"  timestamp '1970-01-01' + $3::bigint * interval '1 microsecond'," \
	"  $4, $5, $6::jsonb, $7::jsonb, $8::uuid FROM verdict WHERE k = 'insert'" \
	"  RETURNING 1)" \
	" SELECT k, (SELECT h FROM head), (SELECT v FROM ver)," \
	"  (SELECT count(*) FROM ins) FROM verdict"

static const struct {
	const char *verdict;			/* IMPORT_SQL's answer */
	enum store_import_refusal refusal;	/* what it means */
	enum evdb_status status;		/* and the call's status */
} import_verdicts[] = {
	{ "differs", STORE_IMPORT_DIFFERS, EVDB_ERR_EXISTS },
	{ "behind", STORE_IMPORT_BEHIND_HEAD, EVDB_ERR_INVALID },
	{ "notnext", STORE_IMPORT_NOT_NEXT, EVDB_ERR_INVALID },
	{ "idtaken", STORE_IMPORT_ID_TAKEN, EVDB_ERR_EXISTS },
};

/* Applies one record; EVDB_OK with out->refusal set means refused. */
static enum evdb_status
import_one(struct pg_conn *c, const char *sql, const struct store_import_record *m,
    struct store_import_outcome *out)
{
	const char *vals[8];
	int lens[8];
	char t[3][24];
	enum evdb_status rs;
	PGresult *res;
	const char *k;
	size_t i;

	if (m->position < 0 || m->position > STORE_POSITION_MAX ||
	    m->global_position < 1 || m->global_position > STORE_POSITION_MAX) {
		out->refusal = STORE_IMPORT_TOO_HIGH;
		return EVDB_OK;
	}
	vals[0] = read_num(t[0], m->global_position);
	vals[1] = read_num(t[1], m->position);
	vals[2] = read_num(t[2], m->time_us);
	vals[3] = m->stream;
	vals[4] = m->type;
	vals[5] = m->data;
	vals[6] = m->metadata;
	vals[7] = m->id;
	for (i = 0; i < 3; i++)
		lens[i] = (int)strlen(vals[i]);
	lens[3] = (int)m->stream_len;
	lens[4] = (int)m->type_len;
	lens[5] = (int)m->data_len;
	lens[6] = (int)m->metadata_len;
	lens[7] = (int)m->id_len;
	if (pg_params_have_nul(8, vals, lens)) {
		snprintf(c->errmsg, sizeof(c->errmsg), "import: a NUL byte");
		return EVDB_ERR_INVALID;
	}
	if ((rs = pg_query(c, "import", sql, 8, vals, lens, &res)) != EVDB_OK)
		return rs;
	k = PQgetvalue(res, 0, 0);
	if (strcmp(k, "insert") == 0)
		out->inserted++;
	else if (strcmp(k, "skip") == 0)
		out->skipped++;
	else
		for (i = 0; i < sizeof(import_verdicts) / sizeof(import_verdicts[0]); i++)
			if (strcmp(k, import_verdicts[i].verdict) == 0) {
				out->refusal = import_verdicts[i].refusal;
				out->head = pg_value_int64(res, 0, 1);
				out->version = pg_value_int64(res, 0, 2);
			}
	PQclear(res);
	return EVDB_OK;
}

enum evdb_status
pg_import_batch(struct store_conn *base, const char *ns,
    const struct store_import_record *recs, size_t n, bool clear,
    struct store_import_outcome *out)
{
	struct pg_conn *c = pg_conn_of(base);
	struct pg_ns *e;
	enum evdb_status rs;
	struct buf ins, seq, notify, trunc;
	char channel[32];
	size_t i, j;

	memset(out, 0, sizeof(*out));
	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	for (i = 0; i < n; i++)
		if ((recs[i].data != NULL &&
		    !pg_json_acceptable(recs[i].data, recs[i].data_len)) ||
		    (recs[i].metadata != NULL &&
		    !pg_json_acceptable(recs[i].metadata, recs[i].metadata_len))) {
			snprintf(c->errmsg, sizeof(c->errmsg), "import: a value"
			    " PostgreSQL cannot store (\\u0000 or an unpaired surrogate)");
			return EVDB_ERR_INVALID;
		}
	if ((rs = import_begin(c, e)) != EVDB_OK)
		return rs;
	buf_init(&ins);
	buf_init(&seq);
	buf_init(&notify);
	buf_init(&trunc);
	pg_sql_schema(&ins, IMPORT_SQL, e->schema);
	/* Writes after the import continue above the imported positions. */
	pg_sql_schema(&seq, "SELECT setval(s, m) FROM (SELECT"
	    " pg_get_serial_sequence('%1$s.messages', 'global_position') AS s,"
	    " (SELECT max(global_position) FROM %1$s.messages) AS m) x"
	    " WHERE m > coalesce(pg_sequence_last_value(s::regclass), 0)", e->schema);
	pg_channel_name(e->id, channel, sizeof(channel));
	buf_printf(&notify, "SELECT pg_notify('%s', '')", channel);
	/* Cleared in the batch's own transaction: a refusal keeps the old data. */
	pg_sql_schema(&trunc, "TRUNCATE %1$s.messages, %1$s.evdb_checkpoints,"
	    " %1$s.evdb_stream_state"
	    " RESTART IDENTITY", e->schema);
	if (clear && (rs = pg_exec(c, "clear namespace", buf_cstr(&trunc), 0, NULL,
	    NULL)) != EVDB_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rs = import_one(c, buf_cstr(&ins), &recs[i], out)) != EVDB_OK)
			goto out;
		if (out->refusal != STORE_IMPORT_ACCEPTED) {
			out->refused = i;
			rs = EVDB_ERR_LIMIT;
			for (j = 0; j < sizeof(import_verdicts) /
			    sizeof(import_verdicts[0]); j++)
				if (import_verdicts[j].refusal == out->refusal)
					rs = import_verdicts[j].status;
			goto out;
		}
	}
	if ((rs = pg_exec(c, "import sequence", buf_cstr(&seq), 0, NULL, NULL)) !=
	    EVDB_OK ||
	    (out->inserted > 0 && (rs = pg_exec(c, "notify", buf_cstr(&notify), 0,
	    NULL, NULL)) != EVDB_OK))
		goto out;
	rs = pg_exec(c, "commit", "COMMIT", 0, NULL, NULL);
out:
	if (rs != EVDB_OK) {
		import_rollback(c);
		out->inserted = out->skipped = 0;
	}
	buf_free(&ins);
	buf_free(&seq);
	buf_free(&notify);
	buf_free(&trunc);
	return rs;
}

enum evdb_status
pg_import_finish(struct store_conn *base, const char *ns)
{
	struct pg_ns *e;

	/* Totals are counted when asked for: nothing to recompute. */
	return pg_ns_lookup(pg_conn_of(base), ns, &e);
}
