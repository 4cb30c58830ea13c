# fuzz/fuzz.mk: libFuzzer targets, included by the top Makefile.
#
#   make fuzz                 build every target, run each FUZZ_SECONDS (30)
#   make fuzz FUZZ_SECONDS=300 FUZZ_TARGETS=svc
#   make fuzz-build           just build fuzz/bin/*
#   make fuzz-regress         replay the committed corpora once (seconds)
#   make fuzz-clean
#
# Targets (fuzz/fuzz_<name>.c, seeds in fuzz/corpus/<name>/):
#   svc     RPC requests through service.c and libtirpc's svc_dg/svc_vc,
#           version 3 through admin.c with the real table and allow list
#   allow   the allow-file parser
#   addr    address parsing/formatting, map keys and map formats
#   escape  log_escape, which guards log lines against untrusted text
#   socketmap  the socketmap parser: netstrings, requests, MTA key forms
#
# New inputs a run finds go to fuzz/work/<name>/ (not committed); crashes
# to fuzz/artifacts/.  Any crash, leak, UB report or timeout fails the run.

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 30
FUZZ_TARGETS  ?= svc allow addr escape socketmap
FUZZ_FLAGS    ?=
FUZZ_SAN       = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_CFLAGS    = -std=c11 -D_GNU_SOURCE $(WARN) $(TIRPC_CFLAGS) -I. -O1 -g \
	$(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_GEN_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wno-unused-variable \
	$(TIRPC_CFLAGS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LDFLAGS   = -fsanitize=fuzzer $(FUZZ_SAN)
FUZZ_HEADERS   = addr.h allow.h dracd.h log.h mapdb.h table.h writer.h \
	drac_prot.h socketmap_proto.h
# Per target: inputs bigger than a TCP record may be (8192 bytes).
FUZZ_OPTS_svc    = -max_len=12288
FUZZ_OPTS_allow  = -max_len=4096
FUZZ_OPTS_addr   = -max_len=256
FUZZ_OPTS_escape = -max_len=1024
# A few whole requests and one beyond the 1024-byte limit.
FUZZ_OPTS_socketmap = -max_len=4096

FUZZ_OBJ_svc    = fuzz/obj/service.o fuzz/obj/admin.o fuzz/obj/table.o \
	fuzz/obj/allow.o fuzz/obj/addr.o fuzz/obj/clock.o \
	fuzz/obj/drac_prot_xdr.o
FUZZ_OBJ_allow  = fuzz/obj/allow.o fuzz/obj/addr.o
FUZZ_OBJ_addr   = fuzz/obj/mapdb.o fuzz/obj/addr.o fuzz/obj/log.o
FUZZ_OBJ_escape = fuzz/obj/log.o
FUZZ_OBJ_socketmap = fuzz/obj/socketmap_proto.o fuzz/obj/addr.o

FUZZ_BINS = $(FUZZ_TARGETS:%=fuzz/bin/%)

fuzz/obj/fuzz_%.o: fuzz/fuzz_%.c $(FUZZ_HEADERS)
	@mkdir -p fuzz/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<
fuzz/obj/drac_prot_xdr.o: drac_prot_xdr.c drac_prot.h
	@mkdir -p fuzz/obj
	$(FUZZ_CC) $(FUZZ_GEN_CFLAGS) -c -o $@ drac_prot_xdr.c
fuzz/obj/%.o: %.c $(FUZZ_HEADERS)
	@mkdir -p fuzz/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

fuzz/bin/svc: fuzz/obj/fuzz_rpc.o $(FUZZ_OBJ_svc)
	@mkdir -p fuzz/bin
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ fuzz/obj/fuzz_rpc.o $(FUZZ_OBJ_svc) \
	    $(TIRPC_LIBS)
fuzz/bin/allow: fuzz/obj/fuzz_allow.o $(FUZZ_OBJ_allow)
	@mkdir -p fuzz/bin
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ fuzz/obj/fuzz_allow.o $(FUZZ_OBJ_allow)
fuzz/bin/addr: fuzz/obj/fuzz_addr.o $(FUZZ_OBJ_addr)
	@mkdir -p fuzz/bin
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ fuzz/obj/fuzz_addr.o $(FUZZ_OBJ_addr) -ldb
fuzz/bin/escape: fuzz/obj/fuzz_escape.o $(FUZZ_OBJ_escape)
	@mkdir -p fuzz/bin
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ fuzz/obj/fuzz_escape.o $(FUZZ_OBJ_escape)
fuzz/bin/socketmap: fuzz/obj/fuzz_socketmap.o $(FUZZ_OBJ_socketmap)
	@mkdir -p fuzz/bin
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ fuzz/obj/fuzz_socketmap.o \
	    $(FUZZ_OBJ_socketmap)

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

# clang with its libFuzzer runtime, and what the daemon builds with.
fuzz-deps:
	@sh tools/packages.sh clang libclang-rt-14-dev

# Runs every target even after one fails, then fails if any did.
fuzz: fuzz-build
	@failed=; \
	$(foreach t,$(FUZZ_TARGETS),sh fuzz/run.sh $(t) $(FUZZ_SECONDS) \
	    $(FUZZ_OPTS_$(t)) $(FUZZ_FLAGS) || failed="$$failed $(t)";) \
	[ -z "$$failed" ] || { echo "fuzz: failed:$$failed"; exit 1; }

# Every committed seed and reproducer, once: a quick regression check.
fuzz-regress: fuzz-build
	@failed=; \
	$(foreach t,$(FUZZ_TARGETS),sh fuzz/run.sh -regress $(t) || \
	    failed="$$failed $(t)";) \
	[ -z "$$failed" ] || { echo "fuzz-regress: failed:$$failed"; exit 1; }

fuzz-clean:
	rm -rf fuzz/bin fuzz/obj fuzz/work fuzz/artifacts

.PHONY: fuzz fuzz-deps fuzz-build fuzz-regress fuzz-clean
