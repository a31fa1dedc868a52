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
# /subscribe evdb refuses with 400, subscribers that go away after 0.5 s, and
# /rpc clients; and checks that no answer is a 502 and that nginx's error
# log holds no reset or broken pipe towards evdb.  With EVDB_E2E_PGDIR it
# runs a second round on three evdb instances (evdb-local --instances 3,
# whose upstreams deploy/evdb-local generates) on a database of its own.
set -u

src=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${EVDB_BUILDDIR:-$src}
local_sh=$src/deploy/evdb-local
token=ns_ZGVmYXVsdA_$(printf '7c%.0s' {1..32})
dir=$(mktemp -d "${TMPDIR:-/tmp}/evdb-kasse-XXXXXX")
n=0
failed=0
# Per round: loops of each kind, and requests per loop.
bad_loops=6
bad_reqs=150
rpc_loops=6
rpc_reqs=150
sub_loops=3
sub_reqs=10

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
	"$local_sh" stop --data-dir "$dir/d" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

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

# sub_loop I: $sub_reqs subscribers that go away after 0.5 s; prints each
# status (200 when the stream had started).
sub_loop() {
	local i
	for i in $(seq "$sub_reqs"); do
		curl -s -m 0.5 -o /dev/null -w '%{http_code}\n' \
		    "http://127.0.0.1:$port/subscribe?stream=kasse-$1&token=$token"
	done
}

# round NAME ARGS...: starts a stack with ARGS, runs the loops at once,
# checks the statuses and nginx's error log, stops the stack.
round() {
	local name=$1 started=1 i codes nrpc nbad nsub n502 resets
	shift
	rm -rf "$dir/d" "$dir"/out.*
	for _ in $(seq 20); do
		port=$((20000 + RANDOM % 30000))
		if "$local_sh" start --port "$port" --data-dir "$dir/d" \
		    --token "$token" --workers 4 "$@" --evdb "$build/evdb" \
		    >"$dir/start.out" 2>&1; then
			started=0
			break
		fi
		"$local_sh" stop --data-dir "$dir/d" >/dev/null 2>&1
	done
	[ $started = 0 ] || sed 's/^/# /' "$dir/start.out"
	grep -q '^	keepalive [0-9]*;$' "$dir/d/nginx/conf/evdb-server.conf"
	ok $(( started != 0 || $? != 0 )) "$name: the stack starts with upstream keep-alive on"

	for i in $(seq $bad_loops); do bad_loop "$i" >"$dir/out.bad.$i" & done
	for i in $(seq $rpc_loops); do rpc_loop "$i" >"$dir/out.rpc.$i" & done
	for i in $(seq $sub_loops); do sub_loop "$i" >"$dir/out.sub.$i" & done
	wait

	nrpc=$(cat "$dir"/out.rpc.* | grep -c '^200$')
	nbad=$(cat "$dir"/out.bad.* | grep -c '^400$')
	nsub=$(cat "$dir"/out.sub.* | grep -c '^200$')
	n502=$(cat "$dir"/out.* | grep -c '^502$')
	codes=$(cat "$dir"/out.* | sort | uniq -c | tr -s ' \n' ' ')
	echo "# $name: statuses (count code):$codes"
	ok $(( n502 != 0 )) "$name: no answer is a 502 ($n502)"
	ok $(( nrpc != rpc_loops * rpc_reqs )) "$name: every /rpc write is 200 ($nrpc of $((rpc_loops * rpc_reqs)))"
	ok $(( nbad != bad_loops * bad_reqs )) "$name: every refused /subscribe is 400 ($nbad of $((bad_loops * bad_reqs)))"
	ok $(( nsub != sub_loops * sub_reqs )) "$name: every short subscriber got its stream ($nsub of $((sub_loops * sub_reqs)))"
	resets=$(grep -c -E '(Connection reset by peer|Broken pipe).*upstream' \
	    "$dir/d/log/nginx-error.log" 2>/dev/null)
	ok $(( resets != 0 )) "$name: nginx's error log has no reset or broken pipe towards evdb ($resets)"
	[ "$resets" = 0 ] || grep -m 5 -E '(Connection reset by peer|Broken pipe).*upstream' \
	    "$dir/d/log/nginx-error.log" | sed 's/^/# /'
	"$local_sh" stop --data-dir "$dir/d" >/dev/null 2>&1
}

if [ -n "${EVDB_E2E_PGDIR:-}" ]; then
	echo "1..12"
	db=kasse_$$
	"$src/deploy/pg-cluster" createdb "$EVDB_E2E_PGDIR" "$db" >"$dir/createdb.log" 2>&1 ||
	    { echo "Bail out! pg-cluster createdb $db failed"; cat "$dir/createdb.log"; exit 1; }
	store=(--store "host=$EVDB_E2E_PGDIR user=evdb dbname=$db")
	echo "# store: PostgreSQL, database $db"
	round "one instance" "${store[@]}"
	round "three instances" --instances 3 "${store[@]}"
else
	echo "1..6"
	round "one instance"
fi
exit $failed
