/*
 * tests/e2e/hostile_t.c - hostile and malformed input through nginx: bodies
 * that are not JSON, not an RPC array, truncated, too deep, not UTF-8, with
 * NUL bytes, too large (413, CONTRACT.md "Errors"); a wrong type for every
 * argument of every method; unknown methods (ERROR-001) and paths; wrong
 * HTTP methods; malformed HTTP.  Every error must be the JSON envelope with
 * the right status, and afterwards the server must still serve and the data
 * written before must be intact.  Also /health, /version, sys.version and
 * sys.health (SYS-001, SYS-002).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN
#define MAX_BODY 1048576	/* evdb's and nginx's default body limit */

static const char *const auth_hdr[] = {
	"Authorization: Bearer " ADM, "Content-Type: application/json", NULL
};

/* One TAP result: POST len bytes to /rpc, expect an error envelope. */
static void
post_err_ok(struct harness *h, const void *body, size_t len,
    long want_status, const char *want_code, const char *desc)
{
	struct http_resp r;

	http_post_raw(h, "/rpc", auth_hdr, body, len, &r);
	error_envelope_ok(h, &r, want_status, want_code, desc);
	http_resp_free(&r);
}

static void
bad_text_ok(struct harness *h, const char *body, const char *desc)
{
	post_err_ok(h, body, strlen(body), 400, "INVALID_REQUEST", desc);
}

/* Writes three messages whose survival is checked at the end. */
static void
intact_setup(struct harness *h, int64_t gpos[3])
{
	int i;

	for (i = 0; i < 3; i++)
		write_ok(h, ADM, "intact-1", "Before", hstr(h, "{\"k\":%d,"
		    "\"s\":\"\xc3\xa9\"}", i), "{\"m\":true}", NULL, NULL,
		    &gpos[i], hstr(h, "setup: message %d written before the "
		    "hostile input", i));
}

static void
intact_check(struct harness *h, const int64_t gpos[3])
{
	struct json_object *r;
	char path[16];
	int i, good;

	r = stream_read_all(h, ADM, "intact-1");
	good = jpath_len(r, "") == 3;
	for (i = 0; good && i < 3; i++) {
		snprintf(path, sizeof(path), "%d.3", i);
		good = jpath_int(r, path) == gpos[i] &&
		    jvalue_equal(jpath_get(json_object_array_get_idx(r,
		    (size_t)i), "4"), jparse(h, hstr(h, "{\"k\":%d,"
		    "\"s\":\"\xc3\xa9\"}", i)), 1) &&
		    jvalue_equal(jpath_get(json_object_array_get_idx(r,
		    (size_t)i), "5"), jparse(h, "{\"m\":true}"), 1);
	}
	ok(good, "the messages written before are intact: %s",
	    good ? "3 messages" : jpath_text(h, r, ""));
}

