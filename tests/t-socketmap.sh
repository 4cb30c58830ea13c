#!/bin/bash
# t-socketmap.sh: dracd's socketmap (-S).  First the protocol, spoken by
# tests/socketmap-client.py over UNIX and TCP sockets: answers for every
# key form the MTAs send, malformed and oversized requests, partial reads
# and writes, many connections, the connection limit, the idle timeout,
# expiry, the map file and the socketmap together, and no map at all.
# Then the real MTAs (installed by tests/mta-setup.sh): Postfix and
# sendmail, configured from contrib/*/...socketmap*, refuse to relay for
# a client, and accept it in the same SMTP session once dracctl has
# added it; expiry takes effect inside the session too; with dracd
# stopped they answer with a temporary failure, never a relay.  IPv4 and
# IPv6.  Every session ends after RCPT: nothing is ever delivered.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
if [ -z "${DRAC_IN_NS:-}" ]; then
	# Outside the namespace, where the package mirror can be reached.
	bash "$TOP/tests/mta-setup.sh" || exit 1
fi
enter_namespace "$@"
# shellcheck source=tests/mta-lib.sh
source "$TOP/tests/mta-lib.sh"

SMC=("/usr/bin/python3" "$TOP/tests/socketmap-client.py")
SESSION=("/usr/bin/python3" "$TOP/tests/smtp-session.py")
# In the namespace's own /run (root's, 0755): sendmail refuses a socket
# whose directory path anyone may write to, and the checkout may lie
# under one (/tmp).
SOCK=/run/drac-test/socketmap.sock
SMPORT=7025
V4=inet:127.0.0.1:$SMPORT
V6=inet:[::1]:$SMPORT
TTL=4

log_has() { grep -q -- "$1" "$T/dracd.log"; }
sm() { "${SMC[@]}" "$@"; }

# sm_until EP KEY REPLY SECONDS: asks every 0.1 s until the reply is REPLY.
sm_until() {
	local i
	for i in $(seq 1 $(($4 * 10))); do
		sm expect "$1" "$2" "$3" >/dev/null && {
			echo "    $2 => $3 after $(awk -v i="$i" 'BEGIN { print i / 10 }') s"
			return 0
		}
		sleep 0.1
	done
	sm expect "$1" "$2" "$3"
}

# sm_value EP KEY: the expiry time dracd answers for KEY (empty if none).
sm_value() {
	sm query "$1" "$2" | sed -n 's/.* => OK \([0-9][0-9]*\)$/\1/p'
}

echo "== options"
out=$("$DRACD" -f -S tcp:1 "$T/x.db" 2>&1); rc=$?
check "-S with an unknown kind is a usage error (64)" [ $rc -eq 64 ]
check "... naming the forms" grep -q "want unix:/path, inet:PORT" <<<"$out"
out=$("$DRACD" -f -S unix:relative "$T/x.db" 2>&1); rc=$?
check "-S unix: wants an absolute path" [ $rc -eq 64 ]
out=$("$DRACD" -f -S inet:localhost:25 "$T/x.db" 2>&1); rc=$?
check "-S inet: takes no host names" [ $rc -eq 64 ]
out=$("$DRACD" -f -S inet:127.0.0.1:0 "$T/x.db" 2>&1); rc=$?
check "-S inet: port 0 refused" [ $rc -eq 64 ]
out=$("$DRACD" -f -a "$T/none" - 2>&1); rc=$?
check "no map and no -S: usage error" [ $rc -eq 64 ]
check "... saying why" grep -q 'no -S socketmap' <<<"$out"
out=$("$DRACD" -n -a "$T/none" -S "unix:$SOCK" -S inet:8025 -T 90s - 2>&1)
check "-n with -S and no map" grep -q "^map none: socketmap only, ok" <<<"$out"
check "-n lists the endpoints" grep -q "^socketmap inet:8025, idle timeout 90 seconds" <<<"$out"

start_rpcbind || exit 1
mkdir -p "${SOCK%/*}"
mta_net_setup || exit 1
# More IPv6 clients on lo, with names for sendmail's reverse lookups.
for i in 11 12 13 20 21 31 32 33 36 37 38 39 40; do
	ip -6 addr add "2001:db8::$i/128" dev lo nodad || exit 1
	printf '2001:db8::%s\tclient6-%s.test.invalid\n' "$i" "$i" >>/etc/hosts
