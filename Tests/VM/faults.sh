#!/usr/bin/env bash
# The supervisor under faults: the guest writes numbered blocks with fsync every half
# second while the host breaks the path to the target; afterwards no I/O error may be in
# the guest's kernel log, every block must be in the image, e2fsck must find it clean, and
# the console must show the recovery with its duration.
#
# usage: Tests/VM/faults.sh [SCENARIO...]   (default: every scenario; needs root)
# A scenario is a fault of lib/faults.sh, or FAULT-redirected: the guest's portal then only
# redirects logins (login-redirector.py) to tgtd on 10.0.2.2:3261, at boot and in recovery;
# FAULT-ipv6: the guest boots over IPv6 only (static fd00:10:2::15, tgtd on [::1] as
# [fd00:10:2::2]); FAULT-vlan: over VLAN 100 (vlan=eth0.100:eth0, tgtd on 192.168.100.1).
# Both check that the recovery logged in at that portal again. dual-stack: eth0 has
# 10.0.2.15/24 and fd00:10:2::15/64 (two ip=), tgtd listens on 127.0.0.1 and [::1], the
# target has both portals, IPv6 first; the boot logs in over IPv6, the fault deletes tgtd's
# IPv6 portal and the connection, and the session must come back at 10.0.2.2:3260.
# busy-target: the portal is lib/busy-target.py in front of tgtd, which answers the boot's
# first two logins with 0x0301 and 0x0302 and, as the fault, asks for a logout with
# Time2Wait 3. stale-session: no fault under the writer; QEMU quits after 8 blocks (no
# logout) and the machine boots again at once.
# link-lost: the guest's link down past the NOP-Out window; the attempts meanwhile must not
# connect ("not connecting: eth0 has no carrier"), the first one after the link is back must.
# lun-changed: the target shows another LUN under the same name and number during the outage
# (the agent must not log in again), then the boot's LUN grown by 32 MiB (rescanned).
# Prints one line per scenario with the recovery figures and "N passed, N failed".
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)"
readonly VM_LIB
# shellcheck source=lib/harness.sh
source "$VM_LIB/harness.sh"

readonly BOOT_TIMEOUT="${VM_BOOT_TIMEOUT:-240}"
readonly LOG_DIR="$VM_CACHE_DIR/vm/logs"
# FAULT_NAMES stays what scripts/bench-recovery.sh measures; the redirected run is ours.
readonly SCENARIOS=("${FAULT_NAMES[@]}" link-lost connection-deleted-redirected connection-deleted-ipv6 connection-deleted-vlan dual-stack busy-target
    lun-changed stale-session multipath multipath-late multipath-silent multipath-unplugged multipath-all-down "${SHUTDOWN_FAULT_NAMES[@]}")
# 8 before the fault, 16 after: enough to see the writes resume, each 0.5 s of the run.
readonly WRITER_BLOCKS=24
readonly GUEST_APPEND="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off iscsi=iscsi://10.0.2.2/$VM_TARGET_IQN_DEFAULT/1 root=LABEL=root rw writer.blocks=$WRITER_BLOCKS"
readonly GUEST_APPEND_IPV6="ip=[fd00:10:2::15]::[fd00:10:2::2]:64::eth0:none iscsi=iscsi://[fd00:10:2::2]/$VM_TARGET_IQN_DEFAULT/1 root=LABEL=root rw writer.blocks=$WRITER_BLOCKS"
# Two portals of one target: failover, not the root's multipath map (iscsi.multipath=off).
readonly GUEST_APPEND_DUAL_STACK="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:none ip=[fd00:10:2::15]::[fd00:10:2::2]:64::eth0:none iscsi=iscsi://[fd00:10:2::2]/$VM_TARGET_IQN_DEFAULT/1 iscsi=iscsi://10.0.2.2/$VM_TARGET_IQN_DEFAULT/1 iscsi.multipath=off root=LABEL=root rw writer.blocks=$WRITER_BLOCKS"
# Two paths to one target, 10.0.2.2:3260 (A) and 10.0.2.2:3261 (B): the root on the map.
readonly GUEST_APPEND_MULTIPATH="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off iscsi=iscsi://10.0.2.2/$VM_TARGET_IQN_DEFAULT/1 iscsi=iscsi://10.0.2.2:3261/$VM_TARGET_IQN_DEFAULT/1 root=LABEL=root rw"
# The same over two NICs: A at 10.0.2.2 on eth0, B at 10.0.3.2 on eth1 (qemu.sh --second-nic),
# B still to tgtd's second portal, so that resetting A's connections (port 3260) spares B's.
readonly GUEST_APPEND_MULTIPATH_NICS="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off ip=10.0.3.15:::255.255.255.0::eth1:off iscsi=iscsi://10.0.2.2/$VM_TARGET_IQN_DEFAULT/1 iscsi=iscsi://10.0.3.2:3261/$VM_TARGET_IQN_DEFAULT/1 root=LABEL=root rw"
readonly GUEST_APPEND_VLAN="vlan=eth0.100:eth0 ip=192.168.100.15:::255.255.255.0::eth0.100:none iscsi=iscsi://192.168.100.1/$VM_TARGET_IQN_DEFAULT/1 root=LABEL=root rw writer.blocks=$WRITER_BLOCKS"

