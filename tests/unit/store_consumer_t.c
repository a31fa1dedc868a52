/*
 * store_consumer_t.c - store.h's consumer checkpoints, called directly, on
 * both backends: a SQLite store in a temporary directory, then a
 * PostgreSQL store on a database of its own in the cluster of
 * EVDB_E2E_PGDIR (or a private one, tests/pgtest.h).  The same contract
 * runs on each: the name rule, commits and their refusals (with the
 * stored position and which refusal), keys by member and size, listing
 * order and limit, deletion, unknown namespaces, the exact updatedAt, the
 * namespace names listing, and that both ways of clearing a namespace for
 * an import clear its checkpoints too.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../pgtest.h"
#include "store/store.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* What the callbacks saw. */
struct seen {
	int n;				/* calls */
	char names[8][64];		/* "name/member/size@position" of each */
	int64_t updated_us;		/* of the last one */
};

static enum evdb_status
seen_add(void *ctx, const struct store_consumer_checkpoint *cp)
{
	struct seen *s = ctx;

	if (s->n < 8)
		snprintf(s->names[s->n], sizeof(s->names[0]), "%.*s/%lld/%lld@%lld",
		    (int)cp->name_len, cp->name, (long long)cp->member,
		    (long long)cp->size, (long long)cp->position);
	s->n++;
	s->updated_us = cp->updated_us;
	return EVDB_OK;
}

static enum evdb_status
names_add(void *ctx, const char *ns)
{
	struct seen *s = ctx;

	if (s->n < 8)
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", ns);
	s->n++;
	return EVDB_OK;
}

static struct store_consumer_commit
commit_of(const char *name, int64_t member, int64_t size, int64_t pos)
{
	struct store_consumer_commit in;

	memset(&in, 0, sizeof(in));
	in.key.name = name;
	in.key.name_len = strlen(name);
	in.key.member = member;
	in.key.size = size;
	in.position = pos;
	in.updated_us = 1700000000123456 + pos;
	return in;
}

/* The stored position of (name, member, size), or -1; -2 on failure. */
static int64_t
stored(struct store_conn *c, const char *ns, const char *name, int64_t member,
    int64_t size)
{
	struct store_consumer_key k = { name, strlen(name), member, size };
	struct seen s;
	int64_t pos = -1;

	memset(&s, 0, sizeof(s));
	if (store_consumer_get(c, ns, &k, seen_add, &s) != EVDB_OK || s.n > 1)
		return -2;
	if (s.n == 1)
		pos = strtoll(strrchr(s.names[0], '@') + 1, NULL, 10);
	return pos;
}

