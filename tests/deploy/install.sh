#!/usr/bin/env bash
# tests/deploy/install.sh - the deployment files, installed and run: `make
# install DESTDIR=tmp` in the build tree, the files in their FHS places,
# systemd-analyze verify and security on the units, nginx -t on a Debian-
# shaped nginx.conf that includes the installed site and snippets (and once
# more with conf/nginx-evdb-upstream.conf.example's upstreams), logrotate
# -d on the logrotate rule, then the units' own ExecStart lines run (alone,
# socket-activated through systemd-socket-activate, restarted under a socket
# held as evdb.socket holds it, and two evdb@ instances behind one upstream)
# with nginx serving the installed site, and finally `make uninstall`, which
# must leave nothing but an edited evdb.conf.  (systemd itself cannot run
# here: the units' other lines are checked by systemd-analyze.)
#
# Paths the units and the site use (/var/lib/evdb, /var/log/evdb, /run/evdb,
# /var/log/nginx) are moved below the temporary directory by relocate(), the
# one change made to the installed files before running them; nothing is
# written outside the temporary directory.  As root, evdb runs as nobody
# with group www-data and nginx's workers as www-data, so the socket's
# 0660 group permission is what lets nginx in, as in production (where
# www-data is in group evdb).  Not as root, both run as the current user.
#
# TAP.  Needs make, nginx and curl; points that need systemd-analyze,
# systemd-socket-activate (package systemd), logrotate or perl are skipped,
# saying why, when the tool is missing.  EVDB_KEEP_TMP=1 keeps the
# temporary directory.

set -u
umask 022

EVDB_SRCDIR=${EVDB_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
EVDB_BUILDDIR=${EVDB_BUILDDIR:-$EVDB_SRCDIR}
. "$EVDB_SRCDIR/tests/proc.sh"

tap_count=0
pids=()			# background processes to stop at exit
T=

plan() { printf '1..%d\n' "$1"; }

# diag LINE...: each argument on its own comment line(s).
diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done < <(printf '%s\n' "$@")
}

pass_ok() {
	tap_count=$((tap_count + 1))
	printf 'ok %d - %s\n' "$tap_count" "$1"
}

fail_ok() {
	tap_count=$((tap_count + 1))
	printf 'not ok %d - %s\n' "$tap_count" "$1"
}

# skip_ok N REASON: N skipped points.
skip_ok() {
	local i
	for ((i = 0; i < $1; i++)); do
		tap_count=$((tap_count + 1))
		printf 'ok %d # SKIP %s\n' "$tap_count" "$2"
	done
}

# cond_ok STATUS DESC [DIAG]: passes when STATUS is 0.
cond_ok() {
	if [[ $1 == 0 ]]; then
		pass_ok "$2"
	else
		fail_ok "$2"
		[[ -z ${3:-} ]] || diag "$3"
	fi
}

# is_ok GOT WANT DESC
is_ok() {
	if [[ $1 == "$2" ]]; then
		pass_ok "$3"
	else
		fail_ok "$3"
		diag "got:  '$1'" "want: '$2'"
	fi
}

# like_ok GOT REGEX DESC
like_ok() {
	if [[ $1 =~ $2 ]]; then
		pass_ok "$3"
	else
		fail_ok "$3"
		diag "got:  '$1'" "want: /$2/"
	fi
}

bail() {
	printf 'Bail out! %s\n' "$*"
	exit 1
}

cleanup() {
	local p i
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
	done
	if [[ -n $T && -d $T ]]; then
		if [[ -n ${EVDB_KEEP_TMP:-} ]]; then
			printf '# kept %s\n' "$T"
		else
			rm -rf "$T"
		fi
	fi
}
trap cleanup EXIT

# make in the build tree, without the outer make's flags and job server.
build_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u DESTDIR \
		"${MAKE:-make}" -C "$EVDB_BUILDDIR" "$@"
}

