# Installation of the binary, the initramfs hooks, the systemd units and the man page.
#   make install   [DESTDIR=/tmp/root] [PREFIX=/usr/local] [BINARY=cache/bin/iscsi-root]
#   make uninstall [DESTDIR=…] [PREFIX=…]     removes exactly what install put there
# BINARY must be the static binary (`make static`): the initramfs and the final ramdisk
# cannot load shared libraries. The frameworks look only in their own folders, so those do
# not move with PREFIX (override INITRAMFS_TOOLS_DIR, DRACUT_DIR, SYSTEMD_UNIT_DIR if needed).
# Included by the top Makefile; paths are relative to the repository root.

PREFIX ?= /usr/local
DESTDIR ?=
BINARY ?= $(STATIC_BINARY)
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/lib/iscsi-root
MANDIR ?= $(PREFIX)/share/man
INITRAMFS_TOOLS_DIR ?= /usr/share/initramfs-tools
DRACUT_DIR ?= /usr/lib/dracut
SYSTEMD_UNIT_DIR ?= /usr/lib/systemd/system

# Every installed file: SOURCE:DESTINATION:MODE (DESTINATION without DESTDIR).
INSTALL_FILES = \
	$(BINARY):$(SBINDIR)/iscsi-root:0755 \
	man/iscsi-root.8:$(MANDIR)/man8/iscsi-root.8:0644 \
	Hooks/initramfs-tools/hooks/iscsi-root:$(INITRAMFS_TOOLS_DIR)/hooks/iscsi-root:0755 \
	Hooks/initramfs-tools/scripts/local-top/iscsi-root:$(INITRAMFS_TOOLS_DIR)/scripts/local-top/iscsi-root:0755 \
	Hooks/initramfs-tools/scripts/local-bottom/iscsi-root:$(INITRAMFS_TOOLS_DIR)/scripts/local-bottom/iscsi-root:0755 \
	Hooks/dracut/90iscsi-root/module-setup.sh:$(DRACUT_DIR)/modules.d/90iscsi-root/module-setup.sh:0755 \
	Hooks/dracut/90iscsi-root/parse-iscsi-root.sh:$(DRACUT_DIR)/modules.d/90iscsi-root/parse-iscsi-root.sh:0755 \
	Hooks/dracut/90iscsi-root/iscsi-root-netroot.sh:$(DRACUT_DIR)/modules.d/90iscsi-root/iscsi-root-netroot.sh:0755 \
	Hooks/dracut/90iscsi-root/iscsi-root-shutdown.sh:$(DRACUT_DIR)/modules.d/90iscsi-root/iscsi-root-shutdown.sh:0755 \
	Hooks/dracut/90iscsi-root/dracut-initqueue-iscsi-root.conf:$(DRACUT_DIR)/modules.d/90iscsi-root/dracut-initqueue-iscsi-root.conf:0644 \
	Hooks/dracut/90iscsi-root/iscsi-root.conf:$(DRACUT_DIR)/dracut.conf.d/90-iscsi-root.conf:0644 \
	Systemd/iscsi-root.service:$(SYSTEMD_UNIT_DIR)/iscsi-root.service:0644 \
	Systemd/iscsi-root-keep-network.service:$(SYSTEMD_UNIT_DIR)/iscsi-root-keep-network.service:0644 \
	Systemd/iscsi-root-keep-network:$(LIBEXECDIR)/iscsi-root-keep-network:0755 \
	Systemd/dropins/networking.service.d/iscsi-root.conf:$(SYSTEMD_UNIT_DIR)/networking.service.d/iscsi-root.conf:0644 \
	$(foreach unit,dracut-shutdown.service mdadm-shutdown.service, \
		Systemd/dropins/final-ramdisk/iscsi-root.conf:$(SYSTEMD_UNIT_DIR)/$(unit).d/iscsi-root.conf:0644) \
	$(foreach unit,iscsid.service iscsid.socket iscsi.service open-iscsi.service iscsi-shutdown.service, \
		Systemd/dropins/open-iscsi/iscsi-root.conf:$(SYSTEMD_UNIT_DIR)/$(unit).d/iscsi-root.conf:0644)
# Enabled by links, as `systemctl enable` would (the package has no maintainer scripts).
INSTALL_LINKS = \
	$(SYSTEMD_UNIT_DIR)/sysinit.target.wants/iscsi-root.service \
	$(SYSTEMD_UNIT_DIR)/sysinit.target.wants/iscsi-root-keep-network.service
# Folders that are iscsi-root's alone: removed by uninstall when empty.
INSTALL_OWN_DIRS = $(DRACUT_DIR)/modules.d/90iscsi-root $(LIBEXECDIR) \
	$(foreach unit,networking.service dracut-shutdown.service mdadm-shutdown.service iscsid.service iscsid.socket iscsi.service open-iscsi.service iscsi-shutdown.service, \
		$(SYSTEMD_UNIT_DIR)/$(unit).d)

# @SBINDIR@ and @LIBEXECDIR@ in the hooks and units become the installed paths.
INSTALL_SUBSTITUTE = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g'

.PHONY: install uninstall

install:
	@test -x "$(BINARY)" || { echo "install: $(BINARY) is missing (run make static, or pass BINARY=)" >&2; exit 1; }
	@set -e; for entry in $(INSTALL_FILES); do \
		source=$${entry%%:*}; rest=$${entry#*:}; target=$${rest%:*}; mode=$${rest##*:}; \
		install -d "$(DESTDIR)$$(dirname "$$target")"; \
		case "$$source" in \
		$(BINARY)|man/*) install -m "$$mode" "$$source" "$(DESTDIR)$$target" ;; \
		*) $(INSTALL_SUBSTITUTE) "$$source" >"$(DESTDIR)$$target.tmp"; chmod "$$mode" "$(DESTDIR)$$target.tmp"; \
		   mv -f "$(DESTDIR)$$target.tmp" "$(DESTDIR)$$target" ;; \
		esac; \
		echo "install: $$target"; \
	done
	@set -e; for link in $(INSTALL_LINKS); do \
		install -d "$(DESTDIR)$$(dirname "$$link")"; \
		ln -sfn "../$$(basename "$$link")" "$(DESTDIR)$$link"; echo "install: $$link"; \
	done

uninstall:
	@for entry in $(INSTALL_FILES); do \
		rest=$${entry#*:}; target=$${rest%:*}; rm -f "$(DESTDIR)$$target" && echo "uninstall: $$target"; \
	done
	@for link in $(INSTALL_LINKS); do rm -f "$(DESTDIR)$$link" && echo "uninstall: $$link"; done
	@for dir in $(INSTALL_OWN_DIRS) $(SYSTEMD_UNIT_DIR)/sysinit.target.wants; do \
		if [ -d "$(DESTDIR)$$dir" ]; then rmdir "$(DESTDIR)$$dir" 2>/dev/null || :; fi; \
	done
