/*
 * tests/unit/xalloc_t.c - unit tests of src/core/xalloc.c.
 *
 * The wrappers must return usable memory, copy exactly, and abort (never
 * return NULL or wrap around) when a size overflows or memory runs out.
 * The aborting cases run in child processes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "../tap.h"

static void add_overflow(void) { (void)xadd(SIZE_MAX, 1); }
static void mul_overflow(void) { (void)xmul(SIZE_MAX / 2 + 1, 2); }
static void calloc_overflow(void) { free(xcalloc(SIZE_MAX / 8 + 1, 16)); }
static void malloc_huge(void) { free(xmalloc(SIZE_MAX - 4096)); }
static void realloc_huge(void) { free(xrealloc(xmalloc(8), SIZE_MAX - 4096)); }
static void add_fine(void) { (void)xadd(SIZE_MAX - 1, 1); }

int
main(void)
{
	unsigned char *p, *q;
	char *s;
	size_t i;
	int zero = 1;

	tap_plan(17);

	p = xmalloc(0);
	q = xmalloc(0);
	ok(p != NULL && q != NULL && p != q, "xmalloc(0) gives unique pointers");
	free(p);
	free(q);

	p = xcalloc(1000, 4);
	for (i = 0; i < 4000; i++)
		if (p[i] != 0)
			zero = 0;
	ok(zero, "xcalloc zero-fills");
	free(p);
	p = xcalloc(0, 0);
	ok(p != NULL, "xcalloc(0, 0) is not NULL");
	free(p);

	p = xmalloc(16);
	memcpy(p, "0123456789abcdef", 16);
	p = xrealloc(p, 1 << 20);
	ok(memcmp(p, "0123456789abcdef", 16) == 0, "xrealloc keeps the contents");
	p = xrealloc(p, 0);
	ok(p != NULL, "xrealloc(p, 0) is not NULL");
	free(p);

	s = xstrdup("h\xc3\xa9llo");
	is_str(s, "h\xc3\xa9llo", "xstrdup copies");
	free(s);
	s = xstrndup("abcdef", 3);
	ok(strlen(s) == 3 && strcmp(s, "abc") == 0, "xstrndup copies n bytes "
	    "and terminates");
	free(s);
	s = xstrndup("", 0);
	is_str(s, "", "xstrndup of nothing");
	free(s);

	is_int(xadd(2, 3), 5, "xadd");
	ok(xmul(SIZE_MAX / 2, 2) == SIZE_MAX - 1, "xmul at the edge");
	is_int(xmul(0, SIZE_MAX), 0, "xmul by zero");
	ok(!tap_dies(add_fine), "xadd up to SIZE_MAX is fine");
	ok(tap_dies(add_overflow), "xadd overflow aborts");
	ok(tap_dies(mul_overflow), "xmul overflow aborts");
	ok(tap_dies(calloc_overflow), "xcalloc overflow aborts");
	ok(tap_dies(malloc_huge), "xmalloc failure aborts");
	ok(tap_dies(realloc_huge), "xrealloc failure aborts");
	return tap_done();
}
