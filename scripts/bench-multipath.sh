#!/usr/bin/env bash
# Multipath benchmark: a root on a dm-multipath map over two paths to one target, kept by
# iscsi-root's supervisors against open-iscsi + multipathd, in the same run, on the same
# Debian root (systemd; open-iscsi, dracut-network and multipath-tools installed;
# lib/distro.sh), the same tgtd target and the same two paths:
#   open-iscsi   dracut's own image (lib/distro.sh dracut-mpath/open-iscsi): its iscsi module
#                logs in once per netroot=, its multipath module and multipathd build the map
#                (rd.multipath=default; multipath.conf: find_multipaths greedy and friendly
#                names, multipath-tools' defaults otherwise); in the root iscsid takes the
#                sessions over and multipathd the map
#   iscsi-root   the same tree booted by the project's standalone initramfs with two iscsi=
#                of the target: /init logs in on both paths, builds the map and mounts the
#                root from it; each path's supervisor fails its path in the map on a
#                connection error and reinstates it once logged in again. The tree gets
#                make install (its units keep iscsid away) and multipathd masked: the agent
#                is the map's path checker, a second one would race it
# Path A is the guest's 10.0.2.2:3260, path B 10.0.2.2:3261: QEMU's user network takes them
# to 127.0.0.1:3260 and :3261 in the run's namespace, where scripts/bench-multipath-relay.py
# relays each to tgtd's one portal, 127.0.0.1:3262 (dracut's module logs in only to the
# portal SendTargets advertises: the relay rewrites it, as portal-proxy.py does).
# Once multi-user.target is reached the guest writes numbered 64 KiB blocks with fsync every
# half second (Tests/VM/guest/writer) while the host breaks path B (BENCH_FAULT_PATH) twice,
# each once the writes flow again and no path is failed in the map:
#   reset         the namespace's end of B's connection killed (ss -K): QEMU resets the guest's
#   silent-loss   B's relay goes silent for BENCH_SILENCE_SECONDS (default 20): no reset, no
#                 answer, new connections accepted and left unanswered; then every connection
#                 that lived through it is reset and dropped with what it had queued
# multipath-tools' default grouping is failover (a group per path, I/O over the first: A),
# ours one group (I/O over both): B's faults meet the peer's idle path and our busy one;
# BENCH_FAULT_PATH=a breaks the peer's active path instead. Each map's table is reported.
# Per fault: ms from the fault's start to the first completed write; to the kernel failing a
# path of the map (`device-mapper: multipath: …: Failing path`); from the fault's end to its
# `Reinstating path`; from the session's re-login (ours: `operational again` on the console;
# open-iscsi: iscsid's `operational after recovery` in the journal, printed by the guest after
# the writer) to that reinstatement; for the silent loss also to the kernel's NOP-Out timeout.
# Then multi-user.target (s) and the resident daemons' RSS (iscsid's processes + multipathd;
# our supervisors), each with the ratio ours / open-iscsi; and for both: write failures, I/O
# errors on the map (a path's own, `I/O error, dev sdX`, are counted apart: a multipath setup
# expects them), damaged blocks, e2fsck. Exits non-zero when ours had a bad outcome.
#
# usage: scripts/bench-multipath.sh [STACK...]   (default: open-iscsi iscsi-root; needs root)
#   VM_AGENT_BINARY=FILE       the static iscsi-root (default cache/bin/iscsi-root)
#   BENCH_SILENCE_SECONDS=N    how long the path stays silent (default 20)
#   BENCH_FAULT_PATH=a|b       the path the faults break (default b, 10.0.2.2:3261)
#   BENCH_KEEP_MULTIPATHD=1    leave multipathd enabled in our image too: it starts in the real
#                              root over the agent's map (what a root with multipath-tools does)
# Consoles and logs: cache/bench-multipath/STACK/ (console.log, tgtd.log, relay-[ab].log).
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/../Tests/VM/lib" && pwd)"
readonly VM_LIB
# shellcheck source-path=SCRIPTDIR source=../Tests/VM/lib/harness.sh
source "$VM_LIB/harness.sh"
# shellcheck source-path=SCRIPTDIR source=../Tests/VM/lib/distro.sh
source "$VM_LIB/distro.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$VM_REPO_ROOT/scripts/lib.sh"

