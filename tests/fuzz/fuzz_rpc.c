/*
 * tests/fuzz/fuzz_rpc.c - fuzzes POST /rpc: arbitrary bytes as the request
 * body through the real dispatcher, rpc_serve(), on a detached request
 * authenticated as namespace "default" (the admin), with the real store on
 * a temporary data directory.
 *
 * Every answer must be well-formed (fuzz_check_answer): an allowed status,
 * JSON, the error envelope for errors.  Successful answers of the message
 * methods are also checked for their shape: stream.write returns positions
 * that the store then reports, reads return rows in position order.
 *
 * Second round (issue 14):
 *  - one input may hold up to FUZZ_RPC_CALLS calls separated by
 *    FUZZ_RPC_SEP (which no valid JSON body contains), run in order on the
 *    same store, so that a retry and a changed retry of one write (the 409
 *    MESSAGE_ID_CONFLICT) are reached from one input;
 *  - a 200 write is readable: the message at its position has the
 *    canonical form of the given id (any accepted spelling) and its type,
 *    and an identical write with an id repeated in the same input answers
 *    the same positions (an idempotent retry);
 *  - the read byte cap (--max-response-bytes) is small for two inputs in
 *    three, so short pages are cut often: a page of more than one row keeps
 *    its rows within the cap;
 *  - a 200 ns.create with options.token only ever accepts a strong secret
 *    (token_check_secret).
 *
 * Third round (issue 14, the surface merged since): batch.write answers one
 * {globalPosition,position} per entry, global positions rising, and each
 * entry is readable at its position with its type and id; stream.get with
 * "direction":"backward" is in descending order; rows of a read with
 * "types" carry one of them; category.get with "checkpoint" (and no
 * position) starts after the stored checkpoint; checkpoint.commit answers
 * {position,updatedAt} and the store then holds that position;
 * checkpoint.get is null or {position,updatedAt}; checkpoint.list is sorted
 * and well-formed; checkpoint.delete is {deleted:N}; sys.health has its
 * fields (and a well-formed "pool" where the backend has one).
 * A read with "wait" is never held here: rpc_wait_hold() answers at once
 * on a detached request (fcgi == NULL), so the harness cannot hang on it,
 * and fuzz_check_answer() fails any answer left streaming.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "core/uuid.h"
#include "rpc/rpc.h"

/* Number of fields of a stream.get row ([id,type,pos,gpos,data,meta,time]). */
#define FUZZ_ROW_FIELDS 7

/* Separates the calls of one input: no valid JSON text contains it. */
#define FUZZ_RPC_SEP "\n--\n"

/* Most calls run from one input. */
#define FUZZ_RPC_CALLS 8

/*
 * Read byte caps, picked by the input's size (settings allow 1024 and up):
 * small ones cut short pages often; the largest still bounds what one
 * read costs, since one input may write several messages per run.
 */
static const long fuzz_rpc_caps[] = { 1024, 2048, 8192 };

/*
 * Runs per store: up to FUZZ_RPC_CALLS writes a run fill streams fast,
 * and every read re-parses its answer under ASan.
 */
#define FUZZ_RPC_RECYCLE_RUNS 1000

/* A 200 write of the current input, for the retry check. */
struct fuzz_rpc_done {
	const uint8_t *call;	/* the call's bytes (in the input) */
	size_t len;		/* their length */
	int64_t pos;		/* the answered position */
	int64_t gpos;		/* the answered global position */
};

/* The first row read back by fuzz_rpc_read_one. */
struct fuzz_rpc_row {
	char id[UUID_STR_LEN + 8];	/* its id (cut; NUL-terminated) */
	size_t id_len;			/* the id's full length */
	char *type;			/* its type (malloc'd), or NULL */
	size_t type_len;		/* the type's length */
	int64_t pos;			/* its position */
	int rows;			/* rows seen */
};

/*
 * libFuzzer's entry points take no context, so the harness's environment
 * is the one mutable global here; nothing else in the process uses it.
 */
static struct fuzz_env fuzz_rpc_env;

/* Set from $FUZZ_SHOW at init: print every answer to stderr. */
static bool fuzz_rpc_show;

