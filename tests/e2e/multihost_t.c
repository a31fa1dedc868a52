/*
 * tests/e2e/multihost_t.c - several stateless evdb hosts on one PostgreSQL
 * (issue 10): "evdb-local start --instances 3" behind one nginx, on a
 * private cluster of the test's own (it restarts PostgreSQL, so never a
 * shared one), as docs/deployment.md "Running several hosts" sets it up.
 *
 *  - every host's connections carry application_name evdb/<host>/<pid>/...
 *    in pg_stat_activity, and sys.health and /metrics show its pool;
 *  - 50 concurrent writers on one stream, spread over the 3 hosts: the
 *    positions are gapless and unique;
 *  - a write's id retried on the other hosts, one after the other and all
 *    at once, gets the first answer's positions and is stored once; writers
 *    with one expectedVersion on the 3 hosts at once: one wins a round;
 *  - 10 categories written through 3 hosts: global positions unique and
 *    gapless, and a reader following global order while they are written
 *    misses nothing;
 *  - an SSE subscriber on host 1 gets every write made through hosts 2 and
 *    3 exactly once and in order, while its catch-up runs into live;
 *  - consumer-group members on the 3 hosts together get every stream of a
 *    category exactly once;
 *  - a namespace created on host 1 works on host 2 at once; deleted on host
 *    2, its token is refused on host 3 within a second; host 1, whose
 *    workers keep its registry row across requests (pg_registry.c), never
 *    writes with it again (403, or 404 NAMESPACE_NOT_FOUND for a request
 *    already past authentication), and once host 2 makes it again, the
 *    new token writes through host 1 into the new, empty namespace;
 *  - the LISTEN connection of host 1 killed (pg_terminate_backend) and
 *    kept from coming back (the role's CONNECTION LIMIT 0): pokes still
 *    arrive, by the hub's periodic scan, and once connections are allowed
 *    again the listener comes back;
 *  - the database refusing connections for want of slots (the role's
 *    CONNECTION LIMIT, the same SQLSTATE 53300 as max_connections): 503
 *    BACKEND_UNAVAILABLE saying so, and service again once slots are free;
 *  - kill -9 of host 2 under load: the others go on, nginx routes around
 *    it, no acknowledged write is lost, retries with the same id are never
 *    doubled, and it rejoins when restarted;
 *  - PostgreSQL restarted under load: every host reconnects, nothing
 *    acknowledged is lost.
 *
 * Requests are pinned to a host with "X-Evdb-Instance: i" (deploy/evdb-
 * local); unpinned ones are spread by nginx round robin.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../tap.h"
#include "../pgtest.h"
#include "harness.h"

#define ADM		HARNESS_ADMIN_TOKEN
#define HOSTS		3
#define SPREAD_WRITERS	50	/* writers on one stream */
#define SPREAD_EACH	10	/* writes of each */
#define CATS		10	/* categories of the global-order case */
#define CAT_EACH	20	/* writes per category and host */
#define SSE_BEFORE	150	/* messages already there when subscribing */
#define SSE_LIVE	150	/* messages written while it catches up */
#define CG_STREAMS	24	/* streams of the consumer-group case */
#define LOAD_WRITERS	6	/* writers of the fault cases */
#define MAX_ACKS	20000	/* writes one load writer records */
#define WAIT_MS		30000	/* longest wait for what must come */
#define MH_NS_WRITES	8	/* writes through host 1 of the namespace case */
#define RACERS		9	/* requests at once of the race cases */
#define RACE_ROUNDS	5	/* expectedVersion rounds */

static char pgdir[256];		/* the private cluster */
static char role[64];		/* the non-superuser evdb connects as */

/* ---------------------------------------------------------------------- */
/* Small helpers */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A UUIDv4 (canonical lowercase) into out[37], unique in this run by
 * construction: the pid and a process-wide counter, plus random bits.
 */
static void
uuid4(unsigned *seed, char out[37])
{
	static atomic_ullong counter;
	unsigned long long n = atomic_fetch_add(&counter, 1) + 1;

	snprintf(out, 37, "%08x-%04x-4%03x-a%03x-%012llx", (unsigned)getpid(),
	    (unsigned)rand_r(seed) & 0xffff, (unsigned)rand_r(seed) & 0xfff,
	    (unsigned)rand_r(seed) & 0xfff, n & 0xffffffffffffULL);
}

/*
 * Runs sql (no double quotes) as the superuser on database db of the
 * cluster through psql; returns the rows printed (first column into
 * vals[0..max) when vals is not NULL), or -1.
 */
static int
psql(const char *db, const char *sql, char vals[][128], int max)
{
	char cmd[2048], line[512];
	FILE *f;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "psql -X -q -At -h '%s' -U evdb -d %s"
	    " -c \"%s\" 2>&1", pgdir, db, sql);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (vals != NULL && n < max)
			snprintf(vals[n], 128, "%.127s", line);
		n++;
	}
	return pclose(f) == 0 ? n : -1;
}

/* Connections of pid in pg_stat_activity whose application_name ends in role. */
static int
pg_conns_of(pid_t pid, const char *what)
{
	char sql[256], v[1][128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE"
	    " application_name LIKE 'evdb/%%/%ld/%s'", (long)pid, what);
	if (psql("postgres", sql, v, 1) != 1)
		return -1;
	return atoi(v[0]);
}

/* One pinned RPC from the main thread; the parsed answer (caller puts). */
static struct json_object *
call(struct hconn *c, int host, const char *token, const char *body,
    long *status, char *msg, size_t msglen)
{
	struct http_resp r;
	struct json_object *j = NULL;

	memset(&r, 0, sizeof(r));
	*status = 0;
	if (msg != NULL)
		msg[0] = '\0';
	if (hconn_rpc_to(c, host, token, body, &r) == 0) {
		*status = r.status;
		if (msg != NULL)
			snprintf(msg, msglen, "%s", r.body);
		j = r.json != NULL ? json_object_get(r.json) : NULL;
	}
	http_resp_free(&r);
	return j;
}

/* GET /health pinned to host; its status. */
static long
health(struct harness *h, int host)
{
	const char *hdr[2] = { hstr(h, "X-Evdb-Instance: %d", host), NULL };
	struct http_resp r;
	long st;

	memset(&r, 0, sizeof(r));
	http_get(h, "/health", hdr, &r);
	st = r.status;
	http_resp_free(&r);
	return st;
}

/* Waits up to ms for every host's /health to be 200. */
static int
all_healthy(struct harness *h, int ms)
{
	int64_t end = now_ms() + ms;
	int i, good;

	do {
		for (i = 1, good = 1; i <= HOSTS; i++)
			good &= health(h, i) == 200;
		if (good)
			return 1;
		usleep(100000);
	} while (now_ms() < end);
	return 0;
}

