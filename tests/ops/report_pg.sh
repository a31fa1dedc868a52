#!/usr/bin/env bash
# tests/ops/report_pg.sh - evdb report on a PostgreSQL store: the same known
# data set as tests/ops/report.sh, written through a server started with
# --store on a private cluster (deploy/pg-cluster), must give exactly the
# expected rows and totals, for the default namespace (schema message_store)
# and a tenant's (schema evdb_ns_<id>), and the same tables, times aside, as
# a SQLite store given the same writes.  The store is found as evdb serve
# finds it: --store, EVDB_STORE or the config file's store =.  A database
# without evdb's registry is refused, and left without one.

. "$(dirname "$0")/lib.sh"

plan 25
ops_setup
# The test names the store itself, each way in turn.
unset EVDB_STORE EVDB_CONFIG EVDB_DATA_DIR
pg_start
pgdir=$PG_DIR
store=$PG_STORE

stack_start "$OPS_TMP/pg" --store "$store"
url=$STACK_URL
admin=$(cat "$OPS_TMP/pg/data/admin.token")
stack_start "$OPS_TMP/sq"
url_sq=$STACK_URL
admin_sq=$(cat "$OPS_TMP/sq/data/admin.token")
acme=$(ns_create "$url" "$admin" acme)
cond_ok "$([[ -n $acme ]]; echo $?)" "a tenant namespace, acme"

# 7 streams in 6 categories, 10 messages of 7 types (as report.sh, and an
# upper-case name that sorts first bytewise but not in a natural order).
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
["stream.write","Zed-1",{"type":"Zapped","data":{}}]
MSGS
is_ok "$(write_all "$url" "$admin" "$OPS_TMP/messages.jsonl")" 10 "10 messages written to PostgreSQL"
is_ok "$(write_all "$url_sq" "$admin_sq" "$OPS_TMP/messages.jsonl")" 10 "... and the same to SQLite"
sed -n '1,3p' "$OPS_TMP/messages.jsonl" >"$OPS_TMP/acme.jsonl"
is_ok "$(write_all "$url" "$acme" "$OPS_TMP/acme.jsonl")" 3 "3 of them to acme"

ts='20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'
# figures FILE: the report without its times, blanks squeezed.
figures() {
	sed -E "s/  $ts\$//" "$1" | tr -s ' '
}

# ---- streams ------------------------------------------------------------------
run_ok 0 "report streams --store, while the server runs" \
	"$EVDB" report streams --ns default --store "$store"
printf '%s\n' "$out" >"$OPS_TMP/pg-streams"
is_ok "$(figures "$OPS_TMP/pg-streams")" "STREAM MESSAGES VERSION LAST ACTIVITY
Zed-1 1 0
acc-1 3 2
acc-2 1 0
audit 1 0
café-9 1 0
ctl-1 1 0
ord-1 2 1
(7 streams; namespace default: 10 messages in 7 streams)" \
	"every stream, bytewise, with its messages and version, and the totals"
