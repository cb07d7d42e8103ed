#!/usr/bin/env bash
# A Debian root with the distribution's own initramfs builder and iscsi-root's drop-in
# (make install: hooks, units), booted diskless from iSCSI under QEMU to multi-user.target
# and rebooted with `systemctl reboot`; then the image must be clean.
#
# usage: Tests/VM/distro.sh [initramfs-tools] [dracut]     prints "N passed, N failed"
#   VM_AGENT_BINARY   the static iscsi-root (default cache/bin/iscsi-root; make vm-distro builds it)
#   VM_BOOT_TIMEOUT   seconds for the whole boot and reboot (default 300)
#
# The Debian tree is built once (lib/debian-root.sh's debootstrap from the host's own mirror,
# shared with Tests/VM/shutdown.sh, then both initramfs builders) and cached in cache/debian/
# and cache/distro/ (about 2 minutes, 350 MB); each run copies it. Needs root (debootstrap,
# chroot, network namespaces).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.sh"
# shellcheck source-path=SCRIPTDIR source=lib/debian-root.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian-root.sh"

readonly DISTRO_SUITE=bookworm
readonly DISTRO_CACHE="$VM_CACHE_DIR/distro"
DISTRO_TREE=""
readonly DISTRO_IQN="iqn.2024-01.org.iscsi-root.test:distro"
readonly DISTRO_INITIATOR="iqn.2024-01.org.iscsi-root.test:distro-client"
readonly DISTRO_BASE_PACKAGES=systemd-sysv,udev,kmod,iproute2,procps
readonly DISTRO_BUILDER_PACKAGES="initramfs-tools e2fsprogs zstd dracut-core"
agent_binary="${VM_AGENT_BINARY:-$VM_CACHE_DIR/bin/iscsi-root}"
boot_timeout="${VM_BOOT_TIMEOUT:-300}"

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

# The cached tree of this test: lib/debian-root.sh's debootstrap (the same package list as
# Tests/VM/shutdown.sh, so that CI makes one) with both initramfs builders added once from
# the same mirror: initramfs-tools, and dracut-core, which provides the `dracut` command
# without conflicting with it. Sets DISTRO_TREE.
distro_tree() {
    local key
    key="$(printf '%s %s' "$DISTRO_BASE_PACKAGES" "$DISTRO_BUILDER_PACKAGES" | sha256sum | cut -c 1-12)"
    DISTRO_TREE="$DISTRO_CACHE/$DISTRO_SUITE-$key"
    [[ -f "$DISTRO_TREE/.complete" ]] && return 0
    local base staging="$DISTRO_TREE.staging"
    base="$(debian_root_tree "$DISTRO_SUITE" "$DISTRO_BASE_PACKAGES")"
    vm_log "adding $DISTRO_BUILDER_PACKAGES to a copy of $base (once; cached in $DISTRO_TREE)"
    rm -rf "$staging" "$DISTRO_TREE"
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
            DEBIAN_FRONTEND=noninteractive chroot "$staging" apt-get install -y -q --no-install-recommends \
                $DISTRO_BUILDER_PACKAGES &&
            chroot "$staging" apt-get clean
    } >"$DISTRO_CACHE/builders-install.log" 2>&1 || status=$?
    rm -f "$staging/usr/sbin/policy-rc.d"
    rm -rf "$staging/var/lib/apt/lists/"*
    distro_chroot_release
    ((status == 0)) || vm_fail "installing $DISTRO_BUILDER_PACKAGES failed (log: $DISTRO_CACHE/builders-install.log)"
    touch "$staging/.complete"
    mv "$staging" "$DISTRO_TREE"
}

