/*
 * pg_write.c - writing messages on PostgreSQL, with in-process group
 * commit through libpq's pipeline mode.
 *
 * Every namespace has one pg_queue shared by the process's threads.  A
 * writer appends its item; if no thread is committing for the namespace,
 * it leads: it takes the queued items (up to PG_BATCH_MAX) and sends, on
 * its own connection and without waiting between them,
 *
 *	BEGIN
 *	SELECT pg_advisory_xact_lock(PG_LOCK_KEY1, ns id)   the namespace lock
 *	SELECT ... pg_advisory_xact_lock(hash_64(category)) each category, for
 *	                                                    Message DB writers
 *	one statement per item                              see ITEM_SQL
 *	SELECT pg_notify(channel, '')                       wakes every watch
 *	COMMIT
 *	Sync
 *
 * so that the whole batch costs one round trip and one commit.  Each item's
 * statement checks the id (idempotency), then expectedVersion, and inserts
 * only when both pass; it answers with a row saying which happened, so a
 * conflict is a result, never an error that would abort the pipeline.
 * What the server would refuse as an error (a \u0000 in jsonb, an id that
 * is no uuid) is refused in C before the batch.  If the batch fails all the
 * same (a unique violation raced in by a writer that takes no lock), every
 * item is run again alone, so that one bad item never fails the others.
 *
 * The namespace lock is taken before any nextval and held to commit, so
 * global positions of the namespace commit in increasing order (see
 * pg_internal.h); the category locks make positions gapless and
 * expectedVersion race-free against Message DB's write_message even when
 * its acquire_lock was not replaced.  Lock order is always namespace, then
 * categories, so the two kinds of writers cannot deadlock.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres/pg_internal.h"
#include "core/buf.h"
#include "core/streamname.h"
#include "core/xalloc.h"

#define PG_BATCH_MAX 256			/* items per transaction */
#define PG_BATCH_BYTES (8u * 1024 * 1024)	/* payload bytes per transaction */
#define PG_BATCH_RETRIES 3			/* after a deadlock or serialization failure */

struct pg_item {
	struct pg_item *next;			/* queue order */
	const struct store_message_in *in;	/* the caller's message (borrowed) */
	struct store_write_result *res;		/* the caller's result */
	char id[UUID_STR_LEN + 8];		/* the id written (given or generated) */
	int64_t category_hash;			/* hash_64 of the stream's category */
	enum evdb_status status;		/* outcome, valid once done */
	bool done;				/* set by the leader under the queue lock */
	pthread_cond_t cv;			/* its writer sleeps on it */
	char errmsg[512];			/* failure text, for the caller */
};

struct pg_queue {
	struct pg_queue *next;		/* the store's list */
	int64_t ns_id;			/* namespace (registry id) it serialises */
	pthread_mutex_t mu;		/* guards everything below */
	struct pg_item *head;		/* pending items, oldest first */
	struct pg_item **tailp;		/* where the next item is linked */
	bool leader_active;		/* a thread is running a batch */
};

/*
 * One item: $1 id, $2 stream, $3 type, $4 data, $5 metadata, $6 expected
 * version (NULL: any).  Answers one row: kind 'w' (written: position,
 * global position), 'd' (an idempotent retry: same stream, type, data and
 * metadata; its positions), 'i' (the id is taken by another message:
 * column 5 names the first field that differs), 'v' (version conflict:
 * the stream's version as expectedVersion sees it: -1 once soft-deleted),
 * 'g' (the stream is tombstoned: pg_lifecycle.c) or 'l' (the stream or
 * the namespace is at
 * STORE_POSITION_MAX, 2^62 - 1, written out in the SQL).  data and metadata compare as jsonb values: the
 * text as written is not kept.  %1$s is the schema.
 */
