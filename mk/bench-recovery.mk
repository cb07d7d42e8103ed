# Recovery benchmark: iscsi-root's supervisor against open-iscsi's iscsid on the same Debian
# root, the same target and the same faults, in one run (scripts/bench-recovery.sh): time
# from each fault's end to the first completed write, the frozen target's detection, the
# resident daemon's RSS, each with the ratio ours / iscsid. About 12 minutes. Needs root.
#   make bench-recovery                                   both stacks, every fault
#   make bench-recovery BENCH_FAULTS="connection-deleted"
# Included by the top Makefile; paths are relative to the repository root.

.PHONY: bench-recovery

bench-recovery: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) scripts/bench-recovery.sh

bench: bench-recovery
