/*
 * sqlite_write.c - writing messages, with in-process group commit.
 *
 * Every namespace file has one write_queue shared by all threads.  A writer
 * appends its item to the queue; if no thread is committing for that file,
 * it becomes the leader: it takes every queued item (up to WRITE_BATCH_MAX),
 * runs them in one BEGIN IMMEDIATE transaction on the queue's own connection
 * (write_queue_writer), commits once and wakes the others with their
 * results.  While a leader commits, new items pile up and go out together in
 * the next batch, so under load one commit (and, with durability "full", one
 * fsync) serves many writes.
 *
 * Each item is checked on its own inside the batch (idempotent id, then
 * expectedVersion, then room below STORE_POSITION_MAX), so one writer's
 * conflict never fails another.  Only a
 * storage failure (disk full, I/O error, lock timeout) fails the batch, and
 * then it fails all of it: the transaction is rolled back and no item of it
 * is reported written.
 *
 * An item is either one message (store_write) or a unit of n messages
 * (store_write_batch, batch.write): a unit queues, leads and commits like
 * any item, so it never waits for a commit of its own.  It checks its ids
 * and its expectations before it writes anything, and writes its messages
 * inside a savepoint, so that a unit that fails half-way (a position past
 * STORE_POSITION_MAX) rolls back to the savepoint and leaves nothing, while
 * the items around it commit.  Single writes and units read a stream's
 * version and lifecycle state through one function, write_stream_version:
 * a tombstoned stream (stream.delete with hard) refuses every write with
 * EVDB_ERR_GONE, and a soft-deleted or truncated one continues after its
 * old version while its expectations see the version it reads as.
 *
 * Writer connections are bounded: at most WRITE_OPEN_MAX are open at once,
 * across all namespace files.  A leader that needs one more closes the
 * least recently used idle one first (sqlite_queue_writers_trim), so descriptors
 * do not grow with every namespace ever written (issue 15, finding 8).
 * Lock order: store.queues_mu, then a queue's mu; nothing that holds a
 * queue's mu takes queues_mu.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlite/sqlite_internal.h"
#include "store/sqlite/sqlite_invariant.h"
#include "core/json_slice.h"
#include "core/streamname.h"
#include "core/timefmt.h"
#include "core/xalloc.h"

#define WRITE_BATCH_MAX 512

struct write_item {
	struct write_item *next;		/* queue order */
	const struct store_message_in *in;	/* the caller's messages (borrowed),
						 * n of them */
	size_t n;				/* 1 for a single write */
	struct store_write_result *res;		/* the caller's results, n of them */
	struct store_batch_result *batch;	/* a unit's own result; NULL for a
						 * single write (store_write) */
	const struct store_stream_expect *expect; /* a unit's expectations
						 * (borrowed), n_expect of them */
	size_t n_expect;
	enum evdb_status status;		/* outcome, valid once done */
	bool done;				/* set by the leader under the queue lock */
	pthread_cond_t cv;			/* its writer sleeps on it: woken when done,
						 * or when it is next to lead */
	char errmsg[512];			/* storage failure text, for the caller */
};

/* Steps a statement that returns no row; SQLITE_DONE is success. */
static int
write_step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* True when column col of s holds exactly text[0..len), NULL for NULL. */
static bool
write_column_equal(sqlite3_stmt *s, int col, const char *text, size_t len)
{
	const void *v;

	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return text == NULL;
	if (text == NULL)
		return false;
	v = sqlite3_column_blob(s, col);
	return (size_t)sqlite3_column_bytes(s, col) == len &&
	    (len == 0 || memcmp(v, text, len) == 0);
}

/*
 * Compares the stored message that the NS_ID_LOOKUP row s describes with
 * the write m (issue 15 finding 13): NULL when m is an idempotent retry of
 * it, else the name of the first field that differs.  data and metadata
 * are compared as JSON text: both sides were serialised by the same
 * writer, so the same values give the same bytes.
 */
