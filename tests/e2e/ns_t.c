/*
 * tests/e2e/ns_t.c - namespaces through nginx: ns.create, ns.delete,
 * ns.list, ns.info, ns.streams and ns.categories (the NS cases of
 * EventoDB's SDK test specification), the admin-only methods and ns.info's
 * own-namespace rule (CONTRACT.md 1-2), isolation between namespaces, the
 * token of a deleted namespace, and real figures (CONTRACT.md 12).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN
#define HEX_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
/* A random-looking secret: ns.create refuses guessable ones (issue 15). */
#define HEX_B	"8d3f0a61c9e27b54f0196ae3d7c28b45a1e09f7c3b6d2854e7a0c1f9b36d4e82"

static struct json_object *
bad_ok(struct harness *h, const char *body, const char *desc)
{
	return rpc_ok(h, ADM, body, 400, "INVALID_REQUEST", desc);
}

/* 1 if ts is a microsecond timestamp within 60 s of now. */
static int
recent(const char *ts)
{
	int64_t t, now = (int64_t)time(NULL);

	return timestamp_valid(ts, &t) && t >= now - 60 && t <= now + 60;
}

/* The entry of ns.list result list for namespace ns, or NULL. */
static struct json_object *
list_entry(struct json_object *list, const char *ns)
{
	const char *name;
	int i, n = jpath_len(list, "");

	for (i = 0; i < n; i++) {
		name = jpath_str(json_object_array_get_idx(list, (size_t)i),
		    "namespace");
		if (name != NULL && strcmp(name, ns) == 0)
			return json_object_array_get_idx(list, (size_t)i);
	}
	return NULL;
}

/* Index of namespace ns in ns.list result list, or -1. */
static int
list_index(struct json_object *list, const char *ns)
{
	const char *name;
	int i, n = jpath_len(list, "");

	for (i = 0; i < n; i++) {
		name = jpath_str(json_object_array_get_idx(list, (size_t)i),
		    "namespace");
		if (name != NULL && strcmp(name, ns) == 0)
			return i;
	}
	return -1;
}

