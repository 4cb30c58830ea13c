# tests/lib.sh: shared by the tests/t-*.sh scripts (source it, bash).
# Every test runs inside its own network, UTS and mount namespace: only a
# loopback interface exists, /run is private (so its rpcbind is too) and
# /etc/hosts is a private copy.  Nothing can leave the machine.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TESTNAME=$(basename "$0" .sh)
TMPBASE=${DRAC_TEST_TMP:-$TOP/tests/tmp}
T=$TMPBASE/$TESTNAME
DRACD=$TOP/dracd
DRACCTL=$TOP/dracctl
PIDS=()
CHECKS_OK=0
CHECKS_FAILED=0

# Re-executes the calling script inside fresh namespaces, once.
enter_namespace() {
	if [ -z "${DRAC_IN_NS:-}" ]; then
		export DRAC_IN_NS=1
		exec unshare --net --uts --mount --propagation private \
		    bash "$0" "$@"
	fi
	mount -t tmpfs -o mode=755 tmpfs /run
	mkdir -p "$T"
	rm -rf "${T:?}"/*
	chmod 755 "$TMPBASE" "$T"
	{
		printf '127.0.0.1\tlocalhost\n'
		printf '127.0.0.1\tdrac-test.invalid drac-test\n'
		printf '::1\tlocalhost ip6-localhost\n'
		for i in $(seq 2 40); do
			printf '127.0.0.%d\tclient%d.test.invalid\n' "$i" "$i"
		done
	} > "$T/hosts"
	mount --bind "$T/hosts" /etc/hosts
	hostname drac-test.invalid
	ip link set lo up
	trap cleanup EXIT
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	return 0
}

start_rpcbind() {
	rpcbind -f -w &
	PIDS+=($!)
	wait_for "rpcbind" 'rpcinfo -T udp 127.0.0.1 100000 4'
}

# start_dracd ARGS...: starts dracd -f in the background, logging to
# $T/dracd.log, and waits until it answers over RPC.  Sets DRACD_PID.
start_dracd() {
	# DRACD_WRAPPER runs dracd under a tool, e.g. valgrind; a literal
	# $T in it stands for this test's directory.
	local wrapper=${DRACD_WRAPPER:-}
	wrapper=${wrapper//\$T/$T}
	$wrapper "$DRACD" -f -d "$@" >>"$T/dracd.log" 2>&1 &
	DRACD_PID=$!
	PIDS+=("$DRACD_PID")
	wait_for "dracd" 'rpcinfo -T udp 127.0.0.1 900101 1' ${DRACD_WRAPPER:+100} || {
		cat "$T/dracd.log" >&2
		return 1
	}
}

# stop_dracd: SIGTERM, and a clean exit is part of every test.
stop_dracd() {
	local rc
	kill -TERM "$DRACD_PID" 2>/dev/null
	wait "$DRACD_PID"
	rc=$?
	[ $rc -eq 0 ] || not_ok "dracd exited with status $rc after SIGTERM"
	return $rc
}

# wait_for WHAT COMMAND [SECONDS]: polls COMMAND for up to 5 s.
wait_for() {
	local i
	for i in $(seq 1 $((${3:-5} * 20))); do
		if eval "$2" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# plain_libdrac: a libdrac for Python's ctypes.  Under make check-asan the
# built one is instrumented and cannot be loaded into Python, so a plain
# copy is compiled from the same sources.
plain_libdrac() {
	if [ -z "${DRAC_SAN_FLAGS:-}" ]; then
		echo "$TOP/libdrac.so.1"
		return
	fi
	# shellcheck disable=SC2046
	cc -std=c11 -D_GNU_SOURCE -O2 -shared -fPIC -I"$TOP" \
	    -Wl,--version-script="$TOP/libdrac.map" -o "$T/libdrac-plain.so" \
	    "$TOP/dracauth.c" "$TOP/drac_prot_xdr.c" \
	    $(pkg-config --cflags --libs libtirpc) && echo "$T/libdrac-plain.so"
}

ok() { CHECKS_OK=$((CHECKS_OK + 1)); echo "ok - $*"; }
not_ok() { CHECKS_FAILED=$((CHECKS_FAILED + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: runs the command, records the outcome.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# map_dump FILE: prints "key=value" lines, as Berkeley DB's own tool reads
# the map (NUL bytes shown as \00).
map_dump() {
	db5.3_dump -p "$1" | awk '
	    /^HEADER=END/ { body = 1; next }
	    /^DATA=END/ { body = 0 }
	    body { sub(/^ /, ""); if (k == "") { k = $0 } else { print k "=" $0; k = "" } }'
}

# map_has FILE KEY: the key is in the map (any value).
map_has() { map_dump "$1" | grep -q -- "^$2="; }

# Sanitizer and valgrind reports anywhere in this test's logs fail it.
check_memory_reports() {
	local hits
	hits=$(grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|ERROR SUMMARY: [1-9]|definitely lost: [1-9]' \
	    "$T"/*.log 2>/dev/null)
	if [ -n "$hits" ]; then
		not_ok "memory errors reported in: $hits"
		grep -hE -A20 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|ERROR SUMMARY: [1-9]|definitely lost: [1-9]' $hits | head -60
	fi
}

finish() {
	check_memory_reports
	echo "$TESTNAME: $CHECKS_OK passed, $CHECKS_FAILED failed"
	[ "$CHECKS_FAILED" -eq 0 ] && [ "$CHECKS_OK" -gt 0 ]
}
