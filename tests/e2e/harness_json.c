/*
 * tests/e2e/harness_json.c - JSON navigation (jpath_*), deep value
 * comparison, and the timestamp and UUID format checks of harness.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "harness.h"
#include "harness_internal.h"

/* ---------------------------------------------------------------------- */
/* JSON navigation and comparison */

struct json_object *
jpath_get(struct json_object *o, const char *path)
{
	char key[256];
	const char *p = path, *dot;
	size_t n;
	char *end;
	long idx;

	if (o == NULL || path == NULL)
		return NULL;
	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (json_object_is_type(o, json_type_array)) {
			idx = strtol(key, &end, 10);
			if (*key == '\0' || *end != '\0' || idx < 0 ||
			    (size_t)idx >= json_object_array_length(o))
				return NULL;
			o = json_object_array_get_idx(o, (size_t)idx);
		} else if (json_object_is_type(o, json_type_object)) {
			if (!json_object_object_get_ex(o, key, &o))
				return NULL;
		} else
			return NULL;
		if (o == NULL && dot != NULL)
			return NULL;
		p = dot != NULL ? dot + 1 : p + n;
	}
	return o;
}

int64_t
jpath_int(struct json_object *o, const char *path)
{
	struct json_object *v;

	if (o == NULL)
		return JPATH_NOINT;
	v = *path == '\0' ? o : jpath_get(o, path);
	if (v == NULL || !json_object_is_type(v, json_type_int))
		return JPATH_NOINT;
	return json_object_get_int64(v);
}

const char *
jpath_str(struct json_object *o, const char *path)
{
	struct json_object *v;

	if (o == NULL)
		return NULL;
	v = *path == '\0' ? o : jpath_get(o, path);
	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
jpath_len(struct json_object *o, const char *path)
{
	struct json_object *v;

	if (o == NULL)
		return -1;
	v = *path == '\0' ? o : jpath_get(o, path);
	if (v == NULL || !json_object_is_type(v, json_type_array))
		return -1;
	return (int)json_object_array_length(v);
}

int
jpath_is_null(struct json_object *o, const char *path)
{
	struct json_object *v;
	const char *p;
	char *parent;
	const char *last;
	int present;

	if (o == NULL)
		return 0;
	if (*path == '\0')
		return 0;
	/* json-c represents JSON null as a NULL child, so tell "present and
	 * null" from "absent" by looking at the parent. */
	if ((v = jpath_get(o, path)) != NULL)
		return 0;
	last = strrchr(path, '.');
	parent = xstrdup(path);
	if (last != NULL) {
		parent[last - path] = '\0';
		p = last + 1;
		v = jpath_get(o, parent);
	} else {
		p = path;
		v = o;
	}
	present = 0;
	if (v != NULL && json_object_is_type(v, json_type_object))
		present = json_object_object_get_ex(v, p, NULL);
	else if (v != NULL && json_object_is_type(v, json_type_array)) {
		char *end;
		long idx = strtol(p, &end, 10);

		present = *p != '\0' && *end == '\0' && idx >= 0 &&
		    (size_t)idx < json_object_array_length(v);
	}
	free(parent);
	return present;
}

const char *
jpath_text(struct harness *h, struct json_object *o, const char *path)
{
	struct json_object *v;

	if (o == NULL)
		return "<absent>";
	if (*path == '\0')
		v = o;
	else if ((v = jpath_get(o, path)) == NULL)
		return jpath_is_null(o, path) ? "null" : "<absent>";
	return hstr(h, "%s", json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Both integers: equal as signed or as unsigned 64-bit values. */
static int
jint_equal(struct json_object *a, struct json_object *b)
{
	int64_t sa = json_object_get_int64(a), sb = json_object_get_int64(b);
	uint64_t ua = json_object_get_uint64(a), ub = json_object_get_uint64(b);

	return sa == sb && ua == ub;
}

int
jvalue_equal(struct json_object *a, struct json_object *b, int key_order)
{
	enum json_type ta, tb;
	struct json_object_iterator ia, ib, ea, eb;
	struct json_object *vb;
	size_t i, n;

	if (a == NULL || b == NULL)
		return a == b;
	ta = json_object_get_type(a);
	tb = json_object_get_type(b);
	if ((ta == json_type_int || ta == json_type_double) &&
	    (tb == json_type_int || tb == json_type_double)) {
		if (ta == json_type_int && tb == json_type_int)
			return jint_equal(a, b);
		return json_object_get_double(a) == json_object_get_double(b);
	}
	if (ta != tb)
		return 0;
	switch (ta) {
	case json_type_null:
		return 1;
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_string:
		return json_object_get_string_len(a) ==
		    json_object_get_string_len(b) &&
		    memcmp(json_object_get_string(a), json_object_get_string(b),
		    (size_t)json_object_get_string_len(a)) == 0;
	case json_type_array:
		n = json_object_array_length(a);
		if (n != json_object_array_length(b))
			return 0;
		for (i = 0; i < n; i++)
			if (!jvalue_equal(json_object_array_get_idx(a, i),
			    json_object_array_get_idx(b, i), key_order))
				return 0;
		return 1;
	case json_type_object:
		if (json_object_object_length(a) !=
		    json_object_object_length(b))
			return 0;
		ia = json_object_iter_begin(a);
		ea = json_object_iter_end(a);
		ib = json_object_iter_begin(b);
		eb = json_object_iter_end(b);
		for (; !json_object_iter_equal(&ia, &ea);
		    json_object_iter_next(&ia)) {
			const char *k = json_object_iter_peek_name(&ia);

			if (key_order) {
				if (json_object_iter_equal(&ib, &eb) ||
				    strcmp(k, json_object_iter_peek_name(&ib))
				    != 0)
					return 0;
				json_object_iter_next(&ib);
			}
			if (!json_object_object_get_ex(b, k, &vb) ||
			    !jvalue_equal(json_object_iter_peek_value(&ia), vb,
			    key_order))
				return 0;
		}
		return 1;
	default:
		return 0;
	}
}

static int
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

int
timestamp_valid(const char *s, int64_t *epoch)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	struct tm tm;
	int y, mo, d, hh, mi, ss, us, leap;

	if (s == NULL || strlen(s) != 27)
		return 0;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' ||
	    !digits(s + 11, 2, &hh) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &ss) || s[19] != '.' ||
	    !digits(s + 20, 6, &us) || s[26] != 'Z')
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || hh > 23 || mi > 59 || ss > 60)
		return 0;
	if (epoch != NULL) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = hh;
		tm.tm_min = mi;
		tm.tm_sec = ss;
		*epoch = (int64_t)timegm(&tm);
	}
	return 1;
}

int
uuid_valid(const char *s, int ver)
{
	int i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isdigit((unsigned char)s[i]) &&
		    (s[i] < 'a' || s[i] > 'f'))
			return 0;
	}
	if (ver > 0 && (s[14] != '0' + ver || strchr("89ab", s[19]) == NULL))
		return 0;
	return 1;
}

