#!/usr/bin/env bash
# tests/e2e/diskfull.sh - a full disk (issue 5): evdb's data directory lives
# on a small tmpfs (8 MiB; a loop-mounted ext4 image when tmpfs cannot be
# mounted); a stack (deploy/evdb-local) writes into it until writes fail.
# Those writes must fail with a JSON error 507 (or 500) STORAGE_FULL, every
# write acknowledged before must still be there, reads keep working, and
# once space is freed (a filler file made beforehand is deleted) writes
# succeed again.  Afterwards every database file passes PRAGMA
# integrity_check (on a copy), and a restarted stack serves the same data.
#
# Needs root (mount) and the sqlite3 CLI; otherwise it skips with the
# reason.  TAP on stdout.  EVDB_KEEP_TMP=1 keeps the temporary directory.

set -u

here=$(cd "$(dirname "$0")" && pwd)
EVDB_SRCDIR=${EVDB_SRCDIR:-$(cd "$here/../.." && pwd)}
EVDB_BUILDDIR=${EVDB_BUILDDIR:-$EVDB_SRCDIR}
EVDB=$EVDB_BUILDDIR/evdb
EVDB_LOCAL=$EVDB_SRCDIR/deploy/evdb-local

FS_SIZE=8m		# the size of the data file system
FILLER_KB=1024		# the filler file freed at the end, KiB
DATA_BYTES=16000	# bytes of padding per filling write
MAX_WRITES=2000		# bound of the filling loop (32 MB, 4x the disk)
ADMIN=ns_ZGVmYXVsdA_$(printf 'd15cf011%.0s' 1 2 3 4 5 6 7 8)

tap_count=0
tap_failed=0
tmp=
mnt=
port=
url=
loopdev=

