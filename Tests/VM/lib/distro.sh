# A Debian root with the distributions' own initramfs builders, made once and cached, and
# the per-boot copy of it with iscsi-root installed and the initramfs built in a chroot by
# the distribution's own tool (sourced).
#
#   distro_tree [LAYER]          sets DISTRO_TREE: the cached builders' tree, or with LAYER
#                                "open-iscsi" the same tree with open-iscsi and
#                                dracut-network (dracut's own iscsi module) added
#   distro_prepare_root TREE BUILDER STACK GUEST
#                                TREE: a fresh copy with the kernel's modules and the test's
#                                configuration; BUILDER: initramfs-tools, dracut,
#                                dracut-shell (dracut's shell init, no systemd inside) or
#                                dracut-as-typed (no module list: what dracut picks);
#                                STACK: iscsi-root (make install) or open-iscsi (the
#                                distribution's own iSCSI boot, the peer); GUEST: the script
#                                the marker unit runs after multi-user.target
#   distro_chroot_hold TREE / distro_chroot_release   /proc, /sys, /dev bound in for a chroot
#
# The base tree is lib/debian-root.sh's debootstrap (shared with Tests/VM/shutdown.sh), with
# initramfs-tools and dracut-core added (dracut-core provides `dracut` beside
# initramfs-tools). Trees are cached in cache/distro/ (about 2 minutes, 350 MB each); callers
# copy them. Needs root.
# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR source=debian-root.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-root.sh"

readonly DISTRO_SUITE=bookworm
readonly DISTRO_CACHE="$VM_CACHE_DIR/distro"
# shellcheck disable=SC2034 # used by the scripts that source this one
readonly DISTRO_IQN="iqn.2024-01.org.iscsi-root.test:distro"
# shellcheck disable=SC2034 # used by the scripts that source this one
readonly DISTRO_INITIATOR="iqn.2024-01.org.iscsi-root.test:distro-client"
# The kernel command line's common part, the boot address (initramfs-tools and dracut read
# the same ip= grammar) and dracut's netroot= boot: the empty LUN field means LUN 0 (tgt's
# controller), and the root is found by its label on LUN 1, as dracut finds it.
# shellcheck disable=SC2034 # used by the scripts that source this one
readonly DISTRO_APPEND="console=ttyS0,115200 panic=-1 net.ifnames=0 rw"
readonly DISTRO_IP="ip=10.0.2.15::10.0.2.2:255.255.255.0:distro-guest:eth0:off"
# shellcheck disable=SC2034
readonly DISTRO_DRACUT_NETROOT="root=LABEL=root $DISTRO_IP rd.iscsi.initiator=$DISTRO_INITIATOR netroot=iscsi:10.0.2.2::::$DISTRO_IQN"
readonly DISTRO_BASE_PACKAGES=systemd-sysv,udev,kmod,iproute2,procps
readonly DISTRO_BUILDER_PACKAGES="initramfs-tools e2fsprogs zstd dracut-core"
# The peer: Debian's open-iscsi (iscsistart in the initramfs, iscsid in the root) and
# dracut's iscsi module with its network-legacy module.
readonly DISTRO_OPEN_ISCSI_PACKAGES="open-iscsi dracut-network"
# A root on md RAID0 + LVM (dracut's TEST-71): the tools in the root and in dracut's
# mdraid and lvm modules.
readonly DISTRO_MD_PACKAGES="mdadm lvm2"
# A root on a multipath map that dracut's multipath module and multipathd build over the
# sessions' paths (rd.multipath=default).
readonly DISTRO_MULTIPATH_PACKAGES="multipath-tools"
DISTRO_TREE=""

DISTRO_CHROOT_MOUNTS=()
distro_chroot_hold() {
    local tree="$1" point
    for point in proc sys dev dev/pts; do
        mount --bind "/$point" "$tree/$point"
        DISTRO_CHROOT_MOUNTS=("$tree/$point" "${DISTRO_CHROOT_MOUNTS[@]}")
    done
}
distro_chroot_release() {
    local point
    for point in "${DISTRO_CHROOT_MOUNTS[@]}"; do umount -l "$point" 2>/dev/null || true; done
    DISTRO_CHROOT_MOUNTS=()
}

