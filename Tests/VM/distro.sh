#!/usr/bin/env bash
# A Debian root with the distribution's own initramfs builder and iscsi-root's drop-in
# (make install: hooks, units), booted diskless from iSCSI under QEMU to multi-user.target
# and rebooted with `systemctl reboot`; then the image must be clean.
#
# usage: Tests/VM/distro.sh [initramfs-tools]       prints "N passed, N failed"
#   VM_AGENT_BINARY   the static iscsi-root (default cache/bin/iscsi-root; make vm-distro builds it)
#   VM_BOOT_TIMEOUT   seconds for the whole boot and reboot (default 300)
#
# The Debian tree is built once with debootstrap from the host's own mirror and cached in
# cache/distro/ (about 3 minutes, 350 MB); the root image is made from a copy of it each
# run. Needs root (debootstrap, chroot, network namespaces).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.sh"

readonly DISTRO_SUITE=bookworm
readonly DISTRO_CACHE="$VM_CACHE_DIR/distro"
readonly DISTRO_TREE="$DISTRO_CACHE/$DISTRO_SUITE-tree"
readonly DISTRO_IQN="iqn.2024-01.org.iscsi-root.test:distro"
readonly DISTRO_INITIATOR="iqn.2024-01.org.iscsi-root.test:distro-client"
readonly DISTRO_PACKAGES=systemd-sysv,udev,kmod,iproute2,e2fsprogs,initramfs-tools,zstd,procps
agent_binary="${VM_AGENT_BINARY:-$VM_CACHE_DIR/bin/iscsi-root}"
boot_timeout="${VM_BOOT_TIMEOUT:-300}"

# The host's own Debian mirror (deb822 or one-line sources), the only network there is.
distro_mirror() {
    local mirror
    mirror="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n 1)"
    [[ -n "$mirror" ]] || mirror="$(grep -hsE '^deb +(\[[^]]*\] +)?[a-z]+://' /etc/apt/sources.list |
        grep -v security | awk '{ for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }')"
    echo "${mirror:-http://deb.debian.org/debian}"
}

# Bind mounts for work in the chroot, undone by the caller's trap (distro_chroot_release).
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

# The cached Debian tree: debootstrap once, no services started by package scripts.
distro_tree() {
    [[ -f "$DISTRO_TREE/.complete" ]] && return 0
    Tests/VM/lib/deps.sh debootstrap
    local staging="$DISTRO_CACHE/staging"
    rm -rf "$staging" "$DISTRO_TREE"
    mkdir -p "$DISTRO_CACHE"
    vm_log "debootstrap $DISTRO_SUITE from $(distro_mirror) (once; cached in $DISTRO_TREE)"
    debootstrap --variant=minbase --include="$DISTRO_PACKAGES" "$DISTRO_SUITE" "$staging" "$(distro_mirror)" \
        >"$DISTRO_CACHE/debootstrap.log" 2>&1 || {
        tail -n 30 "$DISTRO_CACHE/debootstrap.log" >&2
        vm_fail "debootstrap failed (log: $DISTRO_CACHE/debootstrap.log)"
    }
    touch "$staging/.complete"
    mv "$staging" "$DISTRO_TREE"
}

