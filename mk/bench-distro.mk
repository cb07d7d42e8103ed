# Distribution benchmark: dracut's initramfs of one Debian tree with iscsi-root's module
# against the same with dracut's own iscsi module and open-iscsi, same target, kernel and
# command line (scripts/bench-distro.sh): time to multi-user.target, initramfs sizes and
# their iSCSI share. About 11 minutes (two dracut builds, 2 × BENCH_DISTRO_RUNS boots).
# Needs root.
#   make bench-distro                       only this one
#   make bench-distro BENCH_DISTRO_RUNS=5   more boots of each
#   make bench                              runs it too
# Included by the top Makefile; paths are relative to the repository root.

BENCH_DISTRO_RUNS ?= 3

.PHONY: bench-distro

bench-distro: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) BENCH_DISTRO_RUNS=$(BENCH_DISTRO_RUNS) scripts/bench-distro.sh

bench: bench-distro
