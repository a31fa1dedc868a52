# tests/tap.sh - TAP results for the shell tests; sourced, not run.
#
# ok STATUS DESCRIPTION [DIAGNOSTIC]: one numbered result ($n counts them),
# "ok" when STATUS is 0, else "not ok" with DIAGNOSTIC (when given) on a
# "# " line, and $failed set to 1 for the script's exit status.  The plan
# ("1..N") is the script's own.
# shellcheck shell=bash

n=0
failed=0

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '# %s\n' "$3"
		failed=1
	fi
}
