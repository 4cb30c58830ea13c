#!/bin/bash
# t-dovecot.sh: Debian's Dovecot 2.3 (installed by tests/dovecot-setup.sh)
# authorizes its IMAP and POP3 clients through dracd, with each of the two
# integrations in contrib/dovecot: the post-login script, then the plugin.
# A private Dovecot instance (config, base_dir, state, log and mail under
# $T) listens on 127.0.0.1 and ::1; the test user comes from a static
# passdb.  Clients log in from other loopback addresses and from
# 2001:db8::6; the map is read back with Berkeley DB's own tool, with
# Postfix's postmap, and by a private Postfix configured with
# contrib/postfix/main.cf, which must then relay for those clients.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
if [ -z "${DRAC_IN_NS:-}" ]; then
	# Outside the namespace, where the package mirror can be reached.
	sh "$TOP/tests/dovecot-setup.sh" || exit 1
	bash "$TOP/tests/mta-setup.sh" || exit 1
fi
enter_namespace "$@"
# relay_state / expect_relay: an SMTP session up to RCPT on $PORT
# shellcheck source=tests/mta-lib.sh
source "$TOP/tests/mta-lib.sh"

IMAP_PORT=10143
POP3_PORT=10110
V6=2001:db8::6
TESTUSER=mailuser
PASSWORD=drac-test-secret
MAP=$T/dracd.db
PF=$T/postfix
LOGIN=(python3 "$TOP/tests/dovecot-login.py")
# Both integrations run from a staging root filled by make install.
ROOT=$T/root
PREFIX=/usr/local
MODDIR=$(sed -n 's/^dovecot_moduledir=//p' /usr/lib/dovecot/dovecot-config)
PLUGIN=$ROOT$MODDIR/lib95_drac_plugin.so
SCRIPT=$ROOT$PREFIX/libexec/drac/drac-postlogin
TTL=3		# dracd's expiry in the renewal test, seconds
BUDGET=3	# a login must finish within this many seconds, dracd or not

DOVECOT_PID=
DC=

# dovecot_conf MODE: writes $DC/dovecot.conf for MODE (postlogin or
# plugin): the instance's own settings, then the installed example file
# for MODE with the paths of the staging root.
dovecot_conf() {
	local mode=$1
	mkdir -p "$DC/run" "$DC/state" || return 1
	cat >"$DC/dovecot.conf" <<EOF
# drac test instance: $mode
base_dir = $DC/run
state_dir = $DC/state
instance_name = drac-test-$mode
log_path = $DC/dovecot.log
protocols = imap pop3
listen = 127.0.0.1, ::1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_failure_delay = 0
login_trusted_networks = 127.0.0.1/32
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:$T/mail/%u
mail_plugin_dir = $ROOT$MODDIR
mail_debug = yes
passdb {
  driver = static
  args = password=$PASSWORD
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$T/mail/%u
}
service imap-login {
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $POP3_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
pop3_uidl_format = %08Xu%08Xv
!include $DC/drac.conf
EOF
	# dracctl built with ASan (make check-asan) reserves more address
	# space than Dovecot's default limit for its processes (256 MB).
	if [ -n "${DRAC_SAN_FLAGS:-}" ]; then
		echo "default_vsz_limit = 0" >>"$DC/dovecot.conf"
	fi
	case $mode in
	postlogin)
		# the installed script, run from the staging root
		sed "s|^DRACCTL=$PREFIX/|DRACCTL=$ROOT$PREFIX/|" "$SCRIPT" \
		    >"$DC/drac-postlogin" && chmod 755 "$DC/drac-postlogin" ||
		    return 1
		sed "s|$PREFIX/libexec/drac/drac-postlogin|$DC/drac-postlogin|" \
		    "$ROOT$PREFIX/share/doc/drac/dovecot/90-drac-postlogin.conf" \
		    >"$DC/drac.conf"
		;;
	plugin)
		sed -e "s|^\( *drac_interval =\).*|\1 1 s|" \
		    "$ROOT$PREFIX/share/doc/drac/dovecot/90-drac-plugin.conf" \
		    >"$DC/drac.conf"
		;;
	esac
	doveconf -c "$DC/dovecot.conf" -n >"$DC/doveconf.out" 2>&1 || {
		cat "$DC/doveconf.out"
		return 1
	}
}

