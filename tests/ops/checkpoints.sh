#!/usr/bin/env bash
# tests/ops/checkpoints.sh - consumer checkpoints survive evdb export and
# evdb import (their records follow the messages; updatedAt is kept), a
# resumed import and an import with --force; a forced import of a file
# without checkpoints clears them; a bad checkpoint record is refused with
# its line; and on SQLite evdb backup + evdb restore carry them, since they
# live in the namespace file.  With EVDB_E2E_PGDIR set the stacks run on
# PostgreSQL databases of that cluster (export and import only: a
# PostgreSQL store is backed up with pg_dump, tests/ops/pg_dump.sh).

. "$(dirname "$0")/lib.sh"

pg=${EVDB_E2E_PGDIR:-}
if [[ -n $pg ]]; then plan 27; else plan 31; fi
ops_setup

store_a=() store_b=()
if [[ -n $pg ]]; then
	src=$("$EVDB_SRCDIR/deploy/pg-cluster" createdb "$pg" "ckpt_src_$$") ||
		bail "createdb failed"
	dst=$("$EVDB_SRCDIR/deploy/pg-cluster" createdb "$pg" "ckpt_dst_$$") ||
		bail "createdb failed"
	store_a=(--store "$src")
	store_b=(--store "$dst")
fi

stack_start "$OPS_TMP/a" "${store_a[@]}"
url_a=$STACK_URL
admin=$(cat "$OPS_TMP/a/data/admin.token")
tok_a=$(ns_create "$url_a" "$admin" cons)
[[ $tok_a == ns_* ]] || bail "ns.create cons failed"
like_ok "$(rpc "$url_a" "$admin" '["sys.health"]')" \
	"\"backend\":\"$([[ -n $pg ]] && echo postgres || echo sqlite)\"" \
	"the stack runs on the backend asked for"

for ((i = 0; i < 20; i++)); do
	printf '["stream.write","acct-%d",{"type":"T","data":{"i":%d}}]\n' $((i % 5)) "$i"
done >"$OPS_TMP/msgs.jsonl"
is_ok "$(write_all "$url_a" "$tok_a" "$OPS_TMP/msgs.jsonl")" 20 "20 writes"

c1=$(rpc "$url_a" "$tok_a" '["checkpoint.commit","billing",5]')
c2=$(rpc "$url_a" "$tok_a" '["checkpoint.commit","proj:v2",12,{"member":0,"size":2}]')
c3=$(rpc "$url_a" "$tok_a" '["checkpoint.commit","proj:v2",15,{"member":1,"size":2}]')
like_ok "$c1$c2$c3" '^\{"position":5,.*\{"position":12,.*\{"position":15,' \
	"three checkpoints committed"
list_a=$(rpc "$url_a" "$tok_a" '["checkpoint.list"]')
like_ok "$list_a" '"name":"billing".*"name":"proj:v2","member":0.*"member":1' \
	"checkpoint.list on the source"

# ---- evdb report checkpoints ---------------------------------------------------
if [[ -n $pg ]]; then where=(--store "$src"); else where=(--data-dir "$OPS_TMP/a/data"); fi
run_ok 0 "evdb report checkpoints" "$EVDB" report checkpoints --ns cons "${where[@]}"
like_ok "$out" '^billing +- +5 +15  [0-9T:.-]+Z$' \
	"... billing at 5, 15 behind the head (20)"
like_ok "$out" '^proj:v2 +1/2 +15 +5  [0-9T:.-]+Z$' \
	"... proj:v2 member 1 of 2 at 15, 5 behind"

# ---- export ------------------------------------------------------------------
run_ok 0 "export" "$EVDB" export --url "$url_a" --token "$tok_a" \
	--output "$OPS_TMP/e.ndjson"
like_ok "$err_out" '^Exported 20 events in [0-9.]+s and 3 consumer checkpoints$' \
	"export reports the checkpoints"
is_ok "$(tail -n 3 "$OPS_TMP/e.ndjson" | grep -c '^{"checkpoint":')" 3 \
	"the last three records are the checkpoints"
like_ok "$(tail -n 1 "$OPS_TMP/e.ndjson")" \
	'^\{"checkpoint":"proj:v2","member":1,"size":2,"position":15,"updatedAt":"[0-9T:.-]+Z"\}$' \
	"a checkpoint record's shape"
run_ok 0 "export --no-checkpoints" "$EVDB" export --url "$url_a" \
	--token "$tok_a" --no-checkpoints --output "$OPS_TMP/nock.ndjson"
is_ok "$(grep -c '"checkpoint"' "$OPS_TMP/nock.ndjson")" 0 \
	"... has no checkpoint record"

# ---- import into another store -------------------------------------------------
stack_start "$OPS_TMP/b" "${store_b[@]}" --token "$admin"
url_b=$STACK_URL
tok_b=$(ns_create "$url_b" "$admin" cons)
run_ok 0 "import into an empty namespace of another store" \
	"$EVDB" import --url "$url_b" --token "$tok_b" --input "$OPS_TMP/e.ndjson"
like_ok "$err_out" '3 consumer checkpoints set' "import reports the checkpoints"
is_ok "$(rpc "$url_b" "$tok_b" '["checkpoint.list"]')" "$list_a" \
	"checkpoint.list after the import: the same, updatedAt kept"
