/*
 * auth.h - who is calling: bearer tokens to namespaces.
 *
 * The token comes from the query parameter "token" when it is non-empty,
 * else from "Authorization: Bearer <token>" (reference-behaviour.md
 * section 6).  It is parsed, its namespace looked up in the registry, and
 * its SHA-256 compared in constant time with the stored hash.  The admin is
 * whoever holds the token of the "default" namespace (CONTRACT.md point 1).
 * Tokens are never logged.
 */
#ifndef EVDB_AUTH_H
#define EVDB_AUTH_H

#include <stdbool.h>

#include "http/request.h"

/** The namespace whose token is the admin token. */
#define AUTH_ADMIN_NAMESPACE "default"

/**
 * Authenticates r.  On success copies the namespace into r->ns and returns
 * true.  On failure sends the JSON error response (401 or 403, or 500 when
 * the registry cannot be read) and returns false.
 */
bool auth_request(struct request *r);

/** True when r was authenticated with the admin token. */
bool auth_is_admin(const struct request *r);

#endif /* EVDB_AUTH_H */
