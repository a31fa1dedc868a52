/*
 * tests/e2e/auth_t.c - authentication through nginx: every outcome of
 * reference-behaviour.md section 6 with its status and code, the token in
 * the query string and in the Authorization header (and which one wins),
 * the AUTH cases of EventoDB's SDK test specification, and authentication
 * on /subscribe and /import.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN
#define ADM_HEX	"e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0"
#define HEX_C	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define WRITE	"[\"stream.write\",\"auth-1\",{\"type\":\"T\",\"data\":{}}]"
#define GET	"[\"stream.get\",\"auth-1\"]"

/*
 * One TAP result: POST /rpc with the given extra header (or none) and query
 * (or ""), expecting want_status and, for errors, want_code.
 */
static struct json_object *
call_ok(struct harness *h, const char *query, const char *header,
    const char *body, long want_status, const char *want_code,
    const char *desc)
{
	const char *hdr[3] = { "Content-Type: application/json", header, NULL };
	struct http_resp r;
	struct json_object *j;

	http_post_raw(h, hstr(h, "/rpc%s", query), hdr, body, strlen(body), &r);
	if (want_code != NULL)
		error_envelope_ok(h, &r, want_status, want_code, desc);
	else if (!ok(r.status == want_status, "%s", desc))
		tap_diag("status %ld, body %s", r.status, r.body);
	j = harness_keep(h, r.json != NULL ? json_object_get(r.json) : NULL);
	http_resp_free(&r);
	return j;
}

static void
test_header(struct harness *h)
{
	/* token, description */
	static const char *const invalid[][2] = {
		{ "invalid-token", "AUTH-003 \"invalid-token\"" },
		{ "xx_ZGVmYXVsdA_" ADM_HEX, "no ns_ prefix" },
		{ "NS_ZGVmYXVsdA_" ADM_HEX, "prefix NS_ (case-sensitive)" },
		{ "ns_ZGVmYXVsdA", "no random part" },
		{ "ns_ZGVmYXVsdA_" ADM_HEX "_x", "three parts after the prefix" },
		{ "ns_ZGVm_YXVsdA_" ADM_HEX, "an extra '_' in the namespace" },
		{ "ns_ZGVmYXVsdA_" "e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0"
		    "e2e0e2e0e2e0e2e", "63 hex digits" },
		{ "ns_ZGVmYXVsdA_" ADM_HEX "0", "65 hex digits" },
		{ "ns_ZGVmYXVsdA_" "g2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0"
		    "e2e0e2e0e2e0e2e0", "a non-hex digit" },
		{ "ns_ZGVm!!!_" ADM_HEX, "namespace not base64url" },
		{ "ns_ZGVmYXVsdA==_" ADM_HEX, "base64 padding" },
		{ "ns__" ADM_HEX, "an empty namespace" },
		{ "ns_", "only the prefix" },
	};
	struct json_object *r;
	const char *tok;
	char big[12000];
	size_t i;

	/* AUTH-001 */
	call_ok(h, "", "Authorization: Bearer " ADM, WRITE, 200, NULL,
	    "AUTH-001 a valid token in the Authorization header -> 200");

	/* AUTH-002, WRITE-010 */
	r = call_ok(h, "", NULL, WRITE, 401, "AUTH_REQUIRED",
	    "AUTH-002 no token -> 401 AUTH_REQUIRED");
	call_ok(h, "", NULL, GET, 401, "AUTH_REQUIRED",
	    "WRITE-010 stream.get without a token -> 401 AUTH_REQUIRED");
	call_ok(h, "", "Authorization: Basic dXNlcjpwYXNz", WRITE, 401,
	    "AUTH_REQUIRED", "Authorization: Basic -> 401 AUTH_REQUIRED");
	call_ok(h, "", "Authorization: bearer " ADM, WRITE, 401,
	    "AUTH_REQUIRED", "Authorization: bearer (lowercase) -> 401 "
	    "AUTH_REQUIRED");
	call_ok(h, "", "Authorization: BEARER " ADM, WRITE, 401,
	    "AUTH_REQUIRED", "Authorization: BEARER -> 401 AUTH_REQUIRED");
	call_ok(h, "", "Authorization: Bearer", WRITE, 401, "AUTH_REQUIRED",
	    "Authorization: Bearer without a token -> 401 AUTH_REQUIRED");
	call_ok(h, "", "Authorization: Bearer ", WRITE, 401, "AUTH_REQUIRED",
	    "Authorization: \"Bearer \" -> 401 AUTH_REQUIRED");
	call_ok(h, "", "Authorization: " ADM, WRITE, 401, "AUTH_REQUIRED",
	    "Authorization: <token> without a scheme -> 401 AUTH_REQUIRED");

	/* AUTH-003 and every token parse error. */
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		r = call_ok(h, "", hstr(h, "Authorization: Bearer %s",
		    invalid[i][0]), WRITE, 401, "AUTH_INVALID_TOKEN",
		    hstr(h, "%s -> 401 AUTH_INVALID_TOKEN", invalid[i][1]));
		ok(jpath_str(r, "error.details.error") != NULL &&
		    *jpath_str(r, "error.details.error") != '\0',
		    "%s: details.error explains the parse error: %s",
		    invalid[i][1], jpath_text(h, r, "error.details"));
	}
	memset(big, 'a', 6000);
	big[6000] = '\0';
	call_ok(h, "", hstr(h, "Authorization: Bearer ns_%s", big), WRITE,
	    401, "AUTH_INVALID_TOKEN", "a 6 KB token -> 401 "
	    "AUTH_INVALID_TOKEN");
	/* Beyond nginx's header buffers (8 KB): nginx's JSON 400. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	call_ok(h, "", hstr(h, "Authorization: Bearer ns_%s", big), WRITE,
	    400, "INVALID_REQUEST", "a 12 KB Authorization header -> 400 "
	    "INVALID_REQUEST in JSON (nginx's header limit)");

	/* Parsable, but not authorised. */
	tok = token_make(h, "nosuchns", HEX_C);
	r = call_ok(h, "", hstr(h, "Authorization: Bearer %s", tok), WRITE,
	    403, "AUTH_UNAUTHORIZED", "a token of an unknown namespace -> 403 "
	    "AUTH_UNAUTHORIZED");
	is_str(jpath_str(r, "error.details.namespace"), "nosuchns",
	    "details.namespace names the token's namespace");
	r = call_ok(h, "", "Authorization: Bearer ns_ZGVmYXVsdA_" HEX_C,
	    WRITE, 403, "AUTH_UNAUTHORIZED", "default's namespace with a "
	    "wrong secret -> 403 AUTH_UNAUTHORIZED");
	is_str(jpath_str(r, "error.details.namespace"), "default",
	    "details.namespace is default");
	call_ok(h, "", "Authorization: Bearer ns_ZGVmYXVsdA_"
	    "E2E0E2E0E2E0E2E0E2E0E2E0E2E0E2E0E2E0E2E0E2E0E2E0E2E0E2E0E2E0E2E0",
	    WRITE, 403, "AUTH_UNAUTHORIZED", "the admin token in uppercase hex "
	    "parses but is another token -> 403");

	/* Nothing was written by any refused call. */
	r = rpc_ok(h, ADM, "[\"stream.version\",\"auth-1\"]", 200, NULL,
	    "stream.version auth-1");
	is_int(jpath_int(r, ""), 0, "only the one authorised write reached "
	    "the store");
}

