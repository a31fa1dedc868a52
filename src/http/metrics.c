/*
 * metrics.c - lock-free counters and their Prometheus rendering.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "http/metrics.h"
#include "core/xalloc.h"

/* What a request served, as labelled in the metrics; the last is "other". */
static const char *const metrics_labels[] = {
	"stream.write", "stream.get", "stream.last", "stream.version",
	"category.get", "ns.create", "ns.delete", "ns.list", "ns.info",
	"ns.streams", "ns.categories", "sys.version", "sys.health",
	"checkpoint.commit", "checkpoint.get", "checkpoint.list",
	"checkpoint.delete",
	"rpc", "subscribe", "import", "health", "version", "metrics",
	"not-found", "other",
};
#define METRICS_LABELS (sizeof(metrics_labels) / sizeof(metrics_labels[0]))

/* Status codes counted one by one; anything else counts as its class. */
static const int metrics_statuses[] = {
	200, 400, 401, 403, 404, 405, 409, 413, 429, 500, 501, 503, 507,
};
#define METRICS_STATUSES (sizeof(metrics_statuses) / sizeof(metrics_statuses[0]) + 1)

/* Latency histogram bucket bounds, in microseconds. */
static const int64_t metrics_bounds_us[] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000,
};
#define METRICS_BUCKETS (sizeof(metrics_bounds_us) / sizeof(metrics_bounds_us[0]) + 1)

struct metrics {
	atomic_ullong requests[METRICS_LABELS][METRICS_STATUSES]; /* by label and status */
	atomic_ullong latency[METRICS_LABELS][METRICS_BUCKETS];	/* histogram (not cumulative) */
	atomic_ullong latency_sum_us[METRICS_LABELS];		/* sum of durations */
	atomic_ullong writes;		/* messages written */
	atomic_ullong reads;		/* read requests */
	atomic_ullong conflicts;	/* expectedVersion conflicts */
	atomic_ullong abandoned;	/* requests skipped: nginx had closed */
	atomic_ullong parked;		/* requests queued behind their token's limit */
	/* The retention sweeper (src/server/sweeper.c). */
	atomic_ullong retention_removed; /* messages deleted by retention */
	atomic_ullong sweeps;		/* sweeps run */
	atomic_ullong sweep_us_sum;	/* their total duration */
	atomic_ullong sweep_us_last;	/* the last one's duration */
	/* Per namespace (metrics_sweep_ns), under ns_mu: the sweeper writes, scrapes read. */
	pthread_mutex_t ns_mu;
	struct metrics_ns *ns;		/* ns[0..ns_n) */
	size_t ns_n;
	bool ns_truncated;		/* a namespace found no room (METRICS_SWEEP_NAMESPACES) */
	unsigned pass;			/* the sweep pass under way */
};

/* A namespace the retention sweep has removed messages from. */
struct metrics_ns {
	char name[TOKEN_NS_MAX + 1];
	unsigned long long removed;	/* messages deleted by retention */
	unsigned long long us_last;	/* its part of the last sweep */
	unsigned pass;			/* the last pass that swept it */
};

struct metrics *
metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(struct metrics));

	pthread_mutex_init(&m->ns_mu, NULL);
	m->ns = xcalloc(METRICS_SWEEP_NAMESPACES, sizeof(*m->ns));
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->ns_mu);
	free(m->ns);
	free(m);
}

static size_t
metrics_label_index(const char *label)
{
	size_t i;

	for (i = 0; label != NULL && i < METRICS_LABELS - 1; i++)
		if (strcmp(metrics_labels[i], label) == 0)
			return i;
	return METRICS_LABELS - 1;
}

