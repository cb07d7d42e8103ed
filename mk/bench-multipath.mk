# Multipath benchmark: a root on a dm-multipath map over two paths to one target, iscsi-root's
# supervisors against open-iscsi + multipathd (dracut's iscsi and multipath modules) on the
# same Debian root, the same tgtd and the same two paths, in one run
# (scripts/bench-multipath.sh): path B reset, then silent for 20 s; per fault the time to the
# first completed write, to the path's failure and reinstatement in the map, the resident
# daemons' RSS, each with the ratio ours / open-iscsi. About 7 minutes. Needs root.
#   make bench-multipath
#   make bench-multipath BENCH_SILENCE_SECONDS=30
#   make bench-multipath BENCH_FAULT_PATH=a    break path A (the peer's active one) instead of B
# Included by the top Makefile; paths are relative to the repository root.

BENCH_SILENCE_SECONDS ?= 20

.PHONY: bench-multipath

bench-multipath: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) BENCH_SILENCE_SECONDS=$(BENCH_SILENCE_SECONDS) scripts/bench-multipath.sh

bench: bench-multipath
