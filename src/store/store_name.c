/*
 * store_name.c - the rules for namespace and checkpoint names, and the
 * numbering and names of the consumer-group indexes (--group-indexes),
 * the same on every backend.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/store_backend.h"

bool
store_ns_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > TOKEN_NS_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || (ch != '-' && ch != '_')))
			return false;
	}
	return true;
}

bool
store_consumer_name_valid(const char *name, size_t len)
{
	size_t i;

	if (name == NULL || len == 0 || len > STORE_CONSUMER_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == ':' || ch == '.' ||
		    ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

int
store_group_slot(const int *sizes, int count, int64_t n, int64_t m)
{
	int i, slot = 0;

	for (i = 0; i < count; i++) {
		if (sizes[i] == n)
			return m >= 0 && m < n ? slot + (int)m : -1;
		slot += sizes[i];
	}
	return -1;
}

bool
store_group_index_declared(const int *sizes, int count, const char *prefix,
    const char *name)
{
	size_t plen = strlen(prefix);
	char again[64];
	int n, m;

	if (strncmp(name, prefix, plen) != 0 ||
	    sscanf(name + plen, "%d_%d", &n, &m) != 2 ||
	    store_group_slot(sizes, count, n, m) < 0)
		return false;
	/* Only the name the backend writes: not "4_01", "4_1x". */
	snprintf(again, sizeof(again), "%s%d_%d", prefix, n, m);
	return strcmp(again, name) == 0;
}
