# The distribution drop-in without a VM (Tests/Packaging/run.sh): shellcheck on the hooks,
# the units' syntax, make install/uninstall, and the Debian package (dpkg-buildpackage,
# dpkg -i / -r / --purge into a throwaway root). "N passed, N failed"; about 1 minute.
# Included by the top Makefile; paths are relative to the repository root.

.PHONY: packaging

packaging: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) Tests/Packaging/run.sh

CHECK_SUITES += packaging
