/*
 * ssebench.c - the SSE benchmark of evdb (tests/bench/sse/run-sse-bench;
 * not part of make check).
 *
 * One thread, one epoll loop, plain sockets to nginx on 127.0.0.1:PORT
 * (never any other address).  It runs these phases, each bounded in time:
 *
 *   1. base     write throughput without subscribers: --tput-conns
 *               keep-alive connections in a closed loop of stream.write
 *               for --tput-seconds, to streams PREFIXt-<j> (category
 *               PREFIXt, which no subscriber follows)
 *   2. open     N subscribers (--subs), at most --open-parallel being set
 *               up at once; subscriber i < K (--category) follows category
 *               PREFIX, the others stream PREFIX-<i>; each must send
 *               ": ready".  evdb's RSS (VmRSS of --evdb-pid) and the summed
 *               RSS of nginx's workers (children of --nginx-pid) are read
 *               before and after, and divided by N
 *   3. latency  --rate writes per second for --seconds, to PREFIX-<i> in
 *               turn (i from K to N/P-1: the streams of this process's
 *               subscribers), so that every write pokes its
 *               stream's subscriber and the K category subscribers.  The
 *               latency of a poke is the time from just before the write
 *               was sent to the poke's arrival; also reported from the
 *               write's 200 answer (negative when the poke came first)
 *   4. idle     phase 1 again, with the N subscribers attached
 *   5. poked    phase 1 again, but to PREFIX-<i>, so that every write
 *               pokes K+1 subscribers (whose frames this loop also reads)
 *   6. close    every subscriber closed; sys.health polled until its
 *               "subscribers" is back to what it was before phase 2
 *   7. after    phase 1 again with no subscriber: how far this machine's
 *               figures wander from run to run (the noise of phase 4)
 *
 * Many subscribers (issue 13: 50,000 on one host).  Every process has at
 * most its hard RLIMIT_NOFILE of descriptors, and 127.0.0.1 has one
 * ephemeral port range (net.ipv4.ip_local_port_range, 28,232 ports by
 * default) towards one address.  So the subscribers are spread over --procs
 * processes (by default as many as the descriptor limit and nginx's
 * per-address limit_conn of 16384 ask for): this one holds subscribers
 * 0..N/P-1 (the K category subscribers and every stream the writes go to)
 * and forks P-1 holders, which open the others and only read them.
 * Holder j binds its sockets to the source address 127.0.0.(j+1) before
 * connecting (IP_BIND_ADDRESS_NO_PORT, so that the port is picked per
 * destination at connect time); nothing system-wide changes.  A holder
 * reports over a pipe when its subscribers are ready, and at the end how
 * many were still open and how many pokes they read.
 * With --instances I (evdb-local --instances, several evdb processes behind
 * one nginx), every write carries "X-Evdb-Instance: 1", so the writes go to
 * one process as with a single instance, and the other processes' pokes
 * travel the cross-process path (poke file, inotify); sys.health is asked
 * of every instance and summed, and --evdb-pid may be given once per
 * process (RSS and CPU are summed).
 *
 * The token comes from $SSEBENCH_TOKEN (not argv, so that it stays out of
 * ps).  Output: a human summary, then one machine-readable line
 *   RESULT subs=.. category=.. rate=.. writes=.. pokes=.. missing=..
 *          p50_us=.. p99_us=.. p999_us=.. max_us=.. ans_p50_us=..
 *          ans_p99_us=.. evdb_rss_per_sub=.. nginx_rss_per_sub=..
 *          tput_base=.. tput_idle=.. tput_poked=.. tput_after=..
 *          drop_idle_pct=.. drop_idle_bracket_pct=.. drop_poked_pct=..
 *          cpu_base_us=..
 *          cpu_idle_us=.. cpu_poked_us=.. cpu_after_us=.. drain_ms=..
 *          errors=..
 * drop_idle_pct compares the idle phase with the base phase before it;
 * drop_idle_bracket_pct with the mean of base and after, which bracket it,
 * so that a drift of the machine or of the growing database over the run
 * cancels out.
 * cpu_*_us is evdb's CPU time (user + system, from /proc) per write of a
 * throughput phase: less sensitive than writes/s to other load on the
 * machine.
 * Exit status: 0 when every phase ran (whatever the figures), 1 when
 * something failed (a subscriber not ready, lost connections...), 2 on
 * usage errors.
 *
 * Not thread-safe and not meant to be: everything lives in one struct bench
 * owned by main().
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SB_MAX_SUBS	100000	/* --subs bound */
#define SB_MAX_WRITERS	64	/* --tput-conns bound */
#define SB_RATE_CONNS	8	/* connections of the latency phase */
#define SB_OPEN_TIMEOUT	120	/* seconds to open every subscriber */
#define SB_DRAIN_MS	2000	/* wait for late pokes after a phase */
#define SB_READ_MAX	65536	/* bytes read per read() */
#define SB_MAX_PROCS	16	/* --procs bound */
#define SB_MAX_EVDB	16	/* --evdb-pid given at most this often */
#define SB_PER_ADDR	16000	/* subscribers per process and source address,
				   below nginx's limit_conn of 16384 per address */

enum conn_kind {
	CONN_SUB,		/* a subscriber */
	CONN_WRITER		/* an RPC connection */
};

enum writer_mode {
	WM_STOP,		/* send nothing more */
	WM_CLOSED,		/* closed loop: next request on each answer */
	WM_RATE			/* requests sent by the rate clock */
};

/* A growable byte buffer. */
struct sb_buf {
	char		*data;		/* bytes, NUL-terminated when non-NULL */
	size_t		 len;		/* bytes used */
	size_t		 cap;		/* bytes allocated */
};

/* One socket to nginx. */
struct conn {
	enum conn_kind	 kind;		/* subscriber or writer */
	int		 fd;		/* the socket, -1 when closed */
	int		 idx;		/* subscriber or writer number */
	bool		 connected;	/* the TCP handshake is done */
	struct sb_buf	 out;		/* request bytes not yet sent */
	size_t		 out_off;	/* bytes of out already sent */
	struct sb_buf	 in;		/* received bytes not yet consumed */
	/* Subscribers: */
	bool		 head_done;	/* the response head was read */
	bool		 ready;		/* ": ready" arrived */
	bool		 failed;	/* not a 200, or closed */
	int64_t		 chunk_left;	/* chunk bytes left, -1: size line due */
	bool		 chunk_crlf;	/* the CRLF after a chunk is due */
	struct sb_buf	 body;		/* decoded body not yet split in frames */
	/* Writers: */
	bool		 busy;		/* a request is in flight */
	int64_t		 t_send;	/* when the request in flight was sent */
	int		 requests;	/* answered on this TCP connection */
};

