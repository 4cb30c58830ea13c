#!/bin/bash
# t-sendmail.sh: Debian's sendmail 8.17, unpacked by tests/mta-setup.sh,
# relays for the clients dracd authorizes, IPv4 and IPv6, and stops when
# they expire.  The sendmail.cf is built with m4 from the unpacked
# sendmail-cf and the files in contrib/sendmail/ (Debian's FEATURE(`drac')
# and the classic Kdrac + Local_check_rcpt rules), paths substituted.
# The instance is queue-only with a smart host on a closed port, and
# every SMTP session ends after RCPT: nothing is ever delivered.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
if [ -z "${DRAC_IN_NS:-}" ]; then
	# Outside the namespace, where the package mirror can be reached.
	bash "$TOP/tests/mta-setup.sh" || exit 1
fi
enter_namespace "$@"
# shellcheck source=tests/mta-lib.sh
source "$TOP/tests/mta-lib.sh"

TTL=3

# sendmail_cf NAME: builds $SMD/NAME.cf from a test .mc and the contrib
# file for NAME (drac = Debian's FEATURE, drac-classic = Kdrac + rules).
sendmail_cf() {
	local name=$1 feature="" classic=""
	local contrib
	contrib=$(sed "s|/etc/mail/dracd|$T/dracd|g" \
	    "$TOP/contrib/sendmail/$name.mc") || return 1
	case $name in
	drac) feature=$contrib ;;
	drac-classic) classic=$contrib ;;
	esac
	sendmail_mc "$name" "$feature" "$classic"
}

mta_net_setup || exit 1
mkdir -p "$SMD/mqueue"
chmod 700 "$SMD/mqueue"
printf 'hosts\tfiles\naliases\tfiles\n' >"$SMD/service.switch"
printf 'postmaster: root\n' >"$SMD/aliases"
: >"$SMD/relay-domains"
: >"$SMD/local-host-names"
: >"$SMD/trusted-users"
start_rpcbind || exit 1
start_mta_dracd -e "${TTL}s" || exit 1
check "dracd created its map" test -s "$T/dracd.db"

for cf in drac drac-classic; do
	check "$cf.cf builds from contrib/sendmail/$cf.mc" sendmail_cf "$cf"
	check "$cf.cf reads the drac map dracd writes, and no other" \
	    test "$(grep '^Kdrac' "$SMD/$cf.cf")" = "Kdrac hash $T/dracd"
done

for cf in drac drac-classic; do
	echo "# sendmail with $cf.cf"
	check "sendmail ($cf.cf) listens on 127.0.0.1 and ::1" start_sendmail "$cf"
	relay_lifecycle 127.0.0.1 127.0.0.5 127.0.0.5
	relay_lifecycle ::1 "$V6CLIENT" 2001:db8:0:0:0:0:0:5 -s ::1
	if [ "$cf" = drac ]; then
		check "stress: sendmail -bt lookups and SMTP sessions while dracd adds, renews and expires" \
		    /usr/bin/python3 "$TOP/tests/mta-stress.py" --mta sendmail \
		    --lib "$(plain_libdrac)" --dracctl "$DRACCTL" --ttl "$TTL" \
		    --sendmail "$SMBIN" --cf "$SMD/drac.cf" --smtp-port "$PORT" \
		    --writers 64 --min-adds 400 --min-smtp 6
	fi
	stop_sendmail
done

cp -r "$SMD" "$T/sendmail"
finish