readonly WORK="$VM_CACHE_DIR/bench-multipath"
readonly FAULTS=(reset silent-loss)
readonly SILENCE_SECONDS="${BENCH_SILENCE_SECONDS:-20}"
# tgtd's one portal; the relays of path A and path B listen on 3260 and 3261.
readonly TGT_PORT=3262 PORT_A=3260 PORT_B=3261
case "${BENCH_FAULT_PATH:-b}" in
a | A) readonly FAULT_PATH=A FAULT_PORT=$PORT_A ;;
b | B) readonly FAULT_PATH=B FAULT_PORT=$PORT_B ;;
*) vm_fail "BENCH_FAULT_PATH must be a or b, not ${BENCH_FAULT_PATH}" ;;
esac
# Writes that must complete after a fault before the next one (more than 5 s of writes: a
# path of ours that fails again within 5 s of its reinstatement is held failed 30 s).
readonly WRITES_BETWEEN_FAULTS=12
# Enough blocks for both faults while the writer still runs: 4 before the first, each
# fault's outage and recovery (writes go on over the other path meanwhile), 12 after each.
readonly WRITER_BLOCKS=100
readonly BOOT_BOUND_SECONDS=300 RECOVERY_BOUND_SECONDS=150
readonly BOOT_TIMEOUT=$((BOOT_BOUND_SECONDS + 2 * RECOVERY_BOUND_SECONDS + SILENCE_SECONDS + 180))
readonly PEER_APPEND="$DISTRO_APPEND writer.blocks=$WRITER_BLOCKS root=LABEL=root $DISTRO_IP rd.iscsi.initiator=$DISTRO_INITIATOR
 rd.multipath=default netroot=iscsi:10.0.2.2::::$DISTRO_IQN netroot=iscsi:10.0.2.2::$PORT_B::$DISTRO_IQN"
readonly OURS_APPEND="$DISTRO_APPEND writer.blocks=$WRITER_BLOCKS ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off
 iscsi=iscsi://10.0.2.2/$DISTRO_IQN/1 iscsi=iscsi://10.0.2.2:$PORT_B/$DISTRO_IQN/1 root=LABEL=root"
# The kernel's lines for the map's paths (both stacks' kernels print them on the console).
readonly FAILING='device-mapper: multipath: [0-9:]+: Failing path'
readonly REINSTATING='device-mapper: multipath: [0-9:]+: Reinstating path'

