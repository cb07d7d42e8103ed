#!/usr/bin/env bash
# Shows a standalone boot on the console, as a person would watch it: Debian's kernel and
# the project's initramfs under QEMU, a tgtd serving the root image as LUN 1 in a private
# network namespace, the root on the command line.
#
# usage: Tests/VM/demo.sh          (needs root; make demo builds the static agent first)
#   VM_AGENT_BINARY=FILE   the static iscsi-root (default cache/bin/iscsi-root)
#   VM_BOOT_TIMEOUT=SECONDS  the host's bound on the boot (default 120)
#   DEMO_FORM=native|dhcp|dracut|initramfs-tools   the command line's grammar (default native:
#                            iscsi=iscsi://10.0.2.2/IQN/1 with a static ip=)
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)"
readonly VM_LIB
# shellcheck source=lib/harness.sh
source "$VM_LIB/harness.sh"

readonly DEMO_DIR="$VM_CACHE_DIR/vm/demo"
readonly TARGET_IQN="iqn.2024-01.org.iscsi-root.demo:root"

# The command lines the demo can show; the agent's own form by default.
demo_append() {
    local network="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"
    case "$1" in
    native) echo "$network iscsi=iscsi://10.0.2.2/$TARGET_IQN/1 root=LABEL=root rw" ;;
    dhcp) echo "ip=dhcp iscsi=iscsi://10.0.2.2/$TARGET_IQN/1 root=LABEL=root rw" ;;
    dracut) echo "$network netroot=iscsi:10.0.2.2::3260:1:$TARGET_IQN root=LABEL=root rw" ;;
    initramfs-tools) echo "$network iscsi_target_name=$TARGET_IQN iscsi_target_ip=10.0.2.2 iscsi_target_port=3260 root=LABEL=root rw" ;;
    *) vm_fail "unknown DEMO_FORM \"$1\" (native, dhcp, dracut, initramfs-tools)" ;;
    esac
}

main() {
    ((EUID == 0)) || vm_fail "needs root (network namespaces, QEMU in them)"
    "$VM_LIB/deps.sh"
    [[ -x "$VM_AGENT_BINARY" ]] || vm_fail "no static agent at $VM_AGENT_BINARY (run make static)"
    local append
    append="console=ttyS0,115200 panic=-1 $(demo_append "${DEMO_FORM:-native}")"
    vm_kernel_prepare
    mkdir -p "$DEMO_DIR"
    vm_log "kernel $KVER"
    vm_initramfs_build "$DEMO_DIR/initramfs.img" >&2
    vm_rootfs_build "$DEMO_DIR/root.img"
    vm_log "root image $DEMO_DIR/root.img (ext4, label root, busybox; its /sbin/init says hello and powers off)"

    vm_netns_create
    VM_TARGET_LOG="$DEMO_DIR/tgtd.log" vm_target_start "$DEMO_DIR/root.img" "$TARGET_IQN"
    vm_log "tgtd in namespace $VM_NETNS serves $TARGET_IQN LUN 1 on 127.0.0.1:3260 (the guest's 10.0.2.2)"

    vm_log "booting: $append"
    local status=0
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$DEMO_DIR/initramfs.img" --append "$append" \
        --log "$DEMO_DIR/console.log" --timeout "${VM_BOOT_TIMEOUT:-120}" --show || status=$?
    vm_netns_cleanup

    echo
    echo "demo: console log with host timestamps: $DEMO_DIR/console.log"
    if ((status != 0)); then
        echo "demo: QEMU exited with status $status$( ((status == 124)) && echo " (still running after ${VM_BOOT_TIMEOUT:-120} s)")"
        return "$status"
    fi
    if ! grep -q 'diskless boot from iSCSI ok' "$DEMO_DIR/console.log" || ! grep -q 'reboot: Power down' "$DEMO_DIR/console.log"; then
        echo "demo: the root's init did not report or the guest did not power off: see the log"
        return 1
    fi
    local written
    written="$(vm_rootfs_read "$DEMO_DIR/root.img" "$VM_ROOTFS_FILE" | tail -n 1)"
    echo "demo: the guest booted from iSCSI, wrote \"$written\" to $VM_ROOTFS_FILE on its root and powered off;"
    if vm_rootfs_check "$DEMO_DIR/root.img"; then
        echo "demo: e2fsck -fn finds the root image clean."
    else
        echo "demo: e2fsck -fn finds the root image unclean!"
        return 1
    fi
    echo "demo: other command-line forms: DEMO_FORM=dhcp|dracut|initramfs-tools make demo"
}

main "$@"
