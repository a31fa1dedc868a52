/*
 * import.c - the /import endpoint (see import.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "import/import.h"
#include "core/json_out.h"
#include "http/metrics.h"
#include "rpc/rpc.h"
#include "core/streamname.h"
#include "core/timefmt.h"
#include "core/json_guard.h"
#include "core/uuid.h"
#include "core/xalloc.h"

#define IMPORT_CHUNK 65536

struct import_ctx {
	struct request *r;			/* the request */
	struct json_tokener *tok;		/* reused for every line */
	struct json_object **objs;		/* parsed lines of the pending batch */
	struct store_import_record *recs;	/* the pending batch */
	int64_t *lines;				/* the line of each pending record */
	size_t n;				/* records pending */
	size_t bytes;				/* their size in bytes */
	int64_t imported;			/* records committed */
	int64_t skipped;			/* records found stored already (resume) */
	int64_t checkpoints;			/* checkpoint records applied */
	int64_t line;				/* lines read (blank ones included) */
	struct timespec start;			/* for "elapsed" */
	bool clear;				/* force: the next commit clears first */
	bool failed;				/* an error event was produced */
	int status;				/* HTTP status of the answer */
	struct buf events;			/* events not yet sent */
};

static const char *
import_string(struct json_object *o, const char *key, size_t *len)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static bool
import_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
	    !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

/* data/meta: an object, or null/absent.  false for any other type. */
static bool
import_json(struct json_object *o, const char *key, const char **text,
    size_t *len)
{
	struct json_object *v = NULL;

	*text = NULL;
	*len = 0;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_object))
		return false;
	*text = json_object_to_json_string_length(v,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
	return true;
}

/*
 * Rewrites the record's id, in the parsed object o, to its canonical
 * UUID spelling (uuid_canonical), so that an imported id is the id a
 * stream.write retry of it is compared with.  rec->id then points into o
 * again.  The caller has checked that the id is a UUID.
 */
static void
import_canonical_id(struct json_object *o, struct store_import_record *rec)
{
	struct json_object *v = NULL;
	char canon[UUID_STR_LEN + 1];

	if (uuid_canonical(rec->id, rec->id_len, canon) != EVDB_OK ||
	    !json_object_object_get_ex(o, "id", &v) ||
	    json_object_set_string_len(v, canon, UUID_STR_LEN) != 1)
		return;
	rec->id = json_object_get_string(v);
	rec->id_len = UUID_STR_LEN;
}

