#!/usr/bin/env bash
# The shutdown path under systemd: a minimal Debian bookworm root (systemd as init) boots
# from iSCSI with our initramfs, reaches multi-user.target, and a oneshot unit runs
# `systemctl reboot`; three cycles, each a fresh QEMU (-no-reboot ends it at the reboot).
# Each cycle must show: the supervisor answering `iscsi-root status` in the real root,
# systemd's killing spree passing over the supervisor, our shutdown role (systemd-shutdown
# executes /run/initramfs/shutdown) unmounting /oldroot before the supervisor logs the
# session out, the reboot, no I/O error, and a clean image (e2fsck -fn) afterwards.
#
# Then as many cycles with a second portal to the target: the root on the agent's multipath
# map over both paths, removed after the unmount and before both paths log out.
#
# Then one multipath cycle whose root also has multipath-tools, multipathd enabled
# (user_friendly_names, no_path_retry queue): multipathd adopts the map /init built (UUID
# mpath-<WWID>) and renames it mpatha; the host then resets path B's connection, and the
# supervisor must still fail and reinstate B in the renamed map (it names the map by UUID), the
# root stay writable, and the final ramdisk remove mpatha before both logouts.
#
# Then one cycle per fault of lib/faults.sh's SHUTDOWN_FAULT_NAMES (the connection deleted, the
# target frozen 3 s, the target killed, the guest's link down; when each is injected: see
# run_fault_cycle), with iscsi.shutdown_timeout=10: the kernel must restart within the
# bound plus SHUTDOWN_MARGIN s of the shutdown role's first line, the image be clean and hold the cycle's counter
# (written and synced before the reboot), and the console show the logout (the connection
# deleted or the target frozen: the target is back in time) or name what was given up.
#
# usage: Tests/VM/shutdown.sh [CYCLES [FAULT...]]   prints per-cycle figures and "N passed, N failed"
#   (default: 3 healthy cycles, 3 multipath cycles, the multipathd cycle, then every shutdown fault;
#   FAULT: shutdown-target-killed, …; none: -)
#   VM_AGENT_BINARY   the static iscsi-root (default cache/bin/iscsi-root; make vm-shutdown builds it)
#   VM_BOOT_TIMEOUT   host bound on one boot-and-reboot, seconds (default 120)
#
# The Debian tree is made once by debootstrap from the host's mirror and cached under
# cache/debian/ (lib/debian-root.sh); the image is made from it on each run. Needs root.
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)"
readonly VM_LIB
# shellcheck source-path=SCRIPTDIR source=lib/harness.sh
source "$VM_LIB/harness.sh"
# shellcheck source-path=SCRIPTDIR source=lib/debian-root.sh
source "$VM_LIB/debian-root.sh"

readonly BOOT_TIMEOUT="${VM_BOOT_TIMEOUT:-120}"
readonly CYCLES="${1:-3}"
readonly SHUTDOWN_BOUND=10 SHUTDOWN_MARGIN=8
readonly LOG_DIR="$VM_CACHE_DIR/vm/logs"
readonly WORK="$VM_CACHE_DIR/vm/shutdown"
readonly DEBIAN_PACKAGES=systemd-sysv,udev,kmod,iproute2,procps
readonly GUEST_APPEND="console=ttyS0,115200 panic=-1 net.ifnames=0 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off iscsi=iscsi://10.0.2.2/$VM_TARGET_IQN_DEFAULT/1 root=LABEL=root rw"
# The multipath cycles: a second portal to the same target (tgtd also on 127.0.0.1:3261), so
# the root is on the agent's dm-multipath map over two paths.
readonly MULTIPATH_APPEND="$GUEST_APPEND iscsi=iscsi://10.0.2.2:3261/$VM_TARGET_IQN_DEFAULT/1"

