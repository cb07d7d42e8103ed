#!/usr/bin/env bash
# Shows a standalone boot on the console, as a person would watch it: Debian's kernel and
# the project's initramfs under QEMU, a tgtd serving the root image as LUN 1 in a private
# network namespace, the root on the command line.
#
# usage: Tests/VM/demo.sh          (needs root; make demo builds the static agent first)
#   VM_AGENT_BINARY=FILE   the static iscsi-root (default cache/bin/iscsi-root)
#   VM_BOOT_TIMEOUT=SECONDS  the host's bound on the boot (default 120)
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)"
readonly VM_LIB
# shellcheck source=lib/common.sh
source "$VM_LIB/common.sh"
# shellcheck source=lib/kernel.sh
source "$VM_LIB/kernel.sh"
# shellcheck source=lib/initramfs.sh
source "$VM_LIB/initramfs.sh"
# shellcheck source=lib/rootfs.sh
source "$VM_LIB/rootfs.sh"
# shellcheck source=lib/target.sh
source "$VM_LIB/target.sh"
# shellcheck source=lib/qemu.sh
source "$VM_LIB/qemu.sh"

readonly DEMO_DIR="$VM_CACHE_DIR/vm/demo"
readonly TARGET_IQN="iqn.2024-01.org.iscsi-root.demo:root"

main() {
    ((EUID == 0)) || vm_fail "needs root (network namespaces, QEMU in them)"
    "$VM_LIB/deps.sh"
    vm_kernel_prepare
    mkdir -p "$DEMO_DIR"
    vm_log "kernel $KVER"
    vm_initramfs_build "$DEMO_DIR/initramfs.img" >&2
    vm_rootfs_build "$DEMO_DIR/root.img"
    vm_log "root image $DEMO_DIR/root.img (ext4, label root)"

    vm_netns_create
    VM_TARGET_LOG="$DEMO_DIR/tgtd.log" vm_target_start "$DEMO_DIR/root.img" "$TARGET_IQN"
    vm_log "tgtd in namespace $VM_NETNS serves $TARGET_IQN LUN 1 on 127.0.0.1:3260 (the guest's 10.0.2.2)"

    # The parameters the boot path will read (dracut's grammar); today's agent stops before.
    local append="console=ttyS0,115200 panic=-1 ip=dhcp netroot=iscsi:10.0.2.2::3260:1:$TARGET_IQN root=LABEL=root"
    vm_log "booting: $append"
    local status=0
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$DEMO_DIR/initramfs.img" --append "$append" \
        --log "$DEMO_DIR/console.log" --timeout "${VM_BOOT_TIMEOUT:-120}" --show || status=$?
    vm_netns_cleanup

    echo
    echo "demo: QEMU exited with status $status; console log with host timestamps: $DEMO_DIR/console.log"
    echo "demo: the agent ran as /init, mounted /proc /sys /dev /run and loaded its modules."
    echo "demo: the iSCSI login, the root mount and switch_root land with the boot issue (NETLINK_ISCSI session)."
    return "$status"
}

main "$@"
