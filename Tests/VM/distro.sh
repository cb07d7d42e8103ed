#!/usr/bin/env bash
# A Debian root with the distribution's own initramfs builder and iscsi-root's drop-in
# (make install: hooks, units), booted diskless from iSCSI under QEMU to multi-user.target;
# the guest writes numbered blocks while the host deletes the session's connection on the
# target, then reboots with `systemctl reboot`; the image must be clean and every block in it.
#
# usage: Tests/VM/distro.sh [SCENARIO...]     prints "N passed, N failed"
#   initramfs-tools      mkinitramfs, open-iscsi's iscsi_target_* parameters
#   initramfs-tools-file the target in /etc/iscsi/iscsi.initramfs, two addresses in its
#                        ISCSI_TARGET_IP (a session per address), open-iscsi installed too
#   dracut               dracut (systemd in the initramfs), netroot=iscsi:
#   dracut-two-targets   the same image, two netroot= (the root's target and a data target)
#   dracut-md            dracut's TEST-71: the root is LVM on md RAID0 across LUNs of two
#                        targets, two netroot=, rd.auto=1 (the dracut image with dracut's
#                        mdraid and lvm modules, mdadm and lvm2 in the root)
#   dracut-root-iscsi    dracut-md's image, root=iscsi: (the whole LUN is the root)
#   dracut-multipath     two netroot= of the root's target (two paths), rd.multipath=default:
#                        dracut's multipath module and multipathd own the map, the root is on it
#   dracut-ibft          dracut's image, rd.iscsi.firmware=1 and an iBFT, no ip= nor target
#   dracut-shell         dracut's own shell init (no systemd in the initramfs), netroot=iscsi:
#   dracut-as-typed      the README's command as a Debian 12 user types it, with open-iscsi's
#                        dracut support (dracut-network) installed: `dracut -f --no-hostonly
#                        --add iscsi-root`, every module dracut picks by itself; netroot=iscsi:
#   (default: initramfs-tools initramfs-tools-file dracut-md dracut-root-iscsi dracut-multipath
#   dracut-shell dracut-as-typed; each image is built once a run)
#   VM_AGENT_BINARY   the static iscsi-root (default cache/bin/iscsi-root; make vm-distro builds it)
#   VM_BOOT_TIMEOUT   seconds for the whole boot and reboot (default 300)
#
# The Debian tree is built once (lib/distro.sh) and cached in cache/debian/ and cache/distro/
# (about 2 minutes, 350 MB); each run copies it. Needs root (debootstrap, chroot, network
# namespaces).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/harness.sh"
# shellcheck source-path=SCRIPTDIR source=lib/distro.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/distro.sh"

agent_binary="${VM_AGENT_BINARY:-$VM_CACHE_DIR/bin/iscsi-root}"
boot_timeout="${VM_BOOT_TIMEOUT:-300}"
# The guest writes this many 64 KiB blocks (fsync every half second) once multi-user.target
# is reached; the host deletes the session's connection on the target after the fourth.
readonly WRITER_BLOCKS=16
readonly KNOWN_SCENARIOS="initramfs-tools initramfs-tools-file dracut dracut-root-iscsi dracut-two-targets dracut-md dracut-multipath dracut-ibft dracut-shell dracut-as-typed"

passed=0
failed=0
expect() {
    local description="$1" log="$2" pattern="$3"
    if grep -Eq -- "$pattern" "$log"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "distro: FAILED: $description (no /$pattern/ in $log)"
    fi
}

