#!/bin/bash
# Faults: rpcbind restarted, a full disk, a flood from a stranger.
source "$(dirname "$0")/lib.sh"
enter_namespace "$@"

MAP=$T/map.db
log_count() { grep -c -- "$1" "$T/dracd.log"; }

start_rpcbind || exit 1
start_dracd -a "$TOP/dracd.allow" "$MAP" || exit 1

echo "== rpcbind restarted without its registrations"
kill -9 "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null
rm -f /run/rpcbind/*.xdr
rpcbind -f &
PIDS[0]=$!
wait_for "rpcbind" 'rpcinfo -T udp 127.0.0.1 100000 4'
check "registrations are gone at first" bash -c "! rpcinfo 127.0.0.1 | grep -q 900101"
wait_for "re-registration" 'rpcinfo -T udp 127.0.0.1 900101 1' 8
check "dracd registered again by itself" rpcinfo -T udp 127.0.0.1 900101 2
check "re-registration logged" grep -q "registered again" "$T/dracd.log"
check "clients work again" "$DRACCTL" -q add 192.0.2.1
check "IPv6 clients too" "$DRACCTL" -q -s ::1 add 2001:db8::1
stop_dracd

echo "== disk full"
mkdir -p "$T/small"
mount -t tmpfs -o size=512k tmpfs "$T/small"
start_dracd -a "$TOP/dracd.allow" "$T/small/map.db" || exit 1
"$DRACCTL" -q add 192.0.2.2
dd if=/dev/zero of="$T/small/filler" bs=4k 2>/dev/null
t0=$(date +%s)
out=$(python3 "$TOP/tests/rpcload.py" 3000 10.9.0.1)
windows=$(( ($(date +%s) - t0) / 10 + 1 ))
echo "full disk: $out"
fails=$(sed -n 's/.*2=\([0-9]*\).*/\1/p' <<<"$out")
check "adds on a full disk fail with ADD_SYSERR ($out)" [ "${fails:-0}" -gt 1000 ]
check "no add on a full disk answered wrongly or not at all" \
    bash -c "! grep -Eq '(^| )(1|3|none)=' <<<'$out'"
lines=$(log_count "cannot write [0-9]* addresses")
check "errors logged without flooding ($lines lines in $windows 10 s windows)" \
    [ "$lines" -ge 1 -a "$lines" -le $((windows * 10)) ]
check "still answering on a full disk" rpcinfo -T udp 127.0.0.1 900101 1
rm -f "$T/small/filler"
check "recovers once space is freed" "$DRACCTL" -q add 192.0.2.3
check "new entry in the map" map_has "$T/small/map.db" 192.0.2.3
check "entry from before the disk filled is intact" map_has "$T/small/map.db" 192.0.2.2
check "map verifies" db5.3_verify -q "$T/small/map.db"
# A commit that failed half-way was undone: the file is as it was.
check "failed commits were undone in the file ($(log_count "undid") logged)" \
    [ "$(log_count "undid [1-9][0-9]* page writes of a failed commit")" -ge 1 ]
stop_dracd
umount "$T/small"

echo "== flood from a notifier that is not allowed"
printf '10.0.0.0/8\n' > "$T/stranger.allow"
start_dracd -a "$T/stranger.allow" "$MAP" || exit 1
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$DRACD_PID/status")
entries0=$(map_dump "$MAP" | wc -l)
t0=$(date +%s)
out=$(python3 "$TOP/tests/rpcload.py" 5000 192.0.2.100)
windows=$(( ($(date +%s) - t0) / 10 + 1 ))
check "every flooded request denied ($out)" [ "$out" = "1=5000" ]
rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$DRACD_PID/status")
check "memory flat under the flood ($rss0 kB -> $rss1 kB)" [ $((rss1 - rss0)) -lt 1024 ]
lines=$(log_count "denied:")
check "denials logged without flooding ($lines lines in $windows 10 s windows)" \
    [ "$lines" -le $((windows * 10)) ]
check "nothing written by the flood" [ "$(map_dump "$MAP" | wc -l)" -eq "$entries0" ]
stop_dracd

