/*
 * sqlite_import.c - bulk import with the positions the records carry.
 *
 * Imports bypass the group-commit queue: a batch is one BEGIN IMMEDIATE
 * transaction on the caller's connection, so the SQLite write lock orders
 * it against ordinary writes, which keep taking max(global_position) + 1.
 *
 * Each record is checked against what the transaction sees, the batch's
 * earlier records included: first by its global position (identical: a
 * resumed import, skipped; different: refused), then against the head and
 * its stream's version, then its id.  The checks come before the insert,
 * so a refusal names the record and the reason instead of leaving it to a
 * UNIQUE constraint, and positions stay gapless and above the head, which
 * readers in global order and expectedVersion rely on.
 */
#include "config.h"

#include <string.h>

#include "store/sqlite/sqlite_internal.h"
#include "store/sqlite/sqlite_invariant.h"
#include "core/streamname.h"

enum evdb_status
sqlite_import_clear(struct sqlite_conn *c, const char *ns)
{
	struct ns_handle *h;
	enum evdb_status rs;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
		return rs;
	if ((rs = sqlite_ns_exec(c, h, NS_BEGIN_IMMEDIATE, "begin")) != EVDB_OK ||
	    (rs = sqlite_ns_exec(c, h, NS_CLEAR, "clear namespace")) != EVDB_OK ||
	    (rs = sqlite_ns_exec(c, h, NS_CONSUMER_CLEAR,
	    "clear checkpoints")) != EVDB_OK ||
	    (rs = sqlite_lifecycle_reset(c, h)) != EVDB_OK ||
	    (rs = sqlite_ns_exec(c, h, NS_STATS_RECOMPUTE, "recompute stats")) != EVDB_OK ||
	    (rs = sqlite_ns_exec(c, h, NS_COMMIT, "commit")) != EVDB_OK)
		sqlite_ns_rollback(c, h);
	return rs;
}

/* The message stored at a global position, to tell a resumed record. */
static const char import_at_sql[] =
    "SELECT id, stream_name, type, position, data, metadata, time_us"
    " FROM messages WHERE global_position = ?1";

/* True when column col of s holds exactly text[0..len) (NULL for NULL). */
static bool
import_column_is(sqlite3_stmt *s, int col, const char *text, size_t len)
{
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return text == NULL;
	if (text == NULL || (size_t)sqlite3_column_bytes(s, col) != len)
		return false;
	return len == 0 || memcmp(sqlite3_column_blob(s, col), text, len) == 0;
}

/*
 * Looks m up by its global position: *stored is false when the position is
 * free, else *same tells whether the stored message is m, field by field.
 */
static enum evdb_status
import_lookup(struct sqlite_conn *c, struct ns_handle *h, sqlite3_stmt *at,
    const struct store_import_record *m, bool *stored, bool *same)
{
	int rc;

	*stored = *same = false;
	sqlite3_bind_int64(at, 1, m->global_position);
	rc = sqlite3_step(at);
	if (rc == SQLITE_ROW) {
		*stored = true;
		*same = import_column_is(at, 0, m->id, m->id_len) &&
		    import_column_is(at, 1, m->stream, m->stream_len) &&
		    import_column_is(at, 2, m->type, m->type_len) &&
		    sqlite3_column_int64(at, 3) == m->position &&
		    import_column_is(at, 4, m->data, m->data_len) &&
		    import_column_is(at, 5, m->metadata, m->metadata_len) &&
		    sqlite3_column_int64(at, 6) == m->time_us;
		rc = SQLITE_DONE;
	}
	sqlite3_reset(at);
	return rc == SQLITE_DONE ? EVDB_OK : sqlite_fail(c, h->db, rc, "import lookup");
}

