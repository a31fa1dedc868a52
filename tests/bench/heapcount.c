/*
 * heapcount.c - an LD_PRELOAD library that counts a process's heap: live
 * bytes, their peak, and the number of allocations and frees.
 *
 * tests/bench/heap-check preloads it into evdb.  It wraps the allocator
 * entry points of glibc (malloc, calloc, realloc, reallocarray, free,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc) and forwards
 * each to glibc's own __libc_* function, so no dlsym() bootstrapping is
 * needed.  Sizes are malloc_usable_size() of each block: what the process
 * really holds, slack included; glibc's own bookkeeping (arenas, top chunk,
 * fragmentation) is not counted.
 *
 * When $HEAPCOUNT_FILE is set, a thread started by the constructor rewrites
 * that file every $HEAPCOUNT_INTERVAL_MS (default 100) with one line:
 *   live=<bytes> peak=<bytes> allocs=<count> frees=<count>
 * The peak is the largest live size since the process started.
 * The line then goes on with own_allocs=<count>: the allocations whose
 * immediate caller is code of the main executable (evdb itself, not a
 * library such as json-c, SQLite or libc): the return address of each
 * allocator call is compared with the executable's code segments, found with
 * dl_iterate_phdr() by the constructor.  An allocation made inside a library
 * on evdb's behalf (strdup, json_tokener_parse...) counts as the library's.
 *
 * Threads: the counters are atomics updated with relaxed ordering by every
 * thread that allocates; the reporter thread only reads them, and runs with
 * every signal blocked so that the process's signal handling is unchanged.
 * glibc-specific by design (Debian's glibc 2.36 exports the __libc_* names).
 */
#include "config.h"

#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

/* The counters: the one piece of mutable global state, by necessity. */
static atomic_llong hc_live;		/* usable bytes of live blocks */
static atomic_llong hc_peak;		/* largest hc_live seen */
static atomic_llong hc_allocs;		/* blocks handed out */
static atomic_llong hc_frees;		/* blocks given back */
static atomic_llong hc_own;		/* blocks asked for by the executable */

/* The main executable's code segments, set once by the constructor. */
#define HC_MAX_SEGS 4
static uintptr_t hc_seg_lo[HC_MAX_SEGS];	/* first byte of each */
static uintptr_t hc_seg_hi[HC_MAX_SEGS];	/* one past its last byte */
static int hc_nsegs;				/* entries in use */

/* Counts p as the executable's own when its caller lies in its code. */
static void
hc_own_add(void *p, void *caller)
{
	uintptr_t a = (uintptr_t)caller;
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < hc_nsegs; i++)
		if (a >= hc_seg_lo[i] && a < hc_seg_hi[i]) {
			atomic_fetch_add_explicit(&hc_own, 1,
			    memory_order_relaxed);
			return;
		}
}

static void
hc_add(void *p)
{
	long long now, peak;

	if (p == NULL)
		return;
	now = atomic_fetch_add_explicit(&hc_live, (long long)malloc_usable_size(p),
	    memory_order_relaxed) + (long long)malloc_usable_size(p);
	atomic_fetch_add_explicit(&hc_allocs, 1, memory_order_relaxed);
	peak = atomic_load_explicit(&hc_peak, memory_order_relaxed);
	while (now > peak && !atomic_compare_exchange_weak_explicit(&hc_peak,
	    &peak, now, memory_order_relaxed, memory_order_relaxed))
		;
}

static void
hc_sub(void *p)
{
	if (p == NULL)
		return;
	atomic_fetch_sub_explicit(&hc_live, (long long)malloc_usable_size(p),
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&hc_frees, 1, memory_order_relaxed);
}

void *
malloc(size_t n)
{
	void *p = __libc_malloc(n);

	hc_add(p);
	hc_own_add(p, __builtin_return_address(0));
	return p;
}

void *
calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	hc_add(p);
	hc_own_add(p, __builtin_return_address(0));
	return p;
}

