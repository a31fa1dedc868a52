#!/usr/bin/env bash
# tests/ops/report_lifecycle.sh - evdb report lifecycle on both backends:
# the same writes, deletes, truncation and retention settings, made through
# a SQLite stack and a PostgreSQL stack, must give exactly the expected
# streams (soft-deleted, soft-deleted then written again, hard-deleted,
# truncated, with a retention of their own) and category retentions, in
# bytewise order and aligned, with the totals line; --limit bounds each
# table; an unknown namespace fails; and evdb report streams, categories
# and types agree with what was deleted (issue 12: deleted and truncated
# messages counted nowhere, a hard-deleted stream listed nowhere).  PostgreSQL: a database of
# EVDB_E2E_PGDIR's cluster when set, else a private cluster.

. "$(dirname "$0")/lib.sh"

plan 30
ops_setup
unset EVDB_STORE EVDB_CONFIG EVDB_DATA_DIR
if [[ -n ${EVDB_E2E_PGDIR:-} ]]; then
	store=$("$EVDB_SRCDIR/deploy/pg-cluster" createdb "$EVDB_E2E_PGDIR" \
		"lcreport_$$") || bail "createdb failed"
else
	pg_start
	store=$PG_STORE
fi

stack_start "$OPS_TMP/sq"
url_sq=$STACK_URL
admin_sq=$(cat "$OPS_TMP/sq/data/admin.token")
stack_start "$OPS_TMP/pg" --store "$store"
url_pg=$STACK_URL
admin_pg=$(cat "$OPS_TMP/pg/data/admin.token")

cat >"$OPS_TMP/calls.jsonl" <<'CALLS'
["stream.write","acc-1",{"type":"Opened","data":{}}]
["stream.write","acc-1",{"type":"Deposited","data":{}}]
["stream.write","acc-1",{"type":"Deposited","data":{}}]
["stream.write","acc-2",{"type":"Opened","data":{}}]
["stream.write","acc-2",{"type":"Closed","data":{}}]
["stream.write","gdpr-1",{"type":"Registered","data":{}}]
["stream.write","gdpr-1",{"type":"Moved","data":{}}]
["stream.write","log-1",{"type":"L","data":{}}]
["stream.write","log-1",{"type":"L","data":{}}]
["stream.write","log-1",{"type":"L","data":{}}]
["stream.write","log-1",{"type":"L","data":{}}]
["stream.write","log-1",{"type":"L","data":{}}]
["stream.write","keep-1",{"type":"K","data":{}}]
["stream.write","plain-1",{"type":"P","data":{}}]
["stream.delete","acc-1"]
["stream.delete","acc-2",{"expectedVersion":1}]
["stream.write","acc-2",{"type":"Reopened","data":{}}]
["stream.delete","gdpr-1",{"hard":true}]
["stream.truncate","log-1",{"before":3}]
["stream.setRetention","keep-1",{"maxAge":3600,"maxCount":10}]
["stream.setRetention","café-9",{"maxCount":5}]
["category.setRetention","audit",{"maxCount":100}]
["category.setRetention","tmp",{"maxAge":60,"maxCount":null}]
CALLS
n=$(wc -l <"$OPS_TMP/calls.jsonl")
is_ok "$(write_all "$url_sq" "$admin_sq" "$OPS_TMP/calls.jsonl")" "$n" "$n calls answered on SQLite"
is_ok "$(write_all "$url_pg" "$admin_pg" "$OPS_TMP/calls.jsonl")" "$n" "... and on PostgreSQL"

ts='20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'
# What the report must say, times aside, blanks squeezed.  plain-1 has no
# lifecycle state and must not appear.
want="STREAM STATE VERSION MESSAGES FLOOR MAX AGE MAX COUNT CHANGED
acc-1 soft - 0 2 - - T
acc-2 - 2 1 1 - - T
café-9 - - 0 - - 5 T
gdpr-1 hard - 0 1 - - T
keep-1 - 0 1 - 3600 10 T
log-1 - 4 2 4 - - T

