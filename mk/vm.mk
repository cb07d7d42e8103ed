# End-to-end boots under QEMU (software emulation): see Tests/VM/.
#   make vm-test   every scenario of Tests/VM/run.sh ("N passed, N failed")
#   make demo      one boot shown on the console, with a tgtd serving the root image
# Both need root; they install their Debian packages when missing (Tests/VM/lib/deps.sh)
# and cache the kernel, logs and images under cache/.
# Included by the top Makefile; paths are relative to the repository root.

.PHONY: vm-test demo

vm-test: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) Tests/VM/run.sh

demo: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) Tests/VM/demo.sh

# `make check` (CI) boots the scenarios too: about 20 s each under emulation; and the demo
# (about 30 s), so that the README's first command is proven on every run.
CHECK_SUITES += vm-test demo
