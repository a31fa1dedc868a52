/*
 * tests/unit/thread_locale_t.c - unit tests of src/core/thread_locale.c.
 *
 * json-c 0.16 wraps every json_tokener_parse_ex() in duplocale() of the
 * thread's locale and newlocale(LC_NUMERIC_MASK, "C", copy).  Under the
 * global locale each makes a new object (two allocations per parse); under
 * glibc's C locale object both hand the same object back.  These checks
 * pin both halves of that, on the thread that called thread_locale_use_c()
 * and on one that did not, and that json-c still parses numbers right and
 * leaves the thread's locale as it found it.
 */
#include "config.h"

#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "core/thread_locale.h"
#include "../tap.h"

/* What a thread that never called thread_locale_use_c() sees. */
struct plain_view {
	bool global;		/* uselocale(NULL) is LC_GLOBAL_LOCALE */
	bool dup_is_new;	/* duplocale() of it made a new object */
};

static void *
plain_thread(void *arg)
{
	struct plain_view *v = arg;
	locale_t cur = uselocale((locale_t)0), d;

	v->global = cur == LC_GLOBAL_LOCALE;
	d = duplocale(cur);
	v->dup_is_new = d != (locale_t)0 && d != cur;
	if (d != (locale_t)0)
		freelocale(d);
	return NULL;
}

/* json-c's value of "[1.5,-2e3,12,\"x\"]" is what the text says. */
static bool
parses_numbers(void)
{
	struct json_tokener *tok = json_tokener_new();
	const char *text = "[1.5,-2e3,12,\"x\"]";
	struct json_object *o;
	bool good;

	o = json_tokener_parse_ex(tok, text, (int)strlen(text));
	good = o != NULL && json_object_array_length(o) == 4 &&
	    json_object_get_double(json_object_array_get_idx(o, 0)) == 1.5 &&
	    json_object_get_double(json_object_array_get_idx(o, 1)) == -2000.0 &&
	    json_object_get_int64(json_object_array_get_idx(o, 2)) == 12 &&
	    strcmp(json_object_get_string(json_object_array_get_idx(o, 3)), "x") == 0;
	json_object_put(o);
	json_tokener_free(tok);
	return good;
}

int
main(void)
{
	struct plain_view plain = { false, false };
	pthread_t th;
	locale_t c, d, n;

	tap_plan(6);

	if (pthread_create(&th, NULL, plain_thread, &plain) != 0)
		tap_bail("pthread_create");
	pthread_join(th, NULL);
	ok(plain.global && plain.dup_is_new,
	    "LOCALE-001 a thread on the global locale: duplocale makes a new "
	    "object (the allocation json-c pays per parse)");

	ok(thread_locale_use_c(), "LOCALE-002 thread_locale_use_c succeeds");
	c = uselocale((locale_t)0);
	ok(c != LC_GLOBAL_LOCALE && c == newlocale(LC_ALL_MASK, "C", (locale_t)0),
	    "LOCALE-003 the thread now uses glibc's C locale object");
	d = duplocale(c);
	n = newlocale(LC_NUMERIC_MASK, "C", d);
	ok(d == c && n == c,
	    "LOCALE-004 duplocale and newlocale(LC_NUMERIC, \"C\") hand the same "
	    "object back: json-c's switch allocates nothing");
	ok(parses_numbers(), "LOCALE-005 json-c parses 1.5, -2e3, 12 and a string");
	ok(uselocale((locale_t)0) == c,
	    "LOCALE-006 json-c restored the thread's locale after parsing");
	return tap_done();
}