#define ITEM_SQL \
	"WITH dup AS (SELECT stream_name, position, global_position," \
	"  CASE WHEN stream_name <> $2 THEN 'stream' WHEN type <> $3 THEN 'type'" \
	"  WHEN data IS DISTINCT FROM $4::jsonb THEN 'data'" \
	"  WHEN metadata IS DISTINCT FROM $5::jsonb THEN 'metadata' END AS differs" \
	"  FROM %1$s.messages WHERE id = $1::uuid)," \
	" st AS (SELECT floor, soft_at, hard FROM %1$s.evdb_stream_state" \
	"  WHERE stream_name = $2)," \
	" ver0 AS (SELECT greatest(coalesce(max(position), -1)," \
	"  coalesce((SELECT floor FROM st), -1)) AS v," \
	"  (SELECT soft_at FROM st) AS soft_at," \
	"  coalesce((SELECT hard FROM st), false) AS gone" \
	"  FROM %1$s.messages WHERE stream_name = $2)," \
	" ver AS (SELECT v, gone, CASE WHEN gone OR v <= soft_at THEN -1" \
	"  ELSE v END AS vis FROM ver0)," \
	" hd AS (SELECT coalesce(max(global_position), 0) AS h FROM %1$s.messages)," \
	" ins AS (INSERT INTO %1$s.messages" \
	"  (id, stream_name, position, type, data, metadata, time)" \
	"  SELECT $1::uuid, $2, ver.v + 1, $3, $4::jsonb, $5::jsonb," \
	"  clock_timestamp() AT TIME ZONE 'utc' FROM ver" \
	"  WHERE NOT EXISTS (SELECT 1 FROM dup) AND NOT ver.gone" \
	"  AND ($6::bigint IS NULL OR $6::bigint = ver.vis)" \
	"  AND ver.v < 4611686018427387903" \
	"  AND (SELECT h FROM hd) < 4611686018427387903" \
	"  RETURNING position, global_position)" \
	" SELECT 'w', position, global_position, NULL::bigint, NULL::text FROM ins" \
	" UNION ALL SELECT CASE WHEN d.differs IS NULL THEN 'd' ELSE 'i' END," \
	"  d.position, d.global_position, NULL, d.differs FROM dup d" \
	" UNION ALL SELECT 'g', NULL, NULL, NULL, NULL FROM ver" \
	"  WHERE NOT EXISTS (SELECT 1 FROM dup) AND ver.gone" \
	" UNION ALL SELECT 'v', NULL, NULL, ver.vis, NULL FROM ver" \
	"  WHERE NOT EXISTS (SELECT 1 FROM dup) AND NOT ver.gone" \
	"  AND $6::bigint IS NOT NULL AND $6::bigint <> ver.vis" \
	" UNION ALL SELECT 'l', NULL, NULL, ver.v, NULL FROM ver" \
	"  WHERE NOT EXISTS (SELECT 1 FROM dup) AND NOT ver.gone" \
	"  AND ($6::bigint IS NULL OR $6::bigint = ver.vis)" \
	"  AND (ver.v >= 4611686018427387903" \
	"  OR (SELECT h FROM hd) >= 4611686018427387903)"

bool
pg_uuid_canonical(const char *s, size_t len)
{
	size_t i;

	if (len != UUID_STR_LEN)
		return false;
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	}
	return true;
}

/* The value of the 4 hex digits at p, or -1. */
static long
write_hex4(const char *p)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char ch = p[i];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v |= ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			v |= ch - 'A' + 10;
		else
			return -1;
	}
	return v;
}