# start_dovecot MODE: a fresh private instance configured for MODE.
start_dovecot() {
	DC=$T/dovecot-$1
	rm -rf "$DC"
	dovecot_conf "$1" || return 1
	dovecot -F -c "$DC/dovecot.conf" >>"$DC/master.out" 2>&1 &
	DOVECOT_PID=$!
	PIDS+=("$DOVECOT_PID")
	if ! wait_for "dovecot imap" "(exec 3<>/dev/tcp/127.0.0.1/$IMAP_PORT)" ||
	    ! wait_for "dovecot pop3" "(exec 3<>/dev/tcp/127.0.0.1/$POP3_PORT)" ||
	    ! wait_for "dovecot on ::1" "(exec 3<>/dev/tcp/::1/$IMAP_PORT)"; then
		cat "$DC/master.out" "$DC/dovecot.log" 2>/dev/null
		return 1
	fi
}

stop_dovecot() {
	kill -TERM "$DOVECOT_PID" 2>/dev/null
	wait "$DOVECOT_PID"
}

# fresh_dracd ARGS...: (re)starts dracd on an empty map.
fresh_dracd() {
	if [ -n "${DRACD_PID:-}" ] && kill -0 "$DRACD_PID" 2>/dev/null; then
		kill -CONT "$DRACD_PID"
		stop_dracd
	fi
	start_dracd -i -a "$T/dracd.allow" "$@" "$MAP"
}

# server_for SOURCE: the instance's address of SOURCE's family.
server_for() { case $1 in *:*) echo ::1 ;; *) echo 127.0.0.1 ;; esac; }
port_for() { case $1 in imap) echo $IMAP_PORT ;; pop3) echo $POP3_PORT ;; esac; }

# login PROTO SOURCE [PASSWORD [OPTIONS...]]: one login against the
# instance, to 127.0.0.1 or, for an IPv6 source, to ::1.  Prints the
# client's line; succeeds if the login did.
login() {
	local proto=$1 src=$2 pw=${3:-$PASSWORD} out
	shift 3 2>/dev/null || shift $#
	out=$("${LOGIN[@]}" "$@" "$proto" "$src" "$(server_for "$src")" \
	    "$(port_for "$proto")" "$TESTUSER" "$pw")
	local rc=$?
	echo "    $proto from $src: $out"
	return $rc
}

# refused PROTO SOURCE: a login with a wrong password is refused.
refused() {
	local rc
	login "$1" "$2" wrong-password
	rc=$?
	[ "$rc" -eq 1 ]
}

# prompt PROTO SOURCE: the login succeeds within $BUDGET seconds.
prompt() {
	local out t
	out=$(login "$1" "$2") || { echo "$out"; return 1; }
	echo "$out"
	t=$(sed -n 's/.* ok \([0-9.]*\)$/\1/p' <<<"$out")
	awk -v t="$t" -v b="$BUDGET" 'BEGIN { exit !(t != "" && t < b) }'
}

# authorized ADDR...: all of them are in the map.
authorized() {
	local a
	for a in "$@"; do
		map_has "$MAP" "$a" || return 1
	done
}
# not_authorized ADDR...: none of them is in the map.
not_authorized() {
	local a
	for a in "$@"; do
		map_has "$MAP" "$a" && return 1
	done
	return 0
}

