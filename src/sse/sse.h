/*
 * sse.h - GET /subscribe: Server-Sent Events that carry "poke" notifications.
 *
 * sse_serve() validates the query (reference-behaviour.md section 7, with
 * CONTRACT.md points 13 to 18), reserves a place in the hub, sends the
 * response headers and ": ready", and hands the FastCGI connection over to
 * the hub (hub.h), which streams from then on.  The worker thread returns at
 * once.  Accepted forms:
 *   /subscribe?stream=NAME[&position=P]
 *   /subscribe?category=NAME[&position=G][&consumer=M&size=N]
 *   /subscribe?all=true[&position=G]
 *   /subscribe/stream/NAME, /subscribe/category/NAME (the Node SDK's paths,
 *   with consumerGroupMember / consumerGroupSize)
 * A Last-Event-ID header resumes after the global position it names.
 * checkpoint=NAME, on every form, starts after consumer checkpoint NAME of
 * the subscription's group member when no position is given (sse.c looks
 * it up before the subscription is handed over).
 */
#ifndef EVDB_SSE_H
#define EVDB_SSE_H

#include "sse/hub.h"
#include "http/request.h"

/**
 * Validates the subscription r asks for into *sub (whose name points into
 * r's memory).  On failure answers r with the 400/404 error and returns
 * false.  r->ns must be set.
 */
bool sse_parse(struct request *r, struct hub_subscription *sub);

/** Serves an authenticated subscription request; hub receives the stream. */
void sse_serve(struct request *r, struct hub *hub);

#endif /* EVDB_SSE_H */
