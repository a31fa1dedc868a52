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
 * so that the whole batch costs one round trip and one commit.  When the
 * namespace lock was held by another transaction the last time (another
 * host's batch, a Message DB writer: the lock statement says whether it
 * waited), the next leader first takes the lock in a round trip of its own
 * (BEGIN and the lock, write_lock_first) and only then gathers its batch,
 * so that the writes that arrive while it waits ride in its transaction
 * instead of queueing behind it for one of their own.  Each item's
 * statement checks the id (idempotency), then expectedVersion, and inserts
 * only when both pass; it answers with a row saying which happened, so a
 * conflict is a result, never an error that would abort the pipeline.
 * What the server would refuse as an error (a \u0000 in jsonb, an id that
 * is no uuid) is refused in C before the batch.  If the batch fails all the
 * same (a unique violation raced in by a writer that takes no lock), every
 * item is run again alone, so that one bad item never fails the others.
 *
 * An item is one message (store_write) or a unit of several
 * (store_write_batch, batch.write).  A unit is one statement of the
 * pipeline like a single write (UNIT_SQL): it checks every id and every
 * expectation, and inserts all its messages or none, answering rows that
 * say which happened, so it rides in the leader's transaction and commit
 * and a unit that fails leaves nothing while the others commit.  Both
 * statements read a stream's version through one expression,
 * WRITE_VERSION_FROM, and judge expectations through WRITE_EXPECT_MET_SQL.
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
#include "core/json_out.h"
#include "core/streamname.h"
#include "core/xalloc.h"

#define PG_BATCH_MAX 256			/* messages per transaction (a unit
						 * of more goes alone) */
#define PG_BATCH_BYTES (8u * 1024 * 1024)	/* payload bytes per transaction */
#define PG_BATCH_RETRIES 3			/* after a deadlock or serialization failure */

struct pg_item {
	struct pg_item *next;			/* queue order */
	const struct store_message_in *in;	/* the caller's messages (borrowed),
						 * n of them */
	size_t n;				/* 1 for a single write */
	struct store_write_result *res;		/* the caller's results, n of them */
	struct store_batch_result *batch;	/* a unit's own result; NULL for a
						 * single write */
	char id[UUID_STR_LEN + 8];		/* single: the id written (given or
						 * generated) */
	int64_t category_hash;			/* single: hash_64 of the stream's
						 * category */
	int64_t *cats;				/* the categories to lock: the
						 * single's category_hash, or a unit's
						 * array (owned by its writer) */
	size_t ncats;				/* entries of cats */
	size_t bytes;				/* payload bytes, for PG_BATCH_BYTES */
	struct buf entries;			/* unit: UNIT_SQL's $1, JSON */
	struct buf expects;			/* unit: UNIT_SQL's $2, JSON */
	size_t n_expect;			/* unit: expectations in expects */
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
	bool contended;			/* the last batch waited for the
					 * namespace lock: the next leader takes
					 * it before it gathers (write_enqueue) */
};

/*
 * The stream named by the SQL expression stream as a write sees it, a
 * derived table of one row: v, the position the next message follows (its
 * highest position ever, kept in evdb_stream_state's floor after a delete
 * or truncation, pg_lifecycle.c; -1 for a new stream); vis, the version
 * expectations compare with (-1 when empty, soft-deleted or tombstoned);
 * gone, whether it is tombstoned (no write, ever).  Every write statement
 * uses it.  %1$s is the schema.
 */
#define WRITE_VERSION_FROM(stream) \
	"(SELECT b.v, b.gone, CASE WHEN b.gone OR b.v <= b.soft_at THEN -1" \
	"  ELSE b.v END AS vis FROM (SELECT greatest(coalesce((SELECT" \
	"  max(position) FROM %1$s.messages WHERE stream_name = " stream ")," \
	"  -1), coalesce(st.floor, -1)) AS v, st.soft_at," \
	"  coalesce(st.hard, false) AS gone FROM (SELECT 1) one" \
	"  LEFT JOIN %1$s.evdb_stream_state st ON st.stream_name = " stream \
	"  ) b)"

/*
 * Whether a stream at version v meets the expectation of kind ('a' any,
 * 'v' exactly version, 'e' exists; "noStream" is 'v' with -1).
 */
#define WRITE_EXPECT_MET_SQL(kind, version, v) \
	"(" kind " = 'a' OR (" kind " = 'v' AND " version " = " v ")" \
	" OR (" kind " = 'e' AND " v " >= 0))"

/*
 * One item: $1 id, $2 stream, $3 type, $4 data, $5 metadata, $6 expected
 * version (NULL unless $7 is 'v'), $7 the expectation's kind (see
 * WRITE_EXPECT_MET_SQL).  Answers one row: kind 'w' (written: position,
 * global position), 'd' (an idempotent retry: same stream, type, data and
 * metadata; its positions), 'i' (the id is taken by another message:
 * column 5 names the first field that differs), 'v' (version conflict:
 * the stream's version as expectedVersion sees it: -1 once soft-deleted),
 * 'g' (the stream is tombstoned: pg_lifecycle.c) or 'l' (the stream or
 * the namespace is at
 * STORE_POSITION_MAX, 2^62 - 1, written out in the SQL).  data and metadata compare as jsonb values: the
 * text as written is not kept.  %1$s is the schema.
 */
