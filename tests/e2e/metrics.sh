#!/usr/bin/env bash
# metrics.sh - GET /metrics through the real nginx (TAP): who may read it,
# that it is well-formed Prometheus text, and that its counters move with
# the traffic they count.
set -u

src=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${EVDB_BUILDDIR:-$src}
local_sh=$src/deploy/evdb-local
token=ns_ZGVmYXVsdA_$(printf 'cd%.0s' {1..32})
mtoken=metrics-$(printf 'ef%.0s' {1..16})
dir=$(mktemp -d "${TMPDIR:-/tmp}/evdb-metrics-XXXXXX")
. "$src/tests/tap.sh"

cleanup() {
	"$local_sh" stop --data-dir "$dir" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

started=1
for _ in $(seq 20); do
	port=$((20000 + RANDOM % 30000))
	if EVDB_METRICS_TOKEN=$mtoken "$local_sh" start --port "$port" --data-dir "$dir" \
	    --token "$token" --workers 4 --evdb "$build/evdb" >"$dir/start.out" 2>&1; then
		started=0
		break
	fi
done

base="http://127.0.0.1:$port"
rpc() {
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" -d "$2" "$base/rpc"
}
scrape() {
	curl -s -H "Authorization: Bearer $1" "$base/metrics"
}
# The value of the sample named exactly $2 (name{labels}) in text $1.
sample() {
	printf '%s\n' "$1" | awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "missing" }'
}

echo "1..14"
ok $started "the stack starts with a metrics token"

code=$(curl -s -o "$dir/body" -w '%{http_code}' "$base/metrics")
grep -q '"code":"AUTH_REQUIRED"' "$dir/body"
ok $(( code != 401 || $? != 0 )) "without a token: 401 AUTH_REQUIRED" "got $code $(cat "$dir/body")"

tenant=$(curl -s -H "Authorization: Bearer $token" -d '["ns.create","mt1"]' "$base/rpc" |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
code=$(curl -s -o "$dir/body" -w '%{http_code}' -H "Authorization: Bearer $tenant" "$base/metrics")
grep -q '"code":"AUTH_UNAUTHORIZED"' "$dir/body"
ok $(( code != 403 || $? != 0 )) "a tenant's token: 403 AUTH_UNAUTHORIZED" "got $code"

code=$(curl -s -o "$dir/m0" -w '%{http_code}' -D "$dir/h0" -H "Authorization: Bearer $mtoken" "$base/metrics")
ok $(( code != 200 )) "the metrics token may read /metrics" "got $code"
grep -qi '^content-type: text/plain; version=0.0.4' "$dir/h0"
ok $? "Content-Type is the Prometheus text format 0.0.4"

# Well-formed: every line is a comment (# HELP/# TYPE) or "name{labels} value".
bad=$(grep -v -E '^# (HELP|TYPE) [a-z_]+ ' "$dir/m0" |
    grep -v -E '^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [-+0-9.eE]+(\.[0-9]+)?$' | head -3)
ok $([ -z "$bad" ]; echo $?) "every line parses as a sample or a HELP/TYPE comment" "$bad"
types=$(grep -c '^# TYPE ' "$dir/m0")
ok $(( types < 10 )) "at least 10 metric families are described ($types)"

m0=$(cat "$dir/m0")
w0=$(sample "$m0" evdb_messages_written_total)
c0=$(sample "$m0" evdb_version_conflicts_total)

for i in $(seq 1 25); do rpc "$token" "[\"stream.write\",\"met-1\",{\"type\":\"T\",\"data\":{\"i\":$i}}]" >/dev/null; done
rpc "$token" '["stream.write","met-1",{"type":"T","data":{}},{"expectedVersion":0}]' >/dev/null
rpc "$token" '["stream.get","met-1"]' >/dev/null
rpc "$token" '["nope"]' >/dev/null

m1=$(scrape "$token")
w1=$(sample "$m1" evdb_messages_written_total)
ok $(( w1 - w0 != 25 )) "evdb_messages_written_total counts the 25 writes ($w0 -> $w1)"
c1=$(sample "$m1" evdb_version_conflicts_total)
ok $(( c1 - c0 != 1 )) "evdb_version_conflicts_total counts the conflict ($c0 -> $c1)"
r=$(sample "$m1" 'evdb_requests_total{method="stream.write",status="409"}')
ok $([ "$r" = 1 ]; echo $?) "requests by method and status: one stream.write answered 409" "got $r"
r=$(sample "$m1" 'evdb_requests_total{method="rpc",status="404"}')
ok $([ "$r" = 1 ]; echo $?) "an unknown method counts under rpc/404" "got $r"
cnt=$(sample "$m1" 'evdb_request_duration_seconds_count{method="stream.write"}')
inf=$(sample "$m1" 'evdb_request_duration_seconds_bucket{method="stream.write",le="+Inf"}')
ok $([ "$cnt" != missing ] && [ "$cnt" = "$inf" ] && [ "$cnt" -ge 26 ]; echo $?) \
    "the latency histogram's +Inf bucket equals its count ($cnt)"
db=$(sample "$m1" 'evdb_namespace_file_bytes{namespace="default",file="db"}')
ok $([ "$db" != missing ] && [ "$db" -gt 0 ]; echo $?) "the default namespace's database size is reported ($db bytes)"
wk=$(sample "$m1" evdb_workers)
ok $([ "$wk" = 4 ]; echo $?) "evdb_workers is the configured 4" "got $wk"
exit $failed