# The cached copy of BASE with PACKAGES (space-separated) installed from the host's mirror
# in a chroot where no package script may start a service; prints its path.
distro_layer() {
    local base="$1" packages="$2" key
    key="$(printf '%s %s' "$base" "$packages" | sha256sum | cut -c 1-12)"
    local layer="$DISTRO_CACHE/$DISTRO_SUITE-$key"
    if [[ ! -f "$layer/.complete" ]]; then
        local staging="$layer.staging" log="$layer.install.log"
        vm_log "adding $packages to a copy of $base (once; cached in $layer)"
        rm -rf "$staging" "$layer"
        mkdir -p "$DISTRO_CACHE"
        cp -a "$base" "$staging"
        rm -f "$staging/.complete"
        trap 'distro_chroot_release; vm_netns_cleanup' EXIT
        distro_chroot_hold "$staging"
        printf '#!/bin/sh\nexit 101\n' >"$staging/usr/sbin/policy-rc.d"
        chmod 0755 "$staging/usr/sbin/policy-rc.d"
        local status=0
        # shellcheck disable=SC2086 # one package a word
        {
            chroot "$staging" apt-get update -q &&
                DEBIAN_FRONTEND=noninteractive chroot "$staging" apt-get install -y -q --no-install-recommends $packages &&
                chroot "$staging" apt-get clean
        } >"$log" 2>&1 || status=$?
        rm -f "$staging/usr/sbin/policy-rc.d"
        rm -rf "$staging/var/lib/apt/lists/"*
        distro_chroot_release
        ((status == 0)) || vm_fail "installing $packages failed (log: $log)"
        touch "$staging/.complete"
        mv "$staging" "$layer"
    fi
    echo "$layer"
}

distro_tree() {
    local layer="${1:-}"
    DISTRO_TREE="$(distro_layer "$(debian_root_tree "$DISTRO_SUITE" "$DISTRO_BASE_PACKAGES")" "$DISTRO_BUILDER_PACKAGES")"
    case "$layer" in
    "") ;;
    open-iscsi) DISTRO_TREE="$(distro_layer "$DISTRO_TREE" "$DISTRO_OPEN_ISCSI_PACKAGES")" ;;
    md) DISTRO_TREE="$(distro_layer "$DISTRO_TREE" "$DISTRO_MD_PACKAGES")" ;;
    multipath) DISTRO_TREE="$(distro_layer "$DISTRO_TREE" "$DISTRO_MULTIPATH_PACKAGES")" ;;
    *) vm_fail "distro_tree: unknown layer $layer (known: open-iscsi, md, multipath)" ;;
    esac
}

