#!/usr/bin/env bash
# readme_walk.sh - README.md's "A walk through with curl", run as it is
# written, against a fresh stack (TAP).
#
# The sh block under that heading is read out of README.md and run line by
# line in one shell, in a directory where var/ is the stack's state (as
# `deploy/evdb-local start --data-dir ./var` leaves it), so that the
# README's own TOKEN=$(cat var/data/admin.token) and rpc() serve.  Two
# changes, no more: the port 8080 becomes the stack's; the SSE curl gets
# -m 2 (it would follow the stream forever).  Every command
# must answer without an error, and each answer the README writes under a
# command ("# {...}", "# [...]", "# 1"; not those elided with "...") must be
# exactly what it printed.  With EVDB_E2E_PGDIR it runs again on
# PostgreSQL, as the README's "On PostgreSQL" promises: "the walk-through
# below works the same".
# shellcheck shell=bash

. "$(cd "$(dirname "$0")/.." && pwd)/ops/lib.sh"

readme=$EVDB_SRCDIR/README.md

# walk_block: the sh block of the walk-through, from README.md.
walk_block() {
	awk '/^## A walk through with curl/ { on = 1; next }
		on && /^```sh$/ { inb = 1; next }
		inb && /^```$/ { exit }
		inb { print }' "$readme"
}

# round NAME ARGS...: starts a stack with ARGS in DIR/var, runs the walk.
round() {
	local name=$1 dir line out='' cmd='' ncmd=0 nexp=0 nbad=0 errs=0 rc
	shift
	dir=$OPS_TMP/$name
	mkdir -p "$dir"
	stack_try_start "$dir/var" --workers 4 "$@"
	rc=$?
	cond_ok "$rc" "$name: the stack starts"
	((rc == 0)) || return 0
	cd "$dir" || bail "cd $dir"
	while IFS= read -r line; do
		case $line in
		'# '[\[\{0-9]*)
			# An answer the README shows right under a command.
			[[ -n $cmd && $line != *...* ]] || continue
			nexp=$((nexp + 1))
			if [[ $out != "${line#\# }" ]]; then
				nbad=$((nbad + 1))
				diag "$name: $cmd" "  printed: $out" "  README:  ${line#\# }"
			fi
			;;
		'' | '#'*)
			# A blank line or a comment ends what answers cmd.
			cmd=''
			;;
		TOKEN=* | *'() {'*)
			# Definitions for the lines after them: in this shell.
			line=${line//127.0.0.1:8080/127.0.0.1:$STACK_PORT}
			eval "$line" || errs=$((errs + 1))
			cmd=''
			;;
		*)
			line=${line//127.0.0.1:8080/127.0.0.1:$STACK_PORT}
			line=${line/curl -N /curl -N -m 2 }
			cmd=$line
			ncmd=$((ncmd + 1))
			out=$(eval "$line" 2>&1)
			out=${out%$'\n'}
			if [[ $out == *'"error"'* || -z $out ]]; then
				errs=$((errs + 1))
				diag "$name: $line" "  printed: ${out:-nothing}"
			fi
			;;
		esac
	done < <(walk_block)
	cd "$OPS_TMP" || bail "cd $OPS_TMP"
	cond_ok $((ncmd < 14)) "$name: the walk-through has its commands ($ncmd)"
	cond_ok "$errs" "$name: every command answered without an error ($errs failed)"
	cond_ok $((nexp < 4 || nbad != 0)) "$name: every answer the README shows is what was printed ($nexp compared, $nbad differ)"
	stack_stop "$dir/var"
}

ops_setup
[[ -r $readme ]] || bail "no README.md at $readme"
if [[ -n ${EVDB_E2E_PGDIR:-} ]]; then
	plan 8
	round sqlite
	e2e_pg_store "walk_$$"
	round postgres "${E2E_STORE[@]}"
else
	plan 4
	round sqlite
fi
done_testing
