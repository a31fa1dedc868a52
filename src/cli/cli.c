/*
 * cli.c - the administrative subcommands: the dispatch table, the option
 * parsing of backup, restore and report, and helpers shared by every
 * subcommand (see cli.h; what only export and import share is in
 * cli_remote.c).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/backup.h"
#include "cli/cli.h"
#include "cli/report.h"
#include "core/settings.h"
#include "core/xalloc.h"
#include "store/store.h"

/* One subcommand: its name and its entry point (argv as in cli.h). */
struct cli_command {
	const char *name;			/* as typed after "evdb" */
	int (*run)(int argc, char **argv);	/* returns the exit status */
	const char *summary;			/* one line for "evdb help" */
};

static int cli_backup_main(int argc, char **argv);
static int cli_restore_main(int argc, char **argv);
static int cli_report_main(int argc, char **argv);

static const struct cli_command cli_commands[] = {
	{ "export", cli_export_main,
	    "write a namespace's messages as NDJSON, through a running server" },
	{ "import", cli_import_main,
	    "load an NDJSON export into a namespace, through a running server" },
	{ "backup", cli_backup_main,
	    "copy a data directory while evdb keeps serving it" },
	{ "restore", cli_restore_main,
	    "make a data directory from a backup" },
	{ "report", cli_report_main,
	    "print a namespace's streams, categories or message types" },
};

#define CLI_NCOMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

static const struct cli_command *
cli_find(const char *name)
{
	size_t i;

	for (i = 0; i < CLI_NCOMMANDS; i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	return NULL;
}

bool
cli_is_command(const char *name)
{
	return name != NULL && cli_find(name) != NULL;
}

void
cli_list(FILE *out)
{
	size_t i;

	for (i = 0; i < CLI_NCOMMANDS; i++)
		fprintf(out, "  %-9s %s\n", cli_commands[i].name,
		    cli_commands[i].summary);
}

int
cli_main(const char *name, int argc, char **argv)
{
	const struct cli_command *cmd = cli_find(name);
	char **args = NULL, *prog = NULL;
	size_t n;
	int i, rc;

	if (cmd == NULL || argc < 0) {
		fprintf(stderr, "evdb: unknown command '%s'\n", name);
		return CLI_EXIT_USAGE;
	}
	/* getopt_long wants the program name in argv[0] and a NULL at the end. */
	n = xadd(strlen(name), sizeof("evdb "));
	prog = xmalloc(n);
	snprintf(prog, n, "evdb %s", name);
	args = xcalloc(xadd((size_t)argc, 2), sizeof(*args));
	args[0] = prog;
	for (i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	args[argc + 1] = NULL;
	optind = 1;
	opterr = 1;
	rc = cmd->run(argc + 1, args);
	free(args);
	free(prog);
	return rc;
}

/* ---- shared helpers ----------------------------------------------------- */

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", cmd);
	return CLI_EXIT_USAGE;
}

int
cli_bad_option(const char *cmd)
{
	fprintf(stderr, "Try '%s --help'.\n", cmd);
	return CLI_EXIT_USAGE;
}

bool
cli_parse_count(const char *cmd, const char *opt, const char *s,
    long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < 0 || v > max) {
		cli_usage_error(cmd, "%s must be a number from 0 to %lld: '%s'", opt,
		    max, s);
		return false;
	}
	*out = v;
	return true;
}

/* The data directory when --data-dir is not given: as the server's default. */
static const char *
cli_default_data_dir(void)
{
	const char *env = getenv("EVDB_DATA_DIR");

	return env != NULL && env[0] != '\0' ? env : LOCALSTATEDIR "/lib/evdb";
}

