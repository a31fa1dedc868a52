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

/** Serves an authenticated /rpc request (r->ns is set). */
void rpc_serve(struct request *r);

#endif /* EVDB_RPC_H */
