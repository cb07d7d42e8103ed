# The domain validation tool in a booted guest (sourced by Tests/VM/dvt.sh): the images,
# the second target and the checks of what `iscsi-root dvt` left in the guest's
# /var/log/dvt (see Tests/VM/guest/dvt-init).
#
#   vm_dvt_root_image IMAGE       the root: dvt-init as /sbin/init, dvt-check, the agent
#   vm_dvt_scratch IMAGE SIZE     a zero-filled disk image
#   vm_dvt_add_lun TID LUN IMAGE  one more LUN on a running target
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