done

: >"$T/plain"
out=$("$DRACD" -f -a "$T/none" -S "unix:$T/plain" - 2>&1); rc=$?
check "a file in the way of the socket stops startup" [ $rc -eq 1 ]
check "... saying so" grep -q "exists and is not a socket" <<<"$out"
check "... and is left alone" [ -f "$T/plain" ]
check "... and dracd is not left registered" \
    eval "! rpcinfo -T udp 127.0.0.1 900101 1 >/dev/null 2>&1"

echo "== the protocol"
printf '127.0.0.0/8\n::1\n' >"$T/dracd.allow"
start_dracd -a "$T/dracd.allow" -e 1h -S "unix:$SOCK" -S "$V4" \
    -S "$V6" "$T/dracd.db" || exit 1
check "socket created, mode 0666" [ "$(stat -c %a "$SOCK")" = 666 ]
check "a second dracd will not take the socket" \
    eval "! '$DRACD' -f -a '$T/dracd.allow' -S 'unix:$SOCK' - >/dev/null 2>&1"
check "... which still serves" sm expect "unix:$SOCK" 192.0.2.1 "NOTFOUND "
for ep in "unix:$SOCK" "$V4" "$V6"; do
	check "$ep: unknown address NOTFOUND" sm expect "$ep" 192.0.2.1 "NOTFOUND "
done
"$DRACCTL" -q add 192.0.2.1 && "$DRACCTL" -q add 2001:db8::77
for ep in "unix:$SOCK" "$V4" "$V6"; do
	check "$ep: added IPv4 address OK <expiry>" sm expect "$ep" 192.0.2.1 "OK*"
done
v=$(sm_value "unix:$SOCK" 192.0.2.1)
check "the value is the expiry time in the map ($v)" \
    [ -n "$v" ] && [ "$v" = "$(map_value 192.0.2.1)" ]
for key in 2001:db8::77 2001:DB8::77 2001:db8:0:0:0:0:0:77 \
    ipv6:2001:db8:0:0:0:0:0:77 IPv6:2001:DB8:0:0:0:0:0:77 \
    IPV6:2001:db8::77; do
	check "IPv6 key form $key: OK" sm expect "unix:$SOCK" "$key" "OK*"
done
check "IPv4-mapped form: OK" sm expect "$V4" ::ffff:192.0.2.1 "OK*"
for key in unknown client5.test.invalid 192.0.2 192.0.2.1/32 ipv6:192.0.2.1 \
    2001:db8::78 "192.0.2.1 " ""; do
	check "key \"$key\": NOTFOUND" sm expect "unix:$SOCK" "$key" "NOTFOUND "
done
check "a request without a map name: PERM, connection kept" \
    sm rawkeep "unix:$SOCK" '14:192.0.2.1-drac,'
for raw in 'not a netstring' '12:drac 1.2.3.4;' '01:x,' ':,' \
    '5:drac\x00\x01\x02\x03'; do
	check "malformed $raw: PERM, connection closed" sm raw "unix:$SOCK" "$raw"
done
check "a request over 1024 bytes: PERM, closed" sm raw "$V4" "1025:$(head -c 1025 /dev/zero | tr '\0' a),"
check "declared 99999999999 bytes: PERM at once, closed" sm raw "$V4" '99999999999:'
check "malformed requests are logged" log_has "socketmap: a malformed netstring from"
check "a bad connection does not disturb another" sm survive "unix:$SOCK"
check "request sent byte by byte (unix)" sm bytewise "unix:$SOCK" 192.0.2.1
check "request sent byte by byte (tcp)" sm bytewise "$V4" 192.0.2.1
check "200 pipelined requests, 200 replies" sm pipeline "$V6" 200 192.0.2.254
check "a client that does not read: partial writes, every reply in order" \
    sm slowreader "unix:$SOCK" 50000 192.0.2.254
check "300 connections at once, each asked twice" sm many "$V4" 300 192.0.2.254
check "the connection limit: 512 served, the 513th closed" \
    sm maxconn "unix:$SOCK" 512
check "... and logged" log_has "already 512 connections (the most)"
kill -USR1 "$DRACD_PID"
check "SIGUSR1 logs socketmap stats" \
    wait_for "socketmap stats" "grep -q 'socketmap stats: .* lookups' '$T/dracd.log'"

