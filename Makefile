# drac: dracd, libdrac, dracctl.  `make`, `make check`, `make run`, `make install`.

VERSION   = 1.0.0
SOVERSION = 1
PREFIX   ?= /usr/local
DESTDIR  ?=

CC       ?= cc
TIRPC_CFLAGS != pkg-config --cflags libtirpc 2>/dev/null || echo -I/usr/include/tirpc
TIRPC_LIBS   != pkg-config --libs libtirpc 2>/dev/null || echo -ltirpc
WARN      = -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(TIRPC_CFLAGS) $(CFLAGS)
# rpcgen's output is not ours to fix.
GEN_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wno-unused-variable \
	-Wno-cast-function-type $(TIRPC_CFLAGS) $(CFLAGS)

DAEMON_OBJS = dracd.o service.o admin.o table.o mapdb.o writer.o journal.o allow.o \
	addr.o log.o clock.o drac_prot_xdr.o $(SOCKETMAP_OBJS)
SOCKETMAP_OBJS = socketmap.o socketmap_proto.o
LIB_OBJS    = dracauth.pic.o dracclient.pic.o drac_prot_xdr.pic.o
LIBSO       = libdrac.so.$(VERSION)
PROGS       = dracd dracctl
MANLINKS    = dracconn dracsend dracdisc dracauth6 dracconn6 dracsend6 \
	dracdisc6 dracauth_str drac_client_open drac_client_close drac_add \
	drac_del drac_query drac_list drac_stats drac_flush drac_strerror \
	drac_client_error
TEST_PROGS  = tests/unit tests/classic-static tests/classic-shared \
	tests/handle

all: $(PROGS) libdrac.a $(LIBSO) $(TEST_PROGS)

# rpcgen names its #include after the input file: generate from a copy so
# the protocol header does not collide with the public drac.h.
drac_prot.x: drac.x
	cp drac.x $@
drac_prot.h: drac_prot.x
	rm -f $@ && rpcgen -h -o $@ drac_prot.x
drac_prot_xdr.c: drac_prot.x drac_prot.h
	rm -f $@ && rpcgen -c -o $@ drac_prot.x

drac_prot_xdr.o: drac_prot_xdr.c
	$(CC) $(GEN_CFLAGS) -c -o $@ drac_prot_xdr.c
drac_prot_xdr.pic.o: drac_prot_xdr.c
	$(CC) $(GEN_CFLAGS) -fPIC -c -o $@ drac_prot_xdr.c

%.o: %.c drac_prot.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
%.pic.o: %.c drac_prot.h drac.h client.h
	$(CC) $(ALL_CFLAGS) -fPIC -c -o $@ $<

dracd.o service.o admin.o clock.o: dracd.h addr.h allow.h mapdb.h table.h log.h writer.h
writer.o: writer.h journal.h mapdb.h addr.h log.h dracd.h
journal.o: journal.h log.h
table.o: table.h addr.h
mapdb.o: mapdb.h addr.h log.h
allow.o: allow.h addr.h
addr.o: addr.h
log.o: log.h
socketmap.o: socketmap.h socketmap_proto.h dracd.h addr.h table.h log.h
socketmap_proto.o: socketmap_proto.h addr.h
dracd.o: socketmap.h

