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
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "rpc/rpc.h"

/* Number of fields of a stream.get row ([id,type,pos,gpos,data,meta,time]). */
#define FUZZ_ROW_FIELDS 7

/*
 * libFuzzer's entry points take no context, so the harness's environment
 * is the one mutable global here; nothing else in the process uses it.
 */
static struct fuzz_env fuzz_rpc_env;

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

/* Checks that a stream.write answer names a message the store now has. */
static void
fuzz_rpc_check_write(struct fuzz_env *e, const struct request *r,
    struct json_object *call, struct json_object *res)
{
	struct json_object *s = json_object_array_get_idx(call, 1), *p, *g;
	int64_t version = -2;
	enum evdb_status rs;

	if (!json_object_is_type(res, json_type_object) ||
	    json_object_object_length(res) != 2 ||
	    !json_object_object_get_ex(res, "position", &p) ||
	    !json_object_object_get_ex(res, "globalPosition", &g) ||
	    !json_object_is_type(p, json_type_int) ||
	    !json_object_is_type(g, json_type_int))
		fuzz_fail(r, "stream.write: the result is not {globalPosition,position}");
	if (json_object_get_int64(p) < 0 || json_object_get_int64(g) < 1)
		fuzz_fail(r, "stream.write: impossible positions");
	rs = store_stream_version(e->conn, "default", json_object_get_string(s),
	    (size_t)json_object_get_string_len(s), &version);
	if (rs != EVDB_OK || version < json_object_get_int64(p))
		fuzz_fail(r, "stream.write: the stream's version is %lld (%s) after a"
		    " write at %lld", (long long)version, evdb_strerror(rs),
		    (long long)json_object_get_int64(p));
}

/* Checks the shape of a 200 answer of the methods whose shape is simple. */
static void
fuzz_rpc_check_result(struct fuzz_env *e, const struct request *r,
    const uint8_t *data, size_t size)
{
	struct json_object *call = NULL, *res = NULL;
	const char *why, *method;

	if (!fuzz_json_parse((const char *)data, size, &call, &why))
		fuzz_fail(r, "a 200 answer to a body that is not JSON (%s)", why);
	if (!json_object_is_type(call, json_type_array) ||
	    json_object_array_length(call) < 1 ||
	    !json_object_is_type(json_object_array_get_idx(call, 0), json_type_string))
		fuzz_fail(r, "a 200 answer to a body that is not a call");
	method = json_object_get_string(json_object_array_get_idx(call, 0));
	if (!fuzz_json_parse(r->out->data, r->out->len, &res, &why))
		fuzz_fail(r, "the answer is not JSON: %s", why);
	if (strcmp(method, "stream.write") == 0)
		fuzz_rpc_check_write(e, r, call, res);
	else if (strcmp(method, "stream.get") == 0)
		fuzz_rpc_check_rows(r, res, true, method);
	else if (strcmp(method, "category.get") == 0)
		fuzz_rpc_check_rows(r, res, false, method);
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
	return 0;
}

void
fuzz_rpc_fini(void)
{
	fuzz_env_close(&fuzz_rpc_env);
}

int
fuzz_rpc_one(const uint8_t *data, size_t size)
{
	struct fuzz_env *e = &fuzz_rpc_env;
	struct request r;

	fuzz_request_init(e, &r, "POST", "/rpc", "");
	buf_append(r.body, data, size);
	r.content_length = (int64_t)size;
	memcpy(r.ns, "default", sizeof("default"));
	rpc_serve(&r);
	fuzz_check_answer(&r, "rpc");
	if (r.status == 200)
		fuzz_rpc_check_result(e, &r, data, size);
	fuzz_request_done(e, &r);
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