#define ITEM_EXPECT_MET WRITE_EXPECT_MET_SQL("$7::text", "$6::bigint", "ver.vis")
#define ITEM_SQL \
	"WITH dup AS (SELECT stream_name, position, global_position," \
	"  CASE WHEN stream_name <> $2 THEN 'stream' WHEN type <> $3 THEN 'type'" \
	"  WHEN data IS DISTINCT FROM $4::jsonb THEN 'data'" \
	"  WHEN metadata IS DISTINCT FROM $5::jsonb THEN 'metadata' END AS differs" \
	"  FROM %1$s.messages WHERE id = $1::uuid)," \
	" ver AS (SELECT * FROM " WRITE_VERSION_FROM("$2") " w)," \
	" hd AS (SELECT coalesce(max(global_position), 0) AS h FROM %1$s.messages)," \
	" ins AS (INSERT INTO %1$s.messages" \
	"  (id, stream_name, position, type, data, metadata, time)" \
	"  SELECT $1::uuid, $2, ver.v + 1, $3, $4::jsonb, $5::jsonb," \
	"  clock_timestamp() AT TIME ZONE 'utc' FROM ver" \
	"  WHERE NOT EXISTS (SELECT 1 FROM dup) AND NOT ver.gone" \
	"  AND " ITEM_EXPECT_MET \
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
	"  AND NOT " ITEM_EXPECT_MET \
	" UNION ALL SELECT 'l', NULL, NULL, ver.v, NULL FROM ver" \
	"  WHERE NOT EXISTS (SELECT 1 FROM dup) AND NOT ver.gone" \
	"  AND " ITEM_EXPECT_MET \
	"  AND (ver.v >= 4611686018427387903" \
	"  OR (SELECT h FROM hd) >= 4611686018427387903)"

/*
 * One unit: $1 its entries, a JSON array of {"id", "stream", "type",
 * "data", "metadata"?} (every id given or generated), $2 its expectations,
 * a JSON array of {"stream", "kind", "version"?} (kinds as in
 * WRITE_EXPECT_MET_SQL).  Every CTE reads the snapshot from before the
 * statement, so the ids and expectations are checked against the store as
 * it was before the unit; the insert writes every entry or none, in entry
 * order so that nextval hands out rising global positions, each stream
 * continuing from its version.  Answers rows (kind, entry or expectation
 * ordinal from 1, position, global position, version, differing field):
 * 'w' per entry written; otherwise 'd' (stored the same) and 'i' (stored
 * with a difference) per entry whose id is stored, or else one 'v' for the
 * first unmet expectation (with the stream's version), or else one 'g' for
 * the first entry whose stream is tombstoned, or else one 'l' (a position
 * would pass STORE_POSITION_MAX).  %1$s is the schema.
 */
