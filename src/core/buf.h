/*
 * buf.h - a growable byte buffer, meant to be reused.
 *
 * Each worker owns a few bufs (request body, response body, scratch) and
 * calls buf_reset() between requests instead of freeing them, so the steady
 * state makes no allocations.  buf_trim() gives memory back after an unusually
 * large request.  The contents are always NUL-terminated (data[len] == 0)
 * once anything was appended, so data can be used as a C string when the
 * bytes themselves hold no NUL.  Not thread-safe: one owner at a time.
 */
#ifndef EVDB_BUF_H
#define EVDB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char *data;	/* owned storage, NULL until the first append */
	size_t len;	/* bytes in use, excluding the terminating NUL */
	size_t cap;	/* bytes allocated, including room for the NUL */
};

/** Initialises an empty buffer; allocates nothing. */
void buf_init(struct buf *b);
/** Frees the storage and re-initialises; accepts NULL. */
void buf_free(struct buf *b);
/** Empties the buffer but keeps its storage. */
void buf_reset(struct buf *b);
/** Empties the buffer and frees its storage if it is above keep bytes. */
void buf_trim(struct buf *b, size_t keep);
/** Shortens the contents to their first len bytes (no-op if len >= b->len). */
void buf_truncate(struct buf *b, size_t len);
/**
 * Removes the first n bytes (all when n >= b->len), moving the rest to the
 * front; keeps the storage.
 */
void buf_drop_front(struct buf *b, size_t n);
/**
 * Grows the storage to hold extra more bytes (plus the NUL); aborts on
 * overflow/OOM.  buf_reserve's slow path: call buf_reserve.
 */
void buf_grow(struct buf *b, size_t extra);

/*
 * The appends below are inline: a response is built from many small
 * pieces (a category.get of 100 calls them some 2,000 times), and each
 * call is otherwise a few times the cost of the copy.  They rely on
 * cap >= len + 1 once anything was allocated (cap == len == 0 before).
 */

/** Ensures room for extra more bytes (plus the NUL); aborts on overflow/OOM. */
static inline void
buf_reserve(struct buf *b, size_t extra)
{
	if (extra >= b->cap - b->len)
		buf_grow(b, extra);
}

/** Appends n bytes of p. */
static inline void
buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n != 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/** Appends the C string s. */
static inline void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/** Appends one byte. */
static inline void
buf_putc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

/** Appends printf-formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** Appends vprintf-formatted text. */
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/** Returns the contents as a C string ("" when empty); valid until the next append. */
const char *buf_cstr(struct buf *b);

#endif /* EVDB_BUF_H */