# The root tree, once for both: dracut's image for the peer, then our drop-in and the
# standalone initramfs for ours; a root image each ($WORK/STACK/root.img, copied per run).
prepare_images() {
    local tree="$WORK/tree" started
    started=$(vm_now_ms)
    mkdir -p "$WORK/open-iscsi" "$WORK/iscsi-root"
    distro_tree open-iscsi
    DISTRO_TREE="$(distro_layer "$DISTRO_TREE" "$DISTRO_MULTIPATH_PACKAGES")"
    vm_log "building the root and dracut's multipath + iscsi image (log: $WORK/build.log)"
    distro_prepare_root "$tree" dracut-mpath open-iscsi "$VM_REPO_ROOT/Tests/VM/guest/distro-marker" >"$WORK/build.log" 2>&1
    [[ -f "$tree/boot/initrd.img-$KVER" ]] || vm_fail "dracut wrote no initramfs (log: $WORK/build.log)"
    # The writer, then what it does not report: multipathd's RSS, iscsid's re-logins
    # (journal, monotonic time: the clock of the kernel's console stamps), the map's table.
    mv "$tree/usr/local/sbin/writer" "$tree/usr/local/sbin/writer-blocks"
    cat >"$tree/usr/local/sbin/writer" <<'EOF'
#!/bin/sh
# scripts/bench-multipath.sh: Tests/VM/guest/writer, then multipathd's RSS, iscsid's journal, the map.
/usr/local/sbin/writer-blocks "$@"
for process in /proc/[0-9]*; do
    [ "$(cat "$process/comm" 2>/dev/null)" = multipathd ] && echo "VM-STATUS: multipathd $(grep VmRSS "$process/status")"
done
journalctl -b -o short-monotonic --no-pager -t iscsid 2>/dev/null | sed 's/^/VM-JOURNAL: /'
dmsetup table 2>/dev/null | sed 's/^/VM-MAP: /'
exit 0
EOF
    chmod 0755 "$tree/usr/local/sbin/writer"
    cp "$tree/boot/initrd.img-$KVER" "$WORK/open-iscsi/initrd.img"
    debian_root_image "$tree" "$WORK/open-iscsi/root.img" 1200M

    make -s -C "$VM_REPO_ROOT" install DESTDIR="$tree" PREFIX=/usr SYSTEMD_UNIT_DIR=/lib/systemd/system \
        BINARY="$VM_AGENT_BINARY" >/dev/null
    if [[ -z "${BENCH_KEEP_MULTIPATHD:-}" ]]; then
        ln -sf /dev/null "$tree/etc/systemd/system/multipathd.service"
        ln -sf /dev/null "$tree/etc/systemd/system/multipathd.socket"
    fi
    debian_root_image "$tree" "$WORK/iscsi-root/root.img" 1200M
    vm_initramfs_build "$WORK/iscsi-root/initrd.img" >"$WORK/initramfs.log" 2>&1
    rm -rf "$tree"
    vm_log "images prepared in $((($(vm_now_ms) - started) / 1000)) s"
}

# Console lines stamped after MS (since QEMU's start; before BEFORE_MS if given) that match
# PATTERN: "STAMP_MS LINE".
lines_after() {
    local log="$1" ms="$2" before="${4:-}"
    # The pattern through the environment: awk -v would take its backslashes as escapes.
    PATTERN="$3" awk -v after="$ms" -v before="$before" '$0 ~ ENVIRON["PATTERN"] { split($1, t, "."); at = t[1] * 1000 + t[2]
        if (at > after && (before == "" || at < before)) print at, $0 }' "$log"
}

# Whether, after MS, every path the kernel failed in the map was reinstated after.
paths_settled() {
    local log="$1" ms="$2"
    lines_after "$log" "$ms" "($FAILING|$REINSTATING)" | awk '
        { path = $NF; sub(/\.$/, "", path) }
        /Failing path/ { failed[path] = 1 }
        /Reinstating path/ { delete failed[path] }
        END { for (path in failed) exit 1 }'
}

# Waits until WRITES blocks more than at MS are written and no path is failed in the map,
# at most SECONDS; fails with the reason when not.
wait_settled() {
    local log="$1" ms="$2" writes="$3" seconds="$4" deadline target
    deadline=$((SECONDS + seconds))
    target=$(($(last_written "$log") + writes))
    while (($(last_written "$log") < target)) || ! paths_settled "$log" "$ms"; do
        if ((SECONDS >= deadline)); then
            paths_settled "$log" "$ms" || { echo "a path still failed in the map $seconds s after"; return 1; }
            echo "fewer than $writes writes within $seconds s after"
            return 1
        fi
        grep -q 'VM-MARKER: writer-done' "$log" && { echo "the writer finished before the writes resumed after"; return 1; }
        sleep 0.2
    done
}

