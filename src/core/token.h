/*
 * token.h - namespace bearer tokens: format, parsing, generation, hashing.
 *
 * A token is "ns_" + base64url(namespace, unpadded) + "_" + 64 hex digits.
 * Only SHA-256(token) as lowercase hex is ever stored; tokens are compared
 * through their hashes in constant time.  Parse errors carry the reference
 * server's exact wording (reference-behaviour.md section 6), e.g.
 * "invalid token format: missing 'ns_' prefix".
 * All functions are thread-safe.
 */
#ifndef EVDB_TOKEN_H
#define EVDB_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

/** Longest namespace name evdb accepts, in bytes. */
#define TOKEN_NS_MAX 64
/** Length of a SHA-256 hex digest, without the NUL. */
#define TOKEN_HASH_HEX_LEN 64
/** Room for the longest token evdb generates, with the NUL. */
#define TOKEN_MAX_LEN (3 + ((TOKEN_NS_MAX + 2) / 3) * 4 + 1 + 64 + 1)

/**
 * Parses token[0..len) and copies its namespace, NUL-terminated, into
 * ns[0..ns_size).  On failure returns EVDB_ERR_INVALID and writes the
 * reference's message into err[0..err_size) (always NUL-terminated).
 * A namespace that does not fit in ns_size - 1 bytes, or contains NUL,
 * is invalid too.
 */
enum evdb_status token_parse(const char *token, size_t len, char *ns,
    size_t ns_size, char *err, size_t err_size);

/**
 * Generates a fresh token for namespace ns from 32 bytes of RAND_bytes()
 * (lowercase hex) into out[0..out_size).  Returns EVDB_ERR_INVALID when ns
 * is empty or longer than TOKEN_NS_MAX, EVDB_ERR_NOMEM when out_size is too
 * small, EVDB_ERR_IO when the random generator fails.
 */
enum evdb_status token_generate(const char *ns, char *out, size_t out_size);

/** Fewest distinct hex digits a supplied secret may have (of 16). */
#define TOKEN_SECRET_MIN_DIGITS 8
/** Shortest run of one repeated hex digit that makes a secret weak. */
#define TOKEN_SECRET_MAX_RUN 16
/** Fewest distinct pairs of adjacent hex digits a secret may have (of 63). */
#define TOKEN_SECRET_MIN_PAIRS 24

/**
 * Checks that the 64-digit secret of token[0..len), a token that
 * token_parse() accepted, is not guessable, for tokens that a client
 * chooses (ns.create's options.token).  Digits are compared without case.
 * A secret is weak when it has fewer than TOKEN_SECRET_MIN_DIGITS distinct
 * digits, or a run of TOKEN_SECRET_MAX_RUN equal digits, or fewer than
 * TOKEN_SECRET_MIN_PAIRS distinct pairs of adjacent digits (which catches
 * repeated patterns such as "0123456789abcdef" x 4).  A secret of 32
 * random bytes fails with a probability below 1e-15 (docs/security.md).
 * Returns EVDB_OK, or EVDB_ERR_INVALID with the rule it breaks written
 * into err[0..err_size) (always NUL-terminated).
 */
enum evdb_status token_check_secret(const char *token, size_t len, char *err,
    size_t err_size);

/** Writes SHA-256(token) as 64 lowercase hex digits plus NUL into hex. */
void token_hash(const char *token, size_t len,
    char hex[TOKEN_HASH_HEX_LEN + 1]);

/** Constant-time equality of two 64-digit hex hashes. */
bool token_hash_equal(const char *a, const char *b);

#endif /* EVDB_TOKEN_H */
