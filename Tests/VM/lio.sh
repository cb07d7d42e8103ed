#!/usr/bin/env bash
# The agent against the Linux kernel's iSCSI target (LIO) instead of tgtd: LIO runs in a
# second QEMU guest (lib/lio.sh) for the whole run, reconfigured per scenario through its
# control port; the client guest reaches it as 10.0.2.2:3260, as it reaches tgtd elsewhere.
#
# usage: Tests/VM/lio.sh [SCENARIO...]      (default: every scenario; needs root)
#   VM_AGENT_BINARY=FILE     the static iscsi-root (default cache/bin/iscsi-root: make static)
#   VM_BOOT_TIMEOUT=SECONDS  the host's bound on one client boot (default 120; the
#                            connection-cut boot gets twice that)
#   VM_AGENT_LOG=debug       adds iscsi.log=debug to the client's command line (the login
#                            exchange on the console)
# Console logs stay in cache/vm/logs/lio-*.log (the target guest's in lio-target.log).
# Prints one line per scenario and "N passed, N failed"; exits 1 when a scenario failed.
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)"
readonly VM_LIB
# shellcheck source-path=SCRIPTDIR source=lib/harness.sh
source "$VM_LIB/harness.sh"
# shellcheck source-path=SCRIPTDIR source=lib/lio.sh
source "$VM_LIB/lio.sh"

readonly BOOT_TIMEOUT="${VM_BOOT_TIMEOUT:-120}"
readonly LOG_DIR="$VM_CACHE_DIR/vm/logs"
readonly SCENARIOS=(lio-plain lio-chap lio-mutual-chap lio-digests lio-connection-cut lio-multipath lio-stale-session lio-probe lio-dvt)
readonly IQN="iqn.2024-01.org.iscsi-root.test:lio"
readonly VM_STATIC_IP="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"
readonly CHAP_USER="lio-initiator" CHAP_SECRET="lio-initiator-secret"
readonly MUTUAL_USER="lio-target" MUTUAL_SECRET="lio-target-secret-16"
readonly DIGESTS="rd.iscsi.param=HeaderDigest=CRC32C rd.iscsi.param=DataDigest=CRC32C"
# The writer guests' blocks: 48 take about 30 s, long enough for a cut and its recovery.
readonly CUT_BLOCKS=48 DIGEST_BLOCKS=8
AGENT_APPEND=""
[[ "${VM_AGENT_LOG:-}" != debug ]] || AGENT_APPEND=" iscsi.log=debug"
readonly AGENT_APPEND

# Each scenario's disk: its serial (the backstore's name in the target guest) and image.
scenario_disk() {
    case "$1" in
    lio-probe | lio-dvt) echo lio-scan ;;
    *) echo "$1" ;;
    esac
}

# Writes the root image a scenario's LUN holds: the writer's for the scenarios that write
# blocks, rootfs.sh's standard root otherwise.
build_image() {
    local serial="$1" image="$LOG_DIR/$1.root.img"
    case "$serial" in
    lio-digests | lio-connection-cut | lio-stale-session) fault_writer_image "$image" ;;
    # Shut down through the final ramdisk: the map is removed before the paths log out.
    lio-multipath) fault_writer_image "$image" "$VM_REPO_ROOT/Tests/VM/guest/writer-shutdown-init" ;;
    *) vm_rootfs_build "$image" ;;
    esac
    echo "$serial=$image"
}

# The client initramfs: the default, or with /etc/iscsi-root/secrets (CHAP).
client_initramfs() {
    local kind="$1" initrd="$LOG_DIR/lio.$1.initrd.img"
    if [[ ! -f "$initrd" ]]; then
        case "$kind" in
        default) vm_initramfs_build "$initrd.partial" >/dev/null ;;
        secrets)
            printf '# user secret\n%s %s\n%s %s\n' "$CHAP_USER" "$CHAP_SECRET" "$MUTUAL_USER" "$MUTUAL_SECRET" \
                >"$LOG_DIR/lio.secrets"
            vm_initramfs_build "$initrd.partial" --secrets "$LOG_DIR/lio.secrets" >/dev/null
            ;;
        *) vm_fail "client_initramfs: unknown kind $kind" ;;
        esac
        mv "$initrd.partial" "$initrd"
    fi
    echo "$initrd"
}

