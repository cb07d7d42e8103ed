#!/usr/bin/env bash
# Recovery benchmark: iscsi-root's supervisor against open-iscsi's iscsid, in the same run,
# on the same Debian root (systemd, initramfs-tools, open-iscsi installed; lib/distro.sh),
# the same tgtd and the same kernel command line (initramfs-tools' iscsi_* parameters):
#   open-iscsi   Debian's own iSCSI boot: its initramfs hook runs iscsistart, and in the
#                root open-iscsi.service starts iscsid, which takes the session over
#   iscsi-root   the same tree with our drop-in added (make install): our hook leaves
#                open-iscsi's boot scripts out, our units keep iscsid away from the session
# Once multi-user.target is reached the guest writes numbered 64 KiB blocks with fsync every
# half second (Tests/VM/guest/writer) while the host injects the faults of
# Tests/VM/lib/faults.sh one after another, each once the writes flow again. Per fault: ms
# from the fault's end to the first completed write; for the frozen target also the time
# from the freeze to the kernel's NOP-Out timeout; then the resident daemon's RSS (iscsid:
# all its processes). Every figure with the ratio ours / iscsid; and for both: write errors,
# I/O errors in the kernel log, damaged blocks, e2fsck.
#
# usage: scripts/bench-recovery.sh [STACK...]   (default: open-iscsi iscsi-root; needs root)
#   VM_AGENT_BINARY=FILE   the static iscsi-root (default cache/bin/iscsi-root)
#   BENCH_FAULTS="..."     the faults, in order (default: all of lib/faults.sh)
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/../Tests/VM/lib" && pwd)"
readonly VM_LIB
# shellcheck source=../Tests/VM/lib/harness.sh
source "$VM_LIB/harness.sh"
# shellcheck source=../Tests/VM/lib/distro.sh
source "$VM_LIB/distro.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$VM_REPO_ROOT/scripts/lib.sh"

