#!/bin/sh
# `make check`: unit tests, then every tests/t-*.sh, each in its own
# namespaces.  A failing test's log is printed; the last line counts.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=${DRAC_TEST_TMP:-$top/tests/tmp}
mkdir -p "$tmp"
passed=0
failed=0
checks_ok=0
checks_failed=0
names=""

if [ "$(id -u)" -ne 0 ]; then
	echo "make check must run as root (tests start rpcbind and MTAs in" \
	    "private namespaces)" >&2
	exit 1
fi

run_one() {
	name=$1
	shift
	log=$tmp/$name.log
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	counts=$(tail -n 1 "$log" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
	if [ -n "$counts" ]; then
		checks_ok=$((checks_ok + ${counts% *}))
		checks_failed=$((checks_failed + ${counts#* }))
	fi
	if [ $rc -eq 0 ] && [ -n "$counts" ]; then
		passed=$((passed + 1))
		echo "PASS $name ($(( $(date +%s) - start ))s): $(tail -n 1 "$log")"
	else
		failed=$((failed + 1))
		names="$names $name"
		echo "FAIL $name ($(( $(date +%s) - start ))s)"
		sed 's/^/    /' "$log"
	fi
}

run_one unit "$top/tests/unit"
for t in "$top"/tests/t-*.sh; do
	[ -e "$t" ] || continue
	if [ -n "${TESTS:-}" ]; then
		case " $TESTS " in *" $(basename "$t" .sh) "*) ;; *) continue ;; esac
	fi
	run_one "$(basename "$t" .sh)" bash "$t"
done

# Repeat what failed at the end, where a truncated CI log still shows it.
for name in $names; do
	echo "=== $name: failed checks"
	grep -E '^not ok' "$tmp/$name.log" || tail -n 5 "$tmp/$name.log"
done
[ -n "$names" ] && echo "failed:$names"
echo "tests: $passed passed, $failed failed"
# A failed test that could not count its checks still counts as a failure.
[ "$failed" -gt 0 ] && [ "$checks_failed" -eq 0 ] && checks_failed=$failed
echo "checks: $checks_ok passed, $checks_failed failed"
[ "$failed" -eq 0 ]
