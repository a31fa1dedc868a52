/*
 * tests/e2e/checkpoint_t.c - consumer checkpoints kept by the server
 * (EXTENSIONS.md section 6, docs/api.md section 6.15) through nginx:
 * checkpoint.commit, .get, .list and .delete with their happy paths and
 * every documented error; conditional commits racing from ten threads (and
 * two evdb processes) with exactly one winner per round; a commit moving
 * backwards refused, and accepted with force; category.get and /subscribe
 * starting after a checkpoint, with and without a consumer group; the
 * checkpoints of one namespace invisible to another; and the
 * evdb_checkpoint_lag line of /metrics.
 */
#include "config.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "harness.h"

#define ADM	HARNESS_ADMIN_TOKEN
#define MAXPOS	"4611686018427387903"

static struct harness *h;
static const char *tok;		/* namespace "ck" */

/* ---- happy paths ----------------------------------------------------- */

static void
test_basics(void)
{
	struct json_object *r;
	int64_t pos;

	r = rpc_ok(h, tok, "[\"checkpoint.get\",\"billing\"]", 200, NULL,
	    "get of a checkpoint never committed");
	ok(r == NULL && strcmp(rpc_last_body(h), "null") == 0,
	    "... answers null");
	r = rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",5]", 200, NULL,
	    "commit 5");
	is_int(jpath_int(r, "position"), 5, "... answers the position");
	ok(timestamp_valid(jpath_str(r, "updatedAt"), NULL),
	    "... and updatedAt, a timestamp");
	r = rpc_ok(h, tok, "[\"checkpoint.get\",\"billing\"]", 200, NULL, "get");
	is_int(jpath_int(r, "position"), 5, "... reads 5 back");
	ok(timestamp_valid(jpath_str(r, "updatedAt"), NULL), "... with updatedAt");
	ok(jpath_len(r, "") < 0 && json_object_object_length(r) == 2,
	    "... an object of two keys");

	r = rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",3]", 409,
	    "POSITION_CONFLICT", "commit moving backwards is refused");
	is_int(jpath_int(r, "error.details.actual"), 5, "... details.actual 5");
	is_int(jpath_int(r, "error.details.position"), 3, "... details.position 3");
	r = rpc_ok(h, tok, "[\"checkpoint.get\",\"billing\"]", 200, NULL,
	    "get after the refusal");
	is_int(jpath_int(r, "position"), 5, "... still 5: nothing written");
	rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",3,{\"force\":false}]",
	    409, "POSITION_CONFLICT", "force false is no force");
	r = rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",3,{\"force\":true}]",
	    200, NULL, "force moves it backwards");
	r = rpc_ok(h, tok, "[\"checkpoint.get\",\"billing\"]", 200, NULL, "get");
	is_int(jpath_int(r, "position"), 3, "... reads 3");
	rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",3]", 200, NULL,
	    "commit of the same position again is accepted");
	rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",0,{\"force\":true}]",
	    200, NULL, "position 0 is a position");

	/* Conditional commits. */
	rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",7,"
	    "{\"expectedPosition\":0}]", 200, NULL, "expectedPosition matching");
	r = rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",9,"
	    "{\"expectedPosition\":0}]", 409, "POSITION_CONFLICT",
	    "expectedPosition not matching");
	is_int(jpath_int(r, "error.details.expected"), 0, "... details.expected");
	is_int(jpath_int(r, "error.details.actual"), 7, "... details.actual");
	r = rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",1,"
	    "{\"expectedPosition\":7}]", 409, "POSITION_CONFLICT",
	    "expectedPosition matching but moving backwards");
	is_int(jpath_int(r, "error.details.actual"), 7, "... details.actual 7");
	rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",1,"
	    "{\"expectedPosition\":7,\"force\":true}]", 200, NULL,
	    "... with force as well: accepted");
	r = rpc_ok(h, tok, "[\"checkpoint.commit\",\"billing\",2,"
	    "{\"expectedPosition\":-1}]", 409, "POSITION_CONFLICT",
	    "expectedPosition -1 on an existing checkpoint");
	is_int(jpath_int(r, "error.details.actual"), 1, "... details.actual 1");
	r = rpc_ok(h, tok, "[\"checkpoint.commit\",\"fresh\",4,"
	    "{\"expectedPosition\":3}]", 409, "POSITION_CONFLICT",
	    "expectedPosition 3 on a missing checkpoint");
	is_int(jpath_int(r, "error.details.actual"), -1,
	    "... details.actual -1: none");
	rpc_ok(h, tok, "[\"checkpoint.commit\",\"fresh\",4,"
	    "{\"expectedPosition\":-1}]", 200, NULL,
	    "expectedPosition -1 on a missing checkpoint creates it");
	rpc_ok(h, tok, "[\"checkpoint.commit\",\"x:y.z_w-1\"," MAXPOS "]", 200,
	    NULL, "every allowed character, the highest position");

	/* Group members are checkpoints of their own. */
	rpc_ok(h, tok, "[\"checkpoint.commit\",\"grp\",10,{\"member\":0,\"size\":2}]",
	    200, NULL, "commit of member 0 of 2");
	rpc_ok(h, tok, "[\"checkpoint.commit\",\"grp\",20,{\"member\":1,\"size\":2}]",
	    200, NULL, "commit of member 1 of 2");
	rpc_ok(h, tok, "[\"checkpoint.commit\",\"grp\",1,{\"member\":1,\"size\":3}]",
	    200, NULL, "commit of member 1 of 3: not moving 1 of 2 backwards");
	r = rpc_ok(h, tok, "[\"checkpoint.get\",\"grp\",{\"member\":0,\"size\":2}]",
	    200, NULL, "get member 0 of 2");
	is_int(jpath_int(r, "position"), 10, "... 10");
	r = rpc_ok(h, tok, "[\"checkpoint.get\",\"grp\",{\"member\":1,\"size\":2}]",
	    200, NULL, "get member 1 of 2");
	is_int(jpath_int(r, "position"), 20, "... 20");
	rpc_ok(h, tok, "[\"checkpoint.get\",\"grp\"]", 200, NULL,
	    "get without a member");
	is_str(rpc_last_body(h), "null", "... null: no such checkpoint");
	rpc_ok(h, tok, "[\"checkpoint.get\",\"grp\",{}]", 200, NULL,
	    "get with {} options");
	is_str(rpc_last_body(h), "null", "... null too");

	/* list: by name, then size, then member. */
	r = rpc_ok(h, tok, "[\"checkpoint.list\"]", 200, NULL, "list");
	is_int(jpath_len(r, ""), 6, "... six checkpoints");
	is_str(jpath_str(r, "0.name"), "billing", "... billing first");
	ok(jpath_is_null(r, "0.member") && jpath_is_null(r, "0.size"),
	    "... without a group: member and size null");
	is_int(jpath_int(r, "0.position"), 1, "... at 1");
	ok(timestamp_valid(jpath_str(r, "0.updatedAt"), NULL), "... updatedAt");
	is_str(jpath_str(r, "1.name"), "fresh", "... then fresh");
	is_str(jpath_str(r, "2.name"), "grp", "... then grp");
	is_int(jpath_int(r, "2.size"), 2, "... size 2 first");
	is_int(jpath_int(r, "2.member"), 0, "... member 0");
	is_int(jpath_int(r, "3.member"), 1, "... member 1");
	is_int(jpath_int(r, "4.size"), 3, "... then size 3");
	is_str(jpath_str(r, "5.name"), "x:y.z_w-1", "... x:y.z_w-1 last");
	pos = jpath_int(r, "5.position");
	ok(pos == INT64_C(4611686018427387903), "... at 2^62-1 exactly");

	r = rpc_ok(h, tok, "[\"checkpoint.delete\",\"grp\"]", 200, NULL,
	    "delete grp");
	is_int(jpath_int(r, "deleted"), 3, "... deleted its three members");
	rpc_ok(h, tok, "[\"checkpoint.get\",\"grp\",{\"member\":1,\"size\":2}]",
	    200, NULL, "get after delete");
	is_str(rpc_last_body(h), "null", "... null");
	r = rpc_ok(h, tok, "[\"checkpoint.delete\",\"grp\"]", 200, NULL,
	    "delete again");
	is_int(jpath_int(r, "deleted"), 0, "... deleted 0");
	r = rpc_ok(h, tok, "[\"checkpoint.list\"]", 200, NULL, "list after delete");
	is_int(jpath_len(r, ""), 3, "... three left");
	rpc_ok(h, tok, "[\"checkpoint.delete\",\"x:y.z_w-1\"]", 200, NULL,
	    "delete x:y.z_w-1");
	rpc_ok(h, tok, "[\"checkpoint.delete\",\"fresh\"]", 200, NULL,
	    "delete fresh");
}