/* Integer field i of array a, or fails. */
static int64_t
fuzz_rpc_int_at(const struct request *r, struct json_object *a, size_t i,
    const char *what)
{
	struct json_object *v = json_object_array_get_idx(a, i);

	if (!json_object_is_type(v, json_type_int))
		fuzz_fail(r, "%s: field %zu of a row is not an integer", what, i);
	return json_object_get_int64(v);
}

/* True when options opts of a read ask for "direction":"backward". */
static bool
fuzz_rpc_backward(struct json_object *opts)
{
	struct json_object *d;

	return json_object_is_type(opts, json_type_object) &&
	    json_object_object_get_ex(opts, "direction", &d) &&
	    json_object_is_type(d, json_type_string) &&
	    strcmp(json_object_get_string(d), "backward") == 0;
}

/* True when types (an array of strings, or NULL: any) holds type t. */
static bool
fuzz_rpc_type_in(struct json_object *types, struct json_object *t)
{
	size_t i, n;

	if (types == NULL)
		return true;
	if (!json_object_is_type(t, json_type_string))
		return false;
	n = json_object_array_length(types);
	for (i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(types, i);

		if (json_object_is_type(x, json_type_string) &&
		    json_object_get_string_len(x) == json_object_get_string_len(t) &&
		    memcmp(json_object_get_string(x), json_object_get_string(t),
		    (size_t)json_object_get_string_len(t)) == 0)
			return true;
	}
	return false;
}

/*
 * Checks the rows of a stream.get (by_stream) or category.get answer: an
 * array of arrays, ordered by position (stream) or global position,
 * descending when backward; with types (an array, or NULL), every row's
 * type is one of them; every global position is at least min_gpos.
 */
static void
fuzz_rpc_check_rows(const struct request *r, struct json_object *res,
    bool by_stream, bool backward, struct json_object *types,
    int64_t min_gpos, const char *what)
{
	size_t i, n, fields = by_stream ? FUZZ_ROW_FIELDS : FUZZ_ROW_FIELDS + 1;
	size_t pos_at = fields - 5;	/* position, then global position */
	int64_t prev_pos = -1, prev_gpos = 0;

	if (!json_object_is_type(res, json_type_array))
		fuzz_fail(r, "%s: the result is not an array", what);
	n = json_object_array_length(res);
	for (i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(res, i);
		int64_t pos, gpos;

		if (!json_object_is_type(row, json_type_array) ||
		    json_object_array_length(row) != fields)
			fuzz_fail(r, "%s: row %zu is not an array of %zu fields", what, i,
			    fields);
		pos = fuzz_rpc_int_at(r, row, pos_at, what);
		gpos = fuzz_rpc_int_at(r, row, pos_at + 1, what);
		if (pos < 0 || gpos < 1)
			fuzz_fail(r, "%s: row %zu has position %lld, global %lld", what, i,
			    (long long)pos, (long long)gpos);
		if (i > 0 && (backward ? gpos >= prev_gpos || pos >= prev_pos :
		    gpos <= prev_gpos || (by_stream && pos <= prev_pos)))
			fuzz_fail(r, "%s: row %zu is out of order", what, i);
		if (!fuzz_rpc_type_in(types, json_object_array_get_idx(row, pos_at - 1)))
			fuzz_fail(r, "%s: row %zu has a type not in options.types", what, i);
		if (gpos < min_gpos)
			fuzz_fail(r, "%s: row %zu at global %lld, before the checkpoint's"
			    " next %lld", what, i, (long long)gpos, (long long)min_gpos);
		prev_pos = pos;
		prev_gpos = gpos;
	}
}

/* store_message_fn: keeps the first row of a read in a fuzz_rpc_row. */
static enum evdb_status
fuzz_rpc_read_one(void *ctx, const struct store_message *m)
{
	struct fuzz_rpc_row *row = ctx;

	if (row->rows++ > 0)
		return EVDB_OK;
	row->id_len = m->id_len;
	snprintf(row->id, sizeof(row->id), "%.*s", (int)(m->id_len <
	    sizeof(row->id) ? m->id_len : sizeof(row->id) - 1), m->id);
	row->type = malloc(m->type_len + 1);
	if (row->type == NULL)
		fuzz_fail(NULL, "out of memory");
	memcpy(row->type, m->type, m->type_len);
	row->type[m->type_len] = '\0';
	row->type_len = m->type_len;
	row->pos = m->position;
	return EVDB_OK;
}

