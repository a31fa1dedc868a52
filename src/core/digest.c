/*
 * digest.c - SHA-256 and MD5 through algorithms fetched once (digest.h).
 *
 * EVP_Digest makes an EVP_MD_CTX and the provider's state, two
 * allocations, and frees them, on every call.  Each thread keeps one
 * context per algorithm instead (a pthread key, freed when the thread
 * exits): EVP_DigestInit_ex2 on a context last used with the same
 * algorithm reinitialises the provider's state in place.  The contexts
 * are per thread, so no lock; they hold nothing between calls but the
 * algorithm.  Callers stay free functions: the cache is invisible.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "core/digest.h"

static pthread_once_t digest_once = PTHREAD_ONCE_INIT;
static EVP_MD *digest_sha256_md;	/* fetched once, never freed */
static EVP_MD *digest_md5_md;		/* fetched once, never freed */
static pthread_key_t digest_key;	/* a thread's struct digest_ctxs */
static bool digest_have_key;		/* digest_key was created */

/* The contexts one thread reuses, made on its first digest. */
struct digest_ctxs {
	EVP_MD_CTX *sha256;		/* last used for SHA-256, or NULL */
	EVP_MD_CTX *md5;		/* last used for MD5, or NULL */
};

/* The destructor of digest_key: runs when a thread that hashed exits. */
static void
digest_ctxs_free(void *arg)
{
	struct digest_ctxs *c = arg;

	EVP_MD_CTX_free(c->sha256);
	EVP_MD_CTX_free(c->md5);
	free(c);
}

static void
digest_fetch(void)
{
	digest_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	digest_md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
	digest_have_key = pthread_key_create(&digest_key, digest_ctxs_free) == 0;
}

/*
 * The calling thread's context for md (slot is the member of its
 * digest_ctxs), made when first needed; NULL when out of memory.
 */
static EVP_MD_CTX *
digest_ctx(bool sha256)
{
	struct digest_ctxs *c;
	EVP_MD_CTX **slot;

	if (!digest_have_key)
		return NULL;
	if ((c = pthread_getspecific(digest_key)) == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return NULL;
		if (pthread_setspecific(digest_key, c) != 0) {
			free(c);
			return NULL;
		}
	}
	slot = sha256 ? &c->sha256 : &c->md5;
	if (*slot == NULL)
		*slot = EVP_MD_CTX_new();
	return *slot;
}

static void
digest_run(EVP_MD *md, bool sha256, const char *name, const void *data,
    size_t len, unsigned char *out, unsigned int want)
{
	EVP_MD_CTX *ctx;
	unsigned int got = 0;
	int ok;

	if (md == NULL)
		goto fail;
	if ((ctx = digest_ctx(sha256)) != NULL)
		ok = EVP_DigestInit_ex2(ctx, md, NULL) == 1 &&
		    EVP_DigestUpdate(ctx, data, len) == 1 &&
		    EVP_DigestFinal_ex(ctx, out, &got) == 1;
	else
		ok = EVP_Digest(data, len, out, &got, md, NULL) == 1;
	if (ok && got == want)
		return;
fail:
	fprintf(stderr, "evdb: fatal: %s unavailable in libcrypto\n", name);
	abort();
}

void
digest_sha256(const void *data, size_t len, unsigned char out[32])
{
	pthread_once(&digest_once, digest_fetch);
	digest_run(digest_sha256_md, true, "SHA-256", data, len, out, 32);
}

void
digest_md5(const void *data, size_t len, unsigned char out[16])
{
	pthread_once(&digest_once, digest_fetch);
	digest_run(digest_md5_md, false, "MD5", data, len, out, 16);
}