#define UNIT_SQL \
	"WITH e AS (SELECT t.ord, (t.v->>'id')::uuid AS id, t.v->>'stream' AS stream," \
	"  t.v->>'type' AS type, (t.v->'data')::jsonb AS data," \
	"  (t.v->'metadata')::jsonb AS metadata" \
	"  FROM json_array_elements($1::json) WITH ORDINALITY AS t(v, ord))," \
	" x AS (SELECT t.ord, t.v->>'stream' AS stream, t.v->>'kind' AS kind," \
	"  (t.v->>'version')::bigint AS version" \
	"  FROM json_array_elements($2::json) WITH ORDINALITY AS t(v, ord))," \
	" dup AS (SELECT e.ord, m.position, m.global_position," \
	"  CASE WHEN m.stream_name <> e.stream THEN 'stream'" \
	"  WHEN m.type <> e.type THEN 'type'" \
	"  WHEN m.data IS DISTINCT FROM e.data THEN 'data'" \
	"  WHEN m.metadata IS DISTINCT FROM e.metadata THEN 'metadata' END AS differs" \
	"  FROM e JOIN %1$s.messages m ON m.id = e.id)," \
	" ver AS (SELECT s.stream, w.v, w.vis, w.gone" \
	"  FROM (SELECT stream FROM e UNION SELECT stream FROM x) s," \
	"  LATERAL " WRITE_VERSION_FROM("s.stream") " w)," \
	" xfail AS (SELECT x.ord, ver.vis AS v FROM x JOIN ver USING (stream)" \
	"  WHERE NOT " WRITE_EXPECT_MET_SQL("x.kind", "x.version", "ver.vis") \
	"  ORDER BY x.ord LIMIT 1)," \
	" gfail AS (SELECT e.ord FROM e JOIN ver USING (stream) WHERE ver.gone" \
	"  ORDER BY e.ord LIMIT 1)," \
	" hd AS (SELECT coalesce(max(global_position), 0) AS h FROM %1$s.messages)," \
	" pos AS (SELECT e.ord," \
	"  ver.v + row_number() OVER (PARTITION BY e.stream ORDER BY e.ord) AS position" \
	"  FROM e JOIN ver USING (stream))," \
	" go AS (SELECT NOT EXISTS (SELECT 1 FROM dup)" \
	"  AND NOT EXISTS (SELECT 1 FROM xfail)" \
	"  AND NOT EXISTS (SELECT 1 FROM gfail)" \
	"  AND (SELECT max(position) FROM pos) <= 4611686018427387903" \
	"  AND (SELECT h FROM hd) + (SELECT count(*) FROM e) <= 4611686018427387903" \
	"  AS ok)," \
	" ins AS (INSERT INTO %1$s.messages" \
	"  (id, stream_name, position, type, data, metadata, time)" \
	"  SELECT e.id, e.stream, pos.position, e.type, e.data, e.metadata," \
	"  clock_timestamp() AT TIME ZONE 'utc' FROM e JOIN pos USING (ord)" \
	"  WHERE (SELECT ok FROM go) ORDER BY e.ord" \
	"  RETURNING id, position, global_position)" \
	" SELECT 'w', e.ord, ins.position, ins.global_position, NULL::bigint," \
	"  NULL::text FROM ins JOIN e USING (id)" \
	" UNION ALL SELECT CASE WHEN d.differs IS NULL THEN 'd' ELSE 'i' END, d.ord," \
	"  d.position, d.global_position, NULL, d.differs FROM dup d" \
	" UNION ALL SELECT 'v', xf.ord, NULL, NULL, xf.v, NULL FROM xfail xf" \
	"  WHERE NOT EXISTS (SELECT 1 FROM dup)" \
	" UNION ALL SELECT 'g', gf.ord, NULL, NULL, NULL, NULL FROM gfail gf" \
	"  WHERE NOT EXISTS (SELECT 1 FROM dup) AND NOT EXISTS (SELECT 1 FROM xfail)" \
	" UNION ALL SELECT 'l', NULL, NULL, NULL, NULL, NULL FROM go" \
	"  WHERE NOT ok AND NOT EXISTS (SELECT 1 FROM dup)" \
	"  AND NOT EXISTS (SELECT 1 FROM xfail) AND NOT EXISTS (SELECT 1 FROM gfail)"

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
		n += it->ncats;
	h = xcalloc(n, sizeof(*h));
	for (n = 0, it = batch; it != NULL; it = it->next)
		for (i = 0; i < it->ncats; i++)
			h[n++] = it->cats[i];
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

/*
 * The kind of an expectation as WRITE_EXPECT_MET_SQL spells it ("a", "v",
 * "e"); for "v", *version points at its text, formatted into buf.
 */
static const char *
write_expect_kind(enum store_expect expect, int64_t expected, char *buf,
    size_t size, const char **version)
{
	*version = NULL;
	switch (expect) {
	case STORE_EXPECT_VERSION:
		snprintf(buf, size, "%lld", (long long)expected);
		*version = buf;
		return "v";
	case STORE_EXPECT_NO_STREAM:
		snprintf(buf, size, "-1");
		*version = buf;
		return "v";
	case STORE_EXPECT_EXISTS:
		return "e";
	case STORE_EXPECT_ANY:
	default:
		return "a";
	}
}

/*
 * The statements of every batch besides its items, prepared once per
 * connection under these names (write_pipeline).  The namespace lock
 * ($1 PG_LOCK_KEY1, $2 the namespace id) is its own statement, sent before
 * the category locks, so that the lock order (namespace, then categories)
 * never depends on the order in which a plan evaluates its expressions.
 * It answers whether it had to wait: another host's (or a Message DB
 * writer's) transaction held the lock, so that write_enqueue's next leader
 * takes the lock before it gathers its batch (write_lock_first).
 * The category lock statement, the first after the namespace lock and so
 * the first whose snapshot is taken with it held, also runs the guard
 * evdb.namespace_check($2 namespace id): a namespace deleted by another
 * host (whose ns.delete holds that lock to its commit) fails the batch
 * with PG_STATE_NS_GONE before any item, whatever row this connection had
 * cached (pg_registry.c).
 */
static const struct {
	const char *name;	/* prepared statement name */
	const char *sql;	/* its text */
	int nparams;		/* its parameters */
} write_fixed[] = {
	{ "wb_begin", "BEGIN", 0 },
	{ "wb_nslock", "SELECT CASE WHEN pg_try_advisory_xact_lock($1::int,"
	    " $2::int) THEN false ELSE (SELECT true FROM"
	    " pg_advisory_xact_lock($1::int, $2::int)) END", 2 },
	{ "wb_catlock", "SELECT count(pg_advisory_xact_lock(h)),"
	    " evdb.namespace_check($2::bigint) FROM unnest($1::bigint[]) AS h", 2 },
	{ "wb_notify", "SELECT pg_notify($1, '')", 1 },
	{ "wb_commit", "COMMIT", 0 },
};

