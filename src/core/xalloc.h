/*
 * xalloc.h - the out-of-memory policy.
 *
 * evdb treats allocation failure as fatal: a worker that cannot allocate
 * a few kilobytes cannot answer anything sensibly, and SQLite keeps the data
 * safe across the restart.  These wrappers log to stderr and abort(), so
 * callers never test their results.  Size arithmetic that can overflow goes
 * through xmul/xadd, which abort on overflow instead of wrapping.
 */
#ifndef EVDB_XALLOC_H
#define EVDB_XALLOC_H

#include <stddef.h>

/** malloc(n); never returns NULL (n == 0 yields a unique pointer). */
void *xmalloc(size_t n);
/** calloc(count, size) with overflow check; never returns NULL. */
void *xcalloc(size_t count, size_t size);
/** realloc(p, n); never returns NULL. */
void *xrealloc(void *p, size_t n);
/** strdup(s); never returns NULL. */
char *xstrdup(const char *s);
/** Copies n bytes of s and NUL-terminates; never returns NULL. */
char *xstrndup(const char *s, size_t n);
/** a + b, aborting on overflow. */
size_t xadd(size_t a, size_t b);
/** a * b, aborting on overflow. */
size_t xmul(size_t a, size_t b);

#endif /* EVDB_XALLOC_H */
