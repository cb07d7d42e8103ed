#!/usr/bin/env bash
# Shows what iscsi-root is for, as a person would watch it on the console: Debian's kernel
# and the project's initramfs under QEMU, a tgtd serving the root image as LUN 1 in a
# private network namespace, the root on the command line. The root's init writes blocks
# with fsync; the host cuts the session's connection on the target meanwhile and the
# supervisor repairs it (its line, with the duration); then the guest shuts down through the
# final ramdisk, which unmounts the root before the supervisor logs out. The host checks
# every block and the filesystem afterwards.
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
    local static_ip="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"
    case "$1" in
    native) echo "$static_ip iscsi=iscsi://10.0.2.2/$TARGET_IQN/1 root=LABEL=root rw" ;;
    dhcp) echo "ip=dhcp iscsi=iscsi://10.0.2.2/$TARGET_IQN/1 root=LABEL=root rw" ;;
    dracut) echo "$static_ip netroot=iscsi:10.0.2.2::3260:1:$TARGET_IQN root=LABEL=root rw" ;;
    initramfs-tools) echo "$static_ip iscsi_target_name=$TARGET_IQN iscsi_target_ip=10.0.2.2 iscsi_target_port=3260 root=LABEL=root rw" ;;
    *) vm_fail "unknown DEMO_FORM \"$1\" (native, dhcp, dracut, initramfs-tools)" ;;
    esac
}

# Blocks the root's init writes; the cut comes after the fourth.
readonly DEMO_BLOCKS=12
readonly DEMO_CUT_AFTER=4

# Runs STEP's command, saying what it does before and how long it took after: the first run
# downloads and builds what later runs find in cache/.
demo_step() {
    local what="$1" started=$SECONDS
    shift
    vm_log "$what …"
    "$@"
    vm_log "$what: done in $((SECONDS - started)) s"
}

main() {
    ((EUID == 0)) || vm_fail "needs root (network namespaces, QEMU in them)"
    demo_step "Debian packages (QEMU, tgt, busybox; only those missing)" "$VM_LIB/deps.sh"
    [[ -x "$VM_AGENT_BINARY" ]] || vm_fail "no static agent at $VM_AGENT_BINARY (run make static)"
    local append
    # quiet: the console shows the agent and the root, not every kernel message.
    append="console=ttyS0,115200 panic=-1 quiet $(demo_append "${DEMO_FORM:-native}") demo.blocks=$DEMO_BLOCKS"
    demo_step "kernel (Debian's, downloaded once into cache/kernel)" vm_kernel_prepare
    mkdir -p "$DEMO_DIR"
    vm_log "kernel $KVER"
    demo_step "initramfs (the agent as /init, the kernel's iSCSI and NIC modules)" \
        vm_initramfs_build "$DEMO_DIR/initramfs.img" >&2
    fault_writer_image "$DEMO_DIR/root.img" "$VM_REPO_ROOT/Tests/VM/guest/demo-init"
    vm_log "root image $DEMO_DIR/root.img (ext4, label root, busybox; its init writes $DEMO_BLOCKS blocks, then shuts down)"

    vm_netns_create
    VM_TARGET_LOG="$DEMO_DIR/tgtd.log" vm_target_start "$DEMO_DIR/root.img" "$TARGET_IQN"
    vm_log "tgtd in namespace $VM_NETNS serves $TARGET_IQN LUN 1 on 127.0.0.1:3260 (the guest's 10.0.2.2)"

    vm_log "booting: $append"
    local log="$DEMO_DIR/console.log" status=0
    rm -f "$log"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$DEMO_DIR/initramfs.img" --append "$append" \
        --log "$log" --timeout "${VM_BOOT_TIMEOUT:-120}" --show &
    local qemu=$!
    local cut=false
    if (fault_wait_for_console "$log" "VM-MARKER: wrote seq=$DEMO_CUT_AFTER " 90); then
        echo ">>> demo: the host deletes the session's connection on the target now (tgtadm --mode conn --op delete)"
        fault_connection_deleted
        cut=true
    fi
    wait "$qemu" || status=$?
    vm_netns_cleanup

    echo
    echo "demo: console log with host timestamps: $log"
    if ((status != 0)); then
        echo "demo: QEMU exited with status $status$( ((status == 124)) && echo " (still running after ${VM_BOOT_TIMEOUT:-120} s)")"
        return "$status"
    fi
    $cut || { echo "demo: the root's init never wrote block $DEMO_CUT_AFTER: see the log"; return 1; }
    demo_report "$log" "$DEMO_DIR/root.img"
    echo "demo: other command-line forms: DEMO_FORM=dhcp|dracut|initramfs-tools make demo"
}

# What the console showed, in order: the repair, the writes, the shutdown's order.
demo_report() {
    local log="$1" image="$2" recovery unmounted logged_out
    recovery="$(grep -m 1 -o 'operational again .* in [0-9]* ms' "$log")" ||
        { echo "demo: no recovery line on the console"; return 1; }
    echo "demo: the supervisor repaired the session: $recovery"
    unmounted="$(grep -n -m 1 'shutdown: root unmounted' "$log" | cut -d: -f1)"
    logged_out="$(grep -n -m 1 -E 'shutdown: (session|logged)' "$log" | cut -d: -f1)"
    if [[ -z "$unmounted" || -z "$logged_out" ]] || ((unmounted > logged_out)); then
        echo "demo: the final ramdisk did not unmount the root before the logout: see the log"
        return 1
    fi
    grep -q 'reboot: Power down' "$log" || { echo "demo: the guest did not power off"; return 1; }
    fault_check_writer "$log" "$image" "$DEMO_BLOCKS"
    echo "demo: all $DEMO_BLOCKS writes completed with no I/O error; the final ramdisk unmounted the root, then the session was logged out, then the machine powered off"
    echo "demo: every block is intact in the image and e2fsck -fn finds it clean."
}

main "$@"
