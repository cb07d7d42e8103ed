#!/usr/bin/env bash
# The domain validation tool through the kernel: a guest booted from iSCSI (our initramfs)
# runs `iscsi-root dvt --kernel` pairwise against a second target of the host's tgtd
# (digests allowed), with a shell checker as --script, with a checker that refuses
# DataDigest=CRC32C and with the built-in check; then --block-device on its root's disk
# (refused) and on LUN 2 of its root's session; last a sweep against a second tgtd that the
# host freezes mid-combination (SIGSTOP). Judged on what each run left in the guest's
# /var/log/dvt (Tests/VM/guest/dvt-init).
#
# usage: Tests/VM/dvt.sh [SCENARIO...]      (default: every scenario; needs root)
#   VM_AGENT_BINARY=FILE      the static iscsi-root (default cache/bin/iscsi-root: make static)
#   VM_BOOT_TIMEOUT=SECONDS   the host's bound on the guest (default 600)
# Prints one line per scenario with its figures and "N passed, N failed".
set -euo pipefail
VM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)"
readonly VM_LIB
# shellcheck source=lib/harness.sh
source "$VM_LIB/harness.sh"
# shellcheck source=lib/dvt.sh
source "$VM_LIB/dvt.sh"

readonly BOOT_TIMEOUT="${VM_BOOT_TIMEOUT:-600}"
readonly LOG_DIR="$VM_CACHE_DIR/vm/logs"
readonly SCENARIOS=(kernel-sweep)
readonly IQN="$VM_TARGET_IQN_DEFAULT"
readonly DVT_IQN="iqn.2024-01.org.iscsi-root.test:dvt"
readonly STALL_IQN="iqn.2024-01.org.iscsi-root.test:stall" STALL_PORT=3262
# How long the second tgtd stays frozen: longer than the stall run's --timeout (8 s), so the
# combination must fail by its own bound; short enough for the next login (8 s per step).
readonly FREEZE_SECONDS=12