/* Sends one prepared statement of the pipeline; false when libpq refused it. */
static bool
write_send_prepared(PGconn *pg, const char *name, int n,
    const char *const *vals)
{
	return PQsendQueryPrepared(pg, name, n, vals, NULL, NULL, 0) == 1;
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

/* Reads a unit's answer rows (UNIT_SQL) into its results; sets it->status. */
static void
write_unit_result(struct pg_item *it, const PGresult *res)
{
	static const char *const fields[] = { "stream", "type", "data", "metadata" };
	struct store_batch_result *br = it->batch;
	size_t written = 0, stored = 0, first_stored = SIZE_MAX, at = SIZE_MAX;
	size_t i, f;
	int row, rows = PQntuples(res);
	const char *kind, *differs = NULL;
	bool version = false, limit = false, gone = false;
	int64_t ord, actual = 0;

	memset(it->res, 0, it->n * sizeof(*it->res));
	for (row = 0; row < rows; row++) {
		kind = PQgetvalue(res, row, 0);
		ord = pg_value_int64(res, row, 1) - 1;
		if (kind[0] == 'l') {
			limit = true;
			continue;
		}
		if (ord < 0 || (kind[0] != 'v' && (uint64_t)ord >= it->n) ||
		    (kind[0] == 'v' && (uint64_t)ord >= it->n_expect))
			goto bad;
		i = (size_t)ord;
		switch (kind[0]) {
		case 'w':
			it->res[i].position = pg_value_int64(res, row, 2);
			it->res[i].global_position = pg_value_int64(res, row, 3);
			written++;
			break;
		case 'd':
			it->res[i].position = pg_value_int64(res, row, 2);
			it->res[i].global_position = pg_value_int64(res, row, 3);
			it->res[i].duplicate = true;
			if (i < first_stored)
				first_stored = i;
			stored++;
			break;
		case 'i':
			if (at == SIZE_MAX || i < at) {
				at = i;
				differs = PQgetvalue(res, row, 5);
			}
			break;
		case 'v':
			version = true;
			br->index = i;
			actual = pg_value_int64(res, row, 4);
			break;
		case 'g':
			gone = true;	/* entry i's stream is tombstoned */
			if (!version)
				br->index = i;
			break;
		default:
			goto bad;
		}
	}
	if (at != SIZE_MAX) {
		/* br->conflict is static text (store.h). */
		br->index = at;
		br->conflict = fields[0];
		for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
			if (strcmp(differs, fields[f]) == 0)
				br->conflict = fields[f];
		it->status = EVDB_ERR_ID_CONFLICT;
	} else if (stored > 0 && stored < it->n) {
		br->index = first_stored;	/* stored, while others are new */
		br->conflict = NULL;
		it->status = EVDB_ERR_ID_CONFLICT;
	} else if (stored == it->n) {
		br->duplicate = true;
		it->status = EVDB_OK;
		return;		/* the stored positions stay */
	} else if (version) {
		br->actual_version = actual;
		it->status = EVDB_ERR_VERSION_CONFLICT;
	} else if (gone)
		it->status = EVDB_ERR_GONE;
	else if (limit)
		it->status = EVDB_ERR_LIMIT;
	else if (written == it->n) {
		it->status = EVDB_OK;
		return;
	} else
		goto bad;
	memset(it->res, 0, it->n * sizeof(*it->res));
	return;
bad:
	memset(it->res, 0, it->n * sizeof(*it->res));
	it->status = EVDB_ERR_BACKEND;
	snprintf(it->errmsg, sizeof(it->errmsg), "batch write: %d answer rows"
	    " for %zu entries", rows, it->n);
}

/* Prepares write_fixed's statements on c (once per connection). */
static enum evdb_status
write_prepare_fixed(struct pg_conn *c)
{
	enum evdb_status rs;
	size_t q;

	for (q = 0; q < sizeof(write_fixed) / sizeof(write_fixed[0]); q++)
		if ((rs = pg_prepare(c, write_fixed[q].name, write_fixed[q].sql,
		    write_fixed[q].nparams)) != EVDB_OK)
			return rs;
	return EVDB_OK;
}

/* Whether the answer of wb_nslock says the lock was waited for. */
static bool
write_lock_waited(const PGresult *res)
{
	return PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "t") == 0;
}

/*
 * Opens the batch's transaction on c and takes ns's namespace lock,
 * waiting for it, before the leader gathers its batch: the writes that
 * arrive while another host's transaction holds the lock then ride in this
 * one instead of queueing behind it (issue 10: with three hosts on one
 * database the batches were of one write each).  One round trip: BEGIN and
 * wb_nslock in a pipeline, then Sync, which inside the BEGIN block ends
 * the pipeline but not the transaction, so that write_pipeline's can
 * follow.  *waited: whether the lock was held by another.  On failure
 * nothing is left open (the connection is idle or marked broken) and
 * write_pipeline is to run as usual.
 */
