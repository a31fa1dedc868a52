/*
 * tests/sqlitetest.h - what the SQLite plan tests (sqlite_read_t,
 * sqlite_group_index_t) share: a message written through the store, the
 * file of a namespace (for a connection of their own), and the streams of
 * a category for consumer groups.  Header-only,
 * for single-threaded main()s; include "tap.h" first.
 */
#ifndef EVDB_TESTS_SQLITETEST_H
#define EVDB_TESTS_SQLITETEST_H

#include <glob.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

/* Writes one message of type, data {}, metadata meta (NULL: none). */
static void
sqlitetest_write(struct store_conn *c, const char *ns, const char *stream,
    const char *type, const char *meta)
{
	struct store_message_in in;
	struct store_write_result r;

	memset(&in, 0, sizeof(in));
	in.stream = stream;
	in.stream_len = strlen(stream);
	in.type = type;
	in.type_len = strlen(type);
	in.data = "{}";
	in.data_len = 2;
	in.metadata = meta;
	in.metadata_len = meta != NULL ? strlen(meta) : 0;
	if (store_write(c, ns, &in, &r) != EVDB_OK)
		tap_bail("write: %s", store_conn_errmsg(c));
}

/* The file of namespace ns in the store of dir (a static buffer). */
static const char *
sqlitetest_ns_file(const char *dir, const char *ns)
{
	static char path[1024];
	char pat[1024];
	glob_t g;

	snprintf(pat, sizeof(pat), "%s/ns/%s.*.db", dir, ns);
	if (glob(pat, 0, NULL, &g) != 0 || g.gl_pathc != 1)
		tap_bail("no single namespace file for %s", pat);
	snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
	globfree(&g);
	return path;
}

/*
 * The i-th stream of a consumer-group test's category "grp": one in ten
 * without a cardinal id, with an empty one, or with '+' ("grp", "grp-",
 * "grp-+x", "grp-a+b", "grp-a+c"), the others over 37 ids.
 */
static void
sqlitetest_group_stream(char *out, size_t size, int i)
{
	static const char *const odd[] = { "grp", "grp-", "grp-+x", "grp-a+b",
	    "grp-a+c" };

	if (i % 10 == 0)
		snprintf(out, size, "%s", odd[(i / 10) % 5]);
	else
		snprintf(out, size, "grp-k%d", i % 37);
}

#endif
