#!/bin/sh
# fuzz/run.sh TARGET SECONDS [libFuzzer options...]: one fuzzing run of
# fuzz/bin/TARGET over fuzz/corpus/TARGET, new inputs into fuzz/work/TARGET.
# fuzz/run.sh -regress TARGET: replay the committed corpus once.
# Exits nonzero on any crash, leak, sanitizer report or timeout.
set -u
cd "$(dirname "$0")/.." || exit 1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# As root, each run gets a private network namespace with only loopback
# (as the tests do): the svc target's wildcard-bound ports are never
# exposed, and no rpcbind or dracd on the host is in the way.
isolated() {
	if [ -z "${DRAC_FUZZ_IN_NS:-}" ] && [ "$(id -u)" -eq 0 ] &&
	    command -v unshare >/dev/null && command -v ip >/dev/null &&
	    unshare --net true 2>/dev/null; then
		DRAC_FUZZ_IN_NS=1 unshare --net sh -c \
		    'ip link set lo up && exec "$@"' sh "$@"
	else
		"$@"
	fi
}

if [ "$1" = -regress ]; then
	t=$2
	mkdir -p fuzz/work fuzz/artifacts
	if isolated fuzz/bin/"$t" -runs=0 -artifact_prefix=fuzz/artifacts/"$t"- \
	    fuzz/corpus/"$t" >fuzz/work/"$t".regress.log 2>&1
	then
		echo "fuzz-regress: $t ok ($(ls fuzz/corpus/"$t" | wc -l) inputs)"
		exit 0
	fi
	tail -n 60 fuzz/work/"$t".regress.log
	echo "fuzz-regress: $t FAILED, log fuzz/work/$t.regress.log"
	exit 1
fi

t=$1 secs=$2
shift 2
dict=
[ -f fuzz/"$t".dict ] && dict=-dict=fuzz/"$t".dict
mkdir -p fuzz/work/"$t" fuzz/artifacts
echo "fuzz: $t for $secs s"
isolated fuzz/bin/"$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix=fuzz/artifacts/"$t"- $dict "$@" \
    fuzz/work/"$t" fuzz/corpus/"$t" >fuzz/work/"$t".log 2>&1
rc=$?
grep -E '^(#[0-9]+.*(DONE|INITED)|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb))' \
    fuzz/work/"$t".log | sed 's/^/  /'
if [ $rc -ne 0 ]; then
	tail -n 60 fuzz/work/"$t".log
	echo "fuzz: $t FAILED (exit $rc), log fuzz/work/$t.log," \
	    "reproducer in fuzz/artifacts/"
	exit 1
fi
exit 0
