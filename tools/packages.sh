#!/bin/sh
# Installs the Debian packages that building and testing drac need.
# As root it runs apt-get; otherwise it prints the command to run.
# Usage: packages.sh [extra-package ...]
set -u

need="gcc make pkg-config libc6-dev cpp rpcsvc-proto libtirpc-dev libdb5.3-dev \
db5.3-util rpcbind iproute2 util-linux python3 mandoc libfaketime strace valgrind \
clang libclang-rt-14-dev $*"

missing=""
for p in $need; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "drac needs these Debian packages:$missing" >&2
	echo "run: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Some packages start services on install; we start our own, privately.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e $policy ]; then
	printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy && made_policy=1
fi
apt-get update -qq >/dev/null 2>&1 || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/tmp/drac-apt.log 2>&1
rc=$?
[ -n "$made_policy" ] && rm -f $policy
if [ $rc -ne 0 ]; then
	tail -20 /tmp/drac-apt.log >&2
	echo "packages.sh: apt-get install failed" >&2
	exit 1
fi
