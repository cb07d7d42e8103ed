# The agent against LIO, the Linux kernel's iSCSI target, run in a second QEMU guest
# (Tests/VM/lio.sh): plain, CHAP, mutual CHAP, digests, a session dropped by LIO, probe and
# the dvt sweep; "N passed, N failed". Needs root; about 2.5 min in all.
# Included by the top Makefile; paths are relative to the repository root.

.PHONY: vm-lio

vm-lio: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) Tests/VM/lio.sh

CHECK_SUITES += vm-lio