static void
test_not_rpc(struct harness *h)
{
	static const char *const cases[][2] = {
		{ "", "an empty body" },
		{ "   \n", "a whitespace body" },
		{ "not json", "plain text" },
		{ "[", "a lone [" },
		{ "[\"stream.get\"", "an unterminated array" },
		{ "[\"stream.get\",\"a", "an unterminated string" },
		{ "[\"stream.write\",\"s\",{\"type\":\"T\",\"da",
		    "a body cut in an object key" },
		{ "[\"stream.write\",\"s\",{\"type\":\"T\",\"data\":{\"x\":1}",
		    "a body cut before the last brackets" },
		{ "{\"method\":\"stream.get\"}", "an object" },
		{ "\"stream.get\"", "a string" },
		{ "42", "a number" },
		{ "true", "a boolean" },
		{ "null", "null" },
		{ "[]", "an empty array" },
		{ "[5]", "a number as method name" },
		{ "[null]", "null as method name" },
		{ "[[\"stream.get\"]]", "an array as method name" },
		{ "[{}]", "an object as method name" },
		{ "[true]", "a boolean as method name" },
		{ "[\"sys.version\"] x", "trailing garbage" },
		{ "[] []", "two JSON values" },
		{ "[\"sys.version\"],", "a trailing comma after the array" },
		{ "['sys.version']", "single quotes" },
		{ "[\"stream.get\",\"x\",]", "a trailing comma in the array" },
		{ "[\"sys.version\"] // comment", "a comment" },
		{ "[\"stream.get\",\"x\",{\"position\":NaN}]", "NaN" },
		{ "[\"stream.get\",\"x\",{\"position\":Infinity}]", "Infinity" },
		{ "[\"stream.get\",\"x\",{\"position\":01}]", "a leading zero" },
		{ "[\"stream.get\",\"x\",{\"position\":0x10}]",
		    "a hexadecimal number" },
		{ "[\"stream.get\",\"x\",{\"position\":+1}]", "a leading plus" },
		{ "[\"stream.get\",\"x\",{\"position\":1.}]",
		    "a number ending in a dot" },
		{ "[\"stream.get\",\"x\",{\"position\":1e400}]",
		    "a number beyond double range" },
		{ "[\"stream.write\",\"hs-nan\",{\"type\":\"T\",\"data\":"
		    "{\"x\":NaN}}]", "NaN in data" },
		{ "[\"stream.write\",\"hs-nan\",{\"type\":\"T\",\"data\":"
		    "{\"x\":-Infinity}}]", "-Infinity in data" },
		{ "[\"stream.write\",\"hs-nan\",{\"type\":\"T\",\"data\":"
		    "{\"x\":1e999}}]", "1e999 in data" },
		{ "[\"stream.get\",\"x\",{position:0}]", "an unquoted key" },
		{ "[\"stream.get\",\"\\x41\"]", "an invalid escape \\x" },
		{ "[\"stream.get\",\"\\u12\"]", "a short \\u escape" },
		{ "[\"stream.get\",\"a\tb\"]", "a raw tab inside a string" },
		{ "[\"stream.get\",\"a\nb\"]", "a raw newline inside a string" },
		{ "[\"stream.get\",\"a\x01" "b\"]",
		    "a raw control character inside a string" },
		{ "\xef\xbb\xbf[\"sys.version\"]", "a byte order mark" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad_text_ok(h, cases[i][0], hstr(h, "%s -> 400 INVALID_REQUEST",
		    cases[i][1]));
	/* Whatever was accepted must read back as valid JSON. */
	rpc_ok(h, ADM, "[\"stream.get\",\"hs-nan\"]", 200, NULL,
	    "stream.get of hs-nan answers valid JSON");
	is_str(rpc_last_body(h), "[]", "no message with a non-finite number "
	    "was written");
}

static void
test_bytes(struct harness *h)
{
	static const char nul_out[] = "[\"sys.version\"]\0";
	static const char nul_mid[] = "[\"stream.get\"\0,\"x\"]";
	static const char nul_str[] = "[\"stream.get\",\"a\0b\"]";
	static const char nul_lead[] = "\0[\"sys.version\"]";
	static const char *const utf8[][2] = {
		{ "[\"stream.write\",\"hs-u\",{\"type\":\"T\",\"data\":"
		    "{\"x\":\"\xff\"}}]", "byte 0xFF in data" },
		{ "[\"stream.write\",\"hs-u\",{\"type\":\"T\",\"data\":"
		    "{\"x\":\"\xc0\xaf\"}}]", "an overlong encoding in data" },
		{ "[\"stream.write\",\"hs-u\",{\"type\":\"T\",\"data\":"
		    "{\"x\":\"\xed\xa0\x80\"}}]", "an encoded surrogate in data" },
		{ "[\"stream.write\",\"hs-u\",{\"type\":\"T\",\"data\":"
		    "{\"x\":\"\xe4\xb8\"}}]", "a truncated sequence in data" },
		{ "[\"stream.write\",\"hs-u\",{\"type\":\"T\",\"data\":"
		    "{\"x\":\"\x80\"}}]", "a lone continuation byte in data" },
		{ "[\"stream.write\",\"hs-u\",{\"type\":\"T\",\"data\":"
		    "{\"x\":\"\xf4\x90\x80\x80\"}}]", "a code point above "
		    "U+10FFFF in data" },
		{ "[\"stream.write\",\"hs-u\",{\"type\":\"T\",\"data\":"
		    "{\"\xfe\":1}}]", "invalid UTF-8 in a key" },
		{ "[\"stream.write\",\"hs-u\xff\",{\"type\":\"T\",\"data\":{}}]",
		    "invalid UTF-8 in the stream name" },
		{ "[\"stream.write\",\"hs-u\",{\"type\":\"T\xc3\",\"data\":{}}]",
		    "invalid UTF-8 in the type" },
		{ "[\"stream.write\",\"hs-u\",{\"type\":\"T\",\"data\":{},"
		    "\"metadata\":{\"m\":\"\xff\"}}]",
		    "invalid UTF-8 in metadata" },
		{ "[\"sys.version\xff\"]", "invalid UTF-8 in the method name" },
	};
	struct json_object *r;
	char *deep;
	size_t i, n = 10000, o;

	post_err_ok(h, nul_out, sizeof(nul_out) - 1, 400, "INVALID_REQUEST",
	    "a NUL byte after the array -> 400");
	post_err_ok(h, nul_mid, sizeof(nul_mid) - 1, 400, "INVALID_REQUEST",
	    "a NUL byte between elements -> 400");
	post_err_ok(h, nul_str, sizeof(nul_str) - 1, 400, "INVALID_REQUEST",
	    "a raw NUL byte inside a string -> 400");
	post_err_ok(h, nul_lead, sizeof(nul_lead) - 1, 400, "INVALID_REQUEST",
	    "a NUL byte first -> 400");
	for (i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++)
		bad_text_ok(h, utf8[i][0], hstr(h, "%s -> 400 INVALID_REQUEST",
		    utf8[i][1]));
	r = stream_read_all(h, ADM, "hs-u");
	is_int(jpath_len(r, ""), 0, "no message with invalid UTF-8 was "
	    "written");

	/* 10,000 levels of nesting, as the body and inside data. */
	if ((deep = malloc(2 * n + 128)) == NULL)
		tap_bail("out of memory");
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	post_err_ok(h, deep, 2 * n, 400, "INVALID_REQUEST", "an array nested "
	    "10,000 deep -> 400");
	o = (size_t)sprintf(deep, "[\"stream.write\",\"hs-deep\",{\"type\":"
	    "\"T\",\"data\":{\"a\":");
	memset(deep + o, '[', n);
	memset(deep + o + n, ']', n);
	strcpy(deep + o + 2 * n, "}}]");
	post_err_ok(h, deep, strlen(deep), 400, "INVALID_REQUEST", "data "
	    "nested 10,000 deep -> 400");
	o = (size_t)sprintf(deep, "[\"stream.write\",\"hs-deep\",{\"type\":"
	    "\"T\",\"data\":");
	for (i = 0; i < n / 5; i++)
		memcpy(deep + o + 5 * i, "{\"a\":", 5);
	o += n;
	memset(deep + o, '}', n / 5);
	strcpy(deep + o + n / 5, "}]");
	post_err_ok(h, deep, strlen(deep), 400, "INVALID_REQUEST", "objects "
	    "nested 2,000 deep -> 400");
	free(deep);
	is_int(jpath_len(stream_read_all(h, ADM, "hs-deep"), ""), 0,
	    "nothing of the deep bodies was written");
}

/* A method's argument slot and the JSON type it wants. */
struct slot {
	const char	*tmpl;		/* request body with one %s */
	const char	*want;		/* "string" "object" "number" "objnull" */
};

/* tmpl with its one "%s" replaced by value, harness-owned. */
static const char *
fill_slot(struct harness *h, const char *tmpl, const char *value)
{
	const char *at = strstr(tmpl, "%s");

	if (at == NULL)
		return tmpl;
	return hstr(h, "%.*s%s%s", (int)(at - tmpl), tmpl, value, at + 2);
}

static void
test_wrong_types(struct harness *h)
{
	static const struct slot slots[] = {
		{ "[\"stream.write\",%s,{\"type\":\"T\",\"data\":{}}]",
		    "string" },
		{ "[\"stream.write\",\"hs-1\",%s]", "object" },
		{ "[\"stream.write\",\"hs-1\",{\"type\":%s,\"data\":{}}]",
		    "string" },
		{ "[\"stream.write\",\"hs-1\",{\"type\":\"T\",\"data\":%s}]",
		    "object" },
		{ "[\"stream.write\",\"hs-1\",{\"type\":\"T\",\"data\":{},"
		    "\"metadata\":%s}]", "objnull" },
		{ "[\"stream.write\",\"hs-1\",{\"type\":\"T\",\"data\":{}},%s]",
		    "object" },
		{ "[\"stream.write\",\"hs-1\",{\"type\":\"T\",\"data\":{}},"
		    "{\"id\":%s}]", "string" },
		{ "[\"stream.write\",\"hs-1\",{\"type\":\"T\",\"data\":{}},"
		    "{\"expectedVersion\":%s}]", "number" },
		{ "[\"stream.get\",%s]", "string" },
		{ "[\"stream.get\",\"hs-1\",%s]", "object" },
		{ "[\"stream.get\",\"hs-1\",{\"position\":%s}]", "number" },
		{ "[\"stream.get\",\"hs-1\",{\"globalPosition\":%s}]",
		    "number" },
		{ "[\"stream.get\",\"hs-1\",{\"batchSize\":%s}]", "number" },
		{ "[\"stream.last\",%s]", "string" },
		{ "[\"stream.last\",\"hs-1\",%s]", "object" },
		{ "[\"stream.last\",\"hs-1\",{\"type\":%s}]", "string" },
		{ "[\"stream.version\",%s]", "string" },
		{ "[\"category.get\",%s]", "string" },
		{ "[\"category.get\",\"hs\",%s]", "object" },
		{ "[\"category.get\",\"hs\",{\"position\":%s}]", "number" },
		{ "[\"category.get\",\"hs\",{\"globalPosition\":%s}]",
		    "number" },
		{ "[\"category.get\",\"hs\",{\"batchSize\":%s}]", "number" },
		{ "[\"category.get\",\"hs\",{\"correlation\":%s}]", "string" },
		{ "[\"category.get\",\"hs\",{\"consumerGroup\":%s}]",
		    "object" },
		{ "[\"category.get\",\"hs\",{\"consumerGroup\":{\"member\":%s,"
		    "\"size\":2}}]", "number" },
		{ "[\"category.get\",\"hs\",{\"consumerGroup\":{\"member\":0,"
		    "\"size\":%s}}]", "number" },
		{ "[\"ns.create\",%s]", "string" },
		{ "[\"ns.create\",\"hsns\",%s]", "object" },
		{ "[\"ns.create\",\"hsns\",{\"description\":%s}]", "string" },
		{ "[\"ns.create\",\"hsns\",{\"token\":%s}]", "string" },
		{ "[\"ns.create\",\"hsns\",{\"metadata\":%s}]", "object" },
		{ "[\"ns.delete\",%s]", "string" },
		{ "[\"ns.info\",%s]", "string" },
		{ "[\"ns.streams\",%s]", "object" },
		{ "[\"ns.streams\",{\"prefix\":%s}]", "string" },
		{ "[\"ns.streams\",{\"cursor\":%s}]", "string" },
		{ "[\"ns.streams\",{\"limit\":%s}]", "number" },
	};
	/* A value of each JSON type, and the type's name. */
	static const char *const values[][2] = {
		{ "5", "number" }, { "\"x\"", "string" }, { "[]", "array" },
		{ "{}", "object" }, { "true", "boolean" }, { "null", "null" },
	};
	struct json_object *r;
	const char *body;
	size_t i, k;

	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		for (k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
			if (strcmp(slots[i].want, values[k][1]) == 0)
				continue;
			if (strcmp(slots[i].want, "objnull") == 0 &&
			    (strcmp(values[k][1], "object") == 0 ||
			    strcmp(values[k][1], "null") == 0))
				continue;
			body = fill_slot(h, slots[i].tmpl, values[k][0]);
			post_err_ok(h, body, strlen(body), 400,
			    "INVALID_REQUEST", hstr(h, "%s with a %s -> 400",
			    fill_slot(h, slots[i].tmpl, "_"), values[k][1]));
		}
	}
	r = stream_read_all(h, ADM, "hs-1");
	is_int(jpath_len(r, ""), 0, "no wrongly typed write reached the store");
	rpc_ok(h, ADM, "[\"ns.info\",\"hsns\"]", 404, "NAMESPACE_NOT_FOUND",
	    "no wrongly typed ns.create created a namespace");
}

static void
test_methods_paths(struct harness *h)
{
	static const char *const unknown[][2] = {
		{ "[\"invalid.method\"]", "ERROR-001 invalid.method" },
		{ "[\"Stream.Write\",\"s\",{\"type\":\"T\",\"data\":{}}]",
		    "Stream.Write (case-sensitive)" },
		{ "[\"stream.write \",\"s\",{\"type\":\"T\",\"data\":{}}]",
		    "a trailing space" },
		{ "[\"\"]", "an empty method name" },
		{ "[\"stream\"]", "stream" },
		{ "[\"sys\"]", "sys" },
		{ "[\"stream.write\\u0000\"]", "stream.write + NUL" },
	};
	static const char *const paths[] = { "/nope", "/", "/rpcx", "/RPC",
	    "/rpc/", "/health/x", "/index.html", "/rpc.php", "/v1/rpc" };
	static const char *const verbs[] = { "PUT", "DELETE", "PATCH",
	    "OPTIONS" };
	struct http_resp r;
	char *name;
	size_t i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		post_err_ok(h, unknown[i][0], strlen(unknown[i][0]), 404,
		    "METHOD_NOT_FOUND", hstr(h, "%s -> 404 METHOD_NOT_FOUND",
		    unknown[i][1]));
	if ((name = malloc(100 * 1024 + 16)) == NULL)
		tap_bail("out of memory");
	strcpy(name, "[\"");
	memset(name + 2, 'm', 100 * 1024);
	strcpy(name + 2 + 100 * 1024, "\"]");
	post_err_ok(h, name, strlen(name), 404, "METHOD_NOT_FOUND",
	    "a 100 KB method name -> 404 METHOD_NOT_FOUND");
	free(name);
	rpc_ok(h, ADM, "[\"stream.version\",\"hs-1\",1,2,{},[]]", 200, NULL,
	    "arguments beyond the method's are ignored");

	http_get(h, "/rpc", auth_hdr, &r);
	error_envelope_ok(h, &r, 405, "INVALID_REQUEST", "GET /rpc with a "
	    "token -> 405");
	http_resp_free(&r);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		http_request(h, verbs[i], "/rpc", auth_hdr, "[\"sys.version\"]",
		    15, &r);
		error_envelope_ok(h, &r, 405, "INVALID_REQUEST", hstr(h,
		    "%s /rpc with a token -> 405", verbs[i]));
		http_resp_free(&r);
	}
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		http_get(h, paths[i], auth_hdr, &r);
		error_envelope_ok(h, &r, 404, "NOT_FOUND", hstr(h, "GET %s -> "
		    "404 NOT_FOUND", paths[i]));
		http_resp_free(&r);
		http_post_raw(h, paths[i], auth_hdr, "[\"sys.version\"]", 15,
		    &r);
		error_envelope_ok(h, &r, 404, "NOT_FOUND", hstr(h, "POST %s -> "
		    "404 NOT_FOUND", paths[i]));
		http_resp_free(&r);
	}
	/* nginx's own errors are JSON whatever the path's extension. */
	{
		char *big = malloc(12001);
		const char *hh[2] = { NULL, NULL };

		if (big == NULL)
			tap_bail("out of memory");
		memset(big, 'a', 12000);
		big[12000] = '\0';
		hh[0] = hstr(h, "X-Big: %s", big);
		free(big);
		http_get(h, "/page.html", hh, &r);
		error_envelope_ok(h, &r, 400, "INVALID_REQUEST", "GET /page.html "
		    "with a 12 KB header -> nginx's 400, as JSON");
		http_resp_free(&r);
	}
	/* The route ignores the query string. */
	http_post_raw(h, "/rpc?x=/health", auth_hdr, "[\"sys.version\"]", 15,
	    &r);
	ok(r.status == 200 && r.json != NULL && json_object_is_type(r.json,
	    json_type_string), "/rpc?x=/health is still /rpc");
	http_resp_free(&r);
	/* The Content-Type of the request is not checked. */
	{
		const char *tp[] = { "Authorization: Bearer " ADM,
		    "Content-Type: text/plain", NULL };

		http_post_raw(h, "/rpc", tp, "[\"sys.version\"]", 15, &r);
		ok(r.status == 200, "a text/plain request body is accepted");
		http_resp_free(&r);
	}
}

