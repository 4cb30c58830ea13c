#!/bin/sh
# tests/dovecot-setup.sh: installs Debian's Dovecot 2.3 (IMAP, POP3 and
# the plugin headers) for tests/t-dovecot.sh and for building the drac
# plugin.  Run as root on Debian 12; idempotent: with everything in place
# it does nothing and prints nothing.
#
# No service is started: a policy-rc.d that exits 101 is in place while
# installing (and removed afterwards).  Packages are downloaded with the
# network, then unpacked and configured in a network namespace with no
# interfaces, so maintainer scripts cannot reach out.
set -u

PKGS="dovecot-core dovecot-imapd dovecot-pop3d dovecot-dev python3 \
iproute2 util-linux"
APT_OPTS="-o DPkg::Lock::Timeout=300 -y -q --no-install-recommends"
LOG=/var/log/drac-dovecot-setup.log

die() {
	echo "dovecot-setup.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root"

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = \
	    installed ]
}

missing_packages() {
	out=""
	for p in $PKGS; do
		installed "$p" || out="$out $p"
	done
	echo "$out"
}

missing=$(missing_packages)
[ -z "$missing" ] && exit 0

: >"$LOG"
run() {
	if ! "$@" >>"$LOG" 2>&1; then
		tail -n 25 "$LOG" >&2
		die "failed: $*"
	fi
}

export DEBIAN_FRONTEND=noninteractive
echo "dovecot-setup.sh: installing$missing"
apt-get -o DPkg::Lock::Timeout=300 update -qq >>"$LOG" 2>&1 ||
    run apt-get -o DPkg::Lock::Timeout=300 update

policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	made_policy=1
	trap 'rm -f "$policy"' EXIT
	trap 'exit 1' HUP INT TERM
fi
# shellcheck disable=SC2086
run apt-get install $APT_OPTS --download-only $missing
# shellcheck disable=SC2086
run unshare --net apt-get install $APT_OPTS --no-download $missing
if [ -n "$made_policy" ]; then
	rm -f "$policy"
	trap - EXIT HUP INT TERM
fi

missing=$(missing_packages)
[ -z "$missing" ] || die "still not installed:$missing"
[ -f /usr/include/dovecot/config.h ] || die "no /usr/include/dovecot/config.h"
echo "dovecot-setup.sh: ready: dovecot $(dpkg-query -W -f='${Version}' \
    dovecot-core)"