plan() { printf '1..%d\n' "$1"; }
diag() {
	local line
	while IFS= read -r line; do printf '# %s\n' "$line"; done <<<"$*"
}
pass_ok() {
	tap_count=$((tap_count + 1))
	printf 'ok %d - %s\n' "$tap_count" "$1"
}
fail_ok() {
	tap_count=$((tap_count + 1))
	tap_failed=$((tap_failed + 1))
	printf 'not ok %d - %s\n' "$tap_count" "$1"
}
# cond_ok STATUS DESC [DIAG...]: passes when STATUS is 0.
cond_ok() {
	local st=$1 desc=$2
	shift 2
	if [[ $st == 0 ]]; then
		pass_ok "$desc"
	else
		fail_ok "$desc"
		(($# == 0)) || diag "$@"
	fi
}
bail() {
	printf 'Bail out! %s\n' "$*"
	exit 1
}
skip_all() {
	printf '1..0 # SKIP %s\n' "$*"
	exit 0
}

cleanup() {
	if [[ -n $tmp && -d $tmp/stack ]]; then
		"$EVDB_LOCAL" stop --data-dir "$tmp/stack" >/dev/null 2>&1 || true
	fi
	if [[ -n $mnt ]] && mountpoint -q "$mnt" 2>/dev/null; then
		umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	fi
	if [[ -n $loopdev ]]; then
		losetup -d "$loopdev" 2>/dev/null || true
	fi
	if [[ -n $tmp ]]; then
		if [[ ${EVDB_KEEP_TMP:-0} == 1 ]]; then
			printf '# kept %s\n' "$tmp"
		else
			rm -rf "$tmp"
		fi
	fi
}

# rpc TOKEN BODY: one RPC call; prints "STATUS BODY" on one line.
rpc() {
	curl -sS --max-time 30 -o "$tmp/resp" -w '%{http_code}' "$url/rpc" \
		-H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		--data-binary "$2" >"$tmp/code" 2>"$tmp/curl.err" || true
	printf '%s %s\n' "$(cat "$tmp/code")" "$(cat "$tmp/resp")"
}

# sql_str TEXT: TEXT as an SQL string literal.
sql_str() {
	local q="'"
	printf "'%s'" "${1//"$q"/"$q$q"}"
}

# json_q TEXT EXPR: evaluates EXPR, in which ? stands for the JSON TEXT,
# with sqlite3's JSON functions; prints the result ("" on malformed JSON).
json_q() {
	local t
	t=$(sql_str "$1")
	sqlite3 :memory: "SELECT ${2//\?/"$t"};" 2>/dev/null
}

# is_envelope TEXT CODE: TEXT is exactly {"error":{"code":CODE,"message":..}}
# with at most "details" besides.
is_envelope() {
	[[ $(json_q "$1" "json_valid(?) AND json_type(?) = 'object' AND
		(SELECT count(*) FROM json_each(?)) = 1 AND
		json_type(?, '\$.error') = 'object' AND
		json_extract(?, '\$.error.code') = $(sql_str "$2") AND
		json_type(?, '\$.error.message') = 'text' AND
		length(json_extract(?, '\$.error.message')) > 0 AND
		(SELECT count(*) FROM json_each(?, '\$.error')
		 WHERE key NOT IN ('code', 'message', 'details')) = 0") == 1 ]]
}

# start_stack: starts the stack on a free port (sets port and url).
start_stack() {
	local i
	for ((i = 0; i < 10; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if "$EVDB_LOCAL" start --port "$port" --data-dir "$tmp/stack" \
			--token "$ADMIN" --evdb "$EVDB" --workers 4 \
			>"$tmp/start.log" 2>&1; then
			url=http://127.0.0.1:$port
			return 0
		fi
		"$EVDB_LOCAL" stop --data-dir "$tmp/stack" >/dev/null 2>&1 || true
	done
	diag "$(cat "$tmp/start.log")"
	return 1
}

# ---- preconditions ---------------------------------------------------------
((EUID == 0)) || skip_all "needs root to mount a small file system"
[[ -x $EVDB ]] || bail "no evdb binary at $EVDB (run make first)"
for c in sqlite3 curl mount umount mountpoint; do
	command -v "$c" >/dev/null 2>&1 || skip_all "$c not found"
done
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] ||
	[[ -n ${NGINX:-} ]] || skip_all "nginx not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/evdb-diskfull.XXXXXX") || bail "mktemp failed"
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mnt=$tmp/stack/data
mkdir -p "$mnt"

# The data directory alone goes on the small file system: logs, the socket
# and nginx's files stay outside, as they would on a server with a separate
# data volume.
fs=tmpfs
if ! mount -t tmpfs -o "size=$FS_SIZE,mode=0700" tmpfs "$mnt" 2>"$tmp/mount.err"; then
	fs="ext4 on a loop device"
	why=$(cat "$tmp/mount.err")
	if ! command -v mkfs.ext4 >/dev/null 2>&1 || ! command -v losetup >/dev/null 2>&1 ||
		! truncate -s "$FS_SIZE" "$tmp/disk.img" ||
		! mkfs.ext4 -q -F "$tmp/disk.img" >/dev/null 2>&1 ||
		! loopdev=$(losetup -f --show "$tmp/disk.img" 2>>"$tmp/mount.err") ||
		! mount "$loopdev" "$mnt" 2>>"$tmp/mount.err"; then
		skip_all "cannot mount a tmpfs ($why) nor a loop device ($(tail -n 1 "$tmp/mount.err"))"
	fi
	chmod 0700 "$mnt"
fi

plan 22
diag "data directory on $fs ($FS_SIZE) at $mnt"
start_stack || bail "cannot start an evdb stack on the small file system"

# ---- data written before the disk fills -----------------------------------
r=$(rpc "$ADMIN" '["ns.create","tenant1"]')
tenant=$(json_q "${r#* }" "json_extract(?, '\$.token')")
[[ $tenant == ns_* ]] || bail "ns.create tenant1 failed: $r"
ok=0
for i in $(seq 0 19); do
	r=$(rpc "$ADMIN" "[\"stream.write\",\"keep-1\",{\"type\":\"Before\",\"data\":{\"i\":$i,\"s\":\"\u00e9\\u0000x\"},\"metadata\":{\"m\":$i}}]")
	[[ ${r%% *} == 200 ]] && ok=$((ok + 1))
	r=$(rpc "$tenant" "[\"stream.write\",\"keep-2\",{\"type\":\"Before\",\"data\":{\"i\":$i}}]")
	[[ ${r%% *} == 200 ]] && ok=$((ok + 1))
done
cond_ok $((ok != 40)) "40 messages written to two namespaces before the disk fills"
before1=$(rpc "$ADMIN" '["stream.get","keep-1",{"batchSize":-1}]')
before2=$(rpc "$tenant" '["stream.get","keep-2",{"batchSize":-1}]')

# The filler, freed at the end to make room again.
dd if=/dev/urandom of="$mnt/filler" bs=1024 count=$FILLER_KB status=none 2>/dev/null
cond_ok $? "a filler file of $FILLER_KB KiB on the data file system"

# ---- fill the disk -----------------------------------------------------------
pad=$(head -c $((DATA_BYTES * 3 / 4)) /dev/urandom | base64 -w0 | head -c "$DATA_BYTES")
acked=0
fail_status=
fail_body=
for ((i = 0; i < MAX_WRITES; i++)); do
	r=$(rpc "$ADMIN" "[\"stream.write\",\"fill-1\",{\"type\":\"Fill\",\"data\":{\"i\":$i,\"pad\":\"$pad\"}}]")
	if [[ ${r%% *} != 200 ]]; then
		fail_status=${r%% *}
		fail_body=${r#* }
		break
	fi
	acked=$((acked + 1))
done
diag "$acked writes of $DATA_BYTES bytes acknowledged before the first failure"
diag "$(df -k "$mnt" | tail -n 1)"
[[ -n $fail_status ]]
cond_ok $? "writes fail before $MAX_WRITES attempts" \
	"every write succeeded: the file system did not fill"
[[ $fail_status == 507 || $fail_status == 500 ]]
cond_ok $? "the failing write gets 507 (or 500): $fail_status" "body: $fail_body"
is_envelope "$fail_body" STORAGE_FULL
cond_ok $? "its body is the JSON envelope with code STORAGE_FULL" "body: $fail_body"

# More writes while full: each either succeeds or fails the same clean way.
bad=0
for ((k = 0; k < 20; k++)); do
	r=$(rpc "$ADMIN" "[\"stream.write\",\"fill-1\",{\"type\":\"Fill\",\"data\":{\"i\":$((i + 1 + k)),\"pad\":\"$pad\"}}]")
	if [[ ${r%% *} == 200 ]]; then
		acked=$((acked + 1))
	elif ! { [[ ${r%% *} == 507 || ${r%% *} == 500 ]] && is_envelope "${r#* }" STORAGE_FULL; }; then
		bad=$((bad + 1))
		diag "write $k while full: $r"
	fi
done
cond_ok $bad "20 more large writes while full: each 200 or STORAGE_FULL"
bad=0
for ((k = 0; k < 10; k++)); do
	r=$(rpc "$ADMIN" "[\"stream.write\",\"small-1\",{\"type\":\"Small\",\"data\":{\"k\":$k}}]")
	if [[ ${r%% *} != 200 ]] && ! { [[ ${r%% *} == 507 || ${r%% *} == 500 ]] && is_envelope "${r#* }" STORAGE_FULL; }; then
		bad=$((bad + 1))
		diag "small write $k while full: $r"
	fi
done
cond_ok $bad "10 small writes while full: each 200 or STORAGE_FULL"
r=$(rpc "$ADMIN" '["ns.create","tenant2"]')
[[ ${r%% *} == 200 ]] || { [[ ${r%% *} == 507 || ${r%% *} == 500 ]] && is_envelope "${r#* }" STORAGE_FULL; }
cond_ok $? "ns.create while full: 200 or STORAGE_FULL" "$r"

# ---- reads while full --------------------------------------------------------
r=$(rpc "$ADMIN" '["stream.get","keep-1",{"batchSize":-1}]')
[[ $r == "$before1" ]]
cond_ok $? "while full, keep-1 reads back byte for byte as before" "before: ${before1:0:300}" "now: ${r:0:300}"
r=$(rpc "$tenant" '["stream.get","keep-2",{"batchSize":-1}]')
[[ $r == "$before2" ]]
cond_ok $? "while full, keep-2 (tenant1) reads back byte for byte as before" "now: ${r:0:300}"
r=$(rpc "$ADMIN" '["stream.version","fill-1"]')
[[ $r == "200 $((acked - 1))" ]]
cond_ok $? "every acknowledged fill-1 write is stored, none more: version $((acked - 1))" "got: $r"
r=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$url/health" 2>&1)
cond_ok $((r != 200)) "/health still answers 200 while full" "got: $r"

# ---- free space, write again ----------------------------------------------
rm -f "$mnt/filler"
sync
ok=1
for ((k = 0; k < 50; k++)); do
	r=$(rpc "$ADMIN" "[\"stream.write\",\"keep-1\",{\"type\":\"After\",\"data\":{\"freed\":true}},{\"expectedVersion\":19}]")
	if [[ ${r%% *} == 200 ]]; then
		ok=0
		break
	fi
	sleep 0.2
done
cond_ok $ok "after freeing space a write succeeds again (expectedVersion 19)" "last answer: $r"
r=$(rpc "$ADMIN" "[\"stream.write\",\"fill-1\",{\"type\":\"Fill\",\"data\":{\"i\":-1,\"pad\":\"$pad\"}}]")
cond_ok $((${r%% *} != 200)) "and a large write succeeds too" "$r"
[[ ${r%% *} == 200 ]] && acked=$((acked + 1))
r=$(rpc "$tenant" '["stream.write","keep-2",{"type":"After","data":{}},{"expectedVersion":19}]')
cond_ok $((${r%% *} != 200)) "and tenant1 takes writes again" "$r"
after1=$(rpc "$ADMIN" '["stream.get","keep-1",{"batchSize":-1}]')
after2=$(rpc "$tenant" '["stream.get","keep-2",{"batchSize":-1}]')
# The 20 messages byte for byte, then the 21st.
b=${before1#* }
[[ ${after1#* } == "${b%]}",* ]] &&
	[[ $(json_q "${after1#* }" "json_array_length(?) = 21 AND json_extract(?, '\$[20][1]') = 'After'") == 1 ]]
cond_ok $? "keep-1 holds its 20 messages unchanged plus the new one" "${after1:0:300}"

# ---- the files themselves ------------------------------------------------
"$EVDB_LOCAL" stop --data-dir "$tmp/stack" >"$tmp/stop.log" 2>&1
cond_ok $? "the stack stops cleanly" "$(cat "$tmp/stop.log")"
mkdir -p "$tmp/copy"
cp -a "$mnt/." "$tmp/copy/"
bad=0
nfiles=0
while IFS= read -r -d '' f; do
	nfiles=$((nfiles + 1))
	res=$(sqlite3 "$f" 'PRAGMA integrity_check;' 2>&1)
	if [[ $res != ok ]]; then
		bad=$((bad + 1))
		diag "${f#"$tmp"/copy/}: $res"
	fi
done < <(find "$tmp/copy" -name '*.db' -print0)
cond_ok $((bad != 0 || nfiles < 2)) "PRAGMA integrity_check is ok on a copy of all $nfiles database files"

# ---- a restarted stack serves the same data --------------------------------
start_stack
cond_ok $? "the stack starts again on the same data directory"
r=$(rpc "$ADMIN" '["stream.get","keep-1",{"batchSize":-1}]')
[[ $r == "$after1" ]]
cond_ok $? "after the restart keep-1 reads back byte for byte" "now: ${r:0:300}"
r=$(rpc "$tenant" '["stream.get","keep-2",{"batchSize":-1}]')
[[ $r == "$after2" ]]
cond_ok $? "after the restart keep-2 reads back byte for byte" "now: ${r:0:300}"
r=$(rpc "$ADMIN" '["stream.version","fill-1"]')
[[ $r == "200 $((acked - 1))" ]]
cond_ok $? "after the restart fill-1 holds every acknowledged write: version $((acked - 1))" "got: $r"

((tap_failed == 0))
