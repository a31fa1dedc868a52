/*
 * sse.c - validating a subscription and handing it to the hub.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sse/sse.h"
#include "core/streamname.h"

static bool
sse_parse_int(const char *s, size_t len, int64_t *v)
{
	char *end;
	long long n;

	if (s == NULL || len == 0 || memchr(s, '\0', len) != NULL)
		return false;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end != s + len)
		return false;
	*v = n;
	return true;
}

static void
sse_bad(struct request *r, const char *message)
{
	request_send_error(r, 400, "INVALID_REQUEST", message, NULL);
}

/* Reads the first present query parameter among names; NULL when none. */
static char *
sse_query(struct request *r, const char *a, const char *b, size_t *len)
{
	char *v = request_query(r, a, len);

	if ((v == NULL || *len == 0) && b != NULL)
		v = request_query(r, b, len);
	return v != NULL && *len > 0 ? v : NULL;
}

/*
 * checkpoint=NAME: a consumer checkpoint to start after when the
 * subscription gives no position (sse_serve looks it up).
 */
static bool
sse_parse_checkpoint(struct request *r, bool has_position,
    struct hub_subscription *sub)
{
	size_t len;
	char *v;

	if ((v = sse_query(r, "checkpoint", NULL, &len)) == NULL)
		return true;
	if (!store_consumer_name_valid(v, len)) {
		sse_bad(r, "Invalid checkpoint parameter");
		return false;
	}
	if (!has_position) {
		sub->checkpoint = v;
		sub->checkpoint_len = len;
	}
	return true;
}

static enum evdb_status
sse_checkpoint_found(void *ctx, const struct store_consumer_checkpoint *cp)
{
	*(int64_t *)ctx = cp->position;
	return EVDB_OK;
}

/*
 * Resolves sub->checkpoint into after_gpos: deliver what lies above the
 * committed position of that consumer and of the subscription's group
 * member (nothing committed: from the beginning), or above Last-Event-ID
 * when that is further on.  false when the store cannot be read.
 */
static bool
sse_resolve_checkpoint(struct request *r, struct hub_subscription *sub)
{
	struct store_consumer_key key;
	int64_t pos = 0;

	if (sub->checkpoint == NULL)
		return true;
	memset(&key, 0, sizeof(key));
	key.name = sub->checkpoint;
	key.name_len = sub->checkpoint_len;
	key.member = sub->group_size > 0 ? sub->group_member : 0;
	key.size = sub->group_size;
	if (store_consumer_get(r->store, r->ns, &key, sse_checkpoint_found,
	    &pos) != EVDB_OK)
		return false;
	if (pos > sub->after_gpos)
		sub->after_gpos = pos;
	sub->from_head = false;
	sub->checkpoint = NULL;
	sub->checkpoint_len = 0;
	return true;
}

