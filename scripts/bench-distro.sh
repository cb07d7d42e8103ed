#!/usr/bin/env bash
# Distribution benchmark: dracut's systemd-based initramfs of one Debian tree (lib/distro.sh)
# with iscsi-root's module, against the same tree with dracut's own iscsi module and
# open-iscsi (iscsiadm + iscsid, with dracut's network-legacy), both built in this run by the
# same dracut for the same kernel, booted alternately with the same command line
# (netroot=iscsi:…, ip=…) from the same tgtd target in a private network namespace.
#
# Both reach tgtd through portal-proxy.py (lib/target.sh): dracut's module logs in to the
# portal that SendTargets advertises, which tgtd gives as its own listening address, 127.0.0.1;
# the same path for both keeps the comparison fair. The roots differ only in the iSCSI stack:
# the suite's systemd-networkd is left out of ours, as the peer has no network manager either.
#
# Figures, medians of BENCH_DISTRO_RUNS boots of each (default 3), host seconds since QEMU's
# start: the session's SCSI host (login), the initramfs's systemd starting the switch to the root,
# multi-user.target (the marker unit after it), and from `systemctl reboot` to the restart.
# Then each initramfs: compressed (as dracut wrote it), unpacked (bytes of its files) and its
# iSCSI share (scripts/initramfs-share.py, the same patterns for both): programs with the
# libraries only they need, scripts, units and configuration; the iSCSI kernel modules apart,
# since the two modules do not install the same ones. Each with the ratio ours / open-iscsi.
#
# usage: scripts/bench-distro.sh     (needs root; make bench-distro builds the static agent)
#   VM_AGENT_BINARY=FILE    the static iscsi-root (default cache/bin/iscsi-root)
#   BENCH_DISTRO_RUNS=N     boots of each image (default 3)
#   BENCH_DISTRO_MAX_FAILED=N   failed boots (retried) before the run gives up (default 3)
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/../Tests/VM/lib" && pwd)"
readonly VM_LIB
# shellcheck source-path=SCRIPTDIR source=../Tests/VM/lib/harness.sh
source "$VM_LIB/harness.sh"
# shellcheck source-path=SCRIPTDIR source=../Tests/VM/lib/distro.sh
source "$VM_LIB/distro.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$VM_REPO_ROOT/scripts/lib.sh"

readonly BENCH_DIR="$VM_CACHE_DIR/vm/bench-distro"
readonly RUNS="${BENCH_DISTRO_RUNS:-3}"
# Under software emulation on a shared machine dracut + open-iscsi took 130 s to the restart.
readonly BOOT_TIMEOUT=400
readonly STACKS=(iscsi-root open-iscsi)
# Boots that may fail in a run before it gives up; each is retried, and listed at the end.
readonly MAX_FAILED_BOOTS="${BENCH_DISTRO_MAX_FAILED:-3}"
readonly LOST_ROOT='session recovery timed out'
# The iSCSI share, by path in the unpacked initramfs: both stacks' programs, and both dracut
# modules' scripts, units and configuration (ours: /sbin/iscsiroot, the cmdline and shutdown
# hooks, the initqueue drop-in; theirs: /sbin/iscsiroot, the cmdline and cleanup hooks,
# iscsid's units, /etc/iscsi, /var/lib/iscsi, Debian's startup-checks.sh).
readonly SHARE_PROGRAMS='(^|/)sbin/(iscsi-root|iscsistart|iscsiadm|iscsid|iscsi-iname|iscsiuio)$'
readonly SHARE_FILES='(^|/)sbin/iscsiroot$|/hooks/.*iscsi|^etc/iscsi|^etc/cmdline\.d/9[05]iscsi|^var/lib/iscsi/|systemd/system/.*iscsi|(^|/)lib/open-iscsi/|bin/mount-lun\.sh$'
readonly SHARE_MODULES='/(iscsi_tcp|libiscsi|libiscsi_tcp|scsi_transport_iscsi|iscsi_ibft|iscsi_boot_sysfs|bnx2i|qla4xxx|cxgb3i|cxgb4i|libcxgbi|be2iscsi|qedi)\.ko'