/* A write of the latency phase. */
struct wrec {
	int64_t		 gpos;		/* its global position, -1 if failed */
	int64_t		 t_send;	/* ns, just before the send */
	int64_t		 t_answer;	/* ns, when its 200 was read */
};

/* A poke received during the latency phase. */
struct prec {
	int64_t		 gpos;		/* global position it names */
	int64_t		 t_recv;	/* ns, when it was read */
};

/* Settings from the command line. */
struct sb_config {
	int		 port;		/* nginx's port on 127.0.0.1 */
	const char	*token;		/* bearer token */
	int		 subs;		/* N */
	int		 category;	/* K: subscribers of the whole category */
	int		 rate;		/* writes per second, latency phase */
	int		 seconds;	/* latency phase length */
	int		 tput_seconds;	/* each throughput phase */
	int		 tput_conns;	/* closed-loop connections */
	int		 open_parallel;	/* subscriptions being set up at once */
	pid_t		 evdb_pids[SB_MAX_EVDB]; /* for RSS and CPU */
	int		 nevdb;		/* used entries of evdb_pids */
	int		 procs;		/* P: processes holding subscribers, 0: auto */
	int		 instances;	/* evdb instances behind nginx (health) */
	pid_t		 nginx_pid;	/* nginx master, 0: none */
	char		 prefix[32];	/* stream name prefix */
};

/* The whole state of a run. */
struct bench {
	struct sb_config cfg;		/* settings */
	int		 epfd;		/* the epoll instance */
	struct conn	*subs;		/* cfg.subs subscribers (only lo..hi-1 used) */
	int		 lo, hi;	/* the subscribers this process holds */
	in_addr_t	 src;		/* source address, network order; 0: any */
	pid_t		 kids[SB_MAX_PROCS]; /* the holders (parent only) */
	int		 kid_ctl[SB_MAX_PROCS]; /* write end: 'o' open, 'c' close */
	FILE		*kid_rep[SB_MAX_PROCS]; /* read end of their reports */
	int		 nkids;		/* holders forked */
	struct conn	 writers[SB_MAX_WRITERS]; /* RPC connections */
	int		 nwriters;	/* used entries of writers */
	enum writer_mode mode;		/* what writers do on an answer */
	const char	*category;	/* category the writers write to */
	bool		 poke_subs;	/* write to the subscribers' streams */
	uint64_t	 seq;		/* writes sent so far (stream choice) */
	uint64_t	 answered;	/* 200 answers in the current phase */
	uint64_t	 errors;	/* non-200 answers, lost connections */
	int		 ready;		/* subscribers that sent ": ready" */
	int		 sub_failed;	/* subscribers refused or closed */
	bool		 record;	/* latency phase: record writes, pokes */
	struct wrec	*writes;	/* writes of the latency phase */
	size_t		 nwrites;	/* used entries of writes */
	size_t		 capwrites;	/* allocated entries of writes */
	struct prec	*pokes;		/* pokes of the latency phase */
	size_t		 npokes;	/* used entries of pokes */
	size_t		 cappokes;	/* allocated entries of pokes */
	uint64_t	 pokes_total;	/* every poke received */
	double		 cpu_per_write;	/* evdb CPU us per write, last phase */
};

static int64_t
sb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *
sb_alloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL) {
		fprintf(stderr, "ssebench: out of memory\n");
		exit(1);
	}
	return p;
}

static void
sb_buf_add(struct sb_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = b->cap * 2 > b->len + n + 1 ? b->cap * 2 : b->len + n + 1;
		b->data = sb_alloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
sb_buf_drop(struct sb_buf *b, size_t n)
{
	if (n >= b->len)
		b->len = 0;
	else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

static void
sb_buf_free(struct sb_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- process figures --------------------------------------------------- */

/* VmRSS of pid in bytes, or -1. */
static int64_t
sb_rss(pid_t pid)
{
	char path[64], line[256];
	long long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* User + system CPU time of pid so far, in microseconds, or -1. */
static int64_t
sb_cpu_us(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long tck = sysconf(_SC_CLK_TCK);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (pid <= 0 || tck <= 0 || (f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu", &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * 1000000ULL / (unsigned long long)tck);
}

/* Summed CPU time of the evdb processes, in microseconds, or -1. */
static int64_t
sb_cpu_all(const struct bench *b)
{
	int64_t sum = 0, v;
	int i;

	for (i = 0; i < b->cfg.nevdb; i++) {
		if ((v = sb_cpu_us(b->cfg.evdb_pids[i])) < 0)
			return -1;
		sum += v;
	}
	return b->cfg.nevdb > 0 ? sum : -1;
}

/* Summed VmRSS of the evdb processes, or -1. */
static int64_t
sb_rss_all(const struct bench *b)
{
	int64_t sum = 0, v;
	int i;

	for (i = 0; i < b->cfg.nevdb; i++) {
		if ((v = sb_rss(b->cfg.evdb_pids[i])) < 0)
			return -1;
		sum += v;
	}
	return b->cfg.nevdb > 0 ? sum : -1;
}

/* Summed VmRSS of the children of pid (nginx's workers), or -1. */
static int64_t
sb_children_rss(pid_t pid)
{
	char path[300], buf[512], *p;
	int64_t sum = -1, r;
	struct dirent *de;
	long ppid;
	DIR *d;
	FILE *f;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %ld", &ppid) != 1 || ppid != (long)pid)
			continue;
		if ((r = sb_rss((pid_t)atol(de->d_name))) >= 0)
			sum = (sum < 0 ? 0 : sum) + r;
	}
	closedir(d);
	return sum;
}

/* ---- sockets ----------------------------------------------------------- */

/*
 * A non-blocking socket connecting to 127.0.0.1:port, or -1; from source
 * address src (network order) unless it is 0.
 */
static int
sb_connect(int port, in_addr_t src, bool *connected)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src != 0) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = src;
#ifdef IP_BIND_ADDRESS_NO_PORT
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
#endif
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
			close(fd);
			return -1;
		}
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	*connected = true;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		if (errno != EINPROGRESS) {
			close(fd);
			return -1;
		}
		*connected = false;
	}
	return fd;
}

static void
sb_watch(struct bench *b, struct conn *c, bool want_out, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(b->epfd, op, c->fd, &ev);
}

/* Sends what c has queued; false when the connection is dead. */
static bool
sb_flush(struct bench *b, struct conn *c)
{
	ssize_t n;

	if (!c->connected)
		return true;
	while (c->out_off < c->out.len) {
		n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			sb_watch(b, c, true, EPOLL_CTL_MOD);
			return true;
		}
		if (n <= 0)
			return false;
		c->out_off += (size_t)n;
	}
	c->out.len = c->out_off = 0;
	return true;
}