/* realloc() on behalf of caller (for the own count). */
static void *
hc_realloc(void *old, size_t n, void *caller)
{
	size_t before = old != NULL ? malloc_usable_size(old) : 0;
	void *p;

	if (old != NULL && n == 0) {
		free(old);
		return NULL;
	}
	p = __libc_realloc(old, n);
	if (p == NULL)
		return NULL;	/* old, if any, is untouched */
	if (old != NULL) {
		atomic_fetch_sub_explicit(&hc_live, (long long)before,
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&hc_frees, 1, memory_order_relaxed);
	}
	hc_add(p);
	hc_own_add(p, caller);
	return p;
}

void *
realloc(void *old, size_t n)
{
	return hc_realloc(old, n, __builtin_return_address(0));
}

void *
reallocarray(void *old, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return hc_realloc(old, total, __builtin_return_address(0));
}

void
free(void *p)
{
	hc_sub(p);
	__libc_free(p);
}

/* memalign() on behalf of caller (for the own count). */
static void *
hc_memalign(size_t align, size_t n, void *caller)
{
	void *p = __libc_memalign(align, n);

	hc_add(p);
	hc_own_add(p, caller);
	return p;
}

void *
memalign(size_t align, size_t n)
{
	return hc_memalign(align, n, __builtin_return_address(0));
}

void *
aligned_alloc(size_t align, size_t n)
{
	return hc_memalign(align, n, __builtin_return_address(0));
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	if ((p = hc_memalign(align, n, __builtin_return_address(0))) == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void *
valloc(size_t n)
{
	return hc_memalign((size_t)sysconf(_SC_PAGESIZE), n,
	    __builtin_return_address(0));
}

void *
pvalloc(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return hc_memalign(pg, (n + pg - 1) & ~(pg - 1),
	    __builtin_return_address(0));
}

/*
 * dl_iterate_phdr() callback: records the executable segments of the first
 * object, the main program, and stops.
 */
static int
hc_find_exe(struct dl_phdr_info *info, size_t size, void *arg)
{
	int i;

	(void)size;
	(void)arg;
	for (i = 0; i < info->dlpi_phnum && hc_nsegs < HC_MAX_SEGS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_X) == 0)
			continue;
		hc_seg_lo[hc_nsegs] = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
		hc_seg_hi[hc_nsegs] = hc_seg_lo[hc_nsegs] + ph->p_memsz;
		hc_nsegs++;
	}
	return 1;
}

/* Rewrites the report file periodically; fd and interval packed in arg. */
static void *
hc_reporter(void *arg)
{
	intptr_t packed = (intptr_t)arg;
	int fd = (int)(packed & 0xffff), ms = (int)(packed >> 16);
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	char line[160];
	int n;

	for (;;) {
		n = snprintf(line, sizeof(line),
		    "live=%lld peak=%lld allocs=%lld frees=%lld own_allocs=%lld\n",
		    atomic_load(&hc_live), atomic_load(&hc_peak),
		    atomic_load(&hc_allocs), atomic_load(&hc_frees),
		    atomic_load(&hc_own));
		/* Pad to a fixed size so that a shorter line leaves no tail. */
		while (n < (int)sizeof(line) - 1)
			line[n++] = ' ';
		line[n - 1] = '\n';
		(void)pwrite(fd, line, (size_t)n, 0);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

__attribute__((constructor)) static void
hc_start(void)
{
	const char *path = getenv("HEAPCOUNT_FILE");
	const char *iv = getenv("HEAPCOUNT_INTERVAL_MS");
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int fd, ms = 100;

	(void)dl_iterate_phdr(hc_find_exe, NULL);
	if (path == NULL || *path == '\0')
		return;
	if (iv != NULL && atoi(iv) > 0 && atoi(iv) <= 60000)
		ms = atoi(iv);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return;
	if (fd > 0xffff) {
		close(fd);
		return;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, hc_reporter,
	    (void *)(((intptr_t)ms << 16) | fd)) != 0)
		close(fd);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