run_ok 0 "the same import again (a resume)" \
	"$EVDB" import --url "$url_b" --token "$tok_b" --input "$OPS_TMP/e.ndjson"
is_ok "$(rpc "$url_b" "$tok_b" '["checkpoint.list"]')" "$list_a" \
	"... checkpoints unchanged"
rpc "$url_b" "$tok_b" '["checkpoint.commit","extra",1]' >/dev/null
run_ok 0 "import --force --yes of the export" \
	"$EVDB" import --url "$url_b" --token "$tok_b" --force --yes \
	--input "$OPS_TMP/e.ndjson"
is_ok "$(rpc "$url_b" "$tok_b" '["checkpoint.list"]')" "$list_a" \
	"... replaces the checkpoints with the file's"
run_ok 0 "import --force --yes of an export without checkpoints" \
	"$EVDB" import --url "$url_b" --token "$tok_b" --force --yes \
	--input "$OPS_TMP/nock.ndjson"
is_ok "$(rpc "$url_b" "$tok_b" '["checkpoint.list"]')" "[]" \
	"... leaves none: the namespace was replaced"

printf '{"checkpoint":"bad name","position":1,"updatedAt":"2026-01-01"}\n' \
	>"$OPS_TMP/bad.ndjson"
out=$(curl -sS "$url_b/import?token=$tok_b" --data-binary @"$OPS_TMP/bad.ndjson")
like_ok "$out" '"error":"INVALID_RECORD","message":"invalid record at line 1: checkpoint must be a name' \
	"a bad checkpoint record is refused with its line"
printf '{"checkpoint":"ok","position":1,"updatedAt":"2026-01-01"} x\n' \
	>"$OPS_TMP/trail.ndjson"
out=$(curl -sS "$url_b/import?token=$tok_b" --data-binary @"$OPS_TMP/trail.ndjson")
like_ok "$out$(rpc "$url_b" "$tok_b" '["checkpoint.list"]')" \
	'"error":"INVALID_JSON",.*"line":1\}.*\[\]$' \
	"a checkpoint record with trailing bytes is refused, nothing set"

# ---- backup and restore (SQLite) -----------------------------------------------
if [[ -z $pg ]]; then
	run_ok 0 "evdb backup" "$EVDB" backup --data-dir "$OPS_TMP/a/data" \
		--out "$OPS_TMP/bk" --quiet
	run_ok 0 "evdb restore" "$EVDB" restore --from "$OPS_TMP/bk" \
		--data-dir "$OPS_TMP/c/data"
	stack_start "$OPS_TMP/c"
	url_c=$STACK_URL
	is_ok "$(rpc "$url_c" "$tok_a" '["checkpoint.list"]')" "$list_a" \
		"checkpoint.list on the restored copy: the same"
	like_ok "$(rpc "$url_c" "$tok_a" '["category.get","acct",{"checkpoint":"billing","batchSize":1}]')" \
		'^\[\[[^,]*,"acct-[0-9]","T",[0-9]+,6,' \
		"category.get with the restored checkpoint starts after it"
fi

# ---- a store made before checkpoints gains them -----------------------------------
# Back to the schema of before (no checkpoint table, the version before), as
# an older evdb left it; the next start migrates.
stack_stop "$OPS_TMP/a"
if [[ -n $pg ]]; then
	psql -X -q -h "$pg" -U evdb -d "ckpt_src_$$" -v ON_ERROR_STOP=1 -c "
		DO \$\$ DECLARE r record; BEGIN
		FOR r IN SELECT schema_name FROM evdb.namespaces LOOP
		 EXECUTE format('DROP TABLE %I.evdb_checkpoints', r.schema_name);
		END LOOP; END \$\$;
		UPDATE evdb.schema_version SET version = 1" >/dev/null
	cond_ok $? "downgrade: the checkpoint tables dropped, registry version 1"
else
	sqlite3 "$(ns_file "$OPS_TMP/a/data" cons)" \
		"DROP TABLE consumer_checkpoints; DROP TABLE stream_state;
		 DROP TABLE category_retention; ALTER TABLE stats DROP COLUMN deleted_head;
		 DROP INDEX messages_category_type; UPDATE schema_version SET version = 1"
	cond_ok $? "downgrade: a file of version 1 (what later migrations add dropped)"
fi
stack_start "$OPS_TMP/a" "${store_a[@]}"
url_a=$STACK_URL
like_ok "$(rpc "$url_a" "$tok_a" '["checkpoint.commit","billing",7,{"expectedPosition":-1}]')" \
	'^\{"position":7,' "after the migration a checkpoint commits"
is_ok "$(rpc "$url_a" "$tok_a" '["checkpoint.list"]' | grep -o '"name":"[^"]*"')" \
	'"name":"billing"' "... and lists"

if [[ -n $pg ]]; then
	stack_stop "$OPS_TMP/a"
	stack_stop "$OPS_TMP/b"
	for db in "ckpt_src_$$" "ckpt_dst_$$"; do
		dropdb -h "$pg" -U evdb --if-exists "$db" 2>/dev/null || true
	done
fi
done_testing