static void
sb_close(struct bench *b, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->connected = false;
	c->out.len = c->out_off = 0;
	c->in.len = 0;
	c->body.len = 0;
}

/* Opens c's socket and queues req; false when it could not. */
static bool
sb_open(struct bench *b, struct conn *c, const char *req, size_t len)
{
	if ((c->fd = sb_connect(b->cfg.port, b->src, &c->connected)) < 0)
		return false;
	c->out.len = c->out_off = 0;
	sb_buf_add(&c->out, req, len);
	sb_watch(b, c, !c->connected, EPOLL_CTL_ADD);
	return sb_flush(b, c);
}

/* ---- writers ----------------------------------------------------------- */

/* Queues one stream.write on writer c (connecting it if needed). */
static bool
sb_write_send(struct bench *b, struct conn *c)
{
	char body[256], req[1024];
	int blen, rlen, k;
	uint64_t i = b->seq++;
	int nstreams = b->hi - b->cfg.category;

	if (!b->poke_subs || nstreams <= 0)
		k = (int)(i % 1000);
	else
		k = b->cfg.category + (int)(i % (uint64_t)nstreams);
	blen = snprintf(body, sizeof(body), "[\"stream.write\",\"%s-%d\","
	    "{\"type\":\"Bench\",\"data\":{\"i\":%" PRIu64 "}}]", b->category,
	    k, i);
	rlen = snprintf(req, sizeof(req), "POST /rpc HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n%s"
	    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
	    b->cfg.token, b->cfg.instances > 1 ? "X-Evdb-Instance: 1\r\n" : "",
	    blen, body);
	c->busy = true;
	c->t_send = sb_now();
	if (c->fd < 0) {
		c->requests = 0;
		c->in.len = 0;
		return sb_open(b, c, req, (size_t)rlen);
	}
	sb_buf_add(&c->out, req, (size_t)rlen);
	return sb_flush(b, c);
}

static void
sb_write_record(struct bench *b, const struct conn *c, int64_t gpos)
{
	struct wrec *w;

	if (b->nwrites == b->capwrites) {
		b->capwrites = b->capwrites ? 2 * b->capwrites : 4096;
		b->writes = sb_alloc(b->writes, b->capwrites * sizeof(*w));
	}
	w = &b->writes[b->nwrites++];
	w->gpos = gpos;
	w->t_send = c->t_send;
	w->t_answer = sb_now();
}

/* Reads complete answers on writer c. */
static void
sb_writer_input(struct bench *b, struct conn *c)
{
	char *end, *p;
	long status;
	long long clen, g;
	size_t hl;
	bool close_after;

	while (c->busy && c->in.len > 0 &&
	    (end = strstr(c->in.data, "\r\n\r\n")) != NULL) {
		hl = (size_t)(end - c->in.data) + 4;
		*end = '\0';
		status = 0;
		clen = 0;
		sscanf(c->in.data, "HTTP/1.%*d %ld", &status);
		if ((p = strcasestr(c->in.data, "\r\nContent-Length:")) != NULL)
			clen = strtoll(p + 17, NULL, 10);
		close_after = strcasestr(c->in.data, "\r\nConnection: close") !=
		    NULL;
		*end = '\r';
		if (c->in.len < hl + (size_t)clen)
			return;
		g = -1;
		if ((p = strstr(c->in.data + hl, "\"globalPosition\":")) != NULL)
			g = strtoll(p + 17, NULL, 10);
		if (status == 200 && g > 0) {
			b->answered++;
			if (b->record)
				sb_write_record(b, c, g);
		} else
			b->errors++;
		sb_buf_drop(&c->in, hl + (size_t)clen);
		c->busy = false;
		c->requests++;
		if (close_after)
			sb_close(b, c);
		if (b->mode == WM_CLOSED && !sb_write_send(b, c)) {
			b->errors++;
			sb_close(b, c);
			c->busy = false;
		}
	}
}

/* ---- subscribers ------------------------------------------------------- */

static void
sb_poke(struct bench *b, const char *frame)
{
	const char *p = strstr(frame, "\"globalPosition\":");
	struct prec *r;

	if (p == NULL)
		return;
	b->pokes_total++;
	if (!b->record)
		return;
	if (b->npokes == b->cappokes) {
		b->cappokes = b->cappokes ? 2 * b->cappokes : 16384;
		b->pokes = sb_alloc(b->pokes, b->cappokes * sizeof(*r));
	}
	r = &b->pokes[b->npokes++];
	r->gpos = strtoll(p + 17, NULL, 10);
	r->t_recv = sb_now();
}

/* Splits the decoded body of c into frames. */
static void
sb_frames(struct bench *b, struct conn *c)
{
	char *end;
	size_t off = 0;

	while (off < c->body.len &&
	    (end = strstr(c->body.data + off, "\n\n")) != NULL) {
		*end = '\0';
		if (strncmp(c->body.data + off, ": ready", 7) == 0) {
			if (!c->ready) {
				c->ready = true;
				b->ready++;
			}
		} else if (strstr(c->body.data + off, "event: poke") != NULL)
			sb_poke(b, c->body.data + off);
		off = (size_t)(end - c->body.data) + 2;
	}
	sb_buf_drop(&c->body, off);
}

static void
sb_sub_fail(struct bench *b, struct conn *c)
{
	if (!c->failed) {
		c->failed = true;
		b->sub_failed++;
		if (c->ready)
			b->ready--;
	}
	sb_close(b, c);
}

