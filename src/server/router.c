/*
 * router.c - the route table and the small unauthenticated endpoints.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "import/import.h"
#include "http/metrics.h"
#include "core/json_out.h"
#include "server/router.h"
#include "rpc/rpc.h"
#include "server/gate.h"
#include "sse/sse.h"
#include "core/token.h"
#include "core/version.h"

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
	static const char ok[] = "{\"status\":\"ok\"}";
	enum evdb_status rs;
	char why[160] = "";

	r->label = "health";
	/*
	 * Healthy means this worker can read the registry, and the store can
	 * still open the files of a namespace: with descriptors exhausted
	 * every namespace not already open fails while the registry answers.
	 * A database that cannot be reached (PostgreSQL down or restarting)
	 * is BACKEND_UNAVAILABLE, as on every other endpoint.
	 */
	if ((rs = store_ns_token_hash(r->store, AUTH_ADMIN_NAMESPACE,
	    (char[TOKEN_HASH_HEX_LEN + 1]){ 0 })) != EVDB_OK &&
	    rs != EVDB_ERR_UNAVAILABLE) {
		request_send_error(r, 503, "BACKEND_ERROR", "The store cannot be read",
		    NULL);
		return;
	}
	if (rs == EVDB_OK)
		rs = store_health(r->store, why, sizeof(why));
	if (rs == EVDB_ERR_UNAVAILABLE) {
		request_send_error(r, 503, "BACKEND_UNAVAILABLE", why[0] != '\0' ?
		    why : "The database is unavailable", NULL);
		return;
	}
	if (rs != EVDB_OK) {
		request_send_error(r, 503, "BACKEND_ERROR", why, NULL);
		return;
	}
	request_send(r, 200, "application/json", ok, sizeof(ok) - 1);
}

static void
router_version(struct request *r)
{
	static const char body[] = "{\"version\":\"" EVDB_VERSION "\"}";

	r->label = "version";
	request_send(r, 200, "application/json", body, sizeof(body) - 1);
}

/* True when r carries the configured metrics token (compared by hash). */
static bool
router_metrics_token(struct request *r)
{
	char want[TOKEN_HASH_HEX_LEN + 1], got[TOKEN_HASH_HEX_LEN + 1];
	const char *t = r->authorization;

	if (r->settings->metrics_token[0] == '\0' || t == NULL ||
	    strncmp(t, "Bearer ", 7) != 0)
		return false;
	token_hash(r->settings->metrics_token, strlen(r->settings->metrics_token), want);
	token_hash(t + 7, strlen(t + 7), got);
	return token_hash_equal(want, got);
}

static void
router_metrics(struct request *r)
{
	struct metrics_gauges g;

	r->label = "metrics";
	if (!router_metrics_token(r)) {
		if (!auth_request(r))
			return;
		if (!auth_is_admin(r)) {
			request_send_error(r, 403, "AUTH_UNAUTHORIZED",
			    "/metrics requires the admin token or the metrics token", NULL);
			return;
		}
	}
	memset(&g, 0, sizeof(g));
	if (r->gauges != NULL)
		r->gauges(r->gauges_ctx, &g);
	buf_reset(r->out);
	metrics_render(r->metrics, &g, r->out);
	metrics_render_checkpoint_lag(r->store, r->out);
	request_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", r->out->data,
	    r->out->len);
}

static void
router_subscribe(struct request *r)
{
	sse_serve(r, r->hub);
}

/*
 * Admits an authenticated request through the gate (gate.h).  Returns true
 * when the handler may run; false when the request was parked (the server
 * serves it later) or refused with 429.
 */
static bool
router_admit(struct request *r, bool import)
{
	char details[64];

	if (r->gate == NULL || r->admitted)
		return true;
	switch (gate_enter(r->gate, r->ns, import, r->fcgi)) {
	case GATE_RUN:
		r->admitted = true;
		r->import_slot = import;
		return true;
	case GATE_PARKED:
		r->parked = true;
		return false;
	case GATE_FULL_IMPORT:
		r->label = "import";
		snprintf(details, sizeof(details), "{\"limit\":%d}",
		    r->settings->import_concurrency);
		request_send_error(r, 429, "IMPORT_LIMIT", "Too many imports are "
		    "running (one per token, import-concurrency in all); retry later",
		    details);
		return false;
	case GATE_FULL_TOKEN:
		break;
	}
	snprintf(details, sizeof(details), "{\"limit\":%d}",
	    r->settings->token_concurrency);
	request_send_error(r, 429, "CONCURRENCY_LIMIT", "This token has too many "
	    "requests in progress; retry later", details);
	return false;
}

static const struct route routes[] = {
	{ "/rpc", false, true, rpc_serve },
	{ "/health", false, false, router_health },
	{ "/version", false, false, router_version },
	{ "/subscribe", false, true, router_subscribe },
	{ "/subscribe/", true, true, router_subscribe },
	{ "/import", false, true, import_serve },
	{ "/metrics", false, false, router_metrics },
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
			if (rt->needs_auth && (!auth_request(r) ||
			    !router_admit(r, rt->fn == import_serve)))
				return;
			rt->fn(r);
			return;
		}
	}
	r->label = "not-found";
	request_send(r, 404, "application/json", not_found, sizeof(not_found) - 1);
}
