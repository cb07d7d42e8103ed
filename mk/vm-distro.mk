# The distributions' initramfs builders with iscsi-root's drop-in, booted diskless under
# QEMU (Tests/VM/distro.sh): a Debian tree from debootstrap (cached in cache/debian/, shared
# with vm-shutdown; initramfs-tools and dracut-core added once in cache/distro/), the
# hooks and units from `make install`, the initramfs built in a chroot by the distribution's
# tool, a boot to multi-user.target and `systemctl reboot`. "N passed, N failed". Needs root.
#   make vm-distro                      every scenario
#   make vm-distro DISTRO_SCENARIOS=initramfs-tools
# Included by the top Makefile; paths are relative to the repository root.

DISTRO_SCENARIOS ?=

.PHONY: vm-distro

vm-distro: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) Tests/VM/distro.sh $(DISTRO_SCENARIOS)

# `make check` (CI) boots both: about 3 minutes once vm-shutdown's debootstrap is cached (the
# builders' install 0.5, initramfs-tools root + boot 0.8, dracut root + boot 2; 4 without it).
CHECK_SUITES += vm-distro