# export_lun SERIAL [lio-target-init commands...]: a fresh target IQN whose LUN 0 is the
# backstore SERIAL, configured by the commands (IQN goes in as their first argument), enabled.
export_lun() {
    local serial="$1" command output
    shift
    output="$(lio_ctl lio_export "$IQN" "$serial")" || vm_fail "lio_export $serial failed in the target guest: $output"
    for command in "$@"; do
        # shellcheck disable=SC2086 # a command and its words
        output="$(lio_ctl ${command%% *} "$IQN" ${command#* })" ||
            vm_fail "${command%% *} failed in the target guest: $output"
    done
    output="$(lio_ctl lio_enable "$IQN" 1)" || vm_fail "enabling $IQN failed in the target guest: $output"
}

# client_boot NAME KIND APPEND [SECONDS]: one boot of the client guest with the initramfs
# KIND, bounded by SECONDS (default VM_BOOT_TIMEOUT); fails unless QEMU exited by itself
# after the agent started. The console goes to cache/vm/logs/NAME.log.
client_boot() {
    local name="$1" kind="$2" append="$3" timeout="${4:-$BOOT_TIMEOUT}"
    local initrd log="$LOG_DIR/$name.log"
    initrd="$(client_initramfs "$kind")"
    rm -f "$log"
    local status=0
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --timeout "$timeout" \
        --append "console=ttyS0,115200 panic=-1 $append$AGENT_APPEND" || status=$?
    ((status != 124)) || vm_fail "QEMU still running after $timeout s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"
    vm_check_boot_started "$log"
}

# The login line names LIO's target at 10.0.2.2:3260 and the root is on LUN 0, the only LUN.
check_login() {
    local log="$1"
    vm_console_time "$log" "iscsi-root: login: ${IQN//./\\.} at 10\.0\.2\.2:3260 as " >/dev/null ||
        vm_fail "no login line for $IQN at 10.0.2.2:3260: $(grep -m 1 'iscsi-root: login' "$log" || true)"
    vm_console_time "$log" 'iscsi-root: root device: /dev/sda \(LUN 0[,)]' >/dev/null ||
        vm_fail "the root is not /dev/sda on LUN 0: $(grep -m 1 'iscsi-root: root device' "$log" || true)"
}

# A login from the namespace without what the target requires must be refused, and LIO
# must say why on its console (the kernel's message matching LIO_REASON): proof that LIO
# enforces it in the boot that follows. Prints the probe's error.
check_probe_refused() {
    local what="$1" reason="$2" lio_reason="$3" output status=0 before waited=0
    before="$(grep -c -E -- "$lio_reason" "$LIO_TARGET_LOG" || true)"
    output="$(ip netns exec "$VM_NETNS" timeout 60 "$VM_AGENT_BINARY" probe 127.0.0.1:3260 "$IQN" 2>&1)" || status=$?
    if ((status != 1)) || ! grep -q -E -- "$reason" <<<"$output"; then
        vm_fail "a probe without $what exited $status, expected 1 with '$reason': $output"
    fi
    # The serial console may trail the login's answer a little.
    until (($(grep -c -E -- "$lio_reason" "$LIO_TARGET_LOG" || true) > before)); do
        ((waited < 50)) || vm_fail "LIO's console does not say '$lio_reason' after the refused probe"
        sleep 0.1
        waited=$((waited + 1))
    done
    echo "${output##*: }"
}

# The checks on a writer guest's run (Tests/VM/guest/writer), and its power-off.
check_writer() {
    fault_check_writer "$@"
    vm_console_time "$1" 'reboot: Power down' >/dev/null || vm_fail "the kernel did not say 'reboot: Power down'"
}

