/*
 * tests/unit/places_t.c - counted places per namespace (src/sse/places.c):
 * the process cap, the share of one namespace, places given back, and a
 * namespace whose count went back to 0 starting afresh.
 */
#include "config.h"

#include "../tap.h"
#include "sse/places.h"

int
main(void)
{
	struct places *p;
	int i, taken = 0;

	tap_plan(11);
	p = places_new(5, 3);
	ok(p != NULL, "places_new(5, 3)");
	for (i = 0; i < 3; i++)
		taken += places_take(p, "a") == PLACES_TAKEN;
	is_int(taken, 3, "a takes its share of 3");
	ok(places_take(p, "a") == PLACES_FULL_NS, "a's fourth: over its share");
	ok(places_take(p, "b") == PLACES_TAKEN, "b still takes one");
	ok(places_take(p, "c") == PLACES_TAKEN, "c takes one");
	is_int(places_count(p), 5, "5 taken in all");
	ok(places_take(p, "d") == PLACES_FULL, "d: the process cap of 5");
	places_give(p, "a");
	ok(places_take(p, "d") == PLACES_TAKEN, "a gives one back: d takes it");
	places_give(p, "b");
	places_give(p, "b");	/* b has none left: ignored */
	is_int(places_count(p), 4, "4 taken after b's and a second, unknown give");
	places_give(p, "c");
	places_give(p, "d");
	places_give(p, "a");
	places_give(p, "a");
	is_int(places_count(p), 0, "all given back");
	taken = 0;
	for (i = 0; i < 3; i++)
		taken += places_take(p, "a") == PLACES_TAKEN;
	is_int(taken, 3, "a starts afresh with its whole share");
	places_free(p);
	places_free(NULL);
	return tap_done();
}
