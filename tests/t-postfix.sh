#!/bin/bash
# t-postfix.sh: Debian's Postfix 3.7, installed by tests/mta-setup.sh,
# relays for the clients dracd authorizes, IPv4 and IPv6, and stops when
# they expire, including right after two writes in one wall-clock second.
# The private instance (its own config and queue directories under $T)
# uses the relay restrictions of contrib/postfix/main.cf, path
# substituted.  Mail for other domains is deferred and every SMTP session
# ends after RCPT: nothing is ever delivered.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
if [ -z "${DRAC_IN_NS:-}" ]; then
	# Outside the namespace, where the package mirror can be reached.
	bash "$TOP/tests/mta-setup.sh" || exit 1
fi
enter_namespace "$@"
# shellcheck source=tests/mta-lib.sh
source "$TOP/tests/mta-lib.sh"

PF=$T/postfix
PFC=$PF/etc
TTL=3

postfix_config() {
	local P=(postconf -c "$PFC")
	postfix_base_config || return 1
	# The administrator's file, as documented, with the test's map.
	sed "s|/etc/mail/dracd|$T/dracd|g" "$TOP/contrib/postfix/main.cf" \
	    >>"$PFC/main.cf" || return 1
	# smtpd chrooted into the queue directory, as Debian ships it
	"${P[@]}" -M "127.0.0.1:$PORT/inet=127.0.0.1:$PORT inet n - y - - smtpd" \
	    "[::1]:$PORT/inet=[::1]:$PORT inet n - y - - smtpd" || return 1
	postfix -c "$PFC" check
}

MASTER_PID=
start_postfix() {
	local dir
	dir=$(postconf -c "$PFC" -h daemon_directory) || return 1
	# master in the foreground (-s: log to stderr too), our child
	"$dir/master" -c "$PFC" -s >>"$PF/master.out" 2>&1 &
	MASTER_PID=$!
	PIDS+=("$MASTER_PID")
	wait_for_smtp postfix
}

# smtpd_chrooted: the smtpd processes (idle after a session) run in the
# queue directory's chroot, as with Debian's master.cf.
smtpd_chrooted() {
	local p n=0
	"${PROBE[@]}" 127.0.0.1 127.0.0.5 >/dev/null
	for p in $(pgrep -P "$MASTER_PID" -x smtpd); do
		[ "$(readlink "/proc/$p/root")" = "$PF/spool" ] || return 1
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}

# relay_rule: the effective relay restrictions, as postconf reads them.
relay_rule() {
	postconf -c "$PFC" -h smtpd_relay_restrictions | tr -s ' \t' ' '
}

# same_second: two dracd writes in one wall-clock second, the second
# after an smtpd has reopened the table (it relayed the first address)
# and has looked up the second address (refused).  The next session from
# the second address must relay at once, and dracd must have held the
# second write's reply for the map's modification time (its debug log
# says so).  Returns 2 if the writes could not be placed in one second
# (slow machine): the caller tries again.
same_second() {
	local a=$1 b=$2 t0 t1 out from
	# start early in a second
	sleep_until "$(date +%s)" 1.02
	from=$(($(wc -l <"$T/dracd.log") + 1))
	t0=$(now)
	"$DRACCTL" -q add "$a" || return 1
	out=$("${PROBE[@]}" 127.0.0.1 "$a")
	echo "    after the 1st write: $out"
	case $out in "$a accepted "*) ;; *) return 1 ;; esac
	out=$("${PROBE[@]}" 127.0.0.1 "$b")
	echo "    before the 2nd write: $out"
	case $out in "$b refused "*) ;; *) return 1 ;; esac
	# The trap is set when the 2nd write is issued in the 1st one's
	# second; dracd may then hold its reply until a later second.
	t1=$(now)
	"$DRACCTL" -q add "$b" || return 1
	echo "    writes issued at $t0 and $t1, 2nd acknowledged at $(now)"
	if [ "${t0%.*}" != "${t1%.*}" ]; then
		echo "    (not within one second; again)"
		return 2
	fi
	if ! tail -n +"$from" "$T/dracd.log" |
	    grep -q "replies held for the map's modification time"; then
		echo "    (dracd wrote them in two seconds after all; again)"
		return 2
	fi
	out=$("${PROBE[@]}" 127.0.0.1 "$b")
	echo "    next session after the 2nd write: $out"
	case $out in "$b accepted "*) return 0 ;; esac
	return 1
}

check_same_second() {
	local i rc
	for i in 1 2 3 4 5; do
		same_second "127.0.0.$((20 + 2 * i))" "127.0.0.$((21 + 2 * i))"
		rc=$?
		[ "$rc" -ne 2 ] && return "$rc"
	done
	return 1
}

mta_net_setup || exit 1
start_rpcbind || exit 1
start_mta_dracd -e "${TTL}s" || exit 1
check "dracd created its map" test -s "$T/dracd.db"
check "private Postfix configured with contrib/postfix/main.cf" postfix_config
check "relay restrictions read dracd's map before reject_unauth_destination" \
    test "$(relay_rule)" = "permit_mynetworks, permit_sasl_authenticated, check_client_access hash:$T/dracd, reject_unauth_destination"
check "Postfix listens on 127.0.0.1 and ::1" start_postfix

relay_lifecycle 127.0.0.1 127.0.0.5 127.0.0.5
check "smtpd reads the map from inside its chroot" smtpd_chrooted
relay_lifecycle ::1 "$V6CLIENT" "$V6CLIENT" -s ::1
check "same-second writes after an smtpd reopened the map: the next session relays" \
    check_same_second
check "stress: postmap -q lookups and SMTP sessions while dracd adds, renews and expires" \
    /usr/bin/python3 "$TOP/tests/mta-stress.py" --mta postfix \
    --lib "$(plain_libdrac)" --dracctl "$DRACCTL" --ttl "$TTL" \
    --postfix-config "$PFC" --map "$T/dracd" --smtp-port "$PORT" \
    --writers 64 --min-adds 400 --min-smtp 6
check "Postfix logged no warning about the map" \
    eval "! grep -E 'warning|fatal|panic' '$PF/maillog' | grep -F '$T/dracd'"

# Postfix caches pages and the hash's parameters per open: entries must
# not move under it when the map outgrows its buckets (see mapdb.c).
stop_dracd
start_mta_dracd -i -e 600s || exit 1
check "while dracd grows the map, an open postmap and a fresh one find every entry added before they opened" \
    /usr/bin/python3 "$TOP/tests/open-reader.py" --lib "$(plain_libdrac)" \
    --map "$T/dracd" --postfix-config "$PFC"
check "dracd logged the growth" \
    grep -q "a bucket was full: written anew with 32 buckets instead of 16" "$T/dracd.log"
check "the grown map verifies" db5.3_verify -q "$T/dracd.db"

finish