/* sys.health pinned to host: the pool figure key, or -1. */
static int64_t
pool_figure(struct hconn *c, int host, const char *key)
{
	struct json_object *j;
	long st;
	int64_t v;

	j = call(c, host, ADM, "[\"sys.health\"]", &st, NULL, 0);
	v = st == 200 ? jpath_int(j, key) : -1;
	json_object_put(j);
	return v == JPATH_NOINT ? -1 : v;
}

/* ---------------------------------------------------------------------- */
/* Writers */

/* One writer thread: writes to its stream through host (0: any). */
struct writer {
	const struct harness *h;	/* the stack */
	int host;			/* X-Evdb-Instance, 0 for nginx's pick */
	char stream[64];		/* where it writes */
	int count;			/* writes to make; 0: until stop */
	bool retry;			/* retry a failed write with its id */
	atomic_int *stop;		/* set by main: stop */
	unsigned seed;			/* for its ids */
	/* results */
	atomic_int acked;		/* writes answered 200 */
	int64_t *pos;			/* their positions, in order */
	int64_t *gpos;			/* their global positions */
	char (*ids)[37];		/* their ids */
	int failed;			/* answers other than 200 */
	int bad;			/* answers neither 200, 502 nor 503 */
	char last_bad[256];		/* the last of those */
	int gave_up;			/* writes given up after retries */
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct hconn *c = hconn_new(w->h);
	struct http_resp r;
	char id[37], *body;
	int n = 0, tries;
	int64_t give_up;

	while (c != NULL && (w->count == 0 || n < w->count) &&
	    !atomic_load(w->stop) && n < MAX_ACKS) {
		uuid4(&w->seed, id);
		body = NULL;
		if (asprintf(&body, "[\"stream.write\",\"%s\",{\"type\":\"T\","
		    "\"data\":{\"n\":%d}},{\"id\":\"%s\"}]", w->stream, n, id) < 0)
			break;
		give_up = now_ms() + WAIT_MS;
		for (tries = 0;; tries++) {
			memset(&r, 0, sizeof(r));
			if (hconn_rpc_to(c, w->host, ADM, body, &r) == 0 &&
			    r.status == 200 && jpath_int(r.json, "position") >= 0) {
				w->pos[n] = jpath_int(r.json, "position");
				w->gpos[n] = jpath_int(r.json, "globalPosition");
				memcpy(w->ids[n], id, 37);
				http_resp_free(&r);
				n++;
				atomic_store(&w->acked, n);
				break;
			}
			w->failed++;
			if (r.status != 502 && r.status != 503) {
				w->bad++;
				snprintf(w->last_bad, sizeof(w->last_bad), "%ld %.120s %.100s",
				    r.status, r.body != NULL ? r.body : "", r.err);
			}
			http_resp_free(&r);
			if (!w->retry || now_ms() > give_up) {
				w->gave_up++;
				break;
			}
			usleep(20000);
		}
		free(body);
		if (!w->retry && w->gave_up > 0)
			break;
	}
	hconn_free(c);
	return NULL;
}

static void
writer_init(struct writer *w, const struct harness *h, int host,
    const char *stream, int count, atomic_int *stop, unsigned seed)
{
	memset(w, 0, sizeof(*w));
	w->h = h;
	w->host = host;
	snprintf(w->stream, sizeof(w->stream), "%s", stream);
	w->count = count;
	w->stop = stop;
	w->seed = seed;
	w->pos = calloc(MAX_ACKS, sizeof(int64_t));
	w->gpos = calloc(MAX_ACKS, sizeof(int64_t));
	w->ids = calloc(MAX_ACKS, 37);
	if (w->pos == NULL || w->gpos == NULL || w->ids == NULL)
		tap_bail("out of memory");
}

static void
writer_free(struct writer *w)
{
	free(w->pos);
	free(w->gpos);
	free(w->ids);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* 1 when v[0..n) sorted is exactly first, first+1, ... (unique, gapless). */
static int
gapless(int64_t *v, size_t n, int64_t first)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_i64);
	for (i = 0; i < n; i++)
		if (v[i] != first + (int64_t)i)
			return 0;
	return 1;
}

/*
 * Checks that every write w acknowledged is in its stream at its position
 * with its id, and that the stream is gapless with every id once.
 */
static int
acked_present(struct harness *h, const struct writer *w, char *why,
    size_t whylen)
{
	struct json_object *all = stream_read_all(h, ADM, w->stream);
	int n = jpath_len(all, ""), i, k, acked = atomic_load(&w->acked);
	const char *id;

	if (n < acked) {
		snprintf(why, whylen, "%s: %d messages, %d acknowledged", w->stream,
		    n, acked);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (jpath_int(all, hstr(h, "%d.2", i)) != i) {
			snprintf(why, whylen, "%s: message %d has position %s",
			    w->stream, i, jpath_text(h, all, hstr(h, "%d.2", i)));
			return 0;
		}
		id = jpath_str(all, hstr(h, "%d.0", i));
		for (k = 0; k < i; k++)
			if (id != NULL && strcmp(id, jpath_str(all,
			    hstr(h, "%d.0", k))) == 0) {
				snprintf(why, whylen, "%s: id %s twice (positions"
				    " %d, %d)", w->stream, id, k, i);
				return 0;
			}
	}
	for (i = 0; i < acked; i++) {
		id = jpath_str(all, hstr(h, "%lld.0", (long long)w->pos[i]));
		if (id == NULL || strcmp(id, w->ids[i]) != 0) {
			snprintf(why, whylen, "%s: acknowledged %s at %lld, found %s",
			    w->stream, w->ids[i], (long long)w->pos[i],
			    id != NULL ? id : "nothing");
			return 0;
		}
	}
	return 1;
}

/* ---------------------------------------------------------------------- */
/* SSE over HTTP/1.0 (no chunking: the body ends when the connection does) */

struct poke {
	char stream[64];		/* data.stream */
	int64_t pos;			/* data.position */
	int64_t gpos;			/* data.globalPosition */
};

struct sub {
	int fd;				/* the connection, or -1 */
	char *buf;			/* bytes received not yet parsed */
	size_t len, cap;		/* of buf */
	int status;			/* HTTP status, 0 before the head */
	int headed;			/* the head is parsed */
	struct poke *pokes;		/* pokes received, in order */
	size_t npokes, cappokes;	/* of pokes */
	int closed;			/* the peer closed */
};

