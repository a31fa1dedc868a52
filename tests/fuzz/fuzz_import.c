/*
 * tests/fuzz/fuzz_import.c - fuzzes /import: every line of the input
 * through import_parse_line(), then the whole input as the NDJSON body of
 * import_serve() on a detached request, committing into the harness's
 * temporary store.
 *
 * import_parse_line must either accept a record whose fields keep the
 * endpoint's rules (a UUID id, a non-empty type, a valid stream name, pos
 * from 0 and gpos from 1, both at most STORE_POSITION_MAX, data and meta
 * null or JSON text that parses back), or name INVALID_JSON or
 * INVALID_RECORD with a NUL-terminated reason.
 * import_serve must answer a stream of "data: {...}\n\n" events, each
 * strict JSON, the last of them "done" (status 200) or an error event
 * (status 400, 409, 500, 503 or 507).
 *
 * Second round (issue 14): an input that starts with the line "#force"
 * is imported with ?force=true (the rest of the input is the body), so the
 * clearing import is fuzzed too; the store persists across runs, so
 * records above the head, continuing their stream, resumed (skipped) and
 * refused (POSITION_EXISTS, POSITION_BEHIND_HEAD, POSITION_GAP,
 * MESSAGE_ID_CONFLICT) are all reached.  A 200 import is readable: every
 * record of the body is then stored at its stream and position with the
 * canonical form of its id, and the "done" event counts imported and
 * skipped records as non-negative integers.
 *
 * Third round (issue 14): checkpoint records
 * ({"checkpoint":NAME,"member","size","position","updatedAt"}, which evdb
 * export writes after the messages).  After a 200 import the last record
 * of each checkpoint in the body is what the store holds for it, and the
 * "done" event's "checkpoints", when present, is a positive count.
 */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "import/import.h"
#include "rpc/rpc.h"
#include "core/streamname.h"
#include "core/uuid.h"

/* First line of an input imported with ?force=true. */
#define FUZZ_IMPORT_FORCE "#force\n"

/* libFuzzer's entry points take no context: see fuzz_rpc.c. */
static struct fuzz_env fuzz_import_env;
static struct json_tokener *fuzz_import_tok;

/* store_message_fn: copies the id of the one row read into ctx. */
static enum evdb_status
fuzz_import_read_id(void *ctx, const struct store_message *m)
{
	char *id = ctx;

	snprintf(id, UUID_STR_LEN + 2, "%.*s", (int)(m->id_len > UUID_STR_LEN ?
	    UUID_STR_LEN + 1 : m->id_len), m->id);
	return EVDB_OK;
}

/* Checks that the accepted record rec is stored (after a 200 import). */
static void
fuzz_import_check_stored(struct fuzz_env *e, const struct request *r,
    const struct store_import_record *rec)
{
	struct store_stream_query q;
	char canon[UUID_STR_LEN + 1], id[UUID_STR_LEN + 2] = "";
	enum evdb_status rs;

	if (uuid_canonical(rec->id, rec->id_len, canon) != EVDB_OK)
		fuzz_fail(r, "import: an accepted id is not a UUID");
	memset(&q, 0, sizeof(q));
	q.stream = rec->stream;
	q.stream_len = rec->stream_len;
	q.position = rec->position;
	q.limit = 1;
	rs = store_read_stream(e->conn, "default", &q, fuzz_import_read_id, id);
	if (rs != EVDB_OK || strcmp(id, canon) != 0)
		fuzz_fail(r, "import: 200, but %.*s@%lld holds \"%s\" (%s), not %s",
		    (int)rec->stream_len, rec->stream, (long long)rec->position, id,
		    evdb_strerror(rs), canon);
}

/*
 * Checks import_parse_line's contract on one line; after a 200 import
 * (r not NULL) also that an accepted record is stored.
 */
