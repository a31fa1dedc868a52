#!/usr/bin/env bash
# tests/bench/tools.sh - the measuring tools of make bench and make
# bench-count do what their figures claim (issue 13): loadgen's open loop
# sends at the asked rate and times requests from when they were due (a
# backlog shows in the latency: coordinated omission corrected), its
# subscribers see every write's poke, and heapcount.so tells the
# executable's own allocations from the libraries'.  Nothing here measures
# speed: the only comparison of latencies is between two runs of the same
# requests, one of which queues a thousand of them behind each other.

. "$(dirname "$0")/../ops/lib.sh"

LOADGEN=$EVDB_BUILDDIR/tests/bench/loadgen
HEAPCOUNT=$EVDB_BUILDDIR/tests/bench/heapcount.so

plan 14
ops_setup
[[ -x $LOADGEN ]] || bail "no $LOADGEN (make tests/bench/loadgen)"
[[ -r $HEAPCOUNT ]] || bail "no $HEAPCOUNT (make tests/bench/heapcount.so)"

LOADGEN_TOKEN=ns_ZGVmYXVsdA_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
export LOADGEN_TOKEN
stack_start "$OPS_TMP/s" --token "$LOADGEN_TOKEN"

# field LINE KEY: the value of KEY=... in a RESULT line.
field() {
	local v=${1##* "$2"=}
	printf '%s\n' "${v%% *}"
}

# lg ARGS...: runs loadgen against the stack; its RESULT line in $res.
lg() {
	out=$("$LOADGEN" --port "$STACK_PORT" "$@" 2>&1)
	res=$(grep '^RESULT' <<<"$out")
	[[ -n $res ]] || diag "$out"
}

# Subscribers first, on the empty store: from position 1, each sees every
# write's poke and nothing else.
lg --workload write --connections 1 --requests 30 --seed 3 \
	--subscribers 3 --subscribe-position 1
is_ok "$(field "$res" errors)" 0 "writes with 3 subscribers attached: no error"
is_ok "$(field "$res" pokes)" 90 "3 subscribers see the poke of each of 30 writes"

# The open loop sends what is due in the window, and no more.
lg --workload write --connections 2 --rate 50 --duration 1 --warmup 0 --seed 4
is_ok "$(field "$res" requests)" 50 "--rate 50 for 1 s sends 50 requests"
is_ok "$(field "$res" errors)" 0 "the open loop's requests succeed"
is_ok "$(field "$res" rate)" 50.0 "RESULT reports the asked rate"

# Coordinated omission: 1,000 requests due within 10 ms over one
# connection queue behind each other; timed from when each was due, the
# median waits for about 500 answers, so it is far above the median of the
# same requests in a closed loop (timed from when each could be sent).
lg --workload stream-get --connections 1 --requests 1000 --warmup 0 --seed 5
closed=$(field "$res" p50_us)
lg --workload stream-get --connections 1 --requests 1000 --warmup 0 --seed 5 \
	--rate 100000 --duration 0.01
open=$(field "$res" p50_us)
is_ok "$(field "$res" requests)" 1000 "the open loop sent the 1,000 requests due"
cond_ok "$(awk -v o="$open" -v c="$closed" 'BEGIN { print (o > 20 * c ? 0 : 1) }')" \
	"a backlog shows in the open loop's p50 ($open us against $closed us closed)"

# A bad rate is a usage error.
run_ok 2 "--rate 0 is refused" "$LOADGEN" --port "$STACK_PORT" --rate 0
run_ok 2 "--rate -1 is refused" "$LOADGEN" --port "$STACK_PORT" --rate -1

# --categories C (issue 9's W3/100cat): the writes land in categories
# test0..test<C-1>, each of them, and nowhere else.
lg --workload write --connections 1 --requests 40 --categories 4 --seed 6
n=0
hit=0
for k in 0 1 2 3; do
	m=$(curl -s --max-time 10 "http://127.0.0.1:$STACK_PORT/rpc" \
		-H "Authorization: Bearer $LOADGEN_TOKEN" \
		-d "[\"category.get\",\"test$k\",{\"batchSize\":1000}]" |
		grep -o '"TestEvent"' | wc -l)
	n=$((n + m))
	((m > 0)) && hit=$((hit + 1))
done
is_ok "$(field "$res" errors)" 0 "--categories 4: the writes succeed"
is_ok "$n/$hit" 40/4 "--categories 4: the 40 writes are in test0..test3, in each"
run_ok 2 "--categories 0 is refused" "$LOADGEN" --port "$STACK_PORT" --categories 0

# heapcount.so: ls allocates from its own code (gnulib's xmalloc) and
# through libc (opendir, the locale); own_allocs counts the first only.  A
# long listing, so that the reporter thread writes while ls runs.
HEAPCOUNT_FILE=$OPS_TMP/hc.txt HEAPCOUNT_INTERVAL_MS=5 LD_PRELOAD=$HEAPCOUNT \
	ls -lR /usr/lib /usr/share >/dev/null 2>&1
line=$(cat "$OPS_TMP/hc.txt")
all=$(field " $line" allocs)
own=$(field " $line" own_allocs)
like_ok "$line" 'own_allocs=[0-9]+' "heapcount.so reports own_allocs"
cond_ok "$(awk -v a="$all" -v o="$own" 'BEGIN { print (o > 0 && o < a ? 0 : 1) }')" \
	"own_allocs counts some of the allocations, not all ($own of $all)"

done_testing
