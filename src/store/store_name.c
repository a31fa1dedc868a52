/*
 * store_name.c - the rule for namespace names, the same on every backend.
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