static void
test_create(struct harness *h)
{
	struct json_object *r;
	const char *tok, *custom;
	int64_t g;

	/* NS-001 */
	r = rpc_ok(h, ADM, "[\"ns.create\",\"test-ns-1\",{\"description\":"
	    "\"Test namespace\"}]", 200, NULL, "NS-001 ns.create test-ns-1 "
	    "with a description");
	is_str(jpath_str(r, "namespace"), "test-ns-1", "NS-001 namespace");
	tok = jpath_str(r, "token");
	ok(tok != NULL && strncmp(tok, "ns_", 3) == 0 && strlen(tok) ==
	    strlen(token_make(h, "test-ns-1", HEX_A)) && strncmp(tok,
	    token_make(h, "test-ns-1", HEX_A), strlen(tok) - 64) == 0,
	    "NS-001 token is ns_<base64url(test-ns-1)>_<64 hex>: %s",
	    tok ? tok : "(none)");
	ok(recent(jpath_str(r, "createdAt")), "NS-001 createdAt is now, "
	    "with microseconds: %s", jpath_text(h, r, "createdAt"));
	tok = tok != NULL ? hstr(h, "%s", tok) : "none";

	/* The new token works, on the namespace's own sequence. */
	write_ok(h, tok, "acct-1", "Opened", "{}", NULL, NULL, NULL, &g,
	    "the new namespace's token can write");
	is_int(g, 1, "a new namespace's global positions start at 1");

	/* NS-002 */
	custom = token_make(h, "custom-ns", HEX_B);
	r = rpc_ok(h, ADM, hstr(h, "[\"ns.create\",\"custom-ns\",{\"token\":"
	    "\"%s\"}]", custom), 200, NULL, "NS-002 ns.create with a custom "
	    "token");
	is_str(jpath_str(r, "token"), custom, "NS-002 returns the given token");
	write_ok(h, custom, "acct-1", "Opened", "{}", NULL, NULL, NULL, NULL,
	    "NS-002 the custom token authenticates");
	bad_ok(h, hstr(h, "[\"ns.create\",\"custom-ns2\",{\"token\":\"%s\"}]",
	    token_make(h, "other-ns", HEX_B)), "ns.create with a token for "
	    "another namespace -> 400");
	bad_ok(h, "[\"ns.create\",\"custom-ns3\",{\"token\":\"garbage\"}]",
	    "ns.create with a malformed token -> 400");
	bad_ok(h, hstr(h, "[\"ns.create\",\"custom-ns4\",{\"token\":\"%.*s\"}]",
	    (int)strlen(token_make(h, "custom-ns4", HEX_B)) - 1,
	    token_make(h, "custom-ns4", HEX_B)), "ns.create with a token of "
	    "63 hex digits -> 400");
	rpc_ok(h, ADM, "[\"ns.info\",\"custom-ns2\"]", 404,
	    "NAMESPACE_NOT_FOUND", "a rejected ns.create created nothing");

	/* NS-003 */
	rpc_ok(h, ADM, "[\"ns.create\",\"test-ns-1\"]", 409, "NAMESPACE_EXISTS",
	    "NS-003 ns.create of an existing namespace -> 409 "
	    "NAMESPACE_EXISTS");
	rpc_ok(h, ADM, "[\"ns.create\",\"default\"]", 409, "NAMESPACE_EXISTS",
	    "ns.create default -> 409 NAMESPACE_EXISTS");
	write_ok(h, tok, "acct-2", "Opened", "{}", NULL, NULL, NULL, NULL,
	    "the first token still works after the duplicate create");

	/* Names. */
	rpc_ok(h, ADM, "[\"ns.create\",\"A\"]", 200, NULL,
	    "ns.create with a one-character name");
	rpc_ok(h, ADM, "[\"ns.create\","
	    "\"n123456789012345678901234567890123456789012345678901234567890_-Z\"]",
	    200, NULL, "ns.create with a 64-character name");
	bad_ok(h, "[\"ns.create\","
	    "\"n123456789012345678901234567890123456789012345678901234567890_-Zx\"]",
	    "ns.create with a 65-character name -> 400");
	bad_ok(h, "[\"ns.create\",\"bad name\"]", "ns.create \"bad name\" "
	    "-> 400");
	bad_ok(h, "[\"ns.create\",\"-lead\"]", "ns.create \"-lead\" -> 400");
	bad_ok(h, "[\"ns.create\",\"_lead\"]", "ns.create \"_lead\" -> 400");
	bad_ok(h, "[\"ns.create\",\"a/b\"]", "ns.create \"a/b\" -> 400");
	bad_ok(h, "[\"ns.create\",\"a.b\"]", "ns.create \"a.b\" -> 400");
	bad_ok(h, "[\"ns.create\",\"\\u00fc\"]", "ns.create \"\\u00fc\" -> "
	    "400");
	bad_ok(h, "[\"ns.create\",\"a\\nb\"]", "ns.create with a newline "
	    "-> 400");

	/* Argument errors. */
	bad_ok(h, "[\"ns.create\"]", "ns.create: no arguments -> 400");
	bad_ok(h, "[\"ns.create\",5]", "ns.create: id is a number -> 400");
	bad_ok(h, "[\"ns.create\",\"\"]", "ns.create: id is empty -> 400");
	bad_ok(h, "[\"ns.create\",null]", "ns.create: id is null -> 400");
	bad_ok(h, "[\"ns.create\",\"argns\",\"x\"]", "ns.create: options is a "
	    "string -> 400");
	bad_ok(h, "[\"ns.create\",\"argns\",null]", "ns.create: options is "
	    "null -> 400");
	bad_ok(h, "[\"ns.create\",\"argns\",{\"description\":5}]",
	    "ns.create: options.description is a number -> 400");
	bad_ok(h, "[\"ns.create\",\"argns\",{\"token\":5}]",
	    "ns.create: options.token is a number -> 400");
	bad_ok(h, "[\"ns.create\",\"argns\",{\"metadata\":\"x\"}]",
	    "ns.create: options.metadata is a string -> 400");
	rpc_ok(h, ADM, "[\"ns.info\",\"argns\"]", 404, "NAMESPACE_NOT_FOUND",
	    "the rejected ns.create calls created nothing");
	bad_ok(h, "[\"ns.delete\"]", "ns.delete: no arguments -> 400");
	bad_ok(h, "[\"ns.delete\",5]", "ns.delete: id is a number -> 400");
	bad_ok(h, "[\"ns.delete\",\"\"]", "ns.delete: id is empty -> 400");
	bad_ok(h, "[\"ns.info\"]", "ns.info: no arguments -> 400");
	bad_ok(h, "[\"ns.info\",5]", "ns.info: id is a number -> 400");
	bad_ok(h, "[\"ns.info\",\"\"]", "ns.info: id is empty -> 400");
}

