#!/usr/bin/env bash
# keepconn.sh - evdb behind nginx, upstream keep-alive turned on live (TAP).
#
# The shipped conf/ keeps upstream connections (`keepalive 32`,
# `fastcgi_keep_conn on`).  This test starts the stack without them
# (evdb-local --keepalive 0, a connection per request), turns them on with
# an nginx reload while evdb runs, with more idle connections allowed
# (2 nginx workers x keepalive 4) than evdb has workers (4): idle kept
# connections wait in evdb's poller, not in a worker.  (A worker that once
# blocked on its kept connection while holding the accept lock stalled every
# request until nginx's timeout.)  It runs concurrent clients with a short
# timeout, checks that none stalls, and that SIGTERM does not hang on idle
# kept connections.
set -u

src=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${EVDB_BUILDDIR:-$src}
local_sh=$src/deploy/evdb-local
. "$src/tests/proc.sh"
token=ns_ZGVmYXVsdA_$(printf '9a%.0s' {1..32})
dir=$(mktemp -d "${TMPDIR:-/tmp}/evdb-keepconn-XXXXXX")
nginx_bin=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
. "$src/tests/tap.sh"

cleanup() {
	"$local_sh" stop --data-dir "$dir" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

echo "1..5"
started=1
for _ in $(seq 20); do
	port=$((20000 + RANDOM % 30000))
	if "$local_sh" start --port "$port" --data-dir "$dir" --token "$token" \
	    --workers 4 --keepalive 0 --evdb "$build/evdb" >"$dir/start.out" 2>&1; then
		started=0
		break
	fi
done
ok $started "the stack starts with 4 workers, a connection per request"

# Keep-alive on: 4 idle connections per nginx worker (2 workers), and the
# /rpc location keeps its connection: 8 idle connections and 4 clients
# against 4 workers.
conf=$dir/nginx/conf/evdb-server.conf
old_workers=$(children "$(cat "$dir/run/nginx.pid" 2>/dev/null)")
sed -i "s#^\(\tserver unix:.*;\)#\1\n\tkeepalive 4;#" "$conf"
sed -i '0,/\tfastcgi_keep_conn off;/s//\tfastcgi_keep_conn on;/' "$conf"
grep -q 'keepalive 4;' "$conf" && grep -q 'fastcgi_keep_conn on;' "$conf" &&
    (cd "$dir/nginx" && "$nginx_bin" -p "$dir/nginx/" -e "$dir/log/nginx-error.log" \
    -c "$dir/nginx/conf/nginx.conf" -s reload) 2>/dev/null
ok $? "nginx reloaded with upstream keepalive and fastcgi_keep_conn on"
# The reload is asynchronous: until the workers of the old configuration
# have gone, requests may still be served without keep-alive.
for _ in $(seq 300); do
	left=0
	for p in $old_workers; do
		alive "$p" && left=1
	done
	[ $left = 0 ] && break
	sleep 0.1
done
[ $left = 0 ] || echo "# the old nginx workers still run 30 s after the reload"

# 4 clients x 50 requests, each with a 10 s timeout; a stall shows as a
# timeout (curl exit 28) or a non-200.  A stalled request waits for nginx's
# fastcgi_read_timeout (30 s), far beyond the bound, which leaves a slow
# machine seconds to answer.
for c in 1 2 3 4; do
	(
		bad=0
		for i in $(seq 50); do
			code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
			    -H "Authorization: Bearer $token" \
			    -d "[\"stream.write\",\"kc-$c\",{\"type\":\"T\",\"data\":{\"i\":$i}}]" \
			    "http://127.0.0.1:$port/rpc")
			[ "$code" = 200 ] || bad=$((bad + 1))
		done
		echo "$bad" >"$dir/bad.$c"
	) &
done
wait
bad=$(cat "$dir"/bad.* | awk '{ s += $1 } END { print s + 0 }')
ok $(( bad != 0 )) "200 requests over kept connections: $bad stalled or failed"

versions=0
for c in 1 2 3 4; do
	v=$(curl -s -m 10 -H "Authorization: Bearer $token" -d "[\"stream.version\",\"kc-$c\"]" \
	    "http://127.0.0.1:$port/rpc")
	[ "$v" = 49 ] && versions=$((versions + 1))
done
ok $(( versions != 4 )) "every stream holds its 50 writes ($versions of 4)"

# SIGTERM with idle kept connections: evdb must not wait for nginx to close
# them, which nginx does after its upstream keepalive_timeout (60 s); 20 s
# leaves a sanitized evdb on a loaded machine the time to exit.
pid=$(cat "$dir/run/evdb.pid")
start=$(date +%s)
kill -TERM "$pid"
for _ in $(seq 200); do alive "$pid" || break; sleep 0.1; done
! alive "$pid"
ok $? "SIGTERM with idle kept connections: evdb exits within 20 s ($(( $(date +%s) - start )) s)"
exit $failed