void
metrics_request(struct metrics *m, const char *label, int status, int64_t us)
{
	size_t l = metrics_label_index(label), s, b;
	if (m == NULL)
		return;

	for (s = 0; s < METRICS_STATUSES - 1; s++)
		if (metrics_statuses[s] == status)
			break;
	for (b = 0; b < METRICS_BUCKETS - 1; b++)
		if (us <= metrics_bounds_us[b])
			break;
	atomic_fetch_add_explicit(&m->requests[l][s], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency[l][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_sum_us[l], (unsigned long long)(us > 0 ? us : 0),
	    memory_order_relaxed);
}

void
metrics_writes(struct metrics *m, int64_t n)
{
	if (m == NULL)
		return;
	atomic_fetch_add_explicit(&m->writes, (unsigned long long)n, memory_order_relaxed);
}

void
metrics_read(struct metrics *m)
{
	if (m == NULL)
		return;
	atomic_fetch_add_explicit(&m->reads, 1, memory_order_relaxed);
}

void
metrics_conflict(struct metrics *m)
{
	if (m == NULL)
		return;
	atomic_fetch_add_explicit(&m->conflicts, 1, memory_order_relaxed);
}

void
metrics_sweep_ns(struct metrics *m, const char *ns, int64_t removed, int64_t us)
{
	struct metrics_ns *e = NULL;
	size_t i;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->ns_mu);
	for (i = 0; i < m->ns_n; i++)
		if (strcmp(m->ns[i].name, ns) == 0) {
			e = &m->ns[i];
			break;
		}
	/* A namespace gets its lines once retention has removed something. */
	if (e == NULL && removed > 0) {
		if (m->ns_n < METRICS_SWEEP_NAMESPACES &&
		    strlen(ns) < sizeof(e->name)) {
			e = &m->ns[m->ns_n++];
			memset(e, 0, sizeof(*e));
			memcpy(e->name, ns, strlen(ns) + 1);
		} else
			m->ns_truncated = true;
	}
	if (e != NULL) {
		e->removed += (unsigned long long)(removed > 0 ? removed : 0);
		e->us_last = (unsigned long long)(us > 0 ? us : 0);
		e->pass = m->pass;
	}
	pthread_mutex_unlock(&m->ns_mu);
}

void
metrics_sweep(struct metrics *m, int64_t removed, int64_t us)
{
	size_t i, kept = 0;

	if (m == NULL)
		return;
	atomic_fetch_add_explicit(&m->retention_removed,
	    (unsigned long long)(removed > 0 ? removed : 0), memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sweeps, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sweep_us_sum,
	    (unsigned long long)(us > 0 ? us : 0), memory_order_relaxed);
	atomic_store_explicit(&m->sweep_us_last,
	    (unsigned long long)(us > 0 ? us : 0), memory_order_relaxed);
	/* A namespace this pass did not sweep is gone: its lines go too. */
	pthread_mutex_lock(&m->ns_mu);
	for (i = 0; i < m->ns_n; i++)
		if (m->ns[i].pass == m->pass)
			m->ns[kept++] = m->ns[i];
	m->ns_n = kept;
	m->pass++;
	pthread_mutex_unlock(&m->ns_mu);
}

/* evdb_namespace_retention_*{namespace}: the namespaces of metrics_sweep_ns. */
static void
metrics_render_sweep_ns(struct metrics *m, struct buf *out)
{
	size_t i;

	pthread_mutex_lock(&m->ns_mu);
	buf_puts(out, "# HELP evdb_namespace_retention_removed_total Messages"
	    " deleted by the retention sweep in the namespace (namespaces it has"
	    " removed messages from, since this process started).\n"
	    "# TYPE evdb_namespace_retention_removed_total counter\n");
	for (i = 0; i < m->ns_n; i++)
		buf_printf(out, "evdb_namespace_retention_removed_total"
		    "{namespace=\"%s\"} %llu\n", m->ns[i].name, m->ns[i].removed);
	buf_puts(out, "# HELP evdb_namespace_retention_sweep_last_seconds"
	    " Duration of the namespace's part of the last retention sweep.\n"
	    "# TYPE evdb_namespace_retention_sweep_last_seconds gauge\n");
	for (i = 0; i < m->ns_n; i++)
		buf_printf(out, "evdb_namespace_retention_sweep_last_seconds"
		    "{namespace=\"%s\"} %.6f\n", m->ns[i].name,
		    (double)m->ns[i].us_last / 1e6);
	buf_printf(out, "# HELP evdb_namespace_retention_truncated 1 when more"
	    " than %d namespaces had messages removed and some have no lines.\n"
	    "# TYPE evdb_namespace_retention_truncated gauge\n"
	    "evdb_namespace_retention_truncated %d\n", METRICS_SWEEP_NAMESPACES,
	    m->ns_truncated ? 1 : 0);
	pthread_mutex_unlock(&m->ns_mu);
}

void
metrics_abandoned(struct metrics *m)
{
	if (m == NULL)
		return;
	atomic_fetch_add_explicit(&m->abandoned, 1, memory_order_relaxed);
}

