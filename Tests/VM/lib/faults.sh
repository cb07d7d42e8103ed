# Faults the host injects into a booted guest's path to the target, and the checks after a
# run of Tests/VM/guest/writer (sourced).
#
#   fault_NAME LOGPREFIX IMAGE MONITOR [IQN]   injects one fault and returns when it is over:
#       connection_deleted, connection_killed, target_restarted (8 s), target_restarted_late
#       (40 s), target_frozen (15 s), link_dropped (8 s), link_lost (down until the
#       supervisor refused to reconnect without a carrier, at most 40 s), busy_target (busy-target.py's
#       logout request), lun_changed (another LUN, then the boot's grown by 32 MiB, behind
#       the same name and number); IQN: the restarted target's name
#   fault_dual_stack LOGPREFIX ...     (faults.sh dual-stack) the session must be on tgtd's IPv6
#       portal; the portal [::1]:3260 is deleted, then the connection: the agent can come back
#       only over IPv4. Over once the console says operational again (or after 60 s); the
#       connections before and after in LOGPREFIX.connections
#   fault_wait_for_console LOG PATTERN SECONDS
#   fault_first_write_after LOG MS     ms from MS (since QEMU's start) to the next completed write
#   fault_verify_blocks IMAGE BLOCKS   every block 1..BLOCKS of /data/blocks holds its own lines
#   fault_writer_image IMAGE [INIT]    a root whose init (default Tests/VM/guest/writer-init)
#                                      runs Tests/VM/guest/writer (96 MiB, with the agent as
#                                      /sbin/iscsi-root for its status)
#   fault_check_writer LOG IMAGE BLOCKS   the writer finished, no write failed, no I/O error in
#                                      the guest's kernel log, every block intact, image clean
# Needs target.sh and qemu.sh (lib/harness.sh loads them all).
# shellcheck shell=bash

# shellcheck disable=SC2034 # used by the scripts that source this one
readonly FAULT_NAMES=(connection-deleted connection-killed target-restarted target-restarted-late target-frozen link-dropped)

# The faults of the shutdown scenarios (faults.sh shutdown-*), injected once the console shows
# the shutdown role starting (its unmount): shutdown_fault_NAME MONITOR.
# shellcheck disable=SC2034 # used by the scripts that source this one
readonly SHUTDOWN_FAULT_NAMES=(shutdown-connection-deleted shutdown-target-frozen shutdown-target-killed shutdown-link-down)

# The connection cut as the unmount starts: the target is there, so it is recovered in time.
shutdown_fault_connection_deleted() { fault_connection_deleted; }

# fault_delete_connection [TID]: deletes the connection of target TID's (default 1) first
# session in tgtd's listing.
fault_delete_connection() {
    local tid="${1:-1}" pair="" listing attempt
    # One listing for both numbers; asked again briefly, as one `make check` run once found
    # it empty while the session was logged in.
    for attempt in 1 2 3 4 5; do
        listing="$(vm_tgtadm --mode conn --op show --tid "$tid" || true)"
        pair="$(awk '/^Session:/ { session = $2 } /^ *Connection:/ && session != "" { print session, $2; session = "" }' <<<"$listing" | head -n 1)"
        [[ -z "$pair" ]] || break
        sleep 0.5
    done
    [[ -n "$pair" ]] || vm_fail "tgtadm shows no connection of tid $tid to delete after $attempt tries: $listing"
    vm_tgtadm --mode conn --op delete --tid "$tid" --sid "${pair% *}" --cid "${pair#* }"
}

# fault_kill_path PORT: resets the guest's connection to tgtd's portal 127.0.0.1:PORT (one
# path of a multipath scenario; tgtd lists the paths' sessions alike).
fault_kill_path() {
    ip netns exec "$VM_NETNS" ss -K dst 127.0.0.1 dport = ":$1" >/dev/null 2>&1 || true
}

# Frozen 3 s, within the unmount's half of the bound: the unmount waits, then the flush
# and the logout go through.
shutdown_fault_target_frozen() {
    local pid
    pid="$(fault_tgtd_pid)"
    kill -STOP "$pid"
    sleep 3
    kill -CONT "$pid"
}

# Killed for good: nothing answers again, the guest must give up within the bound.
shutdown_fault_target_killed() { kill -KILL "$(fault_tgtd_pid)"; }

# The guest's link down for good (QEMU monitor).
shutdown_fault_link_down() { fault_qemu_monitor "$1" "set_link n0 off"; }

# A frozen tgtd would hold the cleanup's tgtadm calls: let it run again (no-op otherwise).
fault_thaw_target() {
    local pid
    pid="$(fault_tgtd_pid || true)"
    [[ -z "$pid" ]] || kill -CONT "$pid" 2>/dev/null || true
}

