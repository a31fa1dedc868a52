#!/usr/bin/env bash
# tests/ops/backup.sh - evdb backup under a write load, and evdb restore:
# a backup taken while a background loop keeps writing to two namespaces is
# restored into a fresh data directory, a second stack is started on it, and
# every message up to the global position recorded in backup.json must be
# identical on both sides (in the database files and through the server).

. "$(dirname "$0")/lib.sh"

PREFILL=3000		# messages in namespace "load" before the backup
BATCH=50		# writes per curl process in the load loop
MAX_BATCHES=400		# the load loop's bound (20,000 writes)

plan 26
ops_setup
stack_start "$OPS_TMP/a"
url_a=$STACK_URL
data_a=$OPS_TMP/a/data
admin=$(cat "$data_a/admin.token")
load_token=$(ns_create "$url_a" "$admin" load)
[[ $load_token == ns_* ]] || bail "ns.create load failed"

# Messages of about 600 bytes, so the file spans many backup steps.
pad=$(printf 'x%.0s' {1..500})
gen() {
	local prefix=$1 n=$2 i
	for ((i = 0; i < n; i++)); do
		printf '["stream.write","%s-%d",{"type":"Tick","data":{"i":%d,"pad":"%s","u":"ü"},"metadata":{"batch":"%s"}}]\n' \
			"$prefix" $((i % 37)) "$i" "$pad" "$prefix"
	done
}
gen item "$PREFILL" >"$OPS_TMP/prefill.jsonl"
gen admin 200 >"$OPS_TMP/prefill-default.jsonl"
is_ok "$(write_all "$url_a" "$load_token" "$OPS_TMP/prefill.jsonl")" "$PREFILL" \
	"prefill: $PREFILL writes to namespace load"
is_ok "$(write_all "$url_a" "$admin" "$OPS_TMP/prefill-default.jsonl")" 200 \
	"prefill: 200 writes to namespace default"

load_file=$(ns_file "$data_a" load)
default_file=$(ns_file "$data_a" default)

# ---- the write load -----------------------------------------------------------
gen live "$BATCH" >"$OPS_TMP/batch.jsonl"
gen livedef 10 >"$OPS_TMP/batch-default.jsonl"
stop=$OPS_TMP/stop-load
load_loop() {
	local b ok=0
	for ((b = 0; b < MAX_BATCHES; b++)); do
		[[ -e $stop ]] && break
		ok=$((ok + $(write_all "$url_a" "$load_token" "$OPS_TMP/batch.jsonl")))
		ok=$((ok + $(write_all "$url_a" "$admin" "$OPS_TMP/batch-default.jsonl")))
	done
	printf '%s\n' "$ok" >"$OPS_TMP/load-done"
}
load_loop &
ops_pids+=($!)
load_pid=$!

# Wait until the load is visibly writing (up to 60 s: it starts with a
# few processes, which a loaded machine may be slow to run).
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
	(($(db_head "$load_file") > PREFILL + BATCH)) && break
	sleep 0.05
done
before=$(db_head "$load_file")
cond_ok "$( ((before > PREFILL)); echo $?)" "the write load is running (head $before)"

# ---- the backup, during the load ----------------------------------------------------
bk=$OPS_TMP/backup
# Small, paced steps: the copy of namespace load spans many steps and more
# than a second (the pauses alone), while the loop commits hundreds of
# writes.  The loop runs a few processes per batch: the copy must outlast
# a stall of them on a loaded machine, or no write lands during it.
run_ok 0 "evdb backup while writes continue" \
	"$EVDB" backup --data-dir "$data_a" --out "$bk" --pages-per-step 8 \
	--step-delay-ms 20
after_bk=$(db_head "$load_file")
diag "$err_out"
cond_ok "$(test -s "$bk/backup.json" && test -s "$bk/registry.db"; echo $?)" \
	"the backup has backup.json and registry.db"
g_load=$(sed -n 's/.*"name":"load".*"global_position":\([0-9]*\).*/\1/p' "$bk/backup.json")
g_def=$(sed -n 's/.*"name":"default".*"global_position":\([0-9]*\).*/\1/p' "$bk/backup.json")
cond_ok "$( ((g_load >= before && g_def >= 200)); echo $?)" \
	"backup.json records the global positions (load $g_load, default $g_def)"
like_ok "$(cat "$bk/backup.json")" '"time":"[0-9-]{10}T[0-9:]{8}\.[0-9]{6}Z"' \
	"backup.json records the time"

cond_ok "$( ((after_bk > g_load)); echo $?)" \
	"writes were committed while the backup ran (head $after_bk when it returned)"

# Let the load go on past the backup, then stop it.
for ((i = 0; i < 200; i++)); do
	(($(db_head "$load_file") > g_load + 2 * BATCH)) && break
	[[ -e $OPS_TMP/load-done ]] && break
	sleep 0.05