# Boots the writer guest, injects FAULT once 8 blocks are written, and checks the outcome.
run_fault() (
    [[ "$1" != stale-session ]] || { run_stale_session; exit; }
    [[ "$1" != multipath* ]] || { run_multipath "$1"; exit; }
    [[ "$1" != shutdown-* ]] || { run_shutdown_fault "$1"; exit; }
    local name="$1" fault="${1%-redirected}" append="$GUEST_APPEND" network=() portal=""
    case "$name" in
    *-ipv6) fault="${name%-ipv6}" append="$GUEST_APPEND_IPV6" network=(--ipv6) portal='\[fd00:10:2::2\]:3260' ;;
    *-vlan) fault="${name%-vlan}" append="$GUEST_APPEND_VLAN" portal='192\.168\.100\.1:3260' ;;
    dual-stack) append="$GUEST_APPEND_DUAL_STACK" network=(--dual-stack) portal='10\.0\.2\.2:3260' ;;
    esac
    local log="$LOG_DIR/fault-$name.log" initrd="$LOG_DIR/fault.initrd.img" image="$LOG_DIR/fault-$name.root.img"
    local monitor="$LOG_DIR/fault-$name.monitor"
    [[ -f "$initrd" ]] || vm_initramfs_build "$initrd" >/dev/null
    fault_writer_image "$image"
    vm_netns_create
    local redirector_log="$LOG_DIR/fault-$name.redirector.log"
    case "$name" in
    *-ipv6) vm_target_ipv6_only ;;
    *-vlan)
        vm_netns_vlan_switch $((BOOT_TIMEOUT + 30)) "$LOG_DIR/fault-$name.vlan-switch.log"
        network=(--vlan-switch)
        ;;
    *-redirected) vm_target_behind_redirector $((BOOT_TIMEOUT + 30)) "$redirector_log" ;;
    busy-target)
        vm_target_in_front busy-target "$LOG_DIR/fault-$name.proxy.log" busy-target.py 3260 3261 3 10 $((BOOT_TIMEOUT + 30))
        ;;
    esac
    VM_TARGET_LOG="$LOG_DIR/fault-$name.tgtd.log" vm_target_start "$image"
    [[ "$name" != dual-stack ]] || vm_target_dual_stack
    rm -f "$log" "$monitor"
    local qemu_start
    qemu_start="$(vm_now_ms)"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --monitor "$monitor" \
        --timeout "$BOOT_TIMEOUT" --append "console=ttyS0,115200 panic=-1 $append" "${network[@]}" &
    local qemu=$!
    fault_wait_for_console "$log" 'VM-MARKER: wrote seq=8 ' 120
    local fault_start fault_end
    fault_start="$(vm_now_ms)"
    "fault_${fault//-/_}" "$LOG_DIR/fault-$name" "$image" "$monitor"
    fault_end="$(vm_now_ms)"
    local status=0
    wait "$qemu" || status=$?
    vm_netns_cleanup
    ((status != 124)) || vm_fail "QEMU still running after ${BOOT_TIMEOUT} s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"

    fault_check_writer "$log" "$image" "$WRITER_BLOCKS"
    local recovered
    if recovered="$(grep -m 1 -o 'operational again .* in [0-9]* ms' "$log")"; then
        grep -q 'VM-STATUS: recoveries [1-9]' "$log" || vm_fail "iscsi-root status does not count the recovery"
        ! grep -q 'identity was not checked' "$log" || vm_fail "$(grep -a -m 1 -o 'the LUN.s identity was not checked.*' "$log")"
    elif [[ "$fault" == link-dropped ]]; then
        # Shorter than the NOP-Out window: TCP retransmits once the link is back, and the
        # session never breaks.
        recovered="no recovery needed (the session outlived the outage)"
    else
        vm_fail "the console shows no recovery"
    fi
    if [[ -n "$portal" ]]; then
        [[ "$recovered" =~ ^operational\ again\ at\ $portal\  ]] ||
            vm_fail "the recovery did not log in at $portal again: $recovered"
        grep -q -E "VM-STATUS: target .* at $portal via [[:alnum:]._-]+\$" "$log" ||
            vm_fail "iscsi-root status does not show the portal as $portal: $(grep -a -m 1 'VM-STATUS: target' "$log")"
    elif [[ "$fault" != "$name" ]]; then
        # The boot's login and each recovery attempt ask the configured portal first.
        [[ "$recovered" =~ ^operational\ again\ at\ 10\.0\.2\.2:3261\ after\ ([0-9]+)\ attempt ]] ||
            vm_fail "the recovery did not log in at the redirected portal 10.0.2.2:3261: $recovered"
        local attempts="${BASH_REMATCH[1]}" redirects
        redirects="$(grep -c 'login-redirector: redirect ' "$redirector_log" || true)"
        # Per attempt two logins ask it: the LUN check's session, then the kernel's.
        ((redirects == 1 + 2 * attempts)) ||
            vm_fail "the redirector sent $redirects redirect(s), expected $((1 + 2 * attempts)) (see $redirector_log)"
        recovered+=" ($redirects redirects: the boot's, and per attempt the LUN check's and the login's)"
    fi
    if [[ "$name" == dual-stack ]]; then
        local dual
        dual="$(check_dual_stack "$log" "$LOG_DIR/fault-$name.connections")" || exit 1
        recovered+="; $dual"
    fi
    if [[ "$name" == lun-changed ]]; then
        fault_check_other_lun "$image"
        local refused rescanned
        refused="$(grep -a -m 1 -o 'now shows another LUN 1 ([^)]*); the boot.s was [^;]*' "$log" | tr -d '\r')" ||
            vm_fail "no refusal naming both LUNs' identifiers"
        rescanned="$(grep -a -m 1 -o 'rescanned: [0-9]* sectors' "$log" | tr -d '\r')" || vm_fail "no rescan line"
        [[ "$rescanned" == "rescanned: 262144 sectors" ]] || vm_fail "the kernel saw '$rescanned' after the rescan, expected 262144 sectors (128 MiB)"
        recovered+="; refused: $refused; $rescanned; the other LUN untouched"
    fi
    if [[ "$name" == link-lost ]]; then
        local refused
        refused="$(grep -a -c 'not connecting: eth0 has no carrier' "$log" || true)"
        ((refused > 0)) || vm_fail "no attempt was held back for the missing carrier"
        # Every attempt while the link was down was held back: none connected and timed out.
        ! grep -a -E 'attempt [0-9]+ at .* failed: ' "$log" | grep -v 'not connecting: eth0 has no carrier' ||
            vm_fail "an attempt besides those held back failed (above)"
        [[ "$recovered" =~ ^operational\ again\ at\ 10\.0\.2\.2:3260\ after\ ([0-9]+)\ attempt ]] ||
            vm_fail "the recovery did not come back at 10.0.2.2:3260: $recovered"
        recovered+="; $refused attempt(s) held back while eth0 had no carrier"
    fi
    if [[ "$name" == busy-target ]]; then
        local busy
        busy="$(check_busy_target "$log" "$LOG_DIR/fault-$name.proxy.log")" || exit 1
        recovered+="; $busy"
    fi
    local resumed
    resumed="$(fault_first_write_after "$log" "$((fault_end - qemu_start))")"
    echo "$recovered; fault lasted $((fault_end - fault_start)) ms; first write $resumed ms after the fault ended; $WRITER_BLOCKS blocks intact, image clean"
)


