/*
 * json_slice_t.c - json_slice.h against json-c itself: for hostile JSON
 * (nesting, escapes, unicode, white space, numbers, duplicate keys) the
 * compact copy is byte for byte json-c's serialisation, or says that it
 * cannot be (and the caller falls back to json-c); and the spans found
 * by element and member are the values' exact bytes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "../tap.h"
#include "core/json_slice.h"

struct slice_case {
	const char *text;	/* one JSON value */
	size_t len;		/* its length */
	int copies;		/* 1: the copy must equal json-c's text; 0: fall back */
	const char *what;	/* description */
};

#define C(s, c, w) { s, sizeof(s) - 1, c, w }

static const struct slice_case cases[] = {
	C("{}", 1, "empty object"),
	C("[]", 1, "empty array"),
	C(" { } ", 1, "empty object in white space"),
	C("{\"a\":1}", 1, "one member"),
	C("{ \"a\" : 1 , \"b\" :\t[ 1 ,2 , 3 ]\r\n}", 1, "white space everywhere"),
	C("{\"a b\":\"x y : , { } [ ]\"}", 1, "structure inside strings"),
	C("{\"k\":\"a\\\"b\\\\c\"}", 1, "escaped quote and backslash"),
	C("{\"k\":\"\\b\\f\\n\\r\\t\"}", 1, "short escapes"),
	C("{\"k\":\"a\\/b\"}", 1, "escaped slash, written plain"),
	C("{\"k\":\"a/b\"}", 1, "plain slash"),
	C("{\"k\\n\":1}", 1, "escape in a key"),
	C("{\"k\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}", 1, "raw UTF-8"),
	C("{\"k\":\"\\u00e9\"}", 0, "\\u escape: json-c writes it raw"),
	C("{\"k\":\"\\u0041\"}", 0, "\\u escape of ASCII"),
	C("{\"k\":\"\\ud83d\\ude00\"}", 0, "surrogate pair"),
	C("{\"k\":\"\\u0000\"}", 0, "escaped NUL"),
	C("{\"k\":\"\x7f\"}", 1, "raw DEL"),
	C("{\"k\":\"a\x01z\"}", 0, "raw control byte: json-c writes \\u0001"),
	C("{\"k\":\"a\tz\"}", 0, "raw tab: json-c writes \\t"),
	C("{\"a\":-0}", 1, "-0 becomes 0"),
	C("[-0,-0.0,-0e1,0,-01e2,-10]", 1, "-0 only when a whole integer"),
	C("[1.0,1e2,1E+2,1.50,-2.5e-3]", 1, "doubles keep their spelling"),
	C("[9223372036854775807,-9223372036854775808,18446744073709551615]", 1,
	    "64-bit limits"),
	C("[true,false,null]", 1, "literals"),
	C("{\"a\":{\"b\":{\"c\":[{\"d\":[[[]]]}]}}}", 1, "nested"),
	C("{\"k\":1,\"k\":2}", 0, "duplicate key"),
	C("{\"a\":{\"k\":1,\"k\":2},\"b\":1}", 0, "nested duplicate key"),
	C("[{\"k\":1},{\"k\":2}]", 1, "same key in two objects"),
	C("{\"\":\"\"}", 1, "empty key and value"),
	C("\"top\"", 1, "a string alone"),
	C("{\"counter\":7,\"payload\":\"test data\",\"nested\":{\"field1\":"
	    "\"value1\",\"field2\":42,\"field3\":true}}", 1, "the reference data"),
};

/* Object members of v, nested ones included, as rpc_message.c counts. */
static size_t
tree_members(struct json_object *v)
{
	size_t n = 0, i;

	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, child) {
			(void)key;
			n += 1 + tree_members(child);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		for (i = 0; i < json_object_array_length(v); i++)
			n += tree_members(json_object_array_get_idx(v, i));
	}
	return n;
}

