# shellcheck shell=bash
# tests/mta-lib.sh: shared by the MTA tests (t-postfix.sh, t-sendmail.sh,
# t-socketmap.sh, t-dovecot.sh); source it
# after enter_namespace (bash).  The MTA under test listens on
# 127.0.0.1:$PORT and [::1]:$PORT inside the test's network namespace;
# clients are loopback addresses (127.0.0.0/8 is all local on Linux) and
# $V6CLIENT, added to lo here.  Relay means RCPT to user@example.org.

PORT=2525
V6CLIENT=2001:db8::5
PROBE=("/usr/bin/python3" "$TOP/tests/mta-probe.py" "--port" "$PORT")

# mta_net_setup: the IPv6 client address, and names for the clients so
# that reverse lookups (sendmail makes them) succeed from /etc/hosts.
mta_net_setup() {
	ip -6 addr add "$V6CLIENT/128" dev lo nodad || return 1
	printf '%s\tclient6.test.invalid\n' "$V6CLIENT" >>/etc/hosts
	# the loopback clients of the stress test
	for i in $(seq 1 60); do
		printf '127.0.1.%d\tstress%d.test.invalid\n' "$i" "$i"
	done >>/etc/hosts
}

# start_mta_dracd ARGS...: dracd with its default map options, writing
# $T/dracd.db, accepting notifications from loopback only.
start_mta_dracd() {
	printf '127.0.0.0/8\n::1\n' >"$T/dracd.allow"
	start_dracd -a "$T/dracd.allow" "$@" "$T/dracd.db"
}

# relay_state SERVER CLIENT: one SMTP session with swaks bound to CLIENT,
# QUIT after RCPT.  Prints "CLIENT STATE REPLY" where STATE is accepted
# (250), refused (550/554 5.7.1, the relay denial of both MTAs) or other.
relay_state() {
	local six="" out reply state
	case $1 in *:*) six=-6 ;; esac
	out=$(swaks $six --server "$1" --port "$PORT" --local-interface "$2" \
	    --helo probe.invalid --from tester@probe.invalid \
	    --to user@example.org --quit-after RCPT --timeout 10 2>&1)
	reply=$(printf '%s\n' "$out" | sed -n '/-> RCPT TO/{n;s/^<[-*]* *//;p;q;}')
	case $reply in
	250\ *) state=accepted ;;
	55[04]\ 5.7.1\ *) state=refused ;;
	*) state=other ;;
	esac
	[ -n "$reply" ] || reply="(no RCPT reply: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' '))"
	echo "$2 $state $reply"
}

# expect_relay STATE SERVER CLIENT: the next session from CLIENT ends in
# STATE (accepted or refused).
expect_relay() {
	local out
	out=$(relay_state "$2" "$3")
	echo "    $out"
	case $out in "$3 $1 "*) return 0 ;; esac
	return 1
}

# map_value KEY: the value stored for KEY in $T/dracd.db (empty if none).
map_value() {
	map_dump "$T/dracd.db" | sed -n "s/^$1=//p" | head -n 1
}

now() { date +%s.%N; }

# sleep_until EPOCH [OFFSET]: sleeps until the wall clock reaches
# EPOCH + OFFSET (seconds, fractions allowed).
sleep_until() {
	local d
	d=$(awk -v t="$1" -v o="${2:-0}" -v n="$(now)" \
	    'BEGIN { d = t + o - n; print (d > 0 ? d : 0) }')
	sleep "$d"
}

# expect_expiry SERVER CLIENT KEY: the address is still accepted just
# before the expiry time dracd stored for KEY, and refused within 2 s of it.
expect_expiry() {
	local exp t out
	exp=$(map_value "$3")
	case $exp in
	'' | *[!0-9]*) echo "    no expiry time in the map for $3"; return 1 ;;
	esac
	echo "    $3 expires at $exp (now $(now))"
	sleep_until "$exp" -0.7
	out=$(relay_state "$1" "$2")
	echo "    0.7 s before expiry: $out"
	case $out in "$2 accepted "*) ;; *) return 1 ;; esac
	sleep_until "$exp"
	out=$("${PROBE[@]}" --until refused --timeout 2 --interval 0.1 "$1" "$2")
	t=${out##*at=}
	t=${t%)}
	echo "    after expiry: $out"
	case $out in "$2 refused "*) ;; *) return 1 ;; esac
	echo "    refused $(awk -v a="$t" -v b="$exp" 'BEGIN { printf "%.2f", a - b }') s after the expiry time"
	awk -v a="$t" -v b="$exp" 'BEGIN { exit !(a - b <= 2) }'
}

