#!/bin/bash
# The core contract: protocol, allow list, map contents, expiry, restart,
# shutdown, client library.  rpcbind and dracd are real; the map is read
# back with Berkeley DB's own tools.
source "$(dirname "$0")/lib.sh"
enter_namespace "$@"

MAP=$T/map.db
RAW="python3 $TOP/tests/rpcraw.py"
CLASSIC=$TOP/tests/classic-static
CLASSIC_SO=$TOP/tests/classic-shared

now() { date +%s; }
map_value() { map_dump "$MAP" | sed -n "s|^$1=||p"; }
log_has() { grep -q -- "$1" "$T/dracd.log"; }
verify() { db5.3_verify -q "$MAP"; }
fill_factor() { db5.3_stat -d "$MAP" | awk -F'\t' '$2 == "Specified fill factor" { print $1 }'; }

echo "== startup errors"
out=$("$DRACD" -f -e 0 "$MAP" 2>&1); rc=$?
check "bad -e refused with a message" [ $rc -ne 0 ] 
check "bad -e message names the value" grep -q 'bad expire time "0"' <<<"$out"
printf '127.0.0.1\n10.0.0.0/8\n192.0.2.0 255.255.255.0\n' > "$T/bad.allow"
out=$("$DRACD" -f -a "$T/bad.allow" "$MAP" 2>&1); rc=$?
check "bad allow line stops startup" [ $rc -ne 0 ]
check "error names file and line" grep -q "bad.allow:3: " <<<"$out"
out=$("$DRACD" -f -a "$T/none" "$T/no/such/dir/map.db" 2>&1); rc=$?
check "unwritable map stops startup" [ $rc -ne 0 ]
check "map error names the path" grep -q "no/such/dir/map.db" <<<"$out"
out=$("$DRACD" -f -a "$T/none" "$MAP" 2>&1); rc=$?
check "no rpcbind: startup fails" [ $rc -ne 0 ]
check "no rpcbind: says so" grep -q "rpcbind" <<<"$out"
out=$("$DRACD" -n -a "$T/bad.allow" "$MAP" 2>&1); rc=$?
check "-n reports a bad allow file" [ $rc -ne 0 ]
check "-n accepts a good configuration" "$DRACD" -n -a "$TOP/dracd.allow" "$MAP"
out=$("$DRACD" -n -a "$TOP/dracd.allow" "$T/no/dir/map.db" 2>&1); rc=$?
check "-n reports an uncreatable map" [ $rc -ne 0 ]
check "-n names the directory" grep -q "$T/no/dir" <<<"$out"
printf 'junk' > "$T/junk.db"
out=$("$DRACD" -n -a "$TOP/dracd.allow" "$T/junk.db" 2>&1); rc=$?
check "-n reports a map that is not Berkeley DB" [ $rc -ne 0 ]
check "-n: junk map untouched" [ "$(cat "$T/junk.db")" = junk ]
rm -f "$MAP"

start_rpcbind || exit 1

echo "== registration"
printf '# test notifiers\n255.0.0.0 127.0.0.0\n::1/128\n' > "$T/dracd.allow"
start_dracd -e 20s -a "$T/dracd.allow" "$MAP" || exit 1
reg=$(rpcinfo 127.0.0.1)
for netid in udp tcp udp6 tcp6; do
	for v in 1 2; do
		check "registered v$v on $netid" \
		    grep -Eq "^ +900101 +$v +$netid " <<<"$reg"
	done
done
check "null procedure answers (udp)" rpcinfo -T udp 127.0.0.1 900101 2
check "null procedure answers (tcp6)" rpcinfo -T tcp6 ::1 900101 1
out=$("$DRACD" -f -a "$T/dracd.allow" "$T/second.db" 2>&1); rc=$?
check "a second dracd refuses to start" [ $rc -ne 0 ]
check "second dracd says why" grep -q "another dracd" <<<"$out"
check "first dracd still registered and serving" rpcinfo -T udp 127.0.0.1 900101 1

