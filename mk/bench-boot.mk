# Boot benchmark: the project's initramfs against a busybox + open-iscsi iscsistart one,
# same kernel, target and QEMU settings (scripts/bench-boot.sh). Needs root.
#   make bench-boot     only this one
#   make bench          runs it too
# Included by the top Makefile; paths are relative to the repository root.

.PHONY: bench-boot

bench-boot: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) scripts/bench-boot.sh

bench: bench-boot