static void
fuzz_import_line(struct fuzz_env *e, const struct request *r,
    const char *line, size_t len)
{
	struct store_import_record rec;
	struct json_object *root = NULL, *back;
	const char *code, *why;
	char err[256];

	memset(err, 0x5a, sizeof(err));
	code = import_parse_line(fuzz_import_tok, line, len, &root, &rec, err,
	    sizeof(err));
	if (code == NULL) {
		if (rec.id == NULL || !uuid_is_valid(rec.id, rec.id_len) ||
		    rec.type_len == 0 ||
		    !streamname_valid(rec.stream, rec.stream_len, &why) ||
		    rec.position < 0 || rec.global_position < 1 ||
		    rec.position > STORE_POSITION_MAX ||
		    rec.global_position > STORE_POSITION_MAX)
			fuzz_fail(NULL, "import_parse_line accepted a record it should refuse");
		if (rec.data != NULL) {
			if (!fuzz_json_parse(rec.data, rec.data_len, &back, &why))
				fuzz_fail(NULL, "accepted data is not JSON: %s", why);
			json_object_put(back);
		}
		if (rec.metadata != NULL) {
			if (!fuzz_json_parse(rec.metadata, rec.metadata_len, &back, &why))
				fuzz_fail(NULL, "accepted meta is not JSON: %s", why);
			json_object_put(back);
		}
		if (r != NULL)
			fuzz_import_check_stored(e, r, &rec);
	} else {
		if (strcmp(code, "INVALID_JSON") != 0 && strcmp(code, "INVALID_RECORD") != 0)
			fuzz_fail(NULL, "import_parse_line: code %s", code);
		if (strnlen(err, sizeof(err)) == sizeof(err))
			fuzz_fail(NULL, "import_parse_line: the reason is not NUL-terminated");
	}
	json_object_put(root);
}

/* The checkpoint record of a line: its key and position. */
struct fuzz_import_cp {
	struct json_object *root;	/* the parsed line (owns name) */
	struct store_consumer_key key;	/* name points into root */
	int64_t position;
};

/*
 * Parses line as a checkpoint record the way the harness reads one: with
 * "checkpoint" spelled out, a strict JSON object with a string "checkpoint", integer "position", and
 * integer "member" and "size" or neither.  False when it is not one.
 */
static bool
fuzz_import_cp_parse(const char *line, size_t len, struct fuzz_import_cp *cp)
{
	struct json_object *n, *p, *m = NULL, *z = NULL;
	const char *why;

	memset(cp, 0, sizeof(*cp));
	/* As import_line: one CR, then blanks, may end the line. */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	/* import_maybe_checkpoint: only lines with the key spelled out. */
	if (memmem(line, len, "\"checkpoint\"", 12) == NULL ||
	    !fuzz_json_parse(line, len, &cp->root, &why))
		return false;
	if (!json_object_is_type(cp->root, json_type_object) ||
	    !json_object_object_get_ex(cp->root, "checkpoint", &n) ||
	    !json_object_is_type(n, json_type_string) ||
	    !json_object_object_get_ex(cp->root, "position", &p) ||
	    !json_object_is_type(p, json_type_int))
		goto no;
	json_object_object_get_ex(cp->root, "member", &m);
	json_object_object_get_ex(cp->root, "size", &z);
	if (m != NULL || z != NULL) {
		if (!json_object_is_type(m, json_type_int) ||
		    !json_object_is_type(z, json_type_int))
			goto no;
		cp->key.member = json_object_get_int64(m);
		cp->key.size = json_object_get_int64(z);
	}
	cp->key.name = json_object_get_string(n);
	cp->key.name_len = (size_t)json_object_get_string_len(n);
	cp->position = json_object_get_int64(p);
	return true;
no:
	json_object_put(cp->root);
	cp->root = NULL;
	return false;
}

/* store_consumer_fn: keeps the position found in *(int64_t *)ctx. */
static enum evdb_status
fuzz_import_cp_found(void *ctx, const struct store_consumer_checkpoint *cp)
{
	*(int64_t *)ctx = cp->position;
	return EVDB_OK;
}

/* Most checkpoint records of one input checked. */
#define FUZZ_IMPORT_CPS 64

/*
 * After a 200 import of body data[0..size): the last record of each
 * checkpoint key in the body is the position the store holds for it.
 */
static void
fuzz_import_check_cps(struct fuzz_env *e, const struct request *r,
    const uint8_t *data, size_t size)
{
	struct fuzz_import_cp cps[FUZZ_IMPORT_CPS];
	const char *p = (const char *)data, *nl;
	size_t left = size, len, n = 0, i, j;

	while (left > 0 && n < FUZZ_IMPORT_CPS) {
		nl = memchr(p, '\n', left);
		len = nl != NULL ? (size_t)(nl - p) : left;
		if (fuzz_import_cp_parse(p, len, &cps[n]))
			n++;
		p += len + (nl != NULL);
		left -= len + (nl != NULL);
	}
	for (i = 0; i < n; i++) {
		int64_t stored = -1;
		enum evdb_status rs;

		for (j = i + 1; j < n; j++)
			if (cps[j].key.name_len == cps[i].key.name_len &&
			    memcmp(cps[j].key.name, cps[i].key.name,
			    cps[i].key.name_len) == 0 &&
			    cps[j].key.member == cps[i].key.member &&
			    cps[j].key.size == cps[i].key.size)
				break;
		if (j < n || left > 0)
			continue;	/* a later record (or unread lines) decides */
		rs = store_consumer_get(e->conn, "default", &cps[i].key,
		    fuzz_import_cp_found, &stored);
		if (rs != EVDB_OK || stored != cps[i].position)
			fuzz_fail(r, "import: 200, but checkpoint %.*s (%lld/%lld) is at"
			    " %lld (%s), not %lld", (int)cps[i].key.name_len,
			    cps[i].key.name, (long long)cps[i].key.member,
			    (long long)cps[i].key.size, (long long)stored,
			    evdb_strerror(rs), (long long)cps[i].position);
	}
	for (i = 0; i < n; i++)
		json_object_put(cps[i].root);
}

