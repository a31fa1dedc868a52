#!/usr/bin/env bash
# signals.sh - evdb's signal contract through the real nginx (TAP):
#   SIGHUP reopens the log file (what logrotate relies on);
#   SIGTERM finishes the requests in flight, exits 0, and loses no
#   acknowledged write.
set -u

src=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${EVDB_BUILDDIR:-$src}
local_sh=$src/deploy/evdb-local
. "$src/tests/proc.sh"
token=ns_ZGVmYXVsdA_$(printf 'ab%.0s' {1..32})
dir=$(mktemp -d "${TMPDIR:-/tmp}/evdb-signals-XXXXXX")
. "$src/tests/tap.sh"

cleanup() {
	"$local_sh" stop --data-dir "$dir" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

start_stack() {
	local tries=0
	while [ $tries -lt 20 ]; do
		port=$((20000 + RANDOM % 30000))
		if "$local_sh" start --port "$port" --data-dir "$dir" --token "$token" \
		    --workers 4 --evdb "$build/evdb" >"$dir/start.out" 2>&1; then
			return 0
		fi
		tries=$((tries + 1))
	done
	return 1
}

rpc() {
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
	    -d "$1" "http://127.0.0.1:$port/rpc"
}

echo "1..7"
start_stack
ok $? "the stack starts"
evdb_pid=$(cat "$dir/run/evdb.pid")

# SIGHUP: the log file is reopened at its path after a rotation.
mv "$dir/log/evdb.log" "$dir/log/evdb.log.1"
kill -HUP "$evdb_pid"
# Wait for the line itself: the file may exist, or hold another line,
# before "log reopened" is written.
for _ in $(seq 300); do
	grep -q "log reopened" "$dir/log/evdb.log" 2>/dev/null && break
	sleep 0.1
done
grep -q "log reopened" "$dir/log/evdb.log" 2>/dev/null
ok $? "SIGHUP: a new evdb.log is opened and written"
alive "$evdb_pid"
ok $? "SIGHUP: evdb keeps running"

# SIGTERM while writers are busy: after half a second, and not before
# every writer has had a write acknowledged (a slow machine may need the
# half second just to start them); long before they are through.
mkdir -p "$dir/acks"
for w in $(seq 1 8); do
	(
		for i in $(seq 1 200); do
			code=$(rpc "[\"stream.write\",\"term-$w\",{\"type\":\"T\",\"data\":{\"i\":$i}}]")
			[ "$code" = 200 ] || break
			echo "$i" >>"$dir/acks/$w"
		done
	) &
done
sleep 0.5
for _ in $(seq 600); do
	[ "$(ls "$dir/acks" | wc -l)" -ge 8 ] && break
	sleep 0.05
done
kill -TERM "$evdb_pid"
wait
for _ in $(seq 300); do alive "$evdb_pid" || break; sleep 0.1; done
! alive "$evdb_pid"
ok $? "SIGTERM: evdb exits"
grep -q "stopped after" "$dir/log/evdb.log"
ok $? "SIGTERM: evdb finished its requests and said so"
acked=$(cat "$dir/acks"/* 2>/dev/null | wc -l)

# Restart on the same data and count what was acknowledged.
"$local_sh" stop --data-dir "$dir" >/dev/null 2>&1
start_stack
ok $? "the stack starts again on the same data (after SIGTERM)"
missing=0
for f in "$dir/acks"/*; do
	[ -f "$f" ] || continue
	w=${f##*/}
	have=$(curl -s -H "Authorization: Bearer $token" \
	    -d "[\"stream.version\",\"term-$w\"]" "http://127.0.0.1:$port/rpc")
	want=$(($(wc -l <"$f") - 1))
	# Every acknowledged write is there: the version is at least the last ack.
	if [ "$have" = null ] || [ "$have" -lt "$want" ]; then
		missing=$((missing + 1))
	fi
done
ok $missing "SIGTERM: all $acked acknowledged writes survived"
exit $failed