static void
test_delete(struct harness *h)
{
	struct json_object *r;
	const char *tok, *tok2;
	int i;

	/* NS-004, CONTRACT 12: messagesDeleted is real. */
	tok = ns_create_ok(h, "delete-test", "NS-004 setup: ns.create "
	    "delete-test");
	for (i = 0; i < 3; i++)
		write_quiet(h, tok, i < 2 ? "del-1" : "del-2", "T", "{}", NULL,
		    NULL, NULL, NULL);
	r = rpc_ok(h, ADM, "[\"ns.delete\",\"delete-test\"]", 200, NULL,
	    "NS-004 ns.delete delete-test");
	is_str(jpath_str(r, "namespace"), "delete-test", "NS-004 namespace");
	ok(recent(jpath_str(r, "deletedAt")), "NS-004 deletedAt is now, with "
	    "microseconds: %s", jpath_text(h, r, "deletedAt"));
	is_int(jpath_int(r, "messagesDeleted"), 3, "NS-004 messagesDeleted is "
	    "the real count (3)");

	/* The deleted namespace's token is refused. */
	rpc_ok(h, tok, "[\"stream.get\",\"del-1\"]", 403, "AUTH_UNAUTHORIZED",
	    "a deleted namespace's token -> 403 AUTH_UNAUTHORIZED (read)");
	rpc_ok(h, tok, "[\"stream.write\",\"del-1\",{\"type\":\"T\",\"data\":{}}]",
	    403, "AUTH_UNAUTHORIZED", "a deleted namespace's token -> 403 "
	    "(write)");
	rpc_ok(h, ADM, "[\"ns.info\",\"delete-test\"]", 404,
	    "NAMESPACE_NOT_FOUND", "ns.info of the deleted namespace -> 404");

	/* NS-005 */
	rpc_ok(h, ADM, "[\"ns.delete\",\"does-not-exist\"]", 404,
	    "NAMESPACE_NOT_FOUND", "NS-005 ns.delete of a non-existent "
	    "namespace -> 404 NAMESPACE_NOT_FOUND");
	rpc_ok(h, ADM, "[\"ns.delete\",\"delete-test\"]", 404,
	    "NAMESPACE_NOT_FOUND", "ns.delete twice -> 404");

	/* Re-created: a fresh, empty namespace; the old token stays dead. */
	tok2 = ns_create_ok(h, "delete-test", "ns.create delete-test again");
	r = rpc_ok(h, tok2, "[\"stream.get\",\"del-1\"]", 200, NULL,
	    "the re-created namespace's token reads");
	is_int(jpath_len(r, ""), 0, "the re-created namespace is empty");
	r = rpc_ok(h, tok2, "[\"category.get\",\"\"]", 200, NULL,
	    "category.get \"\" in the re-created namespace");
	is_int(jpath_len(r, ""), 0, "no message of the old namespace remains");
	rpc_ok(h, tok, "[\"stream.get\",\"del-1\"]", 403, "AUTH_UNAUTHORIZED",
	    "the old token does not work for the re-created namespace");
	r = rpc_ok(h, ADM, "[\"ns.info\",\"delete-test\"]", 200, NULL,
	    "ns.info of the re-created namespace");
	is_int(jpath_int(r, "messageCount"), 0, "its messageCount is 0");
}

