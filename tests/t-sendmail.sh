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

SMROOT=${DRAC_SENDMAIL_ROOT:-/var/cache/drac-test/sendmail}
SMBIN=$SMROOT/usr/libexec/sendmail/sendmail
SMCF=$SMROOT/usr/share/sendmail/cf
# sendmail's own files go to the test's private /run (a tmpfs, mode 755):
# sendmail refuses or warns about files below a world-writable directory,
# and $T may be below /tmp (DRAC_TEST_TMP).  Copied to $T at the end.
SMD=/run/drac-sendmail
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
	cat >"$SMD/$name.mc" <<EOF
divert(-1)dnl
include(\`$SMCF/m4/cf.m4')dnl
include(\`$SMCF/debian/autoconf.m4')dnl
divert(0)dnl
VERSIONID(\`drac test instance: $name')dnl
OSTYPE(\`debian')dnl
define(\`confDOMAIN_NAME', \`drac-test.invalid')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
dnl the map may be below a world-writable /tmp (DRAC_TEST_TMP)
define(\`confDONT_BLAME_SENDMAIL', \`MapInUnsafeDirPath')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SMD/service.switch')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`QUEUE_DIR', \`$SMD/mqueue')dnl
define(\`confPID_FILE', \`$SMD/sendmail.pid')dnl
define(\`STATUS_FILE', \`$SMD/sendmail.st')dnl
undefine(\`confHOST_STATUS_DIRECTORY')dnl
define(\`confDEAD_LETTER_DROP', \`$SMD/dead.letter')dnl
define(\`ALIAS_FILE', \`$SMD/aliases')dnl
define(\`confCR_FILE', \`-o $SMD/relay-domains')dnl
define(\`confCW_FILE', \`-o $SMD/local-host-names')dnl
define(\`confCT_FILE', \`-o $SMD/trusted-users')dnl
define(\`confDELIVERY_MODE', \`queueonly')dnl
define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h 9')dnl
define(\`SMTP_MAILER_ARGS', \`TCP \$h 9')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h 9')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
$feature
DAEMON_OPTIONS(\`Family=inet, Name=MTA-v4, Port=$PORT, Addr=127.0.0.1')dnl
DAEMON_OPTIONS(\`Family=inet6, Name=MTA-v6, Port=$PORT, Addr=::1')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
$classic
EOF
	# m4 reports the errors of sendmail's cf macros on stderr
	if ! m4 "$SMD/$name.mc" >"$SMD/$name.cf" 2>"$SMD/$name.m4err" ||
	    [ -s "$SMD/$name.m4err" ]; then
		cat "$SMD/$name.m4err"
		return 1
	fi
}

SMPID=
start_sendmail() {
	"$SMBIN" -C "$SMD/$1.cf" -bi >"$SMD/newaliases.out" 2>&1 || {
		cat "$SMD/newaliases.out"
		return 1
	}
	"$SMBIN" -C "$SMD/$1.cf" -bD >>"$SMD/daemon.out" 2>&1 &
	SMPID=$!
	PIDS+=("$SMPID")
	wait_for "sendmail" "(exec 3<>/dev/tcp/127.0.0.1/$PORT)" &&
	    wait_for "sendmail on ::1" "(exec 3<>/dev/tcp/::1/$PORT)"
}

stop_sendmail() {
	kill -TERM "$SMPID" 2>/dev/null
	wait "$SMPID"
	SMPID=
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