static const char *
write_retry_conflict(sqlite3_stmt *s, const struct store_message_in *m)
{
	if (!write_column_equal(s, 0, m->stream, m->stream_len))
		return "stream";
	if (!write_column_equal(s, 3, m->type, m->type_len))
		return "type";
	if (!write_column_equal(s, 4, m->data, m->data_len))
		return "data";
	if (!write_column_equal(s, 5, m->metadata, m->metadata_len))
		return "metadata";
	return NULL;
}

/*
 * Binds ?8 and ?12 of an insert: Message DB's correlation, the category of
 * metadata.correlationStreamName, read here from the text when it is
 * plainly there or plainly not (?12 = 1, ?8 the category or NULL), so that
 * SQLite's JSON functions do not parse the metadata twice per write; a
 * string with an escape, or a lookup json_slice cannot answer, is left to
 * the statement's own SQL (?12 = 0).  Both give the same value.
 */
static void
sqlite_bind_correlation(sqlite3_stmt *s, const char *meta, size_t meta_len)
{
	struct json_span v;
	const char *dash;

	sqlite3_bind_null(s, 8);
	sqlite3_bind_int(s, 12, 1);
	if (meta == NULL)
		return;
	switch (json_slice_member(meta, meta_len, "correlationStreamName", &v)) {
	case JSON_SLICE_ABSENT:
		return;
	case JSON_SLICE_FOUND:
		if (v.len < 2 || v.p[0] != '"')
			return;		/* not a string: no correlation */
		if (memchr(v.p + 1, '\\', v.len - 2) == NULL) {
			dash = memchr(v.p + 1, '-', v.len - 2);
			sqlite3_bind_text(s, 8, v.p + 1, dash != NULL ?
			    (int)(dash - (v.p + 1)) : (int)(v.len - 2), SQLITE_STATIC);
			return;
		}
		break;
	case JSON_SLICE_UNSURE:
		break;
	}
	sqlite3_bind_int(s, 12, 0);
}

void
sqlite_bind_message(sqlite3_stmt *s, const struct store_import_record *m)
{
	const char *card;
	size_t card_len;

	sqlite3_bind_text(s, 1, m->id, (int)m->id_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, m->stream, (int)m->stream_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, m->stream,
	    (int)streamname_category_len(m->stream, m->stream_len), SQLITE_STATIC);
	sqlite3_bind_text(s, 4, m->type, (int)m->type_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, m->position);
	if (m->data != NULL)
		sqlite3_bind_text(s, 6, m->data, (int)m->data_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 6);
	if (m->metadata != NULL)
		sqlite3_bind_text(s, 7, m->metadata, (int)m->metadata_len,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 7);
	sqlite_bind_correlation(s, m->metadata, m->metadata_len);
	if (streamname_cardinal_id(m->stream, m->stream_len, &card, &card_len))
		sqlite3_bind_int64(s, 9, streamname_hash64(card, card_len));
	else
		sqlite3_bind_null(s, 9);
	sqlite3_bind_int64(s, 10, m->time_us);
}

/* A stream as a write sees it (write_stream_version). */
struct write_version {
	int64_t base;		/* the next message goes to base + 1: the highest
				 * position ever given, also after a delete */
	int64_t visible;	/* the version readers see, which expectations
				 * compare with: -1 when empty or deleted */
	bool tombstone;		/* hard-deleted: no write, ever */
	bool empty;		/* no message stored (for the stream count) */
};

/*
 * The stream's version and lifecycle state (stream_state, store.h's
 * stream.delete/truncate).  Every write, single or in a unit, asks here,
 * so that what a version is stays defined in one place.
 */