fault_wait_for_console() {
    local log="$1" pattern="$2" seconds="$3" waited=0
    until grep -q -E "$pattern" "$log" 2>/dev/null; do
        ((waited < seconds * 10)) || vm_fail "no '$pattern' on the console within $seconds s"
        sleep 0.1
        waited=$((waited + 1))
    done
}

# Sends one command to the QEMU monitor socket.
fault_qemu_monitor() {
    local socket="$1" command="$2"
    python3 - "$socket" "$command" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
time.sleep(0.3)
s.close()
PY
}

fault_tgtd_pid() { ip netns pids "$VM_NETNS" | while read -r pid; do [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == tgtd ]] && echo "$pid"; done; }

fault_connection_deleted() { fault_delete_connection 1; }

# The socket killed on the namespace's side (ss -K): QEMU's user network then resets the
# guest's connection.
fault_connection_killed() {
    ip netns exec "$VM_NETNS" ss -K dst 127.0.0.1 dport = ":$VM_TGT_PORTAL_PORT" >/dev/null 2>&1 || true
}

fault_target_restarted() { fault_restart_target "$1" "$2" 8 "${4:-}"; }

# Longer than open-iscsi's default NOP-Out plus replacement windows would allow.
fault_target_restarted_late() { fault_restart_target "$1" "$2" 40 "${4:-}"; }

fault_restart_target() {
    local logprefix="$1" image="$2" seconds="$3" iqn="${4:-$VM_TARGET_IQN_DEFAULT}" pid
    pid="$(fault_tgtd_pid)"
    kill -KILL "$pid"
    sleep "$seconds"
    rm -f "/var/run/tgtd/socket.$VM_TGT_CONTROL_PORT" "/var/run/tgtd/socket.$VM_TGT_CONTROL_PORT.lock"
    VM_TARGET_LOG="$logprefix.tgtd-restarted.log" vm_target_start "$image" "$iqn"
}

fault_target_frozen() {
    local pid
    pid="$(fault_tgtd_pid)"
    kill -STOP "$pid"
    sleep 15
    kill -CONT "$pid"
}

fault_link_dropped() {
    fault_qemu_monitor "$3" "set_link n0 off"
    sleep 8
    fault_qemu_monitor "$3" "set_link n0 on"
}

# Longer than the NOP-Out window: the session breaks while the link is down, and the
# supervisor must not try to connect until the carrier is back (ReconnectReadiness).
fault_link_lost() {
    fault_qemu_monitor "$3" "set_link n0 off"
    fault_wait_for_console "$1.log" 'not connecting: eth0 has no carrier' 40
    sleep 2
    fault_qemu_monitor "$3" "set_link n0 on"
}

# busy-target.py (in front of tgtd since the boot) asks the guest to log out: SIGUSR1 makes
# it send AsyncEvent 1 and answer the Logout with Time2Wait 3. Over once the agent says the
# session is operational again (or after 60 s: the checks then say what is missing).
fault_busy_target() {
    local logprefix="$1" pid="" candidate waited=0
    for candidate in $(ip netns pids "$VM_NETNS"); do
        grep -q busy-target.py "/proc/$candidate/cmdline" 2>/dev/null && pid="$candidate"
    done
    [[ -n "$pid" ]] || vm_fail "busy-target.py is not running"
    kill -USR1 "$pid"
    until grep -q 'operational again' "$logprefix.log" 2>/dev/null; do
        ((waited < 600)) || return 0
        sleep 0.1
        waited=$((waited + 1))
    done
}

fault_dual_stack() {
    local logprefix="$1" before waited=0
    before="$(vm_tgtadm --mode conn --op show --tid 1 || true)"
    printf 'before the fault:\n%s\n' "$before" >"$logprefix.connections"
    grep -q -E 'IP Address: ::1$' <<<"$before" ||
        vm_fail "the session is not on tgtd's IPv6 portal before the fault: $(tr '\n' ' ' <<<"$before")"
    vm_tgtadm --mode portal --op delete --param "portal=[::1]:$VM_TGT_PORTAL_PORT"
    fault_connection_deleted
    until grep -q 'operational again' "$logprefix.log" 2>/dev/null; do
        ((waited < 600)) || return 0
        sleep 0.1
        waited=$((waited + 1))
    done
    printf 'after the recovery:\n%s\n' "$(vm_tgtadm --mode conn --op show --tid 1 || true)" >>"$logprefix.connections"
}

