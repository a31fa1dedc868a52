/*
 * cli_progress.h - the progress display of the long-running subcommands
 * (export, import, backup).
 *
 * On a terminal (isatty on the output's descriptor) one line is redrawn in
 * place, at most ten times a second:
 *   Imported [#########...........]  45%  123456 events  20510/s  ETA 0:12
 * The bar and the ETA appear only when the total amount of work is known
 * (cli_progress_set_total); otherwise the line holds the count and the rate.
 * Anywhere else (a log file, a pipe, cron's mail) a plain line is written
 * each time the count passes a multiple of CLI_PROGRESS_PLAIN_EVERY, so a
 * log stays short and readable.
 *
 * A struct cli_progress is a plain value owned by its caller; it holds no
 * resources, so there is nothing to free.  Not thread-safe.
 */
#ifndef EVDB_CLI_PROGRESS_H
#define EVDB_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/** Count interval between two plain (non-terminal) progress lines. */
#define CLI_PROGRESS_PLAIN_EVERY 10000

struct cli_progress {
	FILE *out;		/* where lines go (stderr), or NULL when quiet */
	const char *verb;	/* "Exported", "Imported"...; borrowed, static */
	const char *unit;	/* "events"...; borrowed, static */
	bool tty;		/* out is a terminal: redraw one line */
	bool drawn;		/* a terminal line is on screen, unfinished */
	int64_t start_us;	/* monotonic time of cli_progress_init */
	int64_t last_draw_us;	/* monotonic time of the last terminal redraw */
	int64_t count;		/* units done, as last reported */
	int64_t work_total;	/* total work (e.g. input bytes), or -1 if unknown */
	int64_t work_done;	/* work done so far, same unit as work_total */
	int64_t plain_mark;	/* count / CLI_PROGRESS_PLAIN_EVERY at the last plain line */
};

/**
 * Starts a display writing to out (normally stderr; NULL or quiet = show
 * nothing).  verb and unit must outlive p (string literals).
 */
void cli_progress_init(struct cli_progress *p, FILE *out, bool quiet,
    const char *verb, const char *unit);

/** Declares the total amount of work (any unit, e.g. bytes), enabling bar and ETA. */
void cli_progress_set_total(struct cli_progress *p, int64_t work_total);

/**
 * Reports progress: count units finished (shown and used for the rate) and
 * work_done of the declared total (for the bar and the ETA; pass -1 when
 * there is no total).  Draws only when it is time to.
 */
void cli_progress_update(struct cli_progress *p, int64_t count,
    int64_t work_done);

/**
 * Ends the display with a final line "<verb> N <unit> in <elapsed>" plus
 * extra (may be NULL), e.g. " (gpos 1234)".  elapsed is the text to show
 * (e.g. the server's figure), or NULL to use the time since
 * cli_progress_init.
 */
void cli_progress_finish(struct cli_progress *p, int64_t count,
    const char *elapsed, const char *extra);

/**
 * Ends an unfinished terminal line (before an error message is printed),
 * so the message starts on a line of its own.
 */
void cli_progress_break(struct cli_progress *p);

/** Seconds since cli_progress_init, for callers' own messages. */
double cli_progress_elapsed(const struct cli_progress *p);

#endif /* EVDB_CLI_PROGRESS_H */