/*
 * Checks that the store holds, in stream s (a JSON string), a message at
 * position pos with type type (when a string) and the canonical form of id
 * (when a non-empty string; "" is no id): the stream's version reaches it.
 */
static void
fuzz_rpc_check_stored(struct fuzz_env *e, const struct request *r,
    const char *what, struct json_object *s, struct json_object *type,
    struct json_object *id, int64_t pos)
{
	struct store_stream_query q;
	struct fuzz_rpc_row row;
	char canon[UUID_STR_LEN + 1];
	int64_t version = -2;
	enum evdb_status rs;

	if (!json_object_is_type(s, json_type_string))
		fuzz_fail(r, "%s: 200 for a write without a stream name", what);
	rs = store_stream_version(e->conn, "default", json_object_get_string(s),
	    (size_t)json_object_get_string_len(s), &version);
	if (rs != EVDB_OK || version < pos)
		fuzz_fail(r, "%s: the stream's version is %lld (%s) after a"
		    " write at %lld", what, (long long)version, evdb_strerror(rs),
		    (long long)pos);

	memset(&q, 0, sizeof(q));
	q.stream = json_object_get_string(s);
	q.stream_len = (size_t)json_object_get_string_len(s);
	q.position = pos;
	q.limit = 1;
	memset(&row, 0, sizeof(row));
	rs = store_read_stream(e->conn, "default", &q, fuzz_rpc_read_one, &row);
	if (rs != EVDB_OK || row.rows != 1 || row.pos != pos)
		fuzz_fail(r, "%s: a 200 write at %lld is not readable (%s,"
		    " %d rows)", what, (long long)pos, evdb_strerror(rs), row.rows);
	if (json_object_is_type(id, json_type_string) &&
	    json_object_get_string_len(id) > 0) {	/* "": no id, as absent */
		if (uuid_canonical(json_object_get_string(id),
		    (size_t)json_object_get_string_len(id), canon) != EVDB_OK)
			fuzz_fail(r, "%s: 200 for an id that is not a UUID", what);
		if (row.id_len != UUID_STR_LEN || strcmp(row.id, canon) != 0)
			fuzz_fail(r, "%s: stored id %s, not the canonical %s", what,
			    row.id, canon);
	}
	if (json_object_is_type(type, json_type_string) &&
	    (row.type_len != (size_t)json_object_get_string_len(type) ||
	    memcmp(row.type, json_object_get_string(type), row.type_len) != 0))
		fuzz_fail(r, "%s: the stored type is not the one written"
		    " (a changed retry answered 200?)", what);
	free(row.type);
}

/* Reads {"position":P,"globalPosition":G} (exactly) into *pos, *gpos. */
static void
fuzz_rpc_positions(const struct request *r, struct json_object *res,
    const char *what, int64_t *pos, int64_t *gpos)
{
	struct json_object *p, *g;

	if (!json_object_is_type(res, json_type_object) ||
	    json_object_object_length(res) != 2 ||
	    !json_object_object_get_ex(res, "position", &p) ||
	    !json_object_object_get_ex(res, "globalPosition", &g) ||
	    !json_object_is_type(p, json_type_int) ||
	    !json_object_is_type(g, json_type_int))
		fuzz_fail(r, "%s: the result is not {globalPosition,position}", what);
	*pos = json_object_get_int64(p);
	*gpos = json_object_get_int64(g);
	if (*pos < 0 || *gpos < 1)
		fuzz_fail(r, "%s: impossible positions", what);
}