void
metrics_parked(struct metrics *m)
{
	if (m == NULL)
		return;
	atomic_fetch_add_explicit(&m->parked, 1, memory_order_relaxed);
}

static unsigned long long
metrics_get(atomic_ullong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* Sizes of every namespace's database and WAL file. */
static void
metrics_render_files(struct buf *out, const char *data_dir)
{
	char dir[4096], path[4096 + 512];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/ns", data_dir);
	if ((d = opendir(dir)) == NULL)
		return;
	buf_puts(out, "# HELP evdb_namespace_file_bytes Size of a namespace's database files.\n"
	    "# TYPE evdb_namespace_file_bytes gauge\n");
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name, *dot = strchr(name, '.');
		const char *kind;
		size_t n = strlen(name);

		if (dot == NULL)
			continue;
		if (n > 3 && strcmp(name + n - 3, ".db") == 0)
			kind = "db";
		else if (n > 7 && strcmp(name + n - 7, ".db-wal") == 0)
			kind = "wal";
		else
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (stat(path, &sb) != 0)
			continue;
		/* Names are [A-Za-z0-9_-]: no escaping needed in the label. */
		buf_printf(out, "evdb_namespace_file_bytes{namespace=\"%.*s\",file=\"%s\"} %lld\n",
		    (int)(dot - name), name, kind, (long long)sb.st_size);
	}
	closedir(d);
}

/* The store's connection pool (PostgreSQL; docs/operations.md). */
static void
metrics_render_pool(struct buf *out, const struct store_pool_stats *p)
{
	buf_printf(out, "# HELP evdb_store_pool_connections Database connections of this"
	    " process, by state.\n"
	    "# TYPE evdb_store_pool_connections gauge\n"
	    "evdb_store_pool_connections{state=\"in_use\"} %lld\n"
	    "evdb_store_pool_connections{state=\"idle\"} %lld\n"
	    "# HELP evdb_store_pool_waits_total Requests that waited for a database"
	    " connection to be opened.\n"
	    "# TYPE evdb_store_pool_waits_total counter\n"
	    "evdb_store_pool_waits_total %lld\n"
	    "# HELP evdb_store_pool_reconnects_total Database connections opened again"
	    " after one was lost.\n"
	    "# TYPE evdb_store_pool_reconnects_total counter\n"
	    "evdb_store_pool_reconnects_total %lld\n"
	    "# HELP evdb_store_pool_connect_failures_total Failed database connection"
	    " attempts.\n"
	    "# TYPE evdb_store_pool_connect_failures_total counter\n"
	    "evdb_store_pool_connect_failures_total %lld\n"
	    "# HELP evdb_store_pool_refused_total Connection attempts the database"
	    " refused for want of a free slot (max_connections).\n"
	    "# TYPE evdb_store_pool_refused_total counter\n"
	    "evdb_store_pool_refused_total %lld\n",
	    (long long)p->in_use, (long long)p->idle, (long long)p->waits,
	    (long long)p->reconnects, (long long)p->failures, (long long)p->refused);
}

