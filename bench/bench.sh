#!/bin/bash
# bench/bench.sh: `make bench`.  Runs rpcbind and dracd in private
# namespaces (tests/lib.sh), drives them with bench/dracload over loopback
# and prints one table: null RPC as the platform reference, adds by raw
# RPC, dracconn/dracsend and dracauth() with a small table and with
# 1,000,000 live entries, adds while 100,000 entries expire at once,
# memory, restart time, map size, and the issue's targets as ratios;
# then socketmap lookups (dracd -S) over 1 and over many connections.
#
# Knobs (environment): BENCH_SECS seconds per row (3), BENCH_ENTRIES live
# entries (1000000), BENCH_EXPIRING entries expiring at once (100000),
# and BENCH_SYNC_MS dracd -y (dracd's default, 1000).
#
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"

SECS=${BENCH_SECS:-3}
ROUNDS=${BENCH_ROUNDS:-3}
ROUND_SECS=$(awk -v s="$SECS" -v r="$ROUNDS" 'BEGIN { printf "%.3f", s / r }')
ENTRIES=${BENCH_ENTRIES:-1000000}
EXPIRING=${BENCH_EXPIRING:-100000}
SYNC_MS=${BENCH_SYNC_MS:-1000}
LOAD=$TOP/bench/dracload
SMALL=10000
SMALL_BASE=172.16.0.1
LIVE_BASE=10.0.0.1
EXP1_BASE=10.128.0.1
EXP2_BASE=10.130.0.1

note() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "make bench must run as root (it starts rpcbind" \
    "and dracd in private namespaces, like make check)"
enter_namespace "$@"
set -o pipefail

# start_dracd passes -d (a log line per add): the wrapper drops it.
DRACD_WRAPPER="sh $TOP/bench/nodebug.sh"
MAP=$T/map.db
DRACD_ARGS=(-a "$T/absent.allow" -e 4h -y "$SYNC_MS")
LOADAVG0=$(cut -d' ' -f1-3 /proc/loadavg)

now_ms() { date +%s%3N; }

# val FILE KEY: a value from a dracload result line.
val() {
	awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) {
		print substr($i, length(k) + 2); exit } }' "$1"
}

writer_pid() {
	local w=""
	read -r w _ <"/proc/$DRACD_PID/task/$DRACD_PID/children" || true
	[ -n "$w" ] || die "dracd $DRACD_PID has no map guardian child"
	WRITER_PID=$w
}

# measure NAME MODE THREADS [dracload options]: one row into $T/r.NAME.
measure() {
	local name=$1 mode=$2 threads=$3
	shift 3
	"$LOAD" "$mode" -c "$threads" -s "$SECS" -p "$DRACD_PID,$WRITER_PID" \
	    "$@" >"$T/r.$name" 2>>"$T/dracload.log" ||
	    die "dracload $mode failed (see $T/dracload.log)"
}

# measure_rows PREFIX [dracload options]: every row of $ROWS, in $ROUNDS
# rounds of $SECS / $ROUNDS seconds each, the rows taking turns: the
# machine's drift (a shared VM moves by tens of percent within a minute)
# then falls on null and add rows alike.  Each row keeps its round with the
# median rate.
measure_rows() {
	local prefix=$1 row r name
	shift
	for r in $(seq 1 "$ROUNDS"); do
		for row in $ROWS; do
			name=$prefix.${row/:/.}
			SECS=$ROUND_SECS measure "$name.round$r" "${row%:*}" \
			    "${row#*:}" "$@"
		done
	done
	for row in $ROWS; do
		name=$prefix.${row/:/.}
		for r in $(seq 1 "$ROUNDS"); do
			echo "$(val "$T/r.$name.round$r" rate) $T/r.$name.round$r"
		done | sort -n | awk -v m=$(((ROUNDS + 1) / 2)) 'NR == m { print $2 }' |
		    xargs -I{} cp {} "$T/r.$name"
	done
}

# start_timed: starts dracd on $MAP and sets UP_MS to the wall-clock
# millisecond an add first succeeded (dracload waitup polls every ms).
start_timed() {
	local up
	"$LOAD" waitup -a "$LIVE_BASE" -s 120 >"$T/up" & up=$!
	start_dracd "${DRACD_ARGS[@]}" "$MAP" || die "dracd did not start"
	wait "$up" || die "dracd did not serve adds"
	UP_MS=$(cat "$T/up")
	writer_pid
}