/* Member key of object o, or NULL (o may be anything). */
static struct json_object *
fuzz_rpc_key(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/*
 * Checks that a stream.write answer names a message the store now has
 * (fuzz_rpc_check_stored).  Returns the answered positions in *pos, *gpos.
 */
static void
fuzz_rpc_check_write(struct fuzz_env *e, const struct request *r,
    struct json_object *call, struct json_object *res, int64_t *pos,
    int64_t *gpos)
{
	struct json_object *msg = json_object_array_get_idx(call, 2);

	fuzz_rpc_positions(r, res, "stream.write", pos, gpos);
	if (!json_object_is_type(msg, json_type_object))
		fuzz_fail(r, "stream.write: 200 for a call without a message");
	fuzz_rpc_check_stored(e, r, "stream.write", json_object_array_get_idx(call, 1),
	    fuzz_rpc_key(msg, "type"),
	    fuzz_rpc_key(json_object_array_get_idx(call, 3), "id"), *pos);
}

/*
 * Checks a 200 batch.write: one {globalPosition,position} per entry, each
 * entry stored at its position with its type and id.  A batch with an
 * entry without id is new, so its global positions rise in entry order
 * and two entries of one stream get rising positions.  One whose every
 * entry has an id may be an idempotent retry, answered with the stored
 * positions: docs/api.md 6.14 also calls a retry a batch whose messages
 * were stored by other writes, in any order (the fuzzer's first finding
 * of this round was the harness asking more).
 */
static void
fuzz_rpc_check_batch(struct fuzz_env *e, const struct request *r,
    struct json_object *call, struct json_object *res)
{
	struct json_object *entries = json_object_array_get_idx(call, 1);
	int64_t pos, gpos, prev_gpos = 0;
	size_t i, j, n;
	bool fresh = false;	/* an entry without id: not a retry */

	if (!json_object_is_type(entries, json_type_array) ||
	    (n = json_object_array_length(entries)) == 0)
		fuzz_fail(r, "batch.write: 200 for a call without entries");
	for (i = 0; i < n; i++) {
		struct json_object *id = fuzz_rpc_key(
		    json_object_array_get_idx(entries, i), "id");

		if (!json_object_is_type(id, json_type_string) ||
		    json_object_get_string_len(id) == 0)
			fresh = true;
	}
	if (!json_object_is_type(res, json_type_array) ||
	    json_object_array_length(res) != n)
		fuzz_fail(r, "batch.write: the result is not a list of %zu positions", n);
	for (i = 0; i < n; i++) {
		struct json_object *en = json_object_array_get_idx(entries, i);

		fuzz_rpc_positions(r, json_object_array_get_idx(res, i), "batch.write",
		    &pos, &gpos);
		if (fresh && gpos <= prev_gpos)
			fuzz_fail(r, "batch.write: entry %zu at global %lld, not after %lld",
			    i, (long long)gpos, (long long)prev_gpos);
		prev_gpos = gpos;
		fuzz_rpc_check_stored(e, r, "batch.write", fuzz_rpc_key(en, "stream"),
		    fuzz_rpc_key(en, "type"), fuzz_rpc_key(en, "id"), pos);
		for (j = 0; fresh && j < i; j++) {
			struct json_object *sj = fuzz_rpc_key(
			    json_object_array_get_idx(entries, j), "stream");
			struct json_object *si = fuzz_rpc_key(en, "stream");
			int64_t pj, gj;

			if (strcmp(json_object_get_string(si), json_object_get_string(sj)) != 0)
				continue;
			fuzz_rpc_positions(r, json_object_array_get_idx(res, j),
			    "batch.write", &pj, &gj);
			if (pj >= pos)
				fuzz_fail(r, "batch.write: entries %zu and %zu of one stream at"
				    " %lld and %lld", j, i, (long long)pj, (long long)pos);
		}
	}
}

/* True when v is a string of the shape json_out_time writes. */
static bool
fuzz_rpc_is_time(struct json_object *v)
{
	const char *t;

	if (!json_object_is_type(v, json_type_string))
		return false;
	t = json_object_get_string(v);
	return json_object_get_string_len(v) >= 20 && t[4] == '-' && t[10] == 'T' &&
	    t[json_object_get_string_len(v) - 1] == 'Z';
}

/* Checks {"position":P,"updatedAt":T}; returns P. */
static int64_t
fuzz_rpc_check_cp_value(const struct request *r, struct json_object *res,
    const char *what)
{
	struct json_object *p = fuzz_rpc_key(res, "position");

	if (!json_object_is_type(res, json_type_object) ||
	    json_object_object_length(res) != 2 ||
	    !json_object_is_type(p, json_type_int) || json_object_get_int64(p) < 0 ||
	    !fuzz_rpc_is_time(fuzz_rpc_key(res, "updatedAt")))
		fuzz_fail(r, "%s: the result is not {position,updatedAt}", what);
	return json_object_get_int64(p);
}

/* store_consumer_fn: keeps the position found in *(int64_t *)ctx. */
static enum evdb_status
fuzz_rpc_cp_found(void *ctx, const struct store_consumer_checkpoint *cp)
{
	*(int64_t *)ctx = cp->position;
	return EVDB_OK;
}

/*
 * The stored position of checkpoint name (a JSON string) for member/size
 * (size 0: no group), or -1 when there is none.
 */
static int64_t
fuzz_rpc_cp_stored(struct fuzz_env *e, const struct request *r,
    struct json_object *name, int64_t member, int64_t size)
{
	struct store_consumer_key key;
	int64_t found = -1;
	enum evdb_status rs;

	memset(&key, 0, sizeof(key));
	key.name = json_object_get_string(name);
	key.name_len = (size_t)json_object_get_string_len(name);
	key.member = size > 0 ? member : 0;
	key.size = size > 0 ? size : 0;
	rs = store_consumer_get(e->conn, "default", &key, fuzz_rpc_cp_found, &found);
	if (rs != EVDB_OK)
		fuzz_fail(r, "store_consumer_get: %s", evdb_strerror(rs));
	return found;
}

/* member and size of object o (both numbers), or 0 and 0. */
static void
fuzz_rpc_member(struct json_object *o, int64_t *member, int64_t *size)
{
	struct json_object *m = fuzz_rpc_key(o, "member"), *z = fuzz_rpc_key(o, "size");

	*member = *size = 0;
	if ((json_object_is_type(m, json_type_int) ||
	    json_object_is_type(m, json_type_double)) &&
	    (json_object_is_type(z, json_type_int) ||
	    json_object_is_type(z, json_type_double))) {
		*member = json_object_get_int64(m);
		*size = json_object_get_int64(z);
	}
}

/* Checks a 200 checkpoint.commit or checkpoint.get against the store. */
static void
fuzz_rpc_check_cp(struct fuzz_env *e, const struct request *r,
    struct json_object *call, struct json_object *res, bool commit)
{
	const char *what = commit ? "checkpoint.commit" : "checkpoint.get";
	struct json_object *name = json_object_array_get_idx(call, 1);
	struct json_object *want = json_object_array_get_idx(call, 2);
	int64_t member, size, got, stored;

	if (!json_object_is_type(name, json_type_string))
		fuzz_fail(r, "%s: 200 for a name that is not a string", what);
	fuzz_rpc_member(json_object_array_get_idx(call, commit ? 3 : 2), &member,
	    &size);
	stored = fuzz_rpc_cp_stored(e, r, name, member, size);
	if (res == NULL) {
		if (commit || stored != -1)
			fuzz_fail(r, "%s: null, the store has %lld", what, (long long)stored);
		return;
	}
	got = fuzz_rpc_check_cp_value(r, res, what);
	if (got != stored)
		fuzz_fail(r, "%s: answered %lld, the store has %lld", what,
		    (long long)got, (long long)stored);
	if (commit && json_object_is_type(want, json_type_int) &&
	    json_object_get_int64(want) != got)
		fuzz_fail(r, "checkpoint.commit: committed %lld, answered %lld",
		    (long long)json_object_get_int64(want), (long long)got);
}

/* Checks a 200 checkpoint.list: well-formed items, sorted, no repeats. */
static void
fuzz_rpc_check_cp_list(const struct request *r, struct json_object *res)
{
	const char *prev = NULL;
	int64_t prev_member = 0, prev_size = 0;
	size_t i, n;

	if (!json_object_is_type(res, json_type_array))
		fuzz_fail(r, "checkpoint.list: the result is not an array");
	n = json_object_array_length(res);
	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(res, i);
		struct json_object *name = fuzz_rpc_key(it, "name");
		struct json_object *m = fuzz_rpc_key(it, "member");
		struct json_object *z = fuzz_rpc_key(it, "size");
		struct json_object *p = fuzz_rpc_key(it, "position");
		int64_t member = 0, size = 0;
		int c;

		if (!json_object_is_type(it, json_type_object) ||
		    json_object_object_length(it) != 5 ||
		    !json_object_is_type(name, json_type_string) ||
		    !store_consumer_name_valid(json_object_get_string(name),
		    (size_t)json_object_get_string_len(name)) ||
		    !json_object_is_type(p, json_type_int) ||
		    json_object_get_int64(p) < 0 ||
		    !fuzz_rpc_is_time(fuzz_rpc_key(it, "updatedAt")))
			fuzz_fail(r, "checkpoint.list: item %zu is malformed", i);
		if (m != NULL || z != NULL) {
			if (!json_object_is_type(m, json_type_int) ||
			    !json_object_is_type(z, json_type_int) ||
			    (member = json_object_get_int64(m)) < 0 ||
			    (size = json_object_get_int64(z)) <= member)
				fuzz_fail(r, "checkpoint.list: item %zu has member/size"
				    " that are not a group member", i);
		}
		c = prev == NULL ? 1 : strcmp(json_object_get_string(name), prev);
		if (c < 0 || (c == 0 && (size < prev_size ||
		    (size == prev_size && member <= prev_member))))
			fuzz_fail(r, "checkpoint.list: item %zu is out of order", i);
		prev = json_object_get_string(name);
		prev_member = member;
		prev_size = size;
	}
}