void
metrics_render(struct metrics *m, const struct metrics_gauges *g, struct buf *out)
{
	size_t l, s, b;
	unsigned long long cum;

	buf_puts(out, "# HELP evdb_requests_total Requests served, by what was served and HTTP status.\n"
	    "# TYPE evdb_requests_total counter\n");
	for (l = 0; l < METRICS_LABELS; l++) {
		for (s = 0; s < METRICS_STATUSES; s++) {
			unsigned long long v = metrics_get(&m->requests[l][s]);

			if (v == 0)
				continue;
			if (s < METRICS_STATUSES - 1)
				buf_printf(out, "evdb_requests_total{method=\"%s\",status=\"%d\"} %llu\n",
				    metrics_labels[l], metrics_statuses[s], v);
			else
				buf_printf(out, "evdb_requests_total{method=\"%s\",status=\"other\"} %llu\n",
				    metrics_labels[l], v);
		}
	}
	buf_puts(out, "# HELP evdb_request_duration_seconds Time to serve a request.\n"
	    "# TYPE evdb_request_duration_seconds histogram\n");
	for (l = 0; l < METRICS_LABELS; l++) {
		unsigned long long total = 0;

		for (b = 0; b < METRICS_BUCKETS; b++)
			total += metrics_get(&m->latency[l][b]);
		if (total == 0)
			continue;
		for (b = 0, cum = 0; b < METRICS_BUCKETS; b++) {
			cum += metrics_get(&m->latency[l][b]);
			if (b < METRICS_BUCKETS - 1)
				buf_printf(out, "evdb_request_duration_seconds_bucket{method=\"%s\","
				    "le=\"%g\"} %llu\n", metrics_labels[l],
				    (double)metrics_bounds_us[b] / 1e6, cum);
			else
				buf_printf(out, "evdb_request_duration_seconds_bucket{method=\"%s\","
				    "le=\"+Inf\"} %llu\n", metrics_labels[l], cum);
		}
		buf_printf(out, "evdb_request_duration_seconds_sum{method=\"%s\"} %.6f\n",
		    metrics_labels[l], (double)metrics_get(&m->latency_sum_us[l]) / 1e6);
		buf_printf(out, "evdb_request_duration_seconds_count{method=\"%s\"} %llu\n",
		    metrics_labels[l], total);
	}
	buf_printf(out, "# HELP evdb_messages_written_total Messages written, imports included.\n"
	    "# TYPE evdb_messages_written_total counter\n"
	    "evdb_messages_written_total %llu\n"
	    "# HELP evdb_reads_total Read requests (stream.get, stream.last, category.get).\n"
	    "# TYPE evdb_reads_total counter\n"
	    "evdb_reads_total %llu\n"
	    "# HELP evdb_version_conflicts_total Writes refused for expectedVersion.\n"
	    "# TYPE evdb_version_conflicts_total counter\n"
	    "evdb_version_conflicts_total %llu\n"
	    "# HELP evdb_workers Worker threads.\n"
	    "# TYPE evdb_workers gauge\n"
	    "evdb_workers %d\n"
	    "# HELP evdb_workers_busy Worker threads serving a request now.\n"
	    "# TYPE evdb_workers_busy gauge\n"
	    "evdb_workers_busy %d\n"
	    "# HELP evdb_sse_subscribers SSE subscribers attached.\n"
	    "# TYPE evdb_sse_subscribers gauge\n"
	    "evdb_sse_subscribers %lld\n"
	    "# HELP evdb_sse_pokes_total Pokes sent to SSE subscribers.\n"
	    "# TYPE evdb_sse_pokes_total counter\n"
	    "evdb_sse_pokes_total %lld\n"
	    "# HELP evdb_sqlite_connections Open SQLite connections.\n"
	    "# TYPE evdb_sqlite_connections gauge\n"
	    "evdb_sqlite_connections %lld\n"
	    "# HELP evdb_checkpoints_total WAL checkpoints run by the background checkpointer.\n"
	    "# TYPE evdb_checkpoints_total counter\n"
	    "evdb_checkpoints_total %lld\n",
	    metrics_get(&m->writes), metrics_get(&m->reads), metrics_get(&m->conflicts),
	    g->workers, g->workers_busy, (long long)g->subscribers,
	    (long long)g->pokes_sent, (long long)g->sqlite_connections,
	    (long long)g->checkpoints);
	buf_printf(out, "# HELP evdb_requests_abandoned_total Requests not run because "
	    "nginx had closed their connection (it gave up on them).\n"
	    "# TYPE evdb_requests_abandoned_total counter\n"
	    "evdb_requests_abandoned_total %llu\n"
	    "# HELP evdb_requests_parked_total Requests queued because their token had "
	    "token-concurrency requests running.\n"
	    "# TYPE evdb_requests_parked_total counter\n"
	    "evdb_requests_parked_total %llu\n",
	    metrics_get(&m->abandoned), metrics_get(&m->parked));
	if (g->has_pool)
		metrics_render_pool(out, &g->pool);
	buf_printf(out, "# HELP evdb_retention_removed_total Messages deleted by the"
	    " retention sweep (maxAge, maxCount).\n"
	    "# TYPE evdb_retention_removed_total counter\n"
	    "evdb_retention_removed_total %llu\n"
	    "# HELP evdb_retention_sweeps_total Retention sweeps run.\n"
	    "# TYPE evdb_retention_sweeps_total counter\n"
	    "evdb_retention_sweeps_total %llu\n"
	    "# HELP evdb_retention_sweep_seconds_total Time spent in retention sweeps.\n"
	    "# TYPE evdb_retention_sweep_seconds_total counter\n"
	    "evdb_retention_sweep_seconds_total %.6f\n"
	    "# HELP evdb_retention_sweep_last_seconds Duration of the last retention sweep.\n"
	    "# TYPE evdb_retention_sweep_last_seconds gauge\n"
	    "evdb_retention_sweep_last_seconds %.6f\n",
	    metrics_get(&m->retention_removed), metrics_get(&m->sweeps),
	    (double)metrics_get(&m->sweep_us_sum) / 1e6,
	    (double)metrics_get(&m->sweep_us_last) / 1e6);
	metrics_render_sweep_ns(m, out);
	if (g->data_dir != NULL)
		metrics_render_files(out, g->data_dir);
}