/* Decodes the chunked response of subscriber c. */
static void
sb_sub_input(struct bench *b, struct conn *c)
{
	char *end, *nl;
	long status = 0;
	size_t n;

	if (!c->head_done) {
		if ((end = strstr(c->in.data, "\r\n\r\n")) == NULL)
			return;
		sscanf(c->in.data, "HTTP/1.%*d %ld", &status);
		if (status != 200) {
			fprintf(stderr, "ssebench: subscriber %d: %.200s\n",
			    c->idx, c->in.data);
			sb_sub_fail(b, c);
			return;
		}
		c->head_done = true;
		c->chunk_left = -1;
		sb_buf_drop(&c->in, (size_t)(end - c->in.data) + 4);
	}
	for (;;) {
		if (c->chunk_crlf) {
			if (c->in.len < 2)
				break;
			sb_buf_drop(&c->in, 2);
			c->chunk_crlf = false;
		}
		if (c->chunk_left < 0) {
			if (c->in.len == 0 ||
			    (nl = strstr(c->in.data, "\r\n")) == NULL)
				break;
			c->chunk_left = strtoll(c->in.data, NULL, 16);
			sb_buf_drop(&c->in, (size_t)(nl - c->in.data) + 2);
			if (c->chunk_left == 0) {
				sb_sub_fail(b, c);	/* the stream ended */
				return;
			}
		}
		n = c->in.len < (size_t)c->chunk_left ? c->in.len :
		    (size_t)c->chunk_left;
		if (n == 0)
			break;
		sb_buf_add(&c->body, c->in.data, n);
		sb_buf_drop(&c->in, n);
		c->chunk_left -= (int64_t)n;
		if (c->chunk_left == 0) {
			c->chunk_left = -1;
			c->chunk_crlf = true;
		}
	}
	sb_frames(b, c);
}

/* Starts subscriber i. */
static bool
sb_sub_open(struct bench *b, int i)
{
	struct conn *c = &b->subs[i];
	char req[1024];
	int n;

	if (i < b->cfg.category)
		n = snprintf(req, sizeof(req), "GET /subscribe?category=%s&"
		    "token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b->cfg.prefix,
		    b->cfg.token);
	else
		n = snprintf(req, sizeof(req), "GET /subscribe?stream=%s-%d&"
		    "token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b->cfg.prefix,
		    i, b->cfg.token);
	c->kind = CONN_SUB;
	c->idx = i;
	return sb_open(b, c, req, (size_t)n);
}

/* ---- the loop ---------------------------------------------------------- */

static void
sb_input(struct bench *b, struct conn *c)
{
	char buf[SB_READ_MAX];
	ssize_t n;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			sb_buf_add(&c->in, buf, (size_t)n);
			if (c->kind == CONN_SUB)
				sb_sub_input(b, c);
			else
				sb_writer_input(b, c);
			if (c->fd < 0)
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EOF or error. */
		if (c->kind == CONN_SUB)
			sb_sub_fail(b, c);
		else {
			if (c->busy)
				b->errors++;
			c->busy = false;
			sb_close(b, c);
			if (b->mode == WM_CLOSED && !sb_write_send(b, c))
				b->errors++;
		}
		return;
	}
}

/* Handles the events of up to ms milliseconds. */
static void
sb_poll(struct bench *b, int ms)
{
	struct epoll_event evs[512];
	struct conn *c;
	int i, n, err;
	socklen_t len;

	n = epoll_wait(b->epfd, evs, 512, ms < 0 ? 0 : ms);
	for (i = 0; i < n; i++) {
		c = evs[i].data.ptr;
		if (c->fd < 0)
			continue;
		if (!c->connected && (evs[i].events & (EPOLLOUT | EPOLLERR |
		    EPOLLHUP))) {
			err = 0;
			len = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err != 0) {
				if (c->kind == CONN_SUB)
					sb_sub_fail(b, c);
				else {
					b->errors++;
					c->busy = false;
					sb_close(b, c);
				}
				continue;
			}
			c->connected = true;
		}
		if (evs[i].events & EPOLLOUT) {
			if (!sb_flush(b, c)) {
				if (c->kind == CONN_SUB)
					sb_sub_fail(b, c);
				else {
					b->errors++;
					c->busy = false;
					sb_close(b, c);
				}
				continue;
			}
			if (c->out.len == 0)
				sb_watch(b, c, false, EPOLL_CTL_MOD);
		}
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			sb_input(b, c);
	}
}

/* Lets every writer finish its request in flight (up to 5 s). */
static void
sb_writers_settle(struct bench *b)
{
	int64_t deadline = sb_now() + 5000000000LL;
	int i, busy;

	b->mode = WM_STOP;
	do {
		busy = 0;
		for (i = 0; i < b->nwriters; i++)
			busy += b->writers[i].busy;
		if (busy > 0)
			sb_poll(b, 10);
	} while (busy > 0 && sb_now() < deadline);
}

/*
 * A closed loop of writes to category cat (to the subscribers' streams when
 * poke); returns writes per second.
 */
static double
sb_throughput(struct bench *b, const char *cat, bool poke)
{
	int64_t t0, t1, c0, c1;
	uint64_t errors0 = b->errors;
	int i;

	b->category = cat;
	b->poke_subs = poke;
	c0 = sb_cpu_all(b);
	b->nwriters = b->cfg.tput_conns;
	b->mode = WM_CLOSED;
	b->answered = 0;
	t0 = sb_now();
	for (i = 0; i < b->nwriters; i++)
		if (!b->writers[i].busy && !sb_write_send(b, &b->writers[i]))
			b->errors++;
	while ((t1 = sb_now()) - t0 < (int64_t)b->cfg.tput_seconds * 1000000000)
		sb_poll(b, 50);
	/* Only answers inside the window count. */
	t1 = sb_now();
	i = (int)b->answered;
	sb_writers_settle(b);
	c1 = sb_cpu_all(b);
	b->cpu_per_write = c0 >= 0 && c1 >= 0 && b->answered > 0 ?
	    (double)(c1 - c0) / (double)b->answered : -1;
	if (b->errors != errors0)
		fprintf(stderr, "ssebench: %" PRIu64 " failed writes in the "
		    "throughput phase\n", b->errors - errors0);
	return (double)i / ((double)(t1 - t0) / 1e9);
}

/*
 * Blocking RPC on a fresh connection: "subscribers" of sys.health of evdb
 * instance inst (0: whichever nginx picks), or -1.
 */