/* Another namespace sees none of ck's checkpoints. */
static void
test_isolation(void)
{
	const char *other = ns_create_ok(h, "ck2", "namespace ck2");
	struct json_object *r;

	rpc_ok(h, other, "[\"checkpoint.get\",\"billing\"]", 200, NULL,
	    "ck2: get billing");
	is_str(rpc_last_body(h), "null", "... null: ck's checkpoint is not ck2's");
	r = rpc_ok(h, other, "[\"checkpoint.list\"]", 200, NULL, "ck2: list");
	is_int(jpath_len(r, ""), 0, "... empty");
	rpc_ok(h, other, "[\"checkpoint.commit\",\"billing\",99]", 200, NULL,
	    "ck2: commit billing 99");
	r = rpc_ok(h, tok, "[\"checkpoint.get\",\"billing\"]", 200, NULL,
	    "ck: get billing");
	is_int(jpath_int(r, "position"), 1, "... still ck's own 1");
	rpc_ok(h, ADM, "[\"ns.delete\",\"ck2\"]", 200, NULL, "ns.delete ck2");
	rpc_ok(h, other, "[\"checkpoint.list\"]", 403, "AUTH_UNAUTHORIZED",
	    "its token no longer works");
}

/* ---- errors ---------------------------------------------------------- */