# The root on the map over two paths to one target (10.0.2.2:3260 A and :3261 B): both log
# in, the map is built over A's disk and B's joins; at shutdown the map is removed before both
# paths log out (the final ramdisk, guest/writer-shutdown-init). Under the writer:
# multipath: the host resets B's connection after block 8 and A's after block 16 (ss -K in
# the namespace): each path is failed in the map at once and reinstated once its session is back.
# multipath-late: B's portal does not exist at boot and is added after block 4: the machine
# boots on A, B joins the map when it logs in; then A's connection is reset.
# multipath-silent: A and B on NICs of their own; B's link is cut (set_link off: no RST, a
# cable pulled) for 12 s after block 8: NOP-Out finds B dead and fails it in the map, the writes
# go on over A, and B's session, refused to connect while eth1 has no carrier, comes back after.
# multipath-unplugged: the same two NICs, eth1's link down from QEMU's start (the cable out at
# boot): eth1 gets its address all the same, the machine boots on A, and B joins the map once
# the link is up (after block 4); then A's connection is reset.
# multipath-all-down: tgtd frozen (SIGSTOP) for 15 s after block 8: both paths die silently,
# NOP-Out finds them, the map queues the writes, and both are reinstated once tgtd runs again.
# Each: no write fails, no I/O error but a path's own, every block is in the image, which is clean.
run_multipath() (
    local name="$1" log="$LOG_DIR/fault-$1.log" initrd="$LOG_DIR/fault.initrd.img" blocks="$WRITER_BLOCKS"
    local image="$LOG_DIR/fault-$1.root.img" monitor="$LOG_DIR/fault-$1.monitor"
    local append="$GUEST_APPEND_MULTIPATH" network=() path_b='10\.0\.2\.2:3261'
    # Late: B joins after up to 10 s of retries, then A's cut needs writes after it.
    [[ "$name" != multipath-late ]] || blocks=40
    # Silent: 12 s without B, then its re-login and reinstatement, all under the writer.
    [[ "$name" != multipath-silent && "$name" != multipath-unplugged ]] ||
        { blocks=48 append="$GUEST_APPEND_MULTIPATH_NICS" network=(--second-nic) path_b='10\.0\.3\.2:3261'; }
    [[ -f "$initrd" ]] || vm_initramfs_build "$initrd" >/dev/null
    # Shut down through the final ramdisk: the map must be removed before the logouts.
    fault_writer_image "$image" "$VM_REPO_ROOT/Tests/VM/guest/writer-shutdown-init"
    vm_netns_create
    VM_TARGET_LOG="$LOG_DIR/fault-$name.tgtd.log" vm_target_start "$image"
    [[ "$name" == multipath-late ]] || vm_target_second_portal 3261
    rm -f "$log" "$monitor"
    local qemu_start
    qemu_start="$(vm_now_ms)"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --monitor "$monitor" "${network[@]}" \
        --timeout "$BOOT_TIMEOUT" --append "console=ttyS0,115200 panic=-1 $append writer.blocks=$blocks" &
    local qemu=$! cuts=() cut_disks=() added=0 pid
    case "$name" in
    multipath)
        fault_wait_for_console "$log" 'VM-MARKER: wrote seq=8 ' 120
        cuts+=("$(vm_now_ms)") cut_disks+=(sdb)
        fault_kill_path 3261
        fault_wait_for_console "$log" 'VM-MARKER: wrote seq=16 ' 60
        cuts+=("$(vm_now_ms)") cut_disks+=(sda)
        fault_kill_path 3260
        ;;
    multipath-late)
        fault_wait_for_console "$log" 'VM-MARKER: wrote seq=4 ' 120
        added="$(vm_now_ms)"
        vm_target_second_portal 3261
        fault_wait_for_console "$log" 'sessions: path at 10\.0\.2\.2:3261: sdb .* joins' 60
        cuts+=("$(vm_now_ms)") cut_disks+=(sda)
        fault_kill_path 3260
        ;;
    multipath-silent)
        fault_wait_for_console "$log" 'VM-MARKER: wrote seq=8 ' 120
        cuts+=("$(vm_now_ms)") cut_disks+=(sdb)
        fault_qemu_monitor "$monitor" "set_link n1 off"
        sleep 12
        fault_qemu_monitor "$monitor" "set_link n1 on"
        ;;
    multipath-unplugged)
        local waited=0
        until [[ -S "$monitor" ]] || ((waited >= 100)); do sleep 0.1; waited=$((waited + 1)); done
        fault_qemu_monitor "$monitor" "set_link n1 off"
        fault_wait_for_console "$log" 'VM-MARKER: wrote seq=4 ' 120
        added="$(vm_now_ms)"
        fault_qemu_monitor "$monitor" "set_link n1 on"
        fault_wait_for_console "$log" "sessions: path at $path_b: sdb .* joins" 60
        cuts+=("$(vm_now_ms)") cut_disks+=(sda)
        fault_kill_path 3260
        ;;
    multipath-all-down)
        fault_wait_for_console "$log" 'VM-MARKER: wrote seq=8 ' 120
        pid="$(fault_tgtd_pid)"
        kill -STOP "$pid"
        sleep 15
        kill -CONT "$pid"
        cuts+=("$(vm_now_ms)") cut_disks+=(sda sdb)
        ;;
    esac
    local status=0
    wait "$qemu" || status=$?
    vm_netns_cleanup
    ((status != 124)) || vm_fail "QEMU still running after ${BOOT_TIMEOUT} s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"
    fault_check_writer "$log" "$image" "$blocks" map
    local wwid summary disk
    wwid="$(fault_check_multipath "$log" "$VM_TARGET_IQN_DEFAULT" "$path_b")" || exit 1
    summary="root on /dev/mapper/$wwid"
    for disk in "${cut_disks[@]}"; do
        summary+="; $disk $(fault_check_path_cycle "$log" "$wwid" "$disk")" || exit 1
    done
    case "$name" in
    multipath)
        [[ "$(grep -c -E "VM-STATUS: path     active in /dev/mapper/$wwid \(2 of 2 paths active\), 1 failure\(s\)" "$log")" == 2 ]] ||
            vm_fail "status does not count one failure on each path: $(grep -a -m 2 'VM-STATUS: path' "$log" | tr -d '\r')"
        ;;
    multipath-late)
        local joined
        joined="$(vm_console_time "$log" 'sessions: path at 10\.0\.2\.2:3261: sdb .* joins')"
        awk -v joined="$joined" -v added="$((added - qemu_start))" 'BEGIN { exit !(joined * 1000 >= added) }' ||
            vm_fail "B joined at ${joined} s, before its portal was added ($((added - qemu_start)) ms)"
        grep -q -E "sessions: $VM_TARGET_IQN_DEFAULT at 10\.0\.2\.2:3261: attempt 1 failed" "$log" ||
            vm_fail "B's first attempt at boot did not fail: $(grep -a -m 1 '10.0.2.2:3261' "$log" | tr -d '\r')"
        summary+="; B's portal added at $((added - qemu_start)) ms, B joined at ${joined} s"
        ;;
    multipath-silent)
        # One session lost (B's: A's writes never stopped), found by the kernel's NOP-Out.
        [[ "$(grep -c -E "session [0-9]+: connection error 1022: NOP-Out timed out" "$log")" == 1 ]] ||
            vm_fail "not one NOP-Out loss (B's): $(grep -a 'connection error' "$log" | tr -d '\r')"
        grep -q -E "path sdb \([0-9:]+\) failed in $wwid: 1 of 2 paths active" "$log" ||
            vm_fail "B was not failed with A still active: $(grep -a 'failed in' "$log" | tr -d '\r')"
        grep -q -E "not connecting: eth1 has no carrier" "$log" ||
            vm_fail "no attempt was held back while eth1 had no carrier: $(grep -a -m 3 'eth1' "$log" | tr -d '\r')"
        summary+="; B silent 12 s (eth1's link cut), found by NOP-Out"
        ;;
    multipath-unplugged)
        local joined
        grep -q -E "iscsi-root: network: eth1 10\.0\.3\.15/24 \([0-9]+ ms\)" "$log" ||
            vm_fail "eth1 was not configured at boot without its carrier: $(grep -a -m 3 'network:' "$log" | tr -d '\r')"
        joined="$(vm_console_time "$log" "sessions: path at $path_b: sdb .* joins")"
        awk -v joined="$joined" -v added="$((added - qemu_start))" 'BEGIN { exit !(joined * 1000 >= added) }' ||
            vm_fail "B joined at ${joined} s, before eth1's link was up ($((added - qemu_start)) ms)"
        summary+="; eth1 configured at boot without carrier, its link up at $((added - qemu_start)) ms, B joined at ${joined} s"
        ;;
    multipath-all-down)
        grep -q -E "path sd[ab] \([0-9:]+\) failed in $wwid: 0 of 2 paths active" "$log" ||
            vm_fail "the map never had both paths failed: $(grep -a 'failed in' "$log" | tr -d '\r')"
        summary+="; both paths failed (NOP-Out) while tgtd was frozen 15 s"
        ;;
    esac
    # A path reset alone leaves the other carrying the writes: never both failed at once.
    if [[ "$name" != multipath-all-down ]] && grep -q -E "failed in $wwid: 0 of 2 paths active" "$log"; then
        vm_fail "both paths were failed at once: $(grep -a 'failed in' "$log" | tr -d '\r')"
    fi
    local cut
    for cut in "${cuts[@]}"; do summary+="; first write $(fault_first_write_after "$log" "$((cut - qemu_start))") ms after the fault"; done
    echo "$summary; $(grep -a -m 1 -o 'io-errors=[0-9]*' "$log" | cut -d= -f2) I/O error(s) of a path, none of the map; map removed before both logouts; $blocks blocks intact, image clean"
)