distro_prepare_root() {
    local tree="$1" builder="$2" stack="$3" guest="$4"
    rm -rf "$tree"
    cp -a "$DISTRO_TREE" "$tree"
    rm -f "$tree/.complete"
    mkdir -p "$tree/lib/modules" "$tree/boot"
    cp -a "$MODULES_DIR/lib/modules/$KVER" "$tree/lib/modules/"
    cp "$MODULES_DIR/boot/config-$KVER" "$tree/boot/"
    if [[ "$stack" == iscsi-root ]]; then
        make -s -C "$VM_REPO_ROOT" install DESTDIR="$tree" PREFIX=/usr SYSTEMD_UNIT_DIR=/lib/systemd/system \
            BINARY="${VM_AGENT_BINARY:-$VM_CACHE_DIR/bin/iscsi-root}" >/dev/null
    fi

    echo distro-guest >"$tree/etc/hostname"
    echo "$builder" >"$tree/etc/distro-builder"
    printf 'LABEL=root / ext4 defaults,_netdev 0 1\n' >"$tree/etc/fstab"
    debian_root_unattended "$tree"
    if [[ "$stack" == iscsi-root ]]; then
        # systemd-networkd manages the NIC with DHCP, as a real machine's config would: the
        # session's NIC must keep its boot address regardless (iscsi-root-keep-network).
        # open-iscsi has no such guard: its image leaves the NIC as the initramfs set it.
        mkdir -p "$tree/etc/systemd/network"
        printf '[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n' >"$tree/etc/systemd/network/20-wired.network"
        ln -sf /lib/systemd/system/systemd-networkd.service \
            "$tree/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
    fi
    install -m 0755 "$VM_REPO_ROOT/Tests/VM/guest/writer" "$tree/usr/local/sbin/writer"
    debian_root_marker "$tree" "$guest"

    trap 'distro_chroot_release; vm_netns_cleanup' EXIT
    distro_chroot_hold "$tree"
    case "$builder/$stack" in
    initramfs-tools/*)
        # open-iscsi's own hook puts iscsistart in when this file exists (empty: options
        # from the command line); DISTRO_ISCSI_INITRAMFS gives it ISCSI_* variables.
        if [[ "$stack" == open-iscsi || -n "${DISTRO_ISCSI_INITRAMFS:-}" ]]; then
            mkdir -p "$tree/etc/iscsi"
            printf '%s' "${DISTRO_ISCSI_INITRAMFS:-}" >"$tree/etc/iscsi/iscsi.initramfs"
        fi
        chroot "$tree" mkinitramfs -o "/boot/initrd.img-$KVER" "$KVER"
        ;;
    dracut/iscsi-root)
        # A small systemd-based image: the modules a diskless boot needs, iscsi-root's
        # (which brings rootfs-block and the NIC drivers), and no network module of dracut's:
        # the agent configures the NIC from ip= itself.
        chroot "$tree" dracut --force --no-hostonly --no-hostonly-cmdline \
            --modules "systemd systemd-initrd dracut-systemd base fs-lib udev-rules kernel-modules shutdown iscsi-root" \
            --kver "$KVER" "/boot/initrd.img-$KVER"
        ;;
    dracut-md/iscsi-root)
        # The same with dracut's mdraid and lvm modules, for a root on md RAID0 + LVM across
        # two targets (rd.auto on the command line assembles them). dracut-shutdown.service
        # and Debian's mdadm-shutdown.service would replace iscsi-root's final ramdisk;
        # iscsi-root's drop-in keeps them from doing so (the scenario checks its logout).
        chroot "$tree" dracut --force --no-hostonly --no-hostonly-cmdline \
            --modules "systemd systemd-initrd dracut-systemd base fs-lib udev-rules kernel-modules shutdown iscsi-root dm mdraid lvm" \
            --kver "$KVER" "/boot/initrd.img-$KVER"
        ;;
    dracut-mpath/iscsi-root)
        # The dracut image with dracut's multipath module: multipathd (in the initramfs, then
        # in the root) owns the map over the sessions' paths. Debian ships no mpathconf, so
        # rd.multipath=default alone configures nothing: the configuration is the tree's, and
        # claims every path at once (a diskless machine has no other disks).
        printf 'defaults {\n\tuser_friendly_names yes\n\tfind_multipaths greedy\n}\n' >"$tree/etc/multipath.conf"
        # dracut 059's module misses two things of Debian's multipath-tools: the checkers and
        # prioritizers (it looks in the library directories; Debian keeps them in
        # /usr/lib/multipath: multipathd exits at once) and the udev rules (it asks for
        # Fedora's names: no path is marked as one, and the root is mounted from a path).
        # And Debian's multipathd.socket lets dracut's cleanup hook (multipath -l) start the
        # daemon again after initrd-cleanup.service stopped it, which cancels that service:
        # the initramfs never switches to the root. The socket goes with the daemon.
        mkdir -p "$tree/etc/systemd/system/multipathd.socket.d"
        printf '[Unit]\nConflicts=initrd-cleanup.service\nBefore=initrd-cleanup.service\n' \
            >"$tree/etc/systemd/system/multipathd.socket.d/initrd.conf"
        printf 'install_items+=" %s "\n' "$(cd "$tree" && printf '/%s ' usr/lib/multipath/*.so \
            usr/lib/udev/rules.d/56-dm-mpath.rules usr/lib/udev/rules.d/56-dm-parts.rules \
            usr/lib/udev/rules.d/60-kpartx.rules usr/lib/udev/rules.d/60-multipath.rules \
            etc/systemd/system/multipathd.socket.d/initrd.conf)" \
            >"$tree/etc/dracut.conf.d/90-multipath-debian.conf"
        chroot "$tree" dracut --force --no-hostonly --no-hostonly-cmdline \
            --modules "systemd systemd-initrd dracut-systemd base fs-lib udev-rules kernel-modules shutdown iscsi-root dm multipath" \
            --kver "$KVER" "/boot/initrd.img-$KVER"
        ;;
    dracut-as-typed/iscsi-root)
        # What a Debian 12 user types (README): no module list, dracut picks its modules,
        # iscsi-root's dracut.conf.d file keeps dracut's iscsi and ifcfg modules out.
        chroot "$tree" dracut --force --no-hostonly --add iscsi-root --kver "$KVER" "/boot/initrd.img-$KVER"
        ;;
    dracut-shell/iscsi-root)
        # The same without systemd in the initramfs: dracut's own shell init runs the hooks
        # (the real root still boots systemd).
        chroot "$tree" dracut --force --no-hostonly --no-hostonly-cmdline \
            --modules "base fs-lib udev-rules kernel-modules shutdown iscsi-root rootfs-block" \
            --omit "systemd systemd-initrd dracut-systemd" \
            --kver "$KVER" "/boot/initrd.img-$KVER"
        ;;
    dracut/open-iscsi)
        # The same image with dracut's own iscsi module instead, and network-legacy named
        # explicitly: dracut's `network` meta-module would pick NetworkManager or networkd,
        # neither of which this tree has; plus the helper Debian's iscsid.service runs first.
        printf 'install_items+=" /lib/open-iscsi/startup-checks.sh "\n' >"$tree/etc/dracut.conf.d/90-startup-checks.conf"
        chroot "$tree" dracut --force --no-hostonly --no-hostonly-cmdline \
            --modules "systemd systemd-initrd dracut-systemd base fs-lib udev-rules kernel-modules shutdown rootfs-block network-legacy iscsi" \
            --kver "$KVER" "/boot/initrd.img-$KVER"
        ;;
    dracut-mpath/open-iscsi)
        # The peer of a root on a multipath map (scripts/bench-multipath.sh; a tree with
        # open-iscsi, dracut-network and multipath-tools): dracut's own iscsi module logs in
        # once per netroot= (network-legacy and Debian's startup-checks.sh, as dracut/open-iscsi
        # has them), its multipath module and multipathd build the map over the sessions' disks
        # (rd.multipath=default), with dracut-mpath/iscsi-root's configuration (multipath-tools'
        # defaults but for these two) and its fixes for Debian: the checkers and prioritizers,
        # the udev rules by Debian's names, and multipathd.socket going with the daemon.
        # One more of Debian's: it enables iscsid.socket only, and in the real root nothing
        # starts iscsid for sessions without node records (the initramfs's are gone, so
        # open-iscsi.service's iscsiadm finds none and never asks iscsid): a path whose
        # connection broke would never log in again. iscsid.service is enabled, as its
        # [Install] section says; it takes the sessions over at its start. And the initramfs's
        # iscsid must be gone by then: initrd-cleanup.service does not always stop it (one
        # boot of four here), and one that outlives switch_root is half dead (its logger
        # killed: "semop down failed") while the root's iscsid.service, active when the root's
        # systemd took over, is never started: no path recovers. Daemon and socket go with
        # initrd-cleanup, as multipathd's socket does.
        ln -sf /lib/systemd/system/iscsid.service "$tree/etc/systemd/system/sysinit.target.wants/iscsid.service"
        printf 'defaults {\n\tuser_friendly_names yes\n\tfind_multipaths greedy\n}\n' >"$tree/etc/multipath.conf"
        local unit
        for unit in multipathd.socket iscsid.service iscsid.socket; do
            mkdir -p "$tree/etc/systemd/system/$unit.d"
            printf '[Unit]\nConflicts=initrd-cleanup.service\nBefore=initrd-cleanup.service\n' \
                >"$tree/etc/systemd/system/$unit.d/initrd.conf"
        done
        printf 'install_items+=" /lib/open-iscsi/startup-checks.sh "\n' >"$tree/etc/dracut.conf.d/90-startup-checks.conf"
        printf 'install_items+=" %s "\n' "$(cd "$tree" && printf '/%s ' usr/lib/multipath/*.so \
            usr/lib/udev/rules.d/56-dm-mpath.rules usr/lib/udev/rules.d/56-dm-parts.rules \
            usr/lib/udev/rules.d/60-kpartx.rules usr/lib/udev/rules.d/60-multipath.rules \
            etc/systemd/system/multipathd.socket.d/initrd.conf etc/systemd/system/iscsid.service.d/initrd.conf \
            etc/systemd/system/iscsid.socket.d/initrd.conf)" \
            >"$tree/etc/dracut.conf.d/90-multipath-debian.conf"
        chroot "$tree" dracut --force --no-hostonly --no-hostonly-cmdline \
            --modules "systemd systemd-initrd dracut-systemd base fs-lib udev-rules kernel-modules shutdown rootfs-block network-legacy iscsi dm multipath" \
            --kver "$KVER" "/boot/initrd.img-$KVER"
        ;;
    *) vm_fail "distro_prepare_root: unknown builder/stack $builder/$stack" ;;
    esac
    distro_chroot_release
}