# No LUN in the URL: the agent takes the first disk LUN, which is LIO's LUN 0.
scenario_lio_plain() (
    export_lun lio-plain
    client_boot lio-plain default "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN root=LABEL=root rw"
    check_login "$LOG_DIR/lio-plain.log"
    vm_check_successful_boot "$LOG_DIR/lio-plain.log" "$LOG_DIR/lio-plain.root.img"
)

# What a login without CHAP says when LIO enforces it: LIO closes the connection on
# AuthMethod=None in the security stage, the login driver logs in once more without that stage,
# and LIO's "authentication failed" there becomes this.
readonly CHAP_REQUIRED='requires CHAP but no CHAP credentials are configured \(it closed the connection on a login that declared AuthMethod=None'

# A boot without CHAP against LIO enforcing it: the kernel session's login takes the same
# retry, the console says CHAP is required and names iscsi.chap=, and the boot gives up at
# once (no waiting for iscsi.boot_timeout=, 600 s), then reboots by itself.
check_boot_without_chap_refused() {
    local log="$LOG_DIR/lio-chap.without.log"
    client_boot lio-chap.without default "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN root=LABEL=root rw" 60
    vm_console_time "$log" "iscsi-root: login attempt 1: .*$CHAP_REQUIRED.*; configure iscsi\.chap=<user>" >/dev/null ||
        vm_fail "the boot without CHAP does not say CHAP is required: $(grep -a -m 1 'iscsi-root: login attempt' "$log" || echo 'no attempt line')"
    vm_console_time "$log" 'iscsi-root: the root could not be brought up: every portal failed for [0-9]+ s \(1 round' >/dev/null ||
        vm_fail "the boot without CHAP did not give up after one round: $(grep -a -m 1 'iscsi-root: the root could not' "$log" || echo 'no failure line')"
    ! vm_console_time "$log" 'VM-MARKER: root-init-started' >/dev/null || vm_fail "the root's init ran without CHAP"
}

scenario_lio_chap() (
    export_lun lio-chap "lio_chap $CHAP_USER $CHAP_SECRET"
    check_probe_refused CHAP "$CHAP_REQUIRED" 'Target is enforcing iSCSI Authentication' >/dev/null
    check_boot_without_chap_refused
    client_boot lio-chap secrets "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN iscsi.chap=$CHAP_USER root=LABEL=root rw"
    check_login "$LOG_DIR/lio-chap.log"
    vm_check_successful_boot "$LOG_DIR/lio-chap.log" "$LOG_DIR/lio-chap.root.img"
)

scenario_lio_mutual_chap() (
    export_lun lio-mutual-chap "lio_chap $CHAP_USER $CHAP_SECRET" "lio_mutual $MUTUAL_USER $MUTUAL_SECRET"
    check_probe_refused CHAP "$CHAP_REQUIRED" 'Target is enforcing iSCSI Authentication' >/dev/null
    client_boot lio-mutual-chap secrets \
        "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN iscsi.chap=$CHAP_USER iscsi.mutual=$MUTUAL_USER root=LABEL=root rw"
    check_login "$LOG_DIR/lio-mutual-chap.log"
    vm_check_successful_boot "$LOG_DIR/lio-mutual-chap.log" "$LOG_DIR/lio-mutual-chap.root.img"
)