static void
test_query(struct harness *h)
{
	const char *q;

	call_ok(h, "?token=" ADM, NULL, GET, 200, NULL,
	    "a valid token in the query string -> 200");
	call_ok(h, "?foo=1&token=" ADM "&bar=2", NULL, GET, 200, NULL,
	    "token among other query parameters -> 200");
	q = "?token=ns%5FZGVmYXVsdA%5F" ADM_HEX;
	call_ok(h, q, NULL, GET, 200, NULL, "a percent-encoded query token "
	    "is decoded -> 200");
	call_ok(h, "?token=invalid-token", NULL, GET, 401, "AUTH_INVALID_TOKEN",
	    "an unparsable query token -> 401 AUTH_INVALID_TOKEN");
	call_ok(h, hstr(h, "?token=%s", token_make(h, "nosuchns", HEX_C)),
	    NULL, GET, 403, "AUTH_UNAUTHORIZED", "a query token of an unknown "
	    "namespace -> 403");
	call_ok(h, "?token=invalid-token", "Authorization: Bearer " ADM, GET,
	    401, "AUTH_INVALID_TOKEN", "the query token wins over the header "
	    "(bad query, good header -> 401)");
	call_ok(h, "?token=" ADM, "Authorization: Bearer invalid-token", GET,
	    200, NULL, "the query token wins over the header (good query, "
	    "bad header -> 200)");
	call_ok(h, "?token=", "Authorization: Bearer " ADM, GET, 200, NULL,
	    "an empty query token falls back to the header -> 200");
	call_ok(h, "?token=", NULL, GET, 401, "AUTH_REQUIRED",
	    "an empty query token and no header -> 401 AUTH_REQUIRED");
	call_ok(h, "?tok=" ADM, NULL, GET, 401, "AUTH_REQUIRED",
	    "another parameter name is no token -> 401 AUTH_REQUIRED");
}