/* Checks a 200 sys.health: its fields, and the pool's when there is one. */
static void
fuzz_rpc_check_health(const struct request *r, struct json_object *res)
{
	static const char *const pool_keys[] = { "failures", "idle", "inUse",
	    "open", "reconnects", "refused", "waits" };
	struct json_object *pool = fuzz_rpc_key(res, "pool"), *st, *v;
	size_t i;

	st = fuzz_rpc_key(res, "status");
	if (!json_object_is_type(res, json_type_object) ||
	    !json_object_is_type(fuzz_rpc_key(res, "backend"), json_type_string) ||
	    !json_object_is_type(fuzz_rpc_key(res, "connections"), json_type_int) ||
	    !json_object_is_type(fuzz_rpc_key(res, "subscribers"), json_type_int) ||
	    !json_object_is_type(fuzz_rpc_key(res, "version"), json_type_string) ||
	    !json_object_is_type(st, json_type_string) ||
	    strcmp(json_object_get_string(st), "ok") != 0 ||
	    json_object_object_length(res) != 5 + (pool != NULL))
		fuzz_fail(r, "sys.health: the result lacks its fields");
	if (pool == NULL)
		return;
	if (!json_object_is_type(pool, json_type_object) ||
	    json_object_object_length(pool) != (int)(sizeof(pool_keys) /
	    sizeof(pool_keys[0])))
		fuzz_fail(r, "sys.health: pool is not an object of its 7 counters");
	for (i = 0; i < sizeof(pool_keys) / sizeof(pool_keys[0]); i++)
		if (!json_object_is_type(v = fuzz_rpc_key(pool, pool_keys[i]),
		    json_type_int) || json_object_get_int64(v) < 0)
			fuzz_fail(r, "sys.health: pool.%s is not a count", pool_keys[i]);
}