static void
test_list_info(struct harness *h)
{
	struct json_object *r, *e;
	const char *tok, *empty;
	int i, n, good;

	tok = ns_create_ok(h, "info-test", "NS-007 setup: ns.create info-test");
	for (i = 0; i < 5; i++)
		write_quiet(h, tok, i < 3 ? "info-1" : "info-2", "T", "{}", NULL,
		    NULL, NULL, NULL);
	empty = ns_create_ok(h, "empty-ns", "setup: ns.create empty-ns");

	/* NS-006, CONTRACT 12: real messageCount. */
	r = rpc_ok(h, ADM, "[\"ns.list\"]", 200, NULL, "NS-006 ns.list");
	n = jpath_len(r, "");
	ok(n >= 5, "NS-006 an array of the namespaces (%d)", n);
	good = n > 0;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(r, (size_t)i);
		if (jpath_str(e, "namespace") == NULL ||
		    jpath_str(e, "description") == NULL ||
		    !timestamp_valid(jpath_str(e, "createdAt"), NULL) ||
		    jpath_int(e, "messageCount") < 0) {
			good = 0;
			tap_diag("bad entry %s", jpath_text(h, e, ""));
		}
	}
	ok(good, "NS-006 every entry has namespace, description, createdAt "
	    "(microseconds) and messageCount");
	e = list_entry(r, "info-test");
	is_int(jpath_int(e, "messageCount"), 5, "ns.list messageCount of "
	    "info-test is the real count (5)");
	e = list_entry(r, "empty-ns");
	is_int(jpath_int(e, "messageCount"), 0, "ns.list messageCount of "
	    "empty-ns is 0");
	e = list_entry(r, "test-ns-1");
	is_int(jpath_int(e, "messageCount"), 2, "ns.list messageCount of "
	    "test-ns-1 is 2");
	e = list_entry(r, "test-ns-1");
	is_str(jpath_str(e, "description"), "Test namespace", "ns.list "
	    "returns the description");
	e = list_entry(r, "default");
	ok(e != NULL, "ns.list includes default");
	ok(list_entry(r, "does-not-exist") == NULL && list_index(r,
	    "delete-test") >= 0, "ns.list: only existing namespaces");
	ok(list_index(r, "empty-ns") < list_index(r, "info-test") &&
	    list_index(r, "info-test") < list_index(r, "test-ns-1") &&
	    list_index(r, "test-ns-1") < list_index(r, "default"),
	    "ns.list is ordered by creation time, newest first");

	/* NS-007, CONTRACT 12: real messageCount, streamCount, lastActivity. */
	r = rpc_ok(h, ADM, "[\"ns.info\",\"info-test\"]", 200, NULL,
	    "NS-007 ns.info info-test");
	is_str(jpath_str(r, "namespace"), "info-test", "NS-007 namespace");
	is_int(jpath_int(r, "messageCount"), 5, "NS-007 messageCount 5");
	is_int(jpath_int(r, "streamCount"), 2, "ns.info streamCount is real "
	    "(2)");
	ok(recent(jpath_str(r, "lastActivity")), "ns.info lastActivity is the "
	    "last write, with microseconds: %s",
	    jpath_text(h, r, "lastActivity"));
	ok(timestamp_valid(jpath_str(r, "createdAt"), NULL), "ns.info "
	    "createdAt with microseconds: %s", jpath_text(h, r, "createdAt"));
	is_str(jpath_str(r, "description"), "e2e", "ns.info description");
	r = rpc_ok(h, ADM, "[\"ns.info\",\"empty-ns\"]", 200, NULL,
	    "ns.info of an empty namespace");
	ok(jpath_int(r, "messageCount") == 0 && jpath_int(r, "streamCount") ==
	    0 && jpath_is_null(r, "lastActivity"), "empty namespace: "
	    "messageCount 0, streamCount 0, lastActivity null: %s",
	    jpath_text(h, r, ""));

	/* NS-008 */
	rpc_ok(h, ADM, "[\"ns.info\",\"does-not-exist\"]", 404,
	    "NAMESPACE_NOT_FOUND", "NS-008 ns.info of a non-existent "
	    "namespace -> 404 NAMESPACE_NOT_FOUND");

	/* CONTRACT 2: a namespace's own token may read its own ns.info. */
	r = rpc_ok(h, tok, "[\"ns.info\",\"info-test\"]", 200, NULL,
	    "ns.info with the namespace's own token");
	is_int(jpath_int(r, "messageCount"), 5, "own ns.info messageCount");
	rpc_ok(h, empty, "[\"ns.info\",\"empty-ns\"]", 200, NULL,
	    "ns.info of an empty namespace with its own token");

	/* ns.delete's real count on a namespace with several streams. */
	r = rpc_ok(h, ADM, "[\"ns.delete\",\"info-test\"]", 200, NULL,
	    "ns.delete info-test");
	is_int(jpath_int(r, "messagesDeleted"), 5, "messagesDeleted 5");
	r = rpc_ok(h, ADM, "[\"ns.delete\",\"empty-ns\"]", 200, NULL,
	    "ns.delete empty-ns");
	is_int(jpath_int(r, "messagesDeleted"), 0, "messagesDeleted 0 for an "
	    "empty namespace");
}