kb() { awk -v k="$2" '$1 == k":" { print $2 }' "$1"; }

# memory NAME: VmRSS and Pss (kB) of dracd and its writer.
memory() {
	{
		echo "dracd_rss=$(kb "/proc/$DRACD_PID/status" VmRSS)"
		echo "dracd_pss=$(kb "/proc/$DRACD_PID/smaps_rollup" Pss)"
		echo "writer_rss=$(kb "/proc/$WRITER_PID/status" VmRSS)"
		echo "writer_pss=$(kb "/proc/$WRITER_PID/smaps_rollup" Pss)"
	} | tr '\n' ' ' >"$T/m.$1"
}

# warm_up LIMIT: renews live entries with four notifiers a second at a
# time, at most LIMIT times, until dracd's CPU per add is back near the
# small table's.  (Until dracd forked its map writer before loading the
# table, the first adds after a start paid for copy-on-write faults.)
warm_up() {
	local goal cpu
	goal=$(awk -v c="$(val "$T/r.small.raw.4" cpu1)" \
	    'BEGIN { printf "%.1f", 1.3 * c + 5 }')
	WARM_S=0
	while [ "$WARM_S" -lt "$1" ]; do
		WARM_S=$((WARM_S + 1))
		"$LOAD" raw -c 4 -s 1 -a "$LIVE_BASE" -n "$ENTRIES" \
		    -p "$DRACD_PID,$WRITER_PID" >"$T/r.warm.$WARM_S" \
		    2>>"$T/dracload.log" || die "dracload failed"
		cpu=$(val "$T/r.warm.$WARM_S" cpu1)
		awk -v c="$cpu" -v g="$goal" 'BEGIN { exit !(c <= g) }' && break
	done
}

sleep_until_ms() {
	local left=$(($1 - $(now_ms)))
	[ "$left" -le 0 ] || sleep "$(awk -v l="$left" 'BEGIN { printf "%.3f", l / 1000 }')"
}

ROWS="null:1 null:4 rawnull:1 rawnull:4 raw:1 raw:4 send:1 send:4 auth:1 auth:4"

start_rpcbind || die "rpcbind did not start"

# --- a small table -----------------------------------------------------
note "small table: $ROUNDS rounds, $SECS s per row"
rm -f "$MAP"
start_dracd "${DRACD_ARGS[@]}" -i "$MAP" || die "dracd did not start"
writer_pid
memory empty
measure_rows small -a "$SMALL_BASE" -n "$SMALL"
stop_dracd || die "dracd did not stop cleanly"

# --- a million live entries --------------------------------------------
note "building a map of $ENTRIES entries"
rm -f "$MAP"
"$LOAD" mkmap -a "$LIVE_BASE" -n "$ENTRIES" -x $(($(date +%s) + 4 * 3600)) \
    "$MAP" >"$T/mkmap" || die "mkmap failed"
note "starting dracd on it"
t0=$(now_ms)
start_timed
FIRST_START_MS=$((UP_MS - t0))
memory loaded
warm_up 15
note "$ENTRIES live entries: $ROUNDS rounds, $SECS s per row"
measure_rows big -a "$LIVE_BASE" -n "$ENTRIES"
memory big
MAP_BYTES=$(stat -c %s "$MAP")

note "restarting"
t0=$(now_ms)
stop_dracd || die "dracd did not stop cleanly"
t1=$(now_ms)
start_timed
RESTART_MS=$((UP_MS - t0))
STOP_MS=$((t1 - t0))

# --- mass expiry -------------------------------------------------------
# Two groups are added to the map, each expiring within one second, and
# dracd restarted on it.  Adds renew live entries throughout: one
# notifier around the first group's second, four around the second's.
# The expiry is over when dracd's stats (SIGUSR1) count the group gone.
stop_dracd || die "dracd did not stop cleanly"
RUN_S=5.5
E1=$(($(date +%s) + RESTART_MS / 1000 + 10))
E2=$((E1 + 8))
note "expiry: $EXPIRING entries at $(date -d "@$E1" +%T), $EXPIRING more at $(date -d "@$E2" +%T)"
"$LOAD" mkmap -a "$EXP1_BASE" -n "$EXPIRING" -x "$E1" "$MAP" >/dev/null ||
    die "mkmap failed"
"$LOAD" mkmap -a "$EXP2_BASE" -n "$EXPIRING" -x "$E2" "$MAP" >/dev/null ||
    die "mkmap failed"
