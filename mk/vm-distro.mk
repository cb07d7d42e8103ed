# The distributions' initramfs builders with iscsi-root's drop-in, booted diskless under
# QEMU (Tests/VM/distro.sh): a Debian tree from debootstrap (cached in cache/debian/, shared
# with vm-shutdown; initramfs-tools and dracut-core added once in cache/distro/), the
# hooks and units from `make install`, the initramfs built in a chroot by the distribution's
# tool, a boot to multi-user.target and `systemctl reboot`. "N passed, N failed". Needs root.
#   make vm-distro                      the default scenarios (below)
#   make vm-distro DISTRO_SCENARIOS=initramfs-tools
#   make vm-distro DISTRO_SCENARIOS="dracut-ibft dracut-two-targets"   the others
# Scenarios: initramfs-tools (iscsi_* parameters), initramfs-tools-file (iscsi.initramfs,
# open-iscsi installed too), dracut (netroot=iscsi:), dracut-root-iscsi, dracut-ibft,
# dracut-two-targets (one dracut image for these four), dracut-shell (dracut's shell init).
# Included by the top Makefile; paths are relative to the repository root.

DISTRO_SCENARIOS ?=

.PHONY: vm-distro

vm-distro: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) Tests/VM/distro.sh $(DISTRO_SCENARIOS)

# `make check` (CI) runs the default: initramfs-tools, initramfs-tools-file, dracut,
# dracut-root-iscsi, dracut-shell, about 8.5 minutes once the Debian trees are cached
# (measured on an idle 2-core machine: each initramfs-tools image 0.4 + boot 0.9, each dracut
# image 1.1, each dracut boot 1.1; more when other VM jobs share the CPU). dracut-ibft and
# dracut-two-targets add about a minute each: run them by name. All seven: 10.5 minutes.
CHECK_SUITES += vm-distro