static struct json_object *
parse_strict(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *v;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	v = json_tokener_parse_ex(tok, s, (int)len);
	if (v == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		v = json_tokener_parse_ex(tok, " ", 1);
	json_tokener_free(tok);
	return v;
}

static void
compact_ok(const struct slice_case *c)
{
	struct json_object *v = parse_strict(c->text, c->len);
	const char *want;
	size_t want_len, got_len = 0, members = 0;
	char got[512];
	bool copied;

	if (v == NULL) {
		ok(0, "%s: json-c accepts it", c->what);
		return;
	}
	want = json_object_to_json_string_length(v,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &want_len);
	copied = json_slice_compact(c->text, c->len, got, &got_len, &members) &&
	    members == tree_members(v);
	if (c->copies) {
		ok(copied && got_len == want_len && memcmp(got, want, want_len) == 0,
		    "%s: copy equals json-c's %s", c->what, want);
		if (copied && got_len <= sizeof(got))
			tap_diag("got %.*s", (int)got_len, got);
	} else {
		ok(!copied, "%s: falls back to json-c", c->what);
	}
	json_object_put(v);
}

static void
span_ok(bool found, const struct json_span *v, const char *want,
    const char *what)
{
	ok(found && v->len == strlen(want) && memcmp(v->p, want, v->len) == 0,
	    "%s: %s", what, want);
}

int
main(void)
{
	static const char body[] = " [ \"stream.write\" , \"s-1\",\n"
	    "{ \"type\":\"T\", \"data\" : { \"a\" : [1, {\"data\":2}] } ,"
	    "\"metadata\":null,\"x y\":\"]}\\\"\"} , {\"id\":\"u\"} ] ";
	struct json_span v, m;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_plan((int)(sizeof(cases) / sizeof(cases[0])) + 19);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		compact_ok(&cases[i]);

	span_ok(json_slice_element(body, sizeof(body) - 1, 0, &v), &v,
	    "\"stream.write\"", "element 0");
	span_ok(json_slice_element(body, sizeof(body) - 1, 1, &v), &v,
	    "\"s-1\"", "element 1");
	span_ok(json_slice_element(body, sizeof(body) - 1, 3, &v), &v,
	    "{\"id\":\"u\"}", "element 3");
	ok(!json_slice_element(body, sizeof(body) - 1, 4, &v), "no element 4");
	ok(!json_slice_element("{\"a\":1}", 7, 0, &v), "an object has no element");
	ok(!json_slice_element("[]", 2, 0, &v), "an empty array has no element");
	ok(json_slice_element(body, sizeof(body) - 1, 2, &m), "element 2");
	span_ok(json_slice_member(m.p, m.len, "data", &v) == JSON_SLICE_FOUND, &v,
	    "{ \"a\" : [1, {\"data\":2}] }", "member data, not the nested one");
	span_ok(json_slice_member(m.p, m.len, "metadata", &v) == JSON_SLICE_FOUND,
	    &v, "null", "member metadata");
	span_ok(json_slice_member(m.p, m.len, "type", &v) == JSON_SLICE_FOUND, &v,
	    "\"T\"", "member type");
	ok(json_slice_member("{\"x\\\"y\":1,\"a\":2}", 16, "a", &v) ==
	    JSON_SLICE_UNSURE, "a key with an escape makes the lookup unsure");
	ok(json_slice_member("{\"a\":1}", 7, "b", &v) == JSON_SLICE_ABSENT,
	    "absent key");
	ok(json_slice_member("{}", 2, "a", &v) == JSON_SLICE_ABSENT,
	    "empty object");
	ok(json_slice_member("{\"data\":1,\"data\":2}", 19, "data", &v) ==
	    JSON_SLICE_UNSURE, "a duplicated key is unsure");
	ok(json_slice_member("{\"d\\u0061ta\":1}", 15, "data", &v) ==
	    JSON_SLICE_UNSURE, "a key spelled with \\u is unsure");
	ok(json_slice_member("[1]", 3, "data", &v) == JSON_SLICE_ABSENT,
	    "an array has no member");
	{
		static const char *const keys[3] = { "data", "metadata", "none" };
		static const char dup[] = "{\"metadata\":1,\"data\":[2],"
		    "\"metadata\":3}";
		struct json_span vs[3];
		enum json_slice_find fs[3];

		json_slice_members(m.p, m.len, keys, 3, vs, fs);
		span_ok(fs[0] == JSON_SLICE_FOUND && fs[1] == JSON_SLICE_FOUND,
		    &vs[1], "null", "members: metadata in the same pass");
		ok(fs[2] == JSON_SLICE_ABSENT &&
		    vs[0].len == strlen("{ \"a\" : [1, {\"data\":2}] }"),
		    "members: data found, none absent");
		json_slice_members(dup, sizeof(dup) - 1, keys, 2, vs, fs);
		ok(fs[0] == JSON_SLICE_FOUND && fs[1] == JSON_SLICE_UNSURE,
		    "members: only the duplicated key is unsure");
	}
	return tap_done();
}
