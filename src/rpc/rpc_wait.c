/*
 * rpc_wait.c - long-poll reads: the "wait" option of stream.get and
 * category.get (EXTENSIONS.md section 3), the hand-over of a read that
 * found nothing to the long-poll loop (sse/longpoll.h), and rpc_rerun, by
 * which the loop runs the same RPC call again.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rpc/rpc.h"
#include "rpc/rpc_internal.h"
#include "sse/longpoll.h"

bool
rpc_opt_wait(struct rpc_call *call, struct json_object *opts,
    enum store_poke_kind kind, const char *name, size_t name_len)
{
	static const char msg[] = "options.wait must be an integer number of"
	    " milliseconds from 0 to 30000";
	struct json_object *o = NULL;
	int64_t v;
	double d;

	call->wait.ms = 0;
	if (opts == NULL || !json_object_object_get_ex(opts, "wait", &o))
		return true;
	switch (o != NULL ? json_object_get_type(o) : json_type_null) {
	case json_type_int:
		v = json_object_get_int64(o);
		break;
	case json_type_double:
		d = json_object_get_double(o);
		if (!isfinite(d) || d != trunc(d) || d < 0 || d > RPC_WAIT_MAX)
			return rpc_fail(call, RPC_INVALID_REQUEST, "%s", msg);
		v = (int64_t)d;
		break;
	default:
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s", msg);
	}
	if (v < 0 || v > RPC_WAIT_MAX)
		return rpc_fail(call, RPC_INVALID_REQUEST, "%s", msg);
	/* A held read keeps its body: a tenant's held reads cost little. */
	if (v > 0 && call->req->body->len > RPC_WAIT_BODY_MAX)
		return rpc_fail(call, RPC_INVALID_REQUEST, "A request with"
		    " options.wait must be at most %d bytes", RPC_WAIT_BODY_MAX);
	call->wait.ms = v;
	call->wait.kind = kind;
	call->wait.name = name;
	call->wait.name_len = name_len;
	return true;
}

bool
rpc_wait_hold(struct rpc_call *call)
{
	struct request *r = call->req;
	struct longpoll_read rd;
	const char *why;
	enum evdb_status rs;
	bool keep;
	int fd;

	if (call->wait.ms <= 0 || !call->wait.empty)
		return false;
	r->wait_empty = true;
	if (r->longpoll == NULL || r->fcgi == NULL)
		return false;	/* a run again by the loop, or a detached request */
	rs = longpoll_reserve(r->longpoll, r->ns, &why);
	if (rs == EVDB_ERR_CLOSED)
		return false;	/* shutting down: what the read returns now */
	if (rs != EVDB_OK) {
		request_send_error(r, 429, "LONGPOLL_LIMIT", why, NULL);
		return true;
	}
	keep = r->fcgi->keepConnection != 0;	/* request_take_socket clears it */
	if ((fd = request_take_socket(r)) < 0) {
		longpoll_release(r->longpoll, r->ns);
		return false;
	}
	memset(&rd, 0, sizeof(rd));
	memcpy(rd.ns, r->ns, sizeof(rd.ns));
	rd.kind = call->wait.kind;
	rd.name = call->wait.name != NULL ? call->wait.name : "";
	rd.name_len = call->wait.name_len;
	rd.group_member = call->wait.group_member;
	rd.group_size = call->wait.group_size;
	rd.body = r->body->data != NULL ? r->body->data : "";
	rd.body_len = r->body->len;
	rd.wait_ms = (int)call->wait.ms;
	rd.keep_conn = keep;
	longpoll_attach(r->longpoll, &rd, fd, r->fcgi->requestId);
	/* Answered by the loop: nothing more goes out from here. */
	r->status = 200;
	r->content_type = "application/json";
	r->streaming = true;
	return true;
}

bool
rpc_rerun(const struct settings *s, struct log *log, struct store_conn *c,
    const char *ns, struct buf *body, struct buf *out, int *status,
    const char **content_type)
{
	struct request r;
	struct arena arena;

	arena_init(&arena, 0);
	memset(&r, 0, sizeof(r));
	r.arena = &arena;
	r.store = c;
	r.settings = s;
	r.log = log;
	r.body = body;
	r.out = out;
	r.method = "POST";
	r.path = "/rpc";
	r.query = "";
	r.request_id = "longpoll";
	r.content_length = (int64_t)body->len;
	snprintf(r.ns, sizeof(r.ns), "%s", ns);
	rpc_serve(&r);
	if (r.status == 0)
		request_send_error(&r, 500, "INTERNAL_ERROR", "No response was produced",
		    NULL);
	*status = r.status;
	*content_type = r.content_type;
	arena_free(&arena);
	return r.wait_empty && r.status == 200;
}