/* Checks that r->out is a sequence of "data: JSON\n\n" events ending well. */
static void
fuzz_import_events(const struct request *r)
{
	/* No output at all is no event: the loop is skipped and the stream
	 * fails below for ending with neither done nor an error. */
	const char *p = r->out->data;
	const char *end = p != NULL ? p + r->out->len : NULL;
	struct json_object *ev = NULL, *v;
	const char *why;
	bool done = false, failed = false;

	while (p != NULL && p < end) {
		const char *nl = strstr(p, "\n\n");

		if (strncmp(p, "data: ", 6) != 0 || nl == NULL)
			fuzz_fail(r, "import: a malformed event");
		json_object_put(ev);
		if (!fuzz_json_parse(p + 6, (size_t)(nl - p - 6), &ev, &why))
			fuzz_fail(r, "import: an event is not JSON: %s", why);
		done = json_object_object_get_ex(ev, "done", &v);
		if (done && (!json_object_object_get_ex(ev, "imported", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 0 ||
		    (json_object_object_get_ex(ev, "skipped", &v) &&
		    (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 1))))
			fuzz_fail(r, "import: done without a count of imported records");
		if (done && json_object_object_get_ex(ev, "checkpoints", &v) &&
		    (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 1))
			fuzz_fail(r, "import: done with a checkpoints count that is not"
			    " positive");
		failed = json_object_object_get_ex(ev, "error", &v);
		p = nl + 2;
	}
	json_object_put(ev);
	if (!done && !failed)
		fuzz_fail(r, "import: the stream does not end with done or an error");
	if (done && r->status != 200)
		fuzz_fail(r, "import: done, but answered %d", r->status);
	if (failed && r->status != 400 && r->status != 409 && r->status != 500 &&
	    r->status != 503 && r->status != 507)
		fuzz_fail(r, "import: an error event, but answered %d", r->status);
}

int
fuzz_import_init(void)
{
	fuzz_env_open(&fuzz_import_env);
	fuzz_import_tok = json_tokener_new_ex(RPC_MAX_DEPTH);
	json_tokener_set_flags(fuzz_import_tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return 0;
}

void
fuzz_import_fini(void)
{
	json_tokener_free(fuzz_import_tok);
	fuzz_import_tok = NULL;
	fuzz_env_close(&fuzz_import_env);
}

int
fuzz_import_one(const uint8_t *data, size_t size)
{
	struct fuzz_env *e = &fuzz_import_env;
	const char *p, *nl, *query = "";
	size_t left, len;
	struct request r;

	if (size >= sizeof(FUZZ_IMPORT_FORCE) - 1 &&
	    memcmp(data, FUZZ_IMPORT_FORCE, sizeof(FUZZ_IMPORT_FORCE) - 1) == 0) {
		query = "force=true";
		data += sizeof(FUZZ_IMPORT_FORCE) - 1;
		size -= sizeof(FUZZ_IMPORT_FORCE) - 1;
	}
	fuzz_request_init(e, &r, "POST", "/import", query);
	memcpy(r.ns, "default", sizeof("default"));
	buf_append(r.body, data, size);
	import_serve(&r);
	if (getenv("FUZZ_SHOW") != NULL)	/* what a seed reaches */
		fprintf(stderr, "import %d: %.*s", r.status, (int)r.out->len,
		    r.out->data != NULL ? r.out->data : "");
	fuzz_import_events(&r);

	p = (const char *)data;
	left = size;
	while (left > 0) {
		nl = memchr(p, '\n', left);
		len = nl != NULL ? (size_t)(nl - p) : left;
		if (len <= IMPORT_LINE_MAX)
			fuzz_import_line(e, r.status == 200 ? &r : NULL, p, len);
		p += len + (nl != NULL);
		left -= len + (nl != NULL);
	}
	if (r.status == 200)
		fuzz_import_check_cps(e, &r, data, size);
	fuzz_request_done(e, &r);
	fuzz_env_tick(e);
	return 0;
}

FUZZ_LIBFUZZER_ENTRY(fuzz_import)
