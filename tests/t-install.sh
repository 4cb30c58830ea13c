#!/bin/bash
# make install into a staging root, then build callers against what was
# installed: classic ones (own prototypes, -ldrac or -ldracauth, shared
# and static) and a new-style one through drac.h and pkg-config.
source "$(dirname "$0")/lib.sh"
enter_namespace "$@"

ROOT=$T/root
P=/usr/local
make -s -C "$TOP" install DESTDIR="$ROOT" PREFIX="$P" >"$T/install.log" 2>&1
check "make install succeeds" [ $? -eq 0 ]
for f in sbin/dracd bin/dracctl lib/libdrac.a lib/libdrac.so.1 lib/libdrac.so \
    lib/libdracauth.so lib/libdracauth.a include/drac.h \
    lib/pkgconfig/libdrac.pc share/man/man8/dracd.8 share/man/man3/dracauth.3; do
	check "installed $f" [ -e "$ROOT$P/$f" ]
done
soname=$(objdump -p "$ROOT$P/lib/libdrac.so.1" | awk '/SONAME/ { print $2 }')
check "soname is libdrac.so.1 ($soname)" [ "$soname" = libdrac.so.1 ]
exported=$(nm -D --defined-only "$ROOT$P/lib/libdrac.so.1" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort | tr '\n' ' ')
check "only the public API is exported ($exported)" [ "$exported" = \
    "drac_add drac_client_close drac_client_error drac_client_open drac_del drac_flush drac_list drac_query drac_stats drac_strerror dracauth dracauth6 dracauth_str dracconn dracconn6 dracdisc dracdisc6 dracsend dracsend6 " ]
versions=$(nm -D --defined-only "$ROOT$P/lib/libdrac.so.1" | awk '$2 == "T" { print $3 }')
check "the classic API is version DRAC_1.0" \
    [ "$(grep -c '^drac[a-z0-9_]*@@DRAC_1.0$' <<<"$versions")" -eq 9 ]
check "the handle API is version DRAC_1.1" \
    [ "$(grep -c '^drac_[a-z_]*@@DRAC_1.1$' <<<"$versions")" -eq 10 ]
for f in share/man/man8/dracctl.8 share/man/man5/dracd.allow.5 \
    share/man/man3/drac_list.3; do
	check "installed $f" [ -e "$ROOT$P/$f" ]
done

L=$ROOT$P/lib
# Under make check-asan the library is instrumented: so are its callers.
CC="cc ${DRAC_SAN_FLAGS:-}"
$CC -o "$T/classic-so" "$TOP/tests/classic.c" -L"$L" -ldrac -Wl,-rpath,"$L" 2>"$T/cc.log"
check "classic caller links with -ldrac (shared)" [ $? -eq 0 ]
$CC -o "$T/classic-alias" "$TOP/tests/classic.c" -L"$L" -ldracauth -Wl,-rpath,"$L" 2>>"$T/cc.log"
check "classic caller links with -ldracauth" [ $? -eq 0 ]
$CC -o "$T/classic-a" "$TOP/tests/classic.c" "$L/libdrac.a" $(pkg-config --libs libtirpc) 2>>"$T/cc.log"
check "classic caller links with libdrac.a" [ $? -eq 0 ]
cat > "$T/modern.c" <<'C'
#include <drac.h>
#include <stdio.h>

int
main(int argc, char *argv[])
{
	char *msg;
	int rc = dracauth_str("127.0.0.1", argc > 1 ? argv[1] : "", 0, &msg);

	printf("rc=%d msg=%s\n", rc, msg);
	return rc == DRAC_OK ? 0 : 1;
}
C
export PKG_CONFIG_PATH=$L/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOT
# shellcheck disable=SC2046
$CC -Wall -Werror -o "$T/modern" "$T/modern.c" $(pkg-config --cflags --libs libdrac) -Wl,-rpath,"$L" 2>>"$T/cc.log"
check "new-style caller builds with drac.h and pkg-config" [ $? -eq 0 ]

start_rpcbind || exit 1
start_dracd -a "$TOP/dracd.allow" "$T/map.db" || exit 1
check "installed lib, classic shared: dracauth" \
    grep -q "^rc=0 " <<<"$("$T/classic-so" auth 127.0.0.1 192.0.2.1)"
check "installed lib, -ldracauth: dracauth6" \
    grep -q "^rc=0 " <<<"$("$T/classic-alias" auth6 ::1 2001:db8::1)"
check "installed lib, static: dracconn/dracsend" \
    grep -q "^rc=0 msg=Server reports add succeeded" <<<"$("$T/classic-a" session 127.0.0.1 192.0.2.2)"
check "new-style caller adds an IPv6 address" "$T/modern" 2001:db8::2
check "modern caller rejects a bad address" bash -c "! '$T/modern' 300.1.1.1"
check "installed dracctl works" "$ROOT$P/bin/dracctl" -q add 192.0.2.3
for a in 192.0.2.1 2001:db8::1 192.0.2.2 2001:db8::2 192.0.2.3; do
	check "$a in the map" map_has "$T/map.db" "$a"
done
cat "$T/cc.log"
finish
