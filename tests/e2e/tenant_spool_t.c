/*
 * tests/e2e/tenant_spool_t.c - clients that never read fill no disk
 * through nginx (issue 15, finding 4).
 *
 * The attack as found: six clients that never read their answers made
 * nginx spool 1.77 GB into unlinked temporary files (du shows nothing, df
 * does), on the data filesystem in the local stack, so that every tenant's
 * writes would then fail with 507.
 *
 * Here one tenant writes 40 messages of 900 KB, and NONREADERS clients ask
 * for the whole stream (36 MB each) and never read.  The bytes of deleted
 * files that nginx's workers hold open (read from /proc/<pid>/fd) must stay
 * within SPOOL_MAX; the temporary directory must be on another filesystem
 * than the data; and another tenant's write and /health must still answer
 * within 1 s.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "harness.h"
#include "tenant.h"

#define MESSAGES	40
#define MESSAGE_BYTES	900000
#define NONREADERS	4
#define SPOOL_MAX	(4L << 20)
#define BOUND_MS	1000

/* The parent pid in /proc/<pid>/stat, or -1. */
static long
ppid_of(const char *pid)
{
	char path[300], buf[512], *p;
	FILE *f;
	size_t n;
	long ppid = -1;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": the state and ppid follow the last ')'. */
	if ((p = strrchr(buf, ')')) != NULL)
		(void)sscanf(p + 1, " %*c %ld", &ppid);
	return ppid;
}

/* Bytes on disk of the deleted files process pid holds open. */
static long
deleted_bytes(const char *pid)
{
	char dir[64], path[320], target[512];
	struct dirent *de;
	struct stat sb;
	ssize_t n;
	long sum = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((n = readlink(path, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, " (deleted)") == NULL)
			continue;
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			sum += (long)sb.st_blocks * 512;
	}
	closedir(d);
	return sum;
}

/* What every nginx process of the stack holds in deleted files. */
static long
nginx_spool(struct harness *h)
{
	long master = tenant_stack_pid(h, "nginx.pid"), sum = 0;
	struct dirent *de;
	char self[32];
	DIR *d;

	if (master <= 0 || (d = opendir("/proc")) == NULL)
		return -1;
	snprintf(self, sizeof(self), "%ld", master);
	sum += deleted_bytes(self);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9' &&
		    ppid_of(de->d_name) == master)
			sum += deleted_bytes(de->d_name);
	closedir(d);
	return sum;
}

/* The directory evdb-local chose for nginx's temporary files, or NULL. */
static const char *
temp_dir(struct harness *h)
{
	FILE *f = fopen(hstr(h, "%s/run/nginx-tmp", harness_datadir(h)), "r");
	char line[512];

	if (f == NULL)
		return NULL;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return line[0] != '\0' ? hstr(h, "%s", line) : NULL;
}

int
main(void)
{
	struct harness *h;
	const char *tok, *other, *req, *body, *tmp;
	struct stat st_tmp, st_data;
	char *fill;
	int fds[NONREADERS], i, written = 0, sent = 0;
	long spool, most = 0, status;
	int64_t ms;

	tap_plan(10);
	h = harness_start();
	tok = ns_create_ok(h, "spool", "the non-reading tenant's namespace");
	other = ns_create_ok(h, "spoolother", "another tenant's namespace");
	if (tok == NULL || other == NULL)
		return harness_stop(h), tap_done();

	fill = malloc(MESSAGE_BYTES + 1);
	memset(fill, 'x', MESSAGE_BYTES);
	fill[MESSAGE_BYTES] = '\0';
	for (i = 0; i < MESSAGES; i++)
		written += write_quiet(h, tok, "spool-1", "Big",
		    hstr(h, "{\"f\":\"%s\"}", fill), NULL, NULL, NULL, NULL) == 0;
	free(fill);
	ok(written == MESSAGES, "%d messages of %d KB written (%d MB)", written,
	    MESSAGE_BYTES / 1000, MESSAGES * MESSAGE_BYTES / 1000000);

	body = "[\"stream.get\",\"spool-1\",{\"batchSize\":1000}]";
	req = hstr(h, "POST /rpc HTTP/1.1\r\nHost: e2e\r\nAuthorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", tok,
	    strlen(body), body);
	for (i = 0; i < NONREADERS; i++) {
		fds[i] = tenant_connect(tenant_port(h), 4096);
		sent += fds[i] >= 0 && tenant_send(fds[i], req, strlen(req)) == 0;
	}
	ok(sent == NONREADERS, "%d clients ask for the whole stream and never read",
	    sent);
	for (i = 0; i < 20; i++) {
		usleep(250000);
		if ((spool = nginx_spool(h)) > most)
			most = spool;
	}
	ok(most >= 0 && most <= SPOOL_MAX, "nginx's temporary files stay within "
	    "%ld MB while they do not read (at most %ld bytes seen)",
	    SPOOL_MAX >> 20, most);

	status = tenant_timed_write(h, other, "spool-other", &ms);
	ok(status == 200 && ms < BOUND_MS, "another tenant's write answers %ld "
	    "within %d ms meanwhile (%lld ms)", status, BOUND_MS, (long long)ms);
	status = tenant_timed_health(h, &ms);
	ok(status == 200 && ms < BOUND_MS, "/health answers %ld within %d ms "
	    "meanwhile (%lld ms)", status, BOUND_MS, (long long)ms);
	for (i = 0; i < NONREADERS; i++)
		if (fds[i] >= 0)
			close(fds[i]);

	tmp = temp_dir(h);
	ok(tmp != NULL, "evdb-local recorded nginx's temporary directory (%s)",
	    tmp != NULL ? tmp : "none");
	ok(tmp != NULL && stat(tmp, &st_tmp) == 0 &&
	    stat(hstr(h, "%s/data", harness_datadir(h)), &st_data) == 0 &&
	    st_tmp.st_dev != st_data.st_dev, "it is on another filesystem than "
	    "the data directory");
	/* The stack still serves a reader afterwards. */
	ok(stream_read_all(h, tok, "spool-1") != NULL &&
	    jpath_len(stream_read_all(h, tok, "spool-1"), "") == MESSAGES,
	    "a client that reads gets the whole stream afterwards");
	harness_stop(h);
	return tap_done();
}