const char *
import_parse_line(struct json_tokener *tok, const char *line, size_t len,
    struct json_object **root, struct store_import_record *rec, char *err,
    size_t err_size)
{
	enum json_tokener_error jerr;
	struct json_object *o;
	const char *time_text, *why;
	size_t time_len, off;

	memset(rec, 0, sizeof(*rec));
	*root = NULL;
	if (!json_guard_check(line, len, err, err_size))
		return "INVALID_JSON";
	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	if (o == NULL || jerr != json_tokener_success) {
		snprintf(err, err_size, "%s", jerr == json_tokener_continue ?
		    "unexpected end of JSON input" : json_tokener_error_desc(jerr));
		json_object_put(o);
		return "INVALID_JSON";
	}
	*root = o;
	for (off = json_tokener_get_parse_end(tok); off < len; off++) {
		if (line[off] != ' ' && line[off] != '\t') {
			snprintf(err, err_size, "invalid character after top-level value");
			return "INVALID_JSON";
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, err_size, "a record must be a JSON object");
		return "INVALID_RECORD";
	}
	if ((rec->id = import_string(o, "id", &rec->id_len)) == NULL ||
	    !uuid_is_valid(rec->id, rec->id_len)) {
		snprintf(err, err_size, "id must be a UUID");
		return "INVALID_RECORD";
	}
	import_canonical_id(o, rec);
	if ((rec->stream = import_string(o, "stream", &rec->stream_len)) == NULL ||
	    !streamname_valid(rec->stream, rec->stream_len, &why)) {
		snprintf(err, err_size, "stream must be a valid stream name");
		return "INVALID_RECORD";
	}
	if ((rec->type = import_string(o, "type", &rec->type_len)) == NULL ||
	    rec->type_len == 0 || memchr(rec->type, '\0', rec->type_len) != NULL) {
		snprintf(err, err_size, "type must be a non-empty string");
		return "INVALID_RECORD";
	}
	if (!import_int(o, "pos", &rec->position) || rec->position < 0 ||
	    rec->position > STORE_POSITION_MAX) {
		snprintf(err, err_size, "pos must be an integer from 0 to %lld",
		    (long long)STORE_POSITION_MAX);
		return "INVALID_RECORD";
	}
	if (!import_int(o, "gpos", &rec->global_position) || rec->global_position < 1 ||
	    rec->global_position > STORE_POSITION_MAX) {
		snprintf(err, err_size, "gpos must be an integer from 1 to %lld",
		    (long long)STORE_POSITION_MAX);
		return "INVALID_RECORD";
	}
	if (!import_json(o, "data", &rec->data, &rec->data_len) ||
	    !import_json(o, "meta", &rec->metadata, &rec->metadata_len)) {
		snprintf(err, err_size, "data and meta must be objects or null");
		return "INVALID_RECORD";
	}
	if ((time_text = import_string(o, "time", &time_len)) == NULL ||
	    timefmt_parse(time_text, time_len, &rec->time_us) != EVDB_OK) {
		snprintf(err, err_size, "invalid time format: %.64s",
		    time_text != NULL ? time_text : "(missing)");
		return "INVALID_RECORD";
	}
	return NULL;
}

static void
import_event(struct import_ctx *x, const char *json)
{
	buf_puts(&x->events, "data: ");
	buf_puts(&x->events, json);
	buf_puts(&x->events, "\n\n");
}

/*
 * Ends the import with an error event about line (0: none) and makes the
 * answer's status say so: the events go out only after the upload, so the
 * status can still tell a failed import from a done one.
 */
static void
import_fail_at(struct import_ctx *x, int status, const char *code,
    const char *message, int64_t line)
{
	struct buf *b = &x->events;
	char tmp[64];

	buf_puts(b, "data: {\"error\":");
	json_out_cstr(b, code);
	buf_puts(b, ",\"message\":");
	json_out_cstr(b, message);
	if (line > 0) {
		snprintf(tmp, sizeof(tmp), ",\"line\":%lld", (long long)line);
		buf_puts(b, tmp);
	}
	buf_puts(b, "}\n\n");
	x->failed = true;
	x->status = status;
	log_warn(x->r->log, "req=%s import into %s stopped at line %lld: %s: %s",
	    x->r->request_id, x->r->ns, (long long)line, code, message);
}

/* An error about the line being read. */
static void
import_fail(struct import_ctx *x, const char *code, const char *message)
{
	import_fail_at(x, 400, code, message, x->line);
}

