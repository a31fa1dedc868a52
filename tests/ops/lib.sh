# tests/ops/lib.sh - helpers of the operations tests (export/import, backup,
# report), and of the other shell tests that start evdb + nginx stacks
# (tests/e2e/*.sh, tests/deploy/nginx_workers.sh); sourced, not run.  Each
# test gets its own temporary directory and its own stacks
# (deploy/evdb-local) on loopback ports it picks itself, so the tests may
# run in parallel under "make -j check".
#
# TAP: plan N, then one *_ok per test point; every line is written at once
# (bash's printf to a pipe is unbuffered).  Set EVDB_KEEP_TMP=1 to keep the
# temporary directory for a post-mortem.
# shellcheck shell=bash

set -u

ops_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EVDB_SRCDIR=${EVDB_SRCDIR:-$(cd "$ops_here/../.." && pwd)}
EVDB_BUILDDIR=${EVDB_BUILDDIR:-$EVDB_SRCDIR}
EVDB=$EVDB_BUILDDIR/evdb
EVDB_LOCAL=$EVDB_SRCDIR/deploy/evdb-local

tap_count=0
tap_failed=0
ops_stacks=()		# data directories of the stacks started
ops_pids=()		# background jobs to stop at exit
OPS_TMP=

plan() {
	printf '1..%d\n' "$1"
}

diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

# pass_ok DESC / fail_ok DESC: record a result.
pass_ok() {
	tap_count=$((tap_count + 1))
	printf 'ok %d - %s\n' "$tap_count" "$1"
}

fail_ok() {
	tap_count=$((tap_count + 1))
	tap_failed=$((tap_failed + 1))
	printf 'not ok %d - %s\n' "$tap_count" "$1"
}

# cond_ok STATUS DESC: passes when STATUS is 0.
cond_ok() {
	if [[ $1 == 0 ]]; then pass_ok "$2"; else fail_ok "$2"; fi
}

# is_ok GOT WANT DESC: string equality, with a diagnostic on failure.
is_ok() {
	if [[ $1 == "$2" ]]; then
		pass_ok "$3"
	else
		fail_ok "$3"
		diag "got:  '$1'" "want: '$2'"
	fi
}

# like_ok TEXT ERE DESC: TEXT has a line matching the extended regex ERE.
like_ok() {
	if grep -Eq -- "$2" <<<"$1"; then
		pass_ok "$3"
	else
		fail_ok "$3"
		diag "no line matches /$2/ in:" "$1"
	fi
}

# run_ok WANT_STATUS DESC CMD...: runs CMD (output in $out, stderr in
# $err_out) and checks its exit status.
run_ok() {
	local want=$1 desc=$2 rc=0
	shift 2
	out=$("$@" 2>"$OPS_TMP/stderr") || rc=$?
	err_out=$(cat "$OPS_TMP/stderr")
	if [[ $rc == "$want" ]]; then
		pass_ok "$desc"
	else
		fail_ok "$desc"
		diag "exit status $rc, expected $want: $*" "$err_out"
	fi
}

bail() {
	printf 'Bail out! %s\n' "$*"
	exit 1
}

# Makes the temporary directory and arranges the clean-up.
ops_setup() {
	[[ -x $EVDB ]] || bail "no evdb binary at $EVDB (run make first)"
	OPS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/evdb-ops.XXXXXX") || bail "mktemp failed"
	trap ops_cleanup EXIT
}

ops_cleanup() {
	local d p
	for p in "${ops_pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for d in "${ops_stacks[@]}"; do
		"$EVDB_LOCAL" stop --data-dir "$d" >/dev/null 2>&1 || true
	done
	if [[ -n $OPS_TMP ]]; then
		if [[ ${EVDB_KEEP_TMP:-0} == 1 || $tap_failed != 0 ]]; then
			printf '# kept %s\n' "$OPS_TMP"
		else
			rm -rf "$OPS_TMP"
		fi
	fi
}

