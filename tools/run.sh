#!/bin/sh
# `make run`: start dracd in the foreground on a loopback-only default
# configuration, with the map under ./run.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/run
mkdir -p "$dir"

if ! rpcinfo -T udp 127.0.0.1 100000 4 >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "rpcbind is not running; start it as root: rpcbind -w" >&2
		exit 1
	fi
	echo "starting rpcbind"
	rpcbind -w || { echo "cannot start rpcbind" >&2; exit 1; }
	sleep 0.2
fi

cat > "$dir/dracd.allow" <<'ALLOW'
# make run: only notifiers on this machine's loopback may add addresses.
127.0.0.0/8
::1
ALLOW

cat <<MSG
dracd: map $dir/dracd.db, allow list $dir/dracd.allow, expiry 30 minutes.
In another shell:
  $top/dracctl add 192.0.2.10             # authorize an address
  db5.3_dump -p $dir/dracd.db             # what the MTA will read
Postfix:  check_client_access hash:$dir/dracd
sendmail: FEATURE(\`drac', \`hash $dir/dracd')
Stop with Ctrl-C.
MSG
exec "$top/dracd" -f -d -a "$dir/dracd.allow" "$dir/dracd.db"
