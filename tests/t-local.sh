#!/bin/bash
# The local UNIX socket (-U): notifiers on this host are identified by the
# uid the kernel reports for the connection, checked against "uid" and
# "user" lines of the allow file.
source "$(dirname "$0")/lib.sh"
enter_namespace "$@"

SOCK=$T/dracd.sock
MAP=$T/map.db
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

start_rpcbind || exit 1
printf '# root only, over the socket\nuid 0\n' > "$T/root.allow"
start_dracd -U "$SOCK" -a "$T/root.allow" "$MAP" || exit 1
check "socket created" [ -S "$SOCK" ]
check "anyone may connect (0666): the uid decides" [ "$(stat -c %a "$SOCK")" = 666 ]
check "root adds over the socket" "$DRACCTL" -q -s "unix:$SOCK" add 192.0.2.1
check "192.0.2.1 in the map" map_has "$MAP" 192.0.2.1
check "IPv6 over the socket too" "$DRACCTL" -q -s "unix:$SOCK" add 2001:db8::1
as_nobody "$DRACCTL" -q -s "unix:$SOCK" add 192.0.2.2 2>/dev/null; rc=$?
check "another uid is denied ($rc)" [ $rc -eq 77 ]
check "nothing written for it" bash -c "! db5.3_dump -p '$MAP' | grep -qx ' 192.0.2.2'"
check "the denial names the uid" grep -q "denied: uid 65534 (local socket)" "$T/dracd.log"
"$DRACCTL" -q add 192.0.2.3 2>/dev/null; rc=$?
check "a uid rule admits nobody over the network ($rc)" [ $rc -eq 77 ]
check "version 3 over the socket: query" "$DRACCTL" -q -s "unix:$SOCK" query 192.0.2.1
check "version 3 over the socket: list" bash -c "'$DRACCTL' -s 'unix:$SOCK' list | grep -q '^192.0.2.1 '"
as_nobody "$DRACCTL" -s "unix:$SOCK" list >/dev/null 2>&1; rc=$?
check "version 3 list denied to another uid ($rc)" [ $rc -eq 77 ]
out=$("$TOP/tests/classic-static" auth "unix:$SOCK" 192.0.2.4)
check "classic dracauth over the socket" grep -q "^rc=0 " <<<"$out"
out=$("$TOP/tests/classic-static" session "unix:$SOCK" 192.0.2.5 192.0.2.6)
check "dracconn/dracsend over the socket" [ "$(grep -c '^rc=0' <<<"$out")" -eq 4 ]
check "the socket is not registered with rpcbind" bash -c "! rpcinfo 127.0.0.1 | grep -Eq '^ +900101 .* local '"
out=$("$DRACD" -f -U "$SOCK" -a "$T/root.allow" "$T/other.db" 2>&1); rc=$?
check "a second dracd on the same socket refuses" [ $rc -ne 0 ]
check "and says why" grep -q "another dracd" <<<"$out"
stop_dracd
check "socket removed at shutdown" [ ! -e "$SOCK" ]

printf 'user nobody\n' > "$T/nobody.allow"
start_dracd -U "$SOCK" -a "$T/nobody.allow" "$MAP" || exit 1
check "user lines: nobody may add" as_nobody "$DRACCTL" -q -s "unix:$SOCK" add 192.0.2.7
"$DRACCTL" -q -s "unix:$SOCK" add 192.0.2.8 2>/dev/null; rc=$?
check "and root, not listed, may not ($rc)" [ $rc -eq 77 ]
stop_dracd

: > "$T/stale"
rm -f "$SOCK"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$SOCK"
start_dracd -U "$SOCK" -a "$T/root.allow" "$MAP" || exit 1
check "a stale socket file is replaced" "$DRACCTL" -q -s "unix:$SOCK" add 192.0.2.9
stop_dracd
out=$("$DRACD" -f -U "$T/stale" -a "$T/root.allow" "$MAP" 2>&1); rc=$?
check "a non-socket file at the path is refused, untouched" [ $rc -ne 0 -a -f "$T/stale" ]
out=$("$DRACD" -f -U relative.sock "$MAP" 2>&1); rc=$?
check "-U wants an absolute path" [ $rc -eq 64 ]

finish
