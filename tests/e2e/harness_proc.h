/*
 * tests/e2e/harness_proc.h - what the end-to-end tests measure of the evdb
 * process itself, from /proc: its resident memory (and when it has
 * settled), its peak, and its open descriptors.  Linux only, like evdb.
 * Used by the tenant-bounds tests (issue 15), which bound what one tenant
 * can make evdb hold, and by sse_idle_memory_t (issue 13).
 */
#ifndef EVDB_E2E_HARNESS_PROC_H
#define EVDB_E2E_HARNESS_PROC_H

#include <sys/types.h>

struct harness;

/** The pid of the stack's evdb (from D/run/evdb.pid), or -1. */
pid_t	 proc_evdb_pid(struct harness *h);

/**
 * The value in kB of a "Name:   N kB" line of /proc/pid/status (e.g.
 * "VmRSS", "VmHWM"), or -1 when unreadable.
 */
long	 proc_status_kb(pid_t pid, const char *name);

/**
 * Resets the peak resident size (VmHWM) of pid to its current size
 * (writes 5 to /proc/pid/clear_refs).  Returns 0, or -1 when not allowed.
 */
int	 proc_reset_peak(pid_t pid);

/**
 * Waits until the resident size of pid stops growing: samples VmRSS once a
 * second until two samples in a row differ by at most within_kb, or until
 * timeout_ms have passed.  Returns the last sample in kB (-1 unreadable).
 */
long	 proc_rss_settled(pid_t pid, int timeout_ms, long within_kb);

/** Open descriptors of pid (entries of /proc/pid/fd), or -1. */
int	 proc_fd_count(pid_t pid);

/**
 * Call before harness_start in a test that measures evdb's memory: an ASan
 * build of evdb then keeps no quarantine of freed blocks (appended to
 * ASAN_OPTIONS, which evdb inherits), so its resident size means what it
 * means without ASan.  Harmless for other builds.
 */
void	 proc_asan_lean(void);

#endif /* EVDB_E2E_HARNESS_PROC_H */