echo "== RPCSEC_GSS calls cost nothing (libkrb5 would leak on each)"
start_dracd -a "$TOP/dracd.allow" "$MAP" || exit 1
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$DRACD_PID/status")
python3 - <<'PY'
import socket, struct, subprocess
out = subprocess.run(["rpcinfo", "127.0.0.1"], capture_output=True, text=True).stdout
addr = [l.split()[3] for l in out.splitlines() if l.split()[:3] == ["900101", "1", "udp"]][0]
port = int(addr.rsplit(".", 2)[1]) * 256 + int(addr.rsplit(".", 2)[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
# NULLPROC with an RPCSEC_GSS INIT credential (version 1, INIT, seq 0,
# service none, empty handle) and an empty token
for i in range(20000):
    msg = struct.pack(">6I", i + 1, 0, 2, 900101, 1, 0)
    msg += struct.pack(">2I5I", 6, 20, 1, 1, 0, 1, 0) + struct.pack(">2I", 0, 0)
    msg += struct.pack(">I", 0)
    s.sendto(msg, ("127.0.0.1", port))
    try:
        s.recv(200)
    except socket.timeout:
        pass
PY
rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$DRACD_PID/status")
check "still serving" "$DRACCTL" -q add 192.0.2.97
if [ -z "${DRAC_SAN_FLAGS:-}${DRACD_WRAPPER:-}" ]; then
	check "20000 RPCSEC_GSS calls: memory flat ($rss0 kB -> $rss1 kB)" [ $((rss1 - rss0)) -lt 1024 ]
	stop_dracd
else
	# ASan's and valgrind's allocators grow RSS by themselves; their
	# leak checkers decide (valgrind's sees libkrb5's leak; LSan's view
	# of it is suppressed with libtirpc's, see tests/lsan.supp).
	stop_dracd
	check "20000 RPCSEC_GSS calls: no leak reported at exit (RSS $rss0 -> $rss1 kB)" \
	    bash -c "! grep -qE 'LeakSanitizer|definitely lost: [1-9]' '$T'/*.log"
fi

echo "== a cap on entries (-M)"
start_dracd -i -M 5 -a "$TOP/dracd.allow" "$T/capped.db" || exit 1
out=$(python3 "$TOP/tests/rpcload.py" 8 192.0.2.1)
check "adds beyond -M fail with ADD_SYSERR ($out)" [ "$out" = "0=5 2=3" ]
check "renewing a live entry still works at the cap" "$DRACCTL" -q add 192.0.2.3
check "the cap is logged" grep -q "table full (5 entries" "$T/dracd.log"
check "nothing evicted" [ "$(map_dump "$T/capped.db" | wc -l)" -eq 5 ]
stop_dracd

echo "== durability: -y bounds how long a change waits for the disk"
# strace_on LOG PIDS STRACE-ARGS...: straces every thread of PIDS into
# LOG (STRACE_PID) and waits until strace is attached to all of them.
strace_on() {
	local log=$1 pids=$2 tasks p
	shift 2
	tasks=$(for p in $pids; do ls /proc/"$p"/task; done | grep -E '^[0-9]+$')
	# shellcheck disable=SC2046
	strace -qq -o "$log" "$@" $(printf -- '-p %s ' $tasks) 2>/dev/null &
	STRACE_PID=$!
	# counting starts once strace is attached to all, however slow
	wait_for "strace" "[ \$(cd /proc && grep -l '^TracerPid:[[:space:]]*$STRACE_PID\$' \
	    $(printf '%s/status ' $tasks) | wc -l) -eq $(wc -w <<<"$tasks") ]" 10
}
# trace_syncs LOG: strace dracd and its map guardian for sync calls.
trace_syncs() {
	strace_on "$1" "$DRACD_PID $(pgrep -P "$DRACD_PID" | head -1)" \
	    -e trace=fdatasync,fsync
}
syncs() {
	local writer tasks
	writer=$(pgrep -P "$DRACD_PID" | head -1)
	# every thread: the writer syncs from a thread of its own
	tasks=$(ls /proc/"$DRACD_PID"/task /proc/"$writer"/task | grep -E '^[0-9]+$')
	# shellcheck disable=SC2046
	strace -qq -e trace=fdatasync,fsync -o "$1" $(printf -- '-p %s ' $tasks) \
	    2>/dev/null &
	STRACE_PID=$!
	# counting starts once strace is attached to all, however slow
	wait_for "strace" "[ \$(cd /proc && grep -l '^TracerPid:[[:space:]]*$STRACE_PID\$' \
	    $(printf '%s/status ' $tasks) | wc -l) -eq $(wc -w <<<"$tasks") ]" 10
}
syncs() { grep -cE '(fdatasync|fsync)\(' "$1"; }
start_dracd -i -y 0 -a "$TOP/dracd.allow" "$T/sync0.db" || exit 1
trace_syncs "$T/strace0.log"
python3 "$TOP/tests/rpcload.py" 50 10.50.0.1 >/dev/null
kill -INT "$STRACE_PID"; wait "$STRACE_PID"
stop_dracd
n0=$(syncs "$T/strace0.log")
check "-y 0: every add reaches the disk before its reply ($n0 syncs for 50 adds)" [ "$n0" -ge 50 ]
start_dracd -i -a "$TOP/dracd.allow" "$T/sync1.db" || exit 1
trace_syncs "$T/strace1.log"
t0=$(date +%s%N)
python3 "$TOP/tests/rpcload.py" 500 10.51.0.1 >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sleep 1.5	# the interval's sync is due within a second of the first add
kill -INT "$STRACE_PID"; wait "$STRACE_PID"
n1=$(syncs "$T/strace1.log")
check "default: 500 adds in $ms ms with $n1 syncs, about one per second" \
    [ "$n1" -ge 1 -a "$n1" -le $((ms / 1000 + 3)) ]
stop_dracd
check "all 500 in the map" [ "$(map_dump "$T/sync1.db" | wc -l)" -eq 500 ]

echo "== kill -9 under load, at random moments"
: > "$T/acked"
rm -f "$MAP"
iterations=${KILL_ITERATIONS:-25}
bad_verify=0 bad_reader=0 missing=0
mkdir -p "$T/pf" && : > "$T/pf/main.cf"
for it in $(seq 1 "$iterations"); do
	start_dracd -a "$TOP/dracd.allow" "$MAP" || { bad_verify=$((bad_verify + 1)); break; }
	python3 "$TOP/tests/rpcload.py" 100000 "10.$((it / 200)).$((it % 200)).1" "$T/acked" >/dev/null &
	load=$!
	before=$(wc -l < "$T/acked")
	wait_for "load" "[ \$(wc -l < '$T/acked') -gt $before ]"
	sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
	kill -9 "$DRACD_PID"
	wait "$DRACD_PID" 2>/dev/null
	wait "$load" 2>/dev/null
	# As the MTAs read: under a shared lock (the writer may be finishing).
	flock -s "$MAP" db5.3_verify -q "$MAP" || bad_verify=$((bad_verify + 1))
	# and Postfix's own reader finds the last acknowledged address
	last=$(tail -n 1 "$T/acked")
	[ "$(postmap -c "$T/pf" -q "$last" "hash:${MAP%.db}")" -gt 0 ] 2>/dev/null ||
	    bad_reader=$((bad_reader + 1))
done
check "map verifies after each of $iterations kill -9s (failures: $bad_verify)" [ $bad_verify -eq 0 ]
check "postmap -q finds the last acknowledged address after each (failures: $bad_reader)" [ $bad_reader -eq 0 ]
start_dracd -a "$TOP/dracd.allow" "$MAP" || exit 1
map_dump "$MAP" | cut -d= -f1 | sort > "$T/present"
sort -u "$T/acked" > "$T/acked.sorted"
missing=$(comm -23 "$T/acked.sorted" "$T/present" | wc -l)
check "every acknowledged address survives ($(wc -l < "$T/acked.sorted") acked, $missing missing)" \
    [ "$missing" -eq 0 -a "$(wc -l < "$T/acked.sorted")" -gt 100 ]
check "restart reloads them all" grep -q "reloaded $(wc -l < "$T/present") live entries" "$T/dracd.log"
stop_dracd

echo "== dracd killed inside a commit: its guardian undoes the commit"
# A flush of 2,000 entries writes many pages in one commit; strace kills
# dracd at its third page write.  (A failed write is undone by dracd
# itself: see the full disk above.)
CUT=$T/cut.db
start_dracd -a "$TOP/dracd.allow" "$CUT" || exit 1
python3 "$TOP/tests/rpcload.py" 2000 10.60.0.1 >/dev/null
map_dump "$CUT" | sort >"$T/cut.before"
guardian=$(pgrep -P "$DRACD_PID" | head -1)
strace_on "$T/kill.log" "$DRACD_PID" -e trace=pwrite64 \
    -e inject=pwrite64:signal=SIGKILL:when=3
"$DRACCTL" -t 3000 flush >/dev/null 2>&1
wait_for "dracd to be killed" "! kill -0 $DRACD_PID" || kill -9 "$DRACD_PID"
wait "$DRACD_PID" 2>/dev/null
kill -INT "$STRACE_PID" 2>/dev/null; wait "$STRACE_PID" 2>/dev/null
written=$(grep -c '^pwrite64(.* = [0-9]' "$T/kill.log")
check "dracd killed inside a commit, after $written page writes" \
    grep -q 'killed by SIGKILL' "$T/kill.log"
check "its guardian undid the commit and exited" \
    wait_for "guardian" "! kill -0 $guardian"
check "which it logged" grep -Eq "dracd died inside a commit; undid its [1-9][0-9]* page writes" "$T/dracd.log"
check "the readers' lock is free again" flock -s -w 5 "$CUT" true
check "readers find the map as it was: $(wc -l <"$T/cut.before") entries" \
    [ "$(map_dump "$CUT" | sort | md5sum)" = "$(md5sum <"$T/cut.before")" ]
check "the map verifies" db5.3_verify -q "$CUT"
start_dracd -a "$TOP/dracd.allow" "$CUT" || exit 1
check "a restarted dracd flushes them all" \
    [ "$("$DRACCTL" flush)" = "flushed $(wc -l <"$T/cut.before") entries" ]
check "and the map is empty" [ "$(map_dump "$CUT" | wc -l)" -eq 0 ]
stop_dracd

echo "== the map truncated under a running dracd"
# dracd reads the map through a mapping of the file: pages cut away by
# an outsider must not kill it (SIGBUS) but fail the adds that need them.
start_dracd -a "$TOP/dracd.allow" "$T/shrunk.db" || exit 1
# more than Berkeley DB's cache holds, so that renewals read pages
python3 "$TOP/tests/rpcload.py" 12000 10.61.0.1 >/dev/null
truncate -s 4096 "$T/shrunk.db"
out=$(python3 "$TOP/tests/rpcload.py" 200 10.61.0.1)
check "renewals after the map was cut answered ($out)" \
    bash -c "! grep -Eq '(^| )(none)=' <<<'$out'"
check "dracd is still running" kill -0 "$DRACD_PID"
check "and says what happened" grep -q "map file shrank under dracd" "$T/dracd.log"
check "and answering" rpcinfo -T udp 127.0.0.1 900101 1
stop_dracd
rm -f "$T/shrunk.db"

echo "== the map guardian dies: dracd starts a new one"
start_dracd -a "$TOP/dracd.allow" "$MAP" || exit 1
writer=$(pgrep -P "$DRACD_PID" | head -1)
check "a map guardian process runs" [ -n "$writer" ]
kill -9 "$writer"
check "the next add still succeeds" "$DRACCTL" -q add 192.0.2.98
check "and reaches the map" map_has "$MAP" 192.0.2.98
check "the new guardian is logged" grep -q "map guardian (pid $writer) is gone" "$T/dracd.log"
stop_dracd

echo "== a clean stop spares the next start the verification"
start_dracd -a "$TOP/dracd.allow" "$MAP" || exit 1
check "the mark is taken away at the start" [ ! -e "$MAP.clean" ]
"$DRACCTL" -q add 192.0.2.95
stop_dracd
check "a clean stop leaves $MAP.clean" [ -s "$MAP.clean" ]
: > "$T/dracd.log"
start_dracd -a "$TOP/dracd.allow" "$MAP" || exit 1
check "the next start does not verify the map (logged)" \
    grep -q "is as a clean stop left it: not verified" "$T/dracd.log"
check "and has the entries" "$DRACCTL" -q query 192.0.2.95
kill -9 "$DRACD_PID"; wait "$DRACD_PID" 2>/dev/null
: > "$T/dracd.log"
start_dracd -a "$TOP/dracd.allow" "$MAP" || exit 1
check "after a kill -9 the map is verified again" \
    bash -c "! grep -q 'not verified' '$T/dracd.log'"
stop_dracd

echo "== a damaged map is salvaged at startup"
# damage_page FILE N: overwrites the whole 4096-byte page N with the same
# bytes each run (a page header and item index that make no sense), so
# that what the salvager loses does not depend on where random damage
# happens to fall.
page=4096
damage_page() {
	head -c "$page" /dev/zero | tr '\0' '\245' |
	    dd of="$1" bs="$page" seek="$2" count=1 conv=notrunc 2>/dev/null
}
cp "$MAP" "$T/before.db"
damage_page "$MAP" $(($(stat -c %s "$MAP") / page / 2))
: > "$T/dracd.log"
start_dracd -a "$TOP/dracd.allow" "$MAP" || exit 1
check "damage logged" grep -q "failed verification: salvaged" "$T/dracd.log"
check "damaged file kept" bash -c "ls '$MAP'.damaged.* >/dev/null"
check "new map verifies" db5.3_verify -q "$MAP"
kept=$(map_dump "$MAP" | wc -l)
map_dump "$MAP" | sort > "$T/salvaged"
map_dump "$T/before.db" | sort > "$T/before"
total=$(wc -l < "$T/before")
# One 4096-byte page holds at most 178 entries of ours (the shortest:
# a 7-character key and a 10-digit value, one type byte and a 2-byte
# index slot each).  Everything else must come back, as it was.
exact=$(comm -12 "$T/salvaged" "$T/before" | wc -l)
check "all but the damaged page's entries salvaged with their latest values ($exact of $total)" \
    [ "$exact" -ge $((total - 178)) ]
# A salvaged entry is one the map held, with its value or an older one.
bogus=$(awk -F= 'NR == FNR { v[$1] = $2; next } !($1 in v) || $2 > v[$1]' \
    "$T/before" "$T/salvaged" | wc -l)
check "no invented entries or values in the salvage ($bogus of $kept)" [ "$bogus" -eq 0 ]
check "serving after salvage" "$DRACCTL" -q add 192.0.2.99
stop_dracd
# The first bucket page: Berkeley DB's verifier must call this damage too
# (with DB_NOPANIC it passed such pages, and the load then failed).
rm -f "$MAP" "$MAP".damaged.* "$MAP.clean"
cp "$T/before.db" "$MAP"
damage_page "$MAP" 1
: > "$T/dracd.log"
start_dracd -a "$TOP/dracd.allow" "$MAP" || exit 1
check "a damaged first bucket page is found" \
    grep -q "failed verification: salvaged" "$T/dracd.log"
exact=$(map_dump "$MAP" | sort | comm -12 - "$T/before" | wc -l)
check "and all but its entries salvaged ($exact of $total)" \
    [ "$exact" -ge $((total - 178)) ]
stop_dracd
echo "not a database" > "$T/junk.db"
out=$("$DRACD" -f -a "$TOP/dracd.allow" "$T/junk.db" 2>&1); rc=$?
check "a file that is not Berkeley DB is refused" [ $rc -ne 0 ]
check "and left untouched" [ "$(cat "$T/junk.db")" = "not a database" ]
check "with a clear message" grep -q "not a Berkeley DB file" <<<"$out"

finish
