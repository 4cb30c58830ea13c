# shellcheck shell=bash
# tests/mta-lib.sh: shared by t-postfix.sh and t-sendmail.sh; source it
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
