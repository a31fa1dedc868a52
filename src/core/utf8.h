/*
 * utf8.h - strict UTF-8 validation (RFC 3629).
 *
 * json-c's own check lets overlong forms, UTF-16 surrogates and code points
 * above U+10FFFF through, so every body is checked here before it is parsed.
 */
#ifndef EVDB_UTF8_H
#define EVDB_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/**
 * True when s[0..len) is well-formed UTF-8: shortest forms only, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF.  NUL bytes are
 * well-formed.  When false and bad is not NULL, *bad is the offset of the
 * first byte of the offending sequence.
 */
bool utf8_valid(const char *s, size_t len, size_t *bad);

#endif /* EVDB_UTF8_H */
