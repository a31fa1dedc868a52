#!/usr/bin/env bash
# subscribe_params.sh - the FastCGI parameters nginx hands evdb, seen from
# /subscribe (TAP).  No request header is forwarded
# (fastcgi_pass_request_headers off, server-wide) and only the parameters
# evdb reads, so that a subscriber's nginx request pool stays small (issue
# 13, docs/performance.md "SSE at scale").  tests/deploy/fcgi_params.sh
# checks the same on the wire, with a responder that echoes the names.
#
# Static checks, on the shipped conf/nginx-evdb.conf.in and
# conf/fastcgi_params.evdb against src/: the names evdb reads
# (server_param(fcgi, "NAME" ...) and request_param(r, "NAME")) are exactly
# fastcgi_params.evdb's set, SCRIPT_NAME aside (read only when
# DOCUMENT_URI is missing); the server block includes it beside
# fastcgi_pass_request_headers off; no location declares a parameter of its
# own, which would drop the server-wide ones there.
#
# Live checks, through deploy/evdb-local: a subscription with a browser's
# headers and a Bearer token on an alias path; with ?token=; refusals
# without a token and with a bad one; a Last-Event-ID resume; the access
# log with the client's address, also the real one from X-Forwarded-For
# once set_real_ip_from is configured.
# shellcheck shell=bash

. "$(cd "$(dirname "$0")/.." && pwd)/ops/lib.sh"

ops_setup
src=$EVDB_SRCDIR
tmp=$OPS_TMP

conf=$src/conf/nginx-evdb.conf.in
params=$src/conf/fastcgi_params.evdb

# The server block's own lines (outside every location), comments removed.
sed 's/#.*//' "$conf" | awk '/^\tlocation / { inloc = 1 } !inloc { print }
	inloc && /^\t}/ { inloc = 0 }' >"$tmp/server"
grep -Eq '^[[:space:]]*include[[:space:]]+fastcgi_params\.evdb;' "$tmp/server"
cond_ok $? "the server block includes fastcgi_params.evdb"

grep -Eq '^[[:space:]]*fastcgi_pass_request_headers[[:space:]]+off;' "$tmp/server"
cond_ok $? "and forwards no request header (fastcgi_pass_request_headers off)"

# What evdb reads, from the source.
grep -rhoE '(server_param\(fcgi|request_param\(r), "[A-Z_]+"' "$src/src" |
	sed -E 's/.*"([A-Z_]+)"/\1/' | sort -u >"$tmp/src-all"
grep -vx SCRIPT_NAME "$tmp/src-all" >"$tmp/src"
[ "$(wc -l <"$tmp/src")" -ge 6 ] && grep -qx HTTP_LAST_EVENT_ID "$tmp/src"
cond_ok $? "src/ reads $(paste -sd' ' "$tmp/src-all")"

sed 's/#.*//' "$params" | awk '$1 == "fastcgi_param" { print $2 }' | sort >"$tmp/set"
if diff "$tmp/src" "$tmp/set" >"$tmp/diff"; then
	pass_ok "fastcgi_params.evdb's set is exactly what evdb reads"
else
	fail_ok "fastcgi_params.evdb's set is exactly what evdb reads"
	sed 's/^/# /' "$tmp/diff"
fi
[ "$(sort -u "$tmp/set" | wc -l)" -eq "$(wc -l <"$tmp/set")" ]
cond_ok $? "it defines each parameter once"