# Starts the relay of one path (PORT) in the namespace; prints its pid once it listens.
start_relay() {
    local port="$1" log="$2" pid attempt
    ip netns exec "$VM_NETNS" python3 "$VM_REPO_ROOT/scripts/bench-multipath-relay.py" \
        "$port" "$TGT_PORT" "10.0.2.2:$port" "$((BOOT_TIMEOUT + 60))" >"$log" 2>&1 &
    pid=$!
    # vm_netns_cleanup kills it with the namespace: no job notice for that.
    disown "$pid"
    for attempt in $(seq 1 50); do
        if ip netns exec "$VM_NETNS" ss -Hltn "sport = :$port" | grep -q .; then
            echo "$pid"
            return 0
        fi
        ((attempt < 50)) || break
        sleep 0.1
    done
    vm_fail "the relay did not listen on 127.0.0.1:$port within 5 s (see $log)"
}

# The faults, by name (run_stack calls inject_NAME): each returns when it is over.
# shellcheck disable=SC2317 # called by a name made from the fault's
inject_reset() {
    local killed
    killed="$(ip netns exec "$VM_NETNS" ss -K -Htn dst 127.0.0.1 dport = ":$FAULT_PORT" | grep -c . || true)"
    ((killed > 0)) || vm_fail "no connection to 127.0.0.1:$FAULT_PORT to reset"
}
# shellcheck disable=SC2317 # called by a name made from the fault's
inject_silent_loss() {
    local relay="$1"
    kill -USR1 "$relay"
    sleep "$SILENCE_SECONDS"
    kill -USR2 "$relay"
}

# Boots STACK's image, injects the faults, writes STACK's figures to $WORK/STACK/figures
# ("fault NAME START_MS END_MS" lines, times since QEMU's start; "outcome ..." lines).
run_stack() {
    local stack="$1" dir="$WORK/$1"
    local log="$dir/console.log" image="$dir/run.img" figures="$dir/figures"
    local initrd="$dir/initrd.img" append="$PEER_APPEND"
    [[ "$stack" == open-iscsi ]] || append="$OURS_APPEND"
    rm -f "$log" "$figures" "$dir/faults.log" "$dir/verify.log"
    cp --sparse=always "$dir/root.img" "$image"

    vm_netns_create
    VM_TGT_PORTAL_PORT=$TGT_PORT VM_TARGET_LOG="$dir/tgtd.log" vm_target_start "$image" "$DISTRO_IQN"
    local relay_a relay_b relay
    relay_a="$(start_relay "$PORT_A" "$dir/relay-a.log")"
    relay_b="$(start_relay "$PORT_B" "$dir/relay-b.log")"
    [[ -n "$relay_a" && -n "$relay_b" ]] || vm_fail "a path's relay did not start (see $dir/relay-[ab].log)"
    relay="$relay_b"
    [[ "$FAULT_PATH" == B ]] || relay="$relay_a"
    local qemu_start
    qemu_start="$(vm_now_ms)"
    vm_log "$stack: booting (console: $log)"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --append "${append//$'\n'/}" --log "$log" \
        --timeout "$BOOT_TIMEOUT" &
    local qemu=$! fault fault_start fault_end reason
    : >"$figures"
    if wait_for_block "$log" 4 "$BOOT_BOUND_SECONDS"; then
        for fault in "${FAULTS[@]}"; do
            fault_start="$(vm_now_ms)"
            if ! ("inject_${fault//-/_}" "$relay") 2>>"$dir/faults.log"; then
                echo "outcome $fault could not be injected: $(tail -n 1 "$dir/faults.log")" >>"$figures"
                break
            fi
            fault_end="$(vm_now_ms)"
            echo "fault $fault $((fault_start - qemu_start)) $((fault_end - qemu_start))" >>"$figures"
            vm_log "$stack: $fault injected; waiting for the writes and the paths"
            if ! reason="$(wait_settled "$log" "$((fault_start - qemu_start))" "$WRITES_BETWEEN_FAULTS" "$RECOVERY_BOUND_SECONDS")"; then
                echo "outcome $reason $fault" >>"$figures"
                break
            fi
        done
    else
        echo "outcome no write within $BOOT_BOUND_SECONDS s of QEMU's start" >>"$figures"
    fi
    local status=0
    wait "$qemu" || status=$?
    vm_netns_cleanup
    ((status == 0)) || echo "outcome QEMU ended with status $status (124: timeout)" >>"$figures"
    grep -q 'VM-MARKER: root-device /dev/mapper/' "$log" ||
        echo "outcome the root is not on a multipath map: $(grep -a -m 1 -o 'root-device .*' "$log" || echo 'no root-device line')" >>"$figures"
    grep -q 'VM-MARKER: writer-done' "$log" || echo "outcome the writer did not finish" >>"$figures"
    grep -q 'VM-MARKER: write-failed' "$log" && echo "outcome a write failed: $(grep -m 1 'write-failed' "$log")" >>"$figures"
    local map_errors
    map_errors="$(grep -a -m 1 -o 'VM-MARKER: map-io-errors=[0-9]*' "$log" || grep -a -m 1 -o 'VM-MARKER: io-errors=[0-9]*' "$log" || true)"
    [[ "$map_errors" == *=0 ]] || echo "outcome I/O errors on the map or its filesystem: ${map_errors#VM-MARKER: }" >>"$figures"
    (fault_verify_blocks "$image" "$WRITER_BLOCKS") 2>>"$dir/verify.log" || echo "outcome damaged or missing blocks ($dir/verify.log)" >>"$figures"
    vm_rootfs_check "$image" || echo "outcome e2fsck -fn finds the image unclean" >>"$figures"
    rm -f "$image"
}