static void
test_size_limits(struct harness *h)
{
	static const char head[] = "[\"stream.write\",\"hs-big\",{\"type\":"
	    "\"T\",\"data\":{\"b\":\"";
	static const char tail[] = "\"}}]";
	const char *chunked[] = { "Authorization: Bearer " ADM,
	    "Transfer-Encoding: chunked", NULL };
	const char *expect[] = { "Authorization: Bearer " ADM,
	    "Expect: 100-continue", NULL };
	struct http_resp r;
	char *body;
	size_t n, hl = sizeof(head) - 1, tl = sizeof(tail) - 1;

	if ((body = malloc(2 * MAX_BODY + 1)) == NULL)
		tap_bail("out of memory");

	/* Exactly the limit: accepted. */
	n = MAX_BODY;
	memcpy(body, head, hl);
	memset(body + hl, 'x', n - hl - tl);
	memcpy(body + n - tl, tail, tl);
	http_post_raw(h, "/rpc", auth_hdr, body, n, &r);
	if (!ok(r.status == 200, "a body of exactly 1 MiB (the limit) is "
	    "accepted"))
		tap_diag("status %ld: %.200s", r.status, r.body);
	http_resp_free(&r);

	/* One byte over: 413, as JSON, nothing written. */
	n = MAX_BODY + 1;
	memcpy(body, head, hl);
	memset(body + hl, 'y', n - hl - tl);
	memcpy(body + n - tl, tail, tl);
	post_err_ok(h, body, n, 413, "PAYLOAD_TOO_LARGE", "a body of 1 MiB + 1 "
	    "byte -> 413 PAYLOAD_TOO_LARGE");
	n = 2 * MAX_BODY;
	memcpy(body, head, hl);
	memset(body + hl, 'z', n - hl - tl);
	memcpy(body + n - tl, tail, tl);
	post_err_ok(h, body, n, 413, "PAYLOAD_TOO_LARGE", "a 2 MiB body -> 413 "
	    "PAYLOAD_TOO_LARGE");
	http_post_raw(h, "/rpc", chunked, body, n, &r);
	error_envelope_ok(h, &r, 413, "PAYLOAD_TOO_LARGE", "a 2 MiB chunked "
	    "body -> 413 PAYLOAD_TOO_LARGE");
	http_resp_free(&r);
	http_post_raw(h, "/rpc", expect, body, n, &r);
	error_envelope_ok(h, &r, 413, "PAYLOAD_TOO_LARGE", "a 2 MiB body with "
	    "Expect: 100-continue -> 413 PAYLOAD_TOO_LARGE");
	http_resp_free(&r);
	is_int(jpath_len(stream_read_all(h, ADM, "hs-big"), ""), 1,
	    "only the body within the limit was written");

	/* A small chunked body is fine. */
	http_post_raw(h, "/rpc", chunked, "[\"stream.version\",\"hs-big\"]", 27,
	    &r);
	if (!ok(r.status == 200 && jpath_int(r.json, "") == 0, "a small "
	    "chunked body is served"))
		tap_diag("status %ld: %.200s", r.status, r.body);
	http_resp_free(&r);
	free(body);
}

