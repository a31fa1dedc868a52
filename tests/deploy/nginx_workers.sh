#!/usr/bin/env bash
# nginx_workers.sh - deploy/evdb-local start --nginx-workers W (TAP): the
# generated nginx runs W workers on a reuseport listen socket, serves
# /health and a /subscribe stream through them, and a bad W is refused.
# The SSE benchmark (tests/bench/sse/run-sse-bench) uses it to hold tens of
# thousands of subscribers under a per-process descriptor limit.
set -u

src=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${EVDB_BUILDDIR:-$src}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evdb-ngxw-XXXXXX")
n=0
failed=0

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}

cleanup() {
	"$src/deploy/evdb-local" stop --data-dir "$tmp/d" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)
[ -n "$port" ] || port=$((20000 + $$ % 20000))
token=ns_ZGVmYXVsdA_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')

"$src/deploy/evdb-local" start --port "$port" --data-dir "$tmp/bad" \
	--nginx-workers 0 --evdb "$build/evdb" >"$tmp/bad.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q -- '--nginx-workers must be a number from 1 to 64' "$tmp/bad.out"
ok $? "--nginx-workers 0 is refused (exit $rc)"

"$src/deploy/evdb-local" start --port "$port" --data-dir "$tmp/d" \
	--token "$token" --nginx-workers 3 --evdb "$build/evdb" >"$tmp/start.out" 2>&1
rc=$?
ok $rc "start --nginx-workers 3 (exit $rc)"
[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/start.out"

grep -q '^worker_processes 3;$' "$tmp/d/nginx/conf/nginx.conf"
ok $? "nginx.conf has worker_processes 3"
grep -q "^	listen 127.0.0.1:$port reuseport;$" "$tmp/d/nginx/conf/evdb-server.conf"
ok $? "evdb-server.conf listens with reuseport"

master=$(cat "$tmp/d/run/nginx.pid" 2>/dev/null)
w=0
[ -n "$master" ] && w=$(ps -o pid= --ppid "$master" | wc -l)
[ "$w" -eq 3 ]
ok $? "nginx runs 3 workers ($w)"

code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")
[ "$code" = 200 ]
ok $? "/health answers 200 through them ($code)"

curl -s -N --max-time 2 "http://127.0.0.1:$port/subscribe?stream=w-1&token=$token" >"$tmp/sub.out" 2>/dev/null
grep -q '^: ready' "$tmp/sub.out"
ok $? "a /subscribe stream opens through them"

"$src/deploy/evdb-local" stop --data-dir "$tmp/d" >/dev/null 2>&1
ok $? "stop"

echo "1..$n"
exit $failed
