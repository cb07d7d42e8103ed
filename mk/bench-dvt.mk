# DVT data-path benchmark: `iscsi-root dvt --bench` against libiscsi's iscsi-perf on one
# private tgtd on 127.0.0.1 with a RAM-backed LUN (scripts/bench-dvt.sh). Needs root (tgtd).
#   make bench-dvt      only this one
#   make bench          runs it too
# Included by the top Makefile; paths are relative to the repository root.

.PHONY: bench-dvt

bench-dvt: bench-binary
	scripts/bench-dvt.sh $(BENCH_BINARY)

bench: bench-dvt