# An unclean reboot leaves the target holding the old session (the guest sits behind the VLAN
# switch, so tgtd's TCP connection outlives QEMU: nothing tells it). The machine boots again at
# once; its ISID is the same (stable per initiator and target), so the target reinstates the
# stale session (RFC 7143 §6.3.5) and the first login succeeds.
run_stale_session() (
    local name=stale-session append="vlan=eth0.100:eth0 ip=192.168.100.15:::255.255.255.0::eth0.100:none"
    append+=" iscsi=iscsi://192.168.100.1/$VM_TARGET_IQN_DEFAULT/1 root=LABEL=root rw writer.blocks=$WRITER_BLOCKS"
    local initrd="$LOG_DIR/fault.initrd.img" image="$LOG_DIR/fault-$name.root.img" monitor="$LOG_DIR/fault-$name.monitor"
    local first="$LOG_DIR/fault-$name.first.log" log="$LOG_DIR/fault-$name.log"
    [[ -f "$initrd" ]] || vm_initramfs_build "$initrd" >/dev/null
    fault_writer_image "$image"
    vm_netns_create
    vm_netns_vlan_switch $((2 * BOOT_TIMEOUT + 30)) "$LOG_DIR/fault-$name.vlan-switch.log"
    VM_TARGET_LOG="$LOG_DIR/fault-$name.tgtd.log" vm_target_start "$image"
    [[ "$name" != dual-stack ]] || vm_target_dual_stack
    rm -f "$first" "$log" "$monitor"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$first" --monitor "$monitor" \
        --timeout "$BOOT_TIMEOUT" --append "console=ttyS0,115200 panic=-1 $append" --vlan-switch &
    local qemu=$!
    fault_wait_for_console "$first" 'VM-MARKER: wrote seq=8 ' 120
    fault_qemu_monitor "$monitor" quit
    wait "$qemu" || true
    local connections
    vm_tgtadm --mode conn --op show --tid 1 >"$LOG_DIR/fault-$name.sessions-before" 2>&1 || true
    connections="$(grep -c '^Session:' "$LOG_DIR/fault-$name.sessions-before" || true)"
    ((connections == 1)) || vm_fail "tgtd holds $connections connection(s) after QEMU quit, expected the stale one"
    local status=0
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" \
        --timeout "$BOOT_TIMEOUT" --append "console=ttyS0,115200 panic=-1 $append" --vlan-switch || status=$?
    # The second boot powers off without a logout too: one session is left, the new one; the
    # stale one is gone (tgt replaces a session of the same ISID only when the login passes
    # through the security stage, which ours does).
    vm_tgtadm --mode conn --op show --tid 1 >"$LOG_DIR/fault-$name.sessions-after" 2>&1 || true
    vm_netns_cleanup
    ((status == 0)) || vm_fail "the second boot: QEMU exited with status $status"
    local stale left
    stale="$(grep -m 1 '^Session:' "$LOG_DIR/fault-$name.sessions-before")"
    left="$(grep '^Session:' "$LOG_DIR/fault-$name.sessions-after" | paste -s -d ' ')"
    [[ "$left" == Session:* && "$left" != *" Session:"* ]] ||
        vm_fail "tgtd holds '$left' after the second boot, expected one session"
    [[ "$left" != "$stale" ]] || vm_fail "tgtd still holds the stale $stale: the new login did not replace it"
    ! grep -q 'iscsi-root: login attempt' "$log" ||
        vm_fail "the second boot's first login failed: $(grep -a -m 1 'iscsi-root: login attempt' "$log")"
    grep -q 'iscsi-root: login: ' "$log" || vm_fail "the second boot shows no login line"
    fault_check_writer "$log" "$image" "$WRITER_BLOCKS"
    echo "the target held the stale $stale; the next boot logged in at the first attempt and replaced it ($left; $(grep -a -m 1 -o 'iscsi-root: login: .*' "$log" | tr -d '\r')); $WRITER_BLOCKS blocks intact, image clean"
)

