/*
 * xalloc.c - allocation wrappers that abort on failure (see xalloc.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static void
xalloc_die(const char *what, size_t n)
{
	fprintf(stderr, "evdb: fatal: %s of %zu bytes failed\n", what, n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		xalloc_die("malloc", n);
	return p;
}

void *
xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (p == NULL)
		xalloc_die("calloc", xmul(count, size));
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		xalloc_die("realloc", n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(xadd(n, 1));

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t
xadd(size_t a, size_t b)
{
	if (a > SIZE_MAX - b)
		xalloc_die("size addition", a);
	return a + b;
}

size_t
xmul(size_t a, size_t b)
{
	if (b != 0 && a > SIZE_MAX / b)
		xalloc_die("size multiplication", a);
	return a * b;
}