static struct sub *
sub_open_as(struct harness *h, int host, const char *token, const char *query)
{
	struct sub *s = calloc(1, sizeof(*s));
	struct sockaddr_in sin;
	char req[1024];
	int port = 0, n;

	if (s == NULL)
		tap_bail("out of memory");
	s->fd = -1;
	sscanf(harness_url(h), "http://127.0.0.1:%d", &port);
	n = snprintf(req, sizeof(req), "GET /subscribe?%s HTTP/1.0\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	    "X-Evdb-Instance: %d\r\n\r\n", query, token, host);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if ((s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(s->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    send(s->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		s->closed = 1;
	return s;
}

static struct sub *
sub_open(struct harness *h, int host, const char *query)
{
	return sub_open_as(h, host, ADM, query);
}

/* Parses the complete frames in s->buf. */
static void
sub_parse(struct sub *s)
{
	char *end, *d;
	size_t used;
	struct json_object *j;
	struct poke *p;

	if (!s->headed) {
		if ((end = memmem(s->buf, s->len, "\r\n\r\n", 4)) == NULL)
			return;
		sscanf(s->buf, "HTTP/%*d.%*d %d", &s->status);
		used = (size_t)(end - s->buf) + 4;
		memmove(s->buf, s->buf + used, s->len - used);
		s->len -= used;
		s->headed = 1;
	}
	while ((end = memmem(s->buf, s->len, "\n\n", 2)) != NULL) {
		*end = '\0';
		if ((d = strstr(s->buf, "\ndata: ")) != NULL &&
		    (j = json_tokener_parse(d + 7)) != NULL) {
			if (s->npokes == s->cappokes) {
				s->cappokes = s->cappokes ? 2 * s->cappokes : 256;
				s->pokes = realloc(s->pokes, s->cappokes * sizeof(*p));
				if (s->pokes == NULL)
					tap_bail("out of memory");
			}
			p = &s->pokes[s->npokes++];
			snprintf(p->stream, sizeof(p->stream), "%s",
			    jpath_str(j, "stream") ? jpath_str(j, "stream") : "");
			p->pos = jpath_int(j, "position");
			p->gpos = jpath_int(j, "globalPosition");
			json_object_put(j);
		}
		used = (size_t)(end - s->buf) + 2;
		memmove(s->buf, s->buf + used, s->len - used);
		s->len -= used;
	}
}

/* Receives for up to ms, or until n pokes are in. */
static void
sub_pump(struct sub *s, size_t n, int ms)
{
	int64_t end = now_ms() + ms;
	struct pollfd pfd;
	char chunk[65536];
	ssize_t got;
	int left;

	while (!s->closed && s->npokes < n && (left = (int)(end - now_ms())) > 0) {
		pfd.fd = s->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		got = read(s->fd, chunk, sizeof(chunk));
		if (got <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			s->closed = 1;
			break;
		}
		if (s->len + (size_t)got + 1 > s->cap) {
			s->cap = (s->len + (size_t)got + 1) * 2;
			if ((s->buf = realloc(s->buf, s->cap)) == NULL)
				tap_bail("out of memory");
		}
		memcpy(s->buf + s->len, chunk, (size_t)got);
		s->len += (size_t)got;
		s->buf[s->len] = '\0';
		sub_parse(s);
	}
}

static void
sub_close(struct sub *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	free(s->pokes);
	free(s);
}

/* ---------------------------------------------------------------------- */
/* The cases */

static void
test_identity(struct harness *h, struct hconn *c)
{
	pid_t pid[HOSTS + 1];
	int i, good = 1, conns, watch;

	for (i = 1; i <= HOSTS; i++) {
		pid[i] = harness_instance_pid(h, i);
		conns = pg_conns_of(pid[i], "conn");
		watch = pg_conns_of(pid[i], "watch");
		tap_diag("host %d: pid %ld, %d conn + %d watch connections", i,
		    (long)pid[i], conns, watch);
		if (pid[i] <= 0 || conns < 1 || watch != 1)
			good = 0;
	}
	ok(pid[1] != pid[2] && pid[2] != pid[3] && pid[1] != pid[3] && good,
	    "3 evdb processes; pg_stat_activity shows each one's connections as"
	    " evdb/<host>/<pid>/conn and one evdb/<host>/<pid>/watch");
	for (i = 1, good = 1; i <= HOSTS; i++)
		if (pool_figure(c, i, "pool.open") < 1 ||
		    pool_figure(c, i, "pool.inUse") < 1 ||
		    pool_figure(c, i, "pool.idle") < 0 ||
		    pool_figure(c, i, "pool.waits") < 0 ||
		    pool_figure(c, i, "pool.reconnects") < 0)
			good = 0;
	ok(good, "sys.health on every host shows its pool (open, inUse, idle,"
	    " waits, reconnects)");
	for (i = 1, good = 1; i <= HOSTS; i++) {
		static const char *const names[] = {
			"evdb_store_pool_connections{state=\"in_use\"} ",
			"evdb_store_pool_connections{state=\"idle\"} ",
			"evdb_store_pool_waits_total ",
			"evdb_store_pool_reconnects_total ",
			"evdb_store_pool_connect_failures_total ",
			"evdb_store_pool_refused_total ",
		};
		struct http_resp r;
		size_t k;

		memset(&r, 0, sizeof(r));
		http_get(h, "/metrics", (const char *const[]){
		    hstr(h, "Authorization: Bearer %s", ADM),
		    hstr(h, "X-Evdb-Instance: %d", i), NULL }, &r);
		if (r.status != 200 || r.body == NULL)
			good = 0;
		for (k = 0; good && k < sizeof(names) / sizeof(names[0]); k++)
			if (strstr(r.body, names[k]) == NULL) {
				tap_diag("host %d: /metrics has no %s", i, names[k]);
				good = 0;
			}
		http_resp_free(&r);
	}
	ok(good, "/metrics on every host shows its pool (connections in use and"
	    " idle, waits, reconnects, connect failures, refused)");
}

/* One request of a race: body through host, started with the others. */
struct racer {
	const struct harness *h;
	int host;
	char body[256];
	pthread_barrier_t *go;
	/* results */
	long status;
	int64_t pos, gpos;		/* of a 200, else -1 */
	char code[48];			/* error.code of another answer */
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	struct hconn *c = hconn_new(r->h);
	struct http_resp resp;
	const char *code;

	r->status = 0;
	r->pos = r->gpos = -1;
	r->code[0] = '\0';
	memset(&resp, 0, sizeof(resp));
	pthread_barrier_wait(r->go);
	if (c != NULL && hconn_rpc_to(c, r->host, ADM, r->body, &resp) == 0) {
		r->status = resp.status;
		if (resp.status == 200) {
			r->pos = jpath_int(resp.json, "position");
			r->gpos = jpath_int(resp.json, "globalPosition");
		} else if ((code = jpath_str(resp.json, "error.code")) != NULL)
			snprintf(r->code, sizeof(r->code), "%s", code);
	}
	http_resp_free(&resp);
	hconn_free(c);
	return NULL;
}

/* Runs n racers at once; they are spread over the hosts in turn. */
static void
race(struct racer *r, int n)
{
	pthread_t t[RACERS];
	pthread_barrier_t go;
	int i;

	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (i = 0; i < n; i++) {
		r[i].go = &go;
		pthread_create(&t[i], NULL, racer_main, &r[i]);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
}

/*
 * Idempotent retries and expectedVersion races give the same answers
 * whichever host gets them: a write's id retried on the other hosts, one
 * after the other and all at once, and writers with the same
 * expectedVersion on the three hosts at once.
 */
static void
test_same_everywhere(struct harness *h, struct hconn *c)
{
	static const char id1[] = "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7";
	static const char id2[] = "7a2b3c4d-5e6f-4a70-9b81-a2c3d4e5f607";
	struct racer r[RACERS];
	struct json_object *j;
	char body[256], msg[512];
	long st;
	int64_t pos = -1, gpos = -1;
	int i, round, good, wins, lost, other;

	snprintf(body, sizeof(body), "[\"stream.write\",\"idem-1\",{\"type\":"
	    "\"T\",\"data\":{\"n\":1}},{\"id\":\"%s\"}]", id1);
	j = call(c, 1, ADM, body, &st, msg, sizeof(msg));
	if (st == 200) {
		pos = jpath_int(j, "position");
		gpos = jpath_int(j, "globalPosition");
	}
	json_object_put(j);
	for (i = 2, good = st == 200 && pos == 0; i <= HOSTS; i++) {
		j = call(c, i, ADM, body, &st, msg, sizeof(msg));
		if (st != 200 || jpath_int(j, "position") != pos ||
		    jpath_int(j, "globalPosition") != gpos)
			good = 0;
		json_object_put(j);
	}
	ok(good, "a write with an id through host 1, retried through hosts 2"
	    " and 3: the same positions (%lld, %lld) every time: %s",
	    (long long)pos, (long long)gpos, msg);
	snprintf(body, sizeof(body), "[\"stream.write\",\"idem-1\",{\"type\":"
	    "\"T\",\"data\":{\"n\":2}},{\"id\":\"%s\"}]", id1);
	j = call(c, 3, ADM, body, &st, msg, sizeof(msg));
	json_object_put(j);
	ok(st == 409 && strstr(msg, "MESSAGE_ID_CONFLICT") != NULL, "its id with"
	    " other data through host 3: 409 MESSAGE_ID_CONFLICT (%ld %s)", st,
	    msg);

	/* The same new id through every host at once. */
	for (i = 0; i < RACERS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].h = h;
		r[i].host = i % HOSTS + 1;
		snprintf(r[i].body, sizeof(r[i].body), "[\"stream.write\","
		    "\"idem-1\",{\"type\":\"T\",\"data\":{\"n\":3}},{\"id\":"
		    "\"%s\"}]", id2);
	}
	race(r, RACERS);
	for (i = 0, good = 1; i < RACERS; i++) {
		if (r[i].status != 200 || r[i].pos != r[0].pos ||
		    r[i].gpos != r[0].gpos) {
			tap_diag("racer %d (host %d): %ld %s pos %lld", i, r[i].host,
			    r[i].status, r[i].code, (long long)r[i].pos);
			good = 0;
		}
	}
	j = call(c, 2, ADM, "[\"stream.get\",\"idem-1\"]", &st, msg,
	    sizeof(msg));
	ok(good && r[0].pos == 1 && st == 200 && jpath_len(j, "") == 2,
	    "%d writes of one new id at once through the 3 hosts: all 200 at"
	    " position %lld, and the stream holds it once (%d messages)",
	    RACERS, (long long)r[0].pos, jpath_len(j, ""));
	json_object_put(j);

	/* expectedVersion races: one winner a round, whichever host. */
	j = call(c, 1, ADM, "[\"stream.write\",\"race-1\",{\"type\":\"T\","
	    "\"data\":{}}]", &st, msg, sizeof(msg));
	json_object_put(j);
	for (round = 0, good = st == 200, other = 0; round < RACE_ROUNDS;
	    round++) {
		for (i = 0; i < RACERS; i++) {
			memset(&r[i], 0, sizeof(r[i]));
			r[i].h = h;
			r[i].host = (i + round) % HOSTS + 1;
			snprintf(r[i].body, sizeof(r[i].body), "[\"stream.write\","
			    "\"race-1\",{\"type\":\"T\",\"data\":{\"r\":%d,"
			    "\"i\":%d}},{\"expectedVersion\":%d}]", round, i,
			    round);
		}
		race(r, RACERS);
		for (i = 0, wins = 0, lost = 0; i < RACERS; i++) {
			if (r[i].status == 200 && r[i].pos == round + 1)
				wins++;
			else if (r[i].status == 409 &&
			    strcmp(r[i].code, "STREAM_VERSION_CONFLICT") == 0)
				lost++;
			else {
				tap_diag("round %d, racer %d (host %d): %ld %s", round,
				    i, r[i].host, r[i].status, r[i].code);
				other++;
			}
		}
		if (wins != 1 || lost != RACERS - 1)
			good = 0;
	}
	j = call(c, 3, ADM, "[\"stream.version\",\"race-1\"]", &st, msg,
	    sizeof(msg));
	ok(good && other == 0 && st == 200 && json_object_get_int64(j) ==
	    RACE_ROUNDS, "%d rounds of %d writers with one expectedVersion"
	    " through the 3 hosts at once: one 200 a round, the others 409"
	    " STREAM_VERSION_CONFLICT (%d other answers); version %s",
	    RACE_ROUNDS, RACERS, other, msg);
	json_object_put(j);
}

static void
test_spread(struct harness *h)
{
	static struct writer w[SPREAD_WRITERS];
	pthread_t t[SPREAD_WRITERS];
	atomic_int stop = 0;
	int64_t *pos = calloc(SPREAD_WRITERS * SPREAD_EACH, sizeof(int64_t));
	size_t n = 0;
	int i, k, failed = 0;

	for (i = 0; i < SPREAD_WRITERS; i++) {
		writer_init(&w[i], h, i % HOSTS + 1, "spread-1", SPREAD_EACH, &stop,
		    (unsigned)i * 7919u + 1);
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	for (i = 0; i < SPREAD_WRITERS; i++) {
		pthread_join(t[i], NULL);
		failed += w[i].failed;
		for (k = 0; k < atomic_load(&w[i].acked); k++)
			pos[n++] = w[i].pos[k];
	}
	ok(n == SPREAD_WRITERS * SPREAD_EACH && failed == 0, "%d writers on one"
	    " stream through 3 hosts: %zu of %d writes answered 200 (%d failed)",
	    SPREAD_WRITERS, n, SPREAD_WRITERS * SPREAD_EACH, failed);
	ok(gapless(pos, n, 0), "their positions are unique and gapless (0..%zu)",
	    n - 1);
	for (i = 0; i < SPREAD_WRITERS; i++)
		writer_free(&w[i]);
	free(pos);
}

/* The global-order reader of test_categories: reads "" from position 1. */
struct greader {
	const struct harness *h;
	atomic_int *writers_done;	/* the writers have finished */
	int64_t want;			/* messages it must reach in the end */
	int64_t *seen;			/* global positions in the order read */
	size_t nseen;
	int out_of_order;		/* a position not above the last one */
	int errors;			/* answers other than 200 */
};

static void *
greader_main(void *arg)
{
	struct greader *g = arg;
	struct hconn *c = hconn_new(g->h);
	struct http_resp r;
	int64_t next = 1, gp, end = now_ms() + 120000;
	int i, n;

	while (c != NULL && now_ms() < end) {
		char body[128];

		snprintf(body, sizeof(body), "[\"category.get\",\"\",{\"position\":"
		    "%lld,\"batchSize\":50}]", (long long)next);
		memset(&r, 0, sizeof(r));
		if (hconn_rpc_to(c, 2, ADM, body, &r) != 0 || r.status != 200) {
			g->errors++;
			http_resp_free(&r);
			continue;
		}
		n = jpath_len(r.json, "");
		for (i = 0; i < n; i++) {
			char key[32];

			snprintf(key, sizeof(key), "%d.4", i);
			gp = jpath_int(r.json, key);
			if (gp < next)
				g->out_of_order++;
			if (g->nseen < (size_t)(g->want + 100))
				g->seen[g->nseen++] = gp;
			next = gp + 1;
		}
		http_resp_free(&r);
		if (n == 0 && atomic_load(g->writers_done) &&
		    (int64_t)g->nseen >= g->want)
			break;
	}
	hconn_free(c);
	return NULL;
}

static void
test_categories(struct harness *h, struct hconn *c)
{
	static struct writer w[CATS * HOSTS];
	pthread_t t[CATS * HOSTS], rt;
	atomic_int stop = 0, done = 0;
	struct greader g;
	struct json_object *j;
	long st;
	int64_t head, base, *gp;
	size_t n = 0, i;
	int k, failed = 0;

	/* The namespace's head before: the reader must see everything above. */
	j = call(c, 1, ADM, "[\"category.get\",\"\",{\"position\":1,"
	    "\"batchSize\":-1}]", &st, NULL, 0);
	base = jpath_len(j, "") > 0 ? jpath_int(j, hstr(h, "%d.4",
	    jpath_len(j, "") - 1)) : 0;
	json_object_put(j);
	memset(&g, 0, sizeof(g));
	g.h = h;
	g.writers_done = &done;
	g.want = base + CATS * HOSTS * CAT_EACH;
	g.seen = calloc((size_t)g.want + 100, sizeof(int64_t));
	pthread_create(&rt, NULL, greader_main, &g);
	for (i = 0; i < CATS * HOSTS; i++) {
		writer_init(&w[i], h, (int)(i % HOSTS) + 1, hstr(h, "cat%zu-%zu",
		    i / HOSTS, i % HOSTS), CAT_EACH, &stop, (unsigned)i * 104729u + 3);
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	gp = calloc(CATS * HOSTS * CAT_EACH, sizeof(int64_t));
	for (i = 0; i < CATS * HOSTS; i++) {
		pthread_join(t[i], NULL);
		failed += w[i].failed;
		for (k = 0; k < atomic_load(&w[i].acked); k++)
			gp[n++] = w[i].gpos[k];
	}
	atomic_store(&done, 1);
	pthread_join(rt, NULL);
	ok(n == CATS * HOSTS * CAT_EACH && failed == 0, "10 categories written"
	    " through 3 hosts: %zu writes answered 200 (%d failed)", n, failed);
	ok(gapless(gp, n, base + 1), "their global positions are unique and"
	    " gapless (%lld..%lld)", (long long)base + 1, (long long)(base + (int64_t)n));
	head = g.nseen > 0 ? g.seen[g.nseen - 1] : 0;
	ok(g.out_of_order == 0 && (int64_t)g.nseen == g.want &&
	    gapless(g.seen, g.nseen, 1) && head == g.want,
	    "a reader following global order on host 2 while they were written"
	    " saw %zu messages, every one of 1..%lld once, in order"
	    " (%d out of order, %d errors)", g.nseen, (long long)g.want,
	    g.out_of_order, g.errors);
	for (i = 0; i < CATS * HOSTS; i++)
		writer_free(&w[i]);
	free(gp);
	free(g.seen);
}

static void
test_sse(struct harness *h)
{
	struct writer w[2];
	pthread_t t[2];
	atomic_int stop = 0;
	struct writer pre;
	struct sub *s;
	size_t i, want = SSE_BEFORE + SSE_LIVE, inorder = 1;

	writer_init(&pre, h, 0, "sse-1", SSE_BEFORE, &stop, 11);
	writer_main(&pre);
	s = sub_open(h, 1, "stream=sse-1");
	/* Live writes through hosts 2 and 3 start at once: the catch-up of
	 * the 150 already there runs into them. */
	writer_init(&w[0], h, 2, "sse-1", SSE_LIVE / 2, &stop, 12);
	writer_init(&w[1], h, 3, "sse-1", SSE_LIVE / 2, &stop, 13);
	pthread_create(&t[0], NULL, writer_main, &w[0]);
	pthread_create(&t[1], NULL, writer_main, &w[1]);
	sub_pump(s, want, WAIT_MS);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	/* Anything more than wanted would be a duplicate: wait a little. */
	sub_pump(s, want + 1, 500);
	ok(s->status == 200, "a subscriber on host 1: 200 (%d)", s->status);
	for (i = 0; i < s->npokes; i++)
		if (s->pokes[i].pos != (int64_t)i || strcmp(s->pokes[i].stream,
		    "sse-1") != 0)
			inorder = 0;
	ok(atomic_load(&w[0].acked) + atomic_load(&w[1].acked) == SSE_LIVE &&
	    atomic_load(&pre.acked) == SSE_BEFORE,
	    "%d written before, %d through hosts 2 and 3 while it caught up",
	    atomic_load(&pre.acked), atomic_load(&w[0].acked) +
	    atomic_load(&w[1].acked));
	ok(s->npokes == want && inorder, "it got %zu pokes for %zu writes,"
	    " positions 0..%zu each exactly once, in order", s->npokes, want,
	    want - 1);
	sub_close(s);
	writer_free(&pre);
	writer_free(&w[0]);
	writer_free(&w[1]);
}

static void
test_consumer_groups(struct harness *h)
{
	struct sub *s[HOSTS];
	struct writer w;
	atomic_int stop = 0;
	int owner[CG_STREAMS + 1], count[CG_STREAMS + 1];
	size_t i, total = 0;
	int m, k, good = 1, twice = 0;

	for (m = 0; m < HOSTS; m++)
		s[m] = sub_open(h, m + 1, hstr(h, "category=cg&consumer=%d&size=%d",
		    m, HOSTS));
	/* Two messages per stream, through any host. */
	for (k = 1; k <= CG_STREAMS; k++) {
		writer_init(&w, h, k % HOSTS + 1, hstr(h, "cg-%d", k), 2, &stop,
		    (unsigned)k + 100);
		writer_main(&w);
		if (atomic_load(&w.acked) != 2)
			good = 0;
		writer_free(&w);
	}
	for (m = 0; m < HOSTS; m++) {
		sub_pump(s[m], 2 * CG_STREAMS, 3000);
		total += s[m]->npokes;
	}
	for (m = 0; m < HOSTS; m++)
		sub_pump(s[m], 2 * CG_STREAMS + 1, 300);
	memset(owner, -1, sizeof(owner));
	memset(count, 0, sizeof(count));
	for (m = 0, total = 0; m < HOSTS; m++)
		for (i = 0; i < s[m]->npokes; i++) {
			k = atoi(s[m]->pokes[i].stream + 3);
			if (k < 1 || k > CG_STREAMS)
				continue;
			total++;
			if (owner[k] != -1 && owner[k] != m)
				twice++;
			owner[k] = m;
			count[k]++;
		}
	for (k = 1; k <= CG_STREAMS; k++)
		if (count[k] != 2)
			good = 0;
	ok(good && twice == 0 && total == 2 * CG_STREAMS, "3 consumer-group"
	    " members on 3 hosts: %zu pokes for %d messages of %d streams, each"
	    " stream to one member only (%d split), each message once",
	    total, 2 * CG_STREAMS, CG_STREAMS, twice);
	for (m = 0; m < HOSTS; m++) {
		tap_diag("member %d (host %d): %zu pokes", m, m + 1, s[m]->npokes);
		sub_close(s[m]);
	}
}

static void
test_namespaces(struct harness *h, struct hconn *c)
{
	struct json_object *j;
	char msg[512], *tok, *tok2;
	struct sub *sub;
	long st;
	int64_t t0, took = -1;
	int i, good = 0, refused, written, other;

	j = call(c, 1, ADM, "[\"ns.create\",\"mh-tenant\"]", &st, msg, sizeof(msg));
	tok = jpath_str(j, "token") != NULL ? strdup(jpath_str(j, "token")) : NULL;
	json_object_put(j);
	ok(st == 200 && tok != NULL, "ns.create on host 1: %ld", st);
	j = call(c, 2, tok, "[\"stream.write\",\"a-1\",{\"type\":\"T\",\"data\":{}}]",
	    &st, msg, sizeof(msg));
	ok(st == 200 && jpath_int(j, "position") == 0, "its token writes on host 2"
	    " at once: %ld %s", st, msg);
	json_object_put(j);
	j = call(c, 3, tok, "[\"stream.get\",\"a-1\"]", &st, msg, sizeof(msg));
	ok(st == 200 && jpath_len(j, "") == 1, "and reads on host 3: %ld %s", st,
	    msg);
	json_object_put(j);
	/* Every worker of host 1 (round robin over them) caches the row. */
	for (i = 0; i < MH_NS_WRITES; i++) {
		j = call(c, 1, tok, "[\"stream.write\",\"b-1\",{\"type\":\"T\","
		    "\"data\":{}}]", &st, msg, sizeof(msg));
		json_object_put(j);
		if (st == 200)
			good++;
	}
	ok(good == MH_NS_WRITES, "%d writes to b-1 through host 1: %d answered 200",
	    MH_NS_WRITES, good);
	sub = sub_open_as(h, 1, tok, "stream=a-1");
	sub_pump(sub, 1, WAIT_MS);
	ok(sub->status == 200 && sub->npokes == 1, "a subscriber of it on host 1"
	    " gets its message (%d, %zu pokes)", sub->status, sub->npokes);
	j = call(c, 2, ADM, "[\"ns.delete\",\"mh-tenant\"]", &st, msg, sizeof(msg));
	json_object_put(j);
	t0 = now_ms();
	ok(st == 200, "ns.delete on host 2: %ld %s", st, msg);
	while (now_ms() - t0 < 5000) {
		j = call(c, 3, tok, "[\"stream.get\",\"a-1\"]", &st, msg, sizeof(msg));
		json_object_put(j);
		if (st == 403 || st == 401) {
			took = now_ms() - t0;
			break;
		}
		usleep(20000);
	}
	ok(took >= 0 && took < 1000, "its token is refused on host 3 within a"
	    " second (%lld ms): %ld %s", (long long)took, st, msg);
	sub_pump(sub, 2, WAIT_MS);
	ok(sub->closed, "and host 1 ends its subscriber's stream (after %lld ms)",
	    (long long)(now_ms() - t0));
	sub_close(sub);
	refused = written = other = 0;
	for (i = 0; i < MH_NS_WRITES; i++) {
		j = call(c, 1, tok, "[\"stream.write\",\"b-1\",{\"type\":\"T\","
		    "\"data\":{}}]", &st, msg, sizeof(msg));
		json_object_put(j);
		if (st == 403 || (st == 404 && strstr(msg, "NAMESPACE_NOT_FOUND")))
			refused++;
		else if (st == 200)
			written++;
		else
			other++;
	}
	ok(refused == MH_NS_WRITES, "the deleted namespace's token on host 1:"
	    " %d of %d writes refused, %d written, %d other (last: %ld %s)",
	    refused, MH_NS_WRITES, written, other, st, msg);
	j = call(c, 2, ADM, "[\"ns.create\",\"mh-tenant\"]", &st, msg, sizeof(msg));
	tok2 = jpath_str(j, "token") != NULL ? strdup(jpath_str(j, "token")) : NULL;
	json_object_put(j);
	ok(st == 200 && tok2 != NULL, "ns.create of mh-tenant again, on host 2:"
	    " %ld", st);
	good = 0;
	for (i = 0; tok2 != NULL && i < MH_NS_WRITES; i++) {
		j = call(c, 1, tok2, "[\"stream.write\",\"a-1\",{\"type\":\"T\","
		    "\"data\":{}}]", &st, msg, sizeof(msg));
		if (st == 200 && jpath_int(j, "position") == i)
			good++;
		json_object_put(j);
	}
	ok(good == MH_NS_WRITES, "its new token writes through host 1 at once,"
	    " from position 0: %d of %d (last: %ld %s)", good, MH_NS_WRITES, st, msg);
	j = call(c, 3, tok2, "[\"stream.get\",\"a-1\"]", &st, msg, sizeof(msg));
	ok(st == 200 && jpath_len(j, "") == MH_NS_WRITES, "host 3 reads exactly"
	    " those in the new namespace: %ld, %d messages", st, jpath_len(j, ""));
	json_object_put(j);
	j = call(c, 1, tok, "[\"stream.get\",\"a-1\"]", &st, msg, sizeof(msg));
	json_object_put(j);
	ok(st == 403, "the old token stays refused on host 1: %ld %s", st, msg);
	j = call(c, 2, ADM, "[\"ns.delete\",\"mh-tenant\"]", &st, msg, sizeof(msg));
	json_object_put(j);
	free(tok2);
	free(tok);
}

static void
test_listener_loss(struct harness *h, struct hconn *c)
{
	struct writer w;
	atomic_int stop = 0;
	struct sub *s;
	pid_t p1 = harness_instance_pid(h, 1);
	char sql[256];
	int64_t before, end;
	int killed, down, back = 0;

	s = sub_open(h, 1, "stream=listen-1");
	sub_pump(s, 1, 300);	/* the head, and the subscription set up */
	before = pool_figure(c, 1, "pool.reconnects");
	/* The listener cannot come back while the role may open no new
	 * connection (the open ones go on): the writes below reach host 1's
	 * subscriber only through the hub's periodic scan. */
	snprintf(sql, sizeof(sql), "ALTER ROLE %s CONNECTION LIMIT 0", role);
	(void)psql("postgres", sql, NULL, 0);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(pid) FROM"
	    " pg_stat_activity WHERE application_name LIKE 'evdb/%%/%ld/watch'",
	    (long)p1);
	killed = psql("postgres", sql, NULL, 0);
	ok(killed == 1, "host 1's LISTEN connection terminated (%d)", killed);
	usleep(300000);		/* past the rescan at the loss */
	writer_init(&w, h, 2, "listen-1", 3, &stop, 77);
	w.retry = true;
	writer_main(&w);
	sub_pump(s, 3, WAIT_MS);
	down = pg_conns_of(p1, "watch");
	ok(s->npokes == 3 && atomic_load(&w.acked) == 3 && down == 0,
	    "a subscriber on host 1 still gets the 3 writes made through host 2"
	    " (%zu pokes) by the hub's poll, its listener still down (%d)",
	    s->npokes, down);
	snprintf(sql, sizeof(sql), "ALTER ROLE %s CONNECTION LIMIT -1", role);
	(void)psql("postgres", sql, NULL, 0);
	for (end = now_ms() + WAIT_MS; now_ms() < end && !back; usleep(100000))
		back = pg_conns_of(p1, "watch") == 1;
	ok(back && pool_figure(c, 1, "pool.reconnects") > before, "the listener"
	    " is back in pg_stat_activity, and host 1's pool counts the"
	    " reconnect (%lld -> %lld)", (long long)before,
	    (long long)pool_figure(c, 1, "pool.reconnects"));
	writer_free(&w);
	writer_init(&w, h, 3, "listen-1", 2, &stop, 78);
	writer_main(&w);
	sub_pump(s, 5, WAIT_MS);
	ok(s->npokes == 5, "and pokes go on after it is back (%zu of 5)",
	    s->npokes);
	writer_free(&w);
	sub_close(s);
}

static void
test_full(struct harness *h, struct hconn *c)
{
	char sql[256], msg[512];
	struct json_object *j;
	long st = 0;
	int64_t end;
	int i, said = 0, got503 = 0;

	snprintf(sql, sizeof(sql), "ALTER ROLE %s CONNECTION LIMIT 0", role);
	ok(psql("postgres", sql, NULL, 0) >= 0, "the role evdb connects as may"
	    " open no connection (as when max_connections is used up)");
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(pid) FROM"
	    " pg_stat_activity WHERE usename = '%s'", role);
	(void)psql("postgres", sql, NULL, 0);
	usleep(300000);
	for (end = now_ms() + 10000; now_ms() < end && !said;) {
		for (i = 1; i <= HOSTS; i++) {
			j = call(c, i, ADM, "[\"stream.get\",\"full-1\"]", &st, msg,
			    sizeof(msg));
			if (st == 503)
				got503++;
			if (st == 503 && strstr(msg, "BACKEND_UNAVAILABLE") != NULL &&
			    strstr(msg, "max_connections") != NULL)
				said = 1;
			json_object_put(j);
		}
		usleep(50000);
	}
	ok(said, "requests get 503 BACKEND_UNAVAILABLE saying the server has no"
	    " free slot (%d 503s): %s", got503, msg);
	snprintf(sql, sizeof(sql), "ALTER ROLE %s CONNECTION LIMIT -1", role);
	(void)psql("postgres", sql, NULL, 0);
	ok(all_healthy(h, WAIT_MS), "every host serves again once slots are free");
	for (i = 1, said = 0; i <= HOSTS; i++)
		if (pool_figure(c, i, "pool.refused") > 0)
			said++;
	ok(said > 0, "sys.health counts the refused connections (pool.refused"
	    " > 0 on %d hosts)", said);
}

/* Starts LOAD_WRITERS unpinned writers that retry with the same id. */
static void
load_start(struct harness *h, struct writer *w, pthread_t *t, atomic_int *stop,
    const char *tag)
{
	int i;

	for (i = 0; i < LOAD_WRITERS; i++) {
		writer_init(&w[i], h, 0, hstr(h, "%s-%d", tag, i), 0, stop,
		    (unsigned)i * 31u + (unsigned)tag[0]);
		w[i].retry = true;
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
}

static int
load_acked(struct writer *w)
{
	int i, n = 0;

	for (i = 0; i < LOAD_WRITERS; i++)
		n += atomic_load(&w[i].acked);
	return n;
}

/* Waits up to WAIT_MS for more than `than` acknowledged writes. */
static int
load_progress(struct writer *w, int than)
{
	int64_t end = now_ms() + WAIT_MS;

	while (now_ms() < end) {
		if (load_acked(w) > than + LOAD_WRITERS)
			return 1;
		usleep(50000);
	}
	return 0;
}

/* Stops the writers and checks their writes; reports one result. */
static void
load_finish(struct harness *h, struct writer *w, pthread_t *t, atomic_int *stop,
    const char *what)
{
	char why[512] = "";
	int i, good = 1, failed = 0, bad = 0, gave_up = 0;

	atomic_store(stop, 1);
	for (i = 0; i < LOAD_WRITERS; i++) {
		pthread_join(t[i], NULL);
		failed += w[i].failed;
		bad += w[i].bad;
		gave_up += w[i].gave_up;
		if (w[i].failed > 0)
			tap_diag("writer %d (%s): %d acknowledged, %d failed answers",
			    i, w[i].stream, atomic_load(&w[i].acked), w[i].failed);
		if (w[i].bad > 0)
			tap_diag("writer %d: %d bad answers, last %s", i, w[i].bad,
			    w[i].last_bad);
	}
	for (i = 0; i < LOAD_WRITERS && good; i++)
		good = acked_present(h, &w[i], why, sizeof(why));
	ok(good && bad == 0 && gave_up == 0, "%s: %d writes acknowledged, every"
	    " one present once at its position; %d failed answers, all 502/503,"
	    " each retried with its id until 200 (%d given up) %s", what,
	    load_acked(w), failed, gave_up, why);
	for (i = 0; i < LOAD_WRITERS; i++)
		writer_free(&w[i]);
}

static void
test_kill_host(struct harness *h, struct hconn *c)
{
	static struct writer w[LOAD_WRITERS];
	pthread_t t[LOAD_WRITERS];
	atomic_int stop = 0;
	struct json_object *j;
	long st;
	int before, i, served = 0, acked0, inorder;
	struct sub *sub;

	sub = sub_open(h, 1, "stream=kill-0");
	load_start(h, w, t, &stop, "kill");
	ok(load_progress(w, 0), "writers spread over 3 hosts are writing");
	ok(harness_instance_signal(h, 2, SIGKILL) == 0, "kill -9 of host 2");
	before = load_acked(w);
	i = load_progress(w, before);
	ok(i, "the other hosts go on serving: %d more writes acknowledged after"
	    " the kill", load_acked(w) - before);
	for (i = 0; i < 20; i++) {
		j = call(c, 0, ADM, "[\"stream.version\",\"kill-0\"]", &st, NULL, 0);
		json_object_put(j);
		served += st == 200;
	}
	ok(served == 20, "nginx routes around it: %d of 20 unpinned reads 200",
	    served);
	ok(harness_instance_restart(h, 2) == 0, "host 2 restarted answers /health");
	/* It rejoins the rotation: unpinned requests reach it again. */
	before = load_acked(w);
	usleep(2500000);	/* fail_timeout=2s */
	{
		int64_t end = now_ms() + WAIT_MS;
		struct http_resp r;
		const char *hdr[2] = { hstr(h, "Authorization: Bearer %s", ADM),
		    NULL };
		int seen = 0;

		while (!seen && now_ms() < end) {
			memset(&r, 0, sizeof(r));
			http_get(h, "/metrics", (const char *const[]){ hdr[0],
			    "X-Evdb-Instance: 2", NULL }, &r);
			seen = r.status == 200 && r.body != NULL && strstr(r.body,
			    "evdb_requests_total{method=\"stream.write\",status=\"200\"}")
			    != NULL;
			http_resp_free(&r);
			if (!seen)
				usleep(200000);
		}
		ok(seen, "it rejoins: the restarted host 2 serves unpinned writes");
	}
	acked0 = atomic_load(&w[0].acked);
	load_finish(h, w, t, &stop, "kill -9 of one host under load");
	/* The stream kill-0 now holds at least acked0 messages. */
	sub_pump(sub, (size_t)acked0, WAIT_MS);
	for (i = 0, inorder = 1; (size_t)i < sub->npokes; i++)
		if (sub->pokes[i].pos != i)
			inorder = 0;
	ok(!sub->closed && inorder && sub->npokes >= (size_t)acked0,
	    "an SSE stream on host 1 lived through the kill of host 2: %zu pokes"
	    " for kill-0's %d acknowledged writes, each once, in order",
	    sub->npokes, acked0);
	sub_close(sub);
}

static void
test_pg_restart(struct harness *h, struct hconn *c)
{
	static struct writer w[LOAD_WRITERS];
	pthread_t t[LOAD_WRITERS];
	atomic_int stop = 0;
	char args[512];
	int before, i, good;
	int64_t rc[HOSTS + 1];

	for (i = 1; i <= HOSTS; i++)
		rc[i] = pool_figure(c, i, "pool.reconnects");
	load_start(h, w, t, &stop, "pgr");
	ok(load_progress(w, 0), "writers spread over 3 hosts are writing");
	snprintf(args, sizeof(args), "stop '%s' fast", pgdir);
	ok(pgtest_run(args) == 0, "PostgreSQL stopped under load");
	usleep(500000);
	snprintf(args, sizeof(args), "start '%s'", pgdir);
	ok(pgtest_run(args) == 0, "and started again");
	ok(all_healthy(h, WAIT_MS), "every host answers /health 200 again");
	for (i = 1, good = 1; i <= HOSTS; i++) {
		int64_t now = pool_figure(c, i, "pool.reconnects");

		tap_diag("host %d: reconnects %lld -> %lld", i, (long long)rc[i],
		    (long long)now);
		if (now <= rc[i])
			good = 0;
	}
	ok(good, "every host's pool counts its reconnects");
	before = load_acked(w);
	good = load_progress(w, before);
	ok(good, "writes are acknowledged again (%d more)", load_acked(w) - before);
	load_finish(h, w, t, &stop, "PostgreSQL restarted under load");
}

int
main(void)
{
	struct harness *h;
	struct hconn *c;
	char sql[256], store[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A cluster of its own: the last case restarts it. */
	snprintf(pgdir, sizeof(pgdir), "%s", pgtest_start_private("multihost"));
	/* A non-superuser owning its database, so a connection limit binds. */
	snprintf(role, sizeof(role), "mh_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN", role);
	if (psql("postgres", sql, NULL, 0) < 0)
		tap_bail("psql: %s", sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER %s", role, role);
	if (psql("postgres", sql, NULL, 0) < 0)
		tap_bail("psql: %s", sql);
	snprintf(store, sizeof(store), "host=%s user=%s dbname=%s", pgdir, role,
	    role);
	setenv("EVDB_E2E_STORE", store, 1);
	h = harness_start_instances(HOSTS);
	if ((c = hconn_new(h)) == NULL)
		tap_bail("curl");

	test_identity(h, c);
	test_spread(h);
	test_categories(h, c);
	test_same_everywhere(h, c);
	test_sse(h);
	test_consumer_groups(h);
	test_namespaces(h, c);
	test_listener_loss(h, c);
	test_full(h, c);
	test_kill_host(h, c);
	test_pg_restart(h, c);

	hconn_free(c);
	harness_stop(h);
	tap_plan(tap_run);
	return tap_done();
}