bool
pg_json_acceptable(const char *text, size_t len)
{
	size_t i;
	long u, lo;

	for (i = 0; i < len; i++) {
		if (text[i] != '\\')
			continue;
		if (i + 1 >= len)
			return false;
		if (text[i + 1] != 'u') {
			i++;	/* skip the escaped character */
			continue;
		}
		if (i + 6 > len || (u = write_hex4(text + i + 2)) < 0)
			return false;
		if (u == 0)
			return false;
		if (u >= 0xDC00 && u <= 0xDFFF)
			return false;	/* a low surrogate alone */
		if (u >= 0xD800 && u <= 0xDBFF) {
			if (i + 12 > len || text[i + 6] != '\\' || text[i + 7] != 'u' ||
			    (lo = write_hex4(text + i + 8)) < 0xDC00 || lo > 0xDFFF)
				return false;
			i += 6;
		}
		i += 5;
	}
	return true;
}

static struct pg_queue *
write_queue(struct pg_store *st, int64_t ns_id)
{
	struct pg_queue *q;

	pthread_mutex_lock(&st->queues_mu);
	for (q = st->queues; q != NULL; q = q->next)
		if (q->ns_id == ns_id)
			goto out;
	q = xcalloc(1, sizeof(*q));
	q->ns_id = ns_id;
	pthread_mutex_init(&q->mu, NULL);
	q->tailp = &q->head;
	q->next = st->queues;
	st->queues = q;
out:
	pthread_mutex_unlock(&st->queues_mu);
	return q;
}

void
pg_queues_free(struct pg_store *st)
{
	while (st->queues != NULL) {
		struct pg_queue *q = st->queues;

		st->queues = q->next;
		pthread_mutex_destroy(&q->mu);
		free(q);
	}
}

static int
write_cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The category lock statement's parameter: "{h1,h2,...}", sorted, unique. */
static void
write_category_array(struct pg_item *batch, struct buf *out)
{
	struct pg_item *it;
	int64_t *h;
	size_t n = 0, i;

	for (it = batch; it != NULL; it = it->next)
		n++;
	h = xcalloc(n, sizeof(*h));
	for (n = 0, it = batch; it != NULL; it = it->next)
		h[n++] = it->category_hash;
	qsort(h, n, sizeof(*h), write_cmp_int64);
	buf_putc(out, '{');
	for (i = 0; i < n; i++) {
		if (i > 0 && h[i] == h[i - 1])
			continue;
		buf_printf(out, "%s%lld", out->len > 1 ? "," : "", (long long)h[i]);
	}
	buf_putc(out, '}');
	free(h);
}

/* Sends one statement of the pipeline; false when libpq refused it. */
static bool
write_send(PGconn *pg, const char *sql, int n, const char *const *vals,
    const int *lens)
{
	return PQsendQueryParams(pg, sql, n, NULL, vals, lens, NULL, 0) == 1;
}

/* Reads the item's answer row into its result; sets it->status. */
static void
write_item_result(struct pg_item *it, const PGresult *res)
{
	struct store_write_result *r = it->res;
	const char *kind;

	memset(r, 0, sizeof(*r));
	if (PQntuples(res) != 1) {
		it->status = EVDB_ERR_BACKEND;
		snprintf(it->errmsg, sizeof(it->errmsg), "write: %d answer rows",
		    PQntuples(res));
		return;
	}
	kind = PQgetvalue(res, 0, 0);
	switch (kind[0]) {
	case 'w':
	case 'd':
		r->position = pg_value_int64(res, 0, 1);
		r->global_position = pg_value_int64(res, 0, 2);
		r->duplicate = kind[0] == 'd';
		it->status = EVDB_OK;
		break;
	case 'i': {
		static const char *const fields[] = {
			"stream", "type", "data", "metadata"
		};
		const char *f = PQgetvalue(res, 0, 4);
		size_t i;

		/* r->conflict is static text (store.h). */
		r->conflict = fields[0];
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strcmp(f, fields[i]) == 0)
				r->conflict = fields[i];
		it->status = EVDB_ERR_ID_CONFLICT;
		break;
	}
	case 'l':
		it->status = EVDB_ERR_LIMIT;
		break;
	case 'g':
		it->status = EVDB_ERR_GONE;	/* a tombstoned stream */
		break;
	default:
		r->actual_version = pg_value_int64(res, 0, 3);
		it->status = EVDB_ERR_VERSION_CONFLICT;
		break;
	}
}