static long long
sb_health_one(struct bench *b, int inst)
{
	static const char body[] = "[\"sys.health\"]";
	char req[512], buf[4096], hdr[40], *p;
	size_t got = 0;
	bool connected;
	ssize_t n;
	int fd, flags, len;
	long long v = -1;

	if ((fd = sb_connect(b->cfg.port, 0, &connected)) < 0)
		return -1;
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	if (!connected) {
		/* A blocking connect() after EINPROGRESS waits for it. */
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)b->cfg.port);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
		    errno != EISCONN) {
			close(fd);
			return -1;
		}
	}
	hdr[0] = '\0';
	if (inst > 0)
		snprintf(hdr, sizeof(hdr), "X-Evdb-Instance: %d\r\n", inst);
	len = snprintf(req, sizeof(req), "POST /rpc HTTP/1.1\r\nHost: "
	    "127.0.0.1\r\nAuthorization: Bearer %s\r\nConnection: close\r\n"
	    "%sContent-Length: %zu\r\n\r\n%s", b->cfg.token, hdr,
	    strlen(body), body);
	if (send(fd, req, (size_t)len, MSG_NOSIGNAL) == len) {
		while (got < sizeof(buf) - 1 &&
		    (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
			got += (size_t)n;
		buf[got] = '\0';
		if ((p = strstr(buf, "\"subscribers\":")) != NULL)
			v = strtoll(p + 14, NULL, 10);
	}
	close(fd);
	return v;
}

/* sys.health's "subscribers", summed over every instance, or -1. */
static long long
sb_health_subscribers(struct bench *b)
{
	long long sum = 0, v;
	int i;

	if (b->cfg.instances <= 1)
		return sb_health_one(b, 0);
	for (i = 1; i <= b->cfg.instances; i++) {
		if ((v = sb_health_one(b, i)) < 0)
			return -1;
		sum += v;
	}
	return sum;
}

static int
cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;

	return a < c ? -1 : a > c;
}

static int
cmp_wrec(const void *x, const void *y)
{
	const struct wrec *a = x, *c = y;

	return a->gpos < c->gpos ? -1 : a->gpos > c->gpos;
}

/* The q-quantile of sorted v (n > 0). */
static int64_t
sb_quantile(const int64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

/* Opens every subscriber; false when some did not become ready. */
static bool
sb_open_all(struct bench *b)
{
	int64_t deadline = sb_now() + (int64_t)SB_OPEN_TIMEOUT * 1000000000;
	int next = b->lo, n = b->hi - b->lo;

	while (b->ready + b->sub_failed < n && sb_now() < deadline) {
		while (next < b->hi && next - b->lo - b->ready - b->sub_failed <
		    b->cfg.open_parallel) {
			if (!sb_sub_open(b, next))
				sb_sub_fail(b, &b->subs[next]);
			next++;
		}
		sb_poll(b, 10);
	}
	return b->ready == n;
}

/* The latency phase: cfg.rate writes per second for cfg.seconds. */
static void
sb_latency(struct bench *b)
{
	int64_t t0 = sb_now(), step = 1000000000 / b->cfg.rate, next = t0, now;
	int64_t end = t0 + (int64_t)b->cfg.seconds * 1000000000;
	uint64_t late = 0;
	int i, w = 0;

	b->category = b->cfg.prefix;
	b->poke_subs = true;
	b->nwriters = SB_RATE_CONNS;
	b->mode = WM_RATE;
	b->record = true;
	while ((now = sb_now()) < end) {
		if (now >= next) {
			for (i = 0; i < b->nwriters; i++, w++)
				if (!b->writers[w % b->nwriters].busy)
					break;
			if (i == b->nwriters)
				late++;
			else if (!sb_write_send(b, &b->writers[w %
			    b->nwriters]))
				b->errors++;
			w++;
			next += step;
			continue;
		}
		sb_poll(b, (int)((next - now) / 1000000));
	}
	sb_writers_settle(b);
	end = sb_now() + (int64_t)SB_DRAIN_MS * 1000000;
	while (sb_now() < end &&
	    b->npokes < b->nwrites * (size_t)(b->cfg.category + 1))
		sb_poll(b, 10);
	sb_poll(b, 100);
	b->record = false;
	if (late > 0)
		fprintf(stderr, "ssebench: %" PRIu64 " writes could not start "
		    "on time (all %d connections busy)\n", late, SB_RATE_CONNS);
}

static void
sb_usage(void)
{
	fprintf(stderr,
	    "usage: ssebench --port P [--subs N] [--category K] [--rate R]\n"
	    "                [--seconds S] [--tput-seconds S] [--tput-conns C]\n"
	    "                [--open-parallel M] [--evdb-pid PID]\n"
	    "                [--nginx-pid PID] [--prefix NAME] [--procs P]\n"
	    "                [--instances I]\n"
	    "       ssebench --free-port\n"
	    "Targets 127.0.0.1:P only (from 127.0.0.1..127.0.0.P).  Token from\n"
	    "$SSEBENCH_TOKEN.  --evdb-pid may be given once per evdb process.\n");
}

static bool
sb_int_arg(const char *s, long long lo, long long hi, int *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

/* Prints a free loopback port (bound and released). */
static int
sb_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		return 1;
	printf("%d\n", ntohs(sin.sin_port));
	close(fd);
	return 0;
}

static bool
sb_parse(int argc, char **argv, struct sb_config *cfg, bool *free_port)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "subs", required_argument, NULL, 'n' },
		{ "category", required_argument, NULL, 'k' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "tput-seconds", required_argument, NULL, 'T' },
		{ "tput-conns", required_argument, NULL, 'C' },
		{ "open-parallel", required_argument, NULL, 'o' },
		{ "evdb-pid", required_argument, NULL, 'e' },
		{ "nginx-pid", required_argument, NULL, 'g' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "procs", required_argument, NULL, 'N' },
		{ "instances", required_argument, NULL, 'I' },
		{ "free-port", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 }
	};
	int c, v;
	bool good = true;

	memset(cfg, 0, sizeof(*cfg));
	cfg->subs = 1000;
	cfg->category = 10;
	cfg->rate = 200;
	cfg->seconds = 10;
	cfg->tput_seconds = 5;
	cfg->tput_conns = 4;
	cfg->open_parallel = 200;
	snprintf(cfg->prefix, sizeof(cfg->prefix), "sb%ld", (long)getpid());
	*free_port = false;
	while (good && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			good = sb_int_arg(optarg, 1, 65535, &cfg->port);
			break;
		case 'n':
			good = sb_int_arg(optarg, 1, SB_MAX_SUBS, &cfg->subs);
			break;
		case 'k':
			good = sb_int_arg(optarg, 0, SB_MAX_SUBS, &cfg->category);
			break;
		case 'r':
			good = sb_int_arg(optarg, 1, 100000, &cfg->rate);
			break;
		case 's':
			good = sb_int_arg(optarg, 1, 600, &cfg->seconds);
			break;
		case 'T':
			good = sb_int_arg(optarg, 1, 600, &cfg->tput_seconds);
			break;
		case 'C':
			good = sb_int_arg(optarg, 1, SB_MAX_WRITERS,
			    &cfg->tput_conns);
			break;
		case 'o':
			good = sb_int_arg(optarg, 1, 10000, &cfg->open_parallel);
			break;
		case 'e':
			good = cfg->nevdb < SB_MAX_EVDB &&
			    sb_int_arg(optarg, 1, INT32_MAX, &v);
			if (good)
				cfg->evdb_pids[cfg->nevdb++] = (pid_t)v;
			break;
		case 'N':
			good = sb_int_arg(optarg, 1, SB_MAX_PROCS, &cfg->procs);
			break;
		case 'I':
			good = sb_int_arg(optarg, 1, 16, &cfg->instances);
			break;
		case 'g':
			good = sb_int_arg(optarg, 1, INT32_MAX, &v);
			cfg->nginx_pid = (pid_t)v;
			break;
		case 'P':
			good = strlen(optarg) < 24 && strspn(optarg,
			    "abcdefghijklmnopqrstuvwxyz0123456789") ==
			    strlen(optarg) && optarg[0] != '\0';
			if (good)
				snprintf(cfg->prefix, sizeof(cfg->prefix), "%s",
				    optarg);
			break;
		case 'F':
			*free_port = true;
			break;
		default:
			good = false;
		}
	}
	if (good && !*free_port && (cfg->port == 0 || cfg->category >=
	    cfg->subs))
		good = false;
	return good && optind == argc;
}

