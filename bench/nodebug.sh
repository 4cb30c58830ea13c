#!/bin/sh
# bench/nodebug.sh PROGRAM ARGS...: runs PROGRAM without any -d argument.
# tests/lib.sh's start_dracd always passes -d (debug logs, one line per
# add), which a benchmark must not pay for; the bench hands this script
# to start_dracd as DRACD_WRAPPER.  exec keeps the PID start_dracd saw.
prog=$1
shift
for arg; do
	shift
	[ "$arg" = -d ] || set -- "$@" "$arg"
done
exec "$prog" "$@"
