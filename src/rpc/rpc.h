/*
 * rpc.h - the POST /rpc endpoint: EventoDB's JSON-array RPC.
 *
 * The body is ["method", arg1, arg2, ...].  The method is looked up in a
 * table (rpc.c) and its handler validates the arguments exactly as the
 * reference does (reference-behaviour.md sections 2 and 3, with the
 * departures of CONTRACT.md).  Every answer is JSON: the result followed by
 * "\n" with status 200, or the error envelope with the status of its code.
 */
#ifndef EVDB_RPC_H
#define EVDB_RPC_H

#include <stdbool.h>

#include "http/request.h"

/** Largest JSON nesting accepted in a request body. */
#define RPC_MAX_DEPTH 64

struct json_tokener;

/**
 * A JSON tokener for the request bodies of one worker (r->tok), nesting
 * at most RPC_MAX_DEPTH; NULL when out of memory.  rpc resets it before
 * each parse and keeps nothing in it between requests, so the worker may
 * reuse it for every request it serves; one thread at a time.  Free it
 * with rpc_tokener_free.
 */
struct json_tokener *rpc_tokener_new(void);

/** Frees a tokener made by rpc_tokener_new; NULL is accepted. */
void rpc_tokener_free(struct json_tokener *tok);

/** Serves an authenticated /rpc request (r->ns is set). */
void rpc_serve(struct request *r);

/**
 * Runs the RPC call in body (a request body, not changed) again for
 * namespace ns on connection c, as the long-poll loop does for a held read
 * (sse/longpoll.h: this is a longpoll_run_fn once bound to s and log).  The
 * answer's body goes to out, its status and content type (a static string)
 * to *status and *content_type.  Nothing is held.  Returns true when the
 * call was a read with "wait" that still returns no message.
 */
bool rpc_rerun(const struct settings *s, struct log *log, struct store_conn *c,
    const char *ns, struct buf *body, struct buf *out, int *status,
    const char **content_type);

#endif /* EVDB_RPC_H */
