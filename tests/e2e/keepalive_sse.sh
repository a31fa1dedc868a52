#!/usr/bin/env bash
# keepalive_sse.sh - with upstream keep-alive on, /subscribe connections
# never reach the keep-alive cache that /rpc draws from (TAP).
#
# /subscribe runs unbuffered (fastcgi_buffering off) with fastcgi_keep_conn
# off, so evdb closes its connection after the answer.  nginx's unbuffered
# upstream reader (1.22) marks the connection reusable on FCGI_END_REQUEST
# regardless of fastcgi_keep_conn, so on an upstream with `keepalive` nginx
# cached connections evdb had closed and sent the next /rpc on one of them:
# 502, with "recv() failed (104: Connection reset by peer) while reading
# response header from upstream" or "writev() failed (32: Broken pipe) while
# sending request to upstream" in its error log.  That got the poller's
# first merge reverted (bb2de66).  conf/nginx-evdb.conf.in gives /subscribe
# an upstream of its own without keepalive (evdb_stream).
#
# The test runs, concurrently and under the shipped keep-alive: clients whose
# /subscribe evdb refuses with 400, subscribers that go away after 1.5 s, and
# /rpc clients; and checks that no answer is a 502 and that nginx's error
# log holds no reset or broken pipe towards evdb.  With EVDB_E2E_PGDIR it
# runs a second round on three evdb instances (evdb-local --instances 3,
# whose upstreams deploy/evdb-local generates) on a database of its own.
# shellcheck shell=bash

. "$(cd "$(dirname "$0")/.." && pwd)/ops/lib.sh"

token=ns_ZGVmYXVsdA_$(printf '7c%.0s' {1..32})
# Per round: loops of each kind, and requests per loop.
bad_loops=6
bad_reqs=150
rpc_loops=6
rpc_reqs=150
sub_loops=3
sub_reqs=10

# urls COUNT PATH: COUNT times the URL of PATH for curl's --config, each
# with its answer thrown away.
urls() {
	local i
	for i in $(seq "$1"); do
		printf 'url = "http://127.0.0.1:%s%s"\noutput = "/dev/null"\n' "$port" "$2"
	done
}

# The 400s: each query is refused by evdb before the stream starts
# (docs/api.md, /subscribe).
bad_queries=("" "stream=a-1&category=a" "stream=a-1&position=abc"
	"category=a&consumer=2&size=2" "all=false")

# bad_loop I: $bad_reqs refused subscriptions, on one client connection to
# nginx; prints each status.
bad_loop() {
	local q=${bad_queries[$(($1 % ${#bad_queries[@]}))]}
	urls "$bad_reqs" "/subscribe?${q}${q:+&}token=$token" |
	    curl -s -m 60 -K - -w '%{http_code}\n'
}

# rpc_loop I: $rpc_reqs writes and reads; prints each status.
rpc_loop() {
	urls "$rpc_reqs" /rpc | curl -s -m 60 -K - -w '%{http_code}\n' \
	    -H "Authorization: Bearer $token" \
	    -d "[\"stream.write\",\"kasse-$1\",{\"type\":\"T\",\"data\":{}}]"
}

# sub_loop I: $sub_reqs subscribers, one every 0.3 s, each going away after
# 1.5 s; prints each status (200 when the stream had started).  1.5 s, not
# less: under ASan on a loaded machine a stream has been seen to start
# later than 0.5 s, and curl then prints 000.
sub_loop() {
	local i
	for i in $(seq "$sub_reqs"); do
		curl -s -m 1.5 -o /dev/null -w '%{http_code}\n' \
		    "http://127.0.0.1:$port/subscribe?stream=kasse-$1&token=$token" &
		sleep 0.3
	done
	wait
}

# round NAME ARGS...: starts a stack with ARGS, runs the loops at once,
# checks the statuses and nginx's error log, stops the stack.
round() {
	local name=$1 stack=$OPS_TMP/d started i codes nrpc nbad nsub n502 resets
	shift
	rm -rf "$stack" "$OPS_TMP"/out.*
	stack_try_start "$stack" --token "$token" --workers 4 "$@"
	started=$?
	port=${STACK_PORT:-0}
	grep -q '^	keepalive [0-9]*;$' "$stack/nginx/conf/evdb-server.conf"
	cond_ok $(( started != 0 || $? != 0 )) "$name: the stack starts with upstream keep-alive on"

	for i in $(seq $bad_loops); do bad_loop "$i" >"$OPS_TMP/out.bad.$i" & done
	for i in $(seq $rpc_loops); do rpc_loop "$i" >"$OPS_TMP/out.rpc.$i" & done
	for i in $(seq $sub_loops); do sub_loop "$i" >"$OPS_TMP/out.sub.$i" & done
	wait

	nrpc=$(cat "$OPS_TMP"/out.rpc.* | grep -c '^200$')
	nbad=$(cat "$OPS_TMP"/out.bad.* | grep -c '^400$')
	nsub=$(cat "$OPS_TMP"/out.sub.* | grep -c '^200$')
	n502=$(cat "$OPS_TMP"/out.* | grep -c '^502$')
	codes=$(cat "$OPS_TMP"/out.* | sort | uniq -c | tr -s ' \n' ' ')
	echo "# $name: statuses (count code):$codes"
	cond_ok $(( n502 != 0 )) "$name: no answer is a 502 ($n502)"
	cond_ok $(( nrpc != rpc_loops * rpc_reqs )) "$name: every /rpc write is 200 ($nrpc of $((rpc_loops * rpc_reqs)))"
	cond_ok $(( nbad != bad_loops * bad_reqs )) "$name: every refused /subscribe is 400 ($nbad of $((bad_loops * bad_reqs)))"
	cond_ok $(( nsub != sub_loops * sub_reqs )) "$name: every short subscriber got its stream ($nsub of $((sub_loops * sub_reqs)))"
	resets=$(grep -c -E '(Connection reset by peer|Broken pipe).*upstream' \
	    "$stack/log/nginx-error.log" 2>/dev/null)
	cond_ok $(( resets != 0 )) "$name: nginx's error log has no reset or broken pipe towards evdb ($resets)"
	[ "$resets" = 0 ] || grep -m 5 -E '(Connection reset by peer|Broken pipe).*upstream' \
	    "$stack/log/nginx-error.log" | sed 's/^/# /'
	stack_stop "$stack"
}

ops_setup
if [ -n "${EVDB_E2E_PGDIR:-}" ]; then
	plan 12
	e2e_pg_store "kasse_$$"
	round "one instance" "${E2E_STORE[@]}"
	round "three instances" --instances 3 "${E2E_STORE[@]}"
else
	plan 6
	round "one instance"
fi
done_testing