# Milliseconds since QEMU's start of the first console line after MS (before BEFORE_MS if
# given) matching PATTERN.
first_after() {
    lines_after "$@" | awk 'NR == 1 { print $1 }'
}

# How much later than the writer's own pace the first write after MS (host ms) completed: the
# writer waits half a second between fsync'd blocks, which takes ~0.85 s a block under TCG, so
# "first write after the fault" alone is up to one interval even when nothing stalled. The pace
# is the median of the last (up to) 8 intervals before MS; 0 when the write came in time.
write_delay_after() {
    local log="$1" ms="$2"
    awk -v start="$ms" '/VM-MARKER: wrote seq=/ {
        split($1, t, "."); at = t[1] * 1000 + t[2]
        if (at <= start) { if (last != "") gaps[count++ % 8] = at - last; last = at; next }
        if (last == "" || count == 0) exit
        n = count < 8 ? count : 8
        for (i = 0; i < n; i++) { v = gaps[i]; for (j = i; j > 0 && sorted[j - 1] > v; j--) sorted[j] = sorted[j - 1]; sorted[j] = v }
        delay = at - (last + sorted[int(n / 2)])
        print (delay > 0 ? delay : 0)
        exit
    }' "$log"
}

# One figure of STACK: first-write, write-delay, failed, reinstated, relogin-to-reinstated, nop-timeout
# (ms, for FAULT: its events are those between its start and the next fault's);
# rss (kB, every resident daemon's process); multi-user (s); path-errors.
figure() {
    local stack="$1" what="$2" fault="${3:-}" dir="$WORK/$1"
    local log="$dir/console.log" start end until failed path reinstated
    read -r start end until < <(awk -v f="$fault" '$1 == "fault" && found && until == "" { until = $3 }
        $1 == "fault" && $2 == f { found = 1; start = $3; end = $4 }
        END { if (found) print start, end, until }' "$dir/figures")
    case "$what" in
    first-write | write-delay | failed | nop-timeout | reinstated | relogin) [[ -n "${start:-}" ]] || return 0 ;;
    esac
    case "$what" in
    first-write) fault_first_write_after "$log" "$start" ;;
    write-delay) write_delay_after "$log" "$start" ;;
    failed)
        failed="$(first_after "$log" "$start" "$FAILING" "$until")"
        [[ -n "$failed" ]] && echo $((failed - start))
        ;;
    nop-timeout)
        failed="$(first_after "$log" "$start" 'ping timeout of [0-9]+ secs expired' "$until")"
        [[ -n "$failed" ]] && echo $((failed - start))
        ;;
    reinstated | relogin)
        # The path the kernel failed first after the fault, and its reinstatement.
        path="$(lines_after "$log" "$start" "$FAILING" "$until" | awk 'NR == 1 { sub(/\.$/, "", $NF); print $NF }')"
        [[ -n "$path" ]] || return 0
        reinstated="$(first_after "$log" "$start" "$REINSTATING $path\\." "$until")"
        [[ -n "$reinstated" ]] || return 0
        if [[ "$what" == reinstated ]]; then
            echo $((reinstated - end))
        elif [[ "$stack" == iscsi-root ]]; then
            local relogin
            relogin="$(lines_after "$log" "$start" "iscsi-root: session [0-9]+: operational again at 10\\.0\\.2\\.2:$FAULT_PORT " |
                awk -v r="$reinstated" '$1 <= r { last = $1 } END { if (last != "") print last }')"
            [[ -n "$relogin" ]] && echo $((reinstated - relogin))
        else
            # iscsid's journal (monotonic) against the kernel's stamp of the reinstatement.
            awk -v start="$start" -v until="$until" -v path="$path" '
                /^ *[0-9]+\.[0-9]+ \[ *[0-9]+\.[0-9]+\]/ {
                    split($1, t, "."); host = t[1] * 1000 + t[2]
                    guest = $0; sub(/^ *[0-9.]+ \[ */, "", guest); sub(/\].*/, "", guest); guest *= 1000
                    if (offset == "" || host - guest < offset) offset = host - guest
                    if (host > start && (until == "" || host < until) && reinstated == "" &&
                        index($0, "Reinstating path " path ".")) reinstated = guest
                }
                /VM-JOURNAL: \[ *[0-9]+\.[0-9]+\].*operational after recovery/ {
                    at = $0; sub(/.*VM-JOURNAL: \[ */, "", at); sub(/\].*/, "", at); relogins[++n] = at * 1000
                }
                END {
                    if (reinstated == "" || offset == "") exit
                    for (i = 1; i <= n; i++) if (relogins[i] > start - offset && relogins[i] <= reinstated) last = relogins[i]
                    if (last != "") printf "%d\n", reinstated - last
                }' "$log"
        fi
        ;;
    rss) grep -E 'VM-STATUS: (supervisor|iscsid|multipathd) VmRSS:' "$log" | awk '{ sum += $(NF - 1) } END { if (sum) print sum }' ;;
    multi-user) vm_console_time "$log" 'VM-MARKER: multi-user reached' ;;
    path-errors)
        local all map
        all="$(grep -a -m 1 -o 'VM-MARKER: io-errors=[0-9]*' "$log" | sed 's/.*=//')"
        map="$(grep -a -m 1 -o 'VM-MARKER: map-io-errors=[0-9]*' "$log" | sed 's/.*=//')"
        [[ -n "$all" && -n "$map" ]] && echo $((all - map))
        ;;
    esac
}

