#!/usr/bin/env bash
# The end-to-end boots: Debian's kernel with the project's initramfs under QEMU (software
# emulation), each scenario bounded in time, judged by the markers on its console.
#
# usage: Tests/VM/run.sh [SCENARIO...]      (default: every scenario; needs root)
#   VM_AGENT_BINARY=FILE   the static iscsi-root (default cache/bin/iscsi-root: make static)
#   VM_BOOT_TIMEOUT=SECONDS  the host's bound on one boot (default 120)
# Console logs stay in cache/vm/logs/SCENARIO.log. Prints one line per scenario and
# "N passed, N failed"; exits 1 when a scenario failed.
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)"
readonly VM_LIB
# shellcheck source=lib/common.sh
source "$VM_LIB/common.sh"
# shellcheck source=lib/kernel.sh
source "$VM_LIB/kernel.sh"
# shellcheck source=lib/initramfs.sh
source "$VM_LIB/initramfs.sh"
# shellcheck source=lib/target.sh
source "$VM_LIB/target.sh"
# shellcheck source=lib/qemu.sh
source "$VM_LIB/qemu.sh"
# shellcheck source=lib/rootfs.sh
source "$VM_LIB/rootfs.sh"

readonly BOOT_TIMEOUT="${VM_BOOT_TIMEOUT:-120}"
readonly LOG_DIR="$VM_CACHE_DIR/vm/logs"
readonly SCENARIOS=(early-init static-ip)
readonly VM_STATIC_IP="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"

# Each scenario runs in a subshell: it prints its figures on success, or its reason for
# failing on standard error, and its namespace is removed by target.sh's trap either way.

# /init is the static agent as PID 1: its argv (the PID-1 runtime shims work), its early
# mounts, libkmod loading the boot path's modules and the NIC's drivers by modalias, each
# logged with its duration, then its power-off, all before the host's bound.
scenario_early_init() (
    local name="early-init"
    local log="$LOG_DIR/$name.log" initrd="$LOG_DIR/$name.initrd.img"
    vm_initramfs_build "$initrd" >/dev/null
    vm_netns_create
    local status=0
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" \
        --timeout "$BOOT_TIMEOUT" --append "console=ttyS0,115200 panic=-1" || status=$?
    vm_netns_cleanup
    ((status != 124)) || vm_fail "QEMU still running after ${BOOT_TIMEOUT} s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"

    local run_init first_line mounts modules powered_off
    run_init="$(vm_console_time "$log" 'Run /init as init process')" ||
        vm_fail "the kernel never ran /init"
    first_line="$(vm_console_time "$log" 'iscsi-root: started as PID 1, argv \[/init\], uptime [0-9]+ ms')" ||
        vm_fail "no 'iscsi-root: started as PID 1, argv [/init]' line"
    mounts="$(vm_console_time "$log" 'iscsi-root: mounts: /proc /sys /dev /run \([0-9]+ ms\)')" ||
        vm_fail "no 'iscsi-root: mounts: /proc /sys /dev /run (N ms)' line"
    modules="$(vm_console_time "$log" 'iscsi-root: modules: iscsi_tcp sd_mod ext4 virtio_pci virtio_net loaded \([0-9]+ ms\)')" ||
        vm_fail "no 'iscsi-root: modules: iscsi_tcp sd_mod ext4 virtio_pci virtio_net loaded (N ms)' line"
    vm_console_time "$log" 'iscsi-root: no boot configuration handled yet — powering off' >/dev/null ||
        vm_fail "no 'powering off' line"
    powered_off="$(vm_console_time "$log" 'reboot: Power down')" ||
        vm_fail "the kernel did not say 'reboot: Power down'"
    ! grep -q -E 'Kernel panic|Unable to obtain Swift runtime path|Fatal error' "$log" ||
        vm_fail "panic or runtime abort: $(grep -m 1 -E 'Kernel panic|Unable to obtain|Fatal error' "$log")"
    local guest_start
    guest_start="$(grep -E -m 1 -o 'argv \[/init\], uptime [0-9]+ ms' "$log" | awk '{ print $4 }')"
    echo "seconds after QEMU start: kernel runs /init ${run_init}, first iscsi-root line ${first_line}, mounts ${mounts}, modules ${modules}, power off ${powered_off}; /init at guest uptime ${guest_start} ms"
)