readonly WORK="$VM_CACHE_DIR/bench-recovery"
read -r -a FAULTS <<<"${BENCH_FAULTS:-${FAULT_NAMES[*]}}"
readonly FAULTS
# Enough blocks for every fault to be injected while the writer still runs: 4 before the
# first, 6 between two (a stalled write holds the writer, so outages cost no blocks).
readonly WRITER_BLOCKS=$((4 + 6 * ${#FAULTS[@]} + 4))
# Writes that must complete after a fault before the next one (bounds the wait, too).
readonly WRITES_BETWEEN_FAULTS=4
readonly RECOVERY_BOUND_SECONDS=240
readonly BOOT_TIMEOUT=$((300 + ${#FAULTS[@]} * (RECOVERY_BOUND_SECONDS + 60)))
readonly APPEND="console=ttyS0,115200 panic=-1 net.ifnames=0 rw root=LABEL=root writer.blocks=$WRITER_BLOCKS
 ip=10.0.2.15::10.0.2.2:255.255.255.0:distro-guest:eth0:off
 iscsi_initiator=$DISTRO_INITIATOR iscsi_target_name=$DISTRO_IQN iscsi_target_ip=10.0.2.2 iscsi_target_port=3260"

# Boots STACK's image, injects the faults, writes STACK's figures to $WORK/STACK/figures
# ("fault NAME START_MS END_MS" lines, times since QEMU's start; "outcome ..." lines).
run_stack() {
    local stack="$1" dir="$WORK/$1"
    local log="$dir/console.log" image="$dir/root.img" monitor="$dir/monitor" figures="$dir/figures"
    rm -rf "$dir"
    mkdir -p "$dir"
    local started
    started=$(vm_now_ms)
    distro_prepare_root "$dir/tree" initramfs-tools "$stack" "$VM_REPO_ROOT/Tests/VM/guest/distro-marker"
    cp "$dir/tree/boot/initrd.img-$KVER" "$dir/initrd.img"
    debian_root_image "$dir/tree" "$image" 1200M
    rm -rf "$dir/tree"
    vm_log "$stack: root prepared in $(($(vm_now_ms) - started)) ms"

    vm_netns_create
    VM_TARGET_LOG="$dir/tgtd.log" vm_target_start "$image" "$DISTRO_IQN"
    local qemu_start
    qemu_start="$(vm_now_ms)"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$dir/initrd.img" --append "${APPEND//$'\n'/}" --log "$log" \
        --monitor "$monitor" --timeout "$BOOT_TIMEOUT" &
    local qemu=$! fault fault_start fault_end next
    : >"$figures"
    if wait_for_block "$log" 4 300; then
        for fault in "${FAULTS[@]}"; do
            fault_start="$(vm_now_ms)"
            if ! ("fault_${fault//-/_}" "$dir/$fault" "$image" "$monitor" "$DISTRO_IQN") 2>>"$dir/faults.log"; then
                echo "outcome $fault could not be injected: $(tail -n 1 "$dir/faults.log")" >>"$figures"
                break
            fi
            fault_end="$(vm_now_ms)"
            echo "fault $fault $((fault_start - qemu_start)) $((fault_end - qemu_start))" >>"$figures"
            next=$(($(last_written "$log") + WRITES_BETWEEN_FAULTS))
            if ! wait_for_block "$log" "$next" "$RECOVERY_BOUND_SECONDS"; then
                echo "outcome writes did not resume within $RECOVERY_BOUND_SECONDS s after $fault" >>"$figures"
                break
            fi
        done
    else
        echo "outcome no write within 300 s of QEMU's start" >>"$figures"
    fi
    local status=0
    wait "$qemu" || status=$?
    vm_netns_cleanup
    ((status == 0)) || echo "outcome QEMU ended with status $status (124: timeout)" >>"$figures"
    grep -q 'VM-MARKER: writer-done' "$log" || echo "outcome the writer did not finish" >>"$figures"
    grep -q 'VM-MARKER: write-failed' "$log" && echo "outcome a write failed: $(grep -m 1 'write-failed' "$log")" >>"$figures"
    grep -q 'VM-MARKER: io-errors=0' "$log" || echo "outcome I/O errors in the kernel log: $(grep -m 1 -o 'io-errors=[0-9]*' "$log")" >>"$figures"
    (fault_verify_blocks "$image" "$WRITER_BLOCKS") 2>>"$dir/verify.log" || echo "outcome damaged or missing blocks ($dir/verify.log)" >>"$figures"
    vm_rootfs_check "$image" || echo "outcome e2fsck -fn finds the image unclean" >>"$figures"
}

# One figure of STACK: "first-write FAULT" (ms), "noticed target-frozen" (ms from the freeze
# to the kernel's ping timeout), "rss" (kB, all the daemon's processes), "multi-user" (s).
figure() {
    local stack="$1" what="$2" fault="${3:-}" dir="$WORK/$1"
    local log="$dir/console.log" start end
    read -r start end < <(awk -v f="$fault" '$1 == "fault" && $2 == f { print $3, $4 }' "$dir/figures")
    case "$what" in
    first-write) [[ -n "${end:-}" ]] && fault_first_write_after "$log" "$end" ;;
    noticed)
        [[ -n "${start:-}" ]] && awk -v s="$start" -v e="$end" '/ping timeout of [0-9]+ secs expired/ {
            split($1, t, "."); at = t[1] * 1000 + t[2]; if (at > s && at < e) { print at - s; exit } }' "$log"
        ;;
    rss) grep -E 'VM-STATUS: (supervisor|iscsid) VmRSS:' "$log" | awk '{ sum += $(NF - 1) } END { if (sum) print sum }' ;;
    multi-user) vm_console_time "$log" 'VM-MARKER: multi-user reached' ;;
    esac
}

# One line of the table: LABEL, then figure WHAT [FAULT] for both stacks and the ratio.
report_row() {
    local label="$1" what="$2" fault="${3:-}" theirs ours
    theirs="$(figure open-iscsi "$what" "$fault" 2>/dev/null || true)"
    ours="$(figure iscsi-root "$what" "$fault" 2>/dev/null || true)"
    local quotient="-"
    [[ -z "$ours" || -z "$theirs" ]] || quotient="$(ratio "$ours" "$theirs")×"
    printf 'bench-recovery: %-40s %14s %14s %8s\n' "$label" "${theirs:--}" "${ours:--}" "$quotient"
}

report() {
    printf 'bench-recovery: %-40s %14s %14s %8s\n' "" "iscsid" "iscsi-root" "ratio"
    report_row "multi-user.target (s)" multi-user
    local fault
    for fault in "${FAULTS[@]}"; do report_row "$fault: first write (ms)" first-write "$fault"; done
    report_row "target-frozen: ping timeout after (ms)" noticed target-frozen
    report_row "resident daemon RSS (kB)" rss
    local stack
    for stack in open-iscsi iscsi-root; do
        [[ -f "$WORK/$stack/figures" ]] || continue
        if grep -q '^outcome' "$WORK/$stack/figures"; then
            sed -n "s/^outcome /bench-recovery: $stack: /p" "$WORK/$stack/figures"
        else
            echo "bench-recovery: $stack: no write failed, no I/O error, $WRITER_BLOCKS blocks intact, image clean — $WORK/$stack/console.log"
        fi
    done
    grep -h 'VM-STATUS: recoveries' "$WORK/iscsi-root/console.log" 2>/dev/null | sed 's/^ *[0-9.]* VM-STATUS: /bench-recovery: iscsi-root status: /' || true
}

main() {
    ((EUID == 0)) || vm_fail "needs root (debootstrap, chroot, network namespaces)"
    "$VM_LIB/deps.sh"
    "$VM_LIB/deps.sh" --set debian-root
    [[ -x "${VM_AGENT_BINARY:-}" ]] || vm_fail "no static agent at ${VM_AGENT_BINARY:-(VM_AGENT_BINARY unset)} (make static)"
    vm_kernel_prepare
    distro_tree open-iscsi
    local stacks=("$@") stack
    ((${#stacks[@]} > 0)) || stacks=(open-iscsi iscsi-root)
    for stack in "${stacks[@]}"; do
        case "$stack" in
        open-iscsi | iscsi-root) run_stack "$stack" ;;
        *) vm_fail "unknown stack $stack (known: open-iscsi, iscsi-root)" ;;
        esac
    done
    report
    # Ours must come through every fault unharmed; the peer's outcome is a figure.
    ! grep -q '^outcome' "$WORK/iscsi-root/figures" 2>/dev/null
}

main "$@"