static void
test_isolation(struct harness *h)
{
	struct json_object *r;
	const char *t1, *t2;

	/* AUTH-004 */
	t1 = ns_create_ok(h, "ns1", "AUTH-004 setup: ns.create ns1");
	t2 = ns_create_ok(h, "ns2", "AUTH-004 setup: ns.create ns2");
	write_ok(h, t1, "iso-1", "T", "{\"secret\":1}", NULL, NULL, NULL, NULL,
	    "AUTH-004 token1 writes iso-1");
	r = rpc_ok(h, t2, "[\"stream.get\",\"iso-1\"]", 200, NULL,
	    "AUTH-004 token2 reads iso-1");
	is_int(jpath_len(r, ""), 0, "AUTH-004 token2 cannot see token1's "
	    "messages");
	r = rpc_ok(h, t2, "[\"category.get\",\"iso\"]", 200, NULL,
	    "AUTH-004 token2 reads category iso");
	is_int(jpath_len(r, ""), 0, "AUTH-004 nor through its category");
	rpc_ok(h, t2, "[\"stream.last\",\"iso-1\"]", 200, NULL,
	    "AUTH-004 token2 stream.last iso-1");
	is_str(rpc_last_body(h), "null", "AUTH-004 nor through stream.last");
	r = rpc_ok(h, t1, "[\"stream.get\",\"iso-1\"]", 200, NULL,
	    "token1 reads iso-1");
	is_int(jpath_len(r, ""), 1, "token1 sees its message");
	rpc_ok(h, t2, "[\"ns.info\",\"ns1\"]", 403, "AUTH_UNAUTHORIZED",
	    "token2 may not read ns1's ns.info");
}

static void
test_other_paths(struct harness *h)
{
	struct http_resp r;
	const char *auth[] = { "Authorization: Bearer " ADM, NULL };
	const char *badauth[] = { "Authorization: Bearer invalid-token", NULL };

	/* GET /rpc: auth first, then the method (reference 1). */
	http_get(h, "/rpc", NULL, &r);
	error_envelope_ok(h, &r, 401, "AUTH_REQUIRED", "GET /rpc without a "
	    "token -> 401 AUTH_REQUIRED");
	http_resp_free(&r);
	http_get(h, "/rpc", auth, &r);
	error_envelope_ok(h, &r, 405, "INVALID_REQUEST", "GET /rpc with a "
	    "token -> 405 INVALID_REQUEST");
	http_resp_free(&r);

	/* /subscribe and /import authenticate the same way, in JSON. */
	http_get(h, "/subscribe?stream=auth-1", NULL, &r);
	error_envelope_ok(h, &r, 401, "AUTH_REQUIRED", "GET /subscribe "
	    "without a token -> 401 AUTH_REQUIRED (JSON)");
	http_resp_free(&r);
	http_get(h, "/subscribe?stream=auth-1", badauth, &r);
	error_envelope_ok(h, &r, 401, "AUTH_INVALID_TOKEN", "GET /subscribe "
	    "with an unparsable token -> 401 AUTH_INVALID_TOKEN");
	http_resp_free(&r);
	http_get(h, hstr(h, "/subscribe?stream=auth-1&token=%s",
	    token_make(h, "nosuchns", HEX_C)), NULL, &r);
	error_envelope_ok(h, &r, 403, "AUTH_UNAUTHORIZED", "GET /subscribe "
	    "with an unknown namespace's token -> 403");
	http_resp_free(&r);
	http_post_raw(h, "/import", NULL, "", 0, &r);
	error_envelope_ok(h, &r, 401, "AUTH_REQUIRED", "POST /import without "
	    "a token -> 401 AUTH_REQUIRED (JSON)");
	http_resp_free(&r);

	/* sys.* need a token too. */
	call_ok(h, "", NULL, "[\"sys.version\"]", 401, "AUTH_REQUIRED",
	    "sys.version without a token -> 401");
	call_ok(h, "", NULL, "[\"sys.health\"]", 401, "AUTH_REQUIRED",
	    "sys.health without a token -> 401");
	call_ok(h, "", NULL, "[\"ns.list\"]", 401, "AUTH_REQUIRED",
	    "ns.list without a token -> 401");

	/* Authentication comes before the body is looked at. */
	call_ok(h, "", NULL, "not json", 401, "AUTH_REQUIRED",
	    "a malformed body without a token -> 401, not 400");
	call_ok(h, "", NULL, "[\"no.such.method\"]", 401, "AUTH_REQUIRED",
	    "an unknown method without a token -> 401, not 404");

	/* /health and /version need no token. */
	http_get(h, "/health", NULL, &r);
	ok(r.status == 200, "/health needs no token");
	http_resp_free(&r);
	http_get(h, "/version", NULL, &r);
	ok(r.status == 200, "/version needs no token");
	http_resp_free(&r);
}

int
main(void)
{
	struct harness *h;

	h = harness_start();
	test_header(h);
	test_query(h);
	test_isolation(h);
	test_other_paths(h);
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
