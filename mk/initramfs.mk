# The standalone initramfs: /init is the static iscsi-root (see Initramfs/build-initramfs.sh).
#   make initramfs [KVER=6.1.0-NN-amd64 MODULES_DIR=/path/to/unpacked/kernel]
#                  [ISCSI_ROOT_CONF=file] [ISCSI_INITRAMFS=file] [SECRETS=file]
# Without KVER/MODULES_DIR it is for the running kernel (/lib/modules/$(uname -r)).
# Included by the top Makefile; paths are relative to the repository root.

INITRAMFS_KVER = $(or $(KVER),$(shell uname -r))
INITRAMFS_MODULES_DIR = $(or $(MODULES_DIR),/)
INITRAMFS_IMAGE = cache/initramfs/initramfs-$(INITRAMFS_KVER).img

.PHONY: initramfs

initramfs: static
	Initramfs/build-initramfs.sh --binary $(STATIC_BINARY) --output $(INITRAMFS_IMAGE) \
		--kver $(INITRAMFS_KVER) --modules-dir $(INITRAMFS_MODULES_DIR) \
		$(if $(ISCSI_ROOT_CONF),--config $(ISCSI_ROOT_CONF)) \
		$(if $(ISCSI_INITRAMFS),--iscsi-initramfs $(ISCSI_INITRAMFS)) \
		$(if $(SECRETS),--secrets $(SECRETS))