/* Raises the descriptor limit to what N subscribers need. */
static bool
sb_nofile(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false;
	if (rl.rlim_cur < (rlim_t)need) {
		rl.rlim_cur = rl.rlim_max >= (rlim_t)need ? (rlim_t)need :
		    rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur >= (rlim_t)need;
}

/*
 * Picks P (cfg.procs, or what the descriptor limit and SB_PER_ADDR ask
 * for); false when no P fits.  Process j holds subscribers
 * j N / P .. (j + 1) N / P - 1.
 */
static bool
sb_plan(struct bench *b)
{
	struct rlimit rl;
	long long per, n = b->cfg.subs;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false;
	per = (long long)rl.rlim_max - SB_MAX_WRITERS - 200;
	if (per > SB_PER_ADDR)
		per = SB_PER_ADDR;
	if (per < 1)
		return false;
	if (b->cfg.procs == 0)
		b->cfg.procs = (int)((n + per - 1) / per);
	if (b->cfg.procs > SB_MAX_PROCS || b->cfg.procs > n)
		return false;
	b->lo = 0;
	b->hi = (int)(n / b->cfg.procs);
	return b->hi > b->cfg.category;
}

/*
 * A holder: waits for 'o', opens its subscribers, reports "R ready failed",
 * reads them until 'c' (or the end of ctl: the parent is gone), closes
 * them and reports "C ready pokes".  Returns the exit status.
 */
static int
sb_holder(struct bench *b, int ctl, int rep)
{
	struct pollfd pfd;
	char cmd;
	int i, ready;

	if (read(ctl, &cmd, 1) != 1 || cmd != 'o')
		return 1;
	sb_open_all(b);
	dprintf(rep, "R %d %d\n", b->ready, b->sub_failed);
	pfd.fd = ctl;
	pfd.events = POLLIN;
	for (;;) {
		sb_poll(b, 100);
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) > 0)
			break;
	}
	ready = b->ready;
	for (i = b->lo; i < b->hi; i++)
		sb_close(b, &b->subs[i]);
	dprintf(rep, "C %d %" PRIu64 "\n", ready, b->pokes_total);
	return 0;
}

/* Forks the holders 1..P-1; false when one could not be started. */
static bool
sb_fork_holders(struct bench *b)
{
	int j, k, ctl[2], rep[2], rc;
	pid_t pid;

	for (j = 1; j < b->cfg.procs; j++) {
		if (pipe(ctl) != 0)
			return false;
		if (pipe(rep) != 0) {
			close(ctl[0]);
			close(ctl[1]);
			return false;
		}
		if ((pid = fork()) < 0)
			return false;
		if (pid == 0) {
			for (k = 0; k < b->nkids; k++) {
				close(b->kid_ctl[k]);
				fclose(b->kid_rep[k]);
			}
			b->nkids = 0;
			close(ctl[1]);
			close(rep[0]);
			b->lo = (int)((long long)j * b->cfg.subs / b->cfg.procs);
			b->hi = (int)((long long)(j + 1) * b->cfg.subs /
			    b->cfg.procs);
			b->src = htonl(INADDR_LOOPBACK + (in_addr_t)j);
			rc = 1;
			if (sb_nofile(b->hi - b->lo + 64) &&
			    (b->epfd = epoll_create1(EPOLL_CLOEXEC)) >= 0)
				rc = sb_holder(b, ctl[0], rep[1]);
			_exit(rc);
		}
		close(ctl[0]);
		close(rep[1]);
		b->kids[b->nkids] = pid;
		b->kid_ctl[b->nkids] = ctl[1];
		if ((b->kid_rep[b->nkids] = fdopen(rep[0], "r")) == NULL)
			return false;
		b->nkids++;
	}
	return true;
}

/*
 * Sends cmd (unless it is NUL) to every holder and reads each one's report line "<tag> A B":
 * the sums of A and B into *a and *b2; false when a holder did not answer.
 */
static bool
sb_kids_ask(struct bench *b, char cmd, char tag, long long *a,
    long long *b2)
{
	char line[128], t;
	long long x, y;
	int k;
	bool ok = true;

	*a = *b2 = 0;
	for (k = 0; k < b->nkids && cmd != '\0'; k++)
		if (write(b->kid_ctl[k], &cmd, 1) != 1)
			ok = false;
	for (k = 0; k < b->nkids; k++) {
		if (fgets(line, sizeof(line), b->kid_rep[k]) == NULL ||
		    sscanf(line, "%c %lld %lld", &t, &x, &y) != 3 || t != tag) {
			ok = false;
			continue;
		}
		*a += x;
		*b2 += y;
	}
	return ok;
}

