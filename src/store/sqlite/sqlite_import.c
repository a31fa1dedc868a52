/*
 * sqlite_import.c - bulk import with the positions the records carry.
 *
 * Imports bypass the group-commit queue: a batch is one BEGIN IMMEDIATE
 * transaction on the caller's connection, so the SQLite write lock orders
 * it against ordinary writes, which keep taking max(global_position) + 1.
 */
#include "config.h"

#include "store/sqlite/sqlite_internal.h"
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
	    (rs = sqlite_ns_exec(c, h, NS_STATS_RECOMPUTE, "recompute stats")) != EVDB_OK ||
	    (rs = sqlite_ns_exec(c, h, NS_COMMIT, "commit")) != EVDB_OK)
		sqlite_ns_rollback(c, h);
	return rs;
}

enum evdb_status
sqlite_import_batch(struct sqlite_conn *c, const char *ns,
    const struct store_import_record *recs, size_t n)
{
	const struct store_import_record *m;
	struct ns_handle *h;
	sqlite3_stmt *s;
	enum evdb_status rs;
	const char *card;
	size_t i, card_len;
	int rc;

	if ((rs = sqlite_ns_handle(c, ns, NULL, &h)) != EVDB_OK)
		return rs;
	if ((rs = sqlite_ns_exec(c, h, NS_BEGIN_IMMEDIATE, "begin")) != EVDB_OK)
		return rs;
	if ((rs = sqlite_ns_stmt(c, h, NS_IMPORT_INSERT, &s)) != EVDB_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		m = &recs[i];
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
		if (streamname_cardinal_id(m->stream, m->stream_len, &card, &card_len))
			sqlite3_bind_int64(s, 9, streamname_hash64(card, card_len));
		else
			sqlite3_bind_null(s, 9);
		sqlite3_bind_int64(s, 10, m->time_us);
		sqlite3_bind_int64(s, 11, m->global_position);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		if (rc != SQLITE_DONE) {
			if ((rc & 0xff) == SQLITE_CONSTRAINT) {
				sqlite_fail(c, h->db, rc, "import");
				rs = EVDB_ERR_EXISTS;
			} else
				rs = sqlite_fail(c, h->db, rc, "import");
			goto fail;
		}
	}
	if ((rs = sqlite_ns_exec(c, h, NS_COMMIT, "commit")) != EVDB_OK)
		goto fail;
	if (n > 0)
		sqlite_poke_signal(h, recs[n - 1].global_position);
	return EVDB_OK;
fail:
	sqlite_ns_rollback(c, h);
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