# The images of this run by flavour, each built once (1-2 minutes) and booted by every
# scenario that uses it (cache/vm/distro-image-FLAVOR):
#   initramfs-tools   mkinitramfs with iscsi-root's hooks
#   dracut            dracut's systemd-based initramfs with the iscsi-root module
#   dracut-shell      dracut's own shell init (no systemd modules) with the iscsi-root module
#   dracut-mpath      dracut with its multipath module, multipath-tools in the root
#   dracut-as-typed   `dracut -f --no-hostonly --add iscsi-root` in the tree with open-iscsi
#                     and dracut-network installed
declare -A PREPARED=()
prepare_image() {
    local flavor="$1"
    local work="$VM_CACHE_DIR/vm/distro-image-$flavor"
    local tree="$work/tree" started listing
    mkdir -p "$work"
    started=$(vm_now_ms)
    if [[ "$flavor" == initramfs-tools-file || "$flavor" == dracut-as-typed ]]; then
        # open-iscsi installed too (its hooks, iscsid, its units, dracut-network), for
        # initramfs-tools the target in its file.
        local plain_tree="$DISTRO_TREE" builder=initramfs-tools
        [[ "$flavor" == initramfs-tools-file ]] || builder="$flavor"
        distro_tree open-iscsi
        VM_AGENT_BINARY="$agent_binary" DISTRO_ISCSI_INITRAMFS="$ISCSI_INITRAMFS_FILE" distro_prepare_root "$tree" \
            "$builder" iscsi-root "$VM_REPO_ROOT/Tests/VM/guest/distro-marker"
        DISTRO_TREE="$plain_tree"
    elif [[ "$flavor" == dracut-md || "$flavor" == dracut-mpath ]]; then
        # mdadm and lvm2 in the root, for dracut's mdraid and lvm modules; multipath-tools
        # for its multipath module.
        local plain_tree="$DISTRO_TREE" layer=md
        [[ "$flavor" == dracut-md ]] || layer=multipath
        distro_tree "$layer"
        VM_AGENT_BINARY="$agent_binary" distro_prepare_root "$tree" "$flavor" iscsi-root "$VM_REPO_ROOT/Tests/VM/guest/distro-marker"
        DISTRO_TREE="$plain_tree"
    else
        VM_AGENT_BINARY="$agent_binary" distro_prepare_root "$tree" "$flavor" iscsi-root "$VM_REPO_ROOT/Tests/VM/guest/distro-marker"
    fi
    cp "$tree/boot/initrd.img-$KVER" "$work/initrd.img"
    # The hook put the agent and the iSCSI modules in, and left open-iscsi's boot scripts and
    # iscsid out (its hook may still copy iscsistart, which nothing runs); the shell flavour
    # has no systemd in its initramfs.
    listing="$(chroot "$tree" lsinitramfs "/boot/initrd.img-$KVER")"
    local hook='scripts/local-top/iscsi-root$'
    [[ "$flavor" == dracut* ]] && hook='hooks/cmdline/90-parse-iscsi-root.sh$'
    if grep -Eq '^(usr/)?sbin/iscsi-root$' <<<"$listing" && grep -Eq "$hook" <<<"$listing" &&
        grep -q 'iscsi_tcp.ko' <<<"$listing" && ! grep -Eq '(scripts/local-top/iscsi|sbin/iscsid)$' <<<"$listing"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "distro: FAILED: the $flavor initramfs lacks usr/sbin/iscsi-root, $hook or iscsi_tcp.ko, or has open-iscsi's boot script or iscsid"
    fi
    if [[ "$flavor" == dracut-shell ]]; then
        if grep -Eq '^(usr/)?lib/systemd/systemd$' <<<"$listing"; then
            failed=$((failed + 1))
            echo "distro: FAILED: the dracut-shell initramfs has systemd"
        else
            passed=$((passed + 1))
        fi
    fi
    debian_root_image "$tree" "$work/root.img" 1200M
    rm -rf "$tree"
    PREPARED[$flavor]=1
    vm_log "$flavor image prepared in $(($(vm_now_ms) - started)) ms"
}

