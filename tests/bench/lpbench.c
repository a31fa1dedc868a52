/*
 * tests/bench/lpbench.c - W6 of run-bench: long-poll latency.
 *
 *   lpbench --port P --held N --rounds R [--pid EVDB_PID]
 *
 * Holds N reads ("stream.get","lp-<i>",{"wait":30000}) through nginx on
 * 127.0.0.1:P, each on a socket of its own, then R times: writes one
 * message to lp-<i> over a kept-alive connection and measures from the
 * write's answer to the answer of the read held on lp-<i>; the read is
 * held again (from the next position) so that N stay held.  Prints the
 * latency's p50, p99 and max in ms and, with --pid, evdb's resident memory
 * before and after the N reads were held, and the difference per read.
 * The token is LOADGEN_TOKEN's.  Exit status 1 when something failed.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LPB_WAIT_MS 30000

static int lpb_port;
static const char *lpb_token;

static double
lpb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int
lpb_connect(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)lpb_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends POST /rpc with body on fd; keep selects keep-alive. */
static int
lpb_send(int fd, const char *body, int keep)
{
	char req[4096];
	int n = snprintf(req, sizeof(req), "POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Bearer %s\r\nContent-Length: %zu\r\nConnection: %s\r\n"
	    "\r\n%s", lpb_token, strlen(body), keep ? "keep-alive" : "close", body);
	int off = 0;

	while (off < n) {
		ssize_t w = write(fd, req + off, (size_t)(n - off));

		if (w <= 0)
			return -1;
		off += (int)w;
	}
	return 0;
}

/*
 * Reads one answer with a Content-Length body from fd; returns its status
 * (0 on failure).  body (may be NULL) receives up to cap-1 bytes of it.
 */
static int
lpb_answer(int fd, char *body, size_t cap)
{
	char buf[65536], *end, *cl;
	size_t len = 0, need;
	int status = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(buf, "\r\nContent-Length:");
		if (cl == NULL || cl > end)
			return 0;
		need = (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
		if (len >= need)
			break;
	}
	sscanf(buf, "HTTP/1.%*d %d", &status);
	if (body != NULL) {
		snprintf(body, cap, "%s", end + 4);
	}
	return status;
}

/* Holds a read of lp-<i> from position pos on a new connection; its fd. */
static int
lpb_hold(int i, int pos)
{
	char body[256];
	int fd = lpb_connect();

	if (fd < 0)
		return -1;
	snprintf(body, sizeof(body), "[\"stream.get\",\"lp-%d\",{\"position\":%d,"
	    "\"wait\":%d}]", i, pos, LPB_WAIT_MS);
	if (lpb_send(fd, body, 0) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static long
lpb_rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

static int
lpb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "held", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "pid", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	int held = 1000, rounds = 500, c, i, *fds, *pos, wfd, ready, failed = 0;
	long pid = 0, rss0 = -1, rss1 = -1;
	double *lat, t;
	char body[1024], answer[4096];
	struct pollfd pfd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': lpb_port = atoi(optarg); break;
		case 'n': held = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'P': pid = atol(optarg); break;
		default: return 2;
		}
	}
	lpb_token = getenv("LOADGEN_TOKEN");
	if (lpb_port <= 0 || held < 1 || rounds < 1 || lpb_token == NULL) {
		fprintf(stderr, "usage: lpbench --port P [--held N] [--rounds R]"
		    " [--pid PID]  (token in LOADGEN_TOKEN)\n");
		return 2;
	}
	fds = calloc((size_t)held, sizeof(*fds));
	pos = calloc((size_t)held, sizeof(*pos));
	lat = calloc((size_t)rounds, sizeof(*lat));
	if (fds == NULL || pos == NULL || lat == NULL)
		return 1;
	if ((wfd = lpb_connect()) < 0) {
		perror("lpbench: connect");
		return 1;
	}
	/* Warm up: the namespace exists, the loop and the workers ran once. */
	for (i = 0; i < 20; i++) {
		snprintf(body, sizeof(body), "[\"stream.get\",\"lpwarm-%d\","
		    "{\"wait\":1}]", i);
		if (lpb_send(wfd, body, 1) != 0 || lpb_answer(wfd, NULL, 0) != 200) {
			fprintf(stderr, "lpbench: warm-up read failed\n");
			return 1;
		}
	}
	usleep(200000);
	if (pid > 0)
		rss0 = lpb_rss_kib(pid);
	for (i = 0; i < held; i++) {
		if ((fds[i] = lpb_hold(i, 0)) < 0) {
			fprintf(stderr, "lpbench: cannot open held read %d\n", i);
			return 1;
		}
		/*
		 * In steps of 100: each read runs once in a worker before it is
		 * held, and a token's requests beyond --token-concurrency wait in
		 * a queue of 256 (docs/configuration.md), past which they are 429.
		 */
		if (i % 100 == 99)
			usleep(200000);
	}
	/* Let every one reach the loop, then check none was answered. */
	usleep(1000000);
	ready = 0;
	c = -1;
	for (i = 0; i < held; i++) {
		pfd.fd = fds[i];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) > 0) {
			ready++;
			c = i;
		}
	}
	if (ready > 0) {
		answer[0] = '\0';
		(void)lpb_answer(fds[c], answer, sizeof(answer));
		fprintf(stderr, "lpbench: %d of %d reads answered at once; read %d:"
		    " %.300s\n", ready, held, c, answer);
		return 1;
	}
	if (pid > 0)
		rss1 = lpb_rss_kib(pid);

	for (c = 0; c < rounds; c++) {
		i = c % held;
		snprintf(body, sizeof(body), "[\"stream.write\",\"lp-%d\",{\"type\":\"T\","
		    "\"data\":{\"n\":%d}}]", i, c);
		if (lpb_send(wfd, body, 1) != 0 || lpb_answer(wfd, NULL, 0) != 200) {
			fprintf(stderr, "lpbench: write %d failed\n", c);
			return 1;
		}
		t = lpb_now_ms();
		if (lpb_answer(fds[i], answer, sizeof(answer)) != 200 ||
		    strstr(answer, "\"T\"") == NULL) {
			fprintf(stderr, "lpbench: held read %d: bad answer: %.200s\n", i,
			    answer);
			failed = 1;
			break;
		}
		lat[c] = lpb_now_ms() - t;
		close(fds[i]);
		pos[i]++;
		if ((fds[i] = lpb_hold(i, pos[i])) < 0) {
			fprintf(stderr, "lpbench: cannot hold read %d again\n", i);
			return 1;
		}
	}
	if (failed)
		return 1;
	qsort(lat, (size_t)rounds, sizeof(*lat), lpb_cmp);
	printf("held %d rounds %d p50_ms %.3f p99_ms %.3f max_ms %.3f",
	    held, rounds, lat[rounds / 2], lat[(size_t)(rounds * 0.99)],
	    lat[rounds - 1]);
	if (rss0 > 0 && rss1 > 0)
		printf(" rss_before_kib %ld rss_held_kib %ld per_read_kib %.2f",
		    rss0, rss1, (double)(rss1 - rss0) / held);
	printf("\n");
	for (i = 0; i < held; i++)
		close(fds[i]);
	close(wfd);
	return 0;
}