# stack_try_start DIR [evdb-local options]: starts a stack with its state
# in DIR (data in DIR/data) on a free loopback port, trying up to 10 random
# ports.  On success STACK_PORT and STACK_URL name it and it is stopped at
# exit.  Otherwise STACK_PORT and STACK_URL are empty, evdb-local's output
# of the last try goes out as diagnostics, and the status is its exit
# status: for tests whose first check is that the stack starts.
stack_try_start() {
	local dir=$1 port i rc=0
	shift
	STACK_PORT= STACK_URL=
	for ((i = 0; i < 10; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		rc=0
		"$EVDB_LOCAL" start --port "$port" --data-dir "$dir" --evdb "$EVDB" \
			"$@" >"$OPS_TMP/stack-start.log" 2>&1 || rc=$?
		if ((rc == 0)); then
			ops_stacks+=("$dir")
			STACK_PORT=$port
			STACK_URL=http://127.0.0.1:$port
			return 0
		fi
		"$EVDB_LOCAL" stop --data-dir "$dir" >/dev/null 2>&1 || true
	done
	diag "$(cat "$OPS_TMP/stack-start.log")"
	return "$rc"
}

# stack_start DIR [evdb-local options]: stack_try_start with 4 evdb
# workers (the options may say otherwise); bails out when it fails.
stack_start() {
	local dir=$1
	shift
	stack_try_start "$dir" --workers 4 "$@" ||
		bail "cannot start an evdb stack in $dir"
}

# e2e_pg_store DB: for a test that runs on PostgreSQL under make
# check-postgres: creates database DB in the cluster EVDB_E2E_PGDIR names
# and sets the array E2E_STORE to the evdb-local options of a stack on it.
# Bails out when the database cannot be made.
e2e_pg_store() {
	"$EVDB_SRCDIR/deploy/pg-cluster" createdb "$EVDB_E2E_PGDIR" "$1" \
		>"$OPS_TMP/createdb.log" 2>&1 || {
		printf 'Bail out! pg-cluster createdb %s failed\n' "$1"
		cat "$OPS_TMP/createdb.log"
		exit 1
	}
	E2E_STORE=(--store "host=$EVDB_E2E_PGDIR user=evdb dbname=$1")
	printf '# store: PostgreSQL, database %s\n' "$1"
}

stack_stop() {
	"$EVDB_LOCAL" stop --data-dir "$1" >/dev/null 2>&1 || true
}

# rpc URL TOKEN BODY: one RPC call; prints the answer.
rpc() {
	curl -sS --max-time 30 "$1/rpc" -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' --data-binary "$3"
}

# ns_create URL ADMIN_TOKEN NAME: creates a namespace; prints its token.
ns_create() {
	rpc "$1" "$2" "[\"ns.create\",\"$3\"]" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

# write_all URL TOKEN FILE: writes every message of FILE, one RPC request
# body ["stream.write", ...] a line, through a single curl process (one
# kept-alive connection); prints how many answers were 200.
write_all() {
	local url=$1 token=$2 file=$3 cfg
	cfg=$(mktemp "$OPS_TMP/curl.XXXXXX")
	# A curl config file: one block a request, "next" between them; inside
	# "..." only \ and " need escaping.
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' "$file" |
		awk -v url="$url/rpc" -v tok="$token" '
		NR > 1 { print "next" }
		{
			print "url = \"" url "\""
			print "header = \"Authorization: Bearer " tok "\""
			print "header = \"Content-Type: application/json\""
			print "data-binary = \"" $0 "\""
			print "output = \"/dev/null\""
			print "write-out = \"%{http_code}\\n\""
		}' >"$cfg"
	curl -s -K "$cfg" | grep -c '^200$' || true
	rm -f "$cfg"
}

# ns_file DATA_DIR NAME: the database file of namespace NAME.
ns_file() {
	local gen
	gen=$(sqlite3 "file:$1/registry.db?mode=ro" \
		"SELECT id FROM namespaces WHERE name = '$2'") || return 1
	printf '%s/ns/%s.%s.db\n' "$1" "$2" "$gen"
}

# db_head FILE: the highest global position in a namespace file (0 if empty).
db_head() {
	sqlite3 "file:$1?mode=ro" \
		"SELECT coalesce(max(global_position), 0) FROM messages"
}

# pg_start: starts a private PostgreSQL cluster (deploy/pg-cluster) in a
# directory of its own, PG_DIR, with its conninfo in PG_STORE; it is
# stopped and removed at exit.  Not under OPS_TMP (mode 0700): as root the
# cluster belongs to nobody, who must reach its directory.
pg_start() {
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/evpg-ops.XXXXXX") || bail "mktemp failed"
	trap 'ops_cleanup; pg_stop' EXIT
	PG_STORE=$("$EVDB_SRCDIR/deploy/pg-cluster" start "$PG_DIR") ||
		bail "deploy/pg-cluster start failed"
}

pg_stop() {
	"$EVDB_SRCDIR/deploy/pg-cluster" stop "$PG_DIR" >/dev/null 2>&1 || true
	rm -rf "$PG_DIR"
}

# done_testing: the exit status of the test.
done_testing() {
	((tap_failed == 0))
}
