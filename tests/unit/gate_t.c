/*
 * tests/unit/gate_t.c - the per-token admission gate (src/server/gate.c):
 * slots per namespace, parking in arrival order, the hand-over of a slot
 * to the oldest parked request, and the import limits.
 */
#include "config.h"

#include "../tap.h"
#include "server/gate.h"

int
main(void)
{
	struct gate_options opt = { .per_token = 2, .imports_total = 2,
	    .queue_max = 2, .max_active = 4 };
	struct gate *g;
	int items[4] = { 1, 2, 3, 4 };

	tap_plan(20);
	g = gate_new(&opt);
	ok(g != NULL, "gate_new");

	ok(gate_enter(g, "a", false, NULL) == GATE_RUN, "a: first request runs");
	ok(gate_enter(g, "a", false, NULL) == GATE_RUN, "a: second request runs");
	ok(gate_enter(g, "a", false, &items[0]) == GATE_PARKED,
	    "a: third is parked (per_token 2)");
	ok(gate_enter(g, "a", false, &items[1]) == GATE_PARKED, "a: fourth is parked");
	ok(gate_enter(g, "a", false, &items[2]) == GATE_FULL_TOKEN,
	    "a: fifth is refused (queue_max 2)");
	ok(gate_enter(g, "b", false, NULL) == GATE_RUN,
	    "b is not limited by a's requests");
	is_int(gate_running(g, "a"), 2, "a has 2 running");

	ok(gate_leave(g, "a", false) == &items[0],
	    "a request of a leaves: its slot goes to the oldest parked one");
	is_int(gate_running(g, "a"), 2, "a still has 2 running");
	ok(gate_leave(g, "a", false) == &items[1], "then to the next one");
	ok(gate_leave(g, "a", false) == NULL, "then nobody is waiting");
	ok(gate_leave(g, "a", false) == NULL, "the last one leaves");
	is_int(gate_running(g, "a"), 0, "a has nothing running");

	ok(gate_enter(g, "a", true, NULL) == GATE_RUN, "an import of a runs");
	ok(gate_enter(g, "a", true, NULL) == GATE_FULL_IMPORT,
	    "a second import of a is refused (one per token)");
	ok(gate_enter(g, "c", true, NULL) == GATE_RUN, "an import of c runs");
	ok(gate_enter(g, "d", true, NULL) == GATE_FULL_IMPORT,
	    "an import of d is refused (imports_total 2)");
	(void)gate_leave(g, "a", true);
	ok(gate_enter(g, "d", true, NULL) == GATE_RUN,
	    "once a's import left, d's runs");
	(void)gate_leave(g, "c", true);
	(void)gate_leave(g, "d", true);
	(void)gate_leave(g, "b", false);
	ok(gate_running(g, "b") == 0 && gate_running(g, "d") == 0,
	    "every slot is given back");
	gate_free(g);
	gate_free(NULL);
	return tap_done();
}