/*
 * Runs batch as one pipelined transaction on c.  Sets every item's status
 * and returns EVDB_OK when the transaction committed, else the failure
 * (every item then carries it, and nothing of the batch was written).
 */
static enum evdb_status
write_pipeline(struct pg_conn *c, const struct pg_ns *ns, struct pg_item *batch)
{
	struct buf item_sql, lock_sql, cats, notify_sql, params;
	struct pg_item *it, **items = NULL;
	enum evdb_status rs, first = EVDB_OK;
	char expected[24], firstmsg[512] = "";
	const char *vals[6];
	PGconn *pg;
	PGresult *res;
	size_t n = 0, q, nq;
	char channel[32], item_name[32];

	if ((rs = pg_conn_ready(c)) != EVDB_OK) {
		first = rs;
		snprintf(firstmsg, sizeof(firstmsg), "%s", c->errmsg);
		goto fail;
	}
	pg = c->pg;
	buf_init(&item_sql);
	buf_init(&lock_sql);
	buf_init(&cats);
	buf_init(&notify_sql);
	buf_init(&params);
	pg_sql_schema(&item_sql, ITEM_SQL, ns->schema);
	buf_printf(&lock_sql, "SELECT pg_advisory_xact_lock(%d, %lld)", PG_LOCK_KEY1,
	    (long long)ns->id);
	write_category_array(batch, &cats);
	pg_channel_name(ns->id, channel, sizeof(channel));
	buf_printf(&notify_sql, "SELECT pg_notify('%s', '')", channel);
	for (it = batch; it != NULL; it = it->next)
		n++;
	items = xcalloc(n, sizeof(*items));
	for (n = 0, it = batch; it != NULL; it = it->next) {
		it->status = EVDB_ERR_BACKEND;	/* until its answer row is read */
		items[n++] = it;
	}

	/* The item statement is parsed and planned once per connection. */
	snprintf(item_name, sizeof(item_name), "w_%lld", (long long)ns->id);
	if ((rs = pg_prepare(c, item_name, buf_cstr(&item_sql), 6)) != EVDB_OK) {
		first = rs;
		snprintf(firstmsg, sizeof(firstmsg), "%s", c->errmsg);
		goto done;
	}
	pg = c->pg;
	if (PQenterPipelineMode(pg) != 1) {
		first = pg_fail(c, NULL, "pipeline mode");
		goto done;
	}
	vals[0] = buf_cstr(&cats);
	if (!write_send(pg, "BEGIN", 0, NULL, NULL) ||
	    !write_send(pg, buf_cstr(&lock_sql), 0, NULL, NULL) ||
	    !write_send(pg, "SELECT count(pg_advisory_xact_lock(h))"
	    " FROM unnest($1::bigint[]) AS h", 1, vals, NULL))
		goto sendfail;
	for (q = 0; q < n; q++) {
		const struct store_message_in *m = items[q]->in;
		int lens[6] = { 0, (int)m->stream_len, (int)m->type_len,
		    (int)m->data_len, (int)m->metadata_len, 0 };
		const char *copy[6];

		vals[0] = items[q]->id;
		vals[1] = m->stream;
		vals[2] = m->type;
		vals[3] = m->data;
		vals[4] = m->metadata;
		vals[5] = NULL;
		if (m->has_expected_version) {
			snprintf(expected, sizeof(expected), "%lld",
			    (long long)m->expected_version);
			vals[5] = expected;
		}
		lens[0] = (int)strlen(vals[0]);
		lens[5] = vals[5] != NULL ? (int)strlen(vals[5]) : 0;
		/* libpq copies the parameters into its output buffer at once. */
		buf_reset(&params);
		pg_params_copy(&params, 6, vals, lens, copy);
		if (PQsendQueryPrepared(pg, item_name, 6, copy, NULL, NULL, 0) != 1)
			goto sendfail;
	}
	if (!write_send(pg, buf_cstr(&notify_sql), 0, NULL, NULL) ||
	    !write_send(pg, "COMMIT", 0, NULL, NULL) || PQpipelineSync(pg) != 1)
		goto sendfail;

	/* 3 statements before the items, 2 after. */
	nq = n + 5;
	for (q = 0; q < nq; q++) {
		while ((res = PQgetResult(pg)) != NULL) {
			ExecStatusType es = PQresultStatus(res);

			if (es == PGRES_FATAL_ERROR && first == EVDB_OK) {
				first = pg_fail(c, res, "write batch");
				snprintf(firstmsg, sizeof(firstmsg), "%s", c->errmsg);
			} else if (es == PGRES_TUPLES_OK && q >= 3 && q < n + 3 &&
			    first == EVDB_OK)
				write_item_result(items[q - 3], res);
			PQclear(res);
			if (PQstatus(pg) != CONNECTION_OK)
				break;
		}
		if (PQstatus(pg) != CONNECTION_OK)
			break;
	}
	if (PQstatus(pg) == CONNECTION_OK) {
		res = PQgetResult(pg);	/* PGRES_PIPELINE_SYNC */
		PQclear(res);
		(void)PQexitPipelineMode(pg);
		if (PQtransactionStatus(pg) != PQTRANS_IDLE)
			PQclear(PQexec(pg, "ROLLBACK"));
	} else if (first == EVDB_OK) {
		first = pg_fail(c, NULL, "write batch");
		snprintf(firstmsg, sizeof(firstmsg), "%s", c->errmsg);
	}
	goto done;
sendfail:
	first = pg_fail(c, NULL, "send write batch");
	snprintf(firstmsg, sizeof(firstmsg), "%s", c->errmsg);
	if (PQstatus(pg) == CONNECTION_OK) {
		/* Drain what was sent, then leave pipeline mode. */
		(void)PQpipelineSync(pg);
		while ((res = PQgetResult(pg)) != NULL ||
		    PQpipelineStatus(pg) != PQ_PIPELINE_OFF) {
			if (res == NULL) {
				if (PQexitPipelineMode(pg) == 1)
					break;
				continue;
			}
			if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
				PQclear(res);
				(void)PQexitPipelineMode(pg);
				break;
			}
			PQclear(res);
		}
		if (PQtransactionStatus(pg) != PQTRANS_IDLE)
			PQclear(PQexec(pg, "ROLLBACK"));
	}