/* Reports a record store_import_batch() refused, naming its line. */
static void
import_refused(struct import_ctx *x, const struct store_import_outcome *out)
{
	const struct store_import_record *m = &x->recs[out->refused];
	int64_t line = x->lines[out->refused];
	const char *code = "POSITION_EXISTS";
	char msg[512];

	switch (out->refusal) {
	case STORE_IMPORT_DIFFERS:
		snprintf(msg, sizeof(msg), "line %lld: global position %lld holds a"
		    " different message", (long long)line, (long long)m->global_position);
		break;
	case STORE_IMPORT_ID_TAKEN:
		snprintf(msg, sizeof(msg), "line %lld: id %.*s belongs to another message",
		    (long long)line, (int)m->id_len, m->id);
		break;
	case STORE_IMPORT_BEHIND_HEAD:
		code = "POSITION_BEHIND_HEAD";
		snprintf(msg, sizeof(msg), "line %lld: global position %lld is not above"
		    " the namespace's head (%lld)", (long long)line,
		    (long long)m->global_position, (long long)out->head);
		break;
	case STORE_IMPORT_NOT_NEXT:
		code = "POSITION_GAP";
		/* A long name is left out rather than cut inside a UTF-8 sequence. */
		snprintf(msg, sizeof(msg), "line %lld: position %lld does not continue"
		    " stream %.*s (its version is %lld: the next position is %lld)",
		    (long long)line, (long long)m->position,
		    m->stream_len > 200 ? 10 : (int)m->stream_len,
		    m->stream_len > 200 ? "(its name)" : m->stream,
		    (long long)out->version, (long long)out->version + 1);
		break;
	default:
		code = "INVALID_RECORD";
		snprintf(msg, sizeof(msg), "line %lld: a position is above %lld",
		    (long long)line, (long long)STORE_POSITION_MAX);
		import_fail_at(x, 400, code, msg, line);
		return;
	}
	import_fail_at(x, 409, code, msg, line);
}

static void
import_release(struct import_ctx *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		json_object_put(x->objs[i]);
	x->n = 0;
	x->bytes = 0;
}

/*
 * Commits the pending batch (with force, the first one clears the
 * namespace in the same transaction) and reports it.  With no record
 * pending it commits only a pending clear.
 */
static bool
import_flush(struct import_ctx *x)
{
	struct store_import_outcome out;
	enum evdb_status rs;
	char msg[256], json[128];
	int64_t last;

	if (x->n == 0 && !x->clear)
		return true;
	last = x->n > 0 ? x->recs[x->n - 1].global_position : 0;
	rs = store_import_batch(x->r->store, x->r->ns, x->recs, x->n, x->clear, &out);
	if (rs != EVDB_OK) {
		if (out.refusal != STORE_IMPORT_ACCEPTED)
			import_refused(x, &out);
		else {
			snprintf(msg, sizeof(msg), "batch failed: %s", evdb_strerror(rs));
			import_fail_at(x, rs == EVDB_ERR_STORAGE_FULL ? 507 :
			    rs == EVDB_ERR_BUSY ? 503 : 500, rs == EVDB_ERR_STORAGE_FULL ?
			    "STORAGE_FULL" : "IMPORT_FAILED", msg, x->line);
		}
		import_release(x);
		return false;
	}
	if (x->clear)
		log_info(x->r->log, "req=%s import into %s: namespace cleared (force)",
		    x->r->request_id, x->r->ns);
	x->clear = false;
	if (x->n == 0)
		return true;
	x->imported += (int64_t)out.inserted;
	x->skipped += (int64_t)out.skipped;
	metrics_writes(x->r->metrics, (int64_t)out.inserted);
	import_release(x);
	if (x->skipped > 0)
		snprintf(json, sizeof(json), "{\"imported\":%lld,\"gpos\":%lld,"
		    "\"skipped\":%lld}", (long long)x->imported, (long long)last,
		    (long long)x->skipped);
	else
		snprintf(json, sizeof(json), "{\"imported\":%lld,\"gpos\":%lld}",
		    (long long)x->imported, (long long)last);
	import_event(x, json);
	return true;
}

/* ---- checkpoint records ------------------------------------------------
 *
 * {"checkpoint":NAME,"member":M,"size":N,"position":P,"updatedAt":T}, as
 * evdb export writes them after the messages (member and size absent or
 * null without a consumer group).  Applied in order: the pending messages
 * are committed first, then the checkpoint is set as given (with force:
 * the file's state is the namespace's), updatedAt kept.
 */

/* True when line may be a checkpoint record: only those lines are parsed twice. */
static bool
import_maybe_checkpoint(const char *line, size_t len)
{
	static const char key[] = "\"checkpoint\"";

	return memmem(line, len, key, sizeof(key) - 1) != NULL;
}