echo "== classic API"
t0=$(now)
out=$("$CLASSIC" auth 127.0.0.1 192.0.2.10)
check "dracauth succeeds" grep -qx "rc=0 msg=Server reports add succeeded" <<<"$out"
check "192.0.2.10 in the map" map_has "$MAP" 192.0.2.10
v=$(map_value 192.0.2.10)
check "value is the expiry time ($v)" [ "$v" -ge $((t0 + 19)) -a "$v" -le $(($(now) + 20)) ]
check "map verifies" verify
out=$("$CLASSIC_SO" auth6 127.0.0.1 2001:db8::10)
check "dracauth6 (shared lib) succeeds" grep -qx "rc=0 msg=Server reports add succeeded" <<<"$out"
check "IPv6 compressed key" map_has "$MAP" 2001:db8::10
check "IPv6 full key (sendmail form)" map_has "$MAP" 2001:db8:0:0:0:0:0:10
out=$("$CLASSIC" session 127.0.0.1 192.0.2.11 192.0.2.12)
check "dracconn/dracsend/dracdisc" [ "$(grep -c '^rc=0' <<<"$out")" -eq 4 ]
check "dracconn message" grep -qx "rc=0 msg=Connect succeeded" <<<"$out"
check "dracdisc message" grep -qx "rc=0 msg=Disconnect succeeded" <<<"$out"
out=$("$CLASSIC_SO" session6 ::1 2001:db8::11)
check "dracconn6 over ::1" grep -qx "rc=0 msg=Server reports add succeeded" <<<"$out"
check "2001:db8::11 in the map" map_has "$MAP" 2001:db8::11
out=$("$CLASSIC" unconnected)
check "not connected: -1 and a message" [ "$(grep -c '^rc=-1 msg=Not connected$' <<<"$out")" -eq 4 ]
out=$("$CLASSIC" text 127.0.0.1 ::ffff:192.0.2.13)
check "v4-mapped text address goes as IPv4" map_has "$MAP" 192.0.2.13
check "dracctl adds" "$DRACCTL" -q add 192.0.2.14
check "dracctl added 192.0.2.14" map_has "$MAP" 192.0.2.14
"$DRACCTL" add not-an-address 2>/dev/null; rc=$?
check "dracctl: bad address exit 65" [ $rc -eq 65 ]

echo "== renewal"
v1=$(map_value 192.0.2.10)
sleep 1.1
"$DRACCTL" -q add 192.0.2.10
v2=$(map_value 192.0.2.10)
check "re-add renews the expiry ($v1 -> $v2)" [ "$v2" -gt "$v1" ]
check "renewal logged" log_has "renewed 192.0.2.10"

echo "== a long-lived connection survives a dracd restart"
"$CLASSIC" session 127.0.0.1 192.0.2.15 "wait:$T/restarted" 192.0.2.16 > "$T/session.out" &
sess=$!
wait_for "first dracsend" "grep -q rc=0 '$T/session.out'"
stop_dracd
start_dracd -e 20s -a "$T/dracd.allow" "$MAP" || exit 1
touch "$T/restarted"
wait $sess
check "dracsend after restart reconnects" [ "$(grep -c '^rc=0 msg=Server reports add succeeded' "$T/session.out")" -eq 2 ]
check "192.0.2.16 added after the restart" map_has "$MAP" 192.0.2.16

echo "== refused addresses"
for a in 0.0.0.0 255.255.255.255 224.0.0.1 :: ff02::1; do
	"$DRACCTL" add "$a" 2>/dev/null; rc=$?
	check "$a refused as invalid (exit 65: $rc)" [ $rc -eq 65 ]
	"$TOP/tests/classic-static" text 127.0.0.1 "$a" >/dev/null 2>&1; rc=$?
	check "$a refused with ADD_PERM over v1/v2 ($rc)" [ $rc -eq 11 ]
	check "$a not in the map" bash -c "! db5.3_dump -p '$MAP' | grep -qx ' $a'"
done
check "refusal logged" log_has "refused: 224.0.0.1"

echo "== raw protocol"
check "v1 wire: c0a80182 is 192.168.1.130" \
    [ "$($RAW udp 1 1 c0a80182)" = "SUCCESS 0" ]
check "192.168.1.130 in the map" map_has "$MAP" 192.168.1.130
args6=$(printf '%08x' 0x20 0x01 0x0d 0xffffffb8 0 0 0 0 0 0 0 0 0 0 0 0x77)
check "v2 wire: 16 sign-extended XDR chars" \
    [ "$($RAW tcp 2 1 "$args6")" = "SUCCESS 0" ]