bool
sse_parse(struct request *r, struct hub_subscription *out)
{
	struct hub_subscription sub;
	const char *stream = NULL, *category = NULL, *all, *why, *lei;
	size_t stream_len = 0, category_len = 0, len;
	int64_t position = 0, consumer = 0, size = 0, last_id = -1;
	bool has_position = false;
	char *v;

	r->label = "subscribe";
	memset(&sub, 0, sizeof(sub));

	/* The Node SDK's alias paths name the stream or category in the path. */
	if (strncmp(r->path, "/subscribe/stream/", 18) == 0 && r->path[18] != '\0') {
		stream = r->path + 18;
		stream_len = strlen(stream);
	} else if (strncmp(r->path, "/subscribe/category/", 20) == 0 &&
	    r->path[20] != '\0') {
		category = r->path + 20;
		category_len = strlen(category);
	} else if (strcmp(r->path, "/subscribe") != 0) {
		request_send_error(r, 404, "NOT_FOUND", "Endpoint not found", NULL);
		return false;
	}
	if ((v = sse_query(r, "stream", NULL, &len)) != NULL) {
		if (stream != NULL || category != NULL) {
			sse_bad(r, "Cannot specify both 'stream' and 'category'");
			return false;
		}
		stream = v;
		stream_len = len;
	}
	if ((v = sse_query(r, "category", NULL, &len)) != NULL) {
		if (stream != NULL || category != NULL) {
			sse_bad(r, "Cannot specify both 'stream' and 'category'");
			return false;
		}
		category = v;
		category_len = len;
	}
	all = request_query(r, "all", &len);
	if (all != NULL && strcmp(all, "true") != 0)
		all = NULL;
	if (all != NULL && (stream != NULL || category != NULL)) {
		sse_bad(r, "Cannot combine 'all' with 'stream' or 'category'");
		return false;
	}
	if (all == NULL && stream == NULL && category == NULL) {
		sse_bad(r, "Either 'stream', 'category', or 'all=true' parameter required");
		return false;
	}
	if ((v = sse_query(r, "position", NULL, &len)) != NULL) {
		if (!sse_parse_int(v, len, &position)) {
			sse_bad(r, "Invalid position parameter");
			return false;
		}
		has_position = true;
	}
	if ((v = sse_query(r, "consumer", "consumerGroupMember", &len)) != NULL &&
	    (!sse_parse_int(v, len, &consumer) || consumer < 0)) {
		sse_bad(r, "Invalid consumer parameter");
		return false;
	}
	if ((v = sse_query(r, "size", "consumerGroupSize", &len)) != NULL &&
	    (!sse_parse_int(v, len, &size) || size < 0)) {
		sse_bad(r, "Invalid size parameter");
		return false;
	}
	if (category != NULL && (consumer > 0 || size > 0) &&
	    (size == 0 || consumer >= size)) {
		sse_bad(r, "Invalid consumer group: member must be < size");
		return false;
	}
	lei = request_param(r, "HTTP_LAST_EVENT_ID");
	if (lei != NULL && *lei != '\0' &&
	    (!sse_parse_int(lei, strlen(lei), &last_id) || last_id < 0)) {
		sse_bad(r, "Invalid Last-Event-ID header");
		return false;
	}
	if (stream != NULL && !streamname_valid(stream, stream_len, &why)) {
		request_send_error(r, 400, "INVALID_REQUEST", "Invalid stream name", NULL);
		return false;
	}
	if (category != NULL && memchr(category, '\0', category_len) != NULL) {
		sse_bad(r, "Invalid category name");
		return false;
	}
	if (!sse_parse_checkpoint(r, has_position, &sub))
		return false;

	memcpy(sub.ns, r->ns, sizeof(sub.ns));
	if (stream != NULL) {
		sub.kind = STORE_POKE_STREAM;
		sub.name = stream;
		sub.name_len = stream_len;
		sub.min_position = position;	/* a stream position */
		sub.after_gpos = last_id > 0 ? last_id : 0;
	} else {
		sub.kind = category != NULL ? STORE_POKE_CATEGORY : STORE_POKE_ALL;
		sub.name = category;
		sub.name_len = category_len;
		/* A global position: deliver it and everything after it. */
		sub.after_gpos = position > 0 ? position - 1 : 0;
		if (last_id >= 0 && last_id > sub.after_gpos)
			sub.after_gpos = last_id;
		/* all=true without a starting point follows new writes only. */
		sub.from_head = all != NULL && !has_position && last_id < 0;
		if (category != NULL && size > 0) {
			sub.group_member = consumer;
			sub.group_size = size;
		}
	}

	*out = sub;
	return true;
}

void
sse_serve(struct request *r, struct hub *hub)
{
	static const char headers[] =
	    "Cache-Control: no-cache\r\n"
	    "X-Accel-Buffering: no\r\n"
	    "Access-Control-Allow-Origin: *\r\n";
	static const char ready[] = ": ready\n\n";
	struct hub_subscription sub;
	const char *why;
	int64_t head;
	int fd;

	if (!sse_parse(r, &sub))
		return;
	if (!sse_resolve_checkpoint(r, &sub)) {
		request_send_error(r, 500, "BACKEND_ERROR",
		    "Failed to read the checkpoint", NULL);
		return;
	}
	if (sub.from_head) {
		/*
		 * "From now on" means after what is committed before ': ready' goes
		 * out, not after whatever the hub finds when it gets to it.
		 */
		if (store_head(r->store, r->ns, &head) != EVDB_OK) {
			request_send_error(r, 500, "BACKEND_ERROR",
			    "Failed to read the namespace head", NULL);
			return;
		}
		sub.after_gpos = head;
		sub.from_head = false;
	}
	if (hub_reserve(hub, r->ns, &why) != EVDB_OK) {
		request_send_error(r, 429, "SUBSCRIBER_LIMIT", why, NULL);
		return;
	}
	if (request_stream_begin(r, 200, "text/event-stream", headers) != EVDB_OK ||
	    request_stream_write(r, ready, sizeof(ready) - 1) != EVDB_OK ||
	    r->fcgi == NULL || (fd = request_take_socket(r)) < 0) {
		/* The client went away before the stream began (or a detached test). */
		hub_release(hub, r->ns);
		return;
	}
	hub_attach(hub, &sub, fd, r->fcgi->requestId);
}