static void
contract(struct store *st, const char *b)
{
	struct store_conn *c = NULL;
	struct store_consumer_commit in;
	struct store_consumer_key k;
	struct store_import_outcome io;
	struct seen s;
	int64_t actual, deleted;
	bool backwards;
	enum evdb_status rs;

	ok(store_conn_open(st, &c) == EVDB_OK, "%s: conn_open", b);
	if (c == NULL)
		tap_bail("%s: no connection", b);
	ok(store_ns_create(c, "cc", HASH_A, NULL, NULL, 1) == EVDB_OK,
	    "%s: ns_create cc", b);

	in = commit_of("w", 0, 0, 10);
	rs = store_consumer_commit(c, "cc", &in, &actual, &backwards);
	ok(rs == EVDB_OK && actual == -1 && !backwards,
	    "%s: a first commit: OK, nothing stored before (-1)", b);
	memset(&s, 0, sizeof(s));
	k = in.key;
	ok(store_consumer_get(c, "cc", &k, seen_add, &s) == EVDB_OK && s.n == 1 &&
	    strcmp(s.names[0], "w/0/0@10") == 0 && s.updated_us == in.updated_us,
	    "%s: get reads it back, updated_us exact", b);

	in = commit_of("w", 0, 0, 9);
	rs = store_consumer_commit(c, "cc", &in, &actual, &backwards);
	ok(rs == EVDB_ERR_VERSION_CONFLICT && actual == 10 && backwards,
	    "%s: backwards: VERSION_CONFLICT, actual 10, backwards", b);
	is_int(stored(c, "cc", "w", 0, 0), 10, "%s: ... nothing written", b);
	in.force = true;
	ok(store_consumer_commit(c, "cc", &in, &actual, &backwards) == EVDB_OK &&
	    actual == 10, "%s: with force: OK", b);
	in = commit_of("w", 0, 0, 20);
	in.has_expected = true;
	in.expected = 10;
	rs = store_consumer_commit(c, "cc", &in, &actual, &backwards);
	ok(rs == EVDB_ERR_VERSION_CONFLICT && actual == 9 && !backwards,
	    "%s: expected 10, stored 9: VERSION_CONFLICT, not backwards", b);
	in.expected = 9;
	ok(store_consumer_commit(c, "cc", &in, &actual, &backwards) == EVDB_OK,
	    "%s: expected 9: OK", b);
	in = commit_of("fresh", 0, 0, 1);
	in.has_expected = true;
	in.expected = -1;
	ok(store_consumer_commit(c, "cc", &in, &actual, &backwards) == EVDB_OK,
	    "%s: expected -1 on a missing checkpoint: OK", b);
	ok(store_consumer_commit(c, "cc", &in, &actual, &backwards) ==
	    EVDB_ERR_VERSION_CONFLICT && actual == 1,
	    "%s: expected -1 again: VERSION_CONFLICT, actual 1", b);

	/* Keys by member and size; size 0 ignores member. */
	in = commit_of("g", 1, 2, 5);
	ok(store_consumer_commit(c, "cc", &in, &actual, &backwards) == EVDB_OK,
	    "%s: g member 1 of 2", b);
	in = commit_of("g", 0, 2, 3);
	ok(store_consumer_commit(c, "cc", &in, &actual, &backwards) == EVDB_OK &&
	    actual == -1, "%s: g member 0 of 2 is another checkpoint", b);
	is_int(stored(c, "cc", "g", 7, 0), -1, "%s: g without a group: none", b);
	in = commit_of("g", 7, 0, 4);
	ok(store_consumer_commit(c, "cc", &in, &actual, &backwards) == EVDB_OK,
	    "%s: g without a group (member 7 ignored)", b);
	is_int(stored(c, "cc", "g", 0, 0), 4, "%s: ... stored as member 0", b);

	memset(&s, 0, sizeof(s));
	ok(store_consumer_list(c, "cc", -1, seen_add, &s) == EVDB_OK && s.n == 5,
	    "%s: list: 5 checkpoints", b);
	ok(s.n == 5 && strcmp(s.names[0], "fresh/0/0@1") == 0 &&
	    strcmp(s.names[1], "g/0/0@4") == 0 && strcmp(s.names[2], "g/0/2@3") == 0 &&
	    strcmp(s.names[3], "g/1/2@5") == 0 && strcmp(s.names[4], "w/0/0@20") == 0,
	    "%s: ... by name, size, member", b);
	memset(&s, 0, sizeof(s));
	ok(store_consumer_list(c, "cc", 2, seen_add, &s) == EVDB_OK && s.n == 2,
	    "%s: list with limit 2: 2", b);
	ok(store_consumer_delete(c, "cc", "g", 1, &deleted) == EVDB_OK &&
	    deleted == 3, "%s: delete g: 3 rows", b);
	ok(store_consumer_delete(c, "cc", "g", 1, &deleted) == EVDB_OK &&
	    deleted == 0, "%s: delete g again: 0", b);

	/* Unknown namespaces. */
	in = commit_of("w", 0, 0, 1);
	ok(store_consumer_commit(c, "nope", &in, &actual, &backwards) ==
	    EVDB_ERR_NOT_FOUND, "%s: commit in an unknown namespace: NOT_FOUND", b);
	ok(store_consumer_get(c, "nope", &in.key, seen_add, &s) == EVDB_ERR_NOT_FOUND,
	    "%s: get: NOT_FOUND", b);
	ok(store_consumer_list(c, "nope", -1, seen_add, &s) == EVDB_ERR_NOT_FOUND,
	    "%s: list: NOT_FOUND", b);
	ok(store_consumer_delete(c, "nope", "w", 1, &deleted) == EVDB_ERR_NOT_FOUND,
	    "%s: delete: NOT_FOUND", b);

	memset(&s, 0, sizeof(s));
	ok(store_consumer_namespaces(c, names_add, &s) == EVDB_OK && s.n >= 1,
	    "%s: namespaces listed", b);
	ok(s.n >= 1 && (strcmp(s.names[0], "cc") == 0 || strcmp(s.names[1], "cc") == 0),
	    "%s: ... cc among them, newest first", b);

	/* Both ways of clearing a namespace for an import clear checkpoints. */
	ok(store_import_batch(c, "cc", NULL, 0, true, &io) == EVDB_OK,
	    "%s: import_batch with clear and no record", b);
	memset(&s, 0, sizeof(s));
	ok(store_consumer_list(c, "cc", -1, seen_add, &s) == EVDB_OK && s.n == 0,
	    "%s: ... no checkpoint left", b);
	in = commit_of("w", 0, 0, 1);
	(void)store_consumer_commit(c, "cc", &in, &actual, &backwards);
	ok(store_import_clear(c, "cc") == EVDB_OK, "%s: import_clear", b);
	is_int(stored(c, "cc", "w", 0, 0), -1, "%s: ... no checkpoint left", b);
	ok(store_ns_delete(c, "cc", &deleted) == EVDB_OK, "%s: ns_delete cc", b);
	store_conn_close(c);
}

