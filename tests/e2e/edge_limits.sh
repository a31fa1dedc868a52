#!/usr/bin/env bash
# tests/e2e/edge_limits.sh - nginx's rate and connection limits (issue 14,
# "Abuse at the edge"; TAP).
#
# The stack runs conf/ with low limits (EVDB_LOCAL_RATE_LIMIT=20: 20
# requests/s and a burst of 20 per client address and per token;
# EVDB_LOCAL_CONN_LIMIT=2 connections per address and per token).  Client 1
# (127.0.0.1, token A) floods /rpc; meanwhile client 2 (127.0.0.2, token B:
# Linux routes all of 127/8 to lo) sends a request every 100 ms.  Client 1
# must be cut with nginx's JSON 429 RATE_LIMITED, client 2 served every
# time; token A from a fresh address (127.0.0.3) is cut too (per token), so
# is token B from 127.0.0.1 (per address), and /import of client 1.  Then two subscribers of token A fill its
# connections: a third gets 429 CONNECTION_LIMIT, token B's is served, and
# token A's /rpc from the same address too (counted apart from /subscribe).
# On dadb68c (no limits) nothing is refused.
# shellcheck shell=bash

. "$(cd "$(dirname "$0")/.." && pwd)/ops/lib.sh"

admin=ns_ZGVmYXVsdA_$(printf '7c%.0s' {1..32})
flood_n=500
plan 13
ops_setup
export EVDB_LOCAL_RATE_LIMIT=20 EVDB_LOCAL_CONN_LIMIT=2
stack_start "$OPS_TMP/s" --token "$admin"
url=$STACK_URL
tok_a=$(ns_create "$url" "$admin" edgea)
tok_b=$(ns_create "$url" "$admin" edgeb)
[[ -n $tok_a && -n $tok_b ]] || bail "ns.create failed"
sleep 1.5	# the admin's requests refill

# The flood: sys.version calls of token A over one kept-alive connection
# from 127.0.0.1, flood_n per curl run, runs one after the other until the
# checks below are done; each answer's status on a line.
cfg=$OPS_TMP/flood.cfg
for ((i = 0; i < flood_n; i++)); do
	((i > 0)) && echo next
	printf 'url = "%s/rpc"\nheader = "Authorization: Bearer %s"\ndata = "[\\"sys.version\\"]"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$url" "$tok_a"
done >"$cfg"
while [[ ! -e $OPS_TMP/flood.stop ]]; do
	curl -s --interface 127.0.0.1 -K "$cfg"
done >"$OPS_TMP/flood.out" &
flood_pid=$!
ops_pids+=("$flood_pid")

# Client 2, meanwhile: 10 requests 100 ms apart, each on its own connection.
b_ok=0
for ((i = 0; i < 10; i++)); do
	code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 \
		"$url/rpc" -H "Authorization: Bearer $tok_b" \
		-d '["stream.write","b-1",{"type":"T","data":{}}]')
	[[ $code == 200 ]] && b_ok=$((b_ok + 1))
	sleep 0.1
done
# While the flood runs: client 1's own request, token A from a fresh address
# (127.0.0.3), client 1's /import.  The flood takes each slot the rate frees
# (one per 50 ms) within a millisecond, so one of these may slip through:
# each is tried up to 3 times, until refused.
try3() {
	local out=$1 i r
	shift
	for i in 1 2 3; do
		r=$(curl -s -o "$OPS_TMP/$out.body" -w '%{http_code} %{content_type}' "$@")
		[[ $r == 429* ]] && break
	done
	printf '%s %s' "$r" "$(cat "$OPS_TMP/$out.body")"
}
body=$(try3 a1 --interface 127.0.0.1 "$url/rpc" -H "Authorization: Bearer $tok_a" \
	-d '["sys.version"]')
a3=$(try3 a3 --interface 127.0.0.3 "$url/rpc" -H "Authorization: Bearer $tok_a" \
	-d '["sys.version"]')
