/*
 * tests/e2e/harness_proc.c - measuring the evdb process from /proc (see
 * harness_proc.h).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "harness_proc.h"

pid_t
proc_evdb_pid(struct harness *h)
{
	char path[4096];
	FILE *f;
	long pid = -1;

	snprintf(path, sizeof(path), "%s/run/evdb.pid", harness_datadir(h));
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return (pid_t)pid;
}

long
proc_status_kb(pid_t pid, const char *name)
{
	char path[64], line[256];
	size_t n = strlen(name);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

long
proc_rss_settled(pid_t pid, int timeout_ms, long within_kb)
{
	int64_t until = harness_now_ms() + timeout_ms;
	long prev = -1, cur = proc_status_kb(pid, "VmRSS");

	while (harness_now_ms() < until &&
	    (prev < 0 || cur - prev > within_kb)) {
		sleep(1);
		prev = cur;
		cur = proc_status_kb(pid, "VmRSS");
	}
	return cur;
}

int
proc_reset_peak(pid_t pid)
{
	char path[64];
	int fd, rc;

	snprintf(path, sizeof(path), "/proc/%ld/clear_refs", (long)pid);
	if ((fd = open(path, O_WRONLY)) == -1)
		return -1;
	rc = write(fd, "5", 1) == 1 ? 0 : -1;
	close(fd);
	return rc;
}

int
proc_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

void
proc_asan_lean(void)
{
	const char *old = getenv("ASAN_OPTIONS");
	char opts[1024];

	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0",
	    old != NULL ? old : "", old != NULL && *old != '\0' ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
}
