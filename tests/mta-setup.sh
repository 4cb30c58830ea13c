#!/bin/bash
# tests/mta-setup.sh: installs the real MTAs that tests/t-postfix.sh and
# tests/t-sendmail.sh drive.  Run as root on Debian 12; idempotent (a
# second run with everything in place does nothing and prints nothing).
#
# The two MTAs conflict as Debian packages, so:
#  - postfix, swaks and their helpers are installed normally with apt-get
#    (debconf "No configuration", no service started: a policy-rc.d that
#    exits 101 is in place while installing; maintainer scripts run in a
#    network namespace that has no interfaces, so they cannot reach out);
#  - sendmail-bin, sendmail-base and sendmail-cf are downloaded with
#    `apt-get download` and unpacked with `dpkg -x` into $DRAC_SENDMAIL_ROOT
#    (default /var/cache/drac-test/sendmail).  Nothing of sendmail is
#    installed system-wide; the tests run its binary from there with a
#    sendmail.cf they build with m4 from the unpacked sendmail-cf.  Only
#    the libraries the binary links against are installed, as packages.
#
# apt-get must not remove anything: if it would (another MTA is installed),
# the script stops and says so.
set -u

SMROOT=${DRAC_SENDMAIL_ROOT:-/var/cache/drac-test/sendmail}
CACHE=$(dirname "$SMROOT")
# postfix + the SMTP client + what the tests use besides the base packages
PKGS="postfix swaks libio-socket-inet6-perl python3 m4 iproute2 util-linux \
db5.3-util"
# sendmail-bin's library dependencies (apt-cache depends sendmail-bin)
SM_LIBS="libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2 libssl3 \
libwrap0"
SM_DEBS="sendmail-bin sendmail-base sendmail-cf"
SM_BIN=$SMROOT/usr/libexec/sendmail/sendmail

die() {
	echo "mta-setup.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root"

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = \
	    installed ]
}

sendmail_ready() {
	[ -f "$SMROOT/.complete" ] && [ -x "$SM_BIN" ] &&
	    [ -f "$SMROOT/usr/share/sendmail/cf/feature/drac.m4" ] &&
	    ! ldd "$SM_BIN" 2>&1 | grep -q 'not found'
}

missing_packages() {
	local p out=""
	for p in $PKGS $SM_LIBS; do
		installed "$p" || out="$out $p"
	done
	echo "$out"
}

mkdir -p "$CACHE"
exec 9>"$CACHE/.setup.lock"
flock 9

missing=$(missing_packages)
if [ -z "$missing" ] && sendmail_ready; then
	exit 0
fi

log=$CACHE/apt.log
: >"$log"
run() {
	if ! "$@" >>"$log" 2>&1; then
		tail -n 25 "$log" >&2
		die "failed: $*"
	fi
}

export DEBIAN_FRONTEND=noninteractive
echo "mta-setup.sh: updating the package lists"
apt-get update -qq >>"$log" 2>&1 || run apt-get update

if [ -n "$missing" ]; then
	echo "mta-setup.sh: installing$missing"
	# shellcheck disable=SC2086
	removals=$(apt-get install -s -q --no-install-recommends $missing |
	    grep '^Remv ')
	if [ -n "$removals" ]; then
		echo "$removals" >&2
		die "installing$missing would remove the packages above" \
		    "(another MTA?); not touching them"
	fi
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	policy=/usr/sbin/policy-rc.d
	made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
		trap '[ -n "$made_policy" ] && rm -f "$policy"' EXIT
	fi
	# Download with the network, unpack and configure without it.
	# shellcheck disable=SC2086
	run apt-get install -y -q --download-only --no-install-recommends \
	    $missing
	# shellcheck disable=SC2086
	run unshare --net apt-get install -y -q --no-download \
	    --no-install-recommends $missing
	if [ -n "$made_policy" ]; then
		rm -f "$policy"
		made_policy=
	fi
	missing=$(missing_packages)
	[ -z "$missing" ] || die "still not installed:$missing"
fi

if ! sendmail_ready; then
	echo "mta-setup.sh: unpacking $SM_DEBS into $SMROOT"
	dl=$(mktemp -d "$CACHE/download.XXXXXX") || die "mktemp"
	# apt drops privileges to _apt for downloads when it can
	id _apt >/dev/null 2>&1 && chown _apt "$dl"
	# shellcheck disable=SC2086
	(cd "$dl" && apt-get download -q $SM_DEBS) >>"$log" 2>&1 || {
		tail -n 25 "$log" >&2
		rm -rf "$dl"
		die "apt-get download $SM_DEBS failed"
	}
	rm -rf "$SMROOT.new"
	mkdir -p "$SMROOT.new"
	for deb in "$dl"/*.deb; do
		run dpkg -x "$deb" "$SMROOT.new"
		dpkg-deb -f "$deb" Package Version | paste -sd' ' \
		    >>"$SMROOT.new/.complete"
	done
	rm -rf "$dl" "$SMROOT"
	mv "$SMROOT.new" "$SMROOT"
	if ! sendmail_ready; then
		ldd "$SM_BIN" >&2
		die "the unpacked sendmail is not usable"
	fi
fi
echo "mta-setup.sh: ready: postfix $(dpkg-query -W -f='${Version}' \
    postfix), sendmail in $SMROOT ($(grep sendmail-bin "$SMROOT/.complete"))"