# A whole diskless boot: the root (ext4, LABEL=root) is LUN 1 of a tgtd target in the
# namespace; the agent logs in through the kernel, mounts it read-write and runs its init,
# which writes a file and powers off. Afterwards the host reads the file from the image and
# e2fsck finds the filesystem clean.
vm_boot_from_iscsi() {
    local name="$1" append="$2"
    local log="$LOG_DIR/$name.log" initrd="$LOG_DIR/$name.initrd.img" image="$LOG_DIR/$name.root.img"
    vm_initramfs_build "$initrd" >/dev/null
    vm_rootfs_build "$image"
    vm_netns_create
    VM_TARGET_LOG="$LOG_DIR/$name.tgtd.log" vm_target_start "$image"
    local status=0
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" \
        --timeout "$BOOT_TIMEOUT" --append "console=ttyS0,115200 panic=-1 $append" || status=$?
    vm_netns_cleanup
    ((status != 124)) || vm_fail "QEMU still running after ${BOOT_TIMEOUT} s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"
    local step
    for step in plan modules network login 'root device' mount supervisor; do
        vm_console_time "$log" "iscsi-root: $step: .* \([0-9]+ ms\)" >/dev/null ||
            vm_fail "no 'iscsi-root: $step: ... (N ms)' line: $(grep -m 1 'iscsi-root: .*failed' "$log" || true)"
    done
    local root_init written
    root_init="$(vm_console_time "$log" 'VM-MARKER: root-init-started')" || vm_fail "the root's init never ran"
    written="$(vm_console_time "$log" 'VM-MARKER: root-file-written')" || vm_fail "the root's init did not write its file"
    vm_console_time "$log" 'reboot: Power down' >/dev/null || vm_fail "the kernel did not say 'reboot: Power down'"
    debugfs -R 'cat /var/log/iscsi-root-boots' "$image" 2>/dev/null | grep -q '^booted uptime=' ||
        vm_fail "the file the guest wrote is not in the image"
    e2fsck -fn "$image" >/dev/null 2>&1 || vm_fail "e2fsck -fn finds the root image unclean"
    local init_uptime
    init_uptime="$(grep -E -m 1 -o 'root-init-started uptime=[0-9.]+' "$log" | cut -d= -f2)"
    echo "seconds after QEMU start: root's init ${root_init} (guest uptime ${init_uptime}), file written ${written}; image clean"
}

scenario_static_ip() (
    vm_boot_from_iscsi static-ip "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$VM_TARGET_IQN_DEFAULT/1 root=LABEL=root rw"
)

run_scenario() {
    local name="$1" function="scenario_${1//-/_}"
    declare -F "$function" >/dev/null || vm_fail "unknown scenario \"$name\" (known: ${SCENARIOS[*]})"
    local figures
    if figures="$("$function" 2>"$LOG_DIR/$name.stderr")"; then
        echo "PASS $name: $figures"
        return 0
    fi
    echo "FAIL $name: $(tail -n 1 "$LOG_DIR/$name.stderr") (console: $LOG_DIR/$name.log)"
    return 1
}

main() {
    ((EUID == 0)) || vm_fail "needs root (network namespaces, QEMU in them)"
    "$VM_LIB/deps.sh"
    [[ -x "$VM_AGENT_BINARY" ]] || vm_fail "no static agent at $VM_AGENT_BINARY (run make static)"
    vm_kernel_prepare
    mkdir -p "$LOG_DIR"
    local selected=("$@") passed=0 failed=0 name
    ((${#selected[@]} > 0)) || selected=("${SCENARIOS[@]}")
    for name in "${selected[@]}"; do
        if run_scenario "$name"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
    echo "$passed passed, $failed failed"
    ((failed == 0))
}

main "$@"