/* Ends the holders (EOF on their control pipes) and reaps them. */
static void
sb_kids_end(struct bench *b)
{
	int k, st;

	for (k = 0; k < b->nkids; k++) {
		close(b->kid_ctl[k]);
		fclose(b->kid_rep[k]);
		waitpid(b->kids[k], &st, 0);
	}
	b->nkids = 0;
}

int
main(int argc, char **argv)
{
	struct bench b;
	char tcat[40];
	int64_t rss0 = -1, rss1 = -1, ng0 = -1, ng1 = -1, t0, *lat = NULL;
	int64_t *ans = NULL, drain_ms = -1;
	double tp_base, tp_idle, tp_poked, tp_after;
	double cpu_base, cpu_idle, cpu_poked, cpu_after;
	long long subs0, subs1, kready, kfailed, kpokes = 0;
	size_t i, nlat = 0, missing, expect;
	struct wrec key, *w;
	bool free_port, ok = true;
	int rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&b, 0, sizeof(b));
	b.epfd = -1;
	if (!sb_parse(argc, argv, &b.cfg, &free_port)) {
		sb_usage();
		return 2;
	}
	if (free_port)
		return sb_free_port();
	if ((b.cfg.token = getenv("SSEBENCH_TOKEN")) == NULL ||
	    *b.cfg.token == '\0' || strlen(b.cfg.token) > 200) {
		fprintf(stderr, "ssebench: set SSEBENCH_TOKEN\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!sb_plan(&b)) {
		fprintf(stderr, "ssebench: %d subscribers do not fit in %d "
		    "processes of this descriptor limit (--procs; %d category "
		    "subscribers must fit in the first)\n", b.cfg.subs,
		    b.cfg.procs, b.cfg.category);
		return 1;
	}
	if (!sb_nofile(b.hi + SB_MAX_WRITERS + 64)) {
		fprintf(stderr, "ssebench: cannot have %d descriptors open "
		    "(raise ulimit -n)\n", b.hi + SB_MAX_WRITERS + 64);
		return 1;
	}
	b.subs = sb_alloc(NULL, (size_t)b.cfg.subs * sizeof(*b.subs));
	memset(b.subs, 0, (size_t)b.cfg.subs * sizeof(*b.subs));
	for (i = 0; i < (size_t)b.cfg.subs; i++)
		b.subs[i].fd = -1;
	if (!sb_fork_holders(&b)) {
		fprintf(stderr, "ssebench: cannot start the holders\n");
		sb_kids_end(&b);
		return 1;
	}
	if ((b.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;
	for (i = 0; i < SB_MAX_WRITERS; i++) {
		b.writers[i].kind = CONN_WRITER;
		b.writers[i].idx = (int)i;
		b.writers[i].fd = -1;
	}
	snprintf(tcat, sizeof(tcat), "%st", b.cfg.prefix);
	printf("ssebench: %d subscribers (%d on category %s, the others on "
	    "one stream each) in %d processes, %d writes/s for %d s, "
	    "throughput %d conns x %d s\n", b.cfg.subs, b.cfg.category,
	    b.cfg.prefix, b.cfg.procs, b.cfg.rate, b.cfg.seconds,
	    b.cfg.tput_conns, b.cfg.tput_seconds);

	/* 1. Throughput without subscribers (also warms evdb up). */
	tp_base = sb_throughput(&b, tcat, false);
	cpu_base = b.cpu_per_write;
	printf("base:    %.0f writes/s without subscribers; evdb CPU %.1f us "
	    "per write\n", tp_base, cpu_base);

	/* 2. Open the subscribers, memory before and after. */
	subs0 = sb_health_subscribers(&b);
	usleep(500000);
	rss0 = sb_rss_all(&b);
	if (b.cfg.nginx_pid > 0)
		ng0 = sb_children_rss(b.cfg.nginx_pid);
	t0 = sb_now();
	for (i = 0; i < (size_t)b.nkids; i++)
		if (write(b.kid_ctl[i], "o", 1) != 1)
			ok = false;
	sb_open_all(&b);
	kready = kfailed = 0;
	if (b.nkids > 0 && !sb_kids_ask(&b, '\0', 'R', &kready, &kfailed))
		ok = false;
	if (b.ready + kready != b.cfg.subs) {
		fprintf(stderr, "ssebench: %lld of %d subscribers ready, %lld "
		    "failed\n", b.ready + kready, b.cfg.subs,
		    b.sub_failed + kfailed);
		ok = false;
	}
	printf("open:    %lld subscribers ready in %.2f s (%d here, %lld in "
	    "%d holders)\n", b.ready + kready, (double)(sb_now() - t0) / 1e9,
	    b.ready, kready, b.nkids);
	usleep(1000000);
	sb_poll(&b, 0);
	subs1 = sb_health_subscribers(&b);
	rss1 = sb_rss_all(&b);
	if (b.cfg.nginx_pid > 0)
		ng1 = sb_children_rss(b.cfg.nginx_pid);
	printf("memory:  evdb RSS %.1f -> %.1f MiB = %.0f bytes per "
	    "subscriber; nginx workers %.1f -> %.1f MiB = %.0f bytes per "
	    "subscriber; sys.health subscribers %lld -> %lld\n",
	    (double)rss0 / 1048576, (double)rss1 / 1048576,
	    (double)(rss1 - rss0) / b.cfg.subs, (double)ng0 / 1048576,
	    (double)ng1 / 1048576, (double)(ng1 - ng0) / b.cfg.subs, subs0,
	    subs1);
	if (subs1 - subs0 != b.cfg.subs) {
		fprintf(stderr, "ssebench: sys.health counts %lld new "
		    "subscribers, want %d\n", subs1 - subs0, b.cfg.subs);
		ok = false;
	}

	/* 3. Latency at a steady rate. */
	sb_latency(&b);
	qsort(b.writes, b.nwrites, sizeof(*b.writes), cmp_wrec);
	lat = sb_alloc(NULL, (b.npokes + 1) * sizeof(*lat));
	ans = sb_alloc(NULL, (b.npokes + 1) * sizeof(*ans));
	for (i = 0; i < b.npokes; i++) {
		key.gpos = b.pokes[i].gpos;
		w = bsearch(&key, b.writes, b.nwrites, sizeof(*b.writes),
		    cmp_wrec);
		if (w == NULL)
			continue;
		lat[nlat] = b.pokes[i].t_recv - w->t_send;
		ans[nlat] = b.pokes[i].t_recv - w->t_answer;
		nlat++;
	}
	expect = b.nwrites * (size_t)(b.cfg.category + 1);
	missing = expect > nlat ? expect - nlat : 0;
	if (nlat == 0) {
		fprintf(stderr, "ssebench: no poke of the latency phase "
		    "arrived\n");
		ok = false;
		lat[0] = ans[0] = -1;
		nlat = 1;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	qsort(ans, nlat, sizeof(*ans), cmp_i64);
	printf("latency: %zu writes, %zu pokes (%zu expected, %zu missing); "
	    "send->poke p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us; "
	    "200 answer->poke p50 %.0f us, p99 %.0f us\n", b.nwrites, nlat,
	    expect, missing, sb_quantile(lat, nlat, 0.5) / 1e3,
	    sb_quantile(lat, nlat, 0.99) / 1e3,
	    sb_quantile(lat, nlat, 0.999) / 1e3, lat[nlat - 1] / 1e3,
	    sb_quantile(ans, nlat, 0.5) / 1e3, sb_quantile(ans, nlat, 0.99) /
	    1e3);
	if (missing > 0)
		ok = false;

	/* 4, 5. Throughput with the subscribers attached. */
	tp_idle = sb_throughput(&b, tcat, false);
	cpu_idle = b.cpu_per_write;
	printf("idle:    %.0f writes/s with %d idle subscribers (%+.1f %%); "
	    "evdb CPU %.1f us per write\n", tp_idle, b.cfg.subs,
	    (tp_idle / tp_base - 1) * 100, cpu_idle);
	i = (size_t)b.pokes_total;
	tp_poked = sb_throughput(&b, b.cfg.prefix, true);
	cpu_poked = b.cpu_per_write;
	t0 = sb_now();
	while (sb_now() - t0 < (int64_t)SB_DRAIN_MS * 1000000)
		sb_poll(&b, 10);
	printf("poked:   %.0f writes/s, each poking %d subscribers (%+.1f %%); "
	    "%" PRIu64 " pokes read; evdb CPU %.1f us per write\n", tp_poked,
	    b.cfg.category + 1, (tp_poked / tp_base - 1) * 100,
	    b.pokes_total - (uint64_t)i, cpu_poked);

	/* 6. Close them all; evdb must notice. */
	t0 = sb_now();
	kready = kpokes = 0;
	if (b.nkids > 0 && !sb_kids_ask(&b, 'c', 'C', &kready, &kpokes))
		ok = false;
	if (b.ready + kready != b.cfg.subs) {
		fprintf(stderr, "ssebench: %lld subscribers lost during the "
		    "run\n", b.cfg.subs - b.ready - kready);
		ok = false;
	}
	for (i = (size_t)b.lo; i < (size_t)b.hi; i++)
		sb_close(&b, &b.subs[i]);
	sb_kids_end(&b);
	if (b.nkids == 0 && kpokes > 0)
		printf("holders: %lld pokes read by the holders' subscribers\n",
		    kpokes);
	while (sb_now() - t0 < 30000000000LL) {
		if (sb_health_subscribers(&b) == subs0) {
			drain_ms = (sb_now() - t0) / 1000000;
			break;
		}
		usleep(20000);
	}
	printf("close:   sys.health back to %lld subscribers after %" PRId64
	    " ms\n", subs0, drain_ms);
	if (drain_ms < 0)
		ok = false;

	/* 7. The control: no subscribers again. */
	tp_after = sb_throughput(&b, tcat, false);
	cpu_after = b.cpu_per_write;
	printf("after:   %.0f writes/s with no subscriber again (%+.1f %% from "
	    "base); evdb CPU %.1f us per write\n", tp_after,
	    (tp_after / tp_base - 1) * 100, cpu_after);
	if (b.errors > 0)
		ok = false;

	printf("RESULT subs=%d category=%d rate=%d writes=%zu pokes=%zu "
	    "missing=%zu p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f "
	    "ans_p50_us=%.0f ans_p99_us=%.0f evdb_rss_per_sub=%.0f "
	    "nginx_rss_per_sub=%.0f tput_base=%.0f tput_idle=%.0f "
	    "tput_poked=%.0f tput_after=%.0f drop_idle_pct=%.1f "
	    "drop_idle_bracket_pct=%.1f "
	    "drop_poked_pct=%.1f cpu_base_us=%.1f cpu_idle_us=%.1f "
	    "cpu_poked_us=%.1f cpu_after_us=%.1f "
	    "drain_ms=%" PRId64 " errors=%" PRIu64 "\n", b.cfg.subs,
	    b.cfg.category, b.cfg.rate, b.nwrites, nlat, missing,
	    sb_quantile(lat, nlat, 0.5) / 1e3,
	    sb_quantile(lat, nlat, 0.99) / 1e3,
	    sb_quantile(lat, nlat, 0.999) / 1e3, lat[nlat - 1] / 1e3,
	    sb_quantile(ans, nlat, 0.5) / 1e3, sb_quantile(ans, nlat, 0.99) /
	    1e3, rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) / b.cfg.subs :
	    -1.0, ng0 >= 0 && ng1 >= 0 ? (double)(ng1 - ng0) / b.cfg.subs :
	    -1.0, tp_base, tp_idle, tp_poked, tp_after,
	    (1 - tp_idle / tp_base) * 100,
	    (1 - tp_idle / ((tp_base + tp_after) / 2)) * 100,
	    (1 - tp_poked / tp_base) * 100, cpu_base, cpu_idle, cpu_poked,
	    cpu_after, drain_ms, b.errors);
	rc = ok ? 0 : 1;

	for (i = (size_t)b.lo; i < (size_t)b.hi; i++) {
		sb_buf_free(&b.subs[i].in);
		sb_buf_free(&b.subs[i].out);
		sb_buf_free(&b.subs[i].body);
	}
	for (i = 0; i < SB_MAX_WRITERS; i++) {
		sb_close(&b, &b.writers[i]);
		sb_buf_free(&b.writers[i].in);
		sb_buf_free(&b.writers[i].out);
	}
	free(b.subs);
	free(b.writes);
	free(b.pokes);
	free(lat);
	free(ans);
	close(b.epfd);
	return rc;
}