echo "== expiry"
stop_dracd
start_dracd -a "$T/dracd.allow" -e "${TTL}s" -S "unix:$SOCK" -S "$V4" \
    "$T/dracd.db" || exit 1
check "entries reloaded from the map are answered" sm expect "$V4" 192.0.2.1 "OK*"
"$DRACCTL" -q add 192.0.2.50
exp=$(sm_value "$V4" 192.0.2.50)
echo "    192.0.2.50 expires at $exp"
sleep_until "$exp" -0.6
check "still OK just before its expiry time" sm expect "$V4" 192.0.2.50 "OK*"
sleep_until "$exp"
check "NOTFOUND within 1 s of its expiry time" sm_until "$V4" 192.0.2.50 "NOTFOUND " 1
check "... and gone from the map" eval "! map_has '$T/dracd.db' 192.0.2.50"
"$DRACCTL" -q add 192.0.2.51
check "an entry about to be revoked is OK" sm expect "$V4" 192.0.2.51 "OK*"
"$DRACCTL" -q del 192.0.2.51
check "revoked: NOTFOUND at once" sm expect "$V4" 192.0.2.51 "NOTFOUND "
stop_dracd
check "the UNIX socket is removed at exit" [ ! -e "$SOCK" ]

echo "== no map"
rm -f "$T/nomap.db"
start_dracd -a "$T/dracd.allow" -e "${TTL}s" -T 3s -S "unix:$SOCK" - || exit 1
check "started without a map" log_has "started: no map, socketmap only"
check "dracctl add works" "$DRACCTL" -q add 192.0.2.60
check "the address is found" sm expect "unix:$SOCK" 192.0.2.60 "OK*"
check "no map file and no writer child" \
    [ -z "$(cat "/proc/$DRACD_PID/task/$DRACD_PID/children")" ]
check "an idle connection is closed after -T 3s" sm idle "unix:$SOCK" 3 9
check "revoke without a map" eval "'$DRACCTL' -q add 192.0.2.61 && '$DRACCTL' -q del 192.0.2.61"
check "... NOTFOUND at once" sm expect "unix:$SOCK" 192.0.2.61 "NOTFOUND "
check "flush without a map" eval "'$DRACCTL' -q add 192.0.2.62 && [ \"\$('$DRACCTL' flush)\" = 'flushed 2 entries' ]"
check "... NOTFOUND at once" sm expect "unix:$SOCK" 192.0.2.62 "NOTFOUND "
"$DRACCTL" -q add 192.0.2.60
check "expiry without a map" sm_until "unix:$SOCK" 192.0.2.60 "NOTFOUND " $((TTL + 2))
check "dracd exits cleanly" stop_dracd

# ----------------------------------------------------------------------
# The MTAs.  One dracd for each, map file and socketmap both on, so the
# socketmap's answers can be compared with the file.

# same_session SERVER CLIENT KEY: refused, added, accepted, expired, all in
# one SMTP session; then dracd stopped: a temporary failure.
same_session() {
	local server=$1 client=$2
	echo "# $client via $server:$PORT"
	check "$client via $server: refused; dracctl add; accepted in the same session; refused again at expiry" \
	    "${SESSION[@]}" --port "$PORT" "$server" "$client" rcpt=refused \
	    "run=$DRACCTL -q ${3:-} add $client" rcpt=accepted \
	    "run=$SMC_SH value '$client' >$T/exp" "at=@$T/exp" \
	    "until=refused:2"
}

# revoke_session SERVER CLIENT [DRACCTL-ARGS]: added, accepted; dracctl del;
# refused at once, in the same session.
revoke_session() {
	local server=$1 client=$2
	check "$client via $server: accepted; dracctl del; refused in the same session" \
	    "${SESSION[@]}" --port "$PORT" "$server" "$client" \
	    "run=$DRACCTL -q ${3:-} add $client --ttl 600" rcpt=accepted \
	    "run=$DRACCTL -q ${3:-} del $client" rcpt=refused
}

# The expiry time dracd answers for a key, for smtp-session.py's at=.
cat >"$T/smc.sh" <<EOF
#!/bin/sh
# value KEY: the expiry time dracd answers for KEY over the socketmap.
"${SMC[0]}" "${SMC[1]}" query "unix:$SOCK" "\$2" |
    sed -n 's/.* => OK \([0-9][0-9]*\)\$/\1/p' | grep .