# LIO accepts only CRC32C for both digests; the client asks for them. The writer's blocks go
# through data digests, and `iscsi-root status` in the root reports what was negotiated.
scenario_lio_digests() (
    export_lun lio-digests "lio_param HeaderDigest CRC32C" "lio_param DataDigest CRC32C"
    # Our probe offers no digest, and LIO refuses the login.
    local refused
    refused="$(check_probe_refused digests 'login to .* rejected' 'value list "None" contains no valid values .* "CRC32C"')"
    local log="$LOG_DIR/lio-digests.log"
    client_boot lio-digests default \
        "$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN root=LABEL=root rw $DIGESTS writer.blocks=$DIGEST_BLOCKS"
    check_login "$log"
    vm_check_boot_steps "$log"
    check_writer "$log" "$LOG_DIR/lio-digests.root.img" "$DIGEST_BLOCKS"
    grep -q 'VM-STATUS: negotiated HeaderDigest=CRC32C DataDigest=CRC32C ' "$log" ||
        vm_fail "iscsi-root status does not report both digests CRC32C: $(grep -m 1 'VM-STATUS: negotiated' "$log" || echo 'no status')"
    echo "without digests: $refused; negotiated HeaderDigest=CRC32C DataDigest=CRC32C; $DIGEST_BLOCKS blocks written and intact, image clean; steps: $(vm_step_durations "$log")"
)

# cut_under_writer NAME ISCSI SESSIONS: boots the writer client with the iscsi= parameters
# ISCSI (the root's target: its paths), waits for block 8, checks that LIO lists SESSIONS
# sessions, disables the TPG for 1 s (which ends them on LIO's side), waits for the client;
# prints the console time of the cut.
cut_under_writer() {
    local name="$1" iscsi="$2" expected="$3" log="$LOG_DIR/$1.log"
    # Built before the boot goes into the background, whose console the wait below watches.
    client_initramfs default >/dev/null
    rm -f "$log"
    # Its output is not this function's (which is the cut's time).
    client_boot "$name" default "$VM_STATIC_IP $iscsi root=LABEL=root rw writer.blocks=$CUT_BLOCKS" $((BOOT_TIMEOUT * 2)) >&2 &
    local client=$!
    fault_wait_for_console "$log" 'VM-MARKER: wrote seq=8 ' 120
    local sessions
    sessions="$(lio_ctl lio_sessions "$IQN")" || vm_fail "cannot list LIO's sessions"
    (($(grep -c . <<<"$sessions") == expected)) || vm_fail "LIO lists '$sessions', expected $expected session(s) to cut"
    local cut_at
    cut_at="$(grep -E -o '^ *[0-9]+\.[0-9]{3} ' "$log" | tail -n 1 | tr -d ' ')"
    lio_ctl lio_cut "$IQN" 1 >/dev/null || vm_fail "disabling and enabling the TPG failed"
    wait "$client" || vm_fail "the client boot failed (console: $log)"
    echo "$cut_at"
}

# LIO drops the session (its TPG disabled for 1 s) while the guest writes with fsync.
scenario_lio_connection_cut() (
    export_lun lio-connection-cut
    local log="$LOG_DIR/lio-connection-cut.log" image="$LOG_DIR/lio-connection-cut.root.img" cut_at
    cut_at="$(cut_under_writer lio-connection-cut "iscsi=iscsi://10.0.2.2/$IQN" 1)" || exit 1
    check_login "$log"
    local recovered
    recovered="$(grep -m 1 -o 'operational again .* in [0-9]* ms.*' "$log")" ||
        vm_fail "the console shows no recovery: $(grep -m 1 -E 'iscsi-root: .*(lost|failed)' "$log" || true)"
    grep -q 'VM-STATUS: recoveries [1-9]' "$log" || vm_fail "iscsi-root status does not count the recovery"
    # The recovery read the LUN's identity through a second session before it logged in.
    ! grep -q 'identity was not checked' "$log" || vm_fail "$(grep -a -m 1 -o 'the LUN.s identity was not checked.*' "$log")"
    check_writer "$log" "$image" "$CUT_BLOCKS"
    echo "$recovered; cut at ${cut_at} s; $CUT_BLOCKS blocks intact, image clean"
)

