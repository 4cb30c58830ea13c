# contrib/dovecot/plugin.mk: the Dovecot plugin and the post-login script.
# Included at the end of the top Makefile (GNU make).  The plugin is built
# by `make` and installed by `make install` only where Dovecot's headers
# are (Debian: dovecot-dev); `make dovecot-plugin` insists on them.

DOVECOT_INCDIR   ?= /usr/include/dovecot
DOVECOT_CONFIG   ?= /usr/lib/dovecot/dovecot-config
# Dovecot ships no .pc on Debian; dovecot-config names the module dir.
DOVECOT_MODULEDIR ?= $(or \
	$(shell pkg-config --variable=moduledir dovecot 2>/dev/null), \
	$(shell sed -n 's/^dovecot_moduledir=//p' $(DOVECOT_CONFIG) \
	    2>/dev/null), \
	/usr/lib/dovecot/modules)
DOVECOT_PLUGIN   = contrib/dovecot/lib95_drac_plugin.so
# Dovecot loads the plugin into processes built without sanitizers (see
# check-asan), so the plugin and its own copy of libdrac's objects are
# built without them, whatever CFLAGS says.
dovecot_nosan = $(filter-out -fsanitize% -fno-sanitize%,$(1))
# Dovecot's headers need GNU C (typeof) and their config.h.
DOVECOT_PLUGIN_CFLAGS = -std=gnu11 -D_GNU_SOURCE -DHAVE_CONFIG_H -fPIC \
	-I$(DOVECOT_INCDIR) -I. $(WARN) $(call dovecot_nosan,$(CFLAGS))
DOVECOT_PLUGIN_OBJS = contrib/dovecot/drac-plugin.pic.o \
	contrib/dovecot/dracauth.pic.o contrib/dovecot/drac_prot_xdr.pic.o

ifneq ($(wildcard $(DOVECOT_INCDIR)/config.h),)
all: $(DOVECOT_PLUGIN)
install: install-dovecot-plugin
endif
install: install-dovecot-script
clean: clean-dovecot-plugin

dovecot-plugin: $(DOVECOT_PLUGIN)

contrib/dovecot/drac-plugin.pic.o: contrib/dovecot/drac-plugin.c drac.h
	$(CC) $(DOVECOT_PLUGIN_CFLAGS) -c -o $@ contrib/dovecot/drac-plugin.c

# libdrac, from its sources, is linked in; only the plugin's entry
# points are exported.
contrib/dovecot/dracauth.pic.o: dracauth.c drac.h drac_prot.h
	$(CC) $(call dovecot_nosan,$(ALL_CFLAGS)) -fPIC -c -o $@ dracauth.c
contrib/dovecot/drac_prot_xdr.pic.o: drac_prot_xdr.c
	$(CC) $(call dovecot_nosan,$(GEN_CFLAGS)) -fPIC -c -o $@ \
	    drac_prot_xdr.c

$(DOVECOT_PLUGIN): $(DOVECOT_PLUGIN_OBJS) contrib/dovecot/plugin.map
	$(CC) $(call dovecot_nosan,$(LDFLAGS)) -shared \
	    -Wl,--version-script=contrib/dovecot/plugin.map -o $@ \
	    $(DOVECOT_PLUGIN_OBJS) $(TIRPC_LIBS)

install-dovecot-plugin: $(DOVECOT_PLUGIN)
	install -d $(DESTDIR)$(DOVECOT_MODULEDIR)
	install -m 644 $(DOVECOT_PLUGIN) $(DESTDIR)$(DOVECOT_MODULEDIR)/

# The shipped files name /usr/local/: the installed ones name $(PREFIX)/.
DOVECOT_DOCDIR = $(DESTDIR)$(PREFIX)/share/doc/drac/dovecot
install-dovecot-script:
	install -d $(DESTDIR)$(PREFIX)/libexec/drac $(DOVECOT_DOCDIR)
	sed 's|/usr/local/|$(PREFIX)/|g' contrib/dovecot/drac-postlogin \
	    > $(DESTDIR)$(PREFIX)/libexec/drac/drac-postlogin
	chmod 755 $(DESTDIR)$(PREFIX)/libexec/drac/drac-postlogin
	for f in 90-drac-postlogin.conf 90-drac-plugin.conf README; do \
	    sed 's|/usr/local/|$(PREFIX)/|g' contrib/dovecot/$$f \
	    > $(DOVECOT_DOCDIR)/$$f && chmod 644 $(DOVECOT_DOCDIR)/$$f || \
	    exit 1; done

clean-dovecot-plugin:
	rm -f $(DOVECOT_PLUGIN) $(DOVECOT_PLUGIN_OBJS)

.PHONY: dovecot-plugin install-dovecot-plugin install-dovecot-script \
	clean-dovecot-plugin