CATEGORY MAX AGE MAX COUNT
audit - 100
tmp 60 -
(6 streams with a lifecycle state: 1 soft-deleted, 1 hard-deleted; 2 category retentions; namespace default)"

# check BACKEND STORE-ARGS...: the report's figures, its times, alignment.
check() {
	local name=$1 cols
	shift
	run_ok 0 "report lifecycle on $name" "$EVDB" report lifecycle --ns default "$@"
	printf '%s\n' "$out" >"$OPS_TMP/$name"
	diag "$out"
	is_ok "$(sed -E "s/  $ts\$/  T/" "$OPS_TMP/$name" | tr -s ' ')" "$want" \
		"$name: exactly the expected rows"
	is_ok "$(grep -cE "  $ts\$" "$OPS_TMP/$name")" 6 "$name: each stream's last change is a time"
	# Aligned: CHANGED starts in the same character column on every line
	# of the streams table; the categories table's lines (MAX COUNT
	# right-aligned) are all as long.
	cols=$(LC_ALL=C sed -e 's/[\x80-\xbf]//g' "$OPS_TMP/$name" | LC_ALL=C awk '
		/^$/ { t++; next }
		/^\(/ { next }
		t == 0 && /^STREAM/ { print "s", index($0, "CHANGED"); next }
		t == 0 { print "s", index($0, "  20") + 2 }
		t == 1 { print "c", length($0) }' | sort -u | wc -l)
	is_ok "$cols" 2 "$name: the columns are aligned"
	run_ok 0 "report lifecycle --limit 1 on $name" \
		"$EVDB" report lifecycle --ns default --limit 1 "$@"
	is_ok "$(sed -E "s/  $ts\$/  T/" <<<"$out" | tr -s ' ')" "STREAM STATE VERSION MESSAGES FLOOR MAX AGE MAX COUNT CHANGED
acc-1 soft - 0 2 - - T

CATEGORY MAX AGE MAX COUNT
audit - 100
(1 streams with a lifecycle state: 1 soft-deleted, 0 hard-deleted; 1 category retentions; namespace default)" \
		"$name: --limit 1 bounds each table"
	run_ok 1 "$name: an unknown namespace fails" \
		"$EVDB" report lifecycle --ns nosuch "$@"
}

# counts BACKEND STORE-ARGS...: report streams|categories|types after the
# deletes: acc-1 (soft, empty) and gdpr-1 (hard) absent, log-1 with the 2
# messages its truncation kept, and totals of 5 messages in 4 streams.
counts() {
	local name=$1 r total="namespace default: 5 messages in 4 streams)"
	shift
	declare -A want=(
		[streams]="STREAM MESSAGES VERSION LAST ACTIVITY
acc-2 1 2 T
keep-1 1 0 T
log-1 2 4 T
plain-1 1 0 T
(4 streams; $total"
		[categories]="CATEGORY STREAMS MESSAGES LAST ACTIVITY
acc 1 1 T
keep 1 1 T
log 1 2 T
plain 1 1 T
(4 categories; $total"
		[types]="TYPE MESSAGES LAST ACTIVITY
K 1 T
L 2 T
P 1 T
Reopened 1 T
(4 types; $total")
	for r in streams categories types; do
		run_ok 0 "report $r on $name" "$EVDB" report "$r" --ns default "$@"
		is_ok "$(sed -E "s/  $ts\$/  T/" <<<"$out" | tr -s ' ')" "${want[$r]}" \
			"$name: report $r agrees with the deletes and the truncation"
	done
}

check sqlite --data-dir "$OPS_TMP/sq/data"
check postgres --store "$store"
counts sqlite --data-dir "$OPS_TMP/sq/data"
counts postgres --store "$store"
run_ok 0 "stream.info agrees: log-1 from 3, 2 messages" \
	rpc "$url_pg" "$admin_pg" '["stream.info","log-1"]'
like_ok "$out" '"version":4,"firstPosition":3,"messageCount":2' "... on PostgreSQL"

stack_stop "$OPS_TMP/sq"
stack_stop "$OPS_TMP/pg"
done_testing