# The root image: the cached tree, the agent, the cycle unit, no getty, no first-boot prompt.
# With "multipathd": multipath-tools too, with a configuration a SAN root would have.
build_image() {
    local image="$1" multipathd="${2:-}" tree="$WORK/tree" cached
    cached="$(debian_root_tree bookworm "$DEBIAN_PACKAGES${multipathd:+,multipath-tools}")"
    rm -rf "$tree"
    cp -a "$cached" "$tree"
    rm -f "$tree/.complete"
    install -m 0755 "$VM_AGENT_BINARY" "$tree/usr/sbin/iscsi-root"
    echo shutdown-guest >"$tree/etc/hostname"
    printf 'LABEL=root / ext4 defaults,_netdev 0 1\n' >"$tree/etc/fstab"
    debian_root_unattended "$tree"
    mkdir -p "$tree/var/lib/shutdown-test"
    debian_root_marker "$tree" "$VM_REPO_ROOT/Tests/VM/guest/shutdown-cycle"
    [[ -z "$multipathd" ]] || printf '%s\n' 'defaults {' '    user_friendly_names yes' '    find_multipaths greedy' \
        '    no_path_retry queue' '}' >"$tree/etc/multipath.conf"
    debian_root_image "$tree" "$image" 1G
    rm -rf "$tree"
}

passed=0
failed=0
cycle_failures=()
check() {
    local description="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        cycle_failures+=("$description")
    fi
}
console_has() { grep -Eq -- "$2" "$1"; }
# Line number of the first console line matching PATTERN (0 when none).
console_line() { grep -En -m 1 -- "$2" "$1" | cut -d : -f 1 || true; }
console_order() {
    local log="$1" earlier later
    earlier="$(console_line "$log" "$2")"
    later="$(console_line "$log" "$3")"
    [[ -n "$earlier" && -n "$later" ]] && ((earlier < later))
}
console_lacks() { ! grep -Eq -- "$2" "$1"; }
# Whether PATTERN shows up on the console while QEMU (PID) runs; polled every 0.1 s, so bounded
# by QEMU's own --timeout.
console_appears() {
    local log="$1" pattern="$2" qemu="$3"
    until grep -Eq -- "$pattern" "$log" 2>/dev/null; do
        kill -0 "$qemu" 2>/dev/null || return 1
        sleep 0.1
    done
}
at_most() { [[ "$1" =~ ^[0-9]+$ ]] && (($1 <= $2)); }
console_clean() { ! grep -Eq 'Kernel panic|I/O error|detected conn error|rejecting I/O|EXT4-fs error|Freezing execution' "$1"; }