int
cli_store_open(const char *cmd, const char *store, const char *data_dir,
    const char *config, struct log *log, struct store **out)
{
	char o_store[] = "--store", o_data_dir[] = "--data-dir",
	    o_config[] = "--config";
	char *argv[6], err[1024];
	struct store_options so;
	struct settings *s;
	int argc = 0, rc = CLI_EXIT_OK;

	*out = NULL;
	/* settings_load() sees only these options, as if given to the server. */
	if (store != NULL) {
		argv[argc++] = o_store;
		argv[argc++] = (char *)store;
	}
	if (data_dir != NULL) {
		argv[argc++] = o_data_dir;
		argv[argc++] = (char *)data_dir;
	}
	if (config != NULL) {
		argv[argc++] = o_config;
		argv[argc++] = (char *)config;
	}
	s = xcalloc(1, sizeof(*s));
	if (settings_load(s, argc, argv, err, sizeof(err)) != EVDB_OK) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	memset(&so, 0, sizeof(so));
	so.location = s->store;
	so.data_dir = s->data_dir;
	so.durability = s->durability;
	so.busy_timeout_ms = s->busy_timeout_ms;
	so.group_index_sizes = s->group_index_sizes;
	so.group_index_count = s->group_index_count;
	so.log = log;
	so.must_exist = true;
	if (store_open(&so, out) != EVDB_OK) {
		/* The reason is logged; never print the location: a conninfo
		 * may hold a password. */
		fprintf(stderr, "%s: cannot open the store\n", cmd);
		rc = CLI_EXIT_FAIL;
	}
out:
	free(s);
	return rc;
}

void
cli_store_usage(void)
{
	printf("--store S           sqlite:DIR, a postgresql:// URL or a libpq conninfo\n"
	    "                    (default sqlite:D)\n"
	    "--data-dir D        the SQLite data directory (default %s/lib/evdb)\n"
	    "--config F          the server's config file\n"
	    "As for evdb serve: a flag beats $EVDB_STORE, $EVDB_DATA_DIR, which beat\n"
	    "the config file's store = and data-dir = (F, $EVDB_CONFIG, or\n"
	    "%s/evdb/evdb.conf when present).\n", LOCALSTATEDIR, SYSCONFDIR);
}

/* ---- backup --------------------------------------------------------------- */

static void
cli_backup_usage(void)
{
	printf("usage: evdb backup --out DIR [--data-dir D] [--pages-per-step N]\n"
	    "                   [--step-delay-ms MS] [--quiet]\n"
	    "\n"
	    "Copies the registry and every namespace of the data directory D into\n"
	    "DIR (which must not exist or be empty) while evdb keeps serving, and\n"
	    "records in DIR/backup.json the highest global position of each copy.\n"
	    "--pages-per-step N   pages copied at a time (default %d)\n"
	    "--step-delay-ms MS   pause between steps, to spare a busy disk\n"
	    "D defaults to $EVDB_DATA_DIR, else %s/lib/evdb.\n"
	    "See docs/operations.md.\n", BACKUP_PAGES_PER_STEP, LOCALSTATEDIR);
}

