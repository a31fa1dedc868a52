/*
 * tests/fuzz/fuzz_token.c - fuzzes bearer tokens: token_parse() on the raw
 * bytes, then auth_request() on a detached request that carries them, as
 * the Authorization header or as ?token= (the first input byte chooses),
 * against the real registry of a temporary store.
 *
 * token_parse must either give a NUL-terminated namespace of at most
 * TOKEN_NS_MAX bytes without NUL, or an error text that starts with
 * "invalid token format: ".  auth_request must refuse (the input is not the
 * admin token, whose 64 hex digits are random) with 401 or 403 and the
 * error envelope; the admin token itself, tried once per run with the
 * input appended, must be refused unless nothing was appended.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/auth.h"
#include "fuzz.h"

/* libFuzzer's entry points take no context: see fuzz_rpc.c. */
static struct fuzz_env fuzz_token_env;

/* Checks token_parse's contract on data[0..size). */
static void
fuzz_token_parse(const uint8_t *data, size_t size)
{
	char ns[TOKEN_NS_MAX + 1], err[160];
	enum evdb_status rs;

	memset(ns, 0x5a, sizeof(ns));
	memset(err, 0x5a, sizeof(err));
	rs = token_parse((const char *)data, size, ns, sizeof(ns), err, sizeof(err));
	if (rs == EVDB_OK) {
		size_t n = strnlen(ns, sizeof(ns));

		if (n == 0 || n == sizeof(ns))
			fuzz_fail(NULL, "token_parse: a namespace of %zu bytes", n);
		if (size < 3 + 1 + 64 + 2 || memcmp(data, "ns_", 3) != 0)
			fuzz_fail(NULL, "token_parse accepted a token without its parts");
	} else {
		if (rs != EVDB_ERR_INVALID)
			fuzz_fail(NULL, "token_parse: status %s", evdb_strerror(rs));
		if (strnlen(err, sizeof(err)) == sizeof(err))
			fuzz_fail(NULL, "token_parse: the error is not NUL-terminated");
		if (strncmp(err, "invalid token format: ", 22) != 0)
			fuzz_fail(NULL, "token_parse: error \"%s\"", err);
	}
}

/* Runs auth_request with token (NUL-terminated) and checks its answer. */
static bool
fuzz_token_auth(struct fuzz_env *e, const char *token, bool in_query)
{
	struct request r;
	char *query = NULL, *auth = NULL;
	size_t n = strlen(token);
	bool ok;

	if (in_query) {
		query = arena_alloc(&e->arena, n + 7);
		memcpy(query, "token=", 6);
		memcpy(query + 6, token, n + 1);
	} else {
		auth = arena_alloc(&e->arena, n + 8);
		memcpy(auth, "Bearer ", 7);
		memcpy(auth + 7, token, n + 1);
	}
	fuzz_request_init(e, &r, "POST", "/rpc", query != NULL ? query : "");
	r.authorization = auth;
	ok = auth_request(&r);
	if (ok) {
		if (r.status != 0 || strcmp(r.ns, "default") != 0)
			fuzz_fail(&r, "auth_request accepted for \"%s\" and answered", r.ns);
	} else {
		if (r.ns[0] != '\0')
			fuzz_fail(&r, "auth_request refused but set the namespace");
		fuzz_check_answer(&r, "auth");
		if (r.status != 401 && r.status != 403)
			fuzz_fail(&r, "auth refused with status %d", r.status);
	}
	return ok;
}

int
fuzz_token_init(void)
{
	fuzz_env_open(&fuzz_token_env);
	return 0;
}

void
fuzz_token_fini(void)
{
	fuzz_env_close(&fuzz_token_env);
}

int
fuzz_token_one(const uint8_t *data, size_t size)
{
	struct fuzz_env *e = &fuzz_token_env;
	char *token, *admin_plus;
	size_t n, alen;
	bool in_query;

	fuzz_token_parse(data, size);
	if (size == 0)
		goto out;
	in_query = (data[0] & 1) != 0;
	n = strnlen((const char *)data + 1, size - 1);
	token = arena_strndup(&e->arena, (const char *)data + 1, n);
	if (fuzz_token_auth(e, token, in_query))
		fuzz_fail(NULL, "auth_request accepted a fuzzed token");

	/* The admin token with the input after it: only "" keeps it valid. */
	alen = strlen(e->admin_token);
	admin_plus = arena_alloc(&e->arena, alen + n + 1);
	memcpy(admin_plus, e->admin_token, alen);
	memcpy(admin_plus + alen, token, n);
	admin_plus[alen + n] = '\0';
	if (fuzz_token_auth(e, admin_plus, false) != (n == 0))
		fuzz_fail(NULL, "the admin token with %zu bytes appended was %s", n,
		    n == 0 ? "refused" : "accepted");
out:
	fuzz_request_done(e, NULL);
	fuzz_env_tick(e);
	return 0;
}

FUZZ_LIBFUZZER_ENTRY(fuzz_token)