# STACK's root image, initramfs and unpacked initramfs in $BENCH_DIR/STACK.
prepare_stack() {
    local stack="$1" dir="$BENCH_DIR/$1"
    local tree="$dir/tree" started
    started=$(vm_now_ms)
    mkdir -p "$dir"
    if [[ "$stack" == iscsi-root ]]; then distro_tree ""; else distro_tree open-iscsi; fi
    vm_log "building the $stack root and its dracut initramfs"
    VM_AGENT_BINARY="$VM_AGENT_BINARY" distro_prepare_root "$tree" dracut "$stack" \
        "$VM_REPO_ROOT/Tests/VM/guest/distro-marker" >"$dir/build.log" 2>&1 ||
        vm_fail "building the $stack image failed (log: $dir/build.log)"
    rm -f "$tree/etc/systemd/system/multi-user.target.wants/systemd-networkd.service" \
        "$tree/etc/systemd/network/20-wired.network"
    cp "$tree/boot/initrd.img-$KVER" "$dir/initrd.img"
    rm -rf "$dir/unpacked"
    mkdir -p "$dir/unpacked"
    # dracut writes the early-microcode cpio first; skipcpio passes the compressed rest.
    local decompress=(zcat)
    case "$("$tree/usr/lib/dracut/skipcpio" "$dir/initrd.img" | head -c 4 | od -An -tx1 | tr -d ' ')" in
    28b52ffd) decompress=(zstd -dc) ;;
    fd377a58) decompress=(xzcat) ;;
    esac
    (cd "$dir/unpacked" && "$tree/usr/lib/dracut/skipcpio" ../initrd.img | "${decompress[@]}" | cpio -idm --quiet) ||
        vm_fail "unpacking $dir/initrd.img failed"
    debian_root_image "$tree" "$dir/root.img" 1200M
    rm -rf "$tree"
    vm_log "$stack prepared in $((($(vm_now_ms) - started) / 1000)) s"
}

# One boot of STACK on a fresh copy of its image; prints "LOGIN SWITCH MULTIUSER REBOOT"
# (seconds) and leaves the console in LOG.
boot_once() {
    local stack="$1" log="$2"
    local image="$BENCH_DIR/$stack/boot.img"
    cp --sparse=always "$BENCH_DIR/$stack/root.img" "$image"
    vm_netns_create
    vm_target_behind_proxy $((BOOT_TIMEOUT + 30)) "$log.proxy"
    VM_TARGET_LOG="$log.tgtd" vm_target_start "$image" "$DISTRO_IQN"
    local status=0 qemu
    rm -f "$log" "$log.pid"
    # writer.blocks=0: the marker unit reports and reboots at once.
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$BENCH_DIR/$stack/initrd.img" --log "$log" \
        --timeout "$BOOT_TIMEOUT" --append "$DISTRO_APPEND writer.blocks=0 $DISTRO_DRACUT_NETROOT" &
    qemu=$!
    # A root whose session timed out never comes back: stop QEMU then, not at the timeout.
    while kill -0 "$qemu" 2>/dev/null; do
        if grep -q "$LOST_ROOT" "$log" 2>/dev/null && [[ -s "$log.pid" ]]; then
            sleep 2
            kill "$(cat "$log.pid")" 2>/dev/null || true
            break
        fi
        sleep 1
    done
    wait "$qemu" || status=$?
    vm_netns_cleanup
    ! grep -q "$LOST_ROOT" "$log" || vm_fail "$stack: the root's session was lost ($(grep -m 1 -E 'conn error|ping timeout' "$log" | sed 's/^ *[0-9.]* //')) — $log"
    ((status == 0)) || vm_fail "$stack: QEMU ended with status $status (124: timeout) — $log"
    local login switch multi_user rebooting restart
    login="$(vm_console_time "$log" 'scsi host[0-9]+: iSCSI Initiator over TCP/IP')" || vm_fail "$stack: no iSCSI session — $log"
    switch="$(vm_console_time "$log" 'Starting .*initrd-switch-root\.service')" || vm_fail "$stack: the initramfs never switched root — $log"
    multi_user="$(vm_console_time "$log" 'VM-MARKER: multi-user reached')" || vm_fail "$stack: no multi-user.target — $log"
    rebooting="$(vm_console_time "$log" 'VM-MARKER: rebooting')" || vm_fail "$stack: the marker did not reboot — $log"
    restart="$(vm_console_time "$log" 'reboot: Restarting system')" || vm_fail "$stack: the machine did not restart — $log"
    echo "$login $switch $multi_user $(awk -v a="$restart" -v b="$rebooting" 'BEGIN { printf "%.3f", a - b }')"
}

size_of() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# Kilobytes (1000 bytes) with one decimal, for the table.
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000 }'; }

