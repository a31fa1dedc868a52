/*
 * cli_remote.h - what the subcommands that talk HTTP to a running server
 * (evdb export, evdb import) have in common: the options that name the
 * server and the token, --url, --token and --token-file, and the two they
 * both take, --gzip and --quiet; the checks made once the command line is
 * read; and the libcurl setup around the command's work.
 *
 * A command uses it in this order:
 *   struct cli_remote r;
 *   cli_remote_init(&r, argv[0]);
 *   getopt_long(argc, argv, CLI_REMOTE_SHORTOPTS "<its own>", opts, NULL)
 *       in a loop, with CLI_REMOTE_LONGOPTS first in opts, handing every
 *       option to cli_remote_option() before its own switch;
 *   cli_remote_setup(&r, argc, argv);
 *   cli_remote_run(&r, run, arg), which calls run(arg) between
 *       curl_global_init() and curl_global_cleanup(); run builds its
 *       handles with cli_remote_handle();
 *   cli_remote_free(&r), whatever happened.
 * The messages are the command's: "evdb export: --url is required".
 * Single-threaded (curl_global_init), as every subcommand.
 */
#ifndef EVDB_CLI_REMOTE_H
#define EVDB_CLI_REMOTE_H

#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>

/* The shared options and what cli_remote_setup() made of them. */
struct cli_remote {
	const char *cmd;		/* "evdb export", for messages; borrowed */
	const char *url;		/* --url, as given (in argv) */
	const char *token;		/* --token, or NULL (in argv) */
	const char *token_file;		/* --token-file, or NULL (in argv) */
	bool gzip;			/* --gzip: the data is compressed */
	bool quiet;			/* --quiet: no progress */
	char *base;			/* after setup: url without trailing '/'; owned */
	char *auth;			/* after setup: "Authorization: Bearer <token>";
					   owned, wiped by cli_remote_free() */
};

/*
 * The entries of the shared options for a getopt_long table, to come first
 * in it (so that an ambiguous abbreviation lists its candidates as before).
 * --token-file has no short form.
 */
#define CLI_REMOTE_LONGOPTS \
	{ "url", required_argument, NULL, 'u' }, \
	{ "token", required_argument, NULL, 't' }, \
	{ "token-file", required_argument, NULL, 'T' }, \
	{ "gzip", no_argument, NULL, 'z' }, \
	{ "quiet", no_argument, NULL, 'q' }

/* Their short forms, to put before the command's own in optstring. */
#define CLI_REMOTE_SHORTOPTS "u:t:zq"

/** Empties r; cmd (borrowed) names the command in messages. */
void cli_remote_init(struct cli_remote *r, const char *cmd);

/**
 * Takes option ch (as getopt_long returned it; arg its optarg) when it is
 * one of CLI_REMOTE_LONGOPTS: records it in r and returns true.  Returns
 * false, touching nothing, for any other ch.  arg is borrowed (argv).
 */
bool cli_remote_option(struct cli_remote *r, int ch, const char *arg);

/**
 * The checks once getopt_long is done (optind past the options): no
 * operand left, --gzip only in a build with zlib, --url given and starting
 * with http:// or https://, and a token from --token or else the first line
 * of --token-file (trailing blanks removed), not empty.  Sets r->base and
 * r->auth.  Returns CLI_EXIT_OK, or the exit status after printing why on
 * stderr (CLI_EXIT_USAGE; CLI_EXIT_FAIL for --gzip without zlib).
 */
int cli_remote_setup(struct cli_remote *r, int argc, char **argv);

/**
 * Initialises libcurl, returns run(arg) and cleans libcurl up again; or
 * CLI_EXIT_FAIL, after printing why, when libcurl cannot be initialised.
 */
int cli_remote_run(int (*run)(void *arg), void *arg);

/**
 * A new libcurl handle into *curl, with CURLOPT_NOSIGNAL, errbuf (of
 * CURL_ERROR_SIZE bytes, to outlive the handle) as its CURLOPT_ERRORBUFFER
 * and agent as its User-Agent; and in *headers (appended to, NULL for a new
 * list) r->auth and "Content-Type: <content_type>", for the caller to add
 * to and set as CURLOPT_HTTPHEADER.  Returns false after printing "Error:
 * cannot set up libcurl".  Either way the caller owns and frees *curl
 * (curl_easy_cleanup, when not NULL) and *headers (curl_slist_free_all).
 */
bool cli_remote_handle(const struct cli_remote *r, const char *content_type,
    const char *agent, char *errbuf, CURL **curl, struct curl_slist **headers);

/**
 * Appends line (copied) to *headers (NULL for a new list).  Returns false,
 * leaving *headers as it was, when libcurl has no memory for it.
 */
bool cli_remote_header(struct curl_slist **headers, const char *line);

/** Frees what cli_remote_setup() made, wiping the token first.  Idempotent. */
void cli_remote_free(struct cli_remote *r);

#endif /* EVDB_CLI_REMOTE_H */