# One boot of FLAVOR's initramfs on a fresh copy of its root image with the kernel command
# line APPEND (besides the console, rw and the writer's count), the logs named after
# SCENARIO; every scenario gets the same checks:
#   --acpitable FILE        QEMU publishes FILE as the iBFT
#   --data-target IQN       tid 2: a further target IQN with a small data LUN
#   --expect TEXT REGEX     one more console line that must be there (TEXT says what it is)
#   --members A B           the root is on md + LVM across images A (tid 1, the root's target)
#                           and B (the --data-target's LUN): no host-side image check
#   --login-again TEXT      what a second `iscsi-root login` prints (default /dev/sda)
#   --second-portal         the guest reaches the root's target at $SECOND_PORTAL too
scenario_boot() {
    local scenario="$1" flavor="$2" scenario_append="$3"
    shift 3
    local acpitable="" data_iqn="" extra=() member_a="" member_b="" login_again=/dev/sda guestfwd=""
    while (($# > 0)); do
        case "$1" in
        --acpitable) acpitable="$2"; shift 2 ;;
        --data-target) data_iqn="$2"; shift 2 ;;
        --expect) extra+=("$2" "$3"); shift 3 ;;
        --members) member_a="$2"; member_b="$3"; shift 3 ;;
        --login-again) login_again="$2"; shift 2 ;;
        --second-portal) guestfwd="tcp:$SECOND_PORTAL:3260-cmd:busybox nc 127.0.0.1 3260"; shift ;;
        *) vm_fail "scenario_boot: unknown option $1" ;;
        esac
    done
    # The shell flavour is dracut for the command line and the checks.
    local builder="${flavor%-shell}"
    builder="${builder%-file}"
    builder="${builder%-as-typed}"
    builder="${builder%-md}"
    builder="${builder%-mpath}"
    [[ -n "${PREPARED[$flavor]:-}" ]] || prepare_image "$flavor"
    local work="$VM_CACHE_DIR/vm/distro-$scenario" initrd="$VM_CACHE_DIR/vm/distro-image-$flavor/initrd.img"
    local image="$work/root.img" log="$VM_CACHE_DIR/vm/logs/distro-$scenario.log"
    mkdir -p "$work" "$(dirname "$log")"
    rm -f "$work/fault.log" "$work/e2fsck.log"
    if [[ -n "$member_a" ]]; then
        image="$member_a"
    else
        cp --sparse=always "$VM_CACHE_DIR/vm/distro-image-$flavor/root.img" "$image"
    fi

    vm_netns_create
    VM_TARGET_LOG="$work/tgtd.log" vm_target_start "$image" "$DISTRO_IQN"
    if [[ -n "$member_b" ]]; then
        vm_target_add 2 "$data_iqn" "$member_b"
    elif [[ -n "$data_iqn" ]]; then
        rm -f "$work/data.img"
        mkfs.ext4 -q -L data "$work/data.img" 16M
        vm_target_add 2 "$data_iqn" "$work/data.img"
    fi
    local append="$DISTRO_APPEND writer.blocks=$WRITER_BLOCKS $scenario_append"
    local network_line
    case "$builder" in
    # initramfs-tools applies ip= and the agent finds the address.
    initramfs-tools) network_line="iscsi-root: network: eth0 10\.0\.2\.15/24 \(configured already\)" ;;
    # No network module of dracut's: the agent configures the NIC (ip= or the iBFT) itself.
    dracut) network_line="iscsi-root: network: eth0 10\.0\.2\.15/24 via 10\.0\.2\.2" ;;
    esac
    local status=0 qemu_start cut_end
    qemu_start="$(vm_now_ms)"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --append "$append" --log "$log" \
        --timeout "$boot_timeout" ${acpitable:+--acpitable "$acpitable"} ${guestfwd:+--guestfwd "$guestfwd"} &
    local qemu=$!
    # The connection cut during writes: the supervisor must recover with no I/O error.
    if (fault_wait_for_console "$log" 'VM-MARKER: wrote seq=4 ' "$boot_timeout" && fault_connection_deleted) 2>>"$work/fault.log"; then
        cut_end="$(vm_now_ms)"
    fi
    wait "$qemu" || status=$?
    vm_netns_cleanup
    if ((status == 0)); then passed=$((passed + 1)); else
        failed=$((failed + 1))
        echo "distro: FAILED: QEMU ended with status $status (124: timeout) — $log"
    fi
    expect "the agent logged in from the $builder hook" "$log" "iscsi-root: login: $DISTRO_IQN at 10\.0\.2\.2:3260 as $DISTRO_INITIATOR"
    expect "the network step" "$log" "$network_line"
    expect "the supervisor started in hook mode" "$log" "iscsi-root: supervisor: pid [0-9]+ .*the framework mounts"
    expect "multi-user.target" "$log" "VM-MARKER: multi-user reached"
    expect "the supervisor answers in the real root" "$log" "VM-MARKER: status session [0-9]+ \(host[0-9]+\): logged in"
    expect "iscsi-root.service active" "$log" "VM-MARKER: unit iscsi-root.service active"
    expect "iscsi-root-keep-network.service active" "$log" "VM-MARKER: unit iscsi-root-keep-network.service active"
    expect "networkd kept the boot address" "$log" "VM-MARKER: address 10\.0\.2\.15/24"
    expect "networkd uses iscsi-root's .network" "$log" "VM-MARKER: networkd .*05-iscsi-root-eth0\.network"
    expect "the shutdown ramdisk is in place" "$log" "VM-MARKER: shutdown ramdisk present"
    expect "login again reports the supervised session" "$log" "VM-MARKER: login again \[$login_again\] status 0"
    expect "a logout under the mounted root is refused" "$log" "VM-MARKER: logout \[iscsi-root logout: /dev/sd[a-z0-9]+( \(under (md|dm-)[0-9]+\))? is in use; unmount it first or use --force\]"
    local i
    for ((i = 0; i < ${#extra[@]}; i += 2)); do
        expect "${extra[i]}" "$log" "${extra[i + 1]}"
    done
    if [[ "$builder" == dracut ]]; then
        expect "dracut's host-only command line" "$log" "VM-MARKER: dracut cmdline .*netroot=iscsi:10\.0\.2\.2:::1:$DISTRO_IQN"
    fi
    expect "the writer ran through the cut" "$log" "VM-MARKER: writer-done"
    expect "the supervisor recovered the cut connection" "$log" "operational again at .* in [0-9]+ ms"
    expect "status counts the recovery" "$log" "VM-STATUS: recoveries [1-9]"
    expect "no write failed" "$log" "VM-MARKER: io-errors=0"
    if grep -q 'VM-MARKER: write-failed' "$log"; then
        failed=$((failed + 1))
        echo "distro: FAILED: a write failed: $(grep -m 1 'write-failed' "$log")"
    fi
    expect "the final ramdisk unmounted the root" "$log" "iscsi-root: shutdown: root unmounted; logging out"
    expect "the final ramdisk logged out" "$log" "iscsi-root: shutdown: logged out"
    expect "the machine rebooted" "$log" "reboot: Restarting system"
    # The cut makes the kernel log one "detected conn error (1020)"; any other is a fault, but
    # for a NOP-Out timeout (1022) that the supervisor repaired: on a loaded host a TCG guest
    # can stall for seconds (no console output, then the kernel's "ping timeout … last rx" far
    # behind "now"), which is the path failing as far as the guest can tell. Each one is
    # printed, and must have been followed by "operational again" with no I/O error.
    local conn_errors cut_errors=0 stalls repaired
    conn_errors="$(grep -cE 'connection[0-9:]+ .*error' "$log" || true)"
    [[ -z "${cut_end:-}" ]] || cut_errors="$(grep -cE 'connection[0-9:]+ .*detected conn error \(1020\)' "$log" || true)"
    stalls="$(grep -cE 'connection[0-9:]+ .*detected conn error \(1022\)' "$log" || true)"
    repaired="$(grep -cE 'operational again .*\(connection error 1022' "$log" || true)"
    if ((stalls > 0 && repaired >= stalls)); then
        echo "distro: note: $stalls NOP-Out timeout(s) besides the cut, each repaired: $(grep -a -m 1 -o 'ping timeout .*' "$log" | tr -d '\r')"
        conn_errors=$((conn_errors - stalls))
    fi
    if grep -Eq 'Kernel panic|I/O error' "$log" || ((conn_errors > cut_errors || cut_errors > 1)); then
        failed=$((failed + 1))
        echo "distro: FAILED: panic, I/O error or connection error besides the cut's on the console — $log"
        grep -E 'Kernel panic|I/O error|connection[0-9:]+ .*error' "$log" | head -n 5
    else
        passed=$((passed + 1))
    fi
    if [[ -n "$member_a" ]]; then
        # The host has no md: the guest's own fsync'ed writes and the clean shutdown above
        # are what this root's scenario checks.
        echo "distro: note: $scenario's root is on md + LVM; its image is not checked from the host"
    elif e2fsck -fn "$image" >"$work/e2fsck.log" 2>&1 && [[ -n "$(debugfs -R 'cat /var/log/distro-boots' "$image" 2>/dev/null)" ]] &&
        (fault_verify_blocks "$image" "$WRITER_BLOCKS") 2>>"$work/e2fsck.log"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "distro: FAILED: the image is not clean, lacks the boot's file or a written block ($work/e2fsck.log)"
    fi
    local resumed="-"
    [[ -z "${cut_end:-}" ]] || resumed="$(fault_first_write_after "$log" "$((cut_end - qemu_start))")"
    echo "distro: $scenario boot $(vm_console_time "$log" 'VM-MARKER: multi-user reached' || echo '-') s to multi-user, first write ${resumed} ms after the cut, $(vm_console_time "$log" 'reboot: Restarting system' || echo '-') s to the reboot — $log"
}

# The further target of dracut-two-targets.
readonly DATA_IQN="iqn.2024-01.org.iscsi-root.test:distro-data"

# open-iscsi's parameters, as initramfs-tools' own iSCSI boot reads them.
scenario_initramfs_tools() {
    scenario_boot initramfs-tools initramfs-tools "root=LABEL=root $DISTRO_IP iscsi_initiator=$DISTRO_INITIATOR \
iscsi_target_name=$DISTRO_IQN iscsi_target_ip=10.0.2.2 iscsi_target_port=3260"
}

# A second address of the root's target in the guest's subnet: QEMU's user network relays
# each connection to it (busybox nc, one per connection) to the namespace's tgtd.
readonly SECOND_PORTAL=10.0.2.100

# /etc/iscsi/iscsi.initramfs holds the target (open-iscsi's ISCSI_* variables), the command
# line only ip= and root=; open-iscsi is installed too, and must leave our sessions alone.
# ISCSI_TARGET_IP names two addresses of the target, as a multipath SAN boot does: open-iscsi's
# own local-top script runs iscsistart once per address, so the hook opens a session on each
# (each with an ISID of its own), no more and no fewer.
readonly ISCSI_INITRAMFS_FILE="ISCSI_INITIATOR=$DISTRO_INITIATOR
ISCSI_TARGET_NAME=$DISTRO_IQN
ISCSI_TARGET_IP=\"10.0.2.2 $SECOND_PORTAL\"
ISCSI_TARGET_PORT=3260
"
scenario_initramfs_tools_file() {
    local root="${DISTRO_IQN//./\\.}" second="${SECOND_PORTAL//./\\.}"
    scenario_boot initramfs-tools-file initramfs-tools-file "root=LABEL=root $DISTRO_IP" --second-portal \
        --expect "iscsid and open-iscsi.service stayed away" "VM-MARKER: iscsid inactive open-iscsi inactive" \
        --expect "the second address is a path of its own" "iscsi-root: sessions: $root's other path\\(s\\) logging in alongside: pid [0-9]+ at $second:3260" \
        --expect "the second path's session is up" "iscsi-root: sessions: $root at $second:3260 logged in .*disk\\(s\\) /dev/sd[a-z] \\(LUN 1\\)" \
        --expect "two sessions, ours" "VM-MARKER: sessions session1 session2 $" \
        --expect "status shows both" "VM-MARKER: status sessions 2 logged in" \
        --expect "the second path logged out at shutdown" "iscsi-root: shutdown: .*logged out of $root at $second:3260"
}

# dracut's grammar (lib/distro.sh), with the dracut image FLAVOR (default dracut).
scenario_dracut() {
    scenario_boot "${1:-dracut}" "${2:-dracut}" "$DISTRO_DRACUT_NETROOT"
}

# dracut's root=iscsi: form: the whole LUN is the root (udev names it /dev/root). The LUN
# must be given: LUN 0 of a tgt target is its controller, which no initiator can mount.
scenario_dracut_root_iscsi() {
    scenario_boot dracut-root-iscsi dracut-md "$DISTRO_IP rd.iscsi.initiator=$DISTRO_INITIATOR root=iscsi:10.0.2.2:::1:$DISTRO_IQN" \
        --expect "the whole LUN is the root" "iscsi-root: root device: /dev/sda \(LUN 1"
}

# Two netroot= (dracut's own module logs in to each): the root's target and a data target.
# The hook logs in to both: the data target's session in a process of its own, detached from
# the hook like the supervisor; dracut's host-only command line names both; both are logged
# out at shutdown once the root is unmounted. The boot, the cut and the reboot are the
# `dracut` scenario's (same image, same checks).
scenario_dracut_two_targets() {
    local data="${DATA_IQN//./\\.}"
    scenario_boot dracut-two-targets dracut "root=LABEL=root $DISTRO_IP rd.iscsi.initiator=$DISTRO_INITIATOR \
netroot=iscsi:10.0.2.2::::$DISTRO_IQN netroot=iscsi:10.0.2.2:::1:$DATA_IQN" --data-target "$DATA_IQN" \
        --expect "the plan has both targets" "iscsi-root: plan: $DISTRO_IQN at 10\.0\.2\.2:3260; $DATA_IQN at 10\.0\.2\.2:3260" \
        --expect "the hook logs in to the data target alongside" "iscsi-root: sessions: $data at 10\.0\.2\.2:3260 logged in .*disk\(s\) /dev/sd[a-z] \(LUN 1\)" \
        --expect "two sessions in the real root" "VM-MARKER: sessions session[0-9]+ session[0-9]+ $" \
        --expect "status shows both" "VM-MARKER: status sessions 2 logged in" \
        --expect "dracut's host-only command line names the data target" "VM-MARKER: dracut cmdline .*netroot=iscsi:10\.0\.2\.2:::1:$data" \
        --expect "the data session logged out at shutdown" "iscsi-root: shutdown: .*logged out of $data"
}

# dracut's TEST-71 (TEST-30/31 before): the root is LVM on an md RAID0 whose two members are
# LUNs of two targets, given as two netroot=, assembled by dracut's mdraid and lvm modules
# (rd.auto=1). The hook logs in to both, finds no root on the first target's disk and leaves
# it to dracut; the cut on the first target's connection must not reach the array.
readonly MD_A_IQN="iqn.2024-01.org.iscsi-root.test:distro-md-a"
readonly MD_B_IQN="iqn.2024-01.org.iscsi-root.test:distro-md-b"
scenario_dracut_md() {
    local work="$VM_CACHE_DIR/vm/distro-dracut-md" data="${DATA_IQN//./\\.}" root="${DISTRO_IQN//./\\.}"
    mkdir -p "$work"
    md_prepare_members "$work" || return 0
    scenario_boot dracut-md dracut-md "root=LABEL=sysroot rd.auto=1 $DISTRO_IP rd.iscsi.initiator=$DISTRO_INITIATOR \
netroot=iscsi:10.0.2.2:::1:$DISTRO_IQN netroot=iscsi:10.0.2.2:::1:$DATA_IQN" --data-target "$DATA_IQN" \
        --members "$work/member-a.img" "$work/member-b.img" --login-again "LABEL=sysroot" \
        --expect "the hook leaves the root to dracut" "iscsi-root: root device: LABEL=sysroot is not on $root's disks .*left to the framework" \
        --expect "the hook logs in to the second member's target alongside" "iscsi-root: sessions: $data at 10\.0\.2\.2:3260 logged in" \
        --expect "the root is the LVM volume on the array" "VM-MARKER: root source /dev/mapper/sysvg-root" \
        --expect "two sessions in the real root" "VM-MARKER: sessions session[0-9]+ session[0-9]+ $" \
        --expect "status shows both" "VM-MARKER: status sessions 2 logged in" \
        --expect "dracut's host-only command line names both targets" "VM-MARKER: dracut cmdline .*netroot=iscsi:10\.0\.2\.2:::1:$data" \
        --expect "the final ramdisk removed the volume" "iscsi-root: shutdown: removed sysvg-root \(dm-[0-9]+\)" \
        --expect "the final ramdisk stopped the array" "iscsi-root: shutdown: stopped md[0-9]+" \
        --expect "the second member's session logged out at shutdown" "iscsi-root: shutdown: .*logged out of $data"
    rm -f "$work/member-a.img" "$work/member-b.img"
}

# The multipath root as dracut's module and multipathd build it (FIELD.md: CoreOS and
# OpenShift boot so): two netroot= of the root's target, one per path (the second address
# relayed by QEMU to the same tgtd), rd.multipath=default. The hook opens a session per path,
# each with an ISID of its own, and leaves the map to multipathd: the root is mounted from
# the map, multipathd sees both paths, the cut of one path's connection is recovered with
# no I/O error, and the final ramdisk removes the map before it logs both paths out.
scenario_dracut_multipath() {
    local root="${DISTRO_IQN//./\\.}" second="${SECOND_PORTAL//./\\.}"
    scenario_boot dracut-multipath dracut-mpath "root=LABEL=root $DISTRO_IP rd.iscsi.initiator=$DISTRO_INITIATOR \
rd.multipath=default netroot=iscsi:10.0.2.2:::1:$DISTRO_IQN netroot=iscsi:$SECOND_PORTAL:::1:$DISTRO_IQN" --second-portal \
        --expect "the second netroot is a path of its own" "iscsi-root: sessions: $root's other path\\(s\\) logging in alongside: pid [0-9]+ at $second:3260" \
        --expect "the second path's session is up" "iscsi-root: sessions: $root at $second:3260 logged in" \
        --expect "the root is on the multipath map" "VM-MARKER: root source /dev/mapper/mpath[a-z]+" \
        --expect "multipathd uses both paths" "VM-MARKER: multipath paths 2 active" \
        --expect "two sessions in the real root" "VM-MARKER: sessions session[0-9]+ session[0-9]+ $" \
        --expect "status shows both" "VM-MARKER: status sessions 2 logged in" \
        --expect "dracut's host-only command line names both paths" "VM-MARKER: dracut cmdline .*netroot=iscsi:$second:::1:$root" \
        --expect "the final ramdisk removed the map" "iscsi-root: shutdown: removed mpath[a-z]+ \\(dm-[0-9]+\\)" \
        --expect "the second path logged out at shutdown" "iscsi-root: shutdown: .*logged out of $root at $second:3260"
}

# The members of dracut-md in WORK: two empty 800 MiB images served as distro-md-a and
# distro-md-b beside a copy of the dracut-md image's root; that root's first boot
# (distro.md-prepare, guest/distro-marker) makes the array and the volume and prints their
# layout, then powers off; the host writes a copy of the root, labelled sysroot, into the
# volume's place on the members. False (and counted as a failure) if it did not.
md_prepare_members() {
    local work="$1" log="$VM_CACHE_DIR/vm/logs/distro-dracut-md-prepare.log" started status=0 layout
    [[ -n "${PREPARED[dracut-md]:-}" ]] || prepare_image dracut-md
    mkdir -p "$(dirname "$log")"
    started=$(vm_now_ms)
    rm -f "$work/member-a.img" "$work/member-b.img" "$work/prepare-root.img"
    truncate -s 800M "$work/member-a.img" "$work/member-b.img"
    cp --sparse=always "$VM_CACHE_DIR/vm/distro-image-dracut-md/root.img" "$work/prepare-root.img"
    vm_netns_create
    VM_TARGET_LOG="$work/prepare-tgtd.log" vm_target_start "$work/prepare-root.img" "$DISTRO_IQN"
    vm_target_add 2 "$MD_A_IQN" "$work/member-a.img"
    vm_target_add 3 "$MD_B_IQN" "$work/member-b.img"
    local booted
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$VM_CACHE_DIR/vm/distro-image-dracut-md/initrd.img" \
        --append "$DISTRO_APPEND $DISTRO_DRACUT_NETROOT netroot=iscsi:10.0.2.2:::1:$MD_A_IQN netroot=iscsi:10.0.2.2:::1:$MD_B_IQN distro.md-prepare" \
        --log "$log" --timeout "$boot_timeout" || status=$?
    vm_netns_cleanup
    booted=$(vm_now_ms)
    rm -f "$work/prepare-root.img"
    layout="$(grep -a -m 1 -o 'VM-MARKER: md-layout .*' "$log" | tr -d '\r' || true)"
    if [[ -z "$layout" ]] || ! md_write_root "$work" "${layout#VM-MARKER: md-layout }"; then
        failed=$((failed + 1))
        echo "distro: FAILED: the md root was not prepared (QEMU status $status): $(grep -a -m 1 'VM-MARKER: md-' "$log" | tr -d '\r') — $log"
        return 1
    fi
    vm_log "dracut-md members prepared in $(($(vm_now_ms) - started)) ms, the root written in $(($(vm_now_ms) - booted)) ms ($layout)"
}

# md_write_root WORK LAYOUT: the dracut-md image's root, labelled sysroot, written into the
# volume on md RAID0 over WORK/member-{a,b}.img. LAYOUT is the guest's "chunk=BYTES
# lv-start=SECTORS lv-sectors=SECTORS slot0=a|b:OFFSET slot1=a|b:OFFSET": chunk K of the array
# lies on member K mod 2 at its data offset plus (K div 2) chunks (one zone: equal members).
md_write_root() {
    local work="$1" layout="$2" chunk="" start="" sectors="" field image
    image="$work/sysroot.img"
    local -a members=() offsets=()
    for field in $layout; do
        case "$field" in
        chunk=*) chunk="${field#chunk=}" ;;
        lv-start=*) start="${field#lv-start=}" ;;
        lv-sectors=*) sectors="${field#lv-sectors=}" ;;
        slot[01]=[ab]:*)
            members[${field:4:1}]="$work/member-${field:6:1}.img"
            offsets[${field:4:1}]=$((${field#*:} * 512))
            ;;
        esac
    done
    [[ -n "$chunk" && -n "$start" && -n "$sectors" && ${#members[@]} -eq 2 ]] || { echo "unreadable layout: $layout"; return 1; }
    cp --sparse=always "$VM_CACHE_DIR/vm/distro-image-dracut-md/root.img" "$image"
    e2label "$image" sysroot
    printf 'LABEL=sysroot / ext4 defaults,_netdev 0 1\n' >"$work/fstab"
    debugfs -w -R "rm /etc/fstab" "$image" >/dev/null 2>&1
    debugfs -w -R "write $work/fstab /etc/fstab" "$image" >/dev/null 2>&1
    # debugfs says little through its status: the file itself tells whether it was written.
    debugfs -R "cat /etc/fstab" "$image" 2>/dev/null | grep -q '^LABEL=sysroot ' || { echo "could not write /etc/fstab into $image"; return 1; }
    local size position=0 address index within piece member stripe
    size=$(stat -c %s "$image")
    ((size <= sectors * 512)) || { echo "the root ($size bytes) does not fit the volume ($sectors sectors)"; return 1; }
    # Bounded: every pass writes at least one byte and at most one chunk.
    while ((position < size)); do
        address=$((start * 512 + position))
        index=$((address / chunk))
        within=$((address % chunk))
        piece=$((chunk - within))
        ((piece <= size - position)) || piece=$((size - position))
        member=$((index % 2))
        stripe=$((index / 2))
        dd if="$image" of="${members[member]}" bs=64K iflag=skip_bytes,count_bytes oflag=seek_bytes conv=notrunc,sparse status=none \
            skip="$position" seek=$((offsets[member] + stripe * chunk + within)) count="$piece"
        position=$((position + piece))
    done
    rm -f "$image" "$work/fstab"
}

# No ip= and no target on the command line: the NIC, its address, the initiator and the
# target come from the iBFT that QEMU publishes as an ACPI table.
scenario_dracut_ibft() {
    local table="$VM_CACHE_DIR/vm/distro-dracut-ibft/ibft.bin"
    mkdir -p "$(dirname "$table")"
    vm_ibft_write "$table" "$DISTRO_INITIATOR" "$VM_GUEST_MAC" 0x18 10.0.2.15 24 10.0.2.2 10.0.2.2 3260 1 "$DISTRO_IQN"
    scenario_boot dracut-ibft dracut "root=LABEL=root rd.iscsi.firmware=1" --acpitable "$table"
}

main() {
    ((EUID == 0)) || vm_fail "needs root (debootstrap, chroot, network namespaces)"
    [[ -x "$agent_binary" ]] || vm_fail "no static binary at $agent_binary (make static)"
    cd "$VM_REPO_ROOT"
    Tests/VM/lib/deps.sh
    Tests/VM/lib/deps.sh --set debian-root
    vm_kernel_prepare
    distro_tree ""
    local scenarios=("$@")
    # The default (CI, mk/vm-distro.mk) fits its budget: dracut-md stands for dracut and
    # dracut-two-targets (the same checks, two sessions, and a root that needs both), and
    # dracut-root-iscsi boots its image; dracut, dracut-two-targets and dracut-ibft add a
    # minute or two each and run when named.
    ((${#scenarios[@]} > 0)) || scenarios=(initramfs-tools initramfs-tools-file dracut-md dracut-root-iscsi dracut-multipath dracut-shell dracut-as-typed)
    local scenario
    for scenario in "${scenarios[@]}"; do
        case "$scenario" in
        initramfs-tools) scenario_initramfs_tools ;;
        initramfs-tools-file) scenario_initramfs_tools_file ;;
        dracut) scenario_dracut ;;
        dracut-root-iscsi) scenario_dracut_root_iscsi ;;
        dracut-two-targets) scenario_dracut_two_targets ;;
        dracut-md) scenario_dracut_md ;;
        dracut-multipath) scenario_dracut_multipath ;;
        dracut-ibft) scenario_dracut_ibft ;;
        # dracut's own shell init instead of systemd in the initramfs, the same command line.
        dracut-shell) scenario_dracut dracut-shell dracut-shell ;;
        # The README's dracut command as a Debian 12 user types it, dracut-network installed.
        dracut-as-typed) scenario_dracut dracut-as-typed dracut-as-typed ;;
        *) vm_fail "unknown scenario $scenario (known: $KNOWN_SCENARIOS)" ;;
        esac
    done
    echo "distro: $passed passed, $failed failed"
    ((failed == 0))
}

# One line: a run that outlives an edit of this file never reads past it.
main "$@"; exit