/* ---- consumer checkpoint lag ---------------------------------------------- */

/* The namespaces a scrape looks at. */
struct metrics_lag_names {
	char (*names)[TOKEN_NS_MAX + 1];	/* names[0..n) */
	size_t n;
	bool truncated;				/* more than METRICS_LAG_NAMESPACES */
};

static enum evdb_status
metrics_lag_ns(void *ctx, const char *ns)
{
	struct metrics_lag_names *l = ctx;

	if (l->n == METRICS_LAG_NAMESPACES) {
		l->truncated = true;
		return EVDB_ERR_LIMIT;
	}
	snprintf(l->names[l->n++], TOKEN_NS_MAX + 1, "%s", ns);
	return EVDB_OK;
}

/* One namespace's rows. */
struct metrics_lag_rows {
	struct buf *out;
	const char *ns;			/* namespace name */
	int64_t head;			/* its head global position */
	size_t left;			/* rows still allowed */
	bool truncated;			/* a row was left out */
};

static enum evdb_status
metrics_lag_row(void *ctx, const struct store_consumer_checkpoint *cp)
{
	struct metrics_lag_rows *r = ctx;
	int64_t lag = r->head - cp->position;

	if (r->left == 0) {
		r->truncated = true;
		return EVDB_ERR_LIMIT;
	}
	/* Names are [A-Za-z0-9:._-] and [A-Za-z0-9_-]: no escaping needed. */
	buf_printf(r->out, "evdb_checkpoint_lag{namespace=\"%s\",consumer=\"%.*s\","
	    "member=\"", r->ns, (int)cp->name_len, cp->name);
	if (cp->size > 0)
		buf_printf(r->out, "%lld/%lld", (long long)cp->member,
		    (long long)cp->size);
	buf_printf(r->out, "\"} %lld\n", (long long)(lag > 0 ? lag : 0));
	r->left--;
	return EVDB_OK;
}

void
metrics_render_checkpoint_lag(struct store_conn *c, struct buf *out)
{
	struct metrics_lag_names l;
	struct metrics_lag_rows r;
	enum evdb_status rs;
	bool truncated;
	size_t i;

	memset(&l, 0, sizeof(l));
	l.names = xcalloc(METRICS_LAG_NAMESPACES, sizeof(*l.names));
	rs = store_consumer_namespaces(c, metrics_lag_ns, &l);
	truncated = l.truncated || (rs != EVDB_OK && rs != EVDB_ERR_LIMIT);
	buf_puts(out, "# HELP evdb_checkpoint_lag Messages a consumer checkpoint is"
	    " behind its namespace's head (head global position minus the"
	    " checkpoint's).\n# TYPE evdb_checkpoint_lag gauge\n");
	memset(&r, 0, sizeof(r));
	r.out = out;
	r.left = METRICS_LAG_ROWS;
	for (i = 0; i < l.n && !r.truncated; i++) {
		r.ns = l.names[i];
		if (store_head(c, r.ns, &r.head) != EVDB_OK)
			continue;
		/* One row more than allowed tells whether the bound cut the list. */
		(void)store_consumer_list(c, r.ns, (int64_t)r.left + 1,
		    metrics_lag_row, &r);
	}
	truncated = truncated || r.truncated;
	buf_printf(out, "# HELP evdb_checkpoint_lag_truncated 1 when"
	    " evdb_checkpoint_lag leaves checkpoints out (more than %d"
	    " namespaces or %d checkpoints).\n"
	    "# TYPE evdb_checkpoint_lag_truncated gauge\n"
	    "evdb_checkpoint_lag_truncated %d\n", METRICS_LAG_NAMESPACES,
	    METRICS_LAG_ROWS, truncated ? 1 : 0);
	free(l.names);
}
