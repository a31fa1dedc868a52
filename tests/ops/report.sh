#!/usr/bin/env bash
# tests/ops/report.sh - evdb report streams|categories|types on a known data
# set: the expected rows, their order and alignment, --limit, the totals
# line, names with control characters, and the errors.

. "$(dirname "$0")/lib.sh"

plan 24
ops_setup
stack_start "$OPS_TMP/stack"
url=$STACK_URL
data=$OPS_TMP/stack/data
admin=$(cat "$data/admin.token")

# 6 streams in 5 categories, 9 messages of 6 types.
cat >"$OPS_TMP/messages.jsonl" <<'MSGS'
["stream.write","acc-1",{"type":"Opened","data":{}}]
["stream.write","acc-1",{"type":"Deposited","data":{"a":1}}]
["stream.write","acc-2",{"type":"Opened","data":{}}]
["stream.write","ord-1",{"type":"Placed","data":{}}]
["stream.write","café-9",{"type":"Opened","data":{}}]
["stream.write","audit",{"type":"Logged","data":{}}]
["stream.write","ord-1",{"type":"Shipped","data":{}}]
["stream.write","ctl-1",{"type":"Odd\ttype","data":{}}]
["stream.write","acc-1",{"type":"Deposited","data":{"a":2}}]
MSGS
is_ok "$(write_all "$url" "$admin" "$OPS_TMP/messages.jsonl")" 9 "9 messages written"

ts='20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'

# ---- streams ---------------------------------------------------------------
run_ok 0 "report streams, while the server runs" \
	"$EVDB" report streams --ns default --data-dir "$data"
streams=$out
like_ok "$streams" '^STREAM +MESSAGES +VERSION +LAST ACTIVITY$' "the streams header"
like_ok "$streams" "^acc-1 +3 +2  $ts\$" "acc-1: 3 messages, version 2"
like_ok "$streams" "^acc-2 +1 +0  $ts\$" "acc-2: 1 message, version 0"
like_ok "$streams" "^café-9 +1 +0  $ts\$" "a UTF-8 stream name"
is_ok "$(sed -n '2,7p' <<<"$streams" | cut -d' ' -f1 | tr '\n' ' ')" \
	"acc-1 acc-2 audit café-9 ctl-1 ord-1 " "streams are sorted bytewise"
# Aligned: LAST ACTIVITY starts in the same column (in characters) on every line.
cols=$(LC_ALL=C sed -e 's/[\x80-\xbf]//g' <<<"$streams" | LC_ALL=C awk '
	NR == 1 { print index($0, "LAST ACTIVITY"); next }
	/^\(/ { next }
	{ print index($0, "20") }' | LC_ALL=C sort -u | wc -l)
is_ok "$cols" 1 "the columns are aligned"
last=$(rpc "$url" "$admin" '["stream.last","acc-1"]' | grep -oE "$ts")
like_ok "$streams" "^acc-1 +3 +2  $last\$" "acc-1's last activity is the time of its last message"
like_ok "$streams" '^\(6 streams; namespace default: 9 messages in 6 streams\)$' "the totals line"

# ---- categories ---------------------------------------------------------------
run_ok 0 "report categories" "$EVDB" report categories --ns default --data-dir "$data"
like_ok "$out" '^CATEGORY +STREAMS +MESSAGES +LAST ACTIVITY$' "the categories header"
like_ok "$out" "^acc +2 +4  $ts\$" "acc: 2 streams, 4 messages"
like_ok "$out" "^ord +1 +2  $ts\$" "ord: 1 stream, 2 messages"
like_ok "$out" "^audit +1 +1  $ts\$" "a stream without an id is its own category"

# ---- types ------------------------------------------------------------------------
run_ok 0 "report types" "$EVDB" report types --ns default --data-dir "$data"
like_ok "$out" "^Deposited +2  $ts\$" "Deposited: 2 messages"
like_ok "$out" "^Opened +3  $ts\$" "Opened: 3 messages"
like_ok "$out" "^Odd\\?type +1  $ts\$" "a control character is shown as ?"

# ---- --limit, a stopped server, errors ----------------------------------------------
"$EVDB" report streams --ns default --data-dir "$data" --limit 2 >"$OPS_TMP/limited" 2>&1
is_ok "$(grep -cE "  $ts\$" "$OPS_TMP/limited")/$(sed -n 3p "$OPS_TMP/limited" | cut -d' ' -f1)" \
	"2/acc-2" "--limit 2 prints the first 2 rows"
stack_stop "$OPS_TMP/stack"
run_ok 0 "report on a stopped server's files" \
	"$EVDB" report types --ns default --data-dir "$data"
is_ok "$(grep -cE "  $ts\$" <<<"$out")" 6 "... with all 6 types"
run_ok 1 "an unknown namespace fails" \
	"$EVDB" report streams --ns nosuch --data-dir "$data"
run_ok 2 "an unknown report is a usage error" \
	"$EVDB" report everything --ns default --data-dir "$data"

done_testing