static enum evdb_status
write_lock_first(struct pg_conn *c, const struct pg_ns *ns, bool *waited)
{
	enum evdb_status rs;
	PGconn *pg;
	PGresult *res;
	const char *vals[2];
	char key1[16], nsid[24];
	int got = 0;
	bool bad = false;

	*waited = false;
	if ((rs = pg_conn_ready(c)) != EVDB_OK ||
	    (rs = write_prepare_fixed(c)) != EVDB_OK)
		return rs;
	pg = c->pg;
	snprintf(key1, sizeof(key1), "%d", PG_LOCK_KEY1);
	snprintf(nsid, sizeof(nsid), "%lld", (long long)ns->id);
	vals[0] = key1;
	vals[1] = nsid;
	if (PQenterPipelineMode(pg) != 1)
		return pg_fail(c, NULL, "pipeline mode");
	if (!write_send_prepared(pg, "wb_begin", 0, NULL) ||
	    !write_send_prepared(pg, "wb_nslock", 2, vals) ||
	    PQpipelineSync(pg) != 1)
		bad = true;
	/* Two results, each followed by NULL, then the Sync's. */
	while (!bad && got < 2) {
		while ((res = PQgetResult(pg)) != NULL) {
			ExecStatusType es = PQresultStatus(res);

			if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK)
				bad = true;
			else if (got == 1)
				*waited = write_lock_waited(res);
			PQclear(res);
		}
		got++;
		if (PQstatus(pg) != CONNECTION_OK)
			bad = true;
	}
	if (!bad) {
		res = PQgetResult(pg);
		bad = PQresultStatus(res) != PGRES_PIPELINE_SYNC;
		PQclear(res);
	}
	if (!bad && PQexitPipelineMode(pg) == 1 &&
	    PQtransactionStatus(pg) == PQTRANS_INTRANS)
		return EVDB_OK;
	/* Undo: drain what was sent (a second Sync is harmless), leave
	 * pipeline mode, roll back. */
	rs = pg_fail(c, NULL, "write batch: namespace lock");
	if (PQstatus(pg) == CONNECTION_OK) {
		if (PQpipelineStatus(pg) != PQ_PIPELINE_OFF)
			(void)PQpipelineSync(pg);
		for (;;) {
			if ((res = PQgetResult(pg)) == NULL) {
				if (PQexitPipelineMode(pg) == 1)
					break;
				if (PQstatus(pg) != CONNECTION_OK)
					break;
				continue;
			}
			PQclear(res);
		}
		if (PQtransactionStatus(pg) != PQTRANS_IDLE)
			PQclear(PQexec(pg, "ROLLBACK"));
	}
	if (PQstatus(pg) != CONNECTION_OK ||
	    PQtransactionStatus(pg) != PQTRANS_IDLE)
		c->broken = true;
	return rs;
}

/*
 * Runs batch as one pipelined transaction on c.  Sets every item's status
 * and returns EVDB_OK when the transaction committed, else the failure
 * (every item then carries it, and nothing of the batch was written).
 * prelocked: write_lock_first has opened the transaction and taken the
 * namespace lock, so the pipeline starts at the category locks.  Unless
 * prelocked, *waited says whether the namespace lock was waited for.
 */