done:
	free(items);
	buf_free(&item_sql);
	buf_free(&lock_sql);
	buf_free(&cats);
	buf_free(&notify_sql);
	buf_free(&params);
fail:
	if (first != EVDB_OK)
		for (it = batch; it != NULL; it = it->next) {
			it->status = first;
			memset(it->res, 0, sizeof(*it->res));
			snprintf(it->errmsg, sizeof(it->errmsg), "%s", firstmsg);
		}
	return first;
}

/* Runs a batch: retried on deadlock, split into single items on a failure. */
static void
write_batch(struct pg_conn *c, const struct pg_ns *ns, struct pg_item *batch)
{
	struct pg_item *it, *next;
	enum evdb_status rs;
	int attempt;

	for (attempt = 0;; attempt++) {
		rs = write_pipeline(c, ns, batch);
		if (rs != EVDB_ERR_BUSY || attempt >= PG_BATCH_RETRIES)
			break;
	}
	if (rs == EVDB_OK || rs == EVDB_ERR_UNAVAILABLE || batch->next == NULL)
		return;
	/* One item's failure must not fail the others: each alone. */
	for (it = batch; it != NULL; it = next) {
		next = it->next;
		it->next = NULL;
		for (attempt = 0;; attempt++) {
			rs = write_pipeline(c, ns, it);
			if (rs != EVDB_ERR_BUSY || attempt >= PG_BATCH_RETRIES)
				break;
		}
		it->next = next;
	}
}

