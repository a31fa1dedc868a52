#!/usr/bin/env bash
# tests/ops/help.sh - a newcomer can discover every command: "evdb help"
# lists each with one line, and "evdb COMMAND --help" and "evdb help
# COMMAND" print that command's usage and exit 0; an unknown command is an
# error that points at "evdb help".

. "$(dirname "$0")/lib.sh"

commands=(serve export import backup restore report version help)
plan $((2 + ${#commands[@]} * 4 + 2))
ops_setup

run_ok 0 "evdb help exits 0" "$EVDB" help
list=$out
lines=0
for c in "${commands[@]}"; do
	grep -Eq "^  $c +[a-z]" <<<"$list" && lines=$((lines + 1))
done
is_ok "$lines" "${#commands[@]}" "evdb help lists every command with a one-line summary"

for c in "${commands[@]}"; do
	run_ok 0 "evdb $c --help exits 0" "$EVDB" "$c" --help
	like_ok "$out" '^usage: evdb' "evdb $c --help prints a usage line on stdout"
	run_ok 0 "evdb help $c exits 0" "$EVDB" help "$c"
	like_ok "$out" '^usage: evdb' "evdb help $c prints a usage line on stdout"
done

run_ok 2 "evdb help of an unknown command exits 2" "$EVDB" help no-such-command
like_ok "$err_out" 'evdb help' "the error points at evdb help"

done_testing
