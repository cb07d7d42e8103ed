# DVT kernel-path benchmark: `iscsi-root dvt --block-device --bench` against fio on the same
# disk (LUN 2 on tgtd) in the same guest (scripts/bench-dvt-kernel.sh). Needs root; one guest.
#   make bench-dvt-kernel   only this one
#   make bench              runs it too
# Included by the top Makefile; paths are relative to the repository root.

.PHONY: bench-dvt-kernel

bench-dvt-kernel: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) scripts/bench-dvt-kernel.sh

bench: bench-dvt-kernel
