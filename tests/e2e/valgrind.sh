#!/usr/bin/env bash
# valgrind.sh - one end-to-end pass with evdb under valgrind (TAP).
#
# Runs the stream_t end-to-end program against an evdb started through a
# wrapper that execs valgrind's memcheck, then reads valgrind's report of
# every evdb process: no invalid read or write, no use of uninitialised
# memory, no definite leak.  Skipped (with the reason) when valgrind is
# missing or evdb is a sanitizer build, which valgrind cannot run.
set -u

src=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${EVDB_BUILDDIR:-$src}
evdb=$build/evdb

if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind is not installed"
	exit 0
fi
if ldd "$evdb" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	echo "1..0 # SKIP evdb is a sanitizer build (the ASan run covers it)"
	exit 0
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/evdb-valgrind-XXXXXX")
trap '[ -n "${VALGRIND_KEEP:-}" ] || rm -rf "$dir"' EXIT
cat >"$dir/evdb" <<WRAP
#!/bin/sh
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \\
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \\
    --log-file="$dir/vg.%p.log" "$evdb" "\$@"
WRAP
chmod +x "$dir/evdb"

echo "1..3"
EVDB_E2E_EVDB=$dir/evdb EVDB_E2E_TIMEOUT=900 "$build/tests/e2e/stream_t" >"$dir/stream_t.out" 2>&1
rc=$?
fails=$(grep -c '^not ok' "$dir/stream_t.out")
passes=$(grep -c '^ok' "$dir/stream_t.out")
if [ $rc -eq 0 ] && [ "$fails" -eq 0 ] && [ "$passes" -gt 0 ]; then
	echo "ok 1 - stream_t passes with evdb under valgrind ($passes checks)"
else
	echo "not ok 1 - stream_t under valgrind: exit $rc, $fails failed"
	tail -20 "$dir/stream_t.out" | sed 's/^/# /'
fi

logs=$(ls "$dir"/vg.*.log 2>/dev/null | wc -l)
summaries=$(cat "$dir"/vg.*.log 2>/dev/null | grep -c 'ERROR SUMMARY:')
if [ "$logs" -gt 0 ] && [ "$summaries" -eq "$logs" ]; then
	echo "ok 2 - every evdb process ran to completion under valgrind ($logs)"
else
	echo "not ok 2 - $logs valgrind logs, $summaries with a summary (a process did not exit)"
fi

bad=$(grep -h 'ERROR SUMMARY:' "$dir"/vg.*.log 2>/dev/null | grep -v 'ERROR SUMMARY: 0 errors' | head -3)
if [ "$summaries" -gt 0 ] && [ -z "$bad" ]; then
	echo "ok 3 - valgrind reports 0 errors and no definite leak"
else
	echo "not ok 3 - valgrind: ${bad:-no summary}"
	grep -h -A12 '^==[0-9]*== [A-Z][a-z]' "$dir"/vg.*.log 2>/dev/null | head -60 | sed 's/^/# /'
fi