# A copy of the tree with the kernel's modules, iscsi-root installed, and the test's
# configuration; its initramfs built by the distribution's own tool in a chroot.
distro_prepare_root() {
    local tree="$1"
    rm -rf "$tree"
    cp -a "$DISTRO_TREE" "$tree"
    rm -f "$tree/.complete"
    mkdir -p "$tree/lib/modules" "$tree/boot"
    cp -a "$MODULES_DIR/lib/modules/$KVER" "$tree/lib/modules/"
    cp "$MODULES_DIR/boot/config-$KVER" "$tree/boot/"
    make -s install DESTDIR="$tree" PREFIX=/usr SYSTEMD_UNIT_DIR=/lib/systemd/system BINARY="$agent_binary" >/dev/null

    echo distro-guest >"$tree/etc/hostname"
    printf 'LABEL=root / ext4 defaults,_netdev 0 1\n' >"$tree/etc/fstab"
    # systemd-networkd manages the NIC with DHCP, as a real machine's config would: the
    # session's NIC must keep its boot address regardless (iscsi-root-keep-network).
    mkdir -p "$tree/etc/systemd/network"
    printf '[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n' >"$tree/etc/systemd/network/20-wired.network"
    ln -sf /lib/systemd/system/systemd-networkd.service \
        "$tree/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
    # The marker: what the real root sees, on the serial console, then a reboot.
    cat >"$tree/usr/local/sbin/distro-marker" <<'MARKER'
#!/bin/sh
exec >/dev/ttyS0 2>&1
echo "VM-MARKER: multi-user reached"
echo "VM-MARKER: status $(/usr/sbin/iscsi-root status | head -n 1)"
for unit in iscsi-root.service iscsi-root-keep-network.service systemd-networkd.service; do
    echo "VM-MARKER: unit $unit $(systemctl is-active "$unit")"
done
echo "VM-MARKER: address $(ip -4 -o addr show dev eth0 | awk '{print $4}' | tr '\n' ' ')"
echo "VM-MARKER: networkd $(grep -h '^NETWORK_FILE=' "/run/systemd/netif/links/$(cat /sys/class/net/eth0/ifindex)")"
echo "VM-MARKER: shutdown ramdisk $(test -x /run/initramfs/shutdown && echo present || echo missing)"
date +%s >>/var/log/distro-boots
sync
echo "VM-MARKER: rebooting"
systemctl reboot
MARKER
    chmod 0755 "$tree/usr/local/sbin/distro-marker"
    cat >"$tree/etc/systemd/system/distro-marker.service" <<'UNIT'
[Unit]
Description=VM test marker
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/distro-marker

[Install]
WantedBy=multi-user.target
UNIT
    ln -sf /etc/systemd/system/distro-marker.service "$tree/etc/systemd/system/multi-user.target.wants/distro-marker.service"
    # No getty on the serial console: nothing waits for a login.
    ln -sf /dev/null "$tree/etc/systemd/system/serial-getty@ttyS0.service"

    trap 'distro_chroot_release; vm_netns_cleanup' EXIT
    distro_chroot_hold "$tree"
    chroot "$tree" mkinitramfs -o "/boot/initrd.img-$KVER" "$KVER"
    distro_chroot_release
}

passed=0
failed=0
expect() {
    local description="$1" log="$2" pattern="$3"
    if grep -Eq -- "$pattern" "$log"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "distro: FAILED: $description (no /$pattern/ in $log)"
    fi
}

