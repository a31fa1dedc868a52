/*
 * rpc_message.c - what stream.write and batch.write share: validating a
 * message to write (its stream, type, data, metadata and id), the
 * expectedVersion vocabulary of EXTENSIONS.md section 1, and the 409
 * answers of a write that conflicts.
 *
 * Every check fails with 400 INVALID_REQUEST and a message that starts
 * with what names the value ("message", "options", "entries[3]"), so that
 * stream.write keeps the reference's exact messages and batch.write says
 * which entry is at fault.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/json_out.h"
#include "core/json_slice.h"
#include "core/streamname.h"
#include "rpc/rpc_internal.h"

bool
rpc_write_stream(struct rpc_call *call, struct json_object *v, const char *what,
    const char **s, size_t *len)
{
	const char *why;

	if (v == NULL || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "%s must be a non-empty string", what);
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	if (!streamname_valid(*s, *len, &why))
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s %s", what, why);
	return true;
}

/* Object members in v, nested ones included (a duplicated key counts once). */
static size_t
rpc_json_members(struct json_object *v)
{
	size_t n = 0, i, len;

	switch (json_object_get_type(v)) {
	case json_type_object: {
		json_object_object_foreach(v, key, child) {
			(void)key;
			n += 1 + rpc_json_members(child);
		}
		break;
	}
	case json_type_array:
		len = json_object_array_length(v);
		for (i = 0; i < len; i++)
			n += rpc_json_members(json_object_array_get_idx(v, i));
		break;
	default:
		break;
	}
	return n;
}

/*
 * The text to store for a member whose tree is v and whose text, as
 * json_slice_members() found it, is t: the client's own bytes, compacted
 * into the arena (json_slice.h), when the copy is what json-c would
 * write; json-c's serialisation otherwise.  Either way the same bytes.
 */
static const char *
rpc_write_json(struct rpc_call *call, struct json_object *v,
    enum json_slice_find found, const struct json_span *t, size_t *len)
{
	size_t members;
	char *out;

	if (found == JSON_SLICE_FOUND) {
		out = arena_alloc(call->req->arena, t->len + 1);
		if (json_slice_compact(t->p, t->len, out, len, &members) &&
		    members == rpc_json_members(v)) {
			out[*len] = '\0';
			return out;
		}
	}
	return rpc_json_text(v, len);
}

bool
rpc_write_message(struct rpc_call *call, struct json_object *msg,
    const struct json_span *msg_text, const char *what,
    struct store_message_in *in)
{
	static const char *const keys[2] = { "data", "metadata" };
	struct json_object *type = NULL, *data = NULL, *meta = NULL;
	enum json_slice_find found[2] = { JSON_SLICE_UNSURE, JSON_SLICE_UNSURE };
	struct json_span text[2];

	if (msg == NULL || !json_object_is_type(msg, json_type_object))
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s must be an object",
		    what);
	if (!json_object_object_get_ex(msg, "type", &type) || type == NULL ||
	    !json_object_is_type(type, json_type_string) ||
	    json_object_get_string_len(type) == 0)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "%s.type must be a non-empty string", what);
	in->type = json_object_get_string(type);
	in->type_len = (size_t)json_object_get_string_len(type);
	if (in->type_len > RPC_TYPE_MAX || memchr(in->type, '\0', in->type_len) != NULL)
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "%s.type must be at most %d bytes, without NUL", what, RPC_TYPE_MAX);
	if (!json_object_object_get_ex(msg, "data", &data) || data == NULL ||
	    !json_object_is_type(data, json_type_object))
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s.data must be an object",
		    what);
	/* CONTRACT.md point 6: an explicit null means "no metadata". */
	if (json_object_object_get_ex(msg, "metadata", &meta) && meta != NULL &&
	    !json_object_is_type(meta, json_type_object))
		return rpc_fail(call, RPC_INVALID_REQUEST,
		    "%s.metadata must be an object", what);
	if (msg_text != NULL)
		json_slice_members(msg_text->p, msg_text->len, keys, 2, text, found);
	in->data = rpc_write_json(call, data, found[0], &text[0], &in->data_len);
	in->metadata = NULL;
	in->metadata_len = 0;
	if (meta != NULL)
		in->metadata = rpc_write_json(call, meta, found[1], &text[1],
		    &in->metadata_len);
	return true;
}

bool
rpc_write_id(struct rpc_call *call, struct json_object *obj, const char *what,
    char idbuf[UUID_STR_LEN + 1], struct store_message_in *in)
{
	const char *id = NULL;
	size_t id_len = 0;
	bool present;
	char key[96];

	snprintf(key, sizeof(key), "%s.id must be a string", what);
	if (!rpc_opt_string(call, obj, "id", key, &present, &id, &id_len))
		return false;
	in->id = NULL;
	in->id_len = 0;
	if (!present || id_len == 0)
		return true;	/* "" means "generate one", as the reference */
	/* One UUID is one id, however it is spelled (docs/api.md). */
	if (uuid_canonical(id, id_len, idbuf) != EVDB_OK)
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s.id must be a UUID: "
		    "8-4-4-4-12 hex digits, optionally in {} or after urn:uuid:, "
		    "or 32 hex digits", what);
	in->id = idbuf;
	in->id_len = UUID_STR_LEN;
	return true;
}