check "2001:db8::77 in the map" map_has "$MAP" 2001:db8::77
# Prime the UDP buffer with a good request, then send a truncated one:
# it must not decode the stale bytes.
$RAW udp 1 1 c0000263 >/dev/null
check "v1 truncated (udp): GARBAGE_ARGS" [ "$($RAW udp 1 1 '')" = GARBAGE_ARGS ]
check "v1 short (udp): GARBAGE_ARGS" [ "$($RAW udp 1 1 c000)" = GARBAGE_ARGS ]
check "v2 short (udp): GARBAGE_ARGS" [ "$($RAW udp 2 1 "${args6:0:120}")" = GARBAGE_ARGS ]
check "v2 short (udp6): GARBAGE_ARGS" [ "$($RAW udp6 2 1 "${args6:0:8}")" = GARBAGE_ARGS ]
check "v1 truncated (tcp): GARBAGE_ARGS" [ "$($RAW tcp 1 1 c0)" = GARBAGE_ARGS ]
check "v2 short (tcp6): GARBAGE_ARGS" [ "$($RAW tcp6 2 1 "${args6:0:100}")" = GARBAGE_ARGS ]
check "no stale re-add of 192.0.2.99" bash -c "! grep -q 'renewed 192.0.2.99' '$T/dracd.log'"
check "unknown procedure: PROC_UNAVAIL" [ "$($RAW udp 1 7 '')" = PROC_UNAVAIL ]
check "unknown procedure v2 tcp: PROC_UNAVAIL" [ "$($RAW tcp 2 2 00000000)" = PROC_UNAVAIL ]
check "still serving after bad requests" [ "$($RAW udp 1 1 c0000264)" = "SUCCESS 0" ]
check "map verifies after bad requests" verify

echo "== readers get in once a reply is out"
# dracd lets go of the readers' locks after each commit: an idle dracd
# must never keep them.  flock(2) for sendmail (Debian) and Postfix, a
# classic fcntl(2) read lock for other sendmail builds.
fcntl_read_lock() {
	timeout 2 python3 -c 'import fcntl, sys
fcntl.lockf(open(sys.argv[1], "rb"), fcntl.LOCK_SH)' "$MAP"
}
for how in "udp 1 1 c0000265" "tcp 2 1 $args6"; do
	# shellcheck disable=SC2086
	$RAW $how >/dev/null
	check "after an add (${how%% *}): flock" flock -s -w 2 "$MAP" true
	check "after an add (${how%% *}): fcntl read lock" fcntl_read_lock
done
"$DRACCTL" -q del 192.0.2.101
check "after a dracctl del: flock" flock -s -w 2 "$MAP" true
check "after a dracctl del: fcntl read lock" fcntl_read_lock

# dracd keeps the locks for the commits that follow, a millisecond at
# most, unless a reader opened or read the map in the last second.  A
# reader that opened it earlier and has read nothing since has only the
# millisecond: it must get in after an add when dracd is idle, and while
# adds keep coming.
# held_reader SECONDS: opens the map, waits 2 s, then takes and drops both
# kinds of shared lock for SECONDS; each must come within 2 s.
held_reader() {
	python3 - "$MAP" "$1" <<'PY'
import fcntl, signal, sys, time
f = open(sys.argv[1], "rb")
time.sleep(2)
def late(*_):
    sys.exit("a shared lock did not come within 2 s")
signal.signal(signal.SIGALRM, late)
n, end = 0, time.monotonic() + float(sys.argv[2])
while n == 0 or time.monotonic() < end:
    signal.alarm(2)
    fcntl.flock(f, fcntl.LOCK_SH)
    fcntl.flock(f, fcntl.LOCK_UN)
    fcntl.lockf(f, fcntl.LOCK_SH)
    fcntl.lockf(f, fcntl.LOCK_UN)
    signal.alarm(0)
    n += 1
print(n)
PY
}
held_reader 0 >"$T/held.idle" & reader=$!
sleep 1.5	# the open is a second old: dracd holds the locks again
$RAW udp 1 1 c0000266 >/dev/null
check "a reader with the map open gets in after an add" wait "$reader"
held_reader 3 >"$T/held.busy" & reader=$!
# Renewals of a few hundred addresses: growing the map would put a new
# file in its place, whose locks that reader would never meet.
while [ ! -e "$T/held.stop" ]; do
	python3 "$TOP/tests/rpcload.py" 300 10.80.0.1