# wait_for TEST ARG TENTHS: waits until `test TEST ARG` holds.
wait_for() {
	local i
	for ((i = 0; i < $3; i++)); do
		test "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}

# wait_gone PID TENTHS: waits for process PID (a child) to exit; sets
# gone_rc to its exit status.
wait_gone() {
	local i
	gone_rc=
	for ((i = 0; i < $2; i++)); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1"
			gone_rc=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# nginx_reload: nginx -s reload, and waits (up to 30 s) until the workers
# of the old configuration are gone: until then they take requests too.
nginx_reload() {
	local old p i left
	old=$(children "$(cat "$N/nginx.pid" 2>/dev/null)")
	"$NGINX" -s reload -p "$N/" -e "$N/error.log" -c "$ngx/nginx.conf" 2>/dev/null ||
		return
	for ((i = 0; i < 300; i++)); do
		left=0
		for p in $old; do
			[[ -d /proc/$p ]] && left=1
		done
		((left)) || return 0
		sleep 0.1
	done
	diag "the old nginx workers still run 30 s after the reload"
}

# http METHOD PATH [BODY]: "STATUS BODY" from nginx.
http() {
	local body
	if [[ $1 == POST ]]; then
		body=$(curl -s --max-time 10 -w ' %{http_code}' \
			-H "Authorization: Bearer $token" -d "$3" \
			"http://127.0.0.1:$port$2") || true
	else
		body=$(curl -s --max-time 10 -w ' %{http_code}' \
			"http://127.0.0.1:$port$2") || true
	fi
	printf '%s %s' "${body##* }" "${body% *}"
}

plan 45

for tool in "${MAKE:-make}" curl; do
	command -v "$tool" >/dev/null || bail "$tool not found"
done
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[[ -x $NGINX ]] || bail "nginx not found (apt-get install nginx, or set NGINX)"

T=$(mktemp -d "${TMPDIR:-/tmp}/evdb-deploy.XXXXXX") || bail "mktemp failed"
chmod 0755 "$T"
D=$T/dest		# DESTDIR
R=$T/root		# where relocate() moves the system's paths
N=$T/nginx		# the test nginx's pid, logs and temporary files
mkdir -p "$R/var/lib/nginx" "$R/var/log/nginx" "$R/run" "$N/tmp"

# ---- install -----------------------------------------------------------------
# The installation directories, as make knows them (deploy/local.mk).
prefix='' bindir='' sysconfdir='' docdir='' systemdsystemunitdir='' evdbconfdir=''
nginxconfdir='' nginxconfddir='' nginxsitedir='' logrotatedir=''
nginx_listen='' nginx_socket='' nginx_access_log=''
dirs=$(build_make -s print-deploy-dirs 2>&1) || bail "make print-deploy-dirs failed: $dirs"
while IFS='=' read -r k v; do
	case $k in
	prefix | bindir | sysconfdir | docdir | systemdsystemunitdir | evdbconfdir | \
		nginxconfdir | nginxconfddir | nginxsitedir | logrotatedir | \
		nginx_listen | nginx_socket | nginx_access_log)
		printf -v "$k" '%s' "$v"
		;;
	esac
done <<<"$dirs"
[[ -n $systemdsystemunitdir && -n $nginx_socket ]] ||
	bail "unexpected output of make print-deploy-dirs: $dirs"
diag "prefix $prefix, sysconfdir $sysconfdir, units in $systemdsystemunitdir"

out=$(build_make install DESTDIR="$D" 2>&1)
rc=$?
cond_ok $rc "make install DESTDIR=tmp" "$(tail -n 20 <<<"$out")"
((rc == 0)) || bail "make install failed"

unitdir=$D$systemdsystemunitdir
site=$D$nginxsitedir/evdb
expected=(
	"$D$bindir/evdb"
	"$unitdir/evdb.service"
	"$unitdir/evdb.socket"
	"$unitdir/evdb@.service"
	"$D$evdbconfdir/evdb.conf"
	"$site"
	"$D$nginxconfdir/fastcgi_params.evdb"
	"$D$nginxconfdir/nginx-json-errors.conf"
	"$D$nginxconfddir/nginx-evdb-http.conf"
	"$D$logrotatedir/evdb"
	"$D$docdir/README.md"
	"$D$docdir/docs/deployment.md"
)
missing=()
for f in "${expected[@]}"; do
	[[ -f $f ]] || missing+=("${f#"$D"}")
done
is_ok "${missing[*]}" "" "all ${#expected[@]} files are installed in their places"
like_ok "$("$D$bindir/evdb" version 2>&1)" '^evdb [0-9]+\.[0-9]+' "the installed evdb runs"
cmp -s "$EVDB_SRCDIR/conf/evdb.conf" "$D$evdbconfdir/evdb.conf"
cond_ok $? "evdb.conf is the shipped one"
cmp -s "$EVDB_SRCDIR/conf/fastcgi_params.evdb" "$D$nginxconfdir/fastcgi_params.evdb" &&
	cmp -s "$EVDB_SRCDIR/conf/nginx-json-errors.conf" "$D$nginxconfdir/nginx-json-errors.conf" &&
	cmp -s "$EVDB_SRCDIR/conf/nginx-evdb-http.conf" "$D$nginxconfddir/nginx-evdb-http.conf"
cond_ok $? "the nginx snippets are the shipped ones"

left=$(grep -HnoE '@[A-Za-z_]+@' "$unitdir"/evdb*.s* "$site" 2>&1)
is_ok "$left" "" "no placeholder is left in the units and the site"

# The unit lines that name installed paths.
exec_of() { sed -n 's/^ExecStart=//p' "$1"; }
svc_exec=$(exec_of "$unitdir/evdb.service")
tpl_exec=$(exec_of "$unitdir/evdb@.service")
ok=0
for e in "$svc_exec" "$tpl_exec"; do
	[[ $e == *" $bindir/evdb serve "* || $e == "$bindir/evdb serve "* ]] || ok=1
	[[ $e == *"--config $sysconfdir/evdb/evdb.conf "* ]] || ok=1
done
cond_ok $ok "ExecStart runs \$(bindir)/evdb with \$(sysconfdir)/evdb/evdb.conf" \
	"$svc_exec"$'\n'"$tpl_exec"
like_ok "$(sed -n 's/^ListenStream=//p' "$unitdir/evdb.socket")" "^${nginx_socket}\$" \
	"evdb.socket listens where the site's upstream points"
like_ok "$(grep -E '^[[:space:]]*(listen |server unix:|access_log )' "$site" | tr -s ' \t' ' ' | tr '\n' '|')" \
	"^ server unix:${nginx_socket};\| server unix:${nginx_socket};\| listen ${nginx_listen};\| access_log ${nginx_access_log} evdb;\|\$" \
	"the site: upstream socket (evdb_backend and evdb_stream), listen address, access log"

# ---- systemd-analyze -----------------------------------------------------------
# verify checks that ExecStart's program exists, and it is not installed at
# its final path: the copies checked differ from the installed units only
# by the DESTDIR in front of $(bindir)/evdb.
vdir=$T/verify
mkdir -p "$vdir"
for u in evdb.service evdb.socket evdb@.service; do
	sed "s|$bindir/evdb |$D$bindir/evdb |g" "$unitdir/$u" >"$vdir/$u"
done
if command -v systemd-analyze >/dev/null; then
	out=$(cd "$vdir" && systemd-analyze verify ./evdb.service ./evdb.socket ./evdb@.service 2>&1)
	rc=$?
	# Any output is a warning (an unknown key, a bad value): fail on it.
	[[ -z $out ]] || rc=1
	cond_ok $rc "systemd-analyze verify: evdb.service, evdb.socket, evdb@.service" "$out"
	for u in evdb.service evdb@.service; do
		out=$(cd "$vdir" && systemd-analyze security --offline=yes --threshold=20 "./$u" 2>&1)
		rc=$?
		lvl=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
		diag "systemd-analyze security $u: exposure ${lvl:-?}"
		[[ $rc == 0 && -n $lvl ]] || rc=1
		cond_ok $rc "systemd-analyze security $u: exposure at most 2.0" "$(tail -n 5 <<<"$out")"
	done
else
	skip_ok 3 "systemd-analyze not found (Debian package systemd)"
fi

# ---- nginx -t -----------------------------------------------------------------
# Debian's layout: nginx.conf in $(sysconfdir)/nginx, including conf.d/*.conf
# and sites-enabled/* at http level, so the site's relative includes resolve
# against $(sysconfdir)/nginx.  relocate moves the system paths under $R.
relocate() {
	sed -e "s|/var/lib/evdb|$R/var/lib/evdb|g" \
		-e "s|/var/log/evdb|$R/var/log/evdb|g" \
		-e "s|/var/log/nginx/|$R/var/log/nginx/|g" \
		-e "s|/run/evdb|$R/run/evdb|g" \
		-e "s|/var/lib/nginx/|$R/var/lib/nginx/|g"
}
ngx=$D$nginxconfdir
mkdir -p "$ngx/sites-enabled"
worker_user=
if ((EUID == 0)); then
	if id -u www-data >/dev/null 2>&1 && getent group www-data >/dev/null; then
		worker_user='user www-data www-data;'
	else
		worker_user='user root;'
	fi
fi
mime=
[[ -r /etc/nginx/mime.types ]] && mime='include /etc/nginx/mime.types;'
cat >"$ngx/nginx.conf" <<EOF
# Debian 12's nginx.conf, reduced, with its paths under the test directory.
$worker_user
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log;

events {
	worker_connections 256;
}

http {
	sendfile on;
	tcp_nopush on;
	types_hash_max_size 2048;
	$mime
	default_type application/octet-stream;
	access_log $N/access.log;
	gzip on;
	client_body_temp_path $N/tmp/client_body;
	fastcgi_temp_path $N/tmp/fastcgi;
	proxy_temp_path $N/tmp/proxy;
	uwsgi_temp_path $N/tmp/uwsgi;
	scgi_temp_path $N/tmp/scgi;

	include $ngx/conf.d/*.conf;
	include $ngx/sites-enabled/*;
}
EOF
relocate <"$site" >"$ngx/sites-enabled/evdb"
# Outside comments, relocate changes the socket (in both upstreams), the
# access log and the two temporary paths only.
ndiff=$(diff <(grep -v "^[[:space:]]*#" "$site") \
	<(grep -v "^[[:space:]]*#" "$ngx/sites-enabled/evdb") | grep -c "^>")
is_ok "$ndiff" 5 "the site under test differs from the installed one in 5 lines (socket twice, access log, temporary paths)"
out=$("$NGINX" -t -p "$N/" -e "$N/error.log" -c "$ngx/nginx.conf" 2>&1)
rc=$?
cond_ok $rc "nginx -t: the installed site and snippets in Debian's layout" "$out"

# conf/nginx-evdb-upstream.conf.example applied to the site as
# docs/deployment.md "On several machines" step 3 says: the two upstream
# blocks replaced by its TCP pair (A), `fastcgi_next_upstream off;` by its
# three retry lines.  nginx -t only resolves the addresses.
ex=$EVDB_SRCDIR/conf/nginx-evdb-upstream.conf.example
mkdir -p "$ngx/sites-several"
{
	sed -n '/^upstream evdb_[a-z]* {/,/^}/p' "$ex"
	awk -v retry="$(sed -n 's/^#\t\(fastcgi_next_upstream.*;\)$/\1/p' "$ex" |
	    paste -sd '|')" '
	/^upstream evdb_(backend|stream) \{/ { skip = 1; next }
	skip && /^\}/ { skip = 0; next }
	skip { next }
	/^\tfastcgi_next_upstream off;$/ {
		n = split(retry, r, "|")
		for (i = 1; i <= n; i++)
			print "\t" r[i]
		next
	}
	{ print }' "$ngx/sites-enabled/evdb"
} >"$ngx/sites-several/evdb"
sed "s|$ngx/sites-enabled/|$ngx/sites-several/|" "$ngx/nginx.conf" >"$ngx/nginx-several.conf"
n_up=$(grep -c '^upstream evdb_\(backend\|stream\) {' "$ngx/sites-several/evdb")
n_retry=$(grep -Ec $'^\tfastcgi_next_upstream(_tries|_timeout)? [a-z0-9 ]+;$' "$ngx/sites-several/evdb")
out=$("$NGINX" -t -p "$N/" -e "$N/error.log" -c "$ngx/nginx-several.conf" 2>&1)
rc=$?
((n_up == 2 && n_retry == 3)) || rc=1
cond_ok $rc "nginx -t: the site with conf/nginx-evdb-upstream.conf.example's upstreams ($n_up) and retry lines ($n_retry)" "$out"

# ---- logrotate -----------------------------------------------------------------
if command -v logrotate >/dev/null; then
	out=$(logrotate -d -s "$T/logrotate.state" "$D$logrotatedir/evdb" 2>&1)
	rc=$?
	grep -qi 'error' <<<"$out" && rc=1
	cond_ok $rc "logrotate -d accepts the logrotate rule" "$out"
else
	skip_ok 1 "logrotate not found (Debian package logrotate)"
fi

# ---- run: evdb.service's ExecStart, alone ----------------------------------------
# The service's environment: relocated paths, UMask=0077, stdout to
# /dev/null; as root, evdb's user and group via setpriv.  The directories
# are what StateDirectory=, LogsDirectory= and RuntimeDirectory= make.
run_as=()
if ((EUID == 0)) && [[ $worker_user == 'user www-data www-data;' ]] && command -v setpriv >/dev/null; then
	run_as=(setpriv --reuid="$(id -u nobody)" --regid="$(getent group www-data | cut -d: -f3)" --clear-groups)
	diag "evdb runs as nobody:www-data, nginx's workers as www-data"
fi
mkdir -m 0700 "$R/var/lib/evdb" "$R/var/log/evdb"
mkdir -m 0755 "$R/run/evdb"
if ((${#run_as[@]})); then
	chown nobody "$R/var/lib/evdb" "$R/var/log/evdb" "$R/run/evdb"
fi

# as_unit LINE INSTANCE: the ExecStart LINE as a shell command, with
# systemd's $$ and %i undone, the installed files under DESTDIR and the
# system's paths relocated.
as_unit() {
	local c=$1
	c=${c//'$$'/'$'}
	c=${c//'%i'/$2}
	c=${c//"$bindir/evdb "/"$D$bindir/evdb "}
	c=${c//"$sysconfdir/evdb/evdb.conf"/"$D$sysconfdir/evdb/evdb.conf"}
	relocate <<<"$c"
}

# start_unit LINE INSTANCE LOG [PREFIX...]: runs LINE in the background as
# the unit would; sets unit_pid.
start_unit() {
	local cmd
	cmd=$(as_unit "$1" "$2")
	(
		umask 0077
		exec "${@:4}" "${run_as[@]}" bash -c "exec $cmd" >/dev/null 2>>"$3"
	) &
	unit_pid=$!
	pids+=("$unit_pid")
}

# Start nginx on a free loopback port, then evdb.
port=
for ((try = 0; try < 20; try++)); do
	p=$((20000 + RANDOM % 40000))
	sed -i -E "s/^(\s*listen) [^;]+;/\1 127.0.0.1:$p;/" "$ngx/sites-enabled/evdb"
	if out=$("$NGINX" -p "$N/" -e "$N/error.log" -c "$ngx/nginx.conf" 2>&1); then
		port=$p
		break
	fi
	[[ $out == *"in use"* ]] || break
done
[[ -n $port ]] || bail "nginx did not start: $out"
wait_for -s "$N/nginx.pid" 50 && pids+=("$(cat "$N/nginx.pid")")
diag "nginx on 127.0.0.1:$port"

sock=$R/run/evdb/evdb.sock
start_unit "$svc_exec" "" "$T/evdb.stderr"
evdb_pid=$unit_pid
wait_for -S "$sock" 100
cond_ok $? "evdb.service's ExecStart binds $nginx_socket" "$(cat "$T/evdb.stderr" 2>/dev/null)"
is_ok "$(cat "$R/run/evdb/evdb.pid" 2>/dev/null)" "$evdb_pid" "the pid file holds the service's main pid"
is_ok "$(stat -c %a "$sock" 2>/dev/null)" 660 "the socket's mode is 0660"
is_ok "$(stat -c %a "$R/var/lib/evdb/admin.token" 2>/dev/null)" 600 "admin.token is mode 0600"
token=$(cat "$R/var/lib/evdb/admin.token" 2>/dev/null)
is_ok "$(http GET /health)" '200 {"status":"ok"}' "GET /health through the installed site"
like_ok "$(http GET /nope)" '^404 \{"error":\{"code":"NOT_FOUND"' "an unknown path: nginx's JSON 404"
like_ok "$(http POST /rpc '["stream.write","deploy-1",{"type":"T","data":{}}]')" \
	'^200 \{"globalPosition":1,"position":0\}$' "a write with the admin token from admin.token"
grep -q 'GET /health ' "$R/var/log/nginx/evdb.access.log" 2>/dev/null
cond_ok $? "nginx logs to the site's access log, in log_format evdb"

# logrotate's way: rename, then SIGHUP (ExecReload) makes a new file.
log=$R/var/log/evdb/evdb.log
if [[ -s $log ]]; then
	mv "$log" "$log.1"
	kill -HUP "$evdb_pid"
	wait_for -s "$log" 50
	cond_ok $? "SIGHUP (ExecReload) reopens evdb.log after a rotation"
else
	fail_ok "SIGHUP (ExecReload) reopens evdb.log after a rotation"
	diag "no $log"
fi
is_ok "$(stat -c %a "$log" 2>/dev/null)" 600 "the new log file is mode 0600 (UMask=0077 and evdb's umask)"

kill -TERM "$evdb_pid"
wait_gone "$evdb_pid" 150
is_ok "${gone_rc:-timeout}" 0 "SIGTERM (KillSignal): evdb exits 0"
[[ ! -e $sock ]]
cond_ok $? "evdb removes its socket on exit"

# ---- run: socket-activated -----------------------------------------------------
if command -v systemd-socket-activate >/dev/null; then
	: >"$T/evdb-sa.stderr"
	# evdb.socket's ListenStream=, SocketUser/Group=, SocketMode=0660.
	(exec systemd-socket-activate -l "$sock" -- "${run_as[@]}" bash -c "exec $(as_unit "$svc_exec" "")" \
		>/dev/null 2>>"$T/evdb-sa.stderr") &
	sa_pid=$!
	pids+=("$sa_pid")
	wait_for -S "$sock" 50
	if ((${#run_as[@]})); then
		chown nobody:www-data "$sock"
	fi
	chmod 0660 "$sock"
	kill -0 "$sa_pid" 2>/dev/null && [[ ! -s $R/run/evdb/evdb.pid ]]
	cond_ok $? "socket-activated: evdb does not run before the first connection"
	is_ok "$(http GET /health)" '200 {"status":"ok"}' "socket-activated: the first request starts evdb and is answered"
	grep -q 'listening on the socket passed by systemd' "$log"
	cond_ok $? "socket-activated: evdb uses the socket systemd passed (no --listen)" \
		"$(tail -n 5 "$log" "$T/evdb-sa.stderr" 2>/dev/null)"
	like_ok "$(http POST /rpc '["stream.version","deploy-1"]')" '^200 0$' \
		"socket-activated: the data written before is there"
	kill -TERM "$sa_pid"
	wait_gone "$sa_pid" 150
	is_ok "${gone_rc:-timeout}" 0 "socket-activated: SIGTERM, exit 0"
	rm -f "$sock"
else
	skip_ok 5 "systemd-socket-activate not found (Debian package systemd)"
fi

# ---- run: a restart under a socket systemd keeps ---------------------------------
# evdb.socket outlives evdb.service: a restarted evdb gets the same
# listening socket again.  perl plays systemd: it holds the socket and starts
# the service's ExecStart on it twice, the second time after the first has
# exited on SIGTERM, with LISTEN_FDS=1 and LISTEN_PID.
cat >"$T/holder.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::UNIX;
use POSIX ();
my ($path, $runs, @cmd) = @ARGV;
$^F = 3;	# fd 3 stays open across exec
unlink $path;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => 1024)
    or die "holder: listen on $path: $!\n";
for my $run (1 .. $runs) {
	my $pid = fork() // die "holder: fork: $!\n";
	if ($pid == 0) {
		POSIX::_exit(126) if fileno($s) != 3 && !defined POSIX::dup2(fileno($s), 3);
		$ENV{LISTEN_FDS} = 1;
		$ENV{LISTEN_PID} = $$;
		exec { $cmd[0] } @cmd;
		POSIX::_exit(127);
	}
	waitpid($pid, 0);
	printf STDERR "holder: run %d exited with status %d\n", $run, $? >> 8;
}
PERL
if command -v perl >/dev/null && perl -MIO::Socket::UNIX -e 1 2>/dev/null; then
	pidf=$R/run/evdb/evdb.pid
	rm -f "$pidf"
	(exec perl "$T/holder.pl" "$sock" 2 "${run_as[@]}" bash -c "exec $(as_unit "$svc_exec" "")" \
		>/dev/null 2>>"$T/holder.stderr") &
	holder_pid=$!
	pids+=("$holder_pid")
	wait_for -S "$sock" 50
	if ((${#run_as[@]})); then
		chown nobody:www-data "$sock"
	fi
	chmod 0660 "$sock"
	wait_for -s "$pidf" 100
	run1=$(cat "$pidf" 2>/dev/null)
	is_ok "$(http GET /health)" '200 {"status":"ok"}' "held socket: the first evdb serves it"
	kill -TERM "$run1" 2>/dev/null
	run2=$run1
	for ((i = 0; i < 300; i++)); do
		run2=$(cat "$pidf" 2>/dev/null)
		[[ -n $run2 && $run2 != "$run1" ]] && break
		sleep 0.1
	done
	got=$(http GET /health)
	if [[ $got == '200 {"status":"ok"}' ]]; then
		pass_ok "held socket: after a restart, the next evdb serves it"
	else
		fail_ok "held socket: after a restart, the next evdb serves it"
		diag "got: '$got'" "$(grep -v 'accept failed' "$log" | tail -n 3)" \
			"$(grep -c 'accept failed' "$log") 'accept failed' lines in evdb.log"
	fi
	[[ -n $run2 && $run2 != "$run1" ]] && kill -TERM "$run2" 2>/dev/null
	wait_gone "$holder_pid" 150
	is_ok "$(grep -c 'exited with status 0' "$T/holder.stderr" 2>/dev/null)" 2 \
		"held socket: both runs exit 0 on SIGTERM"
	rm -f "$sock"
else
	skip_ok 3 "perl with IO::Socket::UNIX not found"
fi

# ---- run: two evdb@ instances behind one upstream -------------------------------
sed -i -E "s|^(\s*)server unix:[^;]+;|\1server unix:$R/run/evdb/evdb-a.sock;\n\1server unix:$R/run/evdb/evdb-b.sock;|" \
	"$ngx/sites-enabled/evdb"
start_unit "$tpl_exec" a "$T/evdb-a.stderr"
pid_a=$unit_pid
start_unit "$tpl_exec" b "$T/evdb-b.stderr"
pid_b=$unit_pid
wait_for -S "$R/run/evdb/evdb-a.sock" 100 && wait_for -S "$R/run/evdb/evdb-b.sock" 100
cond_ok $? "evdb@a and evdb@b bind evdb-a.sock and evdb-b.sock" \
	"$(cat "$T/evdb-a.stderr" "$T/evdb-b.stderr" 2>/dev/null)"
nginx_reload
bad=0
for ((i = 1; i <= 20; i++)); do
	r=$(http POST /rpc '["stream.write","deploy-1",{"type":"T","data":{}}]')
	[[ $r == 200* ]] || bad=$((bad + 1))
done
is_ok "$bad" 0 "20 writes through the upstream of both instances"
is_ok "$(http POST /rpc '["stream.version","deploy-1"]')" "200 20" "the stream has all 21 messages"
[[ -s $R/var/log/evdb/evdb-a.log && -s $R/var/log/evdb/evdb-b.log ]]
cond_ok $? "each instance logs to its own evdb-%i.log"
kill -TERM "$pid_a" "$pid_b"
wait_gone "$pid_a" 150
rc_a=${gone_rc:-timeout}
wait_gone "$pid_b" 150
is_ok "$rc_a ${gone_rc:-timeout}" "0 0" "both instances exit 0 on SIGTERM"
[[ -s $N/nginx.pid ]] && kill -QUIT "$(cat "$N/nginx.pid")" 2>/dev/null

# ---- reinstall over an edited evdb.conf, uninstall -------------------------------
conf=$D$evdbconfdir/evdb.conf
printf 'workers = 3\n' >>"$conf"
out=$(build_make install DESTDIR="$D" 2>&1)
cond_ok $? "make install again, over an edited evdb.conf" "$(tail -n 20 <<<"$out")"
tail -n 1 "$conf" | grep -qx 'workers = 3' && cmp -s "$EVDB_SRCDIR/conf/evdb.conf" "$conf.new"
cond_ok $? "the edited evdb.conf is kept, the new one is evdb.conf.new"
out=$(build_make uninstall DESTDIR="$D" 2>&1)
cond_ok $? "make uninstall DESTDIR=tmp" "$(tail -n 20 <<<"$out")"
# The test's own nginx.conf, nginx-several.conf and sites-*/evdb aside.
rel=${nginxconfdir#/}
left=$(cd "$D" && find . \( -type f -o -type l \) ! -path "./$rel/nginx.conf" \
	! -path "./$rel/nginx-several.conf" ! -path "./$rel/sites-several/*" \
	! -path "./$rel/sites-enabled/*" -printf '%P\n' 2>/dev/null | sort | tr '\n' ' ')
is_ok "$left" "${evdbconfdir#/}/evdb.conf " "make uninstall leaves only the edited evdb.conf"
