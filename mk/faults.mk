# The supervisor under faults (Tests/VM/faults.sh): connection deleted on the target,
# target killed and restarted, target frozen, guest link dropped — each while the guest
# writes with fsync; "N passed, N failed". Needs root; about 45 s per scenario.
# Included by the top Makefile; paths are relative to the repository root.

.PHONY: vm-faults

vm-faults: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) Tests/VM/faults.sh

CHECK_SUITES += vm-faults