# While the guest's link is down, the session is cut and tgtd's LUN 1 becomes another LUN
# (another image, scsi_id and serial: how a failover to a misconfigured node looks). The
# agent must refuse to log in again (console: "now shows another LUN"); after 3 s more, LUN 1
# is the boot's image again, grown by 32 MiB, with tgt's default identity (derived from the
# target and LUN numbers, as at boot): the recovery goes through and the disk is rescanned.
# IMAGE.other must be untouched afterwards (fault_check_other_lun).
fault_lun_changed() {
    local logprefix="$1" image="$2" monitor="$3"
    truncate -s 96M "$image.other"
    sha256sum "$image.other" >"$image.other.sum"
    fault_qemu_monitor "$monitor" "set_link n0 off"
    fault_connection_deleted
    fault_replace_lun "$image.other" scsi_id=another-lun,scsi_sn=another-serial
    fault_qemu_monitor "$monitor" "set_link n0 on"
    fault_wait_for_console "$logprefix.log" 'now shows another LUN' 60
    sleep 3
    fault_replace_lun --grow "$image"
    fault_wait_for_console "$logprefix.log" 'operational again' 60
    fault_wait_for_console "$logprefix.log" 'rescanned: ' 30
}

# LUN 1 deleted (again while tgtd still finishes the cut session's commands: bounded) and
# created on IMAGE; with --grow, IMAGE grown by 32 MiB in between; PARAMS: its identity
# (tgtadm takes them only once the LUN exists).
fault_replace_lun() {
    local grow=0 attempt
    [[ "$1" != --grow ]] || { grow=1; shift; }
    local image="$1" params="${2:-}"
    for attempt in $(seq 1 25); do
        vm_tgtadm --mode logicalunit --op delete --tid 1 --lun 1 2>/dev/null && break
        ((attempt < 25)) || vm_fail "tgtd would not delete LUN 1 within 5 s"
        sleep 0.2
    done
    ((grow == 0)) || truncate -s +32M "$image"
    vm_tgtadm --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$image"
    [[ -z "$params" ]] || vm_tgtadm --mode logicalunit --op update --tid 1 --lun 1 --params "$params"
}

# The other LUN's image holds exactly what it held before the guest met it.
fault_check_other_lun() {
    local image="$1"
    sha256sum --status -c "$image.other.sum" || vm_fail "the other LUN's image changed: the guest wrote to a LUN it refused"
}

# The console's stamps count from QEMU's start (vm_qemu_boot): the first write that
# completed after MS says how long the root stayed frozen once the path was back.
fault_first_write_after() {
    local log="$1" ms="$2"
    awk -v end="$ms" '/VM-MARKER: wrote seq=/ { split($1, t, "."); at = t[1] * 1000 + t[2]; if (at > end) { print at - end; exit } }' "$log"
}

fault_writer_image() {
    local image="$1" init="${2:-$VM_REPO_ROOT/Tests/VM/guest/writer-init}"
    vm_rootfs_build "$image" --init "$init" --size 96M \
        --add "$VM_AGENT_BINARY:sbin/iscsi-root" --add "$VM_REPO_ROOT/Tests/VM/guest/writer:sbin/writer"
}

# fault_check_writer LOG IMAGE BLOCKS [map]: with "map" (the root on a multipath map) a path's
# own I/O errors are allowed (its replacement timeout hands them to the map, which sends them
# to another path or queues them); none may name another device.
fault_check_writer() {
    local log="$1" image="$2" blocks="$3" errors=io-errors
    [[ "${4:-}" != map ]] || errors="map-io-errors"
    grep -q 'VM-MARKER: writer-done' "$log" || vm_fail "the writer did not finish"
    ! grep -q 'VM-MARKER: write-failed' "$log" || vm_fail "a write failed: $(grep -m 1 'write-failed' "$log")"
    grep -q "VM-MARKER: $errors=0" "$log" || vm_fail "I/O errors in the guest's kernel log: $(grep -m 1 "$errors" "$log")"
    # A shutdown whose unmount met a dead target leaves the synced blocks' metadata in the
    # journal (needs_recovery), which the next mount replays: so does the check, on a copy.
    local checked="$image" replayed=""
    if dumpe2fs -h "$image" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'; then
        checked="$image.replayed" replayed=" after replaying its journal"
        cp --sparse=always "$image" "$checked"
        e2fsck -E journal_only -y "$checked" >/dev/null 2>&1 || true
        ! dumpe2fs -h "$checked" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' ||
            vm_fail "the root image's journal could not be replayed"
    fi
    fault_verify_blocks "$checked" "$blocks"
    vm_rootfs_check "$checked" || vm_fail "e2fsck -fn finds the root image unclean$replayed"
}