static void
test_raw_http(struct harness *h)
{
	const char *req;
	char *res;
	size_t len;

	/* A body shorter than its Content-Length, then the client leaves. */
	req = "POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ADM
	    "\r\nContent-Length: 100\r\n\r\n[\"stream.write\",\"hs-trunc\"";
	res = http_raw_exchange(h, req, strlen(req), 1, 3000, &len);
	ok(res != NULL, "a truncated body with a closed connection is "
	    "absorbed (%zu bytes answered)", len);
	is_int(jpath_len(stream_read_all(h, ADM, "hs-trunc"), ""), 0,
	    "nothing of the truncated body was written");

	/* A garbage request line: nginx's 400 in the JSON envelope. */
	req = "HELLO WORLD\r\n\r\n";
	res = http_raw_exchange(h, req, strlen(req), 0, 3000, &len);
	ok(res != NULL && strncmp(res, "HTTP/1.1 400", 12) == 0 &&
	    strstr(res, "{\"error\":{\"code\":\"INVALID_REQUEST\"") != NULL,
	    "a garbage request line -> 400 with a JSON error body");
	req = "POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n";
	res = http_raw_exchange(h, req, strlen(req), 0, 3000, &len);
	ok(res != NULL && strncmp(res, "HTTP/1.1 400", 12) == 0 &&
	    strstr(res, "\"error\"") != NULL, "a negative Content-Length -> "
	    "400 with a JSON error body");
	req = "POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ADM
	    "\r\nContent-Length: 15\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "f\r\n[\"sys.version\"]\r\n0\r\n\r\n";
	res = http_raw_exchange(h, req, strlen(req), 0, 3000, &len);
	ok(res != NULL && strncmp(res, "HTTP/1.1 400", 12) == 0,
	    "Content-Length together with chunked -> 400");
}

static void
test_system(struct harness *h)
{
	struct http_resp r;
	struct json_object *j;
	const char *v;

	/* /health: any method, no auth, exactly {"status":"ok"}. */
	http_get(h, "/health", NULL, &r);
	ok(r.status == 200 && r.len == 15 && memcmp(r.body, "{\"status\":"
	    "\"ok\"}", 15) == 0, "GET /health -> 200 {\"status\":\"ok\"}: %s",
	    r.body);
	ok(r.ctype != NULL && strncmp(r.ctype, "application/json", 16) == 0,
	    "/health is application/json");
	http_resp_free(&r);
	http_post_raw(h, "/health", NULL, "x", 1, &r);
	ok(r.status == 200 && jvalue_equal(r.json, jparse(h,
	    "{\"status\":\"ok\"}"), 1), "POST /health -> 200 as well");
	http_resp_free(&r);
	http_get(h, "/health?x=1", NULL, &r);
	ok(r.status == 200, "/health with a query string -> 200");
	http_resp_free(&r);

	/* /version: {"version":"<package version>"}. */
	http_get(h, "/version", NULL, &r);
	ok(r.status == 200 && jvalue_equal(r.json, jparse(h, "{\"version\":"
	    "\"" PACKAGE_VERSION "\"}"), 1), "GET /version -> 200 "
	    "{\"version\":\"" PACKAGE_VERSION "\"}: %s", r.body);
	ok(r.ctype != NULL && strncmp(r.ctype, "application/json", 16) == 0,
	    "/version is application/json");
	http_resp_free(&r);

	/* SYS-001 */
	j = rpc_ok(h, ADM, "[\"sys.version\"]", 200, NULL, "SYS-001 "
	    "sys.version");
	v = jpath_str(j, "");
	ok(v != NULL && *v >= '0' && *v <= '9' && strchr(v, '.') != NULL,
	    "SYS-001 a semver-like version string: %s", v ? v : "(none)");

	/* SYS-002, CONTRACT 12: true values. */
	j = rpc_ok(h, ADM, "[\"sys.health\"]", 200, NULL, "SYS-002 sys.health");
	is_str(jpath_str(j, "status"), "ok", "SYS-002 status ok");
	is_str(jpath_str(j, "backend"), harness_backend(h), "sys.health backend"
	    " is %s", harness_backend(h));
	ok(jpath_int(j, "connections") >= 0, "sys.health connections is a "
	    "count: %s", jpath_text(h, j, "connections"));
}

int
main(void)
{
	struct harness *h;
	int64_t gpos[3];

	h = harness_start();
	intact_setup(h, gpos);
	test_not_rpc(h);
	test_bytes(h);
	test_wrong_types(h);
	test_methods_paths(h);
	test_size_limits(h);
	test_raw_http(h);
	test_system(h);
	intact_check(h, gpos);
	rpc_ok(h, ADM, "[\"stream.write\",\"intact-1\",{\"type\":\"After\","
	    "\"data\":{}},{\"expectedVersion\":2}]", 200, NULL,
	    "after all that the server still takes writes");
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