done >"$T/held.load" 2>&1 & load=$!
PIDS+=("$load")
check "a reader with the map open gets in while adds keep coming" wait "$reader"
touch "$T/held.stop"
wait "$load"
check "... and took the locks more than once ($(cat "$T/held.busy") times)" \
    [ "$(cat "$T/held.busy")" -gt 1 ]
check "the adds went on meanwhile" \
    [ "$(grep -c -E '(added|renewed) 10\.80\.' "$T/dracd.log")" -ge 100 ]

echo "== allow list"
out=$("$CLASSIC" auth6 ::1 2001:db8::20)
check "::1 allowed as IPv6 notifier" grep -q "^rc=0" <<<"$out"
stop_dracd
printf '127.0.0.1\n' > "$T/v4only.allow"
start_dracd -e 4s -a "$T/v4only.allow" "$MAP" || exit 1
out=$("$CLASSIC" auth6 ::1 2001:db8::21)
check "::1 denied when only 127.0.0.1 is listed" \
    grep -qx "rc=1 msg=Server reports permission denied" <<<"$out"
check "denied add wrote nothing" bash -c "! db5.3_dump -p '$MAP' | grep -q '2001:db8::21'"
check "denial logged with notifier" log_has "denied: ::1 may not add"
stop_dracd
printf '255.255.255.0 10.1.2.0\n' > "$T/other.allow"
start_dracd -e 4s -a "$T/other.allow" "$MAP" || exit 1
out=$("$CLASSIC" auth 127.0.0.1 192.0.2.30)
check "127.0.0.1 denied by a list without it" grep -q "^rc=1 " <<<"$out"
check "nothing written for 192.0.2.30" bash -c "! db5.3_dump -p '$MAP' | grep -q '192.0.2.30'"
stop_dracd
: > "$T/empty.allow"
start_dracd -e 4s -a "$T/empty.allow" "$MAP" || exit 1
out=$("$CLASSIC" auth 127.0.0.1 192.0.2.31)
check "an empty allow file admits nobody" grep -q "^rc=1 " <<<"$out"
stop_dracd

echo "== SIGHUP reloads the allow list"
printf '10.0.0.0/8\n' > "$T/hup.allow"
start_dracd -e 4s -a "$T/hup.allow" "$MAP" || exit 1
"$DRACCTL" add 192.0.2.32 2>/dev/null; rc=$?
check "denied before reload" [ $rc -eq 77 ]
printf '127.0.0.1\n' > "$T/hup.allow"
kill -HUP "$DRACD_PID"
wait_for "reload" "grep -q 'reload: $T/hup.allow: 1 rules' '$T/dracd.log'"
check "allowed after reload" "$DRACCTL" -q add 192.0.2.32
printf '127.0.0.1\nbogus line\n' > "$T/hup.allow"
kill -HUP "$DRACD_PID"
wait_for "failed reload" "grep -q 'keeping the previous allow list' '$T/dracd.log'"
check "bad reload logged with file and line" log_has "hup.allow:2: "
check "old list still in force after a bad reload" "$DRACCTL" -q add 192.0.2.33
stop_dracd

echo "== absent allow file: loopback and own addresses"
start_dracd -e 4s -a "$T/absent.allow" "$MAP" || exit 1
check "127.0.0.1 admitted by the default" "$DRACCTL" -q add 192.0.2.34
check "::1 admitted by the default" "$DRACCTL" -q -s ::1 add 2001:db8::34
check "default logged" log_has "absent: loopback and local addresses"
stop_dracd

echo "== expiry"
start_dracd -e 3s -a "$T/dracd.allow" "$MAP" || exit 1
"$DRACCTL" -q add 192.0.2.40
added=$(now)
exp=$(map_value 192.0.2.40)
sleep 1
check "present before expiry" map_has "$MAP" 192.0.2.40
for _ in $(seq 1 60); do
	map_has "$MAP" 192.0.2.40 || break
	sleep 0.1