/*
 * The lowest global position a category.get of call may return: its
 * globalPosition or position, else the position after its checkpoint,
 * else 1.
 */
static int64_t
fuzz_rpc_category_min(struct fuzz_env *e, const struct request *r,
    struct json_object *call)
{
	struct json_object *opts = json_object_array_get_idx(call, 2), *v, *cp;
	int64_t member, size, at;

	if ((v = fuzz_rpc_key(opts, "globalPosition")) != NULL ||
	    (v = fuzz_rpc_key(opts, "position")) != NULL)
		return json_object_get_int64(v) > 1 ? json_object_get_int64(v) : 1;
	cp = fuzz_rpc_key(opts, "checkpoint");
	if (!json_object_is_type(cp, json_type_string))
		return 1;
	fuzz_rpc_member(fuzz_rpc_key(opts, "consumerGroup"), &member, &size);
	at = fuzz_rpc_cp_stored(e, r, cp, member, size);
	return at >= 0 ? at + 1 : 1;
}

/*
 * Checks a read answer of more than one row against the byte cap: the
 * rows (between "[" and "]\n") fit in it; a single row may pass it.
 */
static void
fuzz_rpc_check_cap(const struct request *r, struct json_object *res,
    const char *what)
{
	long cap = r->settings->max_response_bytes;

	if (json_object_array_length(res) > 1 && cap > 0 &&
	    r->out->len - 3 > (size_t)cap)
		fuzz_fail(r, "%s: %zu rows in %zu bytes, over the cap of %ld", what,
		    json_object_array_length(res), r->out->len - 3, cap);
}

