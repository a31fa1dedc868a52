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

/*
 * Checks the rows of a stream.get (by_stream) or category.get answer: an
 * array of arrays, ordered by position (stream) or global position.
 */
static void
fuzz_rpc_check_rows(const struct request *r, struct json_object *res,
    bool by_stream, const char *what)
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
		if (gpos <= prev_gpos || (by_stream && pos <= prev_pos))
			fuzz_fail(r, "%s: row %zu is out of order", what, i);
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
 * Checks that a stream.write answer names a message the store now has: the
 * stream's version reaches it, and the row at its position carries the
 * canonical form of the id given (when one was) and the type given.
 * Returns the answered positions in *pos and *gpos.
 */
static void
fuzz_rpc_check_write(struct fuzz_env *e, const struct request *r,
    struct json_object *call, struct json_object *res, int64_t *pos,
    int64_t *gpos)
{
	struct json_object *s = json_object_array_get_idx(call, 1), *p, *g;
	struct json_object *msg = json_object_array_get_idx(call, 2), *id, *type;
	struct json_object *opts = json_object_array_get_idx(call, 3);
	struct store_stream_query q;
	struct fuzz_rpc_row row;
	char canon[UUID_STR_LEN + 1];
	int64_t version = -2;
	enum evdb_status rs;

	if (!json_object_is_type(res, json_type_object) ||
	    json_object_object_length(res) != 2 ||
	    !json_object_object_get_ex(res, "position", &p) ||
	    !json_object_object_get_ex(res, "globalPosition", &g) ||
	    !json_object_is_type(p, json_type_int) ||
	    !json_object_is_type(g, json_type_int))
		fuzz_fail(r, "stream.write: the result is not {globalPosition,position}");
	*pos = json_object_get_int64(p);
	*gpos = json_object_get_int64(g);
	if (*pos < 0 || *gpos < 1)
		fuzz_fail(r, "stream.write: impossible positions");
	if (!json_object_is_type(s, json_type_string) ||
	    !json_object_is_type(msg, json_type_object))
		fuzz_fail(r, "stream.write: 200 for a call without stream or message");
	rs = store_stream_version(e->conn, "default", json_object_get_string(s),
	    (size_t)json_object_get_string_len(s), &version);
	if (rs != EVDB_OK || version < *pos)
		fuzz_fail(r, "stream.write: the stream's version is %lld (%s) after a"
		    " write at %lld", (long long)version, evdb_strerror(rs),
		    (long long)*pos);

	memset(&q, 0, sizeof(q));
	q.stream = json_object_get_string(s);
	q.stream_len = (size_t)json_object_get_string_len(s);
	q.position = *pos;
	q.limit = 1;
	memset(&row, 0, sizeof(row));
	rs = store_read_stream(e->conn, "default", &q, fuzz_rpc_read_one, &row);
	if (rs != EVDB_OK || row.rows != 1 || row.pos != *pos)
		fuzz_fail(r, "stream.write: a 200 write at %lld is not readable (%s,"
		    " %d rows)", (long long)*pos, evdb_strerror(rs), row.rows);
	if (json_object_is_type(opts, json_type_object) &&
	    json_object_object_get_ex(opts, "id", &id) &&
	    json_object_is_type(id, json_type_string) &&
	    json_object_get_string_len(id) > 0) {	/* "": no id, as absent */
		if (uuid_canonical(json_object_get_string(id),
		    (size_t)json_object_get_string_len(id), canon) != EVDB_OK)
			fuzz_fail(r, "stream.write: 200 for an id that is not a UUID");
		if (row.id_len != UUID_STR_LEN || strcmp(row.id, canon) != 0)
			fuzz_fail(r, "stream.write: stored id %s, not the canonical %s",
			    row.id, canon);
	}
	if (json_object_object_get_ex(msg, "type", &type) &&
	    json_object_is_type(type, json_type_string) &&
	    (row.type_len != (size_t)json_object_get_string_len(type) ||
	    memcmp(row.type, json_object_get_string(type), row.type_len) != 0))
		fuzz_fail(r, "stream.write: the stored type is not the one written"
		    " (a changed retry answered 200?)");
	free(row.type);
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
		fuzz_rpc_check_rows(r, res, true, method);
		fuzz_rpc_check_cap(r, res, method);
	} else if (strcmp(method, "category.get") == 0) {
		fuzz_rpc_check_rows(r, res, false, method);
		fuzz_rpc_check_cap(r, res, method);
	} else if (strcmp(method, "ns.create") == 0)
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

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_rpc_init();
	atexit(fuzz_rpc_fini);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_rpc_one(data, size);
}
#endif
