#!/usr/bin/env bash
# The supervisor under faults: the guest writes numbered blocks with fsync every half
# second while the host breaks the path to the target; afterwards no I/O error may be in
# the guest's kernel log, every block must be in the image, e2fsck must find it clean, and
# the console must show the recovery with its duration.
#
# usage: Tests/VM/faults.sh [SCENARIO...]   (default: every scenario; needs root)
# Prints one line per scenario with the recovery figures and "N passed, N failed".
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)"
readonly VM_LIB
# shellcheck source=lib/harness.sh
source "$VM_LIB/harness.sh"

readonly BOOT_TIMEOUT="${VM_BOOT_TIMEOUT:-240}"
readonly LOG_DIR="$VM_CACHE_DIR/vm/logs"
readonly SCENARIOS=(connection-deleted connection-killed target-restarted target-restarted-late target-frozen link-dropped)
readonly WRITER_BLOCKS=48
readonly GUEST_APPEND="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off iscsi=iscsi://10.0.2.2/$VM_TARGET_IQN_DEFAULT/1 root=LABEL=root rw writer.blocks=$WRITER_BLOCKS"

# Waits until the console LOG shows PATTERN, at most SECONDS.
wait_for_console() {
    local log="$1" pattern="$2" seconds="$3" waited=0
    until grep -q -E "$pattern" "$log" 2>/dev/null; do
        ((waited < seconds * 10)) || vm_fail "no '$pattern' on the console within $seconds s"
        sleep 0.1
        waited=$((waited + 1))
    done
}

# Sends one command to the QEMU monitor socket.
qemu_monitor() {
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

tgtd_pid() { ip netns pids "$VM_NETNS" | while read -r pid; do [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == tgtd ]] && echo "$pid"; done; }

fault_connection_deleted() {
    local session connection
    session="$(vm_tgtadm --mode conn --op show --tid 1 | sed -n 's/^Session: *\([0-9]*\).*/\1/p' | head -n 1)"
    connection="$(vm_tgtadm --mode conn --op show --tid 1 | sed -n 's/^ *Connection: *\([0-9]*\).*/\1/p' | head -n 1)"
    [[ -n "$session" && -n "$connection" ]] || vm_fail "tgtadm shows no connection to delete"
    vm_tgtadm --mode conn --op delete --tid 1 --sid "$session" --cid "$connection"
}

# The socket killed on the namespace's side (ss -K): QEMU's user network then resets the
# guest's connection.
fault_connection_killed() {
    ip netns exec "$VM_NETNS" ss -K dst 127.0.0.1 dport = :3260 >/dev/null 2>&1 || true
}

fault_target_restarted() { restart_target "$1" "$2" 8; }

# Longer than open-iscsi's default NOP-Out plus replacement windows would allow.
fault_target_restarted_late() { restart_target "$1" "$2" 40; }

restart_target() {
    local pid
    pid="$(tgtd_pid)"
    kill -KILL "$pid"
    sleep "$3"
    rm -f "/var/run/tgtd/socket.$VM_TGT_CONTROL_PORT" "/var/run/tgtd/socket.$VM_TGT_CONTROL_PORT.lock"
    VM_TARGET_LOG="$LOG_DIR/$1.tgtd-restarted.log" vm_target_start "$2"
}

fault_target_frozen() {
    local pid
    pid="$(tgtd_pid)"
    kill -STOP "$pid"
    sleep 15
    kill -CONT "$pid"
}

fault_link_dropped() {
    qemu_monitor "$3" "set_link n0 off"
    sleep 8
    qemu_monitor "$3" "set_link n0 on"
}