scenario_kernel_sweep() (
    local name=dvt-kernel-sweep
    local log="$LOG_DIR/$name.log" image="$LOG_DIR/$name.root.img" initrd="$LOG_DIR/$name.initrd.img"
    vm_initramfs_build "$initrd" >/dev/null
    vm_dvt_root_image "$image"
    vm_dvt_scratch "$LOG_DIR/$name.lun2.img" 16M
    vm_dvt_scratch "$LOG_DIR/$name.dvt.img" 32M
    vm_netns_create
    VM_TARGET_LOG="$LOG_DIR/$name.tgtd.log" vm_target_start "$image" "$IQN"
    vm_dvt_add_lun 1 2 "$LOG_DIR/$name.lun2.img"
    vm_target_add 2 "$DVT_IQN" "$LOG_DIR/$name.dvt.img"
    vm_dvt_allow_digests 2
    vm_dvt_scratch "$LOG_DIR/$name.stall.img" 32M
    vm_dvt_second_tgtd "$LOG_DIR/$name.stall.img" "$STALL_IQN" "$STALL_PORT" "$LOG_DIR/$name.tgtd-stall.log"
    local status=0 started
    started="$(vm_now_ms)"
    rm -f "$log"
    vm_qemu_boot --kernel "$KERNEL_IMAGE" --initrd "$initrd" --log "$log" --timeout "$BOOT_TIMEOUT" \
        --append "console=ttyS0,115200 panic=-1 ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off iscsi=iscsi://10.0.2.2/$IQN/1 root=LABEL=root rw dvt.portal=10.0.2.2 dvt.target=$DVT_IQN dvt.root_target=$IQN dvt.stall_portal=10.0.2.2:$STALL_PORT dvt.stall_target=$STALL_IQN" &
    local qemu=$!
    # The target stops answering while the stall run's first combination waits to read.
    vm_dvt_wait_for_console "$log" 'VM-MARKER: dvt-stall-point' "$qemu" "$BOOT_TIMEOUT"
    kill -STOP "$VM_DVT_TGTD_PID"
    sleep "$FREEZE_SECONDS"
    kill -CONT "$VM_DVT_TGTD_PID"
    wait "$qemu" || status=$?
    local seconds=$((($(vm_now_ms) - started) / 1000))
    vm_dvt_second_tgtd_stop
    vm_netns_cleanup
    ((status != 124)) || vm_fail "QEMU still running after ${BOOT_TIMEOUT} s"
    ((status == 0)) || vm_fail "QEMU exited with status $status"
    vm_check_boot_started "$log"
    grep -q 'VM-MARKER: dvt-done' "$log" || vm_fail "the guest's dvt runs did not finish: $(grep 'VM-MARKER: dvt ' "$log" | tail -n 1)"

    # A script that passes: every combination passes, with both digests negotiated somewhere,
    # the script's own line in the report and the session's kernel log lines.
    [[ "$(vm_dvt_result "$image" script)" == 0 ]] || vm_fail "script: exit $(vm_dvt_result "$image" script), expected 0"
    local script_figures
    script_figures="$(vm_dvt_check_json "$image" script '
rows = report["combinations"]
assert report["path"] == "kernel" and report["coverage"] == "pairwise", (report["path"], report["coverage"])
assert len(rows) >= 4 and all(r["passed"] for r in rows), [(r["index"], r["failure"]) for r in rows if not r["passed"]]
for key in ("HeaderDigest", "DataDigest"):
    assert {r["keys"][key]["negotiated"] for r in rows} == {"None", "CRC32C"}, key
assert all(r["device"].startswith("/dev/sd") and r["output"] and r["output"][-1].startswith("dvt-check: read 4 MiB") for r in rows)
assert all(any("session" in line or "sd " in line for line in r["kernelLog"]) for r in rows), "a combination without kernel log lines"
slowest = max(r["operationMilliseconds"] for r in rows)
print(f"{len(rows)} combinations passed with the script (at most {slowest} ms each)")
')" || exit 1

    # The same script refusing DataDigest=CRC32C: exactly those combinations fail, exit 1.
    [[ "$(vm_dvt_result "$image" failing)" == 1 ]] || vm_fail "failing: exit $(vm_dvt_result "$image" failing), expected 1"
    local failing_figures
    failing_figures="$(vm_dvt_check_json "$image" failing '
rows = report["combinations"]
wrong = [r["index"] for r in rows if r["passed"] != (r["keys"]["DataDigest"]["negotiated"] != "CRC32C")]
assert not wrong, f"combinations {wrong}: pass/fail does not follow DataDigest"
failed = [r for r in rows if not r["passed"]]
assert failed and len(failed) < len(rows), "expected some combinations to fail and others to pass"
assert all(r["failure"]["message"] == "the script exited with status 1" and "refusing DataDigest=CRC32C" in r["output"][-1] for r in failed)
print(f"{len(failed)} of {len(rows)} failed, each with DataDigest=CRC32C")
')" || exit 1

    # The built-in check: ErrorRecoveryLevel 1 and 2 left out with a line; reads compared.
    [[ "$(vm_dvt_result "$image" check)" == 0 ]] || vm_fail "check: exit $(vm_dvt_result "$image" check), expected 0"
    local builtin_figures
    builtin_figures="$(vm_dvt_check_json "$image" check '
rows = report["combinations"]
assert any(line.startswith("ErrorRecoveryLevel=1,2 left out") for line in report["leftOut"]), report["leftOut"]
assert all(r["passed"] and r["bytesRead"] > 0 and r["keys"]["ErrorRecoveryLevel"]["negotiated"] == "0" for r in rows)
rate = min(r["kibibytesPerSecond"] for r in rows) / 1024
print(f"{len(rows)} combinations passed the built-in check (slowest {rate:.1f} MiB/s)")
')" || exit 1
    local text
    text="$(vm_rootfs_read "$image" /var/log/dvt/check-text.out)"
    grep -q 'through the kernel (iscsi_tcp), built-in check' <<<"$text" || vm_fail "check-text: no kernel-path header in: $text"
    [[ "$(vm_dvt_result "$image" check-text)" == 0 ]] || vm_fail "check-text: exit $(vm_dvt_result "$image" check-text)"

    # --block-device: the root's disk is refused with the reason; LUN 2 of the root's session works.
    [[ "$(vm_dvt_result "$image" root-refused)" == 1 ]] || vm_fail "root-refused: exit $(vm_dvt_result "$image" root-refused), expected 1"
    vm_rootfs_read "$image" /var/log/dvt/root-refused.err | grep -q 'refusing --block-device /dev/sd[a-z]*: /dev/sd[a-z]* holds the running root filesystem' ||
        vm_fail "root-refused: $(vm_rootfs_read "$image" /var/log/dvt/root-refused.err)"
    # --kernel --write on the root's own LUN through a second session: refused, nothing written.
    [[ "$(vm_dvt_result "$image" root-lun-refused)" == 1 ]] ||
        vm_fail "root-lun-refused: exit $(vm_dvt_result "$image" root-lun-refused), expected 1"
    vm_dvt_check_json "$image" root-lun-refused '
rows = report["combinations"]
assert rows and all(not r["passed"] and "is the same logical unit as /dev/sd" in r["failure"]["message"] for r in rows), [r["failure"] for r in rows]
assert all(r["bytesWritten"] == 0 for r in rows)
' >/dev/null || exit 1
    [[ "$(vm_dvt_result "$image" second-lun)" == 0 ]] || vm_fail "second-lun: exit $(vm_dvt_result "$image" second-lun), expected 0"
    local second_figures
    second_figures="$(vm_dvt_check_json "$image" second-lun '
assert report["passed"] and report["lun"] == 2 and report["bytesWritten"] > 0, report
assert report["negotiated"].get("HeaderDigest") in ("None", "CRC32C") and "MaxBurstLength" in report["negotiated"], report["negotiated"]
device, session, written = report["device"], report["session"], report["bytesWritten"]
print(f"--block-device {device} (LUN 2, session {session}) wrote and read back {written} bytes")
')" || exit 1
    [[ "$(vm_dvt_result "$image" second-lun-script)" == 0 ]] ||
        vm_fail "second-lun-script: exit $(vm_dvt_result "$image" second-lun-script): $(vm_rootfs_read "$image" /var/log/dvt/second-lun-script.out)"

    # The frozen target: the first combination fails by --timeout and is torn down, the
    # second logs in once the target answers again and passes; exit 1.
    [[ "$(vm_dvt_result "$image" stall)" == 1 ]] || vm_fail "stall: exit $(vm_dvt_result "$image" stall), expected 1"
    local stall_figures
    stall_figures="$(vm_dvt_check_json "$image" stall '
first, second = report["combinations"]
assert not first["passed"] and "did not finish within 8000 ms" in first["failure"]["message"], first["failure"]
assert 8000 <= first["operationMilliseconds"] < 9000, first["operationMilliseconds"]
assert second["passed"], second["failure"]
took = first["operationMilliseconds"]
print(f"frozen target: combination 1 failed after {took} ms (--timeout 8000), combination 2 passed")
')" || exit 1
    vm_rootfs_check "$image" || vm_fail "e2fsck -fn finds the root image unclean"
    echo "$script_figures; $failing_figures; $builtin_figures; the root's disk refused, also through a second session; $second_figures; $stall_figures; guest ${seconds} s"
)

main() {
    vm_suite_prepare
    local selected=("$@")
    ((${#selected[@]} > 0)) || selected=("${SCENARIOS[@]}")
    vm_run_scenarios scenario_ "$LOG_DIR/dvt-" "${selected[@]}"
}

main "$@"