static void
test_admin_only(struct harness *h)
{
	const char *t1, *t2;

	t1 = ns_create_ok(h, "tenant1", "setup: ns.create tenant1");
	t2 = ns_create_ok(h, "tenant2", "setup: ns.create tenant2");

	/* CONTRACT 1: only the admin token may create, delete, list. */
	rpc_ok(h, t1, "[\"ns.create\",\"tenant3\"]", 403, "AUTH_UNAUTHORIZED",
	    "a tenant's ns.create -> 403 AUTH_UNAUTHORIZED");
	rpc_ok(h, ADM, "[\"ns.info\",\"tenant3\"]", 404, "NAMESPACE_NOT_FOUND",
	    "the forbidden ns.create created nothing");
	rpc_ok(h, t1, "[\"ns.delete\",\"tenant2\"]", 403, "AUTH_UNAUTHORIZED",
	    "a tenant's ns.delete of another namespace -> 403");
	rpc_ok(h, t1, "[\"ns.delete\",\"tenant1\"]", 403, "AUTH_UNAUTHORIZED",
	    "a tenant's ns.delete of itself -> 403");
	rpc_ok(h, t1, "[\"ns.delete\",\"default\"]", 403, "AUTH_UNAUTHORIZED",
	    "a tenant's ns.delete of default -> 403");
	rpc_ok(h, t1, "[\"ns.delete\",\"does-not-exist\"]", 403,
	    "AUTH_UNAUTHORIZED", "a tenant's ns.delete of an unknown "
	    "namespace -> 403");
	rpc_ok(h, ADM, "[\"ns.info\",\"tenant2\"]", 200, NULL,
	    "tenant2 survives the forbidden delete");
	rpc_ok(h, t1, "[\"stream.get\",\"x-1\"]", 200, NULL,
	    "tenant1's token still works after its forbidden self-delete");
	rpc_ok(h, t1, "[\"ns.list\"]", 403, "AUTH_UNAUTHORIZED",
	    "a tenant's ns.list -> 403");

	/* CONTRACT 2: ns.info for the own namespace only. */
	rpc_ok(h, t1, "[\"ns.info\",\"tenant1\"]", 200, NULL,
	    "a tenant's ns.info of itself -> 200");
	rpc_ok(h, t1, "[\"ns.info\",\"tenant2\"]", 403, "AUTH_UNAUTHORIZED",
	    "a tenant's ns.info of another namespace -> 403");
	rpc_ok(h, t1, "[\"ns.info\",\"default\"]", 403, "AUTH_UNAUTHORIZED",
	    "a tenant's ns.info of default -> 403");
	rpc_ok(h, t1, "[\"ns.info\",\"does-not-exist\"]", 403,
	    "AUTH_UNAUTHORIZED", "a tenant's ns.info of an unknown "
	    "namespace -> 403 (existence not revealed)");
	rpc_ok(h, ADM, "[\"ns.info\",\"tenant1\"]", 200, NULL,
	    "the admin's ns.info of a tenant -> 200");
	rpc_ok(h, t2, "[\"sys.health\"]", 200, NULL,
	    "a tenant may call sys.health");
}