# The shutdown under faults: the writer root syncs its blocks, then shuts down through the
# final ramdisk (guest/writer-shutdown-init) with iscsi.shutdown_timeout=SHUTDOWN_BOUND; the
# fault, injected when the console shows the shutdown role's first line, meets the unmount
# (16 MiB not synced yet) and the logout (lib/faults.sh, shutdown_fault_*). QEMU must exit
# within the bound plus SHUTDOWN_MARGIN s of the host seeing the shutdown role start (TCG,
# the host's 0.1 s polling and QEMU's own exit), the image hold every synced block and pass
# e2fsck -fn, and the console show the recovery and the logout, or name what was given up.
readonly SHUTDOWN_BOUND=10 SHUTDOWN_MARGIN=8
run_shutdown_fault() (
    local name="$1" append="$GUEST_APPEND iscsi.shutdown_timeout=$SHUTDOWN_BOUND"
    local log="$LOG_DIR/fault-$name.log" initrd="$LOG_DIR/fault.initrd.img" image="$LOG_DIR/fault-$name.root.img"
    local monitor="$LOG_DIR/fault-$name.monitor"
    append="${append/writer.blocks=$WRITER_BLOCKS/writer.blocks=$SHUTDOWN_BLOCKS}"
    [[ -f "$initrd" ]] || vm_initramfs_build "$initrd" >/dev/null
    fault_writer_image "$image" "$VM_REPO_ROOT/Tests/VM/guest/writer-shutdown-init"
    vm_netns_create
    VM_TARGET_LOG="$LOG_DIR/fault-$name.tgtd.log" vm_target_start "$image"
    [[ "$name" != dual-stack ]] || vm_target_dual_stack
    rm -f "$log" "$monitor"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --monitor "$monitor" \
        --timeout "$BOOT_TIMEOUT" --append "console=ttyS0,115200 panic=-1 $append" &
    local qemu=$!
    fault_wait_for_console "$log" 'shutdown: within [0-9]+ s' 180
    local seen fault="${name#shutdown-}"
    seen="$(vm_now_ms)"
    "shutdown_fault_${fault//-/_}" "$monitor" &
    local injector=$!
    local status=0
    wait "$qemu" || status=$?
    local off=$(($(vm_now_ms) - seen))
    wait "$injector" || true
    fault_thaw_target
    vm_netns_cleanup
    ((status != 124)) || vm_fail "QEMU still running after ${BOOT_TIMEOUT} s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"
    grep -q 'reboot: Power down' "$log" || vm_fail "the guest did not power off"
    ((off <= (SHUTDOWN_BOUND + SHUTDOWN_MARGIN) * 1000)) ||
        vm_fail "the machine was off $off ms after the shutdown role started, more than ${SHUTDOWN_BOUND} s + ${SHUTDOWN_MARGIN} s"
    fault_check_writer "$log" "$image" "$SHUTDOWN_BLOCKS"
    local outcome
    case "$name" in
    shutdown-connection-deleted | shutdown-target-frozen)
        grep -q 'shutdown: logged out of ' "$log" || vm_fail "no final logout on the console: $(grep -a 'shutdown: ' "$log" | tail -n 3 | tr -d '\r')"
        ! grep -q 'gave up' "$log" || vm_fail "gave up although the target was back in time: $(grep -a -m 1 'gave up' "$log" | tr -d '\r')"
        outcome="logged out"
        if [[ "$name" == shutdown-connection-deleted ]]; then
            outcome="$(grep -a -m 1 -o 'operational again .* ms' "$log" | tr -d '\r')" || vm_fail "the console shows no recovery during the shutdown"
            outcome+="; logged out"
        fi
        ;;
    *)
        outcome="$(grep -a -E 'shutdown: .*(gave up|not answered|without a logout)' "$log" | sed 's/.*shutdown: //' | tr -d '\r' | paste -s -d '|')"
        [[ -n "$outcome" ]] || vm_fail "the console does not say what was given up: $(grep -a 'shutdown: ' "$log" | tail -n 3 | tr -d '\r')"
        ;;
    esac
    local guest
    guest="$(shutdown_guest_ms "$log")"
    echo "off ${off} ms after the shutdown role started (guest: ${guest} ms; bound ${SHUTDOWN_BOUND} s); $outcome; $SHUTDOWN_BLOCKS blocks intact, image clean"
)
readonly SHUTDOWN_BLOCKS=8