static enum evdb_status
write_pipeline(struct pg_conn *c, const struct pg_ns *ns, struct pg_item *batch,
    bool prelocked, bool *waited)
{
	struct buf item_sql, unit_sql, cats, params;
	struct pg_item *it, **items = NULL;
	enum evdb_status rs, first = EVDB_OK;
	char expected[24], firstmsg[512] = "";
	const char *vals[7];
	PGconn *pg;
	PGresult *res;
	size_t n = 0, q, nq, first_item;
	bool units = false;
	char channel[32], item_name[32], unit_name[32], key1[16], nsid[24];

	if ((rs = pg_conn_ready(c)) != EVDB_OK) {
		first = rs;
		snprintf(firstmsg, sizeof(firstmsg), "%s", c->errmsg);
		goto fail;
	}
	pg = c->pg;
	buf_init(&item_sql);
	buf_init(&unit_sql);
	buf_init(&cats);
	buf_init(&params);
	write_category_array(batch, &cats);
	pg_channel_name(ns->id, channel, sizeof(channel));
	for (it = batch; it != NULL; it = it->next)
		n++;
	items = xcalloc(n, sizeof(*items));
	for (n = 0, it = batch; it != NULL; it = it->next) {
		it->status = EVDB_ERR_BACKEND;	/* until its answer row is read */
		units = units || it->batch != NULL;
		items[n++] = it;
	}

	/*
	 * Every statement of the pipeline is parsed and planned once per
	 * connection: the fixed ones under names of their own (the same on
	 * every namespace), the item statements per namespace.  Parsing and
	 * planning the lock and notify statements for every batch cost the
	 * server more than executing them.
	 */
	snprintf(item_name, sizeof(item_name), "w_%lld", (long long)ns->id);
	snprintf(unit_name, sizeof(unit_name), "u_%lld", (long long)ns->id);
	if ((rs = write_prepare_fixed(c)) != EVDB_OK)
		goto preparefail;
	if (!pg_prepared(c, item_name)) {
		pg_sql_schema(&item_sql, ITEM_SQL, ns->schema);
		if ((rs = pg_prepare(c, item_name, buf_cstr(&item_sql), 7)) !=
		    EVDB_OK)
			goto preparefail;
	}
	if (units && !pg_prepared(c, unit_name)) {
		pg_sql_schema(&unit_sql, UNIT_SQL, ns->schema);
		if ((rs = pg_prepare(c, unit_name, buf_cstr(&unit_sql), 2)) !=
		    EVDB_OK)
			goto preparefail;
	}
	pg = c->pg;
	if (PQenterPipelineMode(pg) != 1) {
		first = pg_fail(c, NULL, "pipeline mode");
		goto done;
	}
	snprintf(key1, sizeof(key1), "%d", PG_LOCK_KEY1);
	snprintf(nsid, sizeof(nsid), "%lld", (long long)ns->id);
	vals[0] = key1;
	vals[1] = nsid;
	if (!prelocked && (!write_send_prepared(pg, "wb_begin", 0, NULL) ||
	    !write_send_prepared(pg, "wb_nslock", 2, vals)))
		goto sendfail;
	vals[0] = buf_cstr(&cats);
	vals[1] = nsid;
	if (!write_send_prepared(pg, "wb_catlock", 2, vals))
		goto sendfail;
	for (q = 0; q < n; q++) {
		const struct store_message_in *m = items[q]->in;
		int lens[7] = { 0, (int)m->stream_len, (int)m->type_len,
		    (int)m->data_len, (int)m->metadata_len, 0, 1 };
		const char *copy[7];

		if (items[q]->batch != NULL) {
			/* A unit: its two JSON texts, NUL-terminated by buf. */
			vals[0] = buf_cstr(&items[q]->entries);
			vals[1] = buf_cstr(&items[q]->expects);
			if (PQsendQueryPrepared(pg, unit_name, 2, vals, NULL, NULL,
			    0) != 1)
				goto sendfail;
			continue;
		}
		vals[0] = items[q]->id;
		vals[1] = m->stream;
		vals[2] = m->type;
		vals[3] = m->data;
		vals[4] = m->metadata;
		vals[5] = NULL;
		vals[6] = write_expect_kind(m->expect, m->expected_version,
		    expected, sizeof(expected), &vals[5]);
		lens[0] = (int)strlen(vals[0]);
		lens[5] = vals[5] != NULL ? (int)strlen(vals[5]) : 0;
		/* libpq copies the parameters into its output buffer at once. */
		buf_reset(&params);
		pg_params_copy(&params, 7, vals, lens, copy);
		if (PQsendQueryPrepared(pg, item_name, 7, copy, NULL, NULL, 0) != 1)
			goto sendfail;
	}
	vals[0] = channel;
	if (!write_send_prepared(pg, "wb_notify", 1, vals) ||
	    !write_send_prepared(pg, "wb_commit", 0, NULL) ||
	    PQpipelineSync(pg) != 1)
		goto sendfail;

	/* 3 statements before the items (1 when prelocked), 2 after. */
	first_item = prelocked ? 1 : 3;
	nq = n + first_item + 2;
	for (q = 0; q < nq; q++) {
		while ((res = PQgetResult(pg)) != NULL) {
			ExecStatusType es = PQresultStatus(res);

			if (es == PGRES_FATAL_ERROR && first == EVDB_OK) {
				first = pg_fail(c, res, "write batch");
				snprintf(firstmsg, sizeof(firstmsg), "%s", c->errmsg);
			} else if (es == PGRES_TUPLES_OK && !prelocked && q == 1) {
				*waited = write_lock_waited(res);
			} else if (es == PGRES_TUPLES_OK && q >= first_item &&
			    q < n + first_item && first == EVDB_OK) {
				it = items[q - first_item];
				if (it->batch != NULL)
					write_unit_result(it, res);
				else
					write_item_result(it, res);
			}
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
preparefail:
	first = rs;
	snprintf(firstmsg, sizeof(firstmsg), "%s", c->errmsg);
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
	/* A prelocked transaction that failed before its pipeline ran. */
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK &&
	    PQpipelineStatus(c->pg) == PQ_PIPELINE_OFF &&
	    PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(PQexec(c->pg, "ROLLBACK"));
	free(items);
	buf_free(&item_sql);
	buf_free(&unit_sql);
	buf_free(&cats);
	buf_free(&params);
fail:
	if (first != EVDB_OK)
		for (it = batch; it != NULL; it = it->next) {
			it->status = first;
			memset(it->res, 0, it->n * sizeof(*it->res));
			snprintf(it->errmsg, sizeof(it->errmsg), "%s", firstmsg);
		}
	return first;
}

/*
 * Runs a batch: retried on deadlock, split into single items on a failure.
 * prelocked: as write_pipeline's, for the first attempt only (a failed
 * transaction let go of the lock).  *waited: whether the namespace lock
 * was waited for (write_lock_first's answer when prelocked).
 */
static void
write_batch(struct pg_conn *c, const struct pg_ns *ns, struct pg_item *batch,
    bool prelocked, bool *waited)
{
	struct pg_item *it, *next;
	enum evdb_status rs;
	bool w = false;
	int attempt;

	for (attempt = 0;; attempt++) {
		rs = write_pipeline(c, ns, batch, prelocked, &w);
		if (!prelocked)
			*waited = w;
		prelocked = false;
		if (rs != EVDB_ERR_BUSY || attempt >= PG_BATCH_RETRIES)
			break;
	}
	/* Gone is gone for every item: no point in trying each alone. */
	if (rs == EVDB_OK || rs == EVDB_ERR_UNAVAILABLE ||
	    rs == EVDB_ERR_NOT_FOUND || batch->next == NULL)
		return;
	/* One item's failure must not fail the others: each alone. */
	for (it = batch; it != NULL; it = next) {
		next = it->next;
		it->next = NULL;
		for (attempt = 0;; attempt++) {
			rs = write_pipeline(c, ns, it, false, &w);
			if (rs != EVDB_ERR_BUSY || attempt >= PG_BATCH_RETRIES)
				break;
		}
		it->next = next;
	}
}

/*
 * Checks that PostgreSQL can store m, and writes the id it is stored with
 * (m's, or a new one) into id.  EVDB_ERR_INVALID (with c->errmsg) for a
 * value it cannot store.
 */
static enum evdb_status
write_check(struct pg_conn *c, const struct store_message_in *m,
    char id_out[UUID_STR_LEN + 8])
{
	const char *id = m->id;
	size_t id_len = m->id_len;

	if (id == NULL) {
		if (uuid_v7_generate(&c->uuid, id_out) != EVDB_OK)
			return EVDB_ERR_BACKEND;
	} else {
		/* PostgreSQL's uuid takes every form but "urn:uuid:". */
		if (id_len > 9 && strncmp(id, "urn:uuid:", 9) == 0) {
			id += 9;
			id_len -= 9;
		}
		if (!uuid_is_valid(id, id_len) || id_len > UUID_STR_LEN + 2)
			goto invalid;
		memcpy(id_out, id, id_len);
		id_out[id_len] = '\0';
	}
	if (!pg_json_acceptable(m->data, m->data_len) ||
	    (m->metadata != NULL && !pg_json_acceptable(m->metadata, m->metadata_len)))
		goto invalid;
	if (memchr(m->stream, '\0', m->stream_len) != NULL ||
	    memchr(m->type, '\0', m->type_len) != NULL)
		goto invalid;
	return EVDB_OK;
invalid:
	snprintf(c->errmsg, sizeof(c->errmsg), "write: a value PostgreSQL cannot"
	    " store (\\u0000, an unpaired surrogate, or a malformed id)");
	return EVDB_ERR_INVALID;
}

/* hash_64 of the category of stream[0..len), the key of its lock. */
static int64_t
write_category_hash(const char *stream, size_t len)
{
	return streamname_hash64(stream, streamname_category_len(stream, len));
}

/* Checks and completes a single write's item before it may join a batch. */
static enum evdb_status
write_prepare(struct pg_conn *c, struct pg_item *it)
{
	const struct store_message_in *m = it->in;
	enum evdb_status rs;

	if ((rs = write_check(c, m, it->id)) != EVDB_OK)
		return rs;
	it->category_hash = write_category_hash(m->stream, m->stream_len);
	it->cats = &it->category_hash;
	it->ncats = 1;
	it->bytes = m->data_len + m->metadata_len;
	return EVDB_OK;
}

/*
 * Checks and completes a unit's item: every entry as write_prepare does
 * (EVDB_ERR_INVALID with it->batch->index at the first it cannot store),
 * then UNIT_SQL's two JSON parameters and the categories to lock (every
 * entry's and every expectation's).  What it allocates is freed by
 * write_unit_free, whatever it returns.
 */
static enum evdb_status
write_prepare_unit(struct pg_conn *c, struct pg_item *it,
    const struct store_stream_expect *expect, size_t n_expect)
{
	const struct store_stream_expect *x;
	enum evdb_status rs;
	char id[UUID_STR_LEN + 8], version[24];
	const char *kind, *ver;
	size_t i;

	buf_init(&it->entries);
	buf_init(&it->expects);
	it->cats = xcalloc(xadd(it->n, n_expect), sizeof(*it->cats));
	buf_putc(&it->entries, '[');
	for (i = 0; i < it->n; i++) {
		const struct store_message_in *m = &it->in[i];

		if ((rs = write_check(c, m, id)) != EVDB_OK) {
			it->batch->index = i;
			return rs;
		}
		buf_puts(&it->entries, i > 0 ? ",{\"id\":" : "{\"id\":");
		json_out_cstr(&it->entries, id);
		buf_puts(&it->entries, ",\"stream\":");
		json_out_string(&it->entries, m->stream, m->stream_len);
		buf_puts(&it->entries, ",\"type\":");
		json_out_string(&it->entries, m->type, m->type_len);
		buf_puts(&it->entries, ",\"data\":");
		json_out_raw(&it->entries, m->data, m->data_len);
		if (m->metadata != NULL) {
			buf_puts(&it->entries, ",\"metadata\":");
			json_out_raw(&it->entries, m->metadata, m->metadata_len);
		}
		buf_putc(&it->entries, '}');
		it->cats[it->ncats++] = write_category_hash(m->stream, m->stream_len);
		it->bytes += m->data_len + m->metadata_len;
	}
	buf_putc(&it->entries, ']');
	buf_putc(&it->expects, '[');
	for (i = 0; i < n_expect; i++) {
		x = &expect[i];
		if (memchr(x->stream, '\0', x->stream_len) != NULL) {
			snprintf(c->errmsg, sizeof(c->errmsg), "write: a stream name"
			    " PostgreSQL cannot store (\\u0000)");
			return EVDB_ERR_INVALID;
		}
		kind = write_expect_kind(x->expect, x->expected_version, version,
		    sizeof(version), &ver);
		buf_puts(&it->expects, i > 0 ? ",{\"stream\":" : "{\"stream\":");
		json_out_string(&it->expects, x->stream, x->stream_len);
		buf_printf(&it->expects, ",\"kind\":\"%s\"", kind);
		if (ver != NULL)
			buf_printf(&it->expects, ",\"version\":%s", ver);
		buf_putc(&it->expects, '}');
		/* A stream only expected is locked too: Message DB's writers take
		 * its category's lock. */
		it->cats[it->ncats++] = write_category_hash(x->stream, x->stream_len);
	}
	buf_putc(&it->expects, ']');
	it->n_expect = n_expect;
	return EVDB_OK;
}

/* Frees what write_prepare_unit allocated. */
static void
write_unit_free(struct pg_item *it)
{
	buf_free(&it->entries);
	buf_free(&it->expects);
	free(it->cats);
	it->cats = NULL;
}

/*
 * Queues a prepared item on namespace e's group-commit queue and returns
 * once a leader (this thread or another) has run it; its status is the
 * outcome.
 */
static enum evdb_status
write_enqueue(struct pg_conn *c, struct pg_ns *e, struct pg_item *item)
{
	struct pg_item *batch, *it, **pp;
	struct pg_queue *q;
	size_t bytes, n;
	bool prelocked, waited = false;

	q = write_queue(c->st, e->id);
	pthread_cond_init(&item->cv, NULL);

	pthread_mutex_lock(&q->mu);
	*q->tailp = item;
	q->tailp = &item->next;
	while (!item->done) {
		if (q->leader_active) {
			pthread_cond_wait(&item->cv, &q->mu);
			continue;
		}
		/*
		 * Lead: take queued items, up to the message and byte limits (a
		 * unit counts its messages; the first item always goes).
		 */
		q->leader_active = true;
		/*
		 * Another host's batches hold the namespace lock: wait for it
		 * first, so that what arrives meanwhile joins this batch.
		 */
		prelocked = false;
		if (q->contended) {
			pthread_mutex_unlock(&q->mu);
			prelocked = write_lock_first(c, e, &waited) == EVDB_OK;
			pthread_mutex_lock(&q->mu);
		}
		batch = q->head;
		bytes = 0;
		for (n = 0, pp = &q->head; *pp != NULL && (n == 0 ||
		    (n + (*pp)->n <= PG_BATCH_MAX && bytes < PG_BATCH_BYTES));
		    pp = &(*pp)->next) {
			n += (*pp)->n;
			bytes += (*pp)->bytes;
		}
		q->head = *pp;
		*pp = NULL;
		if (q->head == NULL)
			q->tailp = &q->head;
		pthread_mutex_unlock(&q->mu);

		if (!prelocked)
			waited = false;
		write_batch(c, e, batch, prelocked, &waited);

		pthread_mutex_lock(&q->mu);
		q->contended = waited;
		for (it = batch; it != NULL; it = it->next) {
			it->done = true;
			if (it != item)
				pthread_cond_signal(&it->cv);
		}
		q->leader_active = false;
		if (q->head != NULL)
			pthread_cond_signal(&q->head->cv);
	}
	pthread_mutex_unlock(&q->mu);
	pthread_cond_destroy(&item->cv);
	if (item->errmsg[0] != '\0')
		snprintf(c->errmsg, sizeof(c->errmsg), "%s", item->errmsg);
	return item->status;
}

enum evdb_status
pg_write(struct store_conn *base, const char *ns,
    const struct store_message_in *m, struct store_write_result *r)
{
	struct pg_conn *c = pg_conn_of(base);
	struct pg_item item;
	struct pg_ns *e;
	enum evdb_status rs;

	memset(r, 0, sizeof(*r));
	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	memset(&item, 0, sizeof(item));
	item.in = m;
	item.n = 1;
	item.res = r;
	if ((rs = write_prepare(c, &item)) != EVDB_OK)
		return rs;
	/* The leader may be another thread: its connection marked its rows. */
	if ((rs = write_enqueue(c, e, &item)) == EVDB_ERR_NOT_FOUND)
		e->stale = true;
	return rs;
}

enum evdb_status
pg_write_batch(struct store_conn *base, const char *ns,
    const struct store_message_in *msgs, size_t n,
    const struct store_stream_expect *expect, size_t n_expect,
    struct store_write_result *res, struct store_batch_result *br)
{
	struct pg_conn *c = pg_conn_of(base);
	struct pg_item item;
	struct pg_ns *e;
	enum evdb_status rs;

	memset(res, 0, n * sizeof(*res));
	if ((rs = pg_ns_lookup(c, ns, &e)) != EVDB_OK)
		return rs;
	memset(&item, 0, sizeof(item));
	item.in = msgs;
	item.n = n;
	item.res = res;
	item.batch = br;
	if ((rs = write_prepare_unit(c, &item, expect, n_expect)) == EVDB_OK &&
	    (rs = write_enqueue(c, e, &item)) == EVDB_ERR_NOT_FOUND)
		e->stale = true;
	write_unit_free(&item);
	return rs;
}