/* Checks and completes an item before it may join a batch. */
static enum evdb_status
write_prepare(struct pg_conn *c, struct pg_item *it)
{
	const struct store_message_in *m = it->in;
	const char *id = m->id;
	size_t id_len = m->id_len;

	if (id == NULL) {
		if (uuid_v7_generate(&c->uuid, it->id) != EVDB_OK)
			return EVDB_ERR_BACKEND;
	} else {
		/* PostgreSQL's uuid takes every form but "urn:uuid:". */
		if (id_len > 9 && strncmp(id, "urn:uuid:", 9) == 0) {
			id += 9;
			id_len -= 9;
		}
		if (!uuid_is_valid(id, id_len) || id_len > UUID_STR_LEN + 2)
			goto invalid;
		memcpy(it->id, id, id_len);
		it->id[id_len] = '\0';
	}
	if (!pg_json_acceptable(m->data, m->data_len) ||
	    (m->metadata != NULL && !pg_json_acceptable(m->metadata, m->metadata_len)))
		goto invalid;
	if (memchr(m->stream, '\0', m->stream_len) != NULL ||
	    memchr(m->type, '\0', m->type_len) != NULL)
		goto invalid;
	it->category_hash = streamname_hash64(m->stream,
	    streamname_category_len(m->stream, m->stream_len));
	return EVDB_OK;
invalid:
	snprintf(c->errmsg, sizeof(c->errmsg), "write: a value PostgreSQL cannot"
	    " store (\\u0000, an unpaired surrogate, or a malformed id)");
	return EVDB_ERR_INVALID;
}

enum evdb_status
pg_write(struct store_conn *base, const char *ns,
    const struct store_message_in *m, struct store_write_result *r)
{
	struct pg_conn *c = pg_conn_of(base);
	struct pg_item item, *batch, *it, **pp;
	struct pg_queue *q;
	struct pg_ns *e;
	enum evdb_status rs;
	size_t bytes;
	int n;

	memset(r, 0, sizeof(*r));
	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	memset(&item, 0, sizeof(item));
	item.in = m;
	item.res = r;
	if ((rs = write_prepare(c, &item)) != EVDB_OK)
		return rs;
	q = write_queue(c->st, e->id);
	pthread_cond_init(&item.cv, NULL);

	pthread_mutex_lock(&q->mu);
	*q->tailp = &item;
	q->tailp = &item.next;
	while (!item.done) {
		if (q->leader_active) {
			pthread_cond_wait(&item.cv, &q->mu);
			continue;
		}
		/* Lead: take queued items, up to the count and byte limits. */
		q->leader_active = true;
		batch = q->head;
		bytes = 0;
		for (n = 0, pp = &q->head; *pp != NULL && n < PG_BATCH_MAX &&
		    (n == 0 || bytes < PG_BATCH_BYTES); n++) {
			bytes += (*pp)->in->data_len + (*pp)->in->metadata_len;
			pp = &(*pp)->next;
		}
		q->head = *pp;
		*pp = NULL;
		if (q->head == NULL)
			q->tailp = &q->head;
		pthread_mutex_unlock(&q->mu);

		write_batch(c, e, batch);

		pthread_mutex_lock(&q->mu);
		for (it = batch; it != NULL; it = it->next) {
			it->done = true;
			if (it != &item)
				pthread_cond_signal(&it->cv);
		}
		q->leader_active = false;
		if (q->head != NULL)
			pthread_cond_signal(&q->head->cv);
	}
	pthread_mutex_unlock(&q->mu);
	pthread_cond_destroy(&item.cv);
	if (item.errmsg[0] != '\0')
		snprintf(c->errmsg, sizeof(c->errmsg), "%s", item.errmsg);
	return item.status;
}
