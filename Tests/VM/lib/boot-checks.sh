# The checks on a finished boot of Tests/VM/lib/rootfs.sh's root, shared by the suites that
# boot it (sourced; lib/harness.sh loads it).
#
#   vm_check_boot_started LOG       no panic or runtime abort; the agent started as PID 1
#   vm_check_successful_boot LOG IMAGE [--read-only]
#       a step line with its duration for each boot step; the root's init ran and wrote its
#       file (read-only: its write was refused); the kernel powered off; the file is in the
#       image (or not); e2fsck -fn finds the filesystem clean. Prints the figures.
#   vm_step_durations LOG           "plan 42, modules 630, ..." from the agent's step lines
# Needs qemu.sh (vm_console_time) and rootfs.sh.
# shellcheck shell=bash

readonly VM_BOOT_STEPS=(plan modules network login 'root device' mount supervisor)

vm_check_boot_started() {
    local log="$1"
    ! grep -q -E 'Kernel panic|Unable to obtain Swift runtime path|Fatal error' "$log" ||
        vm_fail "panic or runtime abort: $(grep -m 1 -E 'Kernel panic|Unable to obtain|Fatal error' "$log")"
    vm_console_time "$log" 'iscsi-root: started as PID 1, argv \[/init\]' >/dev/null ||
        vm_fail "no 'iscsi-root: started as PID 1, argv [/init]' line"
}

vm_check_boot_steps() {
    local log="$1" step
    for step in "${VM_BOOT_STEPS[@]}"; do
        vm_console_time "$log" "iscsi-root: $step: .* \([0-9]+ ms\)" >/dev/null ||
            vm_fail "no 'iscsi-root: $step: ... (N ms)' line: $(grep -m 1 'iscsi-root: .*failed' "$log" || true)"
    done
}

vm_check_successful_boot() {
    local log="$1" image="$2" read_only=0
    [[ "${3:-}" != --read-only ]] || read_only=1
    vm_check_boot_steps "$log"
    local root_init written
    root_init="$(vm_console_time "$log" 'VM-MARKER: root-init-started')" || vm_fail "the root's init never ran"
    vm_console_time "$log" 'reboot: Power down' >/dev/null || vm_fail "the kernel did not say 'reboot: Power down'"
    if ((read_only)); then
        vm_console_time "$log" 'iscsi-root: mount: .*, ro\)' >/dev/null || vm_fail "the agent did not mount the root read-only"
        vm_console_time "$log" 'VM-MARKER: root-mounted [^ ]+ ext4 ro,' >/dev/null ||
            vm_fail "the guest does not see / mounted read-only: $(grep -m 1 'root-mounted' "$log" || true)"
        written="$(vm_console_time "$log" 'VM-MARKER: root-read-only-write-refused')" ||
            vm_fail "the guest could write to its read-only root, or did not try"
        ! vm_rootfs_read "$image" "$VM_ROOTFS_FILE" | grep -q '^booted uptime=' ||
            vm_fail "a file was written to the read-only root"
    else
        written="$(vm_console_time "$log" 'VM-MARKER: root-file-written')" || vm_fail "the root's init did not write its file"
        vm_rootfs_read "$image" "$VM_ROOTFS_FILE" | grep -q '^booted uptime=' ||
            vm_fail "the file the guest wrote is not in the image"
    fi
    vm_rootfs_check "$image" || vm_fail "e2fsck -fn finds the root image unclean"
    local init_uptime steps
    init_uptime="$(grep -E -m 1 -o 'root-init-started uptime=[0-9.]+' "$log" | cut -d= -f2)"
    steps="$(vm_step_durations "$log")"
    local outcome="file written"
    ((read_only == 0)) || outcome="write refused (read-only)"
    echo "root's init at ${root_init} s after QEMU start (guest uptime ${init_uptime} s), $outcome at ${written} s; image clean; steps: $steps"
}

vm_step_durations() {
    local log="$1"
    grep -E -o 'iscsi-root: [a-z ]+: .* \([0-9]+ ms\)' "$log" |
        sed -E 's/^iscsi-root: ([a-z ]+): .* \(([0-9]+) ms\)$/\1 \2/' | paste -s -d, - | sed 's/,/, /g'
}
