# The domain validation tool through the kernel (Tests/VM/dvt.sh): a guest booted from
# iSCSI runs `iscsi-root dvt --kernel` pairwise against a second tgtd target with a script,
# with a script that fails one key value and with the built-in check, then --block-device
# on its root's disk (refused) and on a second LUN. Needs root; one guest, a few minutes.
# Included by the top Makefile; paths are relative to the repository root.

.PHONY: vm-dvt

vm-dvt: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) Tests/VM/dvt.sh

CHECK_SUITES += vm-dvt