static int
cli_backup_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "pages-per-step", required_argument, NULL, 'p' },
		{ "step-delay-ms", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct backup_options o = { cli_default_data_dir(), NULL,
	    BACKUP_PAGES_PER_STEP, 0, stderr };
	const char *cmd = argv[0];
	char err[1024];
	long long n;
	int ch;

	while ((ch = getopt_long(argc, argv, "d:o:p:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o.data_dir = optarg;
			break;
		case 'o':
			o.out_dir = optarg;
			break;
		case 'p':
			if (!cli_parse_count(cmd, "--pages-per-step", optarg, 1000000, &n))
				return CLI_EXIT_USAGE;
			o.pages_per_step = n > 0 ? (int)n : BACKUP_PAGES_PER_STEP;
			break;
		case 'w':
			if (!cli_parse_count(cmd, "--step-delay-ms", optarg, 60000, &n))
				return CLI_EXIT_USAGE;
			o.step_delay_ms = (int)n;
			break;
		case 'q':
			o.log = NULL;
			break;
		case 'h':
			cli_backup_usage();
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(cmd);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (o.out_dir == NULL || o.out_dir[0] == '\0')
		return cli_usage_error(cmd, "--out is required");
	if (backup_create(&o, err, sizeof(err)) != EVDB_OK) {
		fprintf(stderr, "Error: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* ---- restore -------------------------------------------------------------- */

static void
cli_restore_usage(void)
{
	printf("usage: evdb restore --from DIR --data-dir D [--force] [--quiet]\n"
	    "\n"
	    "Copies the backup DIR (made by evdb backup) into the data directory D,\n"
	    "which must not exist or be empty; --force first removes the evdb files\n"
	    "of a non-empty D.  evdb must not be running on D.\n"
	    "See docs/operations.md.\n");
}

static int
cli_restore_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct restore_options o = { NULL, NULL, false, stderr };
	const char *cmd = argv[0];
	enum evdb_status rs;
	char err[1024];
	int ch;

	while ((ch = getopt_long(argc, argv, "f:d:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o.from_dir = optarg;
			break;
		case 'd':
			o.data_dir = optarg;
			break;
		case 'F':
			o.force = true;
			break;
		case 'q':
			o.log = NULL;
			break;
		case 'h':
			cli_restore_usage();
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(cmd);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (o.from_dir == NULL || o.from_dir[0] == '\0')
		return cli_usage_error(cmd, "--from is required");
	/* No default here: restoring over the wrong directory is too costly. */
	if (o.data_dir == NULL || o.data_dir[0] == '\0')
		return cli_usage_error(cmd, "--data-dir is required");
	if ((rs = backup_restore(&o, err, sizeof(err))) != EVDB_OK) {
		fprintf(stderr, "Error: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* ---- report --------------------------------------------------------------- */

static void
cli_report_usage(void)
{
	printf("usage: evdb report streams|categories|types|checkpoints|lifecycle\n"
	    "                   --ns NAME [--store S] [--data-dir D] [--config F]\n"
	    "                   [--limit N]\n"
	    "\n"
	    "Prints a table of the namespace's streams (messages, version, last\n"
	    "activity), categories (streams, messages, last activity), message\n"
	    "types (messages, last activity), consumer checkpoints (position,\n"
	    "lag behind the head, last commit) or lifecycle (deleted and\n"
	    "truncated streams, retention settings of streams and categories),\n"
	    "read from the store (SQLite or PostgreSQL) while evdb serves or not.\n"
	    "--limit N           the first N rows (by name, bytewise)\n");
	cli_store_usage();
	printf("See docs/operations.md.\n");
}

static int
cli_report_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ns", required_argument, NULL, 'n' },
		{ "store", required_argument, NULL, 's' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct report_options o = { NULL, NULL, REPORT_STREAMS, -1, stdout };
	const char *cmd = argv[0], *store = NULL, *data_dir = NULL,
	    *config = NULL;
	bool checkpoints, lifecycle;
	enum evdb_status rs;
	struct log log;
	char err[1024];
	long long n;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "n:s:d:c:l:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o.ns = optarg;
			break;
		case 's':
			store = optarg;
			break;
		case 'd':
			data_dir = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'l':
			if (!cli_parse_count(cmd, "--limit", optarg, INT64_MAX, &n))
				return CLI_EXIT_USAGE;
			o.limit = n;
			break;
		case 'h':
			cli_report_usage();
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(cmd);
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd,
		    "which report? streams, categories, types, checkpoints or"
		    " lifecycle");
	checkpoints = strcmp(argv[optind], "checkpoints") == 0;
	lifecycle = strcmp(argv[optind], "lifecycle") == 0;
	if (!checkpoints && !lifecycle &&
	    !report_kind_parse(argv[optind], &o.kind))
		return cli_usage_error(cmd, "unknown report '%s' (streams,"
		    " categories, types, checkpoints or lifecycle)", argv[optind]);
	if (optind + 1 < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	if (o.ns == NULL || o.ns[0] == '\0')
		return cli_usage_error(cmd, "--ns is required");
	log_open(&log, NULL, LOG_LEVEL_WARN);
	if ((rc = cli_store_open(cmd, store, data_dir, config, &log, &o.store)) ==
	    CLI_EXIT_OK) {
		if (checkpoints)
			rs = report_checkpoints_print(&o, err, sizeof(err));
		else if (lifecycle)
			rs = report_lifecycle_print(&o, err, sizeof(err));
		else
			rs = report_print(&o, err, sizeof(err));
		if (rs != EVDB_OK) {
			fprintf(stderr, "Error: %s\n", err);
			rc = CLI_EXIT_FAIL;
		}
	}
	store_close(o.store);
	log_close(&log);
	return rc;
}