# Milliseconds between the console's "shutdown: within" line and the kernel's power-down line.
shutdown_guest_ms() {
    awk '/shutdown: within/ && !a { split($1, t, "."); a = t[1] * 1000 + t[2] }
        /reboot: Power down/ && a { split($1, t, "."); print t[1] * 1000 + t[2] - a; exit }' "$1"
}

# The seconds of busy-target.py's first line matching PATTERN.
proxy_time() { grep -E -m 1 "^busy-target: [0-9.]+ .*$2" "$1" | awk '{ print $2 }'; }

# At least SECONDS from the proxy's line A to its line B (the agent waited what it was told).
proxy_gap_at_least() {
    local proxy_log="$1" from="$2" to="$3" seconds="$4" a b
    a="$(proxy_time "$proxy_log" "$from")"
    [[ -n "$a" ]] || vm_fail "busy-target.py never logged '$from' (see $proxy_log)"
    b="$(proxy_time "$proxy_log" "$to")"
    [[ -n "$b" ]] || vm_fail "busy-target.py never logged '$to' (see $proxy_log)"
    awk -v a="$a" -v b="$b" -v s="$seconds" 'BEGIN { exit !(b - a >= s) }' ||
        vm_fail "only $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b - a }') s from '$from' to '$to', expected at least $seconds s"
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", b - a }'
}

