#!/usr/bin/env bash
# several_hosts.sh - the commands of docs/deployment.md, "Running several
# hosts" / "Try it on one machine", run as written (TAP).
#
# The block between <!-- several-hosts:begin --> and <!-- several-hosts:end -->
# is taken from the document, its directories and port replaced by fresh
# ones, and run from the source tree with the built evdb; then its output is
# checked: the three hosts running, the write through host 1 read back
# through host 3, every host in pg_stat_activity, and everything stopped.
set -u

src=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${EVDB_BUILDDIR:-$src}
doc=$src/docs/deployment.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/evdb-hosts-XXXXXX")
. "$src/tests/tap.sh"

cleanup() {
	"$src/deploy/evdb-local" stop --data-dir "$tmp/hosts" >/dev/null 2>&1
	"$src/deploy/evdb-local" pg stop --data-dir "$tmp/pg" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)
[ -n "$port" ] || port=$((20000 + $$ % 20000))
mkdir -p "$tmp/pg"
# The cluster belongs to nobody when root runs this (deploy/pg-cluster).
[ "$(id -u)" = 0 ] && chmod 0755 "$tmp"

sed -n '/<!-- several-hosts:begin -->/,/<!-- several-hosts:end -->/p' "$doc" |
	sed -e '/^<!--/d' -e '/^```/d' \
	    -e "s|/tmp/evdb-pg|$tmp/pg|g" -e "s|/tmp/evdb-hosts|$tmp/hosts|g" \
	    -e "s|8080|$port|g" >"$tmp/commands.sh"
test -s "$tmp/commands.sh"
ok $? "docs/deployment.md has the several-hosts block ($(wc -l <"$tmp/commands.sh") lines)"

(cd "$src" && EVDB_BIN=$build/evdb bash -e -x "$tmp/commands.sh") >"$tmp/out" 2>"$tmp/trace"
rc=$?
ok $rc "the commands run to the end (exit $rc)"
if [ $rc -ne 0 ]; then
	sed 's/^/# /' "$tmp/trace" | tail -n 30
	sed 's/^/# /' "$tmp/out" | tail -n 30
fi
c=$(grep -c 'evdb [123]: *running (pid' "$tmp/out")
[ "$c" = 3 ]
ok $? "status shows 3 evdb hosts running ($c)"
grep -q '^{"globalPosition":1,"position":0}$' "$tmp/out"
ok $? "the write through host 1 answers its positions"
grep -q '^\[\["5b0c4a5e-8d3f-4c1e-9a7b-2f6d1e0c9b8a","Opened",0,1,{},null,' "$tmp/out"
ok $? "host 3 reads it back"
c=$(grep -Ec '^ *evdb/[^/]+/[0-9]+/conn +\| +[0-9]+$' "$tmp/out")
w=$(grep -Ec '^ *evdb/[^/]+/[0-9]+/watch +\| +1$' "$tmp/out")
[ "$c" = 3 ] && [ "$w" = 3 ]
ok $? "pg_stat_activity shows the connections of 3 hosts ($c conn, $w watch)"
grep -q 'evdb-local: stopped' "$tmp/out" && grep -q 'PostgreSQL stopped' "$tmp/out"
ok $? "stop and pg stop stop everything"
[ ! -e "$tmp/hosts/run/nginx.pid" ] && ! "$src/deploy/pg-cluster" status "$tmp/pg"
ok $? "no nginx pid file left, and the cluster is down"

echo "1..$n"
exit $failed