/* Checks that a 200 ns.create only took a strong options.token. */
static void
fuzz_rpc_check_ns_create(const struct request *r, struct json_object *call)
{
	struct json_object *opt = json_object_array_get_idx(call, 2), *tok;
	char err[128];

	if (!json_object_is_type(opt, json_type_object) ||
	    !json_object_object_get_ex(opt, "token", &tok) ||
	    !json_object_is_type(tok, json_type_string))
		return;
	if (token_check_secret(json_object_get_string(tok),
	    (size_t)json_object_get_string_len(tok), err, sizeof(err)) != EVDB_OK)
		fuzz_fail(r, "ns.create: a weak options.token was accepted: %s", err);
}

/* True when the write options opts give a non-empty id ("" is no id). */
static bool
fuzz_rpc_has_id(struct json_object *opts)
{
	struct json_object *id;

	return json_object_is_type(opts, json_type_object) &&
	    json_object_object_get_ex(opts, "id", &id) &&
	    json_object_is_type(id, json_type_string) &&
	    json_object_get_string_len(id) > 0;
}

/* Checks the shape of a 200 answer of the methods whose shape is simple. */
static void
fuzz_rpc_check_result(struct fuzz_env *e, const struct request *r,
    const uint8_t *data, size_t size, struct fuzz_rpc_done *done,
    size_t *ndone)
{
	struct json_object *call = NULL, *res = NULL, *opts;
	const char *why, *method;
	int64_t pos, gpos;
	size_t i;

	if (!fuzz_json_parse((const char *)data, size, &call, &why))
		fuzz_fail(r, "a 200 answer to a body that is not JSON (%s)", why);
	if (!json_object_is_type(call, json_type_array) ||
	    json_object_array_length(call) < 1 ||
	    !json_object_is_type(json_object_array_get_idx(call, 0), json_type_string))
		fuzz_fail(r, "a 200 answer to a body that is not a call");
	method = json_object_get_string(json_object_array_get_idx(call, 0));
	if (!fuzz_json_parse(r->out->data, r->out->len, &res, &why))
		fuzz_fail(r, "the answer is not JSON: %s", why);
	if (strcmp(method, "stream.write") == 0) {
		fuzz_rpc_check_write(e, r, call, res, &pos, &gpos);
		opts = json_object_array_get_idx(call, 3);
		for (i = 0; i < *ndone; i++)
			if (done[i].len == size && memcmp(done[i].call, data, size) == 0 &&
			    fuzz_rpc_has_id(opts) &&
			    (done[i].pos != pos || done[i].gpos != gpos))
				fuzz_fail(r, "stream.write: a retry answered %lld/%lld, the"
				    " first write %lld/%lld", (long long)pos,
				    (long long)gpos, (long long)done[i].pos,
				    (long long)done[i].gpos);
		if (*ndone < FUZZ_RPC_CALLS)
			done[(*ndone)++] = (struct fuzz_rpc_done){ data, size, pos, gpos };
	} else if (strcmp(method, "stream.get") == 0) {
		opts = json_object_array_get_idx(call, 2);
		fuzz_rpc_check_rows(r, res, true, fuzz_rpc_backward(opts),
		    fuzz_rpc_key(opts, "types"), 1, method);
		fuzz_rpc_check_cap(r, res, method);
	} else if (strcmp(method, "category.get") == 0) {
		opts = json_object_array_get_idx(call, 2);
		fuzz_rpc_check_rows(r, res, false, false, fuzz_rpc_key(opts, "types"),
		    fuzz_rpc_category_min(e, r, call), method);
		fuzz_rpc_check_cap(r, res, method);
	} else if (strcmp(method, "batch.write") == 0)
		fuzz_rpc_check_batch(e, r, call, res);
	else if (strcmp(method, "checkpoint.commit") == 0)
		fuzz_rpc_check_cp(e, r, call, res, true);
	else if (strcmp(method, "checkpoint.get") == 0)
		fuzz_rpc_check_cp(e, r, call, res, false);
	else if (strcmp(method, "checkpoint.list") == 0)
		fuzz_rpc_check_cp_list(r, res);
	else if (strcmp(method, "checkpoint.delete") == 0 &&
	    (!json_object_is_type(res, json_type_object) ||
	    json_object_object_length(res) != 1 ||
	    !json_object_is_type(fuzz_rpc_key(res, "deleted"), json_type_int) ||
	    json_object_get_int64(fuzz_rpc_key(res, "deleted")) < 0))
		fuzz_fail(r, "checkpoint.delete: the result is not {deleted:N}");
	else if (strcmp(method, "sys.health") == 0)
		fuzz_rpc_check_health(r, res);
	else if (strcmp(method, "ns.create") == 0)
		fuzz_rpc_check_ns_create(r, call);
	else if (strcmp(method, "stream.version") == 0 && res != NULL &&
	    (!json_object_is_type(res, json_type_int) || json_object_get_int64(res) < 0))
		fuzz_fail(r, "stream.version: not null nor a position");
	else if (strcmp(method, "stream.last") == 0 && res != NULL &&
	    (!json_object_is_type(res, json_type_array) ||
	    json_object_array_length(res) != FUZZ_ROW_FIELDS))
		fuzz_fail(r, "stream.last: not null nor a row");
	json_object_put(res);
	json_object_put(call);
}