# The boot retried the busy answers no sooner than 2 and 4 s (RecoveryPolicy.busyDelay), the
# supervisor answered the logout request and logged in again no sooner than Time2Wait 3 s.
# (Command substitutions do not inherit set -e: each one says `|| exit 1`.)
check_busy_target() {
    local log="$1" proxy_log="$2" first second logout wait
    grep -q 'iscsi-root: login attempt 1: .*service unavailable (0x301)' "$log" ||
        vm_fail "the console does not show the first login's 0x0301"
    first="$(proxy_gap_at_least "$proxy_log" 'connection 1: login answered 0x0301' 'connection 2: accepted' 2)" || exit 1
    second="$(proxy_gap_at_least "$proxy_log" 'connection 2: login answered 0x0302' 'connection 3: accepted' 4)" || exit 1
    grep -q 'the target asks for a logout within 10 s (AsyncEvent 1)' "$log" || vm_fail "the agent did not notice the logout request"
    wait="$(grep -E -m 1 -o 'asked for a logout \(Time2Wait 3 s\); recovering in [0-9]+ ms' "$log" | grep -E -o '[0-9]+ ms')" ||
        vm_fail "no 'asked for a logout (Time2Wait 3 s); recovering in N ms' line"
    ((${wait% ms} >= 3000)) || vm_fail "the agent planned to log in again after $wait, before Time2Wait 3 s"
    logout="$(proxy_gap_at_least "$proxy_log" 'Logout Request .* answered, Time2Wait 3' 'connection 4: accepted' 3)" || exit 1
    echo "busy logins retried after $first s and $second s; logout answered, next login $logout s later (planned $wait)"
}