struct bad {
	const char *body;	/* RPC body */
	const char *message;	/* exact error message */
};

static const struct bad bads[] = {
	{ "[\"checkpoint.commit\"]",
	  "checkpoint.commit requires at least 2 arguments: name and position" },
	{ "[\"checkpoint.commit\",\"a\"]",
	  "checkpoint.commit requires at least 2 arguments: name and position" },
	{ "[\"checkpoint.commit\",5,5]",
	  "name must be a string of 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"checkpoint.commit\",null,5]",
	  "name must be a string of 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"checkpoint.commit\",\"\",5]",
	  "name must be a string of 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"checkpoint.commit\",\"a b\",5]",
	  "name must be 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"checkpoint.commit\",\"a/b\",5]",
	  "name must be 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"checkpoint.commit\",\"\\u00e9\",5]",
	  "name must be 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"checkpoint.commit\",\"a\\u0000\",5]",
	  "name must be 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"checkpoint.commit\",\"a\",\"5\"]", "position must be a number" },
	{ "[\"checkpoint.commit\",\"a\",null]", "position must be a number" },
	{ "[\"checkpoint.commit\",\"a\",-1]",
	  "position must be from 0 to " MAXPOS },
	{ "[\"checkpoint.commit\",\"a\",4611686018427387904]",
	  "position must be from 0 to " MAXPOS },
	{ "[\"checkpoint.commit\",\"a\",1e300]",
	  "position must be from 0 to " MAXPOS },
	{ "[\"checkpoint.commit\",\"a\",1,[]]", "options must be an object" },
	{ "[\"checkpoint.commit\",\"a\",1,null]", "options must be an object" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"member\":0}]",
	  "options requires both member and size, or neither" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"size\":2}]",
	  "options requires both member and size, or neither" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"member\":\"0\",\"size\":2}]",
	  "options.member must be a number" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"member\":0,\"size\":null}]",
	  "options.size must be a number" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"member\":-1,\"size\":2}]",
	  "options.member must be non-negative" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"member\":0,\"size\":0}]",
	  "options.size must be positive" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"member\":2,\"size\":2}]",
	  "options.member must be < size" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"expectedPosition\":\"1\"}]",
	  "options.expectedPosition must be a number" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"expectedPosition\":null}]",
	  "options.expectedPosition must be a number" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"expectedPosition\":-2}]",
	  "options.expectedPosition must be -1 (no checkpoint yet) or from 0 to "
	  MAXPOS },
	{ "[\"checkpoint.commit\",\"a\",1,{\"force\":1}]",
	  "options.force must be a boolean" },
	{ "[\"checkpoint.commit\",\"a\",1,{\"force\":null}]",
	  "options.force must be a boolean" },
	{ "[\"checkpoint.get\"]",
	  "checkpoint.get requires at least 1 argument: name" },
	{ "[\"checkpoint.get\",1]",
	  "name must be a string of 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"checkpoint.get\",\"a,b\"]",
	  "name must be 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"checkpoint.get\",\"a\",7]", "options must be an object" },
	{ "[\"checkpoint.get\",\"a\",{\"member\":3,\"size\":2}]",
	  "options.member must be < size" },
	{ "[\"checkpoint.delete\"]", "checkpoint.delete requires 1 argument: name" },
	{ "[\"checkpoint.delete\",[]]",
	  "name must be a string of 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"checkpoint.delete\",\"*\"]",
	  "name must be 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"category.get\",\"acc\",{\"checkpoint\":1}]",
	  "options.checkpoint must be a string" },
	{ "[\"category.get\",\"acc\",{\"checkpoint\":null}]",
	  "options.checkpoint must be a string" },
	{ "[\"category.get\",\"acc\",{\"checkpoint\":\"\"}]",
	  "options.checkpoint must be 1 to 200 bytes of [A-Za-z0-9:._-]" },
	{ "[\"category.get\",\"acc\",{\"checkpoint\":\"a b\",\"position\":1}]",
	  "options.checkpoint must be 1 to 200 bytes of [A-Za-z0-9:._-]" },
};