# The root on a multipath map over two paths to LIO (10.0.2.2:3260 and :3261, both forwarded
# to the target guest's portal): both log in, the map is built over the first path's disk and
# the second joins. LIO then disables the TPG for 1 s under the writer: both paths fail in the
# map, which queues the writes, and both are reinstated when their sessions are back. No
# write fails, every block is intact, and the final ramdisk removes the map before both logouts.
scenario_lio_multipath() (
    export_lun lio-multipath
    local log="$LOG_DIR/lio-multipath.log" image="$LOG_DIR/lio-multipath.root.img" cut_at
    cut_at="$(cut_under_writer lio-multipath "iscsi=iscsi://10.0.2.2/$IQN iscsi=iscsi://10.0.2.2:3261/$IQN" 2)" || exit 1
    check_writer "$log" "$image" "$CUT_BLOCKS" map
    local wwid summary disk
    wwid="$(fault_check_multipath "$log" "$IQN" '10\.0\.2\.2:3261')" || exit 1
    # LIO names the LUN by NAA (its unit serial), not by its vendor alone.
    [[ "$wwid" == 36001405* ]] || vm_fail "the map is named $wwid, expected LIO's NAA identifier 36001405…"
    summary="root on /dev/mapper/$wwid"
    for disk in sda sdb; do
        summary+="; $disk $(fault_check_path_cycle "$log" "$wwid" "$disk")" || exit 1
    done
    echo "$summary; TPG cut at ${cut_at} s; map removed before both logouts; $CUT_BLOCKS blocks intact, image clean"
)

# An unclean reboot against LIO: the first client's vCPUs stop after block 8 (QMP stop:
# nothing tells LIO, whose session stays), and the same machine (same MAC, so the same
# initiator name and ISID) boots again. LIO must replace the stale session: one session
# while the second client writes, and its first login succeeds.
scenario_lio_stale_session() (
    export_lun lio-stale-session
    local first="$LOG_DIR/lio-stale-session.first.log" log="$LOG_DIR/lio-stale-session.log"
    local image="$LOG_DIR/lio-stale-session.root.img" monitor="$LOG_DIR/lio-stale-session.monitor" initrd
    local append="$VM_STATIC_IP iscsi=iscsi://10.0.2.2/$IQN root=LABEL=root rw writer.blocks=$CUT_BLOCKS"
    initrd="$(client_initramfs default)"
    rm -f "$first" "$log" "$monitor"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$first" --monitor "$monitor" \
        --timeout $((BOOT_TIMEOUT * 3)) --append "console=ttyS0,115200 panic=-1 $append$AGENT_APPEND" &
    local stopped=$!
    fault_wait_for_console "$first" 'VM-MARKER: wrote seq=8 ' 120
    fault_qemu_monitor "$monitor" stop
    local sessions
    sessions="$(lio_ctl lio_sessions "$IQN")" || vm_fail "cannot list LIO's sessions"
    (($(grep -c . <<<"$sessions") == 1)) || vm_fail "LIO lists '$sessions' with the first client stopped, expected its session"
    client_boot lio-stale-session default "$append" $((BOOT_TIMEOUT * 2)) &
    local client=$!
    fault_wait_for_console "$log" 'VM-MARKER: wrote seq=8 ' 120
    sessions="$(lio_ctl lio_sessions "$IQN")" || vm_fail "cannot list LIO's sessions"
    (($(grep -c . <<<"$sessions") == 1)) ||
        vm_fail "LIO lists $(grep -c . <<<"$sessions") sessions while the second client writes: the stale one was not replaced"
    wait "$client" || vm_fail "the second boot failed (console: $log)"
    fault_qemu_monitor "$monitor" quit
    wait "$stopped" || true
    ! grep -q 'iscsi-root: login attempt' "$log" ||
        vm_fail "the second boot's first login failed: $(grep -a -m 1 'iscsi-root: login attempt' "$log")"
    check_login "$log"
    check_writer "$log" "$image" "$CUT_BLOCKS"
    echo "LIO replaced the stopped client's session at the first login; $CUT_BLOCKS blocks intact, image clean"
)

