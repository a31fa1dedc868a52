#!/usr/bin/env bash
# nginx_workers.sh - deploy/evdb-local start --nginx-workers W (TAP): the
# generated nginx runs W workers on a reuseport listen socket, serves
# /health and a /subscribe stream through them, and a bad W is refused.
# The SSE benchmark (tests/bench/sse/run-sse-bench) uses it to hold tens of
# thousands of subscribers under a per-process descriptor limit.
# shellcheck shell=bash

. "$(cd "$(dirname "$0")/.." && pwd)/ops/lib.sh"

token=ns_ZGVmYXVsdA_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
ops_setup

# Refused on its options, before evdb-local binds or starts anything.
"$EVDB_LOCAL" start --port "$((20000 + RANDOM % 20000))" \
	--data-dir "$OPS_TMP/bad" --nginx-workers 0 --evdb "$EVDB" \
	>"$OPS_TMP/bad.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q -- '--nginx-workers must be a number from 1 to 64' "$OPS_TMP/bad.out"
cond_ok $? "--nginx-workers 0 is refused (exit $rc)"

ops_stacks+=("$OPS_TMP/bad")	# stopped at exit, should it have started
stack_try_start "$OPS_TMP/d" --token "$token" --nginx-workers 3
rc=$?
cond_ok $rc "start --nginx-workers 3 (exit $rc)"
port=${STACK_PORT:-0}

grep -q '^worker_processes 3;$' "$OPS_TMP/d/nginx/conf/nginx.conf"
cond_ok $? "nginx.conf has worker_processes 3"
grep -q "^	listen 127.0.0.1:$port reuseport;$" "$OPS_TMP/d/nginx/conf/evdb-server.conf"
cond_ok $? "evdb-server.conf listens with reuseport"

master=$(cat "$OPS_TMP/d/run/nginx.pid" 2>/dev/null)
w=0
[ -n "$master" ] && w=$(ps -o pid= --ppid "$master" | wc -l)
[ "$w" -eq 3 ]
cond_ok $? "nginx runs 3 workers ($w)"

code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")
[ "$code" = 200 ]
cond_ok $? "/health answers 200 through them ($code)"

curl -s -N --max-time 2 "http://127.0.0.1:$port/subscribe?stream=w-1&token=$token" >"$OPS_TMP/sub.out" 2>/dev/null
grep -q '^: ready' "$OPS_TMP/sub.out"
cond_ok $? "a /subscribe stream opens through them"

"$EVDB_LOCAL" stop --data-dir "$OPS_TMP/d" >/dev/null 2>&1
cond_ok $? "stop"

plan "$tap_count"
done_testing
