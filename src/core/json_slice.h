/*
 * json_slice.h - finding values inside JSON text that json-c has already
 * accepted, and copying them out as json-c would have written them,
 * without building a tree.
 *
 * stream.write stores the `data` and `metadata` a client sent.  Before,
 * evdb serialised json-c's tree of them again (JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE): one printbuf and its growth per value,
 * and most of a write's json-c instructions.  json_slice_compact() writes
 * the very same text straight from the request's bytes: white space
 * outside strings dropped, "\/" written "/", a lone "-0" written "0".
 * Where json-c's text could differ in a way the copy does not reproduce
 * (a \u escape, a raw control byte in a string, a duplicated key), it
 * says so and the caller falls back to json-c's serialisation, so that
 * what readers get stays byte for byte what they got before.
 *
 * Every function here assumes that s[0..len) is one well-formed JSON value
 * (json-c accepted the text in strict mode); on other text the results
 * are unspecified but stay inside s[0..len).  None allocates.
 */
#ifndef EVDB_JSON_SLICE_H
#define EVDB_JSON_SLICE_H

#include <stdbool.h>
#include <stddef.h>

/** A value's bytes inside a larger text (borrowed, not NUL-terminated). */
struct json_span {
	const char *p;		/* first byte of the value */
	size_t len;		/* its length, without surrounding white space */
};

/** What json_slice_member() found. */
enum json_slice_find {
	JSON_SLICE_FOUND,	/* the key is there, once: *v is its value */
	JSON_SLICE_ABSENT,	/* the key is not there */
	JSON_SLICE_UNSURE	/* a key of this object holds an escape, or
				 * the key is there twice: ask json-c */
};

/**
 * Element idx (from 0) of the array s[0..len).  False when s is not an
 * array or is shorter; *v is then untouched.
 */
bool json_slice_element(const char *s, size_t len, size_t idx,
    struct json_span *v);

/**
 * The value of key (NUL-terminated, plain: no character that JSON
 * escapes) in the object s[0..len), at its top level only.  Keys are
 * compared byte for byte, so a key spelled with an escape makes the
 * answer JSON_SLICE_UNSURE rather than a wrong ABSENT.
 */
enum json_slice_find json_slice_member(const char *s, size_t len,
    const char *key, struct json_span *v);

/**
 * json_slice_member() for n keys in one pass: found[i] and v[i] are what
 * json_slice_member(s, len, keys[i], &v[i]) would give.
 */
void json_slice_members(const char *s, size_t len, const char *const *keys,
    size_t n, struct json_span *v, enum json_slice_find *found);

/**
 * Writes s[0..len) to out as json-c writes its tree with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, provided the
 * value holds no duplicated key.  out has room for len bytes (the copy is
 * never longer); *out_len gets the bytes written and *members the number
 * of object members in the whole value, nested ones included: the caller
 * compares it with json-c's tree, where a duplicated key counts once.
 * False, with out's content unspecified, when the copy cannot match
 * json-c's text: a string holds a \u escape or a raw byte below 0x20.
 */
bool json_slice_compact(const char *s, size_t len, char *out, size_t *out_len,
    size_t *members);

#endif /* EVDB_JSON_SLICE_H */