# Both families on eth0 in the network line, the boot's login over IPv6 with no failed
# attempt, tgtd's connection from ::1 before the fault and from 127.0.0.1 after it.
check_dual_stack() {
    local log="$1" connections="$2" network
    network="$(grep -a -m 1 -o -E 'network: eth0 10\.0\.2\.15/24 via 10\.0\.2\.2, fd00:10:2::15/64 via fd00:10:2::2; DAD [0-9]+ ms' "$log")" ||
        vm_fail "the network line does not show both families on eth0: $(grep -a -m 1 'network: ' "$log" | tr -d '\r')"
    grep -q -E "login: $VM_TARGET_IQN_DEFAULT at \[fd00:10:2::2\]:3260 " "$log" ||
        vm_fail "the boot did not log in over IPv6: $(grep -a -m 1 'login: ' "$log" | tr -d '\r')"
    ! grep -q 'login attempt 1:' "$log" || vm_fail "a failed login at boot: $(grep -a -m 1 'login attempt 1:' "$log" | tr -d '\r')"
    sed -n '/^after the recovery:/,$p' "$connections" | grep -q -E 'IP Address: 127\.0\.0\.1$' ||
        vm_fail "tgtd's connection after the recovery is not over IPv4 (see $connections)"
    echo "${network#network: }; logged in over IPv6, back over IPv4"
}

main() {
    vm_suite_prepare
    rm -f "$LOG_DIR/fault.initrd.img"
    local selected=("$@")
    ((${#selected[@]} > 0)) || selected=("${SCENARIOS[@]}")
    vm_run_scenarios run_fault "$LOG_DIR/fault-" "${selected[@]}"
}

main "$@"