# run_cycle CYCLE IMAGE [multipath|multipathd]: one boot and reboot; with "multipath" over two
# paths, and then the map must be removed after the root's unmount and before both paths'
# logouts; "multipathd": the same with multipathd in the root and path B reset once it owns the map.
run_cycle() {
    local cycle="$1" image="$2" multipath="${3:-}" append="$GUEST_APPEND"
    local log="$LOG_DIR/shutdown-$cycle${multipath:+-$multipath}.log"
    [[ -z "$multipath" ]] || append="$MULTIPATH_APPEND"
    cycle_failures=()
    vm_netns_create
    VM_TARGET_LOG="${log%.log}.tgtd.log" vm_target_start "$image"
    [[ -z "$multipath" ]] || vm_target_second_portal 3261
    local started ended status=0 qemu
    started="$(vm_now_ms)"
    rm -f "$log"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$WORK/initrd.img" --log "$log" \
        --timeout "$BOOT_TIMEOUT" --append "$append" &
    qemu=$!
    # The guest waits (guest/shutdown-cycle) until multipathd has renamed the map, then for B's
    # failure and reinstatement in it.
    [[ "$multipath" != multipathd ]] || ! console_appears "$log" 'VM-MARKER: map dm-0 named mpatha' "$qemu" ||
        fault_kill_path 3261
    wait "$qemu" || status=$?
    ended="$(vm_now_ms)"
    vm_netns_cleanup

    check "QEMU ended by itself (status $status; 124: ${BOOT_TIMEOUT} s timeout)" test "$status" -eq 0
    check "multi-user.target reached (cycle $cycle)" console_has "$log" "VM-MARKER: multi-user reached, cycle $cycle,"
    check "iscsi-root status answers in the real root" console_has "$log" 'VM-MARKER: status session [0-9]+ .*logged in'
    check "the shutdown ramdisk is in place" console_has "$log" 'VM-MARKER: shutdown ramdisk present'
    check "systemd-shutdown ran its killing spree" console_has "$log" 'Sending SIGTERM to remaining processes'
    check "systemd-shutdown handed over to /run/initramfs/shutdown" console_has "$log" 'iscsi-root: shutdown: '
    check "the shutdown role unmounted /oldroot" console_has "$log" 'iscsi-root: shutdown: root unmounted; logging out'
    check "the supervisor survived and logged out" console_has "$log" 'iscsi-root: shutdown: logged out of '
    check "logout only after /oldroot is unmounted" console_order "$log" 'iscsi-root: shutdown: root unmounted' 'iscsi-root: shutdown: logged out of '
    # The kernel's own word that the root filesystem went away, before the logout.
    check "the kernel unmounted the root's ext4 before the logout" console_order "$log" 'EXT4-fs \((sd[a-z]+|dm-[0-9]+)\): unmounting filesystem' 'iscsi-root: shutdown: logged out of '
    if [[ -n "$multipath" ]]; then
        check "the root was mounted from the map" console_has "$log" 'iscsi-root: mount: /dev/mapper/[0-9a-z_.-]+ on /sysroot'
        check "the second path joined the map" console_has "$log" 'sessions: path at 10\.0\.2\.2:3261: sdb \(8:16\) joins .*: 2 of 2 paths active'
        check "the map was removed after the unmount" console_order "$log" 'EXT4-fs \(dm-0\): unmounting filesystem' 'iscsi-root: shutdown: removed [0-9a-z_.-]+ \(dm-0\)'
        check "both paths logged out after the map's removal" console_order "$log" 'iscsi-root: shutdown: removed [0-9a-z_.-]+ \(dm-0\)' 'iscsi-root: shutdown: logged out of .* at 10\.0\.2\.2:3260'
        check "path B logged out" console_has "$log" 'iscsi-root: shutdown: logged out of .* at 10\.0\.2\.2:3261'
    fi
    if [[ "$multipath" == multipathd ]]; then
        check "multipathd adopted the map and renamed it" console_has "$log" 'VM-MARKER: map dm-0 named mpatha by multipathd'
        check "B failed and reinstated in the renamed map by the supervisor" console_has "$log" \
            'VM-STATUS: path +active in /dev/mapper/mpatha \(2 of 2 paths active\), 1 failure\(s\), reinstated'
        check "no message to the map refused" console_lacks "$log" 'to [0-9a-z_.-]+ refused'
        # multipathd sets each path's recovery timeout to its fast_io_fail_tmo (5 s); status says so.
        check "status shows the replacement timeout multipathd set" console_has "$log" 'VM-STATUS: recovery replacement timeout 5 s'
        check "the root stayed writable after B's reset" console_has "$log" 'VM-MARKER: wrote after the path reset'
        check "the final ramdisk removed mpatha" console_has "$log" 'iscsi-root: shutdown: removed mpatha \(dm-0\)'
        # B's reset is a path's connection error; the map and the filesystem must see none.
        check "no error of the map or the filesystem, no panic" console_lacks "$log" 'Kernel panic|I/O error.* dev dm-|EXT4-fs error'
    else
        check "no I/O error, connection error or panic on the console" console_clean "$log"
    fi
    check "the machine rebooted after the logout" console_order "$log" 'iscsi-root: shutdown: logged out of ' 'reboot: Restarting system'
    check "e2fsck -fn: the image is clean" vm_rootfs_check "$image"
    local counted
    counted="$(debugfs -R 'cat /var/lib/shutdown-test/cycle' "$image" 2>/dev/null | tr -d '[:space:]')"
    check "the guest's cycle counter is $cycle in the image (found '${counted}')" test "$counted" = "$cycle"

    local multi_user reboot_request off total
    multi_user="$(vm_console_time "$log" 'VM-MARKER: multi-user reached' || echo -)"
    reboot_request="$(vm_console_time "$log" 'VM-MARKER: rebooting' || echo -)"
    off="$(vm_console_time "$log" 'reboot: Restarting system' || echo -)"
    total="$(awk -v ms=$((ended - started)) 'BEGIN { printf "%.1f", ms / 1000 }')"
    local shutdown_seconds=-
    if [[ "$reboot_request" != - ]]; then
        shutdown_seconds="$(awk -v a="$reboot_request" -v ms=$((ended - started)) 'BEGIN { printf "%.1f", ms / 1000 - a }')"
    fi
    local verdict=PASS
    ((${#cycle_failures[@]} == 0)) || verdict=FAIL
    echo "$verdict cycle $cycle${multipath:+ ($multipath)}: multi-user.target at $multi_user s; reboot request → QEMU exit $shutdown_seconds s (kernel restart at $off s); QEMU ran $total s — $log"
    local failure
    for failure in "${cycle_failures[@]}"; do echo "  failed: $failure"; done
}

# A cycle whose shutdown meets FAULT (lib/faults.sh shutdown_fault_*).
run_fault_cycle() {
    local cycle="$1" image="$2" fault="$3"
    local log="$LOG_DIR/shutdown-$cycle-$fault.log" monitor="$LOG_DIR/shutdown-$cycle-$fault.monitor"
    cycle_failures=()
    vm_netns_create
    VM_TARGET_LOG="$LOG_DIR/shutdown-$cycle-$fault.tgtd.log" vm_target_start "$image"
    rm -f "$log" "$monitor"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$WORK/initrd.img" --log "$log" --monitor "$monitor" \
        --timeout "$BOOT_TIMEOUT" --append "$GUEST_APPEND iscsi.shutdown_timeout=$SHUTDOWN_BOUND" &
    local qemu=$! status=0 cue injected=0
    # A connection cut or a frozen target meets systemd's own shutdown (its stops, sync and
    # remount), and the supervisor repairs it before the final logout. A target gone for good
    # or a link down meets the final ramdisk: injected once systemd-shutdown has detached
    # everything (the root is read-only and synced; earlier, systemd itself waits for the
    # dead target on its own timeouts, 90 s), with the guest paused meanwhile (QEMU monitor
    # stop/cont), so that the fault is in place before the shutdown role starts.
    local pause=0
    case "$fault" in
    shutdown-connection-deleted | shutdown-target-frozen) cue='VM-MARKER: rebooting' ;;
    *) cue='All filesystems, swaps, loop devices, MD devices and DM devices detached' pause=1 ;;
    esac
    if console_appears "$log" "$cue" "$qemu"; then
        injected=1
        ((pause == 0)) || fault_qemu_monitor "$monitor" stop
        # A subshell: a fault that cannot be injected (vm_fail) fails this cycle, not the run.
        local injector="${fault#shutdown-}"
        ("shutdown_fault_${injector//-/_}" "$monitor") || check "the fault $fault was injected" false
        ((pause == 0)) || fault_qemu_monitor "$monitor" cont
    fi
    wait "$qemu" || status=$?
    fault_thaw_target
    vm_netns_cleanup
    # The bound holds from the shutdown role's first line to the kernel's restart (the
    # guest's own clock, in the console's stamps).
    local role_start restart off=-
    role_start="$(vm_console_time "$log" 'iscsi-root: shutdown: within [0-9]+ s' || true)"
    restart="$(vm_console_time "$log" 'reboot: Restarting system' || true)"
    if [[ -n "$role_start" && -n "$restart" ]]; then
        off="$(awk -v a="$role_start" -v b="$restart" 'BEGIN { printf "%d", (b - a) * 1000 }')"
    fi

    check "QEMU ended by itself (status $status; 124: ${BOOT_TIMEOUT} s timeout)" test "$status" -eq 0
    check "multi-user.target reached (cycle $cycle)" console_has "$log" "VM-MARKER: multi-user reached, cycle $cycle,"
    check "the fault's cue '$cue' came" test "$injected" -eq 1
    check "restarted within ${SHUTDOWN_BOUND} s + ${SHUTDOWN_MARGIN} s of the shutdown role's start (took ${off} ms)" \
        at_most "$off" $(((SHUTDOWN_BOUND + SHUTDOWN_MARGIN) * 1000))
    check "the machine rebooted" console_has "$log" 'reboot: Restarting system'
    case "$fault" in
    shutdown-connection-deleted | shutdown-target-frozen)
        check "the supervisor logged out (the target was back in time)" console_has "$log" 'iscsi-root: shutdown: logged out of '
        check "nothing given up" console_lacks "$log" 'gave up'
        ;;
    *)
        check "the console names what was given up" console_has "$log" 'iscsi-root: shutdown: .*(gave up|not answered|without a logout)'
        ;;
    esac
    check "e2fsck -fn: the image is clean" vm_rootfs_check "$image"
    local counted
    counted="$(debugfs -R 'cat /var/lib/shutdown-test/cycle' "$image" 2>/dev/null | tr -d '[:space:]')"
    check "the guest's cycle counter is $cycle in the image (found '${counted}')" test "$counted" = "$cycle"
    local given_up
    given_up="$(grep -a -E 'shutdown: .*(gave up|not answered|without a logout|logged out of)' "$log" | sed 's/.*shutdown: //' | tr -d '\r' | paste -s -d '|' || true)"
    local verdict=PASS
    ((${#cycle_failures[@]} == 0)) || verdict=FAIL
    local total
    total="$(vm_console_time "$log" 'reboot: Restarting system' || echo -)"
    echo "$verdict cycle $cycle ($fault at '$cue'): restart ${off} ms after the shutdown role started (bound ${SHUTDOWN_BOUND} s), at $total s; ${given_up:-nothing said} — $log"
    local failure
    for failure in "${cycle_failures[@]}"; do echo "  failed: $failure"; done
}

main() {
    ((EUID == 0)) || vm_fail "needs root (debootstrap, network namespaces, QEMU in them)"
    cd "$VM_REPO_ROOT"
    "$VM_LIB/deps.sh"
    command -v debootstrap >/dev/null || "$VM_LIB/deps.sh" --set debian-root
    [[ -x "$VM_AGENT_BINARY" ]] || vm_fail "no static agent at $VM_AGENT_BINARY (run make static)"
    vm_kernel_prepare
    mkdir -p "$LOG_DIR" "$WORK"
    local prepared
    prepared="$(vm_now_ms)"
    vm_initramfs_build "$WORK/initrd.img" >/dev/null
    build_image "$WORK/root.img"
    build_image "$WORK/root-multipathd.img" multipathd
    echo "prepared the initramfs and the Debian root images in $((($(vm_now_ms) - prepared) / 1000)) s"
    local cycle
    for ((cycle = 1; cycle <= CYCLES; cycle++)); do
        run_cycle "$cycle" "$WORK/root.img"
    done
    # As many cycles again with the root on the map over two paths.
    local last=$((CYCLES * 2))
    for (( ; cycle <= last; cycle++)); do
        run_cycle "$cycle" "$WORK/root.img" multipath
    done
    # Its own image, whose cycle counter starts at 0.
    run_cycle 1 "$WORK/root-multipathd.img" multipathd
    local faults=("${@:2}") fault
    ((${#faults[@]} > 0)) || faults=("${SHUTDOWN_FAULT_NAMES[@]}")
    for fault in "${faults[@]}"; do
        [[ "$fault" != - ]] || continue
        run_fault_cycle "$cycle" "$WORK/root.img" "$fault"
        cycle=$((cycle + 1))
    done
    echo "$passed passed, $failed failed"
    ((failed == 0))
}

main "$@"
