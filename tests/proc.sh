# tests/proc.sh - process helpers of the shell tests; sourced, not run.
#
# evdb and nginx are not the tests' children: evdb-local starts them
# detached, and whoever adopts them (PID 1, which on these VMs reaps
# seconds late) leaves them zombies for a while after they exit.  kill -0
# counts a zombie as running; these helpers read /proc instead.
# shellcheck shell=bash

# alive PID: the process runs (a zombie does not count).
alive() {
	local stat=
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[ -n "$stat" ] && [ "${stat:0:1}" != Z ]
}

# children PID: the pids of the child processes of PID, one per line.
children() {
	local p stat ppid
	for p in /proc/[0-9]*; do
		{ read -r stat <"$p/stat"; } 2>/dev/null || continue
		read -r _ ppid _ <<<"${stat##*) }"
		[ "$ppid" = "$1" ] && printf '%s\n' "${p#/proc/}"
	done
}