done
gone=$(now)
check "gone from the map after expiry" bash -c "! db5.3_dump -p '$MAP' | grep -qx ' 192.0.2.40'"
check "removed within 2 s of its expiry time ($exp, gone at $gone)" \
    [ "$gone" -ge "$exp" -a "$gone" -le $((exp + 2)) ]
check "expiry time is now + 3 s" [ "$exp" -eq $((added + 3)) -o "$exp" -eq $((added + 2)) ]
check "IPv6 keys expired too" bash -c "! db5.3_dump -p '$MAP' | grep -q 'db8:0:0:0:0:0:10'"
check "map verifies after expiry" verify

echo "== shutdown"
stop_dracd; rc=$?
check "SIGTERM exits 0" [ $rc -eq 0 ]
check "unregistered from rpcbind" bash -c "! rpcinfo 127.0.0.1 | grep -q 900101"
check "shutdown logged" log_has "shutting down"
start=$(date +%s%N)
"$DRACCTL" add 192.0.2.41 2>/dev/null; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "dracd stopped: dracctl fails with 69 ($rc)" [ $rc -eq 69 ]
check "dracd stopped: fails fast (${ms} ms)" [ $ms -lt 2500 ]

echo "== restart reloads the map"
start_dracd -e 30s -a "$T/dracd.allow" "$MAP" || exit 1
"$DRACCTL" -q add 192.0.2.50
exp50=$(map_value 192.0.2.50)
stop_dracd
fut=$(( $(now) + 3600 ))
printf 'VERSION=3\nformat=print\ntype=hash\nHEADER=END\n 192.0.2.51\n 1000\n 192.0.2.52\n %s\n static.example\n RELAY\nDATA=END\n' "$fut" |
    db5.3_load "$MAP"
start_dracd -e 30s -a "$T/dracd.allow" "$MAP" || exit 1
check "live entry kept with its original expiry" [ "$(map_value 192.0.2.50)" = "$exp50" ]
check "expired entry removed at reload" bash -c "! db5.3_dump -p '$MAP' | grep -qx ' 192.0.2.51'"
check "entry with a later expiry kept" [ "$(map_value 192.0.2.52)" = "$fut" ]
check "foreign entry left alone" map_has "$MAP" static.example
check "reload logged" grep -Eq "reloaded [0-9]+ live entries from .*, removed [1-9]" "$T/dracd.log"
"$DRACCTL" -q add 192.0.2.53
check "serving after reload" map_has "$MAP" 192.0.2.53
stop_dracd

echo "== a hash map another program made gets dracd's layout"
rm -f "$MAP"
printf 'VERSION=3\nformat=print\ntype=hash\nHEADER=END\n 192.0.2.54\n %s\n static.example\n RELAY\nDATA=END\n' "$fut" |
    db5.3_load "$MAP"
chmod 640 "$MAP"
check "db5.3_load's map has Berkeley DB's default fill factor" \
    [ "$(fill_factor)" = 0 ]
# What a dracd killed inside Berkeley DB's create of the new file leaves
# (t-reliability's kill -9s did): Berkeley DB would wait 100 s for it.
: > "$T/__db.map.db.grow"
start_dracd -e 30s -a "$T/dracd.allow" "$MAP" || exit 1
check "rewrite logged" log_has "written anew with a page for each of its 16 buckets"
check "the empty file of a rewrite cut short was removed, not waited for" \
    [ ! -e "$T/__db.map.db.grow" ]
check "rewritten with dracd's fill factor" [ "$(fill_factor)" = 4096 ]
check "its address entry kept" [ "$(map_value 192.0.2.54)" = "$fut" ]
check "its foreign entry kept" map_has "$MAP" static.example
check "its mode kept" [ "$(stat -c %a "$MAP")" = 640 ]
check "map verifies after the rewrite" verify
"$DRACCTL" -q add 192.0.2.55
check "serving after the rewrite" map_has "$MAP" 192.0.2.55
stop_dracd
: > "$T/dracd.log"
start_dracd -e 30s -a "$T/dracd.allow" "$MAP" || exit 1
check "a map in dracd's layout is not rewritten again" \
    bash -c "! grep -q 'written anew' '$T/dracd.log'"
