# The domain validation tool in a booted guest (sourced by Tests/VM/dvt.sh): the images,
# the second target and the checks of what `iscsi-root dvt` left in the guest's
# /var/log/dvt (see Tests/VM/guest/dvt-init).
#
#   vm_dvt_root_image IMAGE       the root: dvt-init as /sbin/init, dvt-check, the agent
#   vm_dvt_scratch IMAGE SIZE     a zero-filled disk image
#   vm_dvt_add_lun TID LUN IMAGE  one more LUN on a running target
#   vm_dvt_allow_digests TID      the target takes CRC32C,None for both digests (tgt's own
#                                 default is None alone, whatever the initiator offers)
#   vm_dvt_second_tgtd IMAGE IQN PORT LOG   a tgtd of its own on the namespace's
#                                 127.0.0.1:PORT (the guest's 10.0.2.2:PORT) serving IMAGE as
#                                 LUN 1 of IQN (tid 3), so that it can be frozen alone; its pid
#                                 in VM_DVT_TGTD_PID
#   vm_dvt_wait_for_console LOG PATTERN PID SECONDS   until PATTERN is on the console; fails
#                                 when process PID (QEMU) ends first or after SECONDS
#   vm_dvt_second_tgtd_stop       stops it (also when frozen) and removes its control socket
#   vm_dvt_result IMAGE NAME      prints "STATUS" of run NAME; NAME.out/.err via vm_rootfs_read
#   vm_dvt_check_json IMAGE NAME CHECK   runs the python CHECK (reads `report`, the run's JSON)
#                                 and prints what it printed; fails with its message
# Needs rootfs.sh and target.sh (lib/harness.sh loads them).
# shellcheck shell=bash

vm_dvt_root_image() {
    local image="$1"
    vm_rootfs_build "$image" --init "$VM_REPO_ROOT/Tests/VM/guest/dvt-init" --size 96M \
        --add "$VM_AGENT_BINARY:sbin/iscsi-root" --add "$VM_REPO_ROOT/Tests/VM/guest/dvt-check:sbin/dvt-check"
}

vm_dvt_scratch() {
    local image="$1" size="$2"
    rm -f "$image"
    truncate -s "$size" "$image"
}

vm_dvt_add_lun() {
    local tid="$1" lun="$2" image="$3"
    vm_tgtadm --mode logicalunit --op new --tid "$tid" --lun "$lun" --backing-store "$image"
}

vm_dvt_allow_digests() {
    local tid="$1" key
    for key in HeaderDigest DataDigest; do
        vm_tgtadm --mode target --op update --tid "$tid" --name "$key" --value CRC32C,None
    done
}

VM_DVT_TGTD_PID=""
VM_DVT_CONTROL_PORT=""

vm_dvt_second_tgtd() {
    local image="$1" iqn="$2" port="$3" log="$4" attempt
    [[ -n "$VM_NETNS" ]] || vm_fail "vm_dvt_second_tgtd: call vm_netns_create first"
    # Half the range away from target.sh's port for this run (1000 + $$ % 30000): tgtd takes
    # no number above 32767.
    VM_DVT_CONTROL_PORT="$((1000 + ($$ % 30000 + 15000) % 30000))"
    if tgtadm -C "$VM_DVT_CONTROL_PORT" --lld iscsi --mode system --op show >/dev/null 2>&1; then
        vm_fail "tgtd control port $VM_DVT_CONTROL_PORT is in use by another tgtd"
    fi
    ip netns exec "$VM_NETNS" tgtd -f -C "$VM_DVT_CONTROL_PORT" --iscsi "portal=127.0.0.1:$port" >"$log" 2>&1 &
    VM_DVT_TGTD_PID=$!
    # Stopped by vm_dvt_second_tgtd_stop, also when the scenario fails: no job notice for that.
    disown "$VM_DVT_TGTD_PID"
    trap 'vm_dvt_second_tgtd_stop; vm_netns_cleanup' EXIT
    for attempt in $(seq 1 50); do
        tgtadm -C "$VM_DVT_CONTROL_PORT" --lld iscsi --mode system --op show >/dev/null 2>&1 && break
        ((attempt < 50)) || vm_fail "the second tgtd did not answer on control port $VM_DVT_CONTROL_PORT within 5 s"
        sleep 0.1
    done
    # tid 3: tgt derives a LUN's identifier (VPD 83h) from tid and LUN, and the first tgtd
    # serves tids 1 and 2; the same identifier would make two disks one logical unit.
    tgtadm -C "$VM_DVT_CONTROL_PORT" --lld iscsi --mode target --op new --tid 3 --targetname "$iqn"
    tgtadm -C "$VM_DVT_CONTROL_PORT" --lld iscsi --mode logicalunit --op new --tid 3 --lun 1 --backing-store "$image"
    tgtadm -C "$VM_DVT_CONTROL_PORT" --lld iscsi --mode target --op bind --tid 3 --initiator-address ALL
}

vm_dvt_second_tgtd_stop() {
    [[ -n "$VM_DVT_TGTD_PID" ]] || return 0
    kill -CONT "$VM_DVT_TGTD_PID" 2>/dev/null || true
    tgtadm -C "$VM_DVT_CONTROL_PORT" --lld iscsi --mode target --op delete --force --tid 3 >/dev/null 2>&1 || true
    tgtadm -C "$VM_DVT_CONTROL_PORT" --lld iscsi --mode system --op delete >/dev/null 2>&1 || true
    rm -f "/var/run/tgtd/socket.$VM_DVT_CONTROL_PORT" "/var/run/tgtd/socket.$VM_DVT_CONTROL_PORT.lock"
    VM_DVT_TGTD_PID=""
}

vm_dvt_wait_for_console() {
    local log="$1" pattern="$2" pid="$3" seconds="$4" waited=0
    until grep -q -E "$pattern" "$log" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || vm_fail "the guest ended before '$pattern' (see $log)"
        ((waited < seconds * 10)) || vm_fail "no '$pattern' on the console within $seconds s"
        sleep 0.1
        waited=$((waited + 1))
    done
}

vm_dvt_result() {
    local image="$1" name="$2" status
    status="$(vm_rootfs_read "$image" "/var/log/dvt/$name.status")" || vm_fail "run $name left no status in the image"
    [[ -n "$status" ]] || vm_fail "run $name left an empty status"
    echo "$status"
}

vm_dvt_check_json() {
    local image="$1" name="$2" check="$3" json
    json="$(vm_rootfs_read "$image" "/var/log/dvt/$name.out")"
    python3 -c "
import json, sys
report = json.loads(sys.stdin.read())
$check
" <<<"$json" || vm_fail "$name: $(vm_rootfs_read "$image" "/var/log/dvt/$name.err" | tail -n 3 | tr '\n' ' ')"
}