static void
test_errors(void)
{
	struct json_object *r;
	const char *body;
	char name[202];
	size_t i;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		r = rpc_ok(h, tok, bads[i].body, 400, "INVALID_REQUEST", bads[i].body);
		is_str(jpath_str(r, "error.message"), bads[i].message,
		    "... message: %s", bads[i].message);
	}
	memset(name, 'n', 200);
	name[200] = '\0';
	body = hstr(h, "[\"checkpoint.commit\",\"%s\",1]", name);
	rpc_ok(h, tok, body, 200, NULL, "a name of 200 bytes is accepted");
	rpc_ok(h, tok, hstr(h, "[\"checkpoint.delete\",\"%s\"]", name), 200, NULL,
	    "... and deleted");
	name[200] = 'n';
	name[201] = '\0';
	r = rpc_ok(h, tok, hstr(h, "[\"checkpoint.commit\",\"%s\",1]", name), 400,
	    "INVALID_REQUEST", "a name of 201 bytes is refused");
	is_str(jpath_str(r, "error.message"),
	    "name must be 1 to 200 bytes of [A-Za-z0-9:._-]", "... message");
	r = rpc_ok(h, tok, "[\"checkpoint.list\"]", 200, NULL,
	    "list after every refusal");
	is_int(jpath_len(r, ""), 1, "... only billing: no refusal wrote anything");
	rpc_ok(h, NULL, "[\"checkpoint.list\"]", 401, "AUTH_REQUIRED",
	    "list without a token");
	rpc_ok(h, tok, "[\"checkpoint.List\"]", 404, "METHOD_NOT_FOUND",
	    "method names are case-sensitive");
}

/* ---- the race -------------------------------------------------------- */

#define RACERS 10
#define ROUNDS 20

struct racer {
	const struct harness *h;
	int fcgi_port;			/* >0: straight to the second evdb */
	const char *bodies[ROUNDS];	/* this racer's commit of each round */
	long status[ROUNDS];		/* what came back */
	char code[ROUNDS][32];
	pthread_barrier_t *barrier;	/* every round starts together */
	int failed;
};

/* Each round: RACERS commits expecting the same position. */
static struct racer racers[RACERS];

static void *
racer_main(void *arg)
{
	struct racer *w = arg;
	struct hconn *c = NULL;
	struct http_resp r;
	const char *code;
	int i;

	if (w->fcgi_port <= 0 && (c = hconn_new(w->h)) == NULL)
		w->failed = 1;
	for (i = 0; i < ROUNDS; i++) {
		pthread_barrier_wait(w->barrier);
		memset(&r, 0, sizeof(r));
		if (!w->failed) {
			if (w->fcgi_port > 0)
				fcgi_rpc(w->fcgi_port, tok, w->bodies[i], &r);
			else
				hconn_rpc(c, tok, w->bodies[i], &r);
		}
		w->status[i] = r.status;
		code = jpath_str(r.json, "error.code");
		snprintf(w->code[i], sizeof(w->code[i]), "%s", code ? code : "");
		http_resp_free(&r);
		/* The next round's expected position is decided between rounds. */
		pthread_barrier_wait(w->barrier);
	}
	hconn_free(c);
	return NULL;
}

static void
test_race(void)
{
	pthread_barrier_t barrier;
	pthread_t th[RACERS];
	struct json_object *r;
	int i, k, port = 0, winners_ok = 0, losers_ok = 0, expect_ok = 0;
	int64_t expected = -1, winner_pos;
	pid_t pid;

	pid = harness_spawn_evdb(h, &port);
	ok(pid > 0, "a second evdb process on the same store");
	pthread_barrier_init(&barrier, NULL, RACERS + 1);
	for (k = 0; k < RACERS; k++) {
		racers[k].h = h;
		racers[k].fcgi_port = (k % 2 == 1 && pid > 0) ? port : 0;
		racers[k].barrier = &barrier;
	}
	for (k = 0; k < RACERS; k++)
		pthread_create(&th[k], NULL, racer_main, &racers[k]);
	for (i = 0; i < ROUNDS; i++) {
		int winners = 0, conflicts = 0, winner = -1;

		/*
		 * Round i: racer k commits 100 * (i + 1) + k to race<i/2>,
		 * expecting no checkpoint in even rounds (racing inserts) and
		 * the previous round's winner in odd ones (racing updates).
		 */
		if (i % 2 == 0)
			expected = -1;
		for (k = 0; k < RACERS; k++)
			racers[k].bodies[i] = hstr(h, "[\"checkpoint.commit\",\"race%d\","
			    "%d,{\"expectedPosition\":%lld}]", i / 2, 100 * (i + 1) + k,
			    (long long)expected);
		pthread_barrier_wait(&barrier);	/* go */
		pthread_barrier_wait(&barrier);	/* all answered */
		for (k = 0; k < RACERS; k++) {
			if (racers[k].status[i] == 200) {
				winners++;
				winner = k;
			} else if (racers[k].status[i] == 409 &&
			    strcmp(racers[k].code[i], "POSITION_CONFLICT") == 0)
				conflicts++;
			else
				tap_diag("round %d racer %d: %ld %s", i, k,
				    racers[k].status[i], racers[k].code[i]);
		}
		winners_ok += winners == 1;
		losers_ok += conflicts == RACERS - 1;
		winner_pos = winner >= 0 ? 100 * (i + 1) + winner : -2;
		r = rpc_call(h, tok, hstr(h, "[\"checkpoint.get\",\"race%d\"]",
		    i / 2), NULL);
		expect_ok += jpath_int(r, "position") == winner_pos;
		expected = winner_pos;
	}
	for (k = 0; k < RACERS; k++)
		pthread_join(th[k], NULL);
	pthread_barrier_destroy(&barrier);
	is_int(winners_ok, ROUNDS, "%d rounds of %d racing conditional commits:"
	    " exactly one winner each", ROUNDS, RACERS);
	is_int(losers_ok, ROUNDS, "... and every other one 409 POSITION_CONFLICT");
	is_int(expect_ok, ROUNDS, "... the stored position is the winner's");
	for (i = 0, k = 0; i < ROUNDS / 2; i++) {
		r = rpc_call(h, tok, hstr(h, "[\"checkpoint.delete\",\"race%d\"]",
		    i), NULL);
		k += jpath_int(r, "deleted") == 1;
	}
	is_int(k, ROUNDS / 2, "each raced checkpoint was one row, deleted");
}