# fault_check_multipath LOG IQN PORTAL_B: the root on a multipath map over path A's disk (sda,
# 10.0.2.2:3260), path B (PORTAL_B as a regular expression, sdb) joined it, `iscsi-root status` at the writer's end shows both paths
# active in the map with a replacement timeout of 0 s and NOP-Out every 1 s (timeout 2 s),
# and the final ramdisk removed the map before both paths logged out.
# Prints the map's name (the LUN's WWID).
fault_check_multipath() {
    local log="$1" iqn="${2//./\\.}" path_b="$3" wwid map
    wwid="$(grep -a -m 1 -o -E 'root device: /dev/mapper/[0-9a-zA-Z_.-]+ \(LUN [0-9]+[^;]*; /dev/sda on a multipath map over sda' "$log" |
        sed -E 's|root device: /dev/mapper/([^ ]+) .*|\1|')" ||
        vm_fail "the root was not found on a map over sda: $(grep -a -m 1 'root device' "$log" | tr -d '\r')"
    map="/dev/mapper/$wwid"
    grep -q -F "VM-MARKER: root-device $map" "$log" || vm_fail "/ is not mounted from $map: $(grep -a -m 1 'root-device' "$log" | tr -d '\r')"
    grep -q -E "sessions: path at $path_b: sdb \(8:16\) joins $wwid: 2 of 2 paths active" "$log" ||
        vm_fail "path B did not join the map: $(grep -a -m 2 'sessions: path at' "$log" | tr -d '\r')"
    [[ "$(grep -c -F "VM-STATUS: path     active in $map (2 of 2 paths active)" "$log")" == 2 ]] ||
        vm_fail "status does not show both paths active in $map: $(grep -a -m 2 'VM-STATUS: path' "$log" | tr -d '\r')"
    # Each path got the short replacement timeout once in the map, and the paths' NOP-Out.
    [[ "$(grep -c -F "VM-STATUS: recovery replacement timeout 0 s, NOP-Out every 1 s (timeout 2 s)" "$log")" == 2 ]] ||
        vm_fail "status does not show both paths with a replacement timeout of 0 s and NOP-Out 1/2 s: $(grep -a -m 2 'VM-STATUS: recovery' "$log" | tr -d '\r')"
    local removed logout_a logout_b
    removed="$(vm_console_time "$log" "iscsi-root: shutdown: removed $wwid \(dm-0\)")" || vm_fail "the final ramdisk did not remove the map"
    logout_a="$(vm_console_time "$log" "iscsi-root: shutdown: logged out of $iqn at 10\.0\.2\.2:3260")" || vm_fail "path A was not logged out"
    logout_b="$(vm_console_time "$log" "iscsi-root: shutdown: logged out of $iqn at $path_b")" || vm_fail "path B was not logged out"
    awk -v removed="$removed" -v a="$logout_a" -v b="$logout_b" 'BEGIN { exit !(removed <= a && removed <= b) }' ||
        vm_fail "a path logged out before the map was removed"
    echo "$wwid"
}

# fault_check_path_cycle LOG WWID DISK: the path on DISK was failed in the map and reinstated
# after; prints "failed at S, reinstated after N ms".
fault_check_path_cycle() {
    local log="$1" wwid="$2" disk="$3" failed reinstated
    failed="$(vm_console_time "$log" "path $disk \([0-9:]+\) failed in $wwid: ")" ||
        vm_fail "path $disk was not failed in the map: $(grep -a -m 3 'path sd. ' "$log" | tr -d '\r')"
    reinstated="$(vm_console_time "$log" "path $disk \([0-9:]+\) reinstated in $wwid: ")" || vm_fail "path $disk was not reinstated in the map"
    awk -v failed="$failed" -v back="$reinstated" 'BEGIN { if (back <= failed) exit 1; printf "failed at %s s, reinstated %d ms later", failed, (back - failed) * 1000 }' ||
        vm_fail "path $disk reinstated before it failed"
}

fault_verify_blocks() {
    local image="$1" blocks="$2" dump
    dump="$(mktemp)"
    debugfs -R "dump /data/blocks $dump" "$image" >/dev/null 2>&1 || vm_fail "no /data/blocks in the image"
    python3 - "$dump" "$blocks" <<'PY' || vm_fail "blocks missing or damaged in the image"
import sys
data = open(sys.argv[1], "rb").read()
bad = []
for n in range(1, int(sys.argv[2]) + 1):
    block = data[n * 65536:(n + 1) * 65536]
    line = b"seq=%08d\n" % n
    expected = (line * (65536 // len(line) + 1))[:65536]
    if block != expected:
        bad.append(n)
if bad:
    print("damaged blocks:", bad, file=sys.stderr)
    sys.exit(1)
PY
    rm -f "$dump"
}
