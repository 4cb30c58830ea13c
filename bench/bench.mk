# bench/bench.mk: `make bench`, included at the end of the top Makefile.
# The bench starts its own rpcbind and dracd in private namespaces (as
# root, like `make check`) and prints one table; see BENCHMARKS in README.
# BENCH_SECS sets the seconds per measurement (default 3).

BENCH_PROGS = bench/dracload

bench/dracload: bench/dracload.c libdrac.a drac.h drac_prot.h
	$(CC) $(ALL_CFLAGS) -I. -pthread -o $@ bench/dracload.c libdrac.a \
	    -ldb $(TIRPC_LIBS)

bench: all $(BENCH_PROGS)
	@bash bench/bench.sh

clean: clean-bench
clean-bench:
	rm -f $(BENCH_PROGS)

.PHONY: bench clean-bench