/* ---- reads starting after a checkpoint ------------------------------- */

/* Streams of category "acc" with their member of a group of 2
 * (reference-behaviour.md section 4's vectors). */
static const struct {
	const char *stream;
	int m2;
} acc_streams[] = {
	{ "acc-1", 0 }, { "acc-2", 1 }, { "acc-3", 0 }, { "acc-4", 1 },
	{ "acc-1", 0 }, { "acc-2", 1 }, { "acc-3", 0 }, { "acc-4", 1 },
};
#define ACC_N (int)(sizeof(acc_streams) / sizeof(acc_streams[0]))

static int64_t acc_gpos[ACC_N];

/* The gpos list of a category.get answer, as "1,2,3". */
static const char *
gpos_list(struct json_object *page)
{
	char buf[512] = "";
	size_t off = 0;
	int i, n = jpath_len(page, "");

	for (i = 0; i < n && off < sizeof(buf) - 24; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%lld",
		    i > 0 ? "," : "", (long long)jpath_int(page,
		    hstr(h, "%d.4", i)));
	return hstr(h, "%s", buf);
}

/* The gpos list of the messages of acc after `after`, of member m of 2 (-1: all). */
static const char *
want_list(int64_t after, int m)
{
	char buf[512] = "";
	size_t off = 0;
	int i;

	for (i = 0; i < ACC_N; i++)
		if (acc_gpos[i] > after && (m < 0 || acc_streams[i].m2 == m))
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%lld",
			    off > 0 ? "," : "", (long long)acc_gpos[i]);
	return hstr(h, "%s", buf);
}

static void
test_category(void)
{
	struct json_object *r;
	int i, fails = 0;

	for (i = 0; i < ACC_N; i++)
		fails += write_quiet(h, tok, acc_streams[i].stream, "T", "{}", NULL,
		    NULL, NULL, &acc_gpos[i]) != 0;
	is_int(fails, 0, "wrote %d messages to category acc", ACC_N);

	r = rpc_ok(h, tok, "[\"category.get\",\"acc\",{\"checkpoint\":\"proc\"}]",
	    200, NULL, "category.get with a checkpoint never committed");
	is_str(gpos_list(r), want_list(0, -1), "... reads from the beginning");
	rpc_ok(h, tok, hstr(h, "[\"checkpoint.commit\",\"proc\",%lld]",
	    (long long)acc_gpos[2]), 200, NULL, "commit proc at the third message");
	r = rpc_ok(h, tok, "[\"category.get\",\"acc\",{\"checkpoint\":\"proc\"}]",
	    200, NULL, "category.get with checkpoint proc");
	is_str(gpos_list(r), want_list(acc_gpos[2], -1),
	    "... starts after the checkpoint");
	r = rpc_ok(h, tok, hstr(h, "[\"category.get\",\"acc\",{\"checkpoint\":"
	    "\"proc\",\"batchSize\":2}]"), 200, NULL, "... with batchSize 2");
	is_str(gpos_list(r), hstr(h, "%lld,%lld", (long long)acc_gpos[3],
	    (long long)acc_gpos[4]), "... the two after it");
	r = rpc_ok(h, tok, hstr(h, "[\"category.get\",\"acc\",{\"checkpoint\":"
	    "\"proc\",\"position\":%lld}]", (long long)acc_gpos[1]), 200, NULL,
	    "checkpoint with a position");
	is_str(gpos_list(r), want_list(acc_gpos[1] - 1, -1), "... the position wins");
	r = rpc_ok(h, tok, hstr(h, "[\"category.get\",\"acc\",{\"checkpoint\":"
	    "\"proc\",\"globalPosition\":%lld}]", (long long)acc_gpos[6]), 200, NULL,
	    "checkpoint with a globalPosition");
	is_str(gpos_list(r), want_list(acc_gpos[6] - 1, -1),
	    "... the globalPosition wins");
	r = rpc_ok(h, tok, "[\"category.get\",\"\",{\"checkpoint\":\"proc\"}]", 200,
	    NULL, "the whole namespace with checkpoint proc");
	ok(jpath_len(r, "") > 0 && jpath_int(r, "0.4") == acc_gpos[3],
	    "... starts after it too");

	/* A consumer group reads its member's checkpoint. */
	r = rpc_ok(h, tok, "[\"category.get\",\"acc\",{\"checkpoint\":\"proc\","
	    "\"consumerGroup\":{\"member\":1,\"size\":2}}]", 200, NULL,
	    "member 1 of 2 with no checkpoint of its own");
	is_str(gpos_list(r), want_list(0, 1),
	    "... reads its member's share from the beginning");
	rpc_ok(h, tok, hstr(h, "[\"checkpoint.commit\",\"proc\",%lld,"
	    "{\"member\":1,\"size\":2}]", (long long)acc_gpos[3]), 200, NULL,
	    "commit proc member 1 of 2 at the fourth message");
	r = rpc_ok(h, tok, "[\"category.get\",\"acc\",{\"checkpoint\":\"proc\","
	    "\"consumerGroup\":{\"member\":1,\"size\":2}}]", 200, NULL,
	    "member 1 of 2 with its checkpoint");
	is_str(gpos_list(r), want_list(acc_gpos[3], 1),
	    "... its share after its checkpoint");
	r = rpc_ok(h, tok, "[\"category.get\",\"acc\",{\"checkpoint\":\"proc\","
	    "\"consumerGroup\":{\"member\":0,\"size\":2}}]", 200, NULL,
	    "member 0 of 2");
	is_str(gpos_list(r), want_list(0, 0),
	    "... not member 1's checkpoint, nor the group-less one");
}

