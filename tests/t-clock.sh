#!/bin/bash
# Wall-clock steps of an hour either way: expiry runs on the monotonic
# clock, so entries neither all expire at once nor outlive their lifetime;
# the map keeps wall-clock expiry times.  libfaketime moves dracd's wall
# clock alone (the machine's clock is never touched).
source "$(dirname "$0")/lib.sh"
enter_namespace "$@"

FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
MAP=$T/map.db
echo "+0" > "$T/offset"
PRELOAD=$FAKETIME_LIB
# An ASan build (make check-asan) needs its runtime loaded first.
if [ -n "${DRAC_SAN_FLAGS:-}" ]; then
	PRELOAD="$(cc -print-file-name=libasan.so):$PRELOAD"
fi
export DRACD_WRAPPER="env LD_PRELOAD=$PRELOAD FAKETIME_TIMESTAMP_FILE=$T/offset FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1"
present() { map_has "$MAP" "$1"; }
value() { map_dump "$MAP" | sed -n "s|^$1=||p"; }
now() { date +%s; }

check "libfaketime is installed" [ -e "$FAKETIME_LIB" ]
start_rpcbind || exit 1
start_dracd -e 6s -a "$TOP/dracd.allow" "$MAP" || exit 1

"$DRACCTL" -q add 192.0.2.1
t1=$(now)
v1=$(value 192.0.2.1)
check "expiry is wall clock + 6 s ($v1)" [ "$v1" -ge $((t1 + 5)) -a "$v1" -le $((t1 + 6)) ]

echo "+1h" > "$T/offset"
sleep 2
check "a step of +1 h does not expire the entry" present 192.0.2.1
"$DRACCTL" -q add 192.0.2.2
t2=$(now)
v2=$(value 192.0.2.2)
check "new expiry follows dracd's wall clock ($v2)" [ "$v2" -ge $((t2 + 3600 + 5)) -a "$v2" -le $((t2 + 3600 + 6)) ]

for _ in $(seq 1 80); do present 192.0.2.1 || break; sleep 0.1; done
check "the entry still expires after its 6 s ($(( $(now) - t1 )) s)" [ "$(( $(now) - t1 ))" -le 8 ]
check "gone" bash -c "! db5.3_dump -p '$MAP' | grep -qx ' 192.0.2.1'"

echo "-1h" > "$T/offset"
sleep 1
check "a step of -1 h keeps the later entry" present 192.0.2.2
for _ in $(seq 1 80); do present 192.0.2.2 || break; sleep 0.1; done
check "and it does not outlive its lifetime ($(( $(now) - t2 )) s)" [ "$(( $(now) - t2 ))" -le 8 ]
check "gone too" bash -c "! db5.3_dump -p '$MAP' | grep -qx ' 192.0.2.2'"
stop_dracd

finish
