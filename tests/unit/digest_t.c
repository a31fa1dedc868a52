/*
 * tests/unit/digest_t.c - unit tests of src/core/digest.c.
 *
 * Known answers for SHA-256 and MD5, with the two algorithms alternating
 * on one thread (each thread reuses one context per algorithm) and on
 * several threads at once.  And the reason for the reuse (issue 13): with
 * libcrypto's allocator counted (CRYPTO_set_mem_functions), a digest after
 * the thread's first makes fewer than the two allocations of EVP_Digest.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/digest.h"
#include "../tap.h"

#define NTHREADS 4
#define NROUNDS 200

static int crypto_allocs;	/* libcrypto's malloc and realloc calls */

static void *
count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	__atomic_add_fetch(&crypto_allocs, 1, __ATOMIC_RELAXED);
	return malloc(n);
}

static void *
count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	__atomic_add_fetch(&crypto_allocs, 1, __ATOMIC_RELAXED);
	return realloc(p, n);
}

static void
count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

static void
hex(const unsigned char *md, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* SHA-256 and MD5 of "abc" and of "" match their known answers. */
static bool
digests_ok(void)
{
	unsigned char md[32];
	char h[65];
	bool good = true;

	digest_sha256("abc", 3, md);
	hex(md, 32, h);
	good &= strcmp(h, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad") == 0;
	digest_md5("abc", 3, md);
	hex(md, 16, h);
	good &= strcmp(h, "900150983cd24fb0d6963f7d28e17f72") == 0;
	digest_sha256("", 0, md);
	hex(md, 32, h);
	good &= strcmp(h, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855") == 0;
	digest_md5("", 0, md);
	hex(md, 16, h);
	good &= strcmp(h, "d41d8cd98f00b204e9800998ecf8427e") == 0;
	return good;
}

static void *
thread_main(void *arg)
{
	bool *good = arg;

	*good = true;
	for (int i = 0; i < NROUNDS; i++)
		*good &= digests_ok();
	return NULL;
}

int
main(void)
{
	pthread_t th[NTHREADS];
	bool good[NTHREADS], all = true;
	int before, per4;

	/* Before libcrypto's first allocation, or it refuses. */
	if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free))
		tap_bail("CRYPTO_set_mem_functions refused");
	tap_plan(4);
	ok(digests_ok(), "DIGEST-001 known answers, first use on this thread");
	bool again = true;
	for (int i = 0; i < NROUNDS; i++)
		again &= digests_ok();
	ok(again, "DIGEST-002 known answers, %d rounds alternating SHA-256 and "
	    "MD5 on one thread", NROUNDS);
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, thread_main, &good[i]) != 0)
			tap_bail("pthread_create");
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		all &= good[i];
	}
	ok(all, "DIGEST-003 known answers on %d threads at once", NTHREADS);
	before = crypto_allocs;
	(void)digests_ok();
	per4 = crypto_allocs - before;
	tap_diag("libcrypto allocations for 4 digests on a warm thread: %d",
	    per4);
	ok(per4 < 8, "DIGEST-004 a warm thread's digest reuses its context "
	    "(fewer than EVP_Digest's 2 allocations each)");
	return tap_done();
}
