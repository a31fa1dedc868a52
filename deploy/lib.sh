# deploy/lib.sh: helpers shared by deploy/quickstart and deploy/run-tests:
# the Debian packages evdb needs to build, test and run, and how to install
# the missing ones.  Sourced, not executed; callers run under
# `set -euo pipefail`.
# shellcheck shell=bash

# Everything a build, `make check` (whose end-to-end tests run the real nginx
# and talk to it with libcurl and curl) and evdb-local need on Debian 12.
EVDB_DEB_PACKAGES=(
	build-essential autoconf automake pkg-config
	libfcgi-dev libsqlite3-dev sqlite3 libjson-c-dev libssl-dev
	nginx libcurl4-openssl-dev curl zlib1g-dev systemd logrotate valgrind
	libpq-dev postgresql
)

# Prints a progress line.
evdb_step() {
	printf '\n==> %s\n' "$*"
}

# Prints an error and exits.
evdb_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# Prints the number of parallel make jobs to use.
evdb_jobs() {
	local n
	n=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
	[[ $n =~ ^[0-9]+$ ]] || n=2
	printf '%s\n' "$n"
}

# Prints, one per line, the packages of EVDB_DEB_PACKAGES not installed.
evdb_missing_packages() {
	local p status
	for p in "${EVDB_DEB_PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		[[ $status == ii* ]] || printf '%s\n' "$p"
	done
}

# Installs the missing packages with apt-get, as root or through sudo; does
# nothing (and needs no privileges) when all are present.  While apt-get
# runs, a temporary policy-rc.d keeps the nginx package from starting the
# system nginx on port 80: evdb runs its own nginx, and a failed start (port
# 80 taken, no IPv6 in a container) would make apt-get fail.
evdb_install_packages() {
	local missing=() sudo=() rc=0 policy=/usr/sbin/policy-rc.d made_policy=0

	if ! command -v dpkg-query >/dev/null 2>&1; then
		printf 'warning: not a Debian system; make sure these are installed: %s\n' \
			"${EVDB_DEB_PACKAGES[*]}" >&2
		return 0
	fi
	mapfile -t missing < <(evdb_missing_packages)
	if ((${#missing[@]} == 0)); then
		evdb_step "all required packages are installed"
		return 0
	fi
	if ((EUID != 0)); then
		command -v sudo >/dev/null 2>&1 ||
			evdb_die "missing packages (${missing[*]}); run as root or install sudo"
		sudo=(sudo)
	fi
	evdb_step "installing ${missing[*]}"
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
		"${sudo[@]}" chmod 0755 "$policy"
		made_policy=1
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
	if ((rc == 0)); then
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "${missing[@]}" </dev/null || rc=$?
	fi
	if ((made_policy)); then
		"${sudo[@]}" rm -f "$policy"
	fi
	((rc == 0)) || evdb_die "apt-get failed (exit $rc)"
	mapfile -t missing < <(evdb_missing_packages)
	((${#missing[@]} == 0)) || evdb_die "still missing after apt-get: ${missing[*]}"
}
