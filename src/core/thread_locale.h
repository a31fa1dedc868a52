/*
 * thread_locale.h - the calling thread's locale, set once to the C locale
 * object so that json-c's per-parse locale switch costs no allocation.
 *
 * json-c 0.16 makes every json_tokener_parse_ex() call parse numbers under
 * the "C" locale: it duplicates the thread's locale (duplocale), derives a
 * "C" one from the copy (newlocale), switches to it, and frees it at the
 * end.  Under the process's global locale that is two heap allocations and
 * two frees per request body and per import line.  glibc hands out one
 * static object for the "C" locale and returns it again, without
 * allocating, from duplocale() and from newlocale(..., "C", it); a thread
 * that already uses it pays nothing.
 *
 * evdb never calls setlocale(), so its global locale is "C" already and the
 * switch changes no behaviour: only the cost of json-c's dance.
 */
#ifndef EVDB_THREAD_LOCALE_H
#define EVDB_THREAD_LOCALE_H

#include <stdbool.h>

/**
 * Makes the calling thread use glibc's C locale object (uselocale).  Call
 * once at the start of each thread that parses JSON with json-c.  False
 * when the C locale could not be made (the thread then keeps its locale,
 * which is correct, only slower).
 */
bool thread_locale_use_c(void);

#endif /* EVDB_THREAD_LOCALE_H */