/* ---- /subscribe ------------------------------------------------------ */

struct sse_capture {
	char buf[8192];
	size_t len;
	int want;			/* pokes to wait for */
};

static int
sse_ids(const char *text, int64_t *ids, int max)
{
	const char *p = text;
	int n = 0;

	while ((p = strstr(p, "\nid: ")) != NULL && n < max) {
		p += 5;
		ids[n++] = strtoll(p, NULL, 10);
	}
	return n;
}

static size_t
sse_collect(char *data, size_t size, size_t n, void *arg)
{
	struct sse_capture *c = arg;
	size_t len = size * n, room = sizeof(c->buf) - 1 - c->len;
	int64_t ids[64];

	if (len > room)
		len = room;
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	c->buf[c->len] = '\0';
	/* Stop once the pokes wanted are in. */
	return sse_ids(c->buf, ids, 64) >= c->want ? 0 : size * n;
}

/* The ids of the first `want` pokes of /subscribe?query, as "1,2,3". */
static const char *
sse_first(const char *query, int want)
{
	struct sse_capture cap;
	int64_t ids[64];
	char list[512] = "";
	size_t off = 0;
	CURL *c = curl_easy_init();
	int i, n;

	memset(&cap, 0, sizeof(cap));
	cap.want = want;
	curl_easy_setopt(c, CURLOPT_URL, hstr(h, "%s/subscribe?%s&token=%s",
	    harness_url(h), query, tok));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &cap);
	/* Only a bound in case pokes never come; they come at once. */
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	/* ": ready" comes first; ids then follow it. */
	n = sse_ids(cap.buf, ids, 64);
	for (i = 0; i < n && i < want; i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%lld",
		    i > 0 ? "," : "", (long long)ids[i]);
	if (strncmp(cap.buf, ": ready", 7) != 0)
		tap_diag("subscribe?%s: %.200s", query, cap.buf);
	return hstr(h, "%s", list);
}

/* How many of want_list's entries there are. */
static int
count_list(const char *list)
{
	int n = list[0] != '\0';

	for (; *list != '\0'; list++)
		n += *list == ',';
	return n;
}

static void
test_subscribe(void)
{
	const char *want;
	struct http_resp r;

	want = want_list(acc_gpos[2], -1);
	is_str(sse_first("category=acc&checkpoint=proc", count_list(want)), want,
	    "/subscribe?category=acc&checkpoint=proc starts after the checkpoint");
	want = want_list(acc_gpos[3], 1);
	is_str(sse_first("category=acc&checkpoint=proc&consumer=1&size=2",
	    count_list(want)), want,
	    "... with consumer=1&size=2: after that member's checkpoint");
	want = want_list(0, 0);
	is_str(sse_first("category=acc&checkpoint=proc&consumer=0&size=2",
	    count_list(want)), want,
	    "... with consumer=0&size=2 (no checkpoint): from the beginning");
	want = want_list(acc_gpos[0] - 1, -1);
	is_str(sse_first(hstr(h, "category=acc&checkpoint=proc&position=%lld",
	    (long long)acc_gpos[0]), count_list(want)), want,
	    "... with a position: the position wins");
	want = want_list(acc_gpos[2], -1);
	is_str(sse_first("all=true&checkpoint=proc", count_list(want)), want,
	    "all=true&checkpoint=proc: after the checkpoint, not from the head");
	is_str(sse_first("stream=acc-4&checkpoint=proc", 1),
	    hstr(h, "%lld", (long long)acc_gpos[3]),
	    "stream=acc-4&checkpoint=proc: the stream's messages after it");
	memset(&r, 0, sizeof(r));
	http_get(h, hstr(h, "/subscribe?category=acc&checkpoint=a%%20b&token=%s",
	    tok), NULL, &r);
	error_envelope_ok(h, &r, 400, "INVALID_REQUEST",
	    "/subscribe with a bad checkpoint name");
	is_str(jpath_str(r.json, "error.message"), "Invalid checkpoint parameter",
	    "... message");
	http_resp_free(&r);
}