start_timed
left=$((E1 * 1000 - 1500 - $(now_ms)))
[ "$left" -gt 0 ] || die "dracd took too long to start for the expiry phase"
"$LOAD" raw -c 4 -s "$(awk -v l="$left" 'BEGIN { print l / 1000 }')" \
    -a "$LIVE_BASE" -n "$ENTRIES" >/dev/null 2>>"$T/dracload.log"

# burst_ms N: how long dracd's N-th mass expiry took, from its log line
# ("expiry: COUNT entries removed in MS ms").  Read after the run: asking
# dracd while it runs (signals, a shell polling its log) would load the
# two CPUs the measurement shares.
burst_ms() {
	sed -n 's/.*expiry: [0-9]* entries removed in \([0-9]*\) ms.*/\1/p' \
	    "$T/dracd.log" | sed -n "$1p"
}

for i in 1 2; do
	e=E$i
	start=$((${!e} * 1000))
	c=$([ $i = 1 ] && echo 1 || echo 4)
	sleep_until_ms $((start - 1500))
	"$LOAD" raw -c "$c" -s "$RUN_S" -a "$LIVE_BASE" -n "$ENTRIES" \
	    -p "$DRACD_PID,$WRITER_PID" -S "$T/samples.$i" \
	    >"$T/r.expiry.$i" 2>>"$T/dracload.log" || die "dracload failed"
	took=$(burst_ms $i)
	EXPIRY_SEEN=1
	[ -n "$took" ] || { took=3900; EXPIRY_SEEN=0; }
	EXPIRY_END=$((start + took))
	"$LOAD" window "$T/samples.$i" "$start" "$EXPIRY_END" >"$T/w.$i"
	echo "took=$took seen=$EXPIRY_SEEN" >>"$T/w.$i"
done
stop_dracd || die "dracd did not stop cleanly"
LEFT=$(db5.3_dump -p "$MAP" | grep -c -E '^ 10\.(128|129|130|131)\.') || true
rm -f "$MAP" "$T/samples.1" "$T/samples.2"
LOADAVG1=$(cut -d' ' -f1-3 /proc/loadavg)

# --- socketmap lookups --------------------------------------------------
# dracd -S on the small table, reloaded from a map: clients ask for
# addresses among twice as many as there are, so half are found.  Each
# client keeps one connection open, as an smtpd or a sendmail child does.
SM_ROWS="unix:1 unix:4 unix:32 inet:1 inet:32"
SM_UNIX=unix:$T/socketmap.sock
SM_INET=inet:127.0.0.1:8025
note "socketmap: $SECS s per row"
rm -f "$MAP"
"$LOAD" mkmap -a "$SMALL_BASE" -n "$SMALL" -x $(($(date +%s) + 4 * 3600)) \
    "$MAP" >/dev/null || die "mkmap failed"
start_dracd "${DRACD_ARGS[@]}" -S "$SM_UNIX" -S "$SM_INET" "$MAP" ||
    die "dracd did not start"
writer_pid
for row in $SM_ROWS; do
	ep=$SM_UNIX
	[ "${row%:*}" = inet ] && ep=$SM_INET
	measure "sm.${row/:/.}" socketmap "${row#*:}" -u "$ep" \
	    -a "$SMALL_BASE" -n $((2 * SMALL))
done
stop_dracd || die "dracd did not stop cleanly"
rm -f "$MAP"

# --- the table ---------------------------------------------------------
label() {
	case $1 in
	null) echo "null RPC, reused libtirpc client" ;;
	rawnull) echo "null RPC, raw UDP" ;;
	raw) echo "add, raw RPC on one UDP socket" ;;
	send) echo "add, dracconn + dracsend" ;;
	auth) echo "add, dracauth() per call" ;;
	esac
}