static void
test_isolation(struct harness *h)
{
	struct json_object *r;
	const char *a, *b;
	int64_t ga, gb;

	a = ns_create_ok(h, "iso-a", "setup: ns.create iso-a");
	b = ns_create_ok(h, "iso-b", "setup: ns.create iso-b");
	write_ok(h, a, "acct-1", "T", "{\"ns\":\"a\"}", NULL, NULL, NULL, &ga,
	    "iso-a writes acct-1");
	write_ok(h, b, "acct-1", "T", "{\"ns\":\"b\"}", NULL, NULL, NULL, &gb,
	    "iso-b writes acct-1");
	ok(ga == 1 && gb == 1, "each namespace has its own global sequence "
	    "(%" PRId64 ", %" PRId64 ")", ga, gb);
	write_quiet(h, a, "acct-2", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, a, "acct-1", "T", "{}", NULL, NULL, NULL, NULL);

	r = stream_read_all(h, b, "acct-1");
	ok(jpath_len(r, "") == 1 && jvalue_equal(jpath_get(r, "0.4"),
	    jparse(h, "{\"ns\":\"b\"}"), 0), "iso-b sees only its own acct-1");
	r = rpc_ok(h, b, "[\"stream.version\",\"acct-1\"]", 200, NULL,
	    "iso-b stream.version acct-1");
	is_int(jpath_int(r, ""), 0, "stream versions are per namespace");
	r = rpc_ok(h, b, "[\"category.get\",\"acct\"]", 200, NULL,
	    "iso-b category.get acct");
	is_int(jpath_len(r, ""), 1, "category.get sees only the namespace's "
	    "messages");
	r = rpc_ok(h, b, "[\"stream.get\",\"acct-2\"]", 200, NULL,
	    "iso-b stream.get of a stream only iso-a has");
	is_int(jpath_len(r, ""), 0, "another namespace's stream is invisible");
	r = rpc_ok(h, ADM, "[\"stream.get\",\"acct-1\"]", 200, NULL,
	    "the admin's stream.get acct-1 (its own namespace, default)");
	is_int(jpath_len(r, ""), 0, "the admin token reads the default "
	    "namespace only");

	/* ns.streams and ns.categories stay within the namespace too. */
	r = rpc_ok(h, b, "[\"ns.streams\"]", 200, NULL, "iso-b ns.streams");
	ok(jpath_len(r, "") == 1 && jpath_str(r, "0.stream") != NULL &&
	    strcmp(jpath_str(r, "0.stream"), "acct-1") == 0,
	    "ns.streams lists only the namespace's streams: %s",
	    jpath_text(h, r, ""));
	r = rpc_ok(h, b, "[\"ns.categories\"]", 200, NULL,
	    "iso-b ns.categories");
	ok(jvalue_equal(r, jparse(h, "[{\"category\":\"acct\","
	    "\"messageCount\":1,\"streamCount\":1}]"), 0),
	    "ns.categories counts only the namespace's messages: %s",
	    jpath_text(h, r, ""));
}

