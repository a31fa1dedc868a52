/*
 * digest.h - the two message digests evdb uses, with libcrypto's
 * implementations fetched once per process.
 *
 * EVP_sha256() and EVP_md5() make OpenSSL 3 look the implementation up
 * again on every EVP_Digest() call; on the request path (every token check,
 * every consumer-group hash) that lookup cost more than the hashing.  These
 * wrappers fetch each algorithm once and reuse it.  Thread-safe.  A libcrypto
 * failure (out of memory, MD5 disabled by a FIPS-only configuration) is
 * fatal, like an allocation failure (xalloc.h).
 */
#ifndef EVDB_DIGEST_H
#define EVDB_DIGEST_H

#include <stddef.h>

/** Writes SHA-256(data) (32 bytes) into out. */
void digest_sha256(const void *data, size_t len, unsigned char out[32]);

/** Writes MD5(data) (16 bytes) into out. */
void digest_md5(const void *data, size_t len, unsigned char out[16]);

#endif /* EVDB_DIGEST_H */
