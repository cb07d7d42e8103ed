# The distributions' initramfs builders with iscsi-root's drop-in, booted diskless under
# QEMU (Tests/VM/distro.sh): a Debian tree from debootstrap (cached in cache/debian/, shared
# with vm-shutdown; initramfs-tools and dracut-core added once in cache/distro/), the
# hooks and units from `make install`, the initramfs built in a chroot by the distribution's
# tool, a boot to multi-user.target and `systemctl reboot`. "N passed, N failed". Needs root.
#   make vm-distro                      the default scenarios (below)
#   make vm-distro DISTRO_SCENARIOS=initramfs-tools
#   make vm-distro DISTRO_SCENARIOS="dracut dracut-ibft dracut-two-targets"   the others
# Scenarios: initramfs-tools (iscsi_* parameters), initramfs-tools-file (iscsi.initramfs,
# open-iscsi installed too), dracut (netroot=iscsi:), dracut-ibft, dracut-two-targets (one
# dracut image for these three), dracut-md (dracut's TEST-71: LVM on md RAID0 across two
# targets) and dracut-root-iscsi (one image with dracut's mdraid and lvm modules for these
# two), dracut-multipath (dracut's multipath module and multipathd build the map over two
# paths of the root's target), dracut-shell (dracut's shell init), dracut-as-typed (the
# README's command).
# Included by the top Makefile; paths are relative to the repository root.

DISTRO_SCENARIOS ?=

.PHONY: vm-distro

vm-distro: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) Tests/VM/distro.sh $(DISTRO_SCENARIOS)

# `make check` (CI) runs the default: initramfs-tools, initramfs-tools-file, dracut-md,
# dracut-root-iscsi, dracut-multipath, dracut-shell, dracut-as-typed: 11 minutes in a
# clean-clone CI run on a 2-core machine without dracut-multipath, which adds about three
# (the Debian trees included; each boot 20–60 s to multi-user.target under TCG, then the
# writer, the cut and the reboot; dracut-md adds a first boot that makes the array). dracut,
# dracut-ibft and dracut-two-targets add about two minutes each: run them by name.
CHECK_SUITES += vm-distro
