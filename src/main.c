/*
 * main.c - the evdb command: settings, the store, the admin namespace on
 * first start, then the FastCGI server.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/auth.h"
#include "cli/cli.h"
#include "core/log.h"
#include "server/server.h"
#include "core/settings.h"
#include "store/store.h"
#include "core/timefmt.h"
#include "core/token.h"
#include "core/version.h"

/* Writes the admin token to path, readable by its owner only. */
static enum evdb_status
main_write_token_file(const char *path, const char *token, struct log *log)
{
	size_t len = strlen(token);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 ||
	    write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		log_error(log, "cannot write the admin token to %s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return EVDB_ERR_IO;
	}
	close(fd);
	return EVDB_OK;
}

/*
 * Creates the default (admin) namespace on the first start, with the
 * configured token or a fresh one, and announces the token once.
 */
static enum evdb_status
main_bootstrap_admin(struct store *st, const struct settings *s, struct log *log)
{
	struct store_conn *c = NULL;
	char token[TOKEN_MAX_LEN + 128], ns[TOKEN_NS_MAX + 1], err[160];
	char stored[TOKEN_HASH_HEX_LEN + 1], hash[TOKEN_HASH_HEX_LEN + 1];
	enum evdb_status rs;

	if ((rs = store_conn_open(st, &c)) != EVDB_OK)
		return rs;
	if (s->token[0] != '\0') {
		if (token_parse(s->token, strlen(s->token), ns, sizeof(ns), err,
		    sizeof(err)) != EVDB_OK) {
			log_error(log, "--token: %s", err);
			rs = EVDB_ERR_CONFIG;
			goto out;
		}
		if (strcmp(ns, AUTH_ADMIN_NAMESPACE) != 0) {
			log_error(log, "--token is for namespace '%s', expected '%s'", ns,
			    AUTH_ADMIN_NAMESPACE);
			rs = EVDB_ERR_CONFIG;
			goto out;
		}
		snprintf(token, sizeof(token), "%s", s->token);
	}
	rs = store_ns_token_hash(c, AUTH_ADMIN_NAMESPACE, stored);
	if (rs == EVDB_OK) {
		if (s->token[0] != '\0') {
			token_hash(token, strlen(token), hash);
			if (!token_hash_equal(hash, stored))
				log_warn(log, "the configured admin token differs from the one"
				    " stored at the first start; the stored one stays in force");
		}
		goto out;
	}
	if (rs != EVDB_ERR_NOT_FOUND)
		goto out;
	if (s->token[0] == '\0' &&
	    (rs = token_generate(AUTH_ADMIN_NAMESPACE, token, sizeof(token))) != EVDB_OK)
		goto out;
	token_hash(token, strlen(token), hash);
	rs = store_ns_create(c, AUTH_ADMIN_NAMESPACE, hash, "Default namespace", NULL,
	    timefmt_now_us());
	if (rs == EVDB_ERR_EXISTS) {
		rs = EVDB_OK;	/* another process bootstrapped at the same moment */
		goto out;
	}
	if (rs != EVDB_OK)
		goto out;
	if ((rs = main_write_token_file(s->token_file, token, log)) != EVDB_OK) {
		int64_t none;

		/* A token nobody can read would lock the admin out for good. */
		(void)store_ns_delete(c, AUTH_ADMIN_NAMESPACE, &none);
		goto out;
	}
	/* Printed once, on stdout, never to the log. */
	printf("========================================================================\n"
	    "DEFAULT NAMESPACE TOKEN: %s\n"
	    "(also written to %s, mode 0600)\n"
	    "========================================================================\n",
	    token, s->token_file);
	fflush(stdout);
	log_info(log, "created the default namespace; admin token written to %s",
	    s->token_file);
out:
	store_conn_close(c);
	return rs;
}

/* Each SSE subscriber holds a socket: allow as many files as permitted. */
static void
main_raise_fd_limit(struct log *log)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn(log, "cannot raise the open-file limit: %s", strerror(errno));
	}
}

