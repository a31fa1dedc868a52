/*
 * router.h - HTTP routes to handlers.
 *
 * nginx forwards every evdb location to the same FastCGI socket; the
 * route comes from DOCUMENT_URI.  The route table in router.c says, for each
 * path, which handler serves it and whether it needs a bearer token.  Paths
 * match exactly, except entries marked as prefixes ("/subscribe/...", the
 * Node SDK's alias paths).  Unknown paths get the reference's 404 body.
 */
#ifndef EVDB_ROUTER_H
#define EVDB_ROUTER_H

#include "http/request.h"

/**
 * Serves r: authenticates when the route needs it, admits it through
 * r->gate (when set), and calls its handler.  A request over its token's
 * limit is either refused with 429 or parked (r->parked: nothing was
 * answered, and the server must not finish it; see server/gate.h).
 */
void router_dispatch(struct request *r);

#endif /* EVDB_ROUTER_H */