# A copy of the tree with the kernel's modules, iscsi-root installed, and the test's
# configuration; its initramfs built by the distribution's own tool in a chroot.
distro_prepare_root() {
    local tree="$1" builder="$2"
    rm -rf "$tree"
    cp -a "$DISTRO_TREE" "$tree"
    rm -f "$tree/.complete"
    mkdir -p "$tree/lib/modules" "$tree/boot"
    cp -a "$MODULES_DIR/lib/modules/$KVER" "$tree/lib/modules/"
    cp "$MODULES_DIR/boot/config-$KVER" "$tree/boot/"
    make -s install DESTDIR="$tree" PREFIX=/usr SYSTEMD_UNIT_DIR=/lib/systemd/system BINARY="$agent_binary" >/dev/null

    echo distro-guest >"$tree/etc/hostname"
    echo "$builder" >"$tree/etc/distro-builder"
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
# A framework's retry loop calls `login` again: the running supervisor answers for it.
again=$(/usr/sbin/iscsi-root login 2>/dev/null)
echo "VM-MARKER: login again [$again] status $?"
# dracut's host-only command line from the running session (module-setup.sh's cmdline()).
if [ "$(cat /etc/distro-builder)" = dracut ]; then
    echo "VM-MARKER: dracut cmdline $(dracut --hostonly --print-cmdline 2>/dev/null | tr '\n' ' ')"
fi
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
    case "$builder" in
    initramfs-tools)
        chroot "$tree" mkinitramfs -o "/boot/initrd.img-$KVER" "$KVER"
        ;;
    dracut)
        # A small systemd-based image: the modules a diskless boot needs, iscsi-root's
        # (which brings rootfs-block and the NIC drivers), and no network module of dracut's:
        # the agent configures the NIC from ip= itself.
        chroot "$tree" dracut --force --no-hostonly --no-hostonly-cmdline \
            --modules "systemd systemd-initrd dracut-systemd base fs-lib udev-rules kernel-modules shutdown iscsi-root" \
            --kver "$KVER" "/boot/initrd.img-$KVER"
        ;;
    esac
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

