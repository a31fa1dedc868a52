# tests/deploy fragment, included by the top-level Makefile.am.
#
# The deployment files (issue 6): tests/deploy/install.sh runs `make
# install DESTDIR=tmp` in the build tree, checks what landed where, runs
# systemd-analyze verify on the units and nginx -t on the installed nginx
# files, then serves /health through them.  See deploy/local.mk.

DEPLOY_TESTS = tests/deploy/install.sh

TESTS += $(DEPLOY_TESTS)
EXTRA_DIST += $(DEPLOY_TESTS)

# several_hosts.sh: the commands of docs/deployment.md "Running several
# hosts" (evdb-local pg start, start --instances 3, stop), run as written.
TESTS += tests/deploy/several_hosts.sh
EXTRA_DIST += tests/deploy/several_hosts.sh

# nginx_workers.sh: evdb-local start --nginx-workers W (W workers on a
# reuseport listen socket), as the SSE benchmark uses it.
TESTS += tests/deploy/nginx_workers.sh
EXTRA_DIST += tests/deploy/nginx_workers.sh

# fcgi_params.sh: the FastCGI parameters the shipped nginx configuration
# hands evdb: the ones it reads, no HTTP_* parameter per request header.
# It runs tests/bench/fcgi_trivial (built for make check, check_DATA) in
# evdb's place.
TESTS += tests/deploy/fcgi_params.sh
EXTRA_DIST += tests/deploy/fcgi_params.sh

# subscribe_params.sh: the server-wide FastCGI parameters against what
# src/ reads, and subscriptions, refusals, resume and the access log
# through them (issue 13).
TESTS += tests/deploy/subscribe_params.sh
EXTRA_DIST += tests/deploy/subscribe_params.sh