EOF
SMC_SH="sh $T/smc.sh"

# dracd_down SERVER CLIENT [DRACCTL-ARGS [NEW]]: dracd stopped, the MTA
# answers 4xx, never 250, in an open session, and in a new one NEW (temp,
# or refused where the MTA takes an unreachable map for an empty one);
# started again, it answers.
dracd_down() {
	local server=$1 client=$2 new=${4:-temp} why=""
	[ "$new" = refused ] && why=" (FEATURE(drac) takes an unreachable map for an empty one)"
	"$DRACCTL" -q ${3:-} add "$client"
	check "$client via $server: relayed while dracd runs; dracd stopped: a temporary failure in the same session" \
	    "${SESSION[@]}" --port "$PORT" "$server" "$client" rcpt=accepted \
	    "run=kill -TERM $DRACD_PID; sleep 1" rcpt=temp
	kill -TERM "$DRACD_PID" 2>/dev/null
	wait "$DRACD_PID"
	check "$client via $server: dracd stopped: a new session gets $new, never a relay$why" \
	    "${SESSION[@]}" --port "$PORT" "$server" "$client" "rcpt=$new" "rcpt=$new"
	start_dracd "${MTA_DRACD[@]}" || return 1
	check "$client via $server: dracd back (without a map: entry gone): refused, not a failure" \
	    "${SESSION[@]}" --port "$PORT" "$server" "$client" rcpt=refused
}

echo "== Postfix"
PF=$T/postfix
PFC=$PF/etc
postfix_config() {
	local P=(postconf -c "$PFC") inet_rule unix_rule
	postfix_base_config || return 1
	# Postfix's own directory, as Postfix makes it; dracd (root) adds
	# its socket there.
	mkdir -p "$PF/spool/private" || return 1
	chown postfix "$PF/spool/private" && chmod 700 "$PF/spool/private"
	# The administrator's file, as shipped: private/dracd in the spool.
	cat "$TOP/contrib/postfix/main-socketmap.cf" >>"$PFC/main.cf" || return 1
	unix_rule="permit_mynetworks,check_client_access,socketmap:unix:$SOCK:drac,reject_unauth_destination"
	inet_rule="permit_mynetworks,check_client_access,socketmap:$V4:drac,reject_unauth_destination"
	# 2525: chrooted smtpd, the contrib file (private/dracd)
	# 2526: smtpd not chrooted, an absolute UNIX socket path
	# 2527: chrooted smtpd, the socketmap over TCP
	"${P[@]}" -M "127.0.0.1:2525/inet=127.0.0.1:2525 inet n - y - - smtpd" \
	    "[::1]:2525/inet=[::1]:2525 inet n - y - - smtpd" \
	    "127.0.0.1:2526/inet=127.0.0.1:2526 inet n - n - - smtpd -o smtpd_relay_restrictions=$unix_rule" \
	    "[::1]:2526/inet=[::1]:2526 inet n - n - - smtpd -o smtpd_relay_restrictions=$unix_rule" \
	    "127.0.0.1:2527/inet=127.0.0.1:2527 inet n - y - - smtpd -o smtpd_relay_restrictions=$inet_rule" \
	    "[::1]:2527/inet=[::1]:2527 inet n - y - - smtpd -o smtpd_relay_restrictions=$inet_rule" ||
	    return 1
	postfix -c "$PFC" check
}

start_postfix() {
	local dir p
	dir=$(postconf -c "$PFC" -h daemon_directory) || return 1
	"$dir/master" -c "$PFC" -s >>"$PF/master.out" 2>&1 &
	PIDS+=("$!")
	for p in 2525 2526 2527; do
		wait_for "postfix on $p" "(exec 3<>/dev/tcp/127.0.0.1/$p)" &&
		    wait_for "postfix on ::1 $p" "(exec 3<>/dev/tcp/::1/$p)" ||
		    return 1
	done
}