stop_dracd
start_dracd -i -e 30s -a "$T/dracd.allow" "$MAP" || exit 1
check "-i starts with an empty map" [ -z "$(map_dump "$MAP")" ]
check "map verifies after -i" verify
check "map is readable by all (0644)" [ "$(stat -c %a "$MAP")" = 644 ]

echo "== a growth is not a reader opening the map"
# Replies wait for the map's modification time only when a reader opened
# the map lately.  The watch of a map file that a growth replaced ends
# with an event that is no open; counted as one, it held replies for up
# to a second, again and again for two seconds.  No reader here.
stop_dracd
start_dracd -i -e 30s -a "$T/dracd.allow" "$MAP" || exit 1
from=$(($(wc -l <"$T/dracd.log") + 1))
python3 "$TOP/tests/rpcload.py" 3000 10.91.0.1 >/dev/null
end=$((SECONDS + 3))
while [ "$SECONDS" -lt "$end" ]; do
	python3 "$TOP/tests/rpcload.py" 300 10.91.0.1 >/dev/null
done
check "the map grew" bash -c "tail -n +$from '$T/dracd.log' | grep -q 'a bucket was full'"
check "no reply was held for the modification time" \
    bash -c "! tail -n +$from '$T/dracd.log' | grep -q 'replies held'"
stop_dracd

echo "== map formats"
start_dracd -i -m btree,nul,cidr -a "$T/dracd.allow" "$T/btree.db" || exit 1
"$DRACCTL" -q add 192.0.2.60
"$DRACCTL" -q add 2001:db8::60
check "btree map" bash -c "db5.3_dump -p '$T/btree.db' | grep -qx 'type=btree'"
check "NUL-terminated CIDR key" map_has "$T/btree.db" '192.0.2.60/32\\00'
check "NUL-terminated IPv6 CIDR key" map_has "$T/btree.db" '2001:db8::60/128\\00'
check "NUL-terminated value" bash -c "db5.3_dump -p '$T/btree.db' | grep -Eq '^ [0-9]+\\\\00$'"
stop_dracd
: > "$T/dracd.log"
start_dracd -m btree,nul,cidr -a "$T/dracd.allow" "$T/btree.db" || exit 1
check "NUL/CIDR keys reload" grep -q "reloaded 2 live entries" "$T/dracd.log"
stop_dracd
start_dracd -m btree -a "$T/dracd.allow" "$T/btree.db" || exit 1
check "format change rewrites keys" log_has "keys were in another map format"
check "old NUL/CIDR key gone" bash -c "! db5.3_dump -p '$T/btree.db' | grep -q '/32'"
check "new plain key present" map_has "$T/btree.db" 192.0.2.60
check "new plain IPv6 keys present" map_has "$T/btree.db" 2001:db8:0:0:0:0:0:60
stop_dracd
out=$("$DRACD" -f -m hash -a "$T/dracd.allow" "$T/btree.db" 2>&1); rc=$?
check "wrong map type is a clear error" [ $rc -ne 0 ]
check "wrong type message" grep -q "not a Berkeley DB hash file" <<<"$out"

echo "== stale registration: bounded client timeout"
start_dracd -e 30s -a "$T/dracd.allow" "$MAP" || exit 1
kill -9 "$DRACD_PID"; wait "$DRACD_PID" 2>/dev/null
start=$(date +%s%N)
out=$("$CLASSIC" auth 127.0.0.1 192.0.2.70)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "dead dracd with a stale registration: error" grep -Eq "^rc=-[12] msg=..*" <<<"$out"
check "dead dracd: returns within 2.5 s (${ms} ms)" [ $ms -lt 2500 ]
start_dracd -e 30s -a "$T/dracd.allow" "$MAP" || exit 1
check "restart after kill -9 re-registers and serves" "$DRACCTL" -q add 192.0.2.71

echo "== rpcbind gone: bounded client failure"
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null
start=$(date +%s%N)
out=$("$CLASSIC" auth 127.0.0.1 192.0.2.72)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "no rpcbind: client creation fails (-1) with a message" grep -Eq "^rc=-1 msg=..*" <<<"$out"
check "no rpcbind: returns within 2.5 s (${ms} ms)" [ $ms -lt 2500 ]

finish