# Boots the writer guest, injects FAULT once 8 blocks are written, and checks the outcome.
run_fault() (
    local name="$1"
    local log="$LOG_DIR/fault-$name.log" initrd="$LOG_DIR/fault.initrd.img" image="$LOG_DIR/fault-$name.root.img"
    local monitor="$LOG_DIR/fault-$name.monitor"
    [[ -f "$initrd" ]] || vm_initramfs_build "$initrd" >/dev/null
    vm_rootfs_build "$image" --init "$VM_REPO_ROOT/Tests/VM/guest/writer-init" --size 96M
    debugfs -w -R "write $VM_AGENT_BINARY sbin/iscsi-root" "$image" >/dev/null 2>&1 || vm_fail "cannot put iscsi-root into the image"
    vm_netns_create
    VM_TARGET_LOG="$LOG_DIR/fault-$name.tgtd.log" vm_target_start "$image"
    rm -f "$log" "$monitor"
    local qemu_start
    qemu_start="$(vm_now_ms)"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --monitor "$monitor" \
        --timeout "$BOOT_TIMEOUT" --append "console=ttyS0,115200 panic=-1 $GUEST_APPEND" &
    local qemu=$!
    wait_for_console "$log" 'VM-MARKER: wrote seq=8 ' 120
    local fault_start fault_end
    fault_start="$(vm_now_ms)"
    "fault_${name//-/_}" "$name" "$image" "$monitor"
    fault_end="$(vm_now_ms)"
    local status=0
    wait "$qemu" || status=$?
    vm_netns_cleanup
    ((status != 124)) || vm_fail "QEMU still running after ${BOOT_TIMEOUT} s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"

    grep -q 'VM-MARKER: writer-done' "$log" || vm_fail "the writer did not finish"
    ! grep -q 'VM-MARKER: write-failed' "$log" || vm_fail "a write failed: $(grep -m 1 'write-failed' "$log")"
    grep -q 'VM-MARKER: io-errors=0' "$log" || vm_fail "I/O errors in the guest's kernel log: $(grep -m 1 'io-errors' "$log")"
    local recovered
    if recovered="$(grep -m 1 -o 'operational again .* in [0-9]* ms' "$log")"; then
        grep -q 'VM-STATUS: recoveries [1-9]' "$log" || vm_fail "iscsi-root status does not count the recovery"
    elif [[ "$name" == link-dropped ]]; then
        # Shorter than the NOP-Out window: TCP retransmits once the link is back, and the
        # session never breaks.
        recovered="no recovery needed (the session outlived the outage)"
    else
        vm_fail "the console shows no recovery"
    fi
    verify_blocks "$image"
    vm_rootfs_check "$image" || vm_fail "e2fsck -fn finds the root image unclean"
    # The console's stamps count from QEMU's start: the first write that completed after
    # the fault ended says how long the root stayed frozen once the path was back.
    local resumed
    resumed="$(awk -v end="$(((fault_end - qemu_start)))" '/VM-MARKER: wrote seq=/ { split($1, t, "."); ms = t[1] * 1000 + t[2]; if (ms > end) { print ms - end; exit } }' "$log")"
    echo "$recovered; fault lasted $((fault_end - fault_start)) ms; first write $resumed ms after the fault ended; $WRITER_BLOCKS blocks intact, image clean"
)

# Every block 1..WRITER_BLOCKS of /data/blocks holds only its own "seq=N" lines.
verify_blocks() {
    local image="$1" dump
    dump="$(mktemp)"
    debugfs -R "dump /data/blocks $dump" "$image" >/dev/null 2>&1 || vm_fail "no /data/blocks in the image"
    python3 - "$dump" "$WRITER_BLOCKS" <<'PY' || vm_fail "blocks missing or damaged in the image"
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

main() {
    ((EUID == 0)) || vm_fail "needs root (network namespaces, QEMU in them)"
    "$VM_LIB/deps.sh"
    [[ -x "$VM_AGENT_BINARY" ]] || vm_fail "no static agent at $VM_AGENT_BINARY (run make static)"
    vm_kernel_prepare
    mkdir -p "$LOG_DIR"
    rm -f "$LOG_DIR/fault.initrd.img"
    local selected=("$@") passed=0 failed=0 name figures
    ((${#selected[@]} > 0)) || selected=("${SCENARIOS[@]}")
    for name in "${selected[@]}"; do
        if figures="$(run_fault "$name" 2>"$LOG_DIR/fault-$name.stderr")"; then
            echo "PASS $name: $figures"
            passed=$((passed + 1))
        else
            echo "FAIL $name: $(tail -n 1 "$LOG_DIR/fault-$name.stderr") (console: $LOG_DIR/fault-$name.log)"
            failed=$((failed + 1))
        fi
    done
    echo "$passed passed, $failed failed"
    ((failed == 0))
}

main "$@"