done
touch "$stop"
wait "$load_pid" 2>/dev/null || true
final_load=$(db_head "$load_file")
final_def=$(db_head "$default_file")
cond_ok "$( ((final_load > g_load)); echo $?)" \
	"writes went on after the backup (load head $final_load > $g_load)"
diag "load: prefill $PREFILL, $(cat "$OPS_TMP/load-done") writes by the load loop;" \
	"backup at load $g_load / default $g_def; final load $final_load / default $final_def"

# ---- restore into a fresh data directory ----------------------------------------------
data_b=$OPS_TMP/b/data
run_ok 0 "evdb restore into a fresh data directory" \
	"$EVDB" restore --from "$bk" --data-dir "$data_b"
is_ok "$(sqlite3 "$(ns_file "$data_b" load)" 'PRAGMA journal_mode')/$(sqlite3 "$data_b/registry.db" 'PRAGMA journal_mode')" \
	"wal/wal" "the restored files are in WAL mode"
run_ok 1 "restore refuses a non-empty data directory" \
	"$EVDB" restore --from "$bk" --data-dir "$data_b"
like_ok "$err_out" 'not empty' "... saying why"
stack_start "$OPS_TMP/b"
url_b=$STACK_URL

# ---- compare, in the files --------------------------------------------------------------
cols='global_position, id, stream_name, category, type, position, data, metadata, correlation, cardinal_hash, time_us'
dump() {
	sqlite3 -separator '|' "file:$1?mode=ro" \
		"SELECT $cols FROM messages WHERE global_position <= $2 ORDER BY global_position"
}
load_b=$(ns_file "$data_b" load)
default_b=$(ns_file "$data_b" default)
dump "$load_file" "$g_load" >"$OPS_TMP/a-load.txt"
dump "$load_b" "$g_load" >"$OPS_TMP/b-load.txt"
dump "$default_file" "$g_def" >"$OPS_TMP/a-def.txt"
dump "$default_b" "$g_def" >"$OPS_TMP/b-def.txt"
is_ok "$(wc -l <"$OPS_TMP/b-load.txt" | tr -d ' ')/$(db_head "$load_b")" "$g_load/$g_load" \
	"namespace load restored: $g_load messages, up to global position $g_load"
cond_ok "$(cmp -s "$OPS_TMP/a-load.txt" "$OPS_TMP/b-load.txt"; echo $?)" \
	"load: every row up to $g_load is identical to the source"
is_ok "$(wc -l <"$OPS_TMP/b-def.txt" | tr -d ' ')/$(db_head "$default_b")" "$g_def/$g_def" \
	"namespace default restored: $g_def messages"
cond_ok "$(cmp -s "$OPS_TMP/a-def.txt" "$OPS_TMP/b-def.txt"; echo $?)" \
	"default: every row up to $g_def is identical to the source"
is_ok "$(sqlite3 "$load_b" 'SELECT message_count FROM stats')" "$g_load" \
	"the restored stats row matches its messages"

# ---- compare, through the servers ----------------------------------------------------------
"$EVDB" export --url "$url_a" --token "$load_token" --quiet --output "$OPS_TMP/a.ndjson" 2>/dev/null
run_ok 0 "export from the restored stack, with the tokens of the source" \
	"$EVDB" export --url "$url_b" --token "$load_token" --quiet --output "$OPS_TMP/b.ndjson"
head -n "$g_load" "$OPS_TMP/a.ndjson" >"$OPS_TMP/a-head.ndjson"
cond_ok "$(cmp -s "$OPS_TMP/a-head.ndjson" "$OPS_TMP/b.ndjson"; echo $?)" \
	"the restored export equals the first $g_load records of the source's ($(wc -l <"$OPS_TMP/a.ndjson") in all)"
w=$(rpc "$url_b" "$load_token" '["stream.write","item-1",{"type":"AfterRestore","data":{}}]')
like_ok "$w" "\"globalPosition\":$((g_load + 1))[,}]" \
	"a write on the restored stack continues at $((g_load + 1))"
is_ok "$(rpc "$url_b" "$admin" '["ns.list"]' | grep -o '"namespace":"[a-z]*"' | sort | tr '\n' ' ')" \
	'"namespace":"default" "namespace":"load" ' "the restored registry lists both namespaces"

# ---- refusals ----------------------------------------------------------------------------------
run_ok 1 "backup refuses a non-empty output directory" \
	"$EVDB" backup --data-dir "$data_a" --out "$bk" --quiet
cp -r "$bk" "$OPS_TMP/partial"
rm "$OPS_TMP/partial/backup.json"
run_ok 1 "restore refuses a backup without backup.json" \
	"$EVDB" restore --from "$OPS_TMP/partial" --data-dir "$OPS_TMP/c"
stack_stop "$OPS_TMP/b"
run_ok 0 "restore --force replaces the databases of a used data directory" \
	"$EVDB" restore --from "$bk" --data-dir "$data_b" --force --quiet
is_ok "$(db_head "$(ns_file "$data_b" load)")" "$g_load" \
	"... back to the backup's global position"

done_testing