int
fuzz_rpc_init(void)
{
	fuzz_env_open(&fuzz_rpc_env);
	fuzz_rpc_env.recycle_runs = FUZZ_RPC_RECYCLE_RUNS;
	fuzz_rpc_show = getenv("FUZZ_SHOW") != NULL && *getenv("FUZZ_SHOW") != '\0';
	return 0;
}

void
fuzz_rpc_fini(void)
{
	fuzz_env_close(&fuzz_rpc_env);
}

/* Runs one call, data[0..size), and checks its answer. */
static void
fuzz_rpc_call(struct fuzz_env *e, const uint8_t *data, size_t size,
    struct fuzz_rpc_done *done, size_t *ndone)
{
	struct request r;

	fuzz_request_init(e, &r, "POST", "/rpc", "");
	buf_append(r.body, data, size);
	r.content_length = (int64_t)size;
	memcpy(r.ns, "default", sizeof("default"));
	rpc_serve(&r);
	if (fuzz_rpc_show)	/* FUZZ_SHOW=1: what a seed reaches */
		fprintf(stderr, "rpc %d: %.*s", r.status, (int)r.out->len,
		    r.out->data != NULL ? r.out->data : "");
	fuzz_check_answer(&r, "rpc");
	if (r.status == 200)
		fuzz_rpc_check_result(e, &r, data, size, done, ndone);
	fuzz_request_done(e, &r);
}

int
fuzz_rpc_one(const uint8_t *data, size_t size)
{
	struct fuzz_env *e = &fuzz_rpc_env;
	struct fuzz_rpc_done done[FUZZ_RPC_CALLS];
	size_t ndone = 0, left = size, len, calls = 0;
	const uint8_t *p = data, *sep;

	e->settings.max_response_bytes = fuzz_rpc_caps[size %
	    (sizeof(fuzz_rpc_caps) / sizeof(fuzz_rpc_caps[0]))];
	do {
		sep = calls + 1 < FUZZ_RPC_CALLS ?
		    memmem(p, left, FUZZ_RPC_SEP, sizeof(FUZZ_RPC_SEP) - 1) : NULL;
		len = sep != NULL ? (size_t)(sep - p) : left;
		fuzz_rpc_call(e, p, len, done, &ndone);
		calls++;
		if (sep == NULL)
			break;
		p = sep + sizeof(FUZZ_RPC_SEP) - 1;
		left -= len + sizeof(FUZZ_RPC_SEP) - 1;
	} while (1);
	fuzz_env_tick(e);
	return 0;
}

FUZZ_LIBFUZZER_ENTRY(fuzz_rpc)