scenario_initramfs_tools() {
    local work="$VM_CACHE_DIR/vm/distro-initramfs-tools"
    local tree="$work/tree" image="$work/root.img" log="$VM_CACHE_DIR/vm/logs/distro-initramfs-tools.log"
    mkdir -p "$work" "$(dirname "$log")"
    local started
    started=$(vm_now_ms)
    distro_prepare_root "$tree"
    local initrd="$work/initrd.img"
    cp "$tree/boot/initrd.img-$KVER" "$initrd"
    # The hook put the agent and the iSCSI modules in, and left nothing of open-iscsi.
    local listing
    listing="$(chroot "$tree" lsinitramfs "/boot/initrd.img-$KVER")"
    if grep -Eq '^(usr/)?sbin/iscsi-root$' <<<"$listing" && grep -q 'scripts/local-top/iscsi-root$' <<<"$listing" &&
        grep -q 'iscsi_tcp.ko' <<<"$listing"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "distro: FAILED: the initramfs lacks sbin/iscsi-root, scripts/local-top/iscsi-root or iscsi_tcp.ko"
    fi
    rm -f "$image"
    mkfs.ext4 -q -L root -d "$tree" "$image" 1200M
    rm -rf "$tree"
    vm_log "initramfs-tools root prepared in $(($(vm_now_ms) - started)) ms"

    vm_netns_create
    vm_target_start "$image" "$DISTRO_IQN"
    local append="console=ttyS0,115200 panic=-1 net.ifnames=0 rw root=LABEL=root"
    append+=" iscsi_initiator=$DISTRO_INITIATOR iscsi_target_name=$DISTRO_IQN iscsi_target_ip=10.0.2.2 iscsi_target_port=3260"
    append+=" ip=10.0.2.15::10.0.2.2:255.255.255.0:distro-guest:eth0:off"
    local status=0
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --append "$append" --log "$log" \
        --timeout "$boot_timeout" || status=$?
    vm_netns_cleanup
    if ((status == 0)); then passed=$((passed + 1)); else
        failed=$((failed + 1))
        echo "distro: FAILED: QEMU ended with status $status (124: timeout) — $log"
    fi
    expect "the agent logged in from local-top" "$log" "iscsi-root: login: $DISTRO_IQN at 10\.0\.2\.2:3260 as $DISTRO_INITIATOR"
    expect "the agent took the network initramfs-tools configured" "$log" "iscsi-root: network: eth0 10\.0\.2\.15/24 \(configured already\)"
    expect "the supervisor started in hook mode" "$log" "iscsi-root: supervisor: pid [0-9]+ .*the framework mounts"
    expect "multi-user.target" "$log" "VM-MARKER: multi-user reached"
    expect "the supervisor answers in the real root" "$log" "VM-MARKER: status session [0-9]+ \(host[0-9]+\): logged in"
    expect "iscsi-root.service active" "$log" "VM-MARKER: unit iscsi-root.service active"
    expect "iscsi-root-keep-network.service active" "$log" "VM-MARKER: unit iscsi-root-keep-network.service active"
    expect "networkd kept the boot address" "$log" "VM-MARKER: address 10\.0\.2\.15/24"
    expect "networkd uses iscsi-root's .network" "$log" "VM-MARKER: networkd .*05-iscsi-root-eth0\.network"
    expect "the shutdown ramdisk is in place" "$log" "VM-MARKER: shutdown ramdisk present"
    expect "the final ramdisk logged out" "$log" "iscsi-root: shutdown: logged out"
    expect "the machine rebooted" "$log" "reboot: Restarting system"
    if grep -Eq 'Kernel panic|connection[0-9:]+ .*error|I/O error' "$log"; then
        failed=$((failed + 1))
        echo "distro: FAILED: panic or I/O error on the console — $log"
        grep -E 'Kernel panic|error' "$log" | head -n 5
    else
        passed=$((passed + 1))
    fi
    if e2fsck -fn "$image" >"$work/e2fsck.log" 2>&1 && [[ -n "$(debugfs -R 'cat /var/log/distro-boots' "$image" 2>/dev/null)" ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "distro: FAILED: the image is not clean or lacks the boot's file ($work/e2fsck.log)"
    fi
    echo "distro: initramfs-tools boot $(vm_console_time "$log" 'VM-MARKER: multi-user reached' || echo '-') s to multi-user, $(vm_console_time "$log" 'reboot: Restarting system' || echo '-') s to the reboot — $log"
}

main() {
    ((EUID == 0)) || vm_fail "needs root (debootstrap, chroot, network namespaces)"
    [[ -x "$agent_binary" ]] || vm_fail "no static binary at $agent_binary (make static)"
    cd "$VM_REPO_ROOT"
    Tests/VM/lib/deps.sh
    Tests/VM/lib/deps.sh debootstrap
    vm_kernel_prepare
    distro_tree
    local scenario
    for scenario in "${@:-initramfs-tools}"; do
        case "$scenario" in
        initramfs-tools) scenario_initramfs_tools ;;
        *) vm_fail "unknown scenario $scenario (known: initramfs-tools)" ;;
        esac
    done
    echo "distro: $passed passed, $failed failed"
    ((failed == 0))
}

main "$@"