/* member and size of a checkpoint record into k; false when they are bad. */
static bool
import_checkpoint_member(struct json_object *o, struct store_consumer_key *k)
{
	struct json_object *m = NULL, *n = NULL;
	bool has_m = json_object_object_get_ex(o, "member", &m) && m != NULL;
	bool has_n = json_object_object_get_ex(o, "size", &n) && n != NULL;

	if (!has_m && !has_n)
		return true;
	if (!has_m || !has_n || !json_object_is_type(m, json_type_int) ||
	    !json_object_is_type(n, json_type_int))
		return false;
	k->member = json_object_get_int64(m);
	k->size = json_object_get_int64(n);
	return k->member >= 0 && k->size > 0 && k->member < k->size;
}

/*
 * Parses line as a checkpoint record into *cp.  Returns 0 when it is one,
 * 1 when it is not (no top-level "checkpoint" key: a message record), or
 * -1 after reporting the error.
 */
static int
import_checkpoint_parse(struct import_ctx *x, const char *line, size_t len,
    struct json_object **root, struct store_consumer_commit *cp)
{
	struct json_object *o, *v = NULL;
	const char *why = NULL, *t;
	char err[160], msg[320];
	size_t tlen, off;

	*root = NULL;
	memset(cp, 0, sizeof(*cp));
	json_tokener_reset(x->tok);
	if (!json_guard_check(line, len, err, sizeof(err)) ||
	    (o = json_tokener_parse_ex(x->tok, line, (int)len)) == NULL)
		return 1;	/* not JSON: the message path reports it */
	*root = o;
	if (json_tokener_get_error(x->tok) != json_tokener_success)
		return 1;
	for (off = json_tokener_get_parse_end(x->tok); off < len; off++)
		if (line[off] != ' ' && line[off] != '\t')
			return 1;	/* trailing bytes: reported there too */
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "checkpoint", &v))
		return 1;
	if (v == NULL || !json_object_is_type(v, json_type_string) ||
	    !store_consumer_name_valid(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v)))
		why = "checkpoint must be a name of 1 to 200 bytes of [A-Za-z0-9:._-]";
	else if (!import_checkpoint_member(o, &cp->key))
		why = "checkpoint member and size must be integers with"
		    " 0 <= member < size, or both absent";
	else if (!import_int(o, "position", &cp->position) || cp->position < 0 ||
	    cp->position > STORE_POSITION_MAX)
		why = "checkpoint position must be an integer from 0 to"
		    " 4611686018427387903";
	else if ((t = import_string(o, "updatedAt", &tlen)) == NULL ||
	    timefmt_parse(t, tlen, &cp->updated_us) != EVDB_OK)
		why = "checkpoint updatedAt must be a time";
	if (why != NULL) {
		snprintf(msg, sizeof(msg), "invalid record at line %lld: %s",
		    (long long)x->line, why);
		import_fail(x, "INVALID_RECORD", msg);
		return -1;
	}
	cp->key.name = json_object_get_string(v);
	cp->key.name_len = (size_t)json_object_get_string_len(v);
	cp->force = true;
	return 0;
}

/* Commits the pending messages, then sets the checkpoint cp. */
static bool
import_checkpoint_apply(struct import_ctx *x,
    const struct store_consumer_commit *cp)
{
	enum evdb_status rs;
	int64_t actual;
	bool backwards;
	char msg[160];

	if (!import_flush(x))
		return false;
	rs = store_consumer_commit(x->r->store, x->r->ns, cp, &actual, &backwards);
	if (rs == EVDB_OK) {
		x->checkpoints++;
		return true;
	}
	if (rs == EVDB_ERR_LIMIT) {
		snprintf(msg, sizeof(msg), "line %lld: the namespace holds %d"
		    " checkpoints, the most it may", (long long)x->line,
		    STORE_CONSUMER_MAX);
		import_fail_at(x, 507, "STORAGE_FULL", msg, x->line);
	} else {
		snprintf(msg, sizeof(msg), "checkpoint failed: %s", evdb_strerror(rs));
		import_fail_at(x, rs == EVDB_ERR_STORAGE_FULL ? 507 :
		    rs == EVDB_ERR_BUSY ? 503 : 500, rs == EVDB_ERR_STORAGE_FULL ?
		    "STORAGE_FULL" : "IMPORT_FAILED", msg, x->line);
	}
	return false;
}

