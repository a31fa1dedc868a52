/*
 * store_name.c - the rules for namespace and checkpoint names, the same on
 * every backend.
 */
#include "config.h"

#include <string.h>

#include "store/store.h"

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