static int
main_write_pid_file(const char *path, struct log *log)
{
	FILE *f;

	if (path[0] == '\0')
		return 0;
	if ((f = fopen(path, "we")) == NULL) {
		log_error(log, "cannot write pid file %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

static bool
main_is_help(const char *arg)
{
	return strcmp(arg, "help") == 0 || strcmp(arg, "--help") == 0 ||
	    strcmp(arg, "-h") == 0;
}

/*
 * "evdb help": every command with one line; "evdb help COMMAND" (and
 * "evdb COMMAND --help"): that command's own usage.  Returns the exit status.
 */
static int
main_help(const char *command)
{
	char *help_argv[] = { "--help", NULL };

	if (command == NULL || main_is_help(command)) {
		printf("usage: evdb COMMAND [options]\n\ncommands:\n"
		    "  %-9s %s\n", "serve",
		    "run the FastCGI server (the default when no command is given)");
		cli_list(stdout);
		printf("  %-9s %s\n  %-9s %s\n\n"
		    "evdb COMMAND --help (or evdb help COMMAND) shows a command's"
		    " options; docs/operations.md is the manual.\n",
		    "version", "print the version", "help", "print this list");
		return 0;
	}
	if (strcmp(command, "serve") == 0) {
		settings_usage();
		return 0;
	}
	if (strcmp(command, "version") == 0) {
		printf("usage: evdb version\n\nPrints evdb's version.\n");
		return 0;
	}
	if (cli_is_command(command))
		return cli_main(command, 1, help_argv);
	fprintf(stderr, "evdb: unknown command '%s' (see evdb help)\n", command);
	return 2;
}

int
main(int argc, char **argv)
{
	struct settings s;
	struct store_options so;
	struct store *st = NULL;
	struct log log;
	char err[512];
	sigset_t sigs;
	int exit_code = 1;

	/* Databases, WALs and the token file are the owner's alone. */
	umask(077);
	/*
	 * Block the stop and reload signals before any thread exists: a stop
	 * during start-up then waits in the mask and is served by server_run()
	 * as a clean shutdown.  A write to a client that went away must fail,
	 * not kill the process.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_open(&log, NULL, LOG_LEVEL_INFO);
	if (argc > 1 && main_is_help(argv[1]))
		return main_help(argc > 2 ? argv[2] : NULL);
	if (argc > 1 && (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
		if (argc > 2 && main_is_help(argv[2]))
			return main_help("version");
		printf("evdb %s\n", EVDB_VERSION);
		return 0;
	}
	if (argc > 1 && cli_is_command(argv[1]))
		return cli_main(argv[1], argc - 2, argv + 2);
	if (argc > 1 && strcmp(argv[1], "serve") == 0) {
		argc--;
		argv++;
	}
	if (argc > 1 && main_is_help(argv[1]))
		return main_help("serve");
	if (settings_load(&s, argc - 1, argv + 1, err, sizeof(err)) != EVDB_OK) {
		fprintf(stderr, "evdb: %s\n", err);
		return 2;
	}
	if (log_open(&log, s.log_file, s.log_level) != EVDB_OK) {
		fprintf(stderr, "evdb: cannot open log file %s: %s\n", s.log_file,
		    strerror(errno));
		return 1;
	}
	/* The data directory holds the socket and the admin token whichever
	 * store is chosen; a SQLite store in it creates it too. */
	if (mkdir(s.data_dir, 0700) != 0 && errno != EEXIST) {
		log_error(&log, "cannot create %s: %s", s.data_dir, strerror(errno));
		goto out;
	}
	memset(&so, 0, sizeof(so));
	so.location = s.store;
	so.data_dir = s.data_dir;
	so.durability = s.durability;
	so.busy_timeout_ms = s.busy_timeout_ms;
	so.group_index_sizes = s.group_index_sizes;
	so.group_index_count = s.group_index_count;
	so.log = &log;
	if (store_open(&so, &st) != EVDB_OK)
		goto out;
	if (main_bootstrap_admin(st, &s, &log) != EVDB_OK) {
		log_error(&log, "cannot set up the default namespace");
		goto out;
	}
	main_raise_fd_limit(&log);
	if (main_write_pid_file(s.pid_file, &log) != 0)
		goto out;
	if (server_run(&s, st, &log) == EVDB_OK)
		exit_code = 0;
	if (s.pid_file[0] != '\0')
		(void)unlink(s.pid_file);
out:
	store_close(st);
	log_close(&log);
	return exit_code;
}