/*
 * Handles line as a checkpoint record when it is one: returns 1 when it is
 * not (the caller imports it as a message), 0 when it was applied, -1 on
 * failure (reported).
 */
static int
import_checkpoint_line(struct import_ctx *x, const char *line, size_t len)
{
	struct store_consumer_commit cp;
	struct json_object *root;
	int k;

	if (!import_maybe_checkpoint(line, len))
		return 1;
	k = import_checkpoint_parse(x, line, len, &root, &cp);
	if (k == 0 && !import_checkpoint_apply(x, &cp))
		k = -1;
	json_object_put(root);
	return k;
}

/* Handles one complete line (without its '\n'). */
static bool
import_line(struct import_ctx *x, const char *line, size_t len)
{
	struct json_object *root;
	const char *code;
	char err[256], msg[384];
	size_t i;

	x->line++;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t')
			break;
	if (i == len)
		return true;	/* blank lines are counted, not imported */
	switch (import_checkpoint_line(x, line, len)) {
	case 0:
		return true;
	case -1:
		return false;
	}
	code = import_parse_line(x->tok, line, len, &root, &x->recs[x->n], err,
	    sizeof(err));
	if (code != NULL) {
		json_object_put(root);
		snprintf(msg, sizeof(msg), "%s at line %lld: %s",
		    strcmp(code, "INVALID_JSON") == 0 ? "malformed JSON" : "invalid record",
		    (long long)x->line, err);
		import_fail(x, code, msg);
		return false;
	}
	x->lines[x->n] = x->line;
	x->objs[x->n++] = root;
	x->bytes += len;
	if (x->n == IMPORT_BATCH || x->bytes >= IMPORT_BATCH_BYTES)
		return import_flush(x);
	return true;
}

static void
import_done(struct import_ctx *x)
{
	struct timespec now;
	char json[192], ckpts[48] = "";
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - x->start.tv_sec) +
	    (double)(now.tv_nsec - x->start.tv_nsec) / 1e9;
	if (x->checkpoints > 0)
		snprintf(ckpts, sizeof(ckpts), "\"checkpoints\":%lld,",
		    (long long)x->checkpoints);
	if (x->skipped > 0)
		snprintf(json, sizeof(json), "{\"done\":true,\"imported\":%lld,"
		    "\"skipped\":%lld,%s\"elapsed\":\"%.1fs\"}", (long long)x->imported,
		    (long long)x->skipped, ckpts, secs);
	else
		snprintf(json, sizeof(json), "{\"done\":true,\"imported\":%lld,"
		    "%s\"elapsed\":\"%.1fs\"}", (long long)x->imported, ckpts, secs);
	import_event(x, json);
}

static void
import_cleanup(void *arg)
{
	struct import_ctx *x = arg;

	import_release(x);
	json_tokener_free(x->tok);
	buf_free(&x->events);
}