# One boot with BUILDER's initramfs: the kernel command line is BUILDER's own grammar.
scenario_boot() {
    local builder="$1"
    local work="$VM_CACHE_DIR/vm/distro-$builder"
    local tree="$work/tree" image="$work/root.img" log="$VM_CACHE_DIR/vm/logs/distro-$builder.log"
    mkdir -p "$work" "$(dirname "$log")"
    local started
    started=$(vm_now_ms)
    distro_prepare_root "$tree" "$builder"
    local initrd="$work/initrd.img"
    cp "$tree/boot/initrd.img-$KVER" "$initrd"
    # The hook put the agent and the iSCSI modules in, and left nothing of open-iscsi.
    local listing
    listing="$(chroot "$tree" lsinitramfs "/boot/initrd.img-$KVER")"
    local hook='scripts/local-top/iscsi-root$'
    [[ "$builder" == dracut ]] && hook='hooks/cmdline/90-parse-iscsi-root.sh$'
    if grep -Eq '^(usr/)?sbin/iscsi-root$' <<<"$listing" && grep -Eq "$hook" <<<"$listing" &&
        grep -q 'iscsi_tcp.ko' <<<"$listing" && ! grep -Eq 'sbin/(iscsistart|iscsid)$' <<<"$listing"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "distro: FAILED: the $builder initramfs lacks usr/sbin/iscsi-root, $hook or iscsi_tcp.ko, or has open-iscsi"
    fi
    rm -f "$image"
    mkfs.ext4 -q -L root -d "$tree" "$image" 1200M
    rm -rf "$tree"
    vm_log "$builder root prepared in $(($(vm_now_ms) - started)) ms"

    vm_netns_create
    vm_target_start "$image" "$DISTRO_IQN"
    local append="console=ttyS0,115200 panic=-1 net.ifnames=0 rw root=LABEL=root"
    append+=" ip=10.0.2.15::10.0.2.2:255.255.255.0:distro-guest:eth0:off"
    local network_line
    case "$builder" in
    initramfs-tools)
        # open-iscsi's parameters; initramfs-tools applies ip= and the agent finds the address.
        append+=" iscsi_initiator=$DISTRO_INITIATOR iscsi_target_name=$DISTRO_IQN iscsi_target_ip=10.0.2.2 iscsi_target_port=3260"
        network_line="iscsi-root: network: eth0 10\.0\.2\.15/24 \(configured already\)"
        ;;
    dracut)
        # dracut's grammar; the empty LUN field means LUN 0 (tgt's controller), and the root
        # is found by its label on LUN 1, as dracut finds it. No network module: the agent
        # applies ip= itself.
        append+=" rd.iscsi.initiator=$DISTRO_INITIATOR netroot=iscsi:10.0.2.2::::$DISTRO_IQN"
        network_line="iscsi-root: network: eth0 10\.0\.2\.15/24 via 10\.0\.2\.2"
        ;;
    esac
    local status=0
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --append "$append" --log "$log" \
        --timeout "$boot_timeout" || status=$?
    vm_netns_cleanup
    if ((status == 0)); then passed=$((passed + 1)); else
        failed=$((failed + 1))
        echo "distro: FAILED: QEMU ended with status $status (124: timeout) — $log"
    fi
    expect "the agent logged in from the $builder hook" "$log" "iscsi-root: login: $DISTRO_IQN at 10\.0\.2\.2:3260 as $DISTRO_INITIATOR"
    expect "the network step" "$log" "$network_line"
    expect "the supervisor started in hook mode" "$log" "iscsi-root: supervisor: pid [0-9]+ .*the framework mounts"
    expect "multi-user.target" "$log" "VM-MARKER: multi-user reached"
    expect "the supervisor answers in the real root" "$log" "VM-MARKER: status session [0-9]+ \(host[0-9]+\): logged in"
    expect "iscsi-root.service active" "$log" "VM-MARKER: unit iscsi-root.service active"
    expect "iscsi-root-keep-network.service active" "$log" "VM-MARKER: unit iscsi-root-keep-network.service active"
    expect "networkd kept the boot address" "$log" "VM-MARKER: address 10\.0\.2\.15/24"
    expect "networkd uses iscsi-root's .network" "$log" "VM-MARKER: networkd .*05-iscsi-root-eth0\.network"
    expect "the shutdown ramdisk is in place" "$log" "VM-MARKER: shutdown ramdisk present"
    expect "login again reports the supervised session" "$log" "VM-MARKER: login again \[/dev/sda\] status 0"
    if [[ "$builder" == dracut ]]; then
        expect "dracut's host-only command line" "$log" "VM-MARKER: dracut cmdline .*netroot=iscsi:10\.0\.2\.2:::1:$DISTRO_IQN"
    fi
    expect "the final ramdisk unmounted the root" "$log" "iscsi-root: shutdown: root unmounted; logging out"
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
    echo "distro: $builder boot $(vm_console_time "$log" 'VM-MARKER: multi-user reached' || echo '-') s to multi-user, $(vm_console_time "$log" 'reboot: Restarting system' || echo '-') s to the reboot — $log"
}

main() {
    ((EUID == 0)) || vm_fail "needs root (debootstrap, chroot, network namespaces)"
    [[ -x "$agent_binary" ]] || vm_fail "no static binary at $agent_binary (make static)"
    cd "$VM_REPO_ROOT"
    Tests/VM/lib/deps.sh
    Tests/VM/lib/deps.sh debootstrap
    vm_kernel_prepare
    distro_tree
    local scenarios=("$@")
    ((${#scenarios[@]} > 0)) || scenarios=(initramfs-tools dracut)
    local scenario
    for scenario in "${scenarios[@]}"; do
        case "$scenario" in
        initramfs-tools) scenario_boot initramfs-tools ;;
        dracut) scenario_boot dracut ;;
        *) vm_fail "unknown scenario $scenario (known: initramfs-tools, dracut)" ;;
        esac
    done
    echo "distro: $passed passed, $failed failed"
    ((failed == 0))
}

main "$@"