b1=$(try3 b1 --interface 127.0.0.1 "$url/rpc" -H "Authorization: Bearer $tok_b" \
	-d '["sys.version"]')
imp=$(try3 imp --interface 127.0.0.1 "$url/import?token=$tok_a" \
	-H 'Content-Type: application/x-ndjson' --data-binary '')
touch "$OPS_TMP/flood.stop"
wait "$flood_pid"
total=$(wc -l <"$OPS_TMP/flood.out")
n200=$(grep -c '^200$' "$OPS_TMP/flood.out")
n429=$(grep -c '^429$' "$OPS_TMP/flood.out")
diag "flood of $total requests: $n200 answered 200, $n429 refused 429; client 2: $b_ok of 10 served"

cond_ok $((n200 + n429 == total && total >= flood_n ? 0 : 1)) "every flood request answered 200 or 429 ($n200 + $n429 of $total)"
cond_ok $((n429 >= total / 2 ? 0 : 1)) "the flood is limited: $n429 of $total refused 429 (at least half)"
cond_ok $((n200 >= 20 ? 0 : 1)) "the flood's burst was served: $n200 answered 200 (at least 20)"
is_ok "$b_ok" 10 "client 2 (127.0.0.2, another token) was served all 10 requests during the flood"
like_ok "$body" '^429 application/json \{"error":\{"code":"RATE_LIMITED","message":"[^"]+"\}\}$' \
	"a refused request gets JSON 429 RATE_LIMITED"
like_ok "$a3" '^429 application/json .*"RATE_LIMITED"' \
	"token A from another address (127.0.0.3) is refused too: the limit is per token"
like_ok "$b1" '^429 application/json .*"RATE_LIMITED"' \
	"token B from the flooding address (127.0.0.1) is refused too: the limit is per address"
like_ok "$imp" '^429 .*"RATE_LIMITED"' "client 1's /import is refused 429 RATE_LIMITED during the flood"

# Connection limits: two subscribers of token A, then a third.
sleep 1.5
for i in 1 2; do
	curl -sS -N --max-time 60 --interface 127.0.0.1 "$url/subscribe?all=true&token=$tok_a" \
		>"$OPS_TMP/sub$i.sse" 2>/dev/null &
	ops_pids+=($!)
	for ((j = 0; j < 100; j++)); do
		grep -q '^: ready' "$OPS_TMP/sub$i.sse" 2>/dev/null && break
		sleep 0.1
	done
done
n=$(cat "$OPS_TMP"/sub[12].sse | grep -c '^: ready')
is_ok "$n" 2 "two subscribers of token A are served"
# /subscribe counts its connections apart from /rpc: token A, from the
# address of its two subscribers, still calls /rpc (two at once).
rpc_a=$( (curl -s -o /dev/null -w '%{http_code}\n' --interface 127.0.0.1 "$url/rpc" \
	-H "Authorization: Bearer $tok_a" -d '["sys.version"]' &
	curl -s -o /dev/null -w '%{http_code}\n' --interface 127.0.0.1 "$url/rpc" \
	-H "Authorization: Bearer $tok_a" -d '["sys.version"]'; wait) | sort | tr '\n' ' ')
is_ok "$rpc_a" "200 200 " "token A's /rpc from the same address is served while its subscriptions fill their limit"
third=$(curl -s --max-time 5 -w ' %{http_code}' --interface 127.0.0.4 \
	"$url/subscribe?all=true&token=$tok_a")
like_ok "$third" '^\{"error":\{"code":"CONNECTION_LIMIT","message":"[^"]+"\}\} 429$' \
	"a third subscriber of token A (from another address) gets JSON 429 CONNECTION_LIMIT"
other=$(curl -s -N --max-time 2 --interface 127.0.0.2 "$url/subscribe?all=true&token=$tok_b")
like_ok "$other" '^: ready' "token B's subscriber (127.0.0.2) is served meanwhile"
is_ok "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$url/rpc" \
	-H "Authorization: Bearer $tok_b" -d '["sys.version"]')" 200 "token B's /rpc is served meanwhile"

done_testing
