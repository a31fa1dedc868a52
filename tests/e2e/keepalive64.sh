#!/usr/bin/env bash
# keepalive64.sh - idle kept-alive upstream connections hold no evdb worker
# (TAP).
#
# nginx keeps up to 64 idle connections to evdb per nginx worker (2 workers)
# and evdb has 4 workers: 32 times more idle connections than workers.
# Under libfcgi's own accept loop a worker blocked on each kept connection
# until nginx sent the next request on it, so the 5th concurrent request
# waited for nginx's fastcgi_read_timeout (30 s) and the pool stalled.  evdb's
# poller (src/server/poller.h) watches idle connections instead.  The test
# sends 96 concurrent clients through nginx, checks that nginx then holds
# more idle connections to evdb than evdb has workers, and that new clients
# are answered, one by one and 8 at a time, each within a bound (10 s) that
# a stalled request (30 s) cannot meet.  EVDB_E2E_PGDIR runs it on a
# database of its own in that PostgreSQL cluster.
# shellcheck shell=bash

. "$(cd "$(dirname "$0")/.." && pwd)/ops/lib.sh"

token=ns_ZGVmYXVsdA_$(printf '9a%.0s' {1..32})
clients=96

# rpc_code BODY: POST BODY to /rpc with a 10 s bound; prints the HTTP code
# (000 on a timeout).
rpc_code() {
	curl -s -m 10 -o /dev/null -w '%{http_code}' \
	    -H "Authorization: Bearer $token" -d "$1" "http://127.0.0.1:$port/rpc"
}

# evdb_conns: connections open on evdb's socket, seen from nginx's side.
evdb_conns() {
	ss -xH state connected 2>/dev/null | awk -v s="$sock" '$0 ~ s { c++ } END { print c + 0 }'
}

# burst CLIENTS WRITES PREFIX: CLIENTS concurrent clients, each making WRITES
# writes to stream PREFIX-<client>, each on its own connection to nginx;
# prints how many stalled or failed.
burst() {
	local c
	rm -f "$OPS_TMP"/bad.*
	for c in $(seq "$1"); do
		(
			b=0
			for i in $(seq "$2"); do
				code=$(rpc_code "[\"stream.write\",\"$3-$c\",{\"type\":\"T\",\"data\":{\"i\":$i}}]")
				[ "$code" = 200 ] || b=$((b + 1))
			done
			echo "$b" >"$OPS_TMP/bad.$c"
		) &
	done
	wait
	cat "$OPS_TMP"/bad.* | awk '{ s += $1 } END { print s + 0 }'
}

plan 6
ops_setup
E2E_STORE=()
[ -z "${EVDB_E2E_PGDIR:-}" ] || e2e_pg_store "ka64_$$"
stack=$OPS_TMP/s
stack_try_start "$stack" --token "$token" --workers 4 --keepalive 64 \
    "${E2E_STORE[@]}"
started=$?
port=${STACK_PORT:-0}
conf=$stack/nginx/conf/evdb-server.conf
grep -q '^	keepalive 64;$' "$conf" && grep -q '^	fastcgi_keep_conn on;$' "$conf"
cond_ok $(( started != 0 || $? != 0 )) "the stack starts: 4 workers, nginx keepalive 64 and fastcgi_keep_conn on"
sock=$stack/run/evdb.sock
[ -S "$sock" ] || sock=$(ls "$stack"/run/evdb*.sock 2>/dev/null | head -1)

# 96 concurrent clients, 3 writes each over their own connection to nginx.
bad=$(burst $clients 3 ka)
cond_ok $(( bad != 0 )) "$((clients * 3)) writes from $clients concurrent clients: $bad stalled or failed"

# Idle now: nginx keeps its upstream connections open.
sleep 1
idle=$(evdb_conns)
cond_ok $(( idle <= 4 )) "nginx holds $idle idle connections to evdb, more than its 4 workers"

# New clients, one at a time: each is answered, none waits on an idle one.
bad=0
for i in $(seq 20); do
	code=$(rpc_code "[\"stream.version\",\"ka-$i\"]")
	[ "$code" = 200 ] || bad=$((bad + 1))
done
cond_ok $(( bad != 0 )) "20 requests from new clients after the burst: $bad stalled or failed"

# And 8 at a time, twice the workers.
bad=$(burst 8 5 kb)
versions=0
for c in $(seq $clients); do
	v=$(curl -s -m 10 -H "Authorization: Bearer $token" -d "[\"stream.version\",\"ka-$c\"]" \
	    "http://127.0.0.1:$port/rpc")
	[ "$v" = 2 ] && versions=$((versions + 1))
done
cond_ok $(( bad != 0 )) "40 writes from 8 new concurrent clients: $bad stalled or failed"
cond_ok $(( versions != clients )) "every burst stream holds its 3 writes ($versions of $clients)"
done_testing