dracd: $(DAEMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(DAEMON_OBJS) -ldb $(TIRPC_LIBS) -pthread

libdrac.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $(LIB_OBJS)
$(LIBSO): $(LIB_OBJS) libdrac.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libdrac.so.$(SOVERSION) \
	    -Wl,--version-script=libdrac.map -o $@ $(LIB_OBJS) $(TIRPC_LIBS)
	ln -sf $(LIBSO) libdrac.so.$(SOVERSION)
	ln -sf libdrac.so.$(SOVERSION) libdrac.so

dracctl: dracctl.o libdrac.a
	$(CC) $(LDFLAGS) -o $@ dracctl.o libdrac.a $(TIRPC_LIBS)

tests/unit: tests/unit.c addr.c allow.c table.c mapdb.c log.c drac_prot.h \
	socketmap_proto.c socketmap_proto.h journal.c journal.h
	$(CC) $(ALL_CFLAGS) -I. -o $@ tests/unit.c -ldb

# The classic callers link the way the old patches do: -ldrac, no header.
tests/classic-static: tests/classic.c libdrac.a
	$(CC) $(ALL_CFLAGS) -o $@ tests/classic.c libdrac.a $(TIRPC_LIBS)
# Through the shared library: only what libdrac.map exports links.
tests/handle: tests/handle.c drac.h $(LIBSO)
	$(CC) $(ALL_CFLAGS) -I. -o $@ tests/handle.c -L. -ldrac -pthread \
	    -Wl,-rpath,'$$ORIGIN/..'
tests/classic-shared: tests/classic.c $(LIBSO)
	$(CC) $(ALL_CFLAGS) -o $@ tests/classic.c -L. -ldrac \
	    -Wl,-rpath,'$$ORIGIN/..'

SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
VALGRIND  = valgrind --error-exitcode=99 --leak-check=full \
	--suppressions=$(CURDIR)/tests/valgrind.supp \
	--errors-for-leak-kinds=definite --log-file=$$T/valgrind.%p.log

deps:
	@sh tools/packages.sh

# The tests' own packages: Postfix, swaks, a private sendmail, Dovecot
# (dovecot-dev too, so that `all` builds the plugin).
test-deps: deps
	@bash tests/mta-setup.sh
	@bash tests/dovecot-setup.sh

check: test-deps
	@$(MAKE) -s all
	@sh tests/run.sh

# The whole suite again with everything built under ASan and UBSan; the
# normal build is restored afterwards.
check-asan: test-deps
	$(MAKE) clean
	$(MAKE) all CFLAGS="-O1 -g $(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)"
	ASAN_OPTIONS=detect_leaks=1:exitcode=99 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	DRAC_SAN_FLAGS="$(SAN_FLAGS)" sh tests/run.sh; \
	rc=$$?; $(MAKE) -s clean; $(MAKE) -s all >/dev/null; exit $$rc

# The integration tests with dracd under valgrind memcheck.
check-valgrind: test-deps all
	DRACD_WRAPPER='$(VALGRIND)' sh tests/run.sh

run: deps all
	@sh tools/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man3 \
	    $(DESTDIR)$(PREFIX)/share/doc/drac
	install -m 755 dracd $(DESTDIR)$(PREFIX)/sbin/dracd
	install -m 755 dracctl $(DESTDIR)$(PREFIX)/bin/dracctl
	install -m 644 libdrac.a $(DESTDIR)$(PREFIX)/lib/libdrac.a
	install -m 755 $(LIBSO) $(DESTDIR)$(PREFIX)/lib/$(LIBSO)
	ln -sf $(LIBSO) $(DESTDIR)$(PREFIX)/lib/libdrac.so.$(SOVERSION)
	ln -sf libdrac.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libdrac.so
	ln -sf libdrac.a $(DESTDIR)$(PREFIX)/lib/libdracauth.a
	ln -sf libdrac.so $(DESTDIR)$(PREFIX)/lib/libdracauth.so
	install -m 644 drac.h $(DESTDIR)$(PREFIX)/include/drac.h
	# written at install time: a built file would keep an earlier PREFIX
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    libdrac.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libdrac.pc
	install -m 644 dracd.8 dracctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 dracd.allow.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 dracauth.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	for f in $(MANLINKS); do \
	    ln -sf dracauth.3 $(DESTDIR)$(PREFIX)/share/man/man3/$$f.3; done
	install -m 644 dracd.allow $(DESTDIR)$(PREFIX)/share/doc/drac/dracd.allow.example
	install -d $(DESTDIR)$(PREFIX)/share/doc/drac/examples
	sed 's|@PREFIX@|$(PREFIX)|g' contrib/systemd/dracd.service \
	    > $(DESTDIR)$(PREFIX)/share/doc/drac/examples/dracd.service
	sed 's|@PREFIX@|$(PREFIX)|g' contrib/init.d/dracd \
	    > $(DESTDIR)$(PREFIX)/share/doc/drac/examples/dracd.init
	chmod 755 $(DESTDIR)$(PREFIX)/share/doc/drac/examples/dracd.init

clean:
	rm -f *.o $(PROGS) libdrac.a libdrac.so* $(TEST_PROGS) \
	    drac_prot.x drac_prot.h drac_prot_xdr.c

.PHONY: all deps test-deps check check-asan check-valgrind run install clean
-include contrib/dovecot/plugin.mk
-include bench/bench.mk
-include fuzz/fuzz.mk
