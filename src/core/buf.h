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
/** Ensures room for extra more bytes (plus the NUL); aborts on overflow/OOM. */
void buf_reserve(struct buf *b, size_t extra);
/** Appends n bytes of p. */
void buf_append(struct buf *b, const void *p, size_t n);
/** Appends the C string s. */
void buf_puts(struct buf *b, const char *s);
/** Appends one byte. */
void buf_putc(struct buf *b, char c);
/** Appends printf-formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** Appends vprintf-formatted text. */
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/** Returns the contents as a C string ("" when empty); valid until the next append. */
const char *buf_cstr(struct buf *b);

#endif /* EVDB_BUF_H */
