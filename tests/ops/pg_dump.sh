#!/usr/bin/env bash
# tests/ops/pg_dump.sh - backup and restore of a PostgreSQL store, the way
# docs/operations.md says (evdb backup/restore copy SQLite files; on
# PostgreSQL the database's own tools do it): pg_dump of evdb's schemas
# while evdb serves, pg_restore into a fresh database, evdb started on it.
# The restored store must serve the same messages (evdb export equal, line
# for line, for the default namespace and a tenant's), the same tokens, and
# take writes that continue each stream; the consumer checkpoints of each
# namespace come back with it (issue 12: checkpoints survive backup and
# restore, on PostgreSQL too; they live in the namespace's schema).  On a
# private cluster
# (deploy/pg-cluster), as every PostgreSQL test.

. "$(dirname "$0")/lib.sh"

plan 15
ops_setup
pg_start
pgdir=$PG_DIR
src_store=$PG_STORE
psql_q() {
	psql -X -q -At -h "$pgdir" -U evdb -d "$1" -c "$2"
}

stack_start "$OPS_TMP/a" --store "$src_store"
url=$STACK_URL
admin=$(cat "$OPS_TMP/a/data/admin.token")
acme=$(ns_create "$url" "$admin" acme)
cond_ok "$([[ -n $acme ]]; echo $?)" "a tenant namespace, acme"

for i in $(seq 1 20); do
	printf '["stream.write","account-%d",{"type":"Opened","data":{"n":%d}}]\n' $((i % 4)) "$i"
done >"$OPS_TMP/default.jsonl"
for i in $(seq 1 10); do
	printf '["stream.write","order-%d",{"type":"Placed","data":{"n":%d},"metadata":{"correlationStreamName":"cart-1"}}]\n' $((i % 3)) "$i"
done >"$OPS_TMP/acme.jsonl"
is_ok "$(write_all "$url" "$admin" "$OPS_TMP/default.jsonl")" 20 "20 messages in default"
is_ok "$(write_all "$url" "$acme" "$OPS_TMP/acme.jsonl")" 10 "10 messages in acme"
rpc "$url" "$admin" '["checkpoint.commit","billing",12]' >/dev/null
rpc "$url" "$acme" '["checkpoint.commit","shipper",3,{"member":1,"size":2}]' >/dev/null
ck_default=$(rpc "$url" "$admin" '["checkpoint.list"]')
ck_acme=$(rpc "$url" "$acme" '["checkpoint.list"]')
like_ok "$ck_default$ck_acme" \
	'^\[\{"name":"billing",.*"position":12,.*\]\[\{"name":"shipper","member":1,"size":2,"position":3,' \
	"a checkpoint in default, a group member's in acme"

# The procedure: the registry schema and every namespace's schema.
schemas=$(psql_q evdb_test "SELECT string_agg(format('--schema=%s', schema_name), ' ') FROM (SELECT schema_name FROM evdb.namespaces UNION SELECT 'evdb') s")
like_ok "$schemas" 'schema=message_store' "the registry names every namespace's schema ($schemas)"
# shellcheck disable=SC2086 # one word per --schema
run_ok 0 "pg_dump of the schemas while evdb serves" \
	pg_dump -h "$pgdir" -U evdb -d evdb_test -Fc $schemas -f "$OPS_TMP/evdb.dump"
dst_store=$("$EVDB_SRCDIR/deploy/pg-cluster" createdb "$pgdir" evdb_restored) ||
	bail "createdb failed"
run_ok 0 "pg_restore into a fresh database" \
	pg_restore -h "$pgdir" -U evdb -d evdb_restored --no-owner "$OPS_TMP/evdb.dump"

# The messages, line for line (the checkpoints are compared below).
"$EVDB" export --url "$url" --token "$admin" --no-checkpoints --output "$OPS_TMP/a-default.ndjson" --quiet
"$EVDB" export --url "$url" --token "$acme" --no-checkpoints --output "$OPS_TMP/a-acme.ndjson" --quiet
stack_start "$OPS_TMP/b" --store "$dst_store" --token "$admin"
url_b=$STACK_URL
"$EVDB" export --url "$url_b" --token "$admin" --no-checkpoints --output "$OPS_TMP/b-default.ndjson" --quiet
"$EVDB" export --url "$url_b" --token "$acme" --no-checkpoints --output "$OPS_TMP/b-acme.ndjson" --quiet
is_ok "$(wc -l <"$OPS_TMP/b-default.ndjson")" 20 "the restored default namespace holds its 20 messages"
cond_ok "$(cmp -s "$OPS_TMP/a-default.ndjson" "$OPS_TMP/b-default.ndjson"; echo $?)" \
	"... and exports exactly as the source does"
cond_ok "$(cmp -s "$OPS_TMP/a-acme.ndjson" "$OPS_TMP/b-acme.ndjson" &&
	[[ $(wc -l <"$OPS_TMP/b-acme.ndjson") == 10 ]]; echo $?)" \
	"acme's 10 messages too, read with acme's own token"
is_ok "$(rpc "$url_b" "$admin" '["checkpoint.list"]')" "$ck_default" \
	"the restored default namespace has its checkpoint, updatedAt kept"
is_ok "$(rpc "$url_b" "$acme" '["checkpoint.list"]')" "$ck_acme" \
	"... and acme its group member's"
like_ok "$(rpc "$url_b" "$admin" '["category.get","account",{"checkpoint":"billing","batchSize":1}]')" \
	'^\[\[[^,]*,"account-[0-9]","Opened",[0-9]+,13,' \
	"category.get with the restored checkpoint starts after it"
like_ok "$(rpc "$url_b" "$acme" '["stream.write","order-1",{"type":"Shipped","data":{}}]')" \
	'"position":4' "a write continues its stream on the restored store"
like_ok "$(rpc "$url_b" "$admin" '["stream.write","account-9",{"type":"Opened","data":{}}]')" \
	'"globalPosition":(2[1-9]|[3-9][0-9])' "and global positions continue above the restored head"
done_testing