if [ -x /usr/sbin/postfix ]; then
	MTA_DRACD=(-a "$T/dracd.allow" -e "${TTL}s" -S "unix:$SOCK" -S "$V4"
	    -S "unix:$PF/spool/private/dracd" -)
	check "private Postfix configured with contrib/postfix/main-socketmap.cf" postfix_config
	start_dracd "${MTA_DRACD[@]}" || exit 1
	check "Postfix listens" start_postfix
	check "postmap -q asks dracd over the socketmap" \
	    eval "'$DRACCTL' -q add 192.0.2.70 && [ \"\$(postmap -c '$PFC' -q 192.0.2.70 socketmap:unix:$SOCK:drac)\" = \"\$(sm_value unix:$SOCK 192.0.2.70)\" ]"
	i=0
	for PORT in 2525 2526 2527; do
		i=$((i + 1))
		same_session 127.0.0.1 "127.0.0.$((10 + i))"
		same_session ::1 "2001:db8::$((10 + i))" "-s ::1"
	done
	revoke_session 127.0.0.1 127.0.0.21
	revoke_session ::1 2001:db8::21 "-s ::1"
	PORT=2525
	dracd_down 127.0.0.1 127.0.0.20
	PORT=2527
	dracd_down ::1 2001:db8::20 "-s ::1"
	check "Postfix logged the lookups that failed as temporary" \
	    grep -q 'socketmap:unix:private/dracd:drac lookup error' "$PF/maillog"
	stop_dracd
else
	not_ok "Postfix is not installed (make test-deps)"
fi

echo "== sendmail"


if [ -x "$SMBIN" ]; then
	PORT=2528
	mkdir -p "$SMD/mqueue"
	chmod 700 "$SMD/mqueue"
	printf 'hosts\tfiles\naliases\tfiles\n' >"$SMD/service.switch"
	printf 'postmaster: root\n' >"$SMD/aliases"
	: >"$SMD/relay-domains"
	: >"$SMD/local-host-names"
	: >"$SMD/trusted-users"
	MTA_DRACD=(-a "$T/dracd.allow" -e "${TTL}s" -S "unix:$SOCK" -S "$V4" -)
	start_dracd "${MTA_DRACD[@]}" || exit 1
	feature=$(sed "s|/run/dracd.socketmap|$SOCK|" \
	    "$TOP/contrib/sendmail/drac-socketmap.mc")
	check "drac-socketmap.cf builds from contrib/sendmail/drac-socketmap.mc" \
	    sendmail_mc drac-socketmap "$feature"
	check "... and asks dracd's socket" \
	    test "$(grep '^Kdrac' "$SMD/drac-socketmap.cf")" = "Kdrac socket unix:$SOCK"
	check "drac-socketmap-inet.cf builds (socket inet:PORT@127.0.0.1)" \
	    sendmail_mc drac-socketmap-inet "FEATURE(\`drac', \`socket inet:$SMPORT@127.0.0.1')dnl"
	classic=$(sed "s|/run/dracd.socketmap|$SOCK|" \
	    "$TOP/contrib/sendmail/drac-socketmap-classic.mc")
	check "drac-socketmap-classic.cf builds from contrib/sendmail/drac-socketmap-classic.mc" \
	    sendmail_mc drac-socketmap-classic "" "$classic"
	check "... and asks dracd's socket, marking failures" \
	    test "$(grep '^Kdrac' "$SMD/drac-socketmap-classic.cf")" = "Kdrac socket -T<TMPF> unix:$SOCK"
	i=0
	for cf in drac-socketmap drac-socketmap-classic drac-socketmap-inet; do
		i=$((i + 1))
		echo "# sendmail with $cf.cf"
		check "sendmail ($cf.cf) listens on 127.0.0.1 and ::1" start_sendmail "$cf"
		same_session 127.0.0.1 "127.0.0.$((30 + i))"
		same_session ::1 "2001:db8::$((30 + i))" "-s ::1"
		revoke_session 127.0.0.1 "127.0.0.$((35 + i))"
		revoke_session ::1 "2001:db8::$((35 + i))" "-s ::1"
		case $cf in
		drac-socketmap)
			dracd_down 127.0.0.1 127.0.0.40 "" refused
			dracd_down ::1 2001:db8::40 "-s ::1" refused ;;
		drac-socketmap-classic)
			dracd_down 127.0.0.1 127.0.0.39 "" temp
			dracd_down ::1 2001:db8::39 "-s ::1" temp ;;
		esac
		stop_sendmail
	done
	stop_dracd
	cp -r "$SMD" "$T/sendmail"
else
	not_ok "sendmail is not unpacked (make test-deps)"
fi

finish