# From the namespace: the probe lists the disk LUN, LIO's, with the image's size.
scenario_lio_probe() (
    export_lun lio-scan
    local report="$LOG_DIR/lio-probe.json" size summary
    ip netns exec "$VM_NETNS" timeout 60 "$VM_AGENT_BINARY" probe 127.0.0.1:3260 "$IQN" --json >"$report" 2>"$report.err" ||
        vm_fail "iscsi-root probe failed: $(tail -n 1 "$report.err")"
    size="$(stat -c %s "$LOG_DIR/lio-scan.root.img")"
    summary="$(python3 - "$report" "$size" 2>&1 <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
disks = [lun for lun in report["luns"] if lun["type"] == "disk"]
assert disks, "no disk LUN"
disk = disks[0]
assert disk["lun"] == 0, "the disk is LUN %s, not 0" % disk["lun"]
assert disk["vendor"].strip() == "LIO-ORG", "vendor %r" % disk["vendor"]
size = int(disk["blocks"]) * disk["blockLength"]
assert size == int(sys.argv[2]), "size %d bytes, the image has %s" % (size, sys.argv[2])
print("LUN 0 %s %s, %d x %d B = %d bytes" % (disk["vendor"].strip(), disk["product"].strip(), int(disk["blocks"]), disk["blockLength"], size))
PY
)" || vm_fail "probe: ${summary##*$'\n'} (see $report)"
    echo "$summary"
)

# From the namespace: the pairwise sweep of every negotiable key, each combination a login
# with reads; pass and pass* (passed with a listed deviation) are fine, fail is not.
scenario_lio_dvt() (
    export_lun lio-scan
    local report="$LOG_DIR/lio-dvt.json" status=0 summary
    ip netns exec "$VM_NETNS" timeout 600 "$VM_AGENT_BINARY" dvt 127.0.0.1:3260 "$IQN" --json >"$report" 2>"$report.err" ||
        status=$?
    # 1: a combination failed, which the summary below names, or the target was not reached.
    if ((status > 1)) || [[ ! -s "$report" ]]; then
        vm_fail "iscsi-root dvt exited $status: $(tail -n 1 "$report.err")"
    fi
    summary="$(python3 - "$report" 2>&1 <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
combinations = report["combinations"]
passed = [c for c in combinations if c["passed"] and not c["deviations"]]
starred = [c for c in combinations if c["passed"] and c["deviations"]]
failed = [c for c in combinations if not c["passed"]]
summary = "%d combinations (%s): %d pass, %d pass*, %d fail" % (len(combinations), report["coverage"], len(passed), len(starred), len(failed))
deviations = sorted({d for c in starred for d in c["deviations"]})
if deviations:
    summary += "; deviations: " + " | ".join(deviations)
if failed or not combinations:
    first = failed[0] if failed else None
    detail = (" first failure #%d: %s" % (first["index"], (first["failure"] or {}).get("message", "a key broke its result function"))) if first else ""
    print(summary + ";" + detail, file=sys.stderr)
    sys.exit(1)
print(summary)
PY
)" || vm_fail "dvt: ${summary##*$'\n'} (see $report)"
    echo "$summary"
)

main() {
    vm_suite_prepare
    rm -f "$LOG_DIR"/lio.*
    local selected=("$@") name
    ((${#selected[@]} > 0)) || selected=("${SCENARIOS[@]}")
    for name in "${selected[@]}"; do
        declare -F "scenario_${name//-/_}" >/dev/null || vm_fail "unknown scenario \"$name\" (known: ${SCENARIOS[*]})"
    done
    # One disk per scenario that writes, built before the target guest boots with them all.
    local disks=() serial
    for serial in $(for name in "${selected[@]}"; do scenario_disk "$name"; done | sort -u); do
        disks+=("$(build_image "$serial")")
    done
    vm_netns_create
    trap lio_cleanup EXIT
    lio_target_boot "$LOG_DIR/lio-target.log" "${disks[@]}"
    local status=0
    vm_run_scenarios scenario_ "$LOG_DIR/" "${selected[@]}" || status=$?
    lio_cleanup
    return "$status"
}

main "$@"