/* ---- /metrics -------------------------------------------------------- */

static void
test_metrics(void)
{
	const char *hdr[] = { "Authorization: Bearer " ADM, NULL };
	struct http_resp r;
	const char *want1, *want2;
	int64_t head = acc_gpos[ACC_N - 1];

	rpc_ok(h, tok, "[\"checkpoint.commit\",\"ahead\",1000000]", 200, NULL,
	    "commit a checkpoint ahead of the head");
	memset(&r, 0, sizeof(r));
	http_get(h, "/metrics", hdr, &r);
	is_int(r.status, 200, "GET /metrics");
	want1 = hstr(h, "\nevdb_checkpoint_lag{namespace=\"ck\",consumer=\"proc\","
	    "member=\"\"} %lld\n", (long long)(head - acc_gpos[2]));
	want2 = hstr(h, "\nevdb_checkpoint_lag{namespace=\"ck\",consumer=\"proc\","
	    "member=\"1/2\"} %lld\n", (long long)(head - acc_gpos[3]));
	ok(r.body != NULL && strstr(r.body, want1) != NULL,
	    "evdb_checkpoint_lag of proc: head minus its position");
	ok(r.body != NULL && strstr(r.body, want2) != NULL,
	    "... and of its member 1 of 2");
	ok(r.body != NULL && strstr(r.body, "\nevdb_checkpoint_lag{namespace=\"ck\","
	    "consumer=\"ahead\",member=\"\"} 0\n") != NULL,
	    "a checkpoint ahead of the head shows lag 0");
	ok(r.body != NULL && strstr(r.body, "\nevdb_checkpoint_lag_truncated 0\n")
	    != NULL, "evdb_checkpoint_lag_truncated 0");
	ok(r.body != NULL && strstr(r.body, "# TYPE evdb_checkpoint_lag gauge\n")
	    != NULL, "... typed gauge");
	if (r.body != NULL && strstr(r.body, want1) == NULL)
		tap_diag("%s", strstr(r.body, "evdb_checkpoint_lag") ?
		    strstr(r.body, "evdb_checkpoint_lag") : "(no lag lines)");
	http_resp_free(&r);
}

/* ---- bounds: STORE_CONSUMER_MAX per namespace, /metrics' row bound ---- */

#define FILLERS 4
#define CKPT_MAX 10000

struct filler {
	const struct harness *h;
	const char *token;
	int first, count;		/* names f<first> .. f<first+count-1> */
	int ok;				/* 200 answers */
};

static void *
filler_main(void *arg)
{
	struct filler *f = arg;
	struct hconn *c = hconn_new(f->h);
	struct http_resp r;
	char body[96];
	int i;

	for (i = 0; c != NULL && i < f->count; i++) {
		snprintf(body, sizeof(body), "[\"checkpoint.commit\",\"f%d\",%d]",
		    f->first + i, i);
		memset(&r, 0, sizeof(r));
		hconn_rpc(c, f->token, body, &r);
		f->ok += r.status == 200;
		http_resp_free(&r);
	}
	hconn_free(c);
	return NULL;
}