/* Sets *taken when another message carries m's id. */
static enum evdb_status
import_id_taken(struct sqlite_conn *c, struct ns_handle *h,
    const struct store_import_record *m, bool *taken)
{
	sqlite3_stmt *s;
	enum evdb_status rs;
	int rc;

	if ((rs = sqlite_ns_stmt(c, h, NS_ID_LOOKUP, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, m->id, (int)m->id_len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*taken = rc == SQLITE_ROW;
	sqlite_stmt_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? EVDB_OK
	    : sqlite_fail(c, h->db, rc, "id lookup");
}

/* Inserts m with its positions. */
static enum evdb_status
import_insert(struct sqlite_conn *c, struct ns_handle *h,
    const struct store_import_record *m)
{
	sqlite3_stmt *s;
	enum evdb_status rs;
	int rc;

	if ((rs = sqlite_ns_stmt(c, h, NS_IMPORT_INSERT, &s)) != EVDB_OK)
		return rs;
	sqlite_bind_message(s, m);
	sqlite3_bind_int64(s, 11, m->global_position);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE)
		return EVDB_OK;
	/* The checks before make a constraint failure a bug: say so. */
	rs = sqlite_fail(c, h->db, rc, "import");
	return (rc & 0xff) == SQLITE_CONSTRAINT ? EVDB_ERR_EXISTS : rs;
}

/*
 * Applies the import rules (store.h) to m inside the open transaction;
 * *head is the head so far.  EVDB_OK with out->refusal set means refused.
 */
static enum evdb_status
import_one(struct sqlite_conn *c, struct ns_handle *h, sqlite3_stmt *at,
    const struct store_import_record *m, int64_t *head,
    struct store_import_outcome *out)
{
	sqlite3_stmt *s;
	enum evdb_status rs;
	int64_t version;
	bool stored, same, taken;

	if (m->position < 0 || m->position > STORE_POSITION_MAX ||
	    m->global_position < 1 || m->global_position > STORE_POSITION_MAX) {
		out->refusal = STORE_IMPORT_TOO_HIGH;
		return EVDB_OK;
	}
	if ((rs = import_lookup(c, h, at, m, &stored, &same)) != EVDB_OK)
		return rs;
	if (stored) {
		if (same)
			out->skipped++;
		else
			out->refusal = STORE_IMPORT_DIFFERS;
		return EVDB_OK;
	}
	if (m->global_position <= *head) {
		out->refusal = STORE_IMPORT_BEHIND_HEAD;
		out->head = *head;
		return EVDB_OK;
	}
	if ((rs = sqlite_ns_stmt(c, h, NS_STREAM_VERSION, &s)) != EVDB_OK)
		return rs;
	sqlite3_bind_text(s, 1, m->stream, (int)m->stream_len, SQLITE_STATIC);
	if ((rs = sqlite_step_int64(c, h->db, s, "stream version", -1, &version)) !=
	    EVDB_OK)
		return rs;
	if (m->position != version + 1) {
		out->refusal = STORE_IMPORT_NOT_NEXT;
		out->version = version;
		return EVDB_OK;
	}
	if ((rs = import_id_taken(c, h, m, &taken)) != EVDB_OK)
		return rs;
	if (taken) {
		out->refusal = STORE_IMPORT_ID_TAKEN;
		return EVDB_OK;
	}
	if ((rs = import_insert(c, h, m)) != EVDB_OK)
		return rs;
	*head = m->global_position;
	out->inserted++;
	return EVDB_OK;
}

static const enum evdb_status import_refusal_status[] = {
	[STORE_IMPORT_ACCEPTED] = EVDB_OK,
	[STORE_IMPORT_DIFFERS] = EVDB_ERR_EXISTS,
	[STORE_IMPORT_ID_TAKEN] = EVDB_ERR_EXISTS,
	[STORE_IMPORT_BEHIND_HEAD] = EVDB_ERR_INVALID,
	[STORE_IMPORT_NOT_NEXT] = EVDB_ERR_INVALID,
	[STORE_IMPORT_TOO_HIGH] = EVDB_ERR_LIMIT,
};

enum evdb_status
sqlite_import_batch(struct sqlite_conn *c, const char *ns,
    const struct store_import_record *recs, size_t n, bool clear,
    struct store_import_outcome *out)
{
	struct ns_handle *h;
	sqlite3_stmt *at = NULL, *s;
	enum evdb_status rs;
	int64_t head_before, head;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
		return rs;
	if ((rs = sqlite_ns_exec(c, h, NS_BEGIN_IMMEDIATE, "begin")) != EVDB_OK)
		return rs;
	if (clear && ((rs = sqlite_ns_exec(c, h, NS_CLEAR, "clear namespace")) !=
	    EVDB_OK || (rs = sqlite_ns_exec(c, h, NS_CONSUMER_CLEAR,
	    "clear checkpoints")) != EVDB_OK ||
	    (rs = sqlite_lifecycle_reset(c, h)) != EVDB_OK))
		goto fail;
	if ((rs = sqlite_ns_stmt(c, h, NS_HEAD, &s)) != EVDB_OK ||
	    (rs = sqlite_step_int64(c, h->db, s, "head", 0, &head_before)) != EVDB_OK)
		goto fail;
	rc = sqlite3_prepare_v2(h->db, import_at_sql, -1, &at, NULL);
	if (rc != SQLITE_OK) {
		rs = sqlite_fail(c, h->db, rc, "prepare import lookup");
		goto fail;
	}
	head = head_before;
	for (i = 0; i < n; i++) {
		if ((rs = import_one(c, h, at, &recs[i], &head, out)) != EVDB_OK)
			goto fail;
		if (out->refusal != STORE_IMPORT_ACCEPTED) {
			out->refused = i;
			rs = import_refusal_status[out->refusal];
			goto fail;
		}
	}
	if ((rs = sqlite_invariant_commit(c, h, head_before, (int64_t)out->inserted,
	    "an import")) != EVDB_OK)
		goto fail;
	if (clear && (rs = sqlite_ns_exec(c, h, NS_STATS_RECOMPUTE,
	    "recompute stats")) != EVDB_OK)
		goto fail;
	if ((rs = sqlite_ns_exec(c, h, NS_COMMIT, "commit")) != EVDB_OK)
		goto fail;
	sqlite3_finalize(at);
	if (out->inserted > 0)
		sqlite_poke_signal(h, head);
	return EVDB_OK;
fail:
	sqlite3_finalize(at);
	sqlite_ns_rollback(c, h);
	out->inserted = out->skipped = 0;
	return rs;
}

enum evdb_status
sqlite_import_finish(struct sqlite_conn *c, const char *ns)
{
	struct ns_handle *h;
	enum evdb_status rs;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
		return rs;
	return sqlite_ns_exec(c, h, NS_STATS_RECOMPUTE, "recompute stats");
}