# postmap_ok KEY: Postfix's own lookup finds KEY with an all-digit value
# (access(5): OK, so check_client_access permits relaying).
postmap_q() { postmap -c "$PF/etc" -q "$1" "hash:${MAP%.db}"; }
postmap_ok() {
	local v
	v=$(postmap_q "$1") || return 1
	echo "    postmap -q $1: $v"
	case $v in '' | *[!0-9]*) return 1 ;; esac
}
# postmap_none KEY: not found (exit 1), and no error either.
postmap_none() {
	local out rc
	out=$(postmap_q "$1" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "    postmap -q $1: $out"
	[ "$rc" -eq 1 ] && [ -z "$out" ]
}

map_expiry() { map_dump "$MAP" | sed -n "s|^$1=||p"; }

# relay STATE SERVER CLIENT: expect_relay, with Postfix's complaints
# when it fails.
relay() {
	expect_relay "$@" && return 0
	grep -E 'warning|error|fatal|panic' "$PF/maillog" | tail -n 5 |
	    sed 's/^/    maillog: /'
	return 1
}

# start_postfix: a private Postfix (config, queue and log under $PF)
# with the relay restrictions of contrib/postfix/main.cf, on
# 127.0.0.1:$PORT and [::1]:$PORT.  Mail for other domains would be
# deferred; the probes end every session after RCPT.
start_postfix() {
	local pc=(postconf -c "$PF/etc") dir
	mkdir -p "$PF/etc" "$PF/spool" "$PF/data" || return 1
	chown postfix:postfix "$PF/data" || return 1
	: >"$PF/etc/main.cf"
	cp /etc/postfix/master.cf "$PF/etc/master.cf" || return 1
	# shellcheck disable=SC2016
	"${pc[@]}" -e compatibility_level=3.6 mail_owner=postfix \
	    "queue_directory=$PF/spool" "data_directory=$PF/data" \
	    myhostname=drac-test.invalid 'mydestination=$myhostname' \
	    inet_interfaces=loopback-only inet_protocols=all \
	    mynetworks=127.0.0.1/32 relay_domains= smtpd_peername_lookup=no \
	    smtp_dns_support_level=disabled 'relayhost=[127.0.0.1]:9' \
	    defer_transports=smtp alias_maps= alias_database= \
	    maillog_file=/dev/stdout || return 1
	sed "s|/etc/mail/dracd|${MAP%.db}|g" "$TOP/contrib/postfix/main.cf" \
	    >>"$PF/etc/main.cf" || return 1
	"${pc[@]}" -M# smtp/inet
	"${pc[@]}" -M "127.0.0.1:$PORT/inet=127.0.0.1:$PORT inet n - n - - smtpd" \
	    "[::1]:$PORT/inet=[::1]:$PORT inet n - n - - smtpd" || return 1
	"${pc[@]}" -F '*/*/chroot=n' || return 1
	postfix -c "$PF/etc" check || return 1
	dir=$(postconf -c "$PF/etc" -h daemon_directory) || return 1
	"$dir/master" -c "$PF/etc" -s >>"$PF/maillog" 2>&1 &
	PIDS+=($!)
	wait_for "postfix" "(exec 3<>/dev/tcp/127.0.0.1/$PORT)" &&
	    wait_for "postfix on ::1" "(exec 3<>/dev/tcp/::1/$PORT)"
}

# hold_session NAME PROTO SOURCE: a session that logs in and stays
# connected, idle, until release NAME; its output is in $T/NAME.out.
# Succeeds once it has logged in within $BUDGET seconds.
hold_session() {
	local name=$1 proto=$2 src=$3 t
	rm -f "$T/$name.release"
	"${LOGIN[@]}" --hold "$T/$name.release" "$proto" "$src" \
	    "$(server_for "$src")" "$(port_for "$proto")" \
	    "$TESTUSER" "$PASSWORD" >"$T/$name.out" 2>&1 &
	eval "HOLD_$name=\$!"
	wait_for "$name to log in" "grep -q '^holding' '$T/$name.out'" 10
	echo "    $proto from $src: $(head -n 1 "$T/$name.out")"
	t=$(sed -n 's/^holding \([0-9.]*\)$/\1/p' "$T/$name.out")
	awk -v t="$t" -v b="$BUDGET" 'BEGIN { exit !(t != "" && t < b) }'
}

# release NAME: the held session logs out; succeeds if it ended well.
release() {
	local pid
	eval "pid=\$HOLD_$1"
	touch "$T/$1.release"
	wait "$pid"
	echo "    $1: $(tail -n 1 "$T/$1.out")"
	tail -n 1 "$T/$1.out" | grep -q '^ok '
}

# renewed ADDR OLD: ADDR is in the map with an expiry time later than
# OLD and still in the future.
renewed() {
	local v
	v=$(map_expiry "$1")
	echo "    $1: expiry $v (at login $2, now $(date +%s))"
	[ -n "$v" ] && [ "$v" -gt "$2" ] && [ "$v" -ge "$(date +%s)" ]
}

renewal_lines() {
	grep -c "drac: renewal: $1 authorized through" "$DC/dovecot.log"
}

# renewal_checks: sessions that stay connected keep their address past
# dracd's expiry; after logout it expires.
renewal_checks() {
	local v11 v12 v6
	echo "== plugin: renewal every second, dracd expiry ${TTL}s"
	fresh_dracd -e "${TTL}s" || return 1
	check "plugin: IMAP session from 127.0.0.11 stays connected" \
	    hold_session imap11 imap 127.0.0.11
	check "plugin: POP3 session from 127.0.0.12 stays connected" \
	    hold_session pop12 pop3 127.0.0.12
	check "plugin: IMAP session from $V6 stays connected" \
	    hold_session imap6 imap "$V6"
	check "plugin: control: IMAP from 127.0.0.13, logged out at once" \
	    login imap 127.0.0.13
	v11=$(map_expiry 127.0.0.11)
	v12=$(map_expiry 127.0.0.12)
	v6=$(map_expiry "$V6")
	check "plugin: all four authorized" \
	    authorized 127.0.0.11 127.0.0.12 "$V6" 127.0.0.13
	sleep $((TTL + 3))
	check "plugin: control 127.0.0.13 expired after ${TTL}s" \
	    not_authorized 127.0.0.13
	check "plugin: 127.0.0.11 (IMAP, idle) still authorized, renewed" \
	    renewed 127.0.0.11 "$v11"
	check "plugin: 127.0.0.12 (POP3, idle) still authorized, renewed" \
	    renewed 127.0.0.12 "$v12"
	check "plugin: $V6 (IMAP, idle) still authorized, renewed" \
	    renewed "$V6" "$v6"
	check "plugin: Postfix still relays for 127.0.0.11" \
	    relay accepted 127.0.0.1 127.0.0.11
	check "plugin: Postfix refuses the expired 127.0.0.13" \
	    relay refused 127.0.0.1 127.0.0.13
	check "plugin: renewals logged (debug) about every second" \
	    test "$(renewal_lines 127.0.0.11)" -ge 3
	check "plugin: IMAP session from 127.0.0.11 logs out" release imap11
	check "plugin: POP3 session from 127.0.0.12 logs out" release pop12
	check "plugin: IMAP session from $V6 logs out" release imap6
	local n11
	n11=$(renewal_lines 127.0.0.11)
	check "plugin: after logout 127.0.0.11 expires" \
	    wait_for "127.0.0.11 to expire" "not_authorized 127.0.0.11" $((TTL + 3))
	check "plugin: after logout 127.0.0.12 expires" \
	    wait_for "127.0.0.12 to expire" "not_authorized 127.0.0.12" $((TTL + 3))
	check "plugin: after logout $V6 expires" \
	    wait_for "$V6 to expire" "not_authorized $V6" $((TTL + 3))
	check "plugin: no renewal after logout" \
	    test "$(renewal_lines 127.0.0.11)" -eq "$n11"
}

# recovery_checks: a session that logged in while dracd was down is
# authorized by its next renewal once dracd is back; the failure is
# logged once, not at every renewal.
recovery_checks() {
	echo "== plugin: dracd down at login, back later"
	stop_dracd
	check "plugin: IMAP session from 127.0.0.19 logs in within ${BUDGET}s" \
	    hold_session imap19 imap 127.0.0.19
	sleep 3
	check "plugin: the failure logged as an error" \
	    dovecot_log_has "Error: drac: login: authorizing 127.0.0.19 through 127.0.0.1 failed"
	check "plugin: logged once, not at every renewal" \
	    test "$(grep -c "Error: drac: .* 127.0.0.19 " "$DC/dovecot.log")" -eq 1
	check "plugin: ... while renewals kept trying" \
	    test "$(grep -c "drac: renewal: authorizing 127.0.0.19 .* still fails" "$DC/dovecot.log")" -ge 2
	fresh_dracd -e 10m || return 1
	check "plugin: dracd back: the next renewal authorizes 127.0.0.19" \
	    wait_for "127.0.0.19 in the map" "authorized 127.0.0.19" 3
	check "plugin: the recovery logged" \
	    dovecot_log_has "Info: drac: 127.0.0.19 authorized through 127.0.0.1 again"
	check "plugin: IMAP session from 127.0.0.19 logs out" release imap19
}

dovecot_log_has() { grep -q -- "$1" "$DC/dovecot.log"; }

# require DESCRIPTION COMMAND...: a check the rest of the test needs.
require() {
	local what=$1
	shift
	if "$@"; then
		ok "$what"
	else
		not_ok "$what"
		finish
		exit 1
	fi
}

# common_checks MODE: the checks both integrations must pass.
common_checks() {
	local mode=$1
	echo "== $mode: logins authorize their address"
	check "$mode: map starts empty of the test clients" \
	    not_authorized 127.0.0.5 127.0.0.6 "$V6"
	check "$mode: Postfix refuses 127.0.0.5 before its login" \
	    relay refused 127.0.0.1 127.0.0.5
	check "$mode: Postfix refuses $V6 before its login" \
	    relay refused ::1 "$V6"
	check "$mode: IMAP LOGIN from 127.0.0.5" login imap 127.0.0.5
	check "$mode: 127.0.0.5 in the map" authorized 127.0.0.5
	check "$mode: POP3 USER/PASS from 127.0.0.6" login pop3 127.0.0.6
	check "$mode: 127.0.0.6 in the map" authorized 127.0.0.6
	check "$mode: postmap finds 127.0.0.5, all digits" postmap_ok 127.0.0.5
	check "$mode: postmap finds 127.0.0.6, all digits" postmap_ok 127.0.0.6
	check "$mode: 127.0.0.7 (never logged in) not in the map" \
	    not_authorized 127.0.0.7
	check "$mode: postmap does not find 127.0.0.7" postmap_none 127.0.0.7
	check "$mode: Postfix relays for 127.0.0.5" \
	    relay accepted 127.0.0.1 127.0.0.5
	check "$mode: Postfix relays for 127.0.0.6" \
	    relay accepted 127.0.0.1 127.0.0.6
	check "$mode: Postfix refuses 127.0.0.7" \
	    relay refused 127.0.0.1 127.0.0.7

	echo "== $mode: failed logins authorize nothing"
	check "$mode: IMAP LOGIN with a wrong password refused" refused imap 127.0.0.8
	check "$mode: POP3 PASS with a wrong password refused" refused pop3 127.0.0.9
	check "$mode: 127.0.0.8 not in the map" not_authorized 127.0.0.8
	check "$mode: 127.0.0.9 not in the map" not_authorized 127.0.0.9
	check "$mode: Postfix refuses 127.0.0.8" \
	    relay refused 127.0.0.1 127.0.0.8

	echo "== $mode: IPv6"
	check "$mode: IMAP LOGIN from $V6 to ::1" login imap "$V6"
	check "$mode: $V6 in the map" authorized "$V6"
	check "$mode: postmap finds $V6, all digits" postmap_ok "$V6"
	check "$mode: Postfix relays for $V6" relay accepted ::1 "$V6"
	check "$mode: POP3 from $V6 to ::1" login pop3 "$V6"

	echo "== $mode: an IPv4-mapped client address is sent as IPv4"
	check "$mode: IMAP via a trusted proxy for ::ffff:127.0.0.14" \
	    login imap 127.0.0.1 "$PASSWORD" --origin ::ffff:127.0.0.14
	check "$mode: 127.0.0.14 in the map" authorized 127.0.0.14
	check "$mode: not the proxy's 127.0.0.1" not_authorized 127.0.0.1
	check "$mode: no IPv6 form of it" not_authorized ::ffff:127.0.0.14
}

# dead_dracd_checks MODE: logins with dracd stopped, then hung.
dead_dracd_checks() {
	local mode=$1
	echo "== $mode: dracd stopped"
	stop_dracd
	check "$mode: IMAP login within ${BUDGET}s" prompt imap 127.0.0.15
	check "$mode: POP3 login within ${BUDGET}s" prompt pop3 127.0.0.16
	check "$mode: IPv6 login within ${BUDGET}s" prompt imap "$V6"
	echo "== $mode: dracd hung (SIGSTOP)"
	fresh_dracd -e 10m || return 1
	kill -STOP "$DRACD_PID"
	check "$mode: IMAP login within ${BUDGET}s" prompt imap 127.0.0.17
	check "$mode: POP3 login within ${BUDGET}s" prompt pop3 127.0.0.18
	kill -CONT "$DRACD_PID"
}

echo "== make install"
installed=yes
make -s -C "$TOP" install DESTDIR="$ROOT" PREFIX="$PREFIX" \
    >"$T/install.log" 2>&1 || { installed=no; cat "$T/install.log"; }
require "make install succeeds" test "$installed" = yes
check "the plugin is in Dovecot's module directory ($MODDIR)" test -f "$PLUGIN"
check "the plugin exports only its entry points" \
    test "$(nm -D --defined-only "$PLUGIN" | awk '{print $3}' | sort | tr '\n' ' ')" = \
    "drac_plugin_deinit drac_plugin_init drac_plugin_version "
check "drac-postlogin is in $PREFIX/libexec/drac" test -x "$SCRIPT"
check "drac-postlogin runs the installed dracctl" \
    grep -qx "DRACCTL=$PREFIX/bin/dracctl" "$SCRIPT"
check "drac-postlogin is otherwise the shipped script" \
    cmp -s "$SCRIPT" "$TOP/contrib/dovecot/drac-postlogin"
R2=$T/root-usr
make -s -C "$TOP" install-dovecot-script DESTDIR="$R2" PREFIX=/usr \
    >>"$T/install.log" 2>&1
check "PREFIX=/usr: drac-postlogin runs /usr/bin/dracctl" \
    grep -qx "DRACCTL=/usr/bin/dracctl" "$R2/usr/libexec/drac/drac-postlogin"
check "PREFIX=/usr: the example names /usr/libexec/drac/drac-postlogin" \
    grep -q "script-login /usr/libexec/drac/drac-postlogin$" \
    "$R2/usr/share/doc/drac/dovecot/90-drac-postlogin.conf"
for f in README 90-drac-postlogin.conf 90-drac-plugin.conf; do
	check "installed doc/drac/dovecot/$f" \
	    test -f "$ROOT$PREFIX/share/doc/drac/dovecot/$f"
done

printf '127.0.0.0/8\n::1\n' >"$T/dracd.allow"
ip -6 addr add "$V6/128" dev lo nodad || exit 1
mkdir -p "$T/mail" && chown nobody:nogroup "$T/mail" || exit 1
start_rpcbind || exit 1

#### 1. the post-login script
fresh_dracd -e 10m || exit 1
# After dracd has created the map: an smtpd that starts without it keeps
# failing its lookups until it exits.
require "private Postfix with contrib/postfix/main.cf" start_postfix
require "postlogin: private Dovecot with contrib/dovecot/90-drac-postlogin.conf" \
    start_dovecot postlogin
common_checks postlogin
dead_dracd_checks postlogin
check "postlogin: the failure is in Dovecot's log" \
    dovecot_log_has "drac-postlogin: user $TESTUSER from 127.0.0.15: not authorized"
stop_dovecot

#### 2. the plugin
fresh_dracd -e 10m || exit 1
require "plugin: private Dovecot with contrib/dovecot/90-drac-plugin.conf" \
    start_dovecot plugin
common_checks plugin
check "plugin: Dovecot loaded it" dovecot_log_has "drac: login: 127.0.0.5 authorized through 127.0.0.1"
renewal_checks
dead_dracd_checks plugin
check "plugin: the failure is in Dovecot's log" \
    dovecot_log_has "Error: drac: login: authorizing 127.0.0.15 through 127.0.0.1 failed"
recovery_checks
stop_dovecot

finish
