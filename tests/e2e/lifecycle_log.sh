#!/usr/bin/env bash
# tests/e2e/lifecycle_log.sh - deletes and truncations are recorded in the
# log (issue 12, "Deletes and truncations are recorded in the log";
# docs/operations.md, "Retention and deletion"): through nginx, a soft
# delete, a hard delete (the erasure request), a truncation and a
# retention setting each leave one line in evdb.log naming the method, the
# namespace, the stream, the caller and what was deleted; the retention
# sweep logs what it removed; a refused delete logs no deletion.  On
# SQLite, or on PostgreSQL under make check-postgres (EVDB_E2E_PGDIR).

. "$(dirname "$0")/../ops/lib.sh"

plan 13
ops_setup
E2E_STORE=()
[[ -z ${EVDB_E2E_PGDIR:-} ]] || e2e_pg_store "lclog_$$"
# The sweep every second, so that the retention line comes quickly.
export EVDB_RETENTION_INTERVAL=1
stack_start "$OPS_TMP/s" "${E2E_STORE[@]}"
url=$STACK_URL
admin=$(cat "$OPS_TMP/s/data/admin.token")
log=$OPS_TMP/s/log/evdb.log

for s in del-a del-a del-a hard-a hard-a trunc-a trunc-a trunc-a trunc-a \
	ret-a ret-a ret-a ret-a ret-a keep-a keep-a; do
	printf '["stream.write","%s",{"type":"T","data":{}}]\n' "$s"
done >"$OPS_TMP/w.jsonl"
is_ok "$(write_all "$url" "$admin" "$OPS_TMP/w.jsonl")" 16 "16 writes"

like_ok "$(rpc "$url" "$admin" '["stream.delete","keep-a",{"expectedVersion":0}]')" \
	'"STREAM_VERSION_CONFLICT"' "a delete with a stale expectedVersion is refused"
is_ok "$(rpc "$url" "$admin" '["stream.delete","del-a"]')" \
	'{"messagesDeleted":3}' "soft delete of del-a"
is_ok "$(rpc "$url" "$admin" '["stream.delete","hard-a",{"hard":true}]')" \
	'{"messagesDeleted":2}' "hard delete of hard-a"
is_ok "$(rpc "$url" "$admin" '["stream.truncate","trunc-a",{"before":3}]')" \
	'{"messagesDeleted":3}' "truncate trunc-a before 3"
is_ok "$(rpc "$url" "$admin" '["stream.setRetention","ret-a",{"maxCount":2}]')" \
	true "ret-a: maxCount 2"

# wait_log ERE: up to 15 s for a line of the log to match.
wait_log() {
	local i
	for ((i = 0; i < 150; i++)); do
		grep -Eq -- "$1" "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

wait_log 'retention: ns=default caller=sweeper messagesDeleted=3'
text=$(grep -E 'stream\.(delete|truncate|setRetention)|retention: ' "$log")
diag "$text"
like_ok "$text" \
	'req=[^ ]+ stream\.delete ns=default name="del-a" caller=default \(admin\) soft messagesDeleted=3$' \
	"the soft delete is logged: method, namespace, stream, caller, count"
like_ok "$text" \
	'req=[^ ]+ stream\.delete ns=default name="hard-a" caller=default \(admin\) hard messagesDeleted=2$' \
	"the hard delete (erasure) is logged as hard"
like_ok "$text" \
	'req=[^ ]+ stream\.truncate ns=default name="trunc-a" caller=default \(admin\) before=3 messagesDeleted=3$' \
	"the truncation is logged with its position"
like_ok "$text" 'req=[^ ]+ stream\.setRetention ns=default name="ret-a" caller=' \
	"the retention setting is logged"
like_ok "$text" 'retention: ns=default caller=sweeper messagesDeleted=3$' \
	"the sweep logs the 3 messages it removed from ret-a"
is_ok "$(grep -c 'name="keep-a"' <<<"$text")" 0 \
	"the refused delete of keep-a logged no deletion"
is_ok "$(rpc "$url" "$admin" '["stream.get","keep-a"]' | grep -o '"T"' | wc -l)" 2 \
	"... and keep-a still holds its 2 messages"

stack_stop "$OPS_TMP/s"
if [[ -n ${EVDB_E2E_PGDIR:-} ]]; then
	dropdb -h "$EVDB_E2E_PGDIR" -U evdb --if-exists "lclog_$$" 2>/dev/null || true
fi
done_testing