void
import_serve(struct request *r)
{
	static const char headers[] =
	    "Cache-Control: no-cache\r\n"
	    "X-Accel-Buffering: no\r\n";
	struct import_ctx *x;
	struct buf *pending = r->body;	/* an incomplete line carried over */
	char *chunk, *p, *nl;
	const char *force;
	size_t len;
	int64_t received = 0;
	int n;

	r->label = "import";
	x = arena_alloc(r->arena, sizeof(*x));
	memset(x, 0, sizeof(*x));
	x->r = r;
	x->status = 200;
	/*
	 * force clears in the first commit's own transaction, never before:
	 * a file refused before or in its first batch leaves the namespace as
	 * it was (see import_flush).
	 */
	force = request_query(r, "force", &len);
	x->clear = force != NULL && strcmp(force, "true") == 0;
	x->tok = json_tokener_new_ex(RPC_MAX_DEPTH);
	/* UTF-8 was checked, more strictly than json-c can, by json_guard_check. */
	json_tokener_set_flags(x->tok, JSON_TOKENER_STRICT);
	x->objs = arena_alloc(r->arena, sizeof(*x->objs) * IMPORT_BATCH);
	x->recs = arena_alloc(r->arena, sizeof(*x->recs) * IMPORT_BATCH);
	x->lines = arena_alloc(r->arena, sizeof(*x->lines) * IMPORT_BATCH);
	arena_cleanup_add(r->arena, import_cleanup, x);
	buf_init(&x->events);
	clock_gettime(CLOCK_MONOTONIC, &x->start);

	if (r->fcgi == NULL) {
		/* Detached (tests): the whole body is preloaded. */
		const char *b = r->body->data ? r->body->data : "";
		size_t blen = r->body->len;

		while (!x->failed && blen > 0) {
			nl = memchr(b, '\n', blen);
			len = nl != NULL ? (size_t)(nl - b) : blen;
			if (!import_line(x, b, len))
				break;
			b += len + (nl != NULL);
			blen -= len + (nl != NULL);
		}
		goto end;
	}

	buf_reset(pending);
	chunk = arena_alloc(r->arena, IMPORT_CHUNK);
	while (!x->failed) {
		n = FCGX_GetStr(chunk, IMPORT_CHUNK, r->fcgi->in);
		if (n <= 0)
			break;
		received += n;
		p = chunk;
		while (n > 0 && (nl = memchr(p, '\n', (size_t)n)) != NULL) {
			len = (size_t)(nl - p);
			if (pending->len > 0) {
				buf_append(pending, p, len);
				if (pending->len > IMPORT_LINE_MAX) {
					x->line++;
					import_fail(x, "READ_ERROR", "line exceeds 1 MiB");
					break;
				}
				if (!import_line(x, pending->data, pending->len))
					break;
				buf_reset(pending);
			} else if (len > IMPORT_LINE_MAX) {
				x->line++;
				import_fail(x, "READ_ERROR", "line exceeds 1 MiB");
				break;
			} else if (!import_line(x, p, len))
				break;
			n -= (int)len + 1;
			p = nl + 1;
		}
		if (x->failed)
			break;
		if (n > 0) {
			buf_append(pending, p, (size_t)n);
			if (pending->len > IMPORT_LINE_MAX) {
				x->line++;
				import_fail(x, "READ_ERROR", "line exceeds 1 MiB");
			}
		}
	}
	if (!x->failed && (FCGX_GetError(r->fcgi->in) != 0 ||
	    (r->content_length >= 0 && received < r->content_length))) {
		/* The body was cut short: the last batch is not trusted. */
		import_release(x);
		import_fail(x, "READ_ERROR", "the request body ended early");
	}
	if (!x->failed && pending->len > 0)
		(void)import_line(x, pending->data, pending->len);
end:
	if (!x->failed && import_flush(x))
		import_done(x);
	if (x->imported > 0 && store_import_finish(r->store, r->ns) != EVDB_OK)
		log_error(r->log, "req=%s import: cannot recompute totals of %s",
		    r->request_id, r->ns);
	log_info(r->log, "req=%s import into %s: %lld records, %lld already stored",
	    r->request_id, r->ns, (long long)x->imported, (long long)x->skipped);
	/*
	 * The events go out only now.  nginx forwards a request body only until
	 * the response headers are sent (ngx_http_upstream_send_request_handler
	 * stops at header_sent), so answering earlier would starve the import of
	 * its own body.  Each event was still produced as its batch committed.
	 */
	if (request_stream_begin(r, x->status, "text/event-stream", headers) == EVDB_OK)
		(void)request_stream_write(r, x->events.data ? x->events.data : "",
		    x->events.len);
}