static void
test_bounds(void)
{
	const char *hdr[] = { "Authorization: Bearer " ADM, NULL };
	const char *big = ns_create_ok(h, "ckbig", "namespace ckbig");
	struct filler f[FILLERS];
	pthread_t th[FILLERS];
	struct json_object *r;
	struct http_resp m;
	const char *p;
	int k, total = 0, lines = 0;

	for (k = 0; k < FILLERS; k++) {
		f[k] = (struct filler){ h, big, k * (CKPT_MAX / FILLERS),
		    CKPT_MAX / FILLERS, 0 };
		pthread_create(&th[k], NULL, filler_main, &f[k]);
	}
	for (k = 0; k < FILLERS; k++) {
		pthread_join(th[k], NULL);
		total += f[k].ok;
	}
	is_int(total, CKPT_MAX, "%d checkpoints committed in namespace ckbig",
	    CKPT_MAX);
	r = rpc_ok(h, big, "[\"checkpoint.commit\",\"onemore\",1]", 507,
	    "STORAGE_FULL", "one more is refused: the namespace holds the most");
	ok(jpath_str(r, "error.message") != NULL &&
	    strstr(jpath_str(r, "error.message"), "10000 checkpoints") != NULL,
	    "... the message says why");
	rpc_ok(h, big, "[\"checkpoint.commit\",\"f0\",7]", 200, NULL,
	    "an existing one still commits");
	r = rpc_ok(h, big, "[\"checkpoint.list\"]", 200, NULL, "list of ckbig");
	is_int(jpath_len(r, ""), CKPT_MAX, "... all %d", CKPT_MAX);

	memset(&m, 0, sizeof(m));
	http_get(h, "/metrics", hdr, &m);
	for (p = m.body; p != NULL && (p = strstr(p, "\nevdb_checkpoint_lag{")) != NULL;
	    p++)
		lines++;
	is_int(lines, 1000, "/metrics reports 1000 checkpoints at most");
	ok(m.body != NULL && strstr(m.body, "\nevdb_checkpoint_lag_truncated 1\n")
	    != NULL, "... and says it left some out");
	http_resp_free(&m);
	rpc_ok(h, ADM, "[\"ns.delete\",\"ckbig\"]", 200, NULL,
	    "ns.delete ckbig takes its checkpoints");
	memset(&m, 0, sizeof(m));
	http_get(h, "/metrics", hdr, &m);
	ok(m.body != NULL && strstr(m.body, "namespace=\"ckbig\"") == NULL &&
	    strstr(m.body, "\nevdb_checkpoint_lag_truncated 0\n") != NULL,
	    "... /metrics no longer shows them");
	http_resp_free(&m);
	big = ns_create_ok(h, "ckbig", "namespace ckbig again");
	r = rpc_ok(h, big, "[\"checkpoint.list\"]", 200, NULL,
	    "list of the new ckbig");
	is_int(jpath_len(r, ""), 0, "... empty: a new namespace has none");
}

/* ---- commits while messages are written ------------------------------ */

#define MIXERS 6
#define MIX_N 200

struct mixer {
	const struct harness *h;
	int id;				/* even: writes messages; odd: commits */
	int ok;				/* 200 answers */
};

static void *
mixer_main(void *arg)
{
	struct mixer *w = arg;
	struct hconn *c = hconn_new(w->h);
	struct http_resp r;
	char body[128];
	int i;

	for (i = 0; c != NULL && i < MIX_N; i++) {
		if (w->id % 2 == 0)
			snprintf(body, sizeof(body), "[\"stream.write\",\"mix-%d\","
			    "{\"type\":\"T\",\"data\":{\"i\":%d}}]", w->id, i);
		else
			snprintf(body, sizeof(body), "[\"checkpoint.commit\",\"mix%d\","
			    "%d,{\"expectedPosition\":%d}]", w->id, i, i - 1);
		memset(&r, 0, sizeof(r));
		hconn_rpc(c, tok, body, &r);
		w->ok += r.status == 200;
		if (r.status != 200 && w->ok + 3 > i)
			tap_diag("mixer %d: %ld %s", w->id, r.status, r.body);
		http_resp_free(&r);
	}
	hconn_free(c);
	return NULL;
}

/*
 * Checkpoint commits take the namespace file's write lock on SQLite, as
 * the group commit of messages does: neither may fail while the other runs.
 */
static void
test_mixed(void)
{
	struct mixer w[MIXERS];
	pthread_t th[MIXERS];
	int k, writes = 0, commits = 0;
	struct json_object *r;

	for (k = 0; k < MIXERS; k++) {
		w[k] = (struct mixer){ h, k, 0 };
		pthread_create(&th[k], NULL, mixer_main, &w[k]);
	}
	for (k = 0; k < MIXERS; k++) {
		pthread_join(th[k], NULL);
		if (k % 2 == 0)
			writes += w[k].ok;
		else
			commits += w[k].ok;
	}
	is_int(writes, MIX_N * MIXERS / 2, "%d writes beside checkpoint commits:"
	    " all answered 200", MIX_N * MIXERS / 2);
	is_int(commits, MIX_N * MIXERS / 2, "%d chained conditional commits beside"
	    " them: all answered 200", MIX_N * MIXERS / 2);
	r = rpc_ok(h, tok, "[\"checkpoint.get\",\"mix1\"]", 200, NULL,
	    "get mix1");
	is_int(jpath_int(r, "position"), MIX_N - 1, "... at its last commit");
	for (k = 1; k < MIXERS; k += 2)
		rpc_call(h, tok, hstr(h, "[\"checkpoint.delete\",\"mix%d\"]", k),
		    NULL);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	h = harness_start();
	tap_diag("backend: %s", harness_backend(h));
	tok = ns_create_ok(h, "ck", "namespace ck");
	if (tok == NULL)
		tap_bail("cannot create namespace ck");
	test_basics();
	test_isolation();
	test_errors();
	test_race();
	test_mixed();
	test_category();
	test_subscribe();
	test_metrics();
	test_bounds();
	tap_plan(tap_run);
	harness_stop(h);
	return tap_done();
}
