/*
 * tests/unit/buf_t.c - unit tests of src/core/buf.c.
 *
 * Checks the buffer's invariants (data[len] == 0 once anything was
 * appended, cap > len), growth across many doublings, the two paths of
 * buf_vprintf (fits at once / needs a second pass), reuse by buf_reset,
 * the keep rule of buf_trim, and that an impossible reservation aborts
 * (in a child process) instead of wrapping around.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "../tap.h"

/* True when the invariants of a non-empty buf hold. */
static int
sane(const struct buf *b)
{
	return b->data != NULL && b->cap > b->len && b->data[b->len] == '\0';
}

static void
reserve_huge(void)
{
	struct buf b;

	buf_init(&b);
	buf_putc(&b, 'x');
	buf_reserve(&b, SIZE_MAX);
}

static void
basics_ok(void)
{
	struct buf b;

	buf_init(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0,
	    "buf_init allocates nothing");
	is_str(buf_cstr(&b), "", "an untouched buf reads as \"\"");
	buf_append(&b, "abc", 3);
	ok(sane(&b) && b.len == 3, "append 3 bytes");
	buf_puts(&b, "def");
	buf_putc(&b, 'g');
	is_str(buf_cstr(&b), "abcdefg", "append, puts, putc in order");
	buf_append(&b, "\0z", 2);
	ok(sane(&b) && b.len == 9 && memcmp(b.data, "abcdefg\0z", 9) == 0,
	    "embedded NUL is kept and counted");
	buf_append(&b, "", 0);
	ok(sane(&b) && b.len == 9, "appending nothing changes nothing");
	buf_free(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0,
	    "buf_free re-initialises");
	buf_free(&b);
	buf_free(NULL);
	ok(1, "buf_free twice and buf_free(NULL) are harmless");

	buf_init(&b);
	buf_append(&b, "", 0);
	ok(sane(&b) && b.len == 0 && strcmp(buf_cstr(&b), "") == 0,
	    "an empty append still gives a terminated buffer");
	buf_free(&b);
}

static void
growth_ok(void)
{
	struct buf b;
	size_t i, n = 1 << 20;
	int good = 1;

	buf_init(&b);
	for (i = 0; i < n; i++)
		buf_putc(&b, (char)('a' + i % 26));
	ok(sane(&b) && b.len == n, "1 MiB appended one byte at a time");
	for (i = 0; i < n; i++)
		if (b.data[i] != (char)('a' + i % 26)) {
			good = 0;
			break;
		}
	ok(good, "and every byte is where it belongs");
	buf_free(&b);

	buf_init(&b);
	buf_reserve(&b, 1000);
	ok(b.cap >= 1001 && b.len == 0, "reserve 1000 gives room for 1000 + NUL");
	buf_free(&b);
}

static void
printf_ok(void)
{
	struct buf b;
	char big[3000];

	buf_init(&b);
	buf_printf(&b, "%d-%s", 42, "x");
	is_str(buf_cstr(&b), "42-x", "short printf");
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_printf(&b, "[%s]", big);
	ok(sane(&b) && b.len == 4 + 2 + sizeof(big) - 1 &&
	    b.data[4] == '[' && b.data[5] == 'q' && b.data[b.len - 1] == ']' &&
	    b.data[b.len - 2] == 'q', "long printf takes the second pass");
	buf_reset(&b);
	buf_printf(&b, "%s", "");
	ok(b.len == 0 && strcmp(buf_cstr(&b), "") == 0, "empty printf");
	buf_free(&b);
}

static void
reuse_ok(void)
{
	struct buf b;
	char *data;
	size_t cap;

	buf_init(&b);
	buf_printf(&b, "%0500d", 7);
	data = b.data;
	cap = b.cap;
	buf_reset(&b);
	ok(b.len == 0 && b.data == data && b.cap == cap && b.data[0] == '\0',
	    "reset keeps the storage and empties it");
	buf_puts(&b, "again");
	ok(b.data == data && strcmp(b.data, "again") == 0,
	    "and it is reused without a new allocation");
	buf_trim(&b, cap);
	ok(b.data == data && b.len == 0, "trim at cap keeps the storage");
	buf_puts(&b, "x");
	buf_trim(&b, cap - 1);
	ok(b.data == NULL && b.cap == 0 && b.len == 0,
	    "trim below cap frees it");
	buf_puts(&b, "after trim");
	is_str(buf_cstr(&b), "after trim", "the buf is usable after trim");
	buf_free(&b);
	buf_init(&b);
	buf_reset(&b);
	ok(b.data == NULL && b.len == 0, "reset of an untouched buf is safe");
	buf_trim(&b, 0);
	ok(b.data == NULL, "trim of an untouched buf is safe");
}

/* buf_truncate and buf_drop_front keep the NUL invariant and the storage. */
static void
shrink_ok(void)
{
	struct buf b;
	char *data;

	buf_init(&b);
	buf_puts(&b, "0123456789");
	data = b.data;
	buf_truncate(&b, 20);
	ok(b.len == 10, "truncate past the end changes nothing");
	buf_truncate(&b, 4);
	ok(b.len == 4 && strcmp(b.data, "0123") == 0 && b.data == data,
	    "truncate keeps the first bytes, NUL-terminated, in place");
	buf_puts(&b, "abcdef");
	buf_drop_front(&b, 3);
	ok(b.len == 7 && strcmp(b.data, "3abcdef") == 0 && b.data == data,
	    "drop_front moves the rest to the front of the same storage");
	buf_drop_front(&b, 0);
	ok(b.len == 7, "dropping 0 bytes changes nothing");
	buf_drop_front(&b, 99);
	ok(b.len == 0 && b.data[0] == '\0' && b.data == data,
	    "dropping more than there is empties it and keeps the storage");
	buf_free(&b);
}

int
main(void)
{
	tap_plan(9 + 3 + 3 + 7 + 5 + 1);
	basics_ok();
	growth_ok();
	printf_ok();
	reuse_ok();
	shrink_ok();
	ok(tap_dies(reserve_huge), "buf_reserve(SIZE_MAX) aborts instead of wrapping");
	return tap_done();
}