static enum evdb_status
write_stream_version(struct sqlite_conn *c, struct ns_handle *h,
    const char *stream, size_t stream_len, struct write_version *v)
{
	sqlite3_stmt *s;
	enum evdb_status rs;
	int rc;

	if ((rs = sqlite_ns_stmt(c, h, NS_STREAM_VERSION, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, stream, (int)stream_len, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		rs = sqlite_fail(c, h->db, rc, "stream version");
		sqlite_stmt_done(s);
		return rs;
	}
	v->base = sqlite3_column_int64(s, 0);
	v->visible = sqlite3_column_int64(s, 1);
	v->tombstone = sqlite3_column_int64(s, 2) != 0;
	v->empty = sqlite3_column_int64(s, 3) != 0;
	sqlite_stmt_done(s);
	return EVDB_OK;
}

/*
 * Looks m's id up (m->id set).  *found says whether a message holds it;
 * if so, r receives its positions and r->duplicate when it is m's retry,
 * or r->conflict naming what differs.  A status other than EVDB_OK is a
 * storage failure.
 */
static enum evdb_status
write_id_lookup(struct sqlite_conn *c, struct ns_handle *h,
    const struct store_message_in *m, struct store_write_result *r, bool *found)
{
	sqlite3_stmt *s = NULL;
	enum evdb_status rs;
	int rc;

	*found = false;
	if ((rs = sqlite_ns_stmt(c, h, NS_ID_LOOKUP, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, m->id, (int)m->id_len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*found = true;
		if ((r->conflict = write_retry_conflict(s, m)) == NULL) {
			r->position = sqlite3_column_int64(s, 1);
			r->global_position = sqlite3_column_int64(s, 2);
			r->duplicate = true;
		}
		sqlite_stmt_done(s);
		return EVDB_OK;
	}
	sqlite_stmt_done(s);
	return rc == SQLITE_DONE ? EVDB_OK : sqlite_fail(c, h->db, rc, "id lookup");
}

/*
 * Inserts m with id (id_len bytes) at position v->base + 1; r receives the
 * positions.  EVDB_ERR_LIMIT when the base is at STORE_POSITION_MAX,
 * anything else but EVDB_OK a storage failure.
 */
static enum evdb_status
write_insert(struct sqlite_conn *c, struct ns_handle *h,
    const struct store_message_in *m, const char *id, size_t id_len,
    const struct write_version *v, struct store_write_result *r,
    int64_t *added, int64_t *new_streams)
{
	int64_t current = v->base;
	struct store_import_record row;	/* the row as inserted */
	sqlite3_stmt *s;
	enum evdb_status rs;
	int rc;

	if (current >= STORE_POSITION_MAX)
		return EVDB_ERR_LIMIT;	/* current + 1 must stay in range */
	if ((rs = sqlite_ns_stmt(c, h, NS_INSERT, &s)) != EVDB_OK)
		return rs;
	memset(&row, 0, sizeof(row));
	row.id = id;
	row.id_len = id_len;
	row.stream = m->stream;
	row.stream_len = m->stream_len;
	row.type = m->type;
	row.type_len = m->type_len;
	row.position = current + 1;
	row.data = m->data;
	row.data_len = m->data_len;
	row.metadata = m->metadata;
	row.metadata_len = m->metadata_len;
	row.time_us = timefmt_now_us();
	sqlite_bind_message(s, &row);
	rc = write_step_done(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_OK)
		return sqlite_fail(c, h->db, rc, "insert message");
	r->position = current + 1;
	r->global_position = sqlite3_last_insert_rowid(h->db);
	(*added)++;
	if (v->empty)
		(*new_streams)++;
	return EVDB_OK;
}

/*
 * Applies one single write inside the open transaction.  Returns EVDB_OK,
 * EVDB_ERR_VERSION_CONFLICT, EVDB_ERR_ID_CONFLICT, EVDB_ERR_GONE (a
 * tombstoned stream) or EVDB_ERR_LIMIT (the stream is at
 * STORE_POSITION_MAX) for outcomes that leave the transaction usable,
 * anything else for a storage failure.
 */
static enum evdb_status
write_one(struct sqlite_conn *c, struct ns_handle *h, struct write_item *it,
    int64_t *added, int64_t *new_streams)
{
	const struct store_message_in *m = it->in;
	struct store_write_result *r = it->res;
	enum evdb_status rs;
	char genid[UUID_STR_LEN + 1];
	const char *id = m->id;
	size_t id_len = m->id_len;
	struct write_version v;
	bool found;

	memset(r, 0, sizeof(*r));
	if (id != NULL) {
		/* Idempotency first (CONTRACT.md point 4), then expectedVersion. */
		if ((rs = write_id_lookup(c, h, m, r, &found)) != EVDB_OK)
			return rs;
		if (found)
			return r->duplicate ? EVDB_OK : EVDB_ERR_ID_CONFLICT;
	} else {
		if ((rs = uuid_v7_generate(&c->uuid, genid)) != EVDB_OK)
			return rs;
		id = genid;
		id_len = UUID_STR_LEN;
	}

	if ((rs = write_stream_version(c, h, m->stream, m->stream_len, &v)) !=
	    EVDB_OK)
		return rs;
	if (v.tombstone)
		return EVDB_ERR_GONE;
	if (!store_expect_met(m->expect, m->expected_version, v.visible)) {
		r->actual_version = v.visible;
		return EVDB_ERR_VERSION_CONFLICT;
	}
	return write_insert(c, h, m, id, id_len, &v, r, added, new_streams);
}

/*
 * Checks a unit's ids (EXTENSIONS.md section 2): EVDB_OK with
 * *retry set when every entry is an idempotent retry (it->res holds the
 * stored positions), EVDB_OK when no id is stored, EVDB_ERR_ID_CONFLICT
 * (it->batch says which and why) otherwise, anything else for a storage
 * failure.
 */
static enum evdb_status
write_unit_ids(struct sqlite_conn *c, struct ns_handle *h, struct write_item *it,
    bool *retry)
{
	struct store_batch_result *br = it->batch;
	enum evdb_status rs;
	size_t i, stored = 0, first_stored = 0;
	bool found;

	*retry = false;
	for (i = 0; i < it->n; i++) {
		if (it->in[i].id == NULL)
			continue;
		if ((rs = write_id_lookup(c, h, &it->in[i], &it->res[i], &found)) !=
		    EVDB_OK)
			return rs;
		if (!found)
			continue;
		if (!it->res[i].duplicate) {
			br->index = i;
			br->conflict = it->res[i].conflict;
			return EVDB_ERR_ID_CONFLICT;
		}
		if (stored++ == 0)
			first_stored = i;
	}
	if (stored == 0)
		return EVDB_OK;
	if (stored < it->n) {
		br->index = first_stored;	/* stored, while others are new */
		br->conflict = NULL;
		return EVDB_ERR_ID_CONFLICT;
	}
	*retry = true;
	return EVDB_OK;
}

/*
 * Applies one unit (a batch.write) inside the open transaction: its ids,
 * then its expectations against the store as it was before it, then its
 * messages in order inside a savepoint.  *head is the namespace's head,
 * moved on by what the unit writes.  Returns EVDB_OK,
 * EVDB_ERR_VERSION_CONFLICT, EVDB_ERR_ID_CONFLICT, EVDB_ERR_GONE (an entry
 * names a tombstoned stream; it->batch->index says which) or
 * EVDB_ERR_LIMIT, which leave the transaction usable and the unit
 * unwritten, anything else for a storage failure.
 */
static enum evdb_status
write_unit(struct sqlite_conn *c, struct ns_handle *h, struct write_item *it,
    int64_t *added, int64_t *new_streams, int64_t *head)
{
	struct store_batch_result *br = it->batch;
	const struct store_stream_expect *x;
	enum evdb_status rs;
	char genid[UUID_STR_LEN + 1];
	const char *id;
	size_t i, id_len;
	struct write_version v;
	enum evdb_status refusal;
	int64_t unit_added = 0, unit_new = 0, head_before = *head;
	bool retry;

	memset(it->res, 0, it->n * sizeof(*it->res));
	if ((rs = write_unit_ids(c, h, it, &retry)) != EVDB_OK || retry)
		return rs;
	for (i = 0; i < it->n_expect; i++) {
		x = &it->expect[i];
		if ((rs = write_stream_version(c, h, x->stream, x->stream_len,
		    &v)) != EVDB_OK)
			return rs;
		if (!store_expect_met(x->expect, x->expected_version, v.visible)) {
			br->index = i;
			br->actual_version = v.visible;
			return EVDB_ERR_VERSION_CONFLICT;
		}
	}

	if ((rs = sqlite_ns_exec(c, h, NS_UNIT_SAVEPOINT, "savepoint")) != EVDB_OK)
		return rs;
	for (i = 0; i < it->n; i++) {
		const struct store_message_in *m = &it->in[i];

		if (*head >= STORE_POSITION_MAX) {
			rs = EVDB_ERR_LIMIT;
			break;
		}
		if ((id = m->id) != NULL)
			id_len = m->id_len;
		else {
			if ((rs = uuid_v7_generate(&c->uuid, genid)) != EVDB_OK)
				break;
			id = genid;
			id_len = UUID_STR_LEN;
		}
		/* Sees the unit's own earlier messages: positions stay gapless. */
		if ((rs = write_stream_version(c, h, m->stream, m->stream_len,
		    &v)) != EVDB_OK)
			break;
		if (v.tombstone) {
			rs = EVDB_ERR_GONE;
			break;
		}
		if ((rs = write_insert(c, h, m, id, id_len, &v, &it->res[i],
		    &unit_added, &unit_new)) != EVDB_OK)
			break;
		*head = it->res[i].global_position;
	}
	if (rs == EVDB_OK) {
		if ((rs = sqlite_ns_exec(c, h, NS_UNIT_RELEASE, "release")) != EVDB_OK)
			return rs;
		*added += unit_added;
		*new_streams += unit_new;
		return EVDB_OK;
	}
	if (rs != EVDB_ERR_LIMIT && rs != EVDB_ERR_GONE)
		return rs;	/* a storage failure: the whole batch rolls back */
	/* Nothing of the unit stays; rowids above head_before are free again. */
	refusal = rs;
	*head = head_before;
	memset(it->res, 0, it->n * sizeof(*it->res));
	br->index = i;
	if ((rs = sqlite_ns_exec(c, h, NS_UNIT_ROLLBACK_TO, "rollback to")) !=
	    EVDB_OK || (rs = sqlite_ns_exec(c, h, NS_UNIT_RELEASE, "release")) !=
	    EVDB_OK)
		return rs;
	return refusal;
}

/*
 * Reads the head (0 when empty) at the start of a batch.  A head at
 * STORE_POSITION_MAX refuses further writes with EVDB_ERR_LIMIT instead of
 * letting SQLite, past INT64_MAX, pick a rowid at random.
 */
static enum evdb_status
write_head(struct sqlite_conn *c, struct ns_handle *h, int64_t *head)
{
	sqlite3_stmt *s;
	enum evdb_status rs;

	if ((rs = sqlite_ns_stmt(c, h, NS_HEAD, &s)) != EVDB_OK)
		return rs;
	return sqlite_step_int64(c, h->db, s, "head", 0, head);
}

/* Runs one batch in one transaction; sets every item's status. */
static void
write_batch(struct sqlite_conn *c, struct ns_handle *h, struct write_item *batch)
{
	struct write_item *it;
	enum evdb_status rs;
	int64_t added = 0, new_streams = 0, head_before, head;
	sqlite3_stmt *s;
	int rc;

	c->errmsg[0] = '\0';
	if ((rs = sqlite_ns_exec(c, h, NS_BEGIN_IMMEDIATE, "begin")) != EVDB_OK ||
	    (rs = write_head(c, h, &head_before)) != EVDB_OK)
		goto fail;
	head = head_before;
	for (it = batch; it != NULL; it = it->next) {
		if (head >= STORE_POSITION_MAX) {
			memset(it->res, 0, sizeof(*it->res));
			it->status = EVDB_ERR_LIMIT;
			continue;
		}
		if (it->batch != NULL) {
			it->status = write_unit(c, h, it, &added, &new_streams, &head);
			if (it->status == EVDB_OK)
				it->batch->duplicate = it->res[0].duplicate;
		} else
			it->status = write_one(c, h, it, &added, &new_streams);
		if (it->status != EVDB_OK && it->status != EVDB_ERR_VERSION_CONFLICT &&
		    it->status != EVDB_ERR_ID_CONFLICT && it->status != EVDB_ERR_LIMIT &&
		    it->status != EVDB_ERR_GONE) {
			rs = it->status;
			goto fail;
		}
		if (it->batch == NULL && it->status == EVDB_OK && !it->res->duplicate)
			head = it->res->global_position;
	}
	if ((rs = sqlite_invariant_commit(c, h, head_before, added, "a write batch")) !=
	    EVDB_OK)
		goto fail;
	if (added > 0) {
		if ((rs = sqlite_ns_stmt(c, h, NS_STATS_ADD, &s)) != EVDB_OK)
			goto fail;
		sqlite3_bind_int64(s, 1, added);
		sqlite3_bind_int64(s, 2, new_streams);
		sqlite3_bind_int64(s, 3, timefmt_now_us());
		if ((rc = write_step_done(s)) != SQLITE_OK) {
			rs = sqlite_fail(c, h->db, rc, "update stats");
			goto fail;
		}
	}
	if ((rs = sqlite_ns_exec(c, h, NS_COMMIT, "commit")) != EVDB_OK)
		goto fail;
	if (added > 0)
		sqlite_poke_signal(h, head);	/* not the last rowid: a unit may
						 * have rolled its rows back */
	return;
fail:
	sqlite_ns_rollback(c, h);
	for (it = batch; it != NULL; it = it->next) {
		it->status = rs;
		snprintf(it->errmsg, sizeof(it->errmsg), "%s", c->errmsg);
	}
}

/*
 * The connection a leader commits on: the queue's own, so that one
 * connection makes every commit to the file and its page cache stays
 * valid from one batch to the next.  (A connection that finds the file
 * changed by another connection drops its whole cache and reads the pages
 * again; when each leader used its own connection, every batch did.)  If
 * it cannot be opened, the leader's own connection serves.
 */
static struct ns_handle *
write_queue_writer(struct sqlite_conn *c, struct write_queue *q,
    struct ns_handle *own)
{
	char err[512];

	/* The leader alone touches q->writer while leader_active is set. */
	if (q->writer == NULL) {
		sqlite_queue_writers_trim(c->st, q);
		if (sqlite_handle_open(c->st, q->path, &q->writer, err,
		    sizeof(err)) != EVDB_OK) {
			log_warn(c->st->log, "store: writer connection to %s: %s",
			    q->path, err);
			return own;
		}
		atomic_fetch_add(&c->st->writers_open, 1);
	}
	return q->writer;
}

/*
 * Under durability full each commit costs an fsync, and the writers that
 * the last commit answered come back (through nginx and the client) just
 * after the next leader has taken a small batch.  So a new leader under
 * full, finding fewer items queued than the last batch held, waits for
 * them: until as many are queued, or a quarter of the last commit's time
 * (at most WRITE_GATHER_MAX_NS) has passed, whichever comes first.  It
 * holds the leadership meanwhile (arrivals queue behind it) and takes
 * nothing off the queue until it stops waiting, so what a batch holds and
 * when it is acknowledged (after its commit) are as without the wait.
 * Called with q->mu held; cv is the leader's own item's.
 */
#define WRITE_GATHER_MAX_NS 1000000

static void
write_gather(struct write_queue *q, pthread_cond_t *cv)
{
	struct timespec until;
	uint64_t wait_ns = q->last_commit_ns / 4;

	if (q->queued >= q->last_batch || q->last_batch <= 1 || wait_ns == 0)
		return;
	if (wait_ns > WRITE_GATHER_MAX_NS)
		wait_ns = WRITE_GATHER_MAX_NS;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)wait_ns;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	q->gather_want = q->last_batch;
	q->gather_cv = cv;
	while (q->queued < q->gather_want &&
	    pthread_cond_timedwait(cv, &q->mu, &until) == 0)
		;
	q->gather_cv = NULL;
	q->gather_want = 0;
}

/*
 * Queues item on the namespace's group-commit queue and returns once a
 * leader (this thread or another) has run it; its status is the outcome.
 */
static enum evdb_status
write_enqueue(struct sqlite_conn *c, const char *ns, struct write_item *item)
{
	struct write_item *batch, *it, **pp;
	struct write_queue *q;
	struct ns_entry *e;
	struct ns_handle *h;
	enum evdb_status rs;
	char *path;
	size_t n, k;
	uint64_t t0, t1;

	if ((rs = sqlite_ns_handle(c, ns, &e, &h)) != EVDB_OK)
		return rs;
	if (h->queue == NULL) {
		/* The handle's first write finds the file's shared queue. */
		path = sqlite_ns_path(c->st, ns, e->generation);
		h->queue = sqlite_write_queue(c->st, path);
		free(path);
	}
	q = h->queue;
	pthread_cond_init(&item->cv, NULL);

	pthread_mutex_lock(&q->mu);
	*q->tailp = item;
	q->tailp = &item->next;
	q->queued++;
	if (q->gather_cv != NULL && q->queued >= q->gather_want)
		pthread_cond_signal(q->gather_cv);
	while (!item->done) {
		if (q->leader_active) {
			/* Each writer sleeps on its own item: no herd wakes per batch. */
			pthread_cond_wait(&item->cv, &q->mu);
			continue;
		}
		/*
		 * Lead: take items off the queue up to WRITE_BATCH_MAX messages
		 * (a unit counts its messages; the first item always goes).
		 */
		q->leader_active = true;
		if (c->st->durability == DURABILITY_FULL)
			write_gather(q, &item->cv);
		batch = q->head;
		for (k = 0, n = 0, pp = &q->head; *pp != NULL &&
		    (n == 0 || n + (*pp)->n <= WRITE_BATCH_MAX); pp = &(*pp)->next) {
			n += (*pp)->n;
			k++;
		}
		q->head = *pp;
		*pp = NULL;
		if (q->head == NULL)
			q->tailp = &q->head;
		q->queued -= k;
		pthread_mutex_unlock(&q->mu);

		t0 = sqlite_queue_clock_ns();
		write_batch(c, write_queue_writer(c, q, h), batch);
		t1 = sqlite_queue_clock_ns();

		pthread_mutex_lock(&q->mu);
		q->last_batch = k;
		q->last_commit_ns = t1 - t0;
		if (q->release_writer) {
			/* Rare (a namespace deleted mid-batch): closed under the lock. */
			sqlite_queue_writer_close(c->st, q->writer);
			q->writer = NULL;
			q->release_writer = false;
		}
		q->last_used_ns = sqlite_queue_clock_ns();
		for (it = batch; it != NULL; it = it->next) {
			it->done = true;
			if (it != item)
				pthread_cond_signal(&it->cv);
		}
		q->leader_active = false;
		/* The oldest waiting writer leads the next batch. */
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
sqlite_write(struct sqlite_conn *c, const char *ns,
    const struct store_message_in *m, struct store_write_result *r)
{
	struct write_item item;

	memset(&item, 0, sizeof(item));
	item.in = m;
	item.n = 1;
	item.res = r;
	return write_enqueue(c, ns, &item);
}

enum evdb_status
sqlite_write_batch(struct sqlite_conn *c, const char *ns,
    const struct store_message_in *msgs, size_t n,
    const struct store_stream_expect *expect, size_t n_expect,
    struct store_write_result *res, struct store_batch_result *br)
{
	struct write_item item;

	memset(&item, 0, sizeof(item));
	item.in = msgs;
	item.n = n;
	item.res = res;
	item.batch = br;
	item.expect = expect;
	item.n_expect = n_expect;
	return write_enqueue(c, ns, &item);
}
