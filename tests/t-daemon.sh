#!/bin/bash
# Running as a daemon: the parent exits 0 only once dracd serves, and
# non-zero with the reason otherwise; the pidfile; the statistics line.
source "$(dirname "$0")/lib.sh"
enter_namespace "$@"

MAP=$T/map.db
PIDF=$T/dracd.pid

start_rpcbind || exit 1
out=$("$DRACD" -P "$PIDF" -a "$TOP/dracd.allow" "$T/no/such/dir/map.db" 2>&1); rc=$?
check "daemon that cannot start: parent exits non-zero ($rc)" [ $rc -ne 0 ]
check "with the reason on stderr" grep -q "no/such/dir" <<<"$out"
check "and no pidfile" [ ! -e "$PIDF" ]

"$DRACD" -P "$PIDF" -a "$TOP/dracd.allow" "$MAP"; rc=$?
check "daemon: parent exits 0" [ $rc -eq 0 ]
check "registered by the time the parent returns" rpcinfo -T udp 127.0.0.1 900101 1
pid=$(cat "$PIDF" 2>/dev/null)
check "pidfile names the running daemon ($pid)" [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dracd ]
check "the daemon is detached (own session)" [ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ]
check "and serves" "$DRACCTL" -q add 192.0.2.1
kill -TERM "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "SIGTERM stops it" bash -c "! kill -0 $pid 2>/dev/null"
check "pidfile removed" [ ! -e "$PIDF" ]
check "unregistered" bash -c "! rpcinfo 127.0.0.1 | grep -q 900101"

start_dracd -a "$TOP/dracd.allow" "$MAP" || exit 1
"$DRACCTL" -q add 192.0.2.2
"$DRACCTL" -q add 192.0.2.2
"$DRACCTL" add 0.0.0.0 2>/dev/null
kill -USR1 "$DRACD_PID"
wait_for "stats" "grep -q 'stats:' '$T/dracd.log'"
line=$(grep 'stats:' "$T/dracd.log")
echo "$line"
check "SIGUSR1 logs live entries" grep -q "stats: 2 live entries" <<<"$line"
check "and adds, renewals, refusals" grep -q "1 adds, 1 renewals, 0 revoked, 0 expired, 0 denied, 1 refused, 0 errors" <<<"$line"
stop_dracd

echo "== the example init script, installed"
make -s -C "$TOP" install PREFIX="$T/prefix" >"$T/install.log" 2>&1
INIT=$T/prefix/share/doc/drac/examples/dracd.init
check "init script installed with the prefix filled in" grep -q "^DAEMON=$T/prefix/sbin/dracd$" "$INIT"
check "systemd unit installed with the prefix filled in" \
    grep -q "^ExecStart=$T/prefix/sbin/dracd -P /run/dracd.pid$" "$T/prefix/share/doc/drac/examples/dracd.service"
export PIDFILE=$T/init.pid DAEMON_ARGS="-a $TOP/dracd.allow $T/init.db"
check "init script: start" "$INIT" start
check "init script: status" "$INIT" status
check "init script: dracd serves" "$DRACCTL" -q add 192.0.2.3
check "init script: reload" "$INIT" reload
check "init script: stop" "$INIT" stop
check "init script: status after stop says so" bash -c "! '$INIT' status"
check "init script: unregistered" bash -c "! rpcinfo 127.0.0.1 | grep -q 900101"

finish