# relay_lifecycle SERVER CLIENT KEY [DRACCTL-ARGS...]: refused before, the
# next session accepted after dracctl add, refused again after expiry.
relay_lifecycle() {
	local server=$1 client=$2 key=$3
	shift 3
	check "$client via $server: relay refused before dracauth" \
	    expect_relay refused "$server" "$client"
	check "dracctl${*:+ $*} add $client" "$DRACCTL" "$@" add "$client"
	check "$client via $server: the next session relays" \
	    expect_relay accepted "$server" "$client"
	check "$client via $server: relays until its expiry, refused within 2 s after" \
	    expect_expiry "$server" "$client" "$key"
}

# Sendmail test instances (t-sendmail, t-socketmap): Debian's sendmail
# unpacked by tests/mta-setup.sh.  Its own files go to the test's private
# /run (a tmpfs, mode 755): sendmail refuses or warns about files below a
# world-writable directory, and $T may be below /tmp (DRAC_TEST_TMP).
SMROOT=${DRAC_SENDMAIL_ROOT:-/var/cache/drac-test/sendmail}
SMBIN=$SMROOT/usr/libexec/sendmail/sendmail
SMCF=$SMROOT/usr/share/sendmail/cf
SMD=/run/drac-sendmail

# sendmail_mc NAME FEATURE-LINES [CLASSIC-RULES]: builds $SMD/NAME.cf from
# a test .mc: queue-only, a smart host on a closed port, listening on
# 127.0.0.1:$PORT and [::1]:$PORT, with the drac lines given.
sendmail_mc() {
	local name=$1 feature=$2 classic=${3:-}
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

# wait_for_smtp NAME: until the MTA accepts connections on $PORT at both
# 127.0.0.1 and ::1.
wait_for_smtp() {
	wait_for "$1" "(exec 3<>/dev/tcp/127.0.0.1/$PORT)" &&
	    wait_for "$1 on ::1" "(exec 3<>/dev/tcp/::1/$PORT)"
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
	wait_for_smtp sendmail
}

stop_sendmail() {
	kill -TERM "$SMPID" 2>/dev/null
	wait "$SMPID"
	SMPID=
}

# postfix_base_config: a private Postfix configured in $PFC, queue and
# data under $PF, logging to $PF/maillog, loopback only, relaying nowhere
# (mail for other domains would be deferred to a closed port), smtpd
# unchrooted unless a service says otherwise.  The caller appends its
# drac lines to main.cf and adds its smtpd services.
postfix_base_config() {
	local P=(postconf -c "$PFC")
	mkdir -p "$PFC" "$PF/spool" "$PF/data" || return 1
	chown postfix:postfix "$PF/data"
	: >"$PFC/main.cf"
	cp /etc/postfix/master.cf "$PFC/master.cf" || return 1
	# shellcheck disable=SC2016
	"${P[@]}" -e compatibility_level=3.6 \
	    "queue_directory=$PF/spool" "data_directory=$PF/data" \
	    mail_owner=postfix setgid_group=postdrop \
	    myhostname=drac-test.invalid mydomain=invalid \
	    'myorigin=$myhostname' 'mydestination=$myhostname, localhost' \
	    inet_interfaces=loopback-only inet_protocols=all \
	    mynetworks=127.0.0.1/32 relay_domains= \
	    smtpd_peername_lookup=no smtp_dns_support_level=disabled \
	    'relayhost=[127.0.0.1]:9' defer_transports=smtp \
	    alias_maps= alias_database= biff=no \
	    "maillog_file_prefixes=$PF" "maillog_file=$PF/maillog" || return 1
	"${P[@]}" -M# smtp/inet
	"${P[@]}" -F '*/*/chroot=n'
}
