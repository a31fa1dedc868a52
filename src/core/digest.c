/*
 * digest.c - SHA-256 and MD5 through algorithms fetched once (digest.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "core/digest.h"

static pthread_once_t digest_once = PTHREAD_ONCE_INIT;
static EVP_MD *digest_sha256_md;	/* fetched once, never freed */
static EVP_MD *digest_md5_md;		/* fetched once, never freed */

static void
digest_fetch(void)
{
	digest_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	digest_md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
}

static void
digest_run(EVP_MD *md, const char *name, const void *data, size_t len,
    unsigned char *out, unsigned int want)
{
	unsigned int got = 0;

	if (md == NULL || EVP_Digest(data, len, out, &got, md, NULL) != 1 ||
	    got != want) {
		fprintf(stderr, "evdb: fatal: %s unavailable in libcrypto\n", name);
		abort();
	}
}

void
digest_sha256(const void *data, size_t len, unsigned char out[32])
{
	pthread_once(&digest_once, digest_fetch);
	digest_run(digest_sha256_md, "SHA-256", data, len, out, 32);
}

void
digest_md5(const void *data, size_t len, unsigned char out[16])
{
	pthread_once(&digest_once, digest_fetch);
	digest_run(digest_md5_md, "MD5", data, len, out, 16);
}