main() {
    ((EUID == 0)) || vm_fail "needs root (debootstrap, chroot, network namespaces)"
    VM_AGENT_BINARY="${VM_AGENT_BINARY:-$VM_CACHE_DIR/bin/iscsi-root}"
    [[ -x "$VM_AGENT_BINARY" ]] || vm_fail "no static agent at $VM_AGENT_BINARY (make static)"
    ((RUNS >= 1)) || vm_fail "BENCH_DISTRO_RUNS must be 1 or more"
    cd "$VM_REPO_ROOT"
    "$VM_LIB/deps.sh"
    "$VM_LIB/deps.sh" --set debian-root
    vm_kernel_prepare
    mkdir -p "$BENCH_DIR"
    local stack
    for stack in "${STACKS[@]}"; do prepare_stack "$stack"; done

    # figures[STACK.N]: the N-th column of boot_once, one value a boot, newline-separated.
    local -A figures=()
    local run column values line log failed=()
    local -A boots=()
    for ((run = 1; run <= RUNS; run++)); do
        for stack in "${STACKS[@]}"; do
            # boot_once's checks are explicit (vm_fail), so a failed boot is retried here.
            while boots[$stack]=$((${boots[$stack]:-0} + 1)) && log="$BENCH_DIR/$stack.${boots[$stack]}.log" &&
                ! line="$(boot_once "$stack" "$log")"; do
                failed+=("$log")
                ((${#failed[@]} < MAX_FAILED_BOOTS)) || vm_fail "${#failed[@]} boots failed: ${failed[*]}"
            done
            read -r -a values <<<"$line"
            vm_log "boot $run $stack: login ${values[0]} s, switch root ${values[1]} s, multi-user ${values[2]} s, reboot ${values[3]} s"
            for column in 0 1 2 3; do figures[$stack.$column]+="${values[column]}"$'\n'; done
        done
    done

    local -A medians=() sizes=()
    for stack in "${STACKS[@]}"; do
        for column in 0 1 2 3; do medians[$stack.$column]="$(printf '%s' "${figures[$stack.$column]}" | median)"; done
        python3 "$VM_REPO_ROOT/scripts/initramfs-share.py" "$BENCH_DIR/$stack/unpacked" \
            "$SHARE_PROGRAMS" "$SHARE_FILES" "$SHARE_MODULES" >"$BENCH_DIR/$stack.share.txt"
        sizes[$stack.compressed]="$(stat -c %s "$BENCH_DIR/$stack/initrd.img")"
        sizes[$stack.unpacked]="$(size_of "$BENCH_DIR/$stack/unpacked")"
        sizes[$stack.share]="$(awk '$1 == "total" && $2 == "userspace" { print $3 }' "$BENCH_DIR/$stack.share.txt")"
        sizes[$stack.deflated]="$(awk '$1 == "total" && $2 == "userspace-deflated" { print $3 }' "$BENCH_DIR/$stack.share.txt")"
        sizes[$stack.modules]="$(awk '$1 == "total" && $2 == "modules" { print $3 }' "$BENCH_DIR/$stack.share.txt")"
        sizes[$stack.with_modules]=$((sizes[$stack.share] + sizes[$stack.modules]))
    done

    local row
    echo
    echo "dracut 059 on Debian 12, kernel $KVER, QEMU TCG 1 vCPU; medians of $RUNS boots each"
    echo "(seconds since QEMU's start; the CPU is shared with other jobs: expect ±10-20% run to run)"
    printf '%-34s %12s %12s %7s %7s\n' metric iscsi-root open-iscsi ratio goal
    for row in "0:login (session's SCSI host)" "1:switch root" "2:multi-user.target:<= 1" "3:reboot request to restart"; do
        IFS=: read -r column label goal <<<"$row"
        printf '%-34s %12s %12s %7s %7s\n' "$label (s)" "${medians[iscsi-root.$column]}" "${medians[open-iscsi.$column]}" \
            "$(ratio "${medians[iscsi-root.$column]}" "${medians[open-iscsi.$column]}")" "${goal:--}"
    done
    for row in "compressed:initramfs, compressed" "unpacked:initramfs, unpacked" \
        "share:iSCSI share, no modules:<= 0.5" "deflated:the same, each file deflated" "modules:iSCSI kernel modules" \
        "with_modules:iSCSI share with modules"; do
        IFS=: read -r column label goal <<<"$row"
        printf '%-34s %12s %12s %7s %7s\n' "$label (kB)" "$(kb "${sizes[iscsi-root.$column]}")" "$(kb "${sizes[open-iscsi.$column]}")" \
            "$(ratio "${sizes[iscsi-root.$column]}" "${sizes[open-iscsi.$column]}")" "${goal:--}"
    done
    echo "Both boot through portal-proxy.py (SendTargets answers name 10.0.2.2:3260). The iSCSI share"
    echo "counts the same path patterns in both images; the kernel modules apart, since dracut's iscsi"
    echo "module adds the offload HBA drivers (be2iscsi, bnx2i, cxgb3i/4i, qedi) that ours leaves out."
    echo
    echo "failed boots (retried, not in the medians): ${#failed[@]}${failed[*]:+ — ${failed[*]}}"
    echo "what the iSCSI shares hold: $BENCH_DIR/{iscsi-root,open-iscsi}.share.txt"
    echo "consoles: $BENCH_DIR/{iscsi-root,open-iscsi}.N.log"
}

main "$@"; exit
