/*
 * thread_locale.c - see thread_locale.h.
 */
#include "config.h"

#include <locale.h>

#include "core/thread_locale.h"

bool
thread_locale_use_c(void)
{
	/* newlocale of "C" for every category from nothing returns glibc's
	 * static C locale object; nothing is allocated, nothing to free. */
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);

	if (c == (locale_t)0)
		return false;
	return uselocale(c) != (locale_t)0;
}