# One line of the table: LABEL, then figure WHAT [FAULT] for both stacks and the ratio.
report_row() {
    local label="$1" what="$2" fault="${3:-}" theirs ours
    theirs="$(figure open-iscsi "$what" "$fault" 2>/dev/null || true)"
    ours="$(figure iscsi-root "$what" "$fault" 2>/dev/null || true)"
    local quotient="-"
    [[ -z "$ours" || -z "$theirs" || "$theirs" == 0 ]] || quotient="$(ratio "$ours" "$theirs")×"
    printf 'bench-multipath: %-50s %12s %12s %8s\n' "$label" "${theirs:--}" "${ours:--}" "$quotient"
}

# The map's table as the guest printed it after the writer (dmsetup table), and how it spreads
# I/O: all paths in one group (each carries I/O), or a group per path (failover: one does).
map_summary() {
    # A boot that never got to print its map prints nothing here (not an error: its outcome says why).
    { grep -a 'VM-MAP: .* multipath ' "$1" || true; } | sed 's/^ *[0-9.]* VM-MAP: //' | awk '{
        for (i = 1; $i != "multipath"; i++) {}
        i++; i += $i + 1; i += $i + 1; groups = $i
        printf "%s (%d path group(s), %s)\n", $0, groups, groups == 1 ? "I/O over every path" : "failover: I/O over one group"
    }'
}

