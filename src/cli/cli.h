/*
 * cli.h - evdb's administrative subcommands: export, import, backup,
 * restore and report.
 *
 * main() hands every argument after the subcommand name to cli_main(),
 * which returns the process exit status (0 success, 1 failure, 2 usage).
 * cli.c holds the dispatch table and the option parsing of backup, restore
 * and report (whose work is done by backup.c and report.c); export and
 * import, which talk HTTP to a running server with libcurl, live in
 * cli_export.c and cli_import.c, and what those two share (the --url and
 * token options, libcurl's setup) in cli_remote.c (cli_remote.h).
 * docs/operations.md is the user's manual.
 *
 * Messages for the user go to stderr; stdout carries only data (an export
 * without --output, a report).  Every function here runs in the main thread
 * of a short-lived process.
 */
#ifndef EVDB_CLI_H
#define EVDB_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/log.h"

struct store;

/* Exit statuses of every subcommand. */
#define CLI_EXIT_OK	0	/* done */
#define CLI_EXIT_FAIL	1	/* the work failed (server, file or database error) */
#define CLI_EXIT_USAGE	2	/* bad command line */

/** True when name is one of the subcommands cli_main() serves. */
bool cli_is_command(const char *name);

/** Writes one line per subcommand ("  name  summary") to out, for "evdb help". */
void cli_list(FILE *out);

/**
 * Runs subcommand name with argv[0..argc) (its options, without the
 * program and subcommand names).  Returns the exit status.
 */
int cli_main(const char *name, int argc, char **argv);

/*
 * Entry points of the HTTP subcommands, called by cli_main() through its
 * table.  argv[0] is "evdb <name>" (for getopt_long and messages),
 * argv[1..argc) the options and argv[argc] is NULL.
 */

/** evdb export: pages a namespace out of a server into NDJSON. */
int cli_export_main(int argc, char **argv);
/** evdb import: POSTs NDJSON to a server's /import and shows its progress. */
int cli_import_main(int argc, char **argv);

/*
 * Helpers shared by the subcommands.
 */

/**
 * Prints "evdb <cmd>: <message>" and a pointer to --help on stderr and
 * returns CLI_EXIT_USAGE, for `return cli_usage_error(...)`.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * After getopt_long reported a bad option itself: prints the pointer to
 * --help and returns CLI_EXIT_USAGE.
 */
int cli_bad_option(const char *cmd);

/**
 * Parses a decimal count for option opt into *out (0 <= value <= max).
 * Returns false after printing a usage error.
 */
bool cli_parse_count(const char *cmd, const char *opt, const char *s,
    long long max, long long *out);

/**
 * Opens, for a command that reads a store in place (evdb report), the
 * store that "evdb serve" given the same options would use: store,
 * data_dir and config are the values of --store, --data-dir and --config
 * (NULL when not given), and the rest comes from EVDB_STORE, EVDB_DATA_DIR,
 * EVDB_CONFIG and the config file as settings_load() reads them, in the
 * server's precedence.  Creates nothing (store_options.must_exist).
 * log (open, borrowed) receives the store's failures and must outlive it.
 * Returns CLI_EXIT_OK with *out open, for the caller to store_close(), or
 * the exit status after printing why on stderr.
 */
int cli_store_open(const char *cmd, const char *store, const char *data_dir,
    const char *config, struct log *log, struct store **out);

/** The lines of --help that describe cli_store_open()'s options. */
void cli_store_usage(void);

#endif /* EVDB_CLI_H */
