# The shutdown path under systemd (Tests/VM/shutdown.sh): a minimal Debian bookworm root
# (debootstrap, cached under cache/debian/) boots from iSCSI with our initramfs, reaches
# multi-user.target and runs `systemctl reboot`, three times; systemd-shutdown hands over to
# /run/initramfs/shutdown, which unmounts the root before the supervisor logs out, and the
# image must be clean after each cycle; then four cycles with a fault during the shutdown
# (connection deleted, target frozen, target killed, link down), each off within
# iscsi.shutdown_timeout=10. "N passed, N failed". Needs root; about 4 minutes, plus about 3
# for the first debootstrap.
# Included by the top Makefile; paths are relative to the repository root.

.PHONY: vm-shutdown

vm-shutdown: static
	VM_AGENT_BINARY=$(CURDIR)/$(STATIC_BINARY) Tests/VM/shutdown.sh

CHECK_SUITES += vm-shutdown