# No location defines parameters of its own (it would lose the
# server-wide ones).
others=$(sed 's/#.*//' "$conf" | awk '/^\tlocation / { loc = $0 } /^\t}/ { loc = "" }
	loc != "" && $1 == "fastcgi_param" { print loc }' | sort -u)
[ -z "$others" ]
cond_ok $? "no location defines a fastcgi_param${others:+: $others}"

# ---- live ----------------------------------------------------------------

token=ns_ZGVmYXVsdA_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
stack_try_start "$tmp/d" --token "$token"
rc=$?
cond_ok $rc "evdb-local start (exit $rc)"
base=${STACK_URL:-http://127.0.0.1:0}

# sub OUT [curl args...]: a subscription held 2 s; OUT gets headers and body.
sub() {
	local out=$1
	shift
	curl -sN -D "$out.h" -o "$out" --max-time 2 "$@"
	return 0
}

sub "$tmp/browser" -H "Authorization: Bearer $token" \
	-H 'Accept: text/event-stream' -H 'Cache-Control: no-cache' \
	-H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0' \
	-H 'Accept-Language: en-GB,en;q=0.9' -H 'Cookie: session=0123456789abcdef' \
	-H 'Origin: http://127.0.0.1:3000' "$base/subscribe/stream/subp-1"
grep -q '^HTTP/1.1 200' "$tmp/browser.h" && grep -q '^: ready' "$tmp/browser"
cond_ok $? "a browser's subscription with a Bearer token on /subscribe/stream/<name>: 200, ': ready'"

sub "$tmp/query" "$base/subscribe?stream=subp-1&token=$token"
grep -q '^HTTP/1.1 200' "$tmp/query.h" && grep -q '^: ready' "$tmp/query"
cond_ok $? "?token= in the query string: 200, ': ready'"

sub "$tmp/none" "$base/subscribe?stream=subp-1"
grep -q '^HTTP/1.1 401' "$tmp/none.h" && grep -q 'Authorization header required' "$tmp/none"
cond_ok $? "no token: 401 'Authorization header required'"

sub "$tmp/bad" -H "Authorization: Bearer ns_ZGVmYXVsdA_$(printf '0%.0s' $(seq 64))" \
	"$base/subscribe?stream=subp-1"
grep -q '^HTTP/1.1 403' "$tmp/bad.h" && grep -q 'AUTH_UNAUTHORIZED' "$tmp/bad" &&
	grep -q '"namespace":"default"' "$tmp/bad"
cond_ok $? "another token of namespace default (from the Bearer header): 403 AUTH_UNAUTHORIZED"

# Last-Event-ID: two writes; resuming after the first one's global position
# brings the second one's poke only.
w1=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '["stream.write","subp-2",{"type":"T","data":{"i":1}}]' "$base/rpc")
w2=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '["stream.write","subp-2",{"type":"T","data":{"i":2}}]' "$base/rpc")
g1=$(printf '%s' "$w1" | sed -nE 's/.*"globalPosition":([0-9]+).*/\1/p')
g2=$(printf '%s' "$w2" | sed -nE 's/.*"globalPosition":([0-9]+).*/\1/p')
sub "$tmp/resume" -H "Authorization: Bearer $token" -H "Last-Event-ID: $g1" \
	"$base/subscribe?stream=subp-2"
[ -n "$g1" ] && [ -n "$g2" ] && grep -q "^id: $g2\$" "$tmp/resume" &&
	! grep -q "^id: $g1\$" "$tmp/resume"
cond_ok $? "Last-Event-ID: $g1 resumes with the poke of $g2 only"
grep -E '^(id|data):' "$tmp/resume" | sed 's/^/# /'

log=$tmp/d/log/nginx-access.log
grep ' "GET /subscribe/stream/subp-1 HTTP/1.1" 200 ' "$log" | grep -q '^[^ ]* 127\.0\.0\.1 '
cond_ok $? "the access log has the subscription with the client's address"
! grep -q "$token" "$log"
cond_ok $? "and no token"

# Behind a proxy: the real address from X-Forwarded-For (ngx_http_realip),
# which works on the request headers nginx parsed, forwarded or not.
ngx=$tmp/d/nginx
sed -i 's/^\tserver_tokens off;$/\tserver_tokens off;\n\tset_real_ip_from 127.0.0.1;\n\treal_ip_header X-Forwarded-For;/' \
	"$ngx/conf/evdb-server.conf"
(cd "$ngx" && nginx -p "$ngx/" -e "$tmp/d/log/nginx-error.log" -c "$ngx/conf/nginx.conf" -s reload) 2>/dev/null ||
	(cd "$ngx" && /usr/sbin/nginx -p "$ngx/" -e "$tmp/d/log/nginx-error.log" -c "$ngx/conf/nginx.conf" -s reload)
sleep 1
sub "$tmp/fwd" -H "Authorization: Bearer $token" -H 'X-Forwarded-For: 203.0.113.7' \
	"$base/subscribe/stream/subp-3"
grep -q '^: ready' "$tmp/fwd" &&
	grep ' "GET /subscribe/stream/subp-3 HTTP/1.1" 200 ' "$log" | grep -q '^[^ ]* 203\.0\.113\.7 '
cond_ok $? "with set_real_ip_from, the access log has the X-Forwarded-For address"

plan "$tap_count"
done_testing
