/*
 * cli_remote.c - the options, checks and libcurl setup shared by evdb
 * export and evdb import (see cli_remote.h).
 */
#include "config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_remote.h"
#include "core/xalloc.h"

void
cli_remote_init(struct cli_remote *r, const char *cmd)
{
	memset(r, 0, sizeof(*r));
	r->cmd = cmd;
}

bool
cli_remote_option(struct cli_remote *r, int ch, const char *arg)
{
	switch (ch) {
	case 'u':
		r->url = arg;
		return true;
	case 't':
		r->token = arg;
		return true;
	case 'T':
		r->token_file = arg;
		return true;
	case 'z':
		r->gzip = true;
		return true;
	case 'q':
		r->quiet = true;
		return true;
	default:
		return false;
	}
}

/*
 * The token to send: token when not NULL, else the first line of
 * token_file (trailing blanks removed).  Returns a string the caller wipes
 * and frees, or NULL after printing why on stderr (neither given,
 * unreadable file, empty token).
 */
static char *
cli_remote_token(const char *cmd, const char *token, const char *token_file)
{
	char line[1024];
	FILE *f = NULL;
	char *res = NULL;
	size_t len;

	if (token != NULL) {
		if (token[0] == '\0') {
			fprintf(stderr, "%s: --token is empty\n", cmd);
			goto out;
		}
		res = xstrdup(token);
		goto out;
	}
	if (token_file == NULL) {
		fprintf(stderr, "%s: --token or --token-file is required\n", cmd);
		goto out;
	}
	if ((f = fopen(token_file, "re")) == NULL) {
		fprintf(stderr, "%s: cannot read %s: %s\n", cmd, token_file,
		    strerror(errno));
		goto out;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	len = strlen(line);
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	if (len == 0) {
		fprintf(stderr, "%s: no token in %s\n", cmd, token_file);
		goto out;
	}
	res = xstrdup(line);
out:
	if (f != NULL)
		fclose(f);
	memset(line, 0, sizeof(line));
	return res;
}

/*
 * The server's base URL: url without trailing slashes, checked to start
 * with http:// or https://.  Returns a string the caller frees, or NULL
 * after printing why on stderr.
 */
static char *
cli_remote_base(const char *cmd, const char *url)
{
	size_t len;

	if (url == NULL || url[0] == '\0') {
		fprintf(stderr, "%s: --url is required\n", cmd);
		return NULL;
	}
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		fprintf(stderr, "%s: --url must start with http:// or https://: %s\n",
		    cmd, url);
		return NULL;
	}
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	return xstrndup(url, len);
}

int
cli_remote_setup(struct cli_remote *r, int argc, char **argv)
{
	static const char prefix[] = "Authorization: Bearer ";
	char *token;
	size_t n;

	if (optind < argc)
		return cli_usage_error(r->cmd, "unexpected argument '%s'",
		    argv[optind]);
#ifndef HAVE_ZLIB
	if (r->gzip) {
		fprintf(stderr, "%s: --gzip: this evdb was built without zlib\n",
		    r->cmd);
		return CLI_EXIT_FAIL;
	}
#endif
	if ((r->base = cli_remote_base(r->cmd, r->url)) == NULL ||
	    (token = cli_remote_token(r->cmd, r->token, r->token_file)) == NULL)
		return CLI_EXIT_USAGE;
	n = xadd(sizeof(prefix), strlen(token));
	r->auth = xmalloc(n);
	snprintf(r->auth, n, "%s%s", prefix, token);
	memset(token, 0, strlen(token));
	free(token);
	return CLI_EXIT_OK;
}

int
cli_remote_run(int (*run)(void *arg), void *arg)
{
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "Error: cannot initialise libcurl\n");
		return CLI_EXIT_FAIL;
	}
	rc = run(arg);
	curl_global_cleanup();
	return rc;
}

bool
cli_remote_header(struct curl_slist **headers, const char *line)
{
	struct curl_slist *h = curl_slist_append(*headers, line);

	if (h == NULL)
		return false;
	*headers = h;
	return true;
}

bool
cli_remote_handle(const struct cli_remote *r, const char *content_type,
    const char *agent, char *errbuf, CURL **curl, struct curl_slist **headers)
{
	char line[128];

	snprintf(line, sizeof(line), "Content-Type: %s", content_type);
	if ((*curl = curl_easy_init()) == NULL ||
	    !cli_remote_header(headers, r->auth) ||
	    !cli_remote_header(headers, line)) {
		fprintf(stderr, "Error: cannot set up libcurl\n");
		return false;
	}
	curl_easy_setopt(*curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(*curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(*curl, CURLOPT_USERAGENT, agent);
	return true;
}

void
cli_remote_free(struct cli_remote *r)
{
	free(r->base);
	r->base = NULL;
	if (r->auth != NULL)
		memset(r->auth, 0, strlen(r->auth));
	free(r->auth);
	r->auth = NULL;
}