is_ok "$(grep -cE "  $ts\$" "$OPS_TMP/pg-streams")" 7 "each row ends with its last activity"
last=$(rpc "$url" "$admin" '["stream.last","acc-1"]' | grep -oE "$ts")
like_ok "$out" "^acc-1 +3 +2  $last\$" "acc-1's last activity is the time of its last message ($last)"
cols=$(LC_ALL=C sed -e 's/[\x80-\xbf]//g' "$OPS_TMP/pg-streams" | LC_ALL=C awk '
	NR == 1 { print index($0, "LAST ACTIVITY"); next }
	/^\(/ { next }
	{ print index($0, "20") }' | LC_ALL=C sort -u | wc -l)
is_ok "$cols" 1 "the columns are aligned"

# ---- categories and types --------------------------------------------------------
run_ok 0 "report categories" "$EVDB" report categories --ns default --store "$store"
printf '%s\n' "$out" >"$OPS_TMP/pg-categories"
is_ok "$(figures "$OPS_TMP/pg-categories")" "CATEGORY STREAMS MESSAGES LAST ACTIVITY
Zed 1 1
acc 2 4
audit 1 1
café 1 1
ctl 1 1
ord 1 2
(6 categories; namespace default: 10 messages in 7 streams)" \
	"every category (Message DB's category()) with its streams and messages"
run_ok 0 "report types" "$EVDB" report types --ns default --store "$store"
printf '%s\n' "$out" >"$OPS_TMP/pg-types"
is_ok "$(figures "$OPS_TMP/pg-types")" "TYPE MESSAGES LAST ACTIVITY
Deposited 2
Logged 1
Odd?type 1
Opened 3
Placed 1
Shipped 1
Zapped 1
(7 types; namespace default: 10 messages in 7 streams)" \
	"every type with its messages; a control character shown as ?"

# ---- the same as SQLite -----------------------------------------------------------
same=0
for k in streams categories types; do
	"$EVDB" report "$k" --ns default --data-dir "$OPS_TMP/sq/data" >"$OPS_TMP/sq-$k" 2>&1
	if [[ $(figures "$OPS_TMP/sq-$k") == "$(figures "$OPS_TMP/pg-$k")" ]] &&
		[[ $(wc -c <"$OPS_TMP/sq-$k") == $(wc -c <"$OPS_TMP/pg-$k") ]]; then
		same=$((same + 1))
	else
		diag "$k differs:" "$(diff "$OPS_TMP/sq-$k" "$OPS_TMP/pg-$k")"
	fi
done
is_ok "$same" 3 "the three tables are SQLite's, times aside, to the byte"

# ---- a tenant, --limit, the other ways to name the store ------------------------------
run_ok 0 "report streams of acme (its own schema)" \
	"$EVDB" report streams --ns acme --store "$store"
is_ok "$(figures <(printf '%s\n' "$out"))" "STREAM MESSAGES VERSION LAST ACTIVITY
acc-1 2 1
acc-2 1 0
(2 streams; namespace acme: 3 messages in 2 streams)" "acme's streams only"
run_ok 0 "report categories --limit 2" \
	"$EVDB" report categories --ns default --store "$store" --limit 2
is_ok "$(figures <(printf '%s\n' "$out"))" "CATEGORY STREAMS MESSAGES LAST ACTIVITY
Zed 1 1
acc 2 4
(2 categories; namespace default: 10 messages in 7 streams)" \
	"--limit 2: the first 2 rows, the namespace's totals"
stack_stop "$OPS_TMP/pg"
out=$(EVDB_STORE=$store "$EVDB" report types --ns default 2>&1)
cond_ok "$(cmp -s <(printf '%s\n' "$out") "$OPS_TMP/pg-types"; echo $?)" \
	"EVDB_STORE names the store, the server stopped: the same table"
printf '# evdb.conf\nstore = %s\n' "$store" >"$OPS_TMP/evdb.conf"
run_ok 0 "the config file's store = names it too" \
	"$EVDB" report streams --ns default --config "$OPS_TMP/evdb.conf"
cond_ok "$(cmp -s <(printf '%s\n' "$out") "$OPS_TMP/pg-streams"; echo $?)" \
	"... with the same table"

# ---- errors -----------------------------------------------------------------------
run_ok 1 "an unknown namespace fails" "$EVDB" report streams --ns nosuch --store "$store"
like_ok "$err_out" "no namespace 'nosuch'" "... and says so"
empty=$("$EVDB_SRCDIR/deploy/pg-cluster" createdb "$pgdir" evdb_empty) || bail "createdb failed"
run_ok 1 "a database without evdb's registry is refused" \
	"$EVDB" report streams --ns default --store "$empty"
is_ok "$(psql -X -q -At -h "$pgdir" -U evdb -d evdb_empty \
	-c "SELECT count(*) FROM pg_namespace WHERE nspname IN ('evdb', 'message_store')")" \
	0 "... and the report created nothing in it"

done_testing