bool
rpc_write_expected(struct rpc_call *call, struct json_object *obj,
    const char *what, struct rpc_expected *x)
{
	static const struct {
		const char *word;
		enum store_expect expect;
	} words[] = {
		{ "any", STORE_EXPECT_ANY },
		{ "noStream", STORE_EXPECT_NO_STREAM },
		{ "exists", STORE_EXPECT_EXISTS },
	};
	struct json_object *o = NULL;
	const char *s;
	size_t i, len;
	bool present;
	char msg[128];

	memset(x, 0, sizeof(*x));
	x->expect = STORE_EXPECT_ANY;
	if (obj == NULL || !json_object_object_get_ex(obj, "expectedVersion", &o))
		return true;
	if (o != NULL && json_object_is_type(o, json_type_string)) {
		s = json_object_get_string(o);
		len = (size_t)json_object_get_string_len(o);
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (len == strlen(words[i].word) &&
			    memcmp(s, words[i].word, len) == 0) {
				x->expect = words[i].expect;
				x->word = words[i].word;
				return true;
			}
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s.expectedVersion must be"
		    " a number, \"any\", \"noStream\" or \"exists\"", what);
	}
	/* A number, as EventoDB takes it: truncated, -1 for "no stream". */
	snprintf(msg, sizeof(msg), "%s.expectedVersion must be a number", what);
	if (!rpc_opt_int(call, obj, "expectedVersion", msg, &present,
	    &x->version))
		return false;
	x->expect = STORE_EXPECT_VERSION;
	return true;
}

/* Appends x's "expected" value to b: the number, or the word as given. */
static void
rpc_put_expected(struct buf *b, const struct rpc_expected *x)
{
	if (x->word != NULL)
		json_out_cstr(b, x->word);
	else
		json_out_int(b, x->version);
}

void
rpc_write_version_conflict(struct rpc_call *call, const char *stream,
    size_t stream_len, const struct rpc_expected *x, int64_t actual,
    int64_t index)
{
	struct buf d;
	char where[48] = "";

	buf_init(&d);
	buf_puts(&d, "{\"actual\":");
	json_out_int(&d, actual);
	buf_puts(&d, ",\"expected\":");
	rpc_put_expected(&d, x);
	if (index >= 0) {
		buf_puts(&d, ",\"index\":");
		json_out_int(&d, index);
		snprintf(where, sizeof(where), "options.expect[%" PRId64 "]: ", index);
	}
	/*
	 * stream.write with a number answers as EventoDB does, details
	 * {"actual","expected"} and nothing else, so that its clients see
	 * what they always saw; the new forms name the stream.
	 */
	if (index >= 0 || x->word != NULL) {
		buf_puts(&d, ",\"stream\":");
		json_out_string(&d, stream, stream_len);
	}
	buf_putc(&d, '}');
	switch (x->expect) {
	case STORE_EXPECT_NO_STREAM:
		rpc_fail_details(call, RPC_STREAM_VERSION_CONFLICT, buf_cstr(&d),
		    "%sExpected no stream, stream is at version %" PRId64, where,
		    actual);
		break;
	case STORE_EXPECT_EXISTS:
		rpc_fail_details(call, RPC_STREAM_VERSION_CONFLICT, buf_cstr(&d),
		    "%sExpected the stream to exist, it has no message", where);
		break;
	default:
		rpc_fail_details(call, RPC_STREAM_VERSION_CONFLICT, buf_cstr(&d),
		    "%sExpected version %" PRId64 ", stream is at version %" PRId64,
		    where, x->version, actual);
		break;
	}
	buf_free(&d);
}

void
rpc_write_id_conflict(struct rpc_call *call, const struct store_message_in *in,
    const char *field, int64_t index)
{
	char details[128], where[48] = "";

	if (index >= 0)
		snprintf(where, sizeof(where), " (entries[%" PRId64 "])", index);
	if (field == NULL) {
		/* batch.write: this entry's id is stored, other entries are new. */
		snprintf(details, sizeof(details), "{\"id\":\"%.*s\",\"index\":%" PRId64
		    "}", (int)in->id_len, in->id, index);
		rpc_fail_details(call, RPC_MESSAGE_ID_CONFLICT, details,
		    "Message id %.*s%s already exists, but other entries of the batch"
		    " are new: a batch is retried whole or not at all",
		    (int)in->id_len, in->id, where);
		return;
	}
	if (index >= 0)
		snprintf(details, sizeof(details), "{\"field\":\"%s\",\"id\":\"%.*s\","
		    "\"index\":%" PRId64 "}", field, (int)in->id_len, in->id, index);
	else
		snprintf(details, sizeof(details), "{\"id\":\"%.*s\",\"field\":\"%s\"}",
		    (int)in->id_len, in->id, field);
	if (strcmp(field, "stream") == 0)
		rpc_fail_details(call, RPC_MESSAGE_ID_CONFLICT, details,
		    "Message id %.*s%s already exists in another stream",
		    (int)in->id_len, in->id, where);
	else
		rpc_fail_details(call, RPC_MESSAGE_ID_CONFLICT, details,
		    "Message id %.*s%s already exists with a different %s",
		    (int)in->id_len, in->id, where, field);
}
