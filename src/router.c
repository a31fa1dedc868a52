/*
 * router.c - the route table and the small unauthenticated endpoints.
 */
#include "config.h"

#include <string.h>

#include "auth.h"
#include "import.h"
#include "json_out.h"
#include "router.h"
#include "rpc.h"
#include "server.h"
#include "sse.h"
#include "version.h"

typedef void (*route_fn)(struct request *r);

struct route {
	const char *path;	/* exact path, or prefix when is_prefix */
	bool is_prefix;		/* match path and anything below it */
	bool needs_auth;	/* authenticate before calling fn */
	route_fn fn;		/* handler */
};

static void
router_health(struct request *r)
{

	r->label = "health";
	/* Healthy means this worker can read the registry. */
	if (store_ns_token_hash(r->store, AUTH_ADMIN_NAMESPACE,
	    (char[TOKEN_HASH_HEX_LEN + 1]){ 0 }) == EVDB_OK) {
		static const char ok[] = "{\"status\":\"ok\"}";

		request_send(r, 200, "application/json", ok, sizeof(ok) - 1);
		return;
	}
	request_send_error(r, 503, "BACKEND_ERROR", "The store cannot be read", NULL);
}

static void
router_version(struct request *r)
{
	static const char body[] = "{\"version\":\"" EVDB_VERSION "\"}";

	r->label = "version";
	request_send(r, 200, "application/json", body, sizeof(body) - 1);
}

static void
router_subscribe(struct request *r)
{
	sse_serve(r, server_hub(r->server));
}

static const struct route routes[] = {
	{ "/rpc", false, true, rpc_serve },
	{ "/health", false, false, router_health },
	{ "/version", false, false, router_version },
	{ "/subscribe", false, true, router_subscribe },
	{ "/subscribe/", true, true, router_subscribe },
	{ "/import", false, true, import_serve },
};

void
router_dispatch(struct request *r)
{
	static const char not_found[] =
	    "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"Endpoint not found\"}}";
	const struct route *rt;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		rt = &routes[i];
		if (rt->is_prefix ? strncmp(r->path, rt->path, strlen(rt->path)) == 0
		    : strcmp(r->path, rt->path) == 0) {
			if (rt->needs_auth && !auth_request(r))
				return;
			rt->fn(r);
			return;
		}
	}
	r->label = "not-found";
	request_send(r, 404, "application/json", not_found, sizeof(not_found) - 1);
}
