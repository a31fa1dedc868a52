/*
 * auth.c - bearer-token authentication (see auth.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "core/json_out.h"

bool
auth_request(struct request *r)
{
	char ns[TOKEN_NS_MAX + 1], err[160];
	char stored[TOKEN_HASH_HEX_LEN + 1], given[TOKEN_HASH_HEX_LEN + 1];
	const char *token;
	size_t len = 0;
	enum evdb_status rs;

	token = request_query(r, "token", &len);
	if (token == NULL || len == 0) {
		const char *h = r->authorization;

		if (h == NULL || *h == '\0') {
			request_send_error(r, 401, "AUTH_REQUIRED",
			    "Authorization header required", NULL);
			return false;
		}
		if (strncmp(h, "Bearer ", 7) != 0) {
			request_send_error(r, 401, "AUTH_REQUIRED",
			    "Authorization header must use Bearer scheme", NULL);
			return false;
		}
		token = h + 7;
		len = strlen(token);
		if (len == 0) {
			request_send_error(r, 401, "AUTH_REQUIRED", "Token required", NULL);
			return false;
		}
	}
	if (token_parse(token, len, ns, sizeof(ns), err, sizeof(err)) != EVDB_OK) {
		buf_reset(r->body);	/* the body is not needed after a failed auth */
		buf_puts(r->body, "{\"error\":");
		json_out_cstr(r->body, err);
		buf_putc(r->body, '}');
		request_send_error(r, 401, "AUTH_INVALID_TOKEN", "Invalid token format",
		    buf_cstr(r->body));
		return false;
	}
	rs = store_ns_token_hash(r->store, ns, stored);
	if (rs == EVDB_OK) {
		token_hash(token, len, given);
		/*
		 * A hash cached from before the namespace was deleted and made
		 * again elsewhere (store_ns_refresh) is checked once more, fresh.
		 */
		if (!token_hash_equal(given, stored) && store_ns_refresh(r->store, ns))
			rs = store_ns_token_hash(r->store, ns, stored);
		if (rs == EVDB_OK && token_hash_equal(given, stored)) {
			memcpy(r->ns, ns, sizeof(r->ns));
			return true;
		}
	}
	if (rs == EVDB_ERR_UNAVAILABLE) {
		/* The database is down or restarting: retry soon (PostgreSQL). */
		const char *why = store_conn_unavailable_why(r->store);

		request_send_error(r, 503, "BACKEND_UNAVAILABLE", why != NULL ?
		    why : "The database is unavailable, retry later", NULL);
		return false;
	} else if (rs != EVDB_OK && rs != EVDB_ERR_NOT_FOUND) {
		log_error(r->log, "req=%s auth: registry lookup failed: %s",
		    r->request_id, evdb_strerror(rs));
		request_send_error(r, 500, "BACKEND_ERROR",
		    "Failed to read the namespace registry", NULL);
		return false;
	}
	/* A name that could never be registered may hold any bytes: omit it. */
	buf_reset(r->body);
	if (store_ns_name_valid(ns)) {
		buf_puts(r->body, "{\"namespace\":");
		json_out_cstr(r->body, ns);
		buf_putc(r->body, '}');
	}
	request_send_error(r, 403, "AUTH_UNAUTHORIZED",
	    "Token not authorized for namespace",
	    r->body->len > 0 ? buf_cstr(r->body) : NULL);
	return false;
}

bool
auth_is_admin(const struct request *r)
{
	return strcmp(r->ns, AUTH_ADMIN_NAMESPACE) == 0;
}