report() {
    printf 'bench-multipath: %-50s %12s %12s %8s\n' "" "open-iscsi" "iscsi-root" "ratio"
    report_row "multi-user.target (s)" multi-user
    local p="$FAULT_PATH"
    report_row "reset $p: first write after the reset (ms)" first-write reset
    report_row "reset $p: that write's delay past the writer's pace (ms)" write-delay reset
    report_row "reset $p: path failed in the map after (ms)" failed reset
    report_row "reset $p: reinstated after the reset (ms)" reinstated reset
    report_row "reset $p: reinstated after the re-login (ms)" relogin reset
    report_row "silent-loss $p: first write after its start (ms)" first-write silent-loss
    report_row "silent-loss $p: that write's delay past the writer's pace (ms)" write-delay silent-loss
    report_row "silent-loss $p: NOP-Out timeout after (ms)" nop-timeout silent-loss
    report_row "silent-loss $p: path failed in the map after (ms)" failed silent-loss
    report_row "silent-loss $p: reinstated after its end (ms)" reinstated silent-loss
    report_row "silent-loss $p: reinstated after the re-login (ms)" relogin silent-loss
    report_row "resident daemons RSS (kB)" rss
    report_row "path-level I/O errors (kernel log lines)" path-errors
    echo "bench-multipath: (-: no such event, e.g. the map never failed the path; times from the consoles' host stamps)"
    local stack
    for stack in open-iscsi iscsi-root; do
        [[ -f "$WORK/$stack/figures" ]] || continue
        map_summary "$WORK/$stack/console.log" | sed "s/^/bench-multipath: $stack map: /"
        if grep -q '^outcome' "$WORK/$stack/figures"; then
            sed -n "s/^outcome /bench-multipath: $stack: /p" "$WORK/$stack/figures"
        else
            echo "bench-multipath: $stack: no write failed, no I/O error on the map, $WRITER_BLOCKS blocks intact, image clean — $WORK/$stack/console.log"
        fi
    done
}

main() {
    ((EUID == 0)) || vm_fail "needs root (debootstrap, chroot, network namespaces)"
    "$VM_LIB/deps.sh"
    "$VM_LIB/deps.sh" --set debian-root
    [[ -x "${VM_AGENT_BINARY:-}" ]] || vm_fail "no static agent at ${VM_AGENT_BINARY:-(VM_AGENT_BINARY unset)} (make static)"
    local stacks=("$@") stack started
    ((${#stacks[@]} > 0)) || stacks=(open-iscsi iscsi-root)
    for stack in "${stacks[@]}"; do
        [[ "$stack" == open-iscsi || "$stack" == iscsi-root ]] || vm_fail "unknown stack $stack (known: open-iscsi, iscsi-root)"
    done
    started=$(vm_now_ms)
    vm_kernel_prepare
    prepare_images
    for stack in "${stacks[@]}"; do run_stack "$stack"; done
    report
    echo "bench-multipath: took $((($(vm_now_ms) - started) / 1000)) s"
    # Ours must come through both faults unharmed; the peer's outcome is a figure.
    ! grep -q '^outcome' "$WORK/iscsi-root/figures" 2>/dev/null
}

# One line: a run that outlives an edit of this file never reads past it.
main "$@"; exit