cells() {
	local f=$T/r.$1
	printf '%8.0f %6.0f %6.0f %7.0f %5.0f/%-3.0f' "$(val "$f" rate)" \
	    "$(val "$f" p50)" "$(val "$f" p99)" "$(val "$f" max)" \
	    "$(val "$f" cpu1)" "$(val "$f" cpu2)"
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", 100 * a / b }'; }
grade() { awk -v m="$1" -v op="$2" -v t="$3" 'BEGIN {
	ok = op == ">=" ? m >= t : op == "<=" ? m <= t : m < t
	print ok ? "PASS" : "FAIL" }'; }

us_ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
secs() { awk -v m="$1" 'BEGIN { printf "%.2f", m / 1000 }'; }

{
	lost=0
	for f in "$T"/r.*; do
		lost=$((lost + $(val "$f" errors) + $(val "$f" lost)))
	done
	printf 'drac bench: %s, %s CPUs, loopback; load average %s before, %s after\n' \
	    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$LOADAVG0" "$LOADAVG1"
	printf 'dracd -y %s -e 4h; each row the median of %s rounds of %s s, the rows taking turns;\n' \
	    "$SYNC_MS" "$ROUNDS" "$(awk -v s="$ROUND_SECS" 'BEGIN { print s + 0 }')"
	printf 'latency in microseconds; cpu d/g: CPU us per call in dracd (d) and its map guardian\n'
	printf 'child (g), from /proc/PID/schedstat; failed calls: %d\n\n' "$lost"
	printf '%-36s %-39s %s\n' "" "small table (~$SMALL live)" \
	    "$(printf "%'d" "$ENTRIES") live entries"
	printf '%-36s %8s %6s %6s %7s %-9s %8s %6s %6s %7s %s\n' "" \
	    calls/s p50 p99 max "cpu d/g" calls/s p50 p99 max "cpu d/g"
	for row in $ROWS; do
		k=${row/:/.}
		printf '%-33s x%-2s %s %s\n' "$(label "${row%:*}")" "${row#*:}" \
		    "$(cells "small.$k")" "$(cells "big.$k")"
	done
	w1=$T/r.warm.1
	wn=$T/r.warm.$WARM_S
	printf 'after the start with %s entries, raw x4, second 1: %s adds/s, p99 %s us, cpu d/g %s/%s;\n' \
	    "$(printf "%'d" "$ENTRIES")" "$(val "$w1" rate)" "$(val "$w1" p99)" \
	    "$(val "$w1" cpu1)" "$(val "$w1" cpu2)"
	printf '  second %s: %s adds/s, cpu d/g %s/%s (the rows above run after)\n\n' \
	    "$WARM_S" "$(val "$wn" rate)" "$(val "$wn" cpu1)" "$(val "$wn" cpu2)"

	printf 'mass expiry: %s entries expire in the same second beside %s live ones\n' \
	    "$(printf "%'d" "$EXPIRING")" "$(printf "%'d" "$ENTRIES")"
	printf '%-36s %-34s %s\n' "" "adds begun while it ran" \
	    "the other adds of the run"
	printf '%-36s %7s %8s %6s %6s %7s  %8s %6s %6s %7s\n' "" took adds \
	    p50 p99 max adds p50 p99 max
	for i in 1 2; do
		f=$T/w.$i
		took=$(val "$f" took)
		[ "$(val "$f" seen)" = 1 ] || took=">$took"
		printf '%-33s x%-2s %5s ms %8s %6.0f %6.0f %7.0f  %8s %6.0f %6.0f %7.0f\n' \
		    "add, raw RPC on one UDP socket" "$([ $i = 1 ] && echo 1 || echo 4)" \
		    "$took" "$(val "$f" win_n)" "$(val "$f" win_p50)" \
		    "$(val "$f" win_p99)" "$(val "$f" win_max)" "$(val "$f" out_n)" \
		    "$(val "$f" out_p50)" "$(val "$f" out_p99)" "$(val "$f" out_max)"
	done
	printf '(took: from the expiry second until dracd logged the group removed; expired entries left in the map: %s of %s)\n\n' \
	    "$LEFT" $((2 * EXPIRING))

	declare -A mem
	for f in loaded big empty; do
		read -r -a kvs <"$T/m.$f"
		for kv in "${kvs[@]}"; do
			mem[$f.${kv%=*}]=${kv#*=}
		done
	done
	printf 'memory at %s live entries       after the reload     after the rows\n' \
	    "$(printf "%'d" "$ENTRIES")"
	printf '  dracd event loop  VmRSS / Pss     %8s / %-8s  %8s / %-8s\n' \
	    "$(mb "${mem[loaded.dracd_rss]}")" "$(mb "${mem[loaded.dracd_pss]}")" \
	    "$(mb "${mem[big.dracd_rss]}")" "$(mb "${mem[big.dracd_pss]}")"
	printf '  map guardian      VmRSS / Pss     %8s / %-8s  %8s / %-8s\n' \
	    "$(mb "${mem[loaded.writer_rss]}")" "$(mb "${mem[loaded.writer_pss]}")" \
	    "$(mb "${mem[big.writer_rss]}")" "$(mb "${mem[big.writer_pss]}")"
	per_entry=$(awk -v k="${mem[big.dracd_rss]}" -v n="$ENTRIES" 'BEGIN { printf "%.0f", k * 1024 / n }')
	incr=$(awk -v k="${mem[big.dracd_rss]}" -v e="${mem[empty.dracd_rss]}" -v n="$ENTRIES" 'BEGIN { printf "%.0f", (k - e) * 1024 / n }')
	both=$(awk -v a="${mem[big.dracd_pss]}" -v b="${mem[big.writer_pss]}" -v n="$ENTRIES" 'BEGIN { printf "%.0f", (a + b) * 1024 / n }')
	printf '  per live entry: dracd VmRSS %s B (%s B above the empty daemon); dracd + guardian Pss %s B\n' \
	    "$per_entry" "$incr" "$both"
	printf '  (VmRSS counts the pages of the map file dracd has read through its mapping of it;\n'
	printf '  the guardian is forked before the table is loaded: it shares none of it)\n\n'

	printf 'start on a %s-entry map built offline, until an add succeeds:  %s s\n' \
	    "$(printf "%'d" "$ENTRIES")" "$(secs "$FIRST_START_MS")"
	printf 'restart with %s live entries, SIGTERM until an add succeeds: %s s (stop %s s, start %s s)\n' \
	    "$(printf "%'d" "$ENTRIES")" "$(secs "$RESTART_MS")" \
	    "$(secs "$STOP_MS")" "$(secs $((RESTART_MS - STOP_MS)))"
	printf 'map file after the %s-entry rows: %s, %s B per live entry\n\n' \
	    "$(printf "%'d" "$ENTRIES")" \
	    "$(awk -v b="$MAP_BYTES" 'BEGIN { printf "%.1f MB", b / 1048576 }')" \
	    "$(awk -v b="$MAP_BYTES" -v n="$ENTRIES" 'BEGIN { printf "%.0f", b / n }')"

	printf 'socketmap lookups (dracd -S), %s live entries, half of the keys found;\n' \
	    "$(printf "%'d" "$SMALL")"
	printf 'one connection per client, kept open\n'
	printf '%-36s %8s %6s %6s %7s %s\n' "" calls/s p50 p99 max "cpu d/g"
	for row in $SM_ROWS; do
		printf '%-33s x%-2s %s\n' "lookup over $([ "${row%:*}" = unix ] &&
		    echo "a UNIX socket" || echo "TCP, 127.0.0.1")" "${row#*:}" \
		    "$(cells "sm.${row/:/.}")"
	done
	echo

	printf '%-58s %9s   %-9s\n' "targets (issue 6), at $(printf "%'d" "$ENTRIES") live entries" measured target
	# target WHAT MEASURED OP LIMIT UNIT
	target() {
		printf '  %-56s %7s %-2s  %-9s %s\n' "$1" "$2" "$5" "$3 $4 $5" \
		    "$(grade "$2" "$3" "$4")"
	}
	for c in 1 4; do
		t=$([ $c = 1 ] && echo 70 || echo 50)
		target "add/null rate x$c: dracsend / libtirpc null" \
		    "$(pct "$(val "$T/r.big.send.$c" rate)" "$(val "$T/r.big.null.$c" rate)")" \
		    ">=" "$t" %
		target "add/null rate x$c: raw add / raw null" \
		    "$(pct "$(val "$T/r.big.raw.$c" rate)" "$(val "$T/r.big.rawnull.$c" rate)")" \
		    ">=" "$t" %
	done
	for i in 1 2; do
		c=$([ $i = 1 ] && echo 1 || echo 4)
		target "p99 add latency during the mass expiry, x$c" \
		    "$(us_ms "$(val "$T/w.$i" win_p99)")" "<" 2 ms
		target "max add latency during the mass expiry, x$c" \
		    "$(us_ms "$(val "$T/w.$i" win_max)")" "<" 20 ms
	done
	target "dracd (event loop) VmRSS per live entry" "$per_entry" "<=" 200 B
	target "dracd + guardian Pss per live entry" "$both" "<=" 200 B
	target "restart until serving" "$(secs "$RESTART_MS")" "<" 3 s
} | tee "$T/table.txt"
