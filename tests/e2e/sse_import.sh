#!/usr/bin/env bash
# tests/e2e/sse_import.sh - imported messages reach live SSE subscribers,
# every one exactly once, in order (issue 14, "Imports poke"; TAP).
#
# Three subscribers (stream acct-1, category acct, all=true from the head)
# are live through nginx while the namespace is changed by /import:
#   1. an import appended above the head;
#   2. an import with force whose new head (8) is below the tail the hub had
#      fanned out (15): every subscriber's cursor is above the new head;
#   3. a second import with force whose new head (30) is above the tail
#      left by 2 (8), its message at gpos 8 another one than 2's.
# After each, every subscriber must have received exactly the matching
# imported messages (stream, position, globalPosition), in order, nothing
# twice.  Before the fix, 2 delivered nothing (the hub read only above its
# old tail) and 3 only the messages above the tail of 1.
# shellcheck shell=bash

. "$(cd "$(dirname "$0")/.." && pwd)/ops/lib.sh"

admin=ns_ZGVmYXVsdA_$(printf '5e%.0s' {1..32})
plan 12
ops_setup
stack_start "$OPS_TMP/s" --token "$admin"
url=$STACK_URL
tok=$(ns_create "$url" "$admin" imp)
[[ -n $tok ]] || bail "ns.create failed"

# Five messages written before anyone subscribes (head 5).
for i in 0 1 2 3 4; do
	rpc "$url" "$tok" "[\"stream.write\",\"acct-1\",{\"type\":\"W\",\"data\":{}}]" >/dev/null
done

# sub NAME QUERY: a live subscriber, its frames in $OPS_TMP/NAME.sse.
sub() {
	curl -sS -N --max-time 120 "$url/subscribe?$2&token=$tok" \
		>"$OPS_TMP/$1.sse" 2>/dev/null &
	ops_pids+=($!)
}
sub stream 'stream=acct-1'
sub category 'category=acct'
sub all 'all=true'
for f in stream category all; do
	for ((i = 0; i < 100; i++)); do
		grep -q '^: ready' "$OPS_TMP/$f.sse" 2>/dev/null && break
		sleep 0.1
	done
done
# The stream and category subscribers catch up on the 5 written messages.
sleep 1
skip_stream=$(grep -c '^data: ' "$OPS_TMP/stream.sse")
skip_category=$(grep -c '^data: ' "$OPS_TMP/category.sse")
skip_all=$(grep -c '^data: ' "$OPS_TMP/all.sse")
diag "before the imports: $skip_stream, $skip_category and $skip_all pokes (stream, category, all)"

# rec GPOS STREAM POS: one NDJSON record.
rec() {
	printf '{"id":"00000000-0000-4000-8000-%012d","stream":"%s","type":"I","pos":%d,"gpos":%d,"data":{},"meta":null,"time":"2026-01-01T00:00:00Z"}\n' \
		"$((ID++))" "$2" "$3" "$1"
}
ID=1

# expect FILE.ndjson NAME: the pokes subscriber NAME is due for FILE's records.
expect() {
	awk -v who="$2" '{
		match($0, /"stream":"[^"]*"/); s = substr($0, RSTART + 10, RLENGTH - 11)
		match($0, /"pos":[0-9]+/); p = substr($0, RSTART + 6, RLENGTH - 6)
		match($0, /"gpos":[0-9]+/); g = substr($0, RSTART + 7, RLENGTH - 7)
		if (who == "all" || (who == "category" && s ~ /^acct-/) ||
		    (who == "stream" && s == "acct-1"))
			printf "{\"stream\":\"%s\",\"position\":%s,\"globalPosition\":%s}\n", s, p, g
	}' "$1"
}

# got NAME: the pokes NAME received since the imports began.
got() {
	local -n skip=skip_$1
	sed -n 's/^data: //p' "$OPS_TMP/$1.sse" | tr -d '\r' | tail -n +$((skip + 1))
}

# round N FILE FORCE DESC: imports FILE, then checks every subscriber.
round() {
	local n=$1 file=$2 force=$3 desc=$4 who want have i code
	code=$(curl -sS -o "$OPS_TMP/import$n.out" -w '%{http_code}' \
		"$url/import?token=$tok$force" -H 'Content-Type: application/x-ndjson' \
		--data-binary @"$file")
	is_ok "$code" 200 "import $n ($desc) answers 200"
	for who in stream category all; do
		expect "$file" "$who" >>"$OPS_TMP/$who.want"
		want=$(cat "$OPS_TMP/$who.want")
		# Wait up to 15 s for the pokes, then 0.5 s more for any extra.
		for ((i = 0; i < 150; i++)); do
			have=$(got "$who")
			[[ $(wc -l <<<"$have") -ge $(wc -l <<<"$want") ]] && break
			sleep 0.1
		done
		sleep 0.5
		have=$(got "$who")
		is_ok "$have" "$want" "after import $n, the $who subscriber got every imported message once, in order ($(wc -l <<<"$want") pokes)"
	done
}

# 1. Appended above the head (5): gpos 6..15.
f1=$OPS_TMP/i1.ndjson
{
	for i in 0 1 2 3 4; do
		rec $((6 + 2 * i)) acct-1 $((5 + i))
		if ((i % 2 == 0)); then rec $((7 + 2 * i)) acct-2 $((i / 2)); else rec $((7 + 2 * i)) other-1 $((i / 2)); fi
	done
} >"$f1"
round 1 "$f1" '' 'above the head'

# 2. Force, new head 8 below the tail 15.
f2=$OPS_TMP/i2.ndjson
{
	for i in 0 1 2 3; do
		rec $((1 + 2 * i)) acct-1 "$i"
		rec $((2 + 2 * i)) acct-9 "$i"
	done
} >"$f2"
round 2 "$f2" '&force=true' 'force, new head below the tail'

# 3. Force, new head 30 above the tail 8; gpos 8 is acct-1's now (acct-9's in 2).
f3=$OPS_TMP/i3.ndjson
{
	for i in $(seq 0 14); do
		rec $((1 + 2 * i)) other-2 "$i"
		rec $((2 + 2 * i)) acct-1 "$i"
	done
} >"$f3"
round 3 "$f3" '&force=true' 'force, new head above the old tail'

done_testing
