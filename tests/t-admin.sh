#!/bin/bash
# Operations: protocol version 3 through dracctl and the handle API (TTL,
# revoke, query, list, stats, flush), and dracd -u.
source "$(dirname "$0")/lib.sh"
enter_namespace "$@"

MAP=$T/map.db
HANDLE=$TOP/tests/handle
RAW="python3 $TOP/tests/rpcraw.py"
map_value() { map_dump "$MAP" | sed -n "s|^$1=||p"; }
map_lacks() { ! map_dump "$MAP" | grep -q "^$1="; }
ctl() { "$DRACCTL" "$@"; }
# exit status of a dracctl call, its output discarded
status_of() { "$DRACCTL" "$@" >/dev/null 2>&1; echo $?; }

start_rpcbind || exit 1
# 127.0.0.0/8 only: ::1 is a stranger.
printf '255.0.0.0 127.0.0.0\n' > "$T/v4only.allow"
# The default lifetime must outlast the checks up to the stats (192.0.2.2
# must still be there; one expiry counted): under ASan they took 40 s,
# most of it replies held for the map's mtime after each reader's look.
start_dracd -e 90s -E 1h -a "$T/v4only.allow" "$MAP" || exit 1

echo "== add with a TTL"
# within_ttl TTL: the expiry in $out is TTL after the call ($t0 to now)
within_ttl() {
	local e=${out#* }
	[ "$e" -ge $((t0 + $1)) ] && [ "$e" -le $(($(date +%s) + $1 + 1)) ]
}
now=$(date +%s)
t0=$now
out=$(ctl -n add 192.0.2.1 --ttl 3)
check "add --ttl 3 prints the address ($out)" [ "${out% *}" = 192.0.2.1 ]
check "and its expiry, 3 s on" within_ttl 3
check "the map holds that expiry" [ "$(map_value 192.0.2.1)" = "${out#* }" ]
t0=$(date +%s)
out=$(ctl -n add 192.0.2.2 --ttl 0)
check "--ttl 0: the default (90 s)" within_ttl 90
t0=$(date +%s)
out=$(ctl -n add 192.0.2.3 --ttl 999999)
check "a TTL above -E is capped at 1 h ($((${out#* } - t0)) s)" within_ttl 3600
out=$(ctl -n add 192.0.2.3)
check "a default add does not cut a longer grant short" \
    [ $((${out#* } - now)) -ge 3600 ]
out=$(ctl add 2001:db8::3 --ttl=60)
check "IPv6 and --ttl=N; ISO 8601 time by default ($out)" \
    grep -Eq '^2001:db8::3 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' <<<"$out"
check "bad --ttl is a usage error" [ "$(status_of add 192.0.2.9 --ttl x)" -eq 64 ]
check "nothing added by it" map_lacks 192.0.2.9
wait_for "192.0.2.1 to expire" "map_lacks 192.0.2.1" 6
check "the 3 s entry left the map on time" map_lacks 192.0.2.1
check "query: not found after expiry (exit 1)" [ "$(status_of query 192.0.2.1)" -eq 1 ]

echo "== query, revoke"
out=$(ctl -n query 192.0.2.3)
check "query prints the map's expiry ($out)" [ "${out#* }" = "$(map_value 192.0.2.3)" ]
check "query of an unknown address: exit 1" [ "$(status_of query 192.0.2.99)" -eq 1 ]
check "query of a bad address: exit 65" [ "$(status_of query 300.1.2.3)" -eq 65 ]
check "del 192.0.2.3" ctl -q del 192.0.2.3
check "revoke removes it from the map at once" map_lacks 192.0.2.3
mkdir -p "$T/pf" && : > "$T/pf/main.cf"
postmap -c "$T/pf" -q 192.0.2.3 "hash:${MAP%.db}"; rc=$?
check "Postfix's reader agrees (postmap -q exit $rc)" [ $rc -eq 1 ]
check "revoke logged" grep -q "revoked 192.0.2.3 at the request of 127.0.0.1" "$T/dracd.log"
check "del again: not found, exit 1" [ "$(status_of del 192.0.2.3)" -eq 1 ]
check "del of IPv6" ctl -q del 2001:db8::3
check "gone from the map" map_lacks 2001:db8::3

echo "== list agrees with the map, across pages"
python3 "$TOP/tests/rpcload.py" 700 10.7.0.1 >/dev/null
ctl -n list > "$T/list"
map_dump "$MAP" | tr '=' ' ' | grep -v '^2001:db8:0:0' | sort > "$T/map.sorted"
# the map also holds the full IPv6 form for sendmail: compare IPv4 only
grep -v : "$T/list" | sort > "$T/list.sorted"
grep -v : "$T/map.sorted" > "$T/map4.sorted"
check "list: $(wc -l < "$T/list") lines, the map's entries and values exactly" \
    cmp -s "$T/list.sorted" "$T/map4.sorted"
check "list: more than two pages, no duplicates" \
    [ "$(cut -d' ' -f1 "$T/list" | sort -u | wc -l)" -eq "$(wc -l < "$T/list")" -a "$(wc -l < "$T/list")" -gt 600 ]
check "list: one line per entry, address then time" \
    bash -c "! grep -Ev '^[0-9a-f.:]+ [0-9]+$' '$T/list'"
ctl list | head -n 1 > "$T/list.iso"
check "list without -n: ISO 8601 UTC" grep -Eq '^[0-9a-f.:]+ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$T/list.iso"

echo "== permissions"
check "::1 is not allowed: add exit 77" [ "$(status_of -s ::1 add 192.0.2.50)" -eq 77 ]
for cmd in "del 192.0.2.2" "query 192.0.2.2" list stats flush; do
	# shellcheck disable=SC2086
	check "::1: $cmd denied, exit 77" [ "$(status_of -s ::1 $cmd)" -eq 77 ]
done
check "denials logged" grep -q "denied: ::1 may not revoke addresses" "$T/dracd.log"
check "and nothing changed" map_has "$MAP" 192.0.2.2

echo "== raw version 3"
check "v3 NULL answers" [ "$($RAW udp 3 0 '')" = "SUCCESS" ]
check "truncated v3 add: GARBAGE_ARGS" [ "$($RAW udp 3 1 0000000400c00002)" = "GARBAGE_ARGS" ]
check "truncated v3 add over TCP: GARBAGE_ARGS" [ "$($RAW tcp 3 1 0000000400c0)" = "GARBAGE_ARGS" ]
check "address of 5 bytes: INVALID (3)" [ "$($RAW udp 3 3 00000005c000020a0b000000)" = "SUCCESS 3" ]
check "unknown v3 procedure: PROC_UNAVAIL" [ "$($RAW udp 3 9 '')" = "PROC_UNAVAIL" ]
check "a forged list cursor: INVALID (3)" \
    [ "$($RAW tcp 3 4 0000001d$(printf '%064d' 0)0000000a)" = "SUCCESS 3" ]
check "v1 still answers the classic way" [ "$($RAW udp 1 1 c0000233)" = "SUCCESS 0" ]
# 192.0.2.51 = c0000233: a forged datagram must not revoke it or flush
check "revoke over UDP refused (AUTH_TOOWEAK)" [ "$($RAW udp 3 2 00000004c0000233)" = "DENIED" ]
check "flush over UDP refused" [ "$($RAW udp 3 6 '')" = "DENIED" ]
check "list over UDP refused" [ "$($RAW udp 3 4 0000000000000010)" = "DENIED" ]
check "the entry is still there" map_has "$MAP" 192.0.2.51
check "refusal logged" grep -q "denied: revoke over UDP from 127.0.0.1" "$T/dracd.log"
now=$(date +%s)
check "v3 add over UDP asking for 1 h" [ "$($RAW udp 3 1 00000004c000024000000e10)" = "SUCCESS 0" ]
v=$(map_value 192.0.2.64)
check "gets no more than the default over UDP ($((v - now)) s)" [ $((v - now)) -le 91 ]
check "over TCP it gets the hour" [ "$($RAW tcp 3 1 00000004c000024000000e10)" = "SUCCESS 0" ]
v=$(map_value 192.0.2.64)
check "... ($((v - now)) s)" [ $((v - now)) -ge 3600 ]
check "revoke over TCP works" [ "$($RAW tcp 3 2 00000004c0000233)" = "SUCCESS 0" ]
check "and removes the entry" map_lacks 192.0.2.51
check "still serving" ctl -q query 192.0.2.2

echo "== stats"
kill -USR1 "$DRACD_PID"
ctl stats > "$T/stats"
cat "$T/stats"
stat_of() { sed -n "s/^$1 //p" "$T/stats"; }
live=$(map_dump "$MAP" | grep -vc '^2001:db8:0:0')
check "stats: entries = the map's ($live)" [ "$(stat_of entries)" -eq "$live" ]
# 4 by dracctl, 700 by rpcload, 1 raw v1, 1 raw v3
check "stats: adds ($(stat_of adds))" [ "$(stat_of adds)" -eq 706 ]
check "stats: renewals 2" [ "$(stat_of renewals)" -eq 2 ]
check "stats: revokes 3" [ "$(stat_of revokes)" -eq 3 ]
check "stats: expired 1" [ "$(stat_of expired)" -eq 1 ]
check "stats: denied 9 (6 from ::1, 3 over UDP)" [ "$(stat_of denied)" -eq 9 ]
check "stats: default and maximum TTL" [ "$(stat_of default_ttl) $(stat_of max_ttl)" = "90 3600" ]
check "stats: every documented line, in order" \
    [ "$(cut -d' ' -f1 "$T/stats" | tr '\n' ' ')" = "entries adds renewals revokes expired denied refused errors uptime default_ttl max_ttl " ]

echo "== the handle API, 8 threads sharing one handle"
out=$("$HANDLE" 127.0.0.1 8 40 2>&1)
echo "$out" | tail -n 5
check "add, query, revoke and list from threads: $(tail -n 1 <<<"$out")" grep -q '^ok:' <<<"$out"
check "over the IPv6 transport too" bash -c "'$HANDLE' ::1 probe 192.0.2.2 | grep -q '^rc=2 permission denied'"

echo "== flush"
before=$(map_dump "$MAP" | grep -vc '^2001:db8:0:0')
out=$(ctl flush)
check "flush reports what it removed ($out; $before in the map)" [ "$out" = "flushed $before entries" ]
check "the map is empty" [ "$(map_dump "$MAP" | wc -l)" -eq 0 ]
check "list is empty" [ -z "$(ctl list)" ]
check "flush logged" grep -q "flushed all $before entries at the request of 127.0.0.1" "$T/dracd.log"
check "adds work after a flush" ctl -q add 192.0.2.60
check "map verifies" db5.3_verify -q "$MAP"
stop_dracd

echo "== errors a script can tell apart"
check "dracd down: exit 69" [ "$(status_of -t 500 query 192.0.2.2)" -eq 69 ]
out=$("$HANDLE" 127.0.0.1 probe 192.0.2.2)
check "the library says unreachable ($out)" grep -q '^rc=5 server unreachable' <<<"$out"
check "usage error: exit 64" [ "$(status_of frobnicate)" -eq 64 ]
check "missing argument: exit 64" [ "$(status_of del)" -eq 64 ]

echo "== -u: root is dropped once the map and sockets are set up"
rm -f "$MAP"
# Under make check-valgrind the map guardian, a child that becomes nobody,
# writes its own valgrind log here.
chmod 1777 "$T"
start_dracd -u nobody -a "$T/v4only.allow" "$MAP" || exit 1
writer=$(pgrep -P "$DRACD_PID" | head -1)
check "dracd runs as nobody" [ "$(ps -o user= -p "$DRACD_PID")" = nobody ]
check "its map guardian too" [ "$(ps -o user= -p "$writer")" = nobody ]
check "logged" grep -q "running as nobody" "$T/dracd.log"
check "adds still work" "$DRACCTL" -q add 192.0.2.70
check "and reach the map" map_has "$MAP" 192.0.2.70
check "the map belongs to nobody" [ "$(stat -c %U "$MAP")" = nobody ]
check "and stays readable by the MTAs (mode $(stat -c %a "$MAP"))" \
    [ "$(( 0$(stat -c %a "$MAP") & 044 ))" -eq 36 ]
# 3,000 adds outgrow the 16 buckets of a new map: nobody writes it anew.
out=$(python3 "$TOP/tests/rpcload.py" 3000 10.9.0.1)
check "as nobody, 3000 adds that outgrow the map all succeed ($out)" \
    [ "$out" = "0=3000" ]
check "the map was written anew" \
    grep -q "a bucket was full: written anew" "$T/dracd.log"
check "the new file belongs to nobody, mode 644 ($(stat -c '%U %a' "$MAP"))" \
    [ "$(stat -c '%U %a' "$MAP")" = "nobody 644" ]
check "and holds every address" \
    [ "$(map_dump "$MAP" | grep -c '^10\.9\.')" -eq 3000 ]
old=$writer
kill -9 "$writer"
check "after the map guardian died, adds work" "$DRACCTL" -q add 192.0.2.71
check "and reach the map" map_has "$MAP" 192.0.2.71
writer=$(pgrep -P "$DRACD_PID" | head -1)
check "a new guardian ($writer, was $old) runs, as nobody" \
    [ "$writer" != "$old" -a "$(ps -o user= -p "$writer")" = nobody ]
stop_dracd
# A map the MTA reads through its group keeps that group; "user" lines
# in the allow file (getpwnam again) do not change who dracd becomes.
chgrp mail "$MAP" && chmod 640 "$MAP"
printf '127.0.0.0/8\nuser daemon\n' > "$T/users.allow"
start_dracd -u nobody -a "$T/users.allow" "$MAP" || exit 1
check "with user lines in the allow file, still nobody" [ "$(ps -o user= -p "$DRACD_PID")" = nobody ]
check "the map keeps its group and mode ($(stat -c '%U:%G %a' "$MAP"))" \
    [ "$(stat -c '%U:%G %a' "$MAP")" = "nobody:mail 640" ]
check "and is still written" "$DRACCTL" -q add 192.0.2.72
check "... into the map" map_has "$MAP" 192.0.2.72
# nobody cannot give a new file the group mail, the MTA's only access
out=$(python3 "$TOP/tests/rpcload.py" 3000 10.10.0.1)
check "3000 more adds all succeed ($out)" [ "$out" = "0=3000" ]
check "the map grows in place, and the log says why, once" \
    [ "$(grep -c 'Operation not permitted; from now on the map grows in place' "$T/dracd.log")" -eq 1 ]
check "the map keeps its owner, group and mode ($(stat -c '%U:%G %a' "$MAP"))" \
    [ "$(stat -c '%U:%G %a' "$MAP")" = "nobody:mail 640" ]
check "and holds every address" \
    [ "$(map_dump "$MAP" | grep -c '^10\.')" -eq 6000 ]
check "and verifies" db5.3_verify -q "$MAP"
stop_dracd
check "-u with an unknown user fails at once" bash -c "! '$DRACD' -f -u no-such-user-x '$MAP' 2>/dev/null"

finish
