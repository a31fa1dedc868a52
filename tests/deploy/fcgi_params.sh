#!/usr/bin/env bash
# fcgi_params.sh - the FastCGI parameters that the shipped nginx
# configuration hands evdb (TAP).  conf/fastcgi_params.evdb lists the ones
# evdb reads, and fastcgi_pass_request_headers off keeps nginx from adding
# an HTTP_* parameter for every request header: each one cost libfcgi an
# allocation per request, and a client's arbitrary headers have no business
# reaching evdb (docs/security.md, "Few parameters").
#
# The stack is deploy/evdb-local with tests/bench/fcgi_trivial in evdb's
# place, in its FCGI_TRIVIAL_ECHO_PARAMS mode: every answer is the sorted
# names of the parameters that request brought.  Requests carry headers
# that a client may send (User-Agent, Cookie, X-Forwarded-For, a made-up
# one) to /rpc, /import and /subscribe.
# shellcheck shell=bash

. "$(cd "$(dirname "$0")/.." && pwd)/ops/lib.sh"

ops_setup
EVDB=$EVDB_BUILDDIR/tests/bench/fcgi_trivial	# in evdb's place
[[ -x $EVDB ]] || bail "no fcgi_trivial at $EVDB (make check builds it)"
plan 6

FCGI_TRIVIAL_ECHO_PARAMS=1 stack_try_start "$OPS_TMP/d" --keepalive 0
rc=$?
cond_ok $rc "the stack starts with fcgi_trivial echoing parameters (exit $rc)"
port=${STACK_PORT:-0}

# names METHOD PATH [curl options...]: the parameter names of one request.
names() {
	local method=$1 path=$2
	shift 2
	curl -s -X "$method" -H 'User-Agent: fcgi-params-test' \
		-H 'Cookie: a=b' -H 'X-Forwarded-For: 10.1.2.3' \
		-H 'X-Made-Up: 1' -H 'Authorization: Bearer ns_x' \
		-H 'Last-Event-ID: 7' "$@" "http://127.0.0.1:$port$path" | sort
}

# What evdb reads (src/server/server.c, src/sse/sse.c), and nothing else
# but FCGI_ROLE, which libfcgi adds itself.
want='CONTENT_LENGTH
DOCUMENT_URI
FCGI_ROLE
HTTP_AUTHORIZATION
HTTP_LAST_EVENT_ID
QUERY_STRING
REQUEST_ID
REQUEST_METHOD'

got=$(names POST /rpc -H 'Content-Type: application/json' \
	--data '["sys.version"]')
is_ok "$got" "$want" "/rpc: exactly the parameters evdb reads"

got=$(names POST /import -H 'Content-Type: application/x-ndjson' \
	--data-binary '{}')
is_ok "$got" "$want" "/import: the same"

got=$(names GET '/subscribe?stream=a-1' --max-time 5)
is_ok "$got" "$want" "/subscribe: the same"

# No header of the client's own reaches evdb.
got=$(names POST /rpc --data '[]')
! grep -q '^HTTP_\(USER_AGENT\|COOKIE\|X_FORWARDED_FOR\|X_MADE_UP\|HOST\|CONTENT_TYPE\)$' <<<"$got"
cond_ok $? "no HTTP_* parameter for User-Agent, Cookie, X-Forwarded-For, Host, a made-up header"

# Without the optional headers, their parameters stay away (if_not_empty).
got=$(curl -s -X POST --data '[]' "http://127.0.0.1:$port/rpc" | sort)
! grep -q '^HTTP_AUTHORIZATION$\|^HTTP_LAST_EVENT_ID$' <<<"$got"
cond_ok $? "no Authorization and no Last-Event-ID: neither parameter is sent"

done_testing