int
main(void)
{
	char dir[] = "/tmp/evdb-consumer-t-XXXXXX", cmd[4200], conninfo[4200];
	struct store_options opt;
	struct store *st = NULL;
	const char *pg, *src = getenv("EVDB_SRCDIR");
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ok(store_consumer_name_valid("a", 1), "name: one letter");
	ok(store_consumer_name_valid("A-z_0.9:x", 9), "name: every kind of byte");
	ok(!store_consumer_name_valid("", 0), "name: empty refused");
	ok(!store_consumer_name_valid("a b", 3), "name: a space refused");
	ok(!store_consumer_name_valid("a\0b", 3), "name: NUL refused");
	ok(!store_consumer_name_valid("\xc3\xa9", 2), "name: UTF-8 refused");
	ok(!store_consumer_name_valid("a\"", 2), "name: a quote refused");
	{
		char n[202];

		memset(n, 'x', sizeof(n));
		ok(store_consumer_name_valid(n, 200), "name: 200 bytes");
		ok(!store_consumer_name_valid(n, 201), "name: 201 bytes refused");
	}

	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	memset(&opt, 0, sizeof(opt));
	opt.data_dir = dir;
	opt.durability = DURABILITY_NORMAL;
	opt.busy_timeout_ms = 5000;
	ok(store_open(&opt, &st) == EVDB_OK, "sqlite: store_open");
	if (st == NULL)
		tap_bail("no sqlite store");
	contract(st, "sqlite");
	store_close(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);

	pg = pgtest_cluster("consumer");
	snprintf(cmd, sizeof(cmd), "%s/deploy/pg-cluster createdb '%s'"
	    " store_consumer_%ld >/dev/null", src != NULL && *src != '\0' ? src : ".",
	    pg, (long)getpid());
	if ((rc = system(cmd)) != 0)
		tap_bail("%s: exit %d", cmd, rc);
	snprintf(conninfo, sizeof(conninfo), "host=%s user=evdb"
	    " dbname=store_consumer_%ld", pg, (long)getpid());
	opt.location = conninfo;
	opt.data_dir = "/nonexistent";
	ok(store_open(&opt, &st) == EVDB_OK, "postgres: store_open");
	if (st == NULL)
		tap_bail("no postgres store");
	contract(st, "postgres");
	store_close(st);
	tap_plan(tap_run);
	return tap_done();
}