static void
test_streams_categories(struct harness *h)
{
	struct json_object *r;
	const char *t;
	int good, i;

	t = ns_create_ok(h, "listing", "setup: ns.create listing");
	write_quiet(h, t, "alpha-1", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, t, "beta-1", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, t, "alpha-1", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, t, "alpha-2", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, t, "beta-1", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, t, "beta-1", "T", "{}", NULL, NULL, NULL, NULL);
	write_quiet(h, t, "gamma", "T", "{}", NULL, NULL, NULL, NULL);

	r = rpc_ok(h, t, "[\"ns.streams\"]", 200, NULL, "ns.streams");
	is_int(jpath_len(r, ""), 4, "one entry per stream");
	ok(jpath_str(r, "0.stream") && jpath_str(r, "1.stream") &&
	    jpath_str(r, "2.stream") && jpath_str(r, "3.stream") &&
	    strcmp(jpath_str(r, "0.stream"), "alpha-1") == 0 &&
	    strcmp(jpath_str(r, "1.stream"), "alpha-2") == 0 &&
	    strcmp(jpath_str(r, "2.stream"), "beta-1") == 0 &&
	    strcmp(jpath_str(r, "3.stream"), "gamma") == 0,
	    "sorted by name: %s", jpath_text(h, r, ""));
	ok(jpath_int(r, "0.version") == 1 && jpath_int(r, "1.version") == 0 &&
	    jpath_int(r, "2.version") == 2 && jpath_int(r, "3.version") == 0,
	    "version is each stream's last position");
	good = 1;
	for (i = 0; i < 4; i++)
		if (!recent(jpath_str(json_object_array_get_idx(r, (size_t)i),
		    "lastActivity")))
			good = 0;
	ok(good, "lastActivity is each stream's last write, with "
	    "microseconds");
	r = rpc_ok(h, t, "[\"ns.streams\",{\"prefix\":\"alpha\"}]", 200, NULL,
	    "ns.streams prefix alpha");
	is_int(jpath_len(r, ""), 2, "prefix filters the names");
	r = rpc_ok(h, t, "[\"ns.streams\",{\"cursor\":\"alpha-2\"}]", 200,
	    NULL, "ns.streams cursor alpha-2");
	ok(jpath_len(r, "") == 2 && jpath_str(r, "0.stream") != NULL &&
	    strcmp(jpath_str(r, "0.stream"), "beta-1") == 0,
	    "cursor returns the names after it: %s", jpath_text(h, r, ""));
	r = rpc_ok(h, t, "[\"ns.streams\",{\"limit\":1}]", 200, NULL,
	    "ns.streams limit 1");
	is_int(jpath_len(r, ""), 1, "limit caps the entries");
	r = rpc_ok(h, t, "[\"ns.streams\",{\"limit\":1000}]", 200, NULL,
	    "ns.streams limit 1000");
	is_int(jpath_len(r, ""), 4, "limit 1000 is allowed");
	bad_ok(h, "[\"ns.streams\",{\"limit\":0}]", "ns.streams limit 0 -> 400");
	bad_ok(h, "[\"ns.streams\",{\"limit\":1001}]", "ns.streams limit 1001 "
	    "-> 400");
	bad_ok(h, "[\"ns.streams\",{\"limit\":\"5\"}]", "ns.streams limit is "
	    "a string -> 400");
	bad_ok(h, "[\"ns.streams\",{\"prefix\":5}]", "ns.streams prefix is a "
	    "number -> 400");
	bad_ok(h, "[\"ns.streams\",{\"cursor\":5}]", "ns.streams cursor is a "
	    "number -> 400");
	bad_ok(h, "[\"ns.streams\",\"x\"]", "ns.streams options is a string "
	    "-> 400");

	r = rpc_ok(h, t, "[\"ns.categories\"]", 200, NULL, "ns.categories");
	ok(jvalue_equal(r, jparse(h, "["
	    "{\"category\":\"alpha\",\"messageCount\":3,\"streamCount\":2},"
	    "{\"category\":\"beta\",\"messageCount\":3,\"streamCount\":1},"
	    "{\"category\":\"gamma\",\"messageCount\":1,\"streamCount\":1}]"),
	    0), "ns.categories: sorted, with real counts: %s",
	    jpath_text(h, r, ""));
	r = rpc_ok(h, ADM, "[\"ns.info\",\"listing\"]", 200, NULL,
	    "ns.info listing");
	ok(jpath_int(r, "messageCount") == 7 && jpath_int(r, "streamCount") ==
	    4, "ns.info counts 7 messages in 4 streams: %s",
	    jpath_text(h, r, ""));
}

int
main(void)
{
	struct harness *h;

	h = harness_start();
	test_create(h);
	test_delete(h);
	test_list_info(h);
	test_admin_only(h);
	test_isolation(h);
	test_streams_categories(h);
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
