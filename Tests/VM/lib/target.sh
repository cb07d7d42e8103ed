# A private network namespace per run and a tgtd inside it on 127.0.0.1:3260 (sourced).
# The guest reaches it as 10.0.2.2:3260 through QEMU user networking, and nothing leaves
# the namespace.
#
#   vm_netns_create                  creates $VM_NETNS and sets the EXIT trap that removes it
#   vm_target_start IMAGE [IQN]      target tid 1, LUN 1 backed by IMAGE, open to all initiators
#   vm_target_add_chap USER SECRET   the initiator must authenticate (CHAP)
#   vm_target_add_mutual_chap USER SECRET   the target authenticates too (mutual CHAP)
#   vm_netns_cleanup                 stops tgtd, kills what runs in the namespace, removes it
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly VM_TARGET_IQN_DEFAULT="iqn.2024-01.org.iscsi-root.test:root"
VM_NETNS=""
# tgtd's control socket (/var/run/tgtd/socket.N) lives in the filesystem, which every
# namespace shares: each run takes its own number.
VM_TGT_CONTROL_PORT=""

vm_netns_create() {
    command -v ip >/dev/null || vm_fail "ip not found (Tests/VM/lib/deps.sh installs iproute2)"
    VM_NETNS="iscsiroot-vm-$$"
    trap vm_netns_cleanup EXIT
    ip netns add "$VM_NETNS"
    ip netns exec "$VM_NETNS" ip link set lo up
}

vm_target_start() {
    local image="$1" iqn="${2:-$VM_TARGET_IQN_DEFAULT}"
    [[ -n "$VM_NETNS" ]] || vm_fail "vm_target_start: call vm_netns_create first"
    [[ -f "$image" ]] || vm_fail "vm_target_start: no image $image"
    VM_TGT_CONTROL_PORT="$((1000 + $$ % 30000))"
    if vm_tgtadm --mode system --op show >/dev/null 2>&1; then
        vm_fail "tgtd control port $VM_TGT_CONTROL_PORT is in use by another tgtd"
    fi
    ip netns exec "$VM_NETNS" tgtd -f -C "$VM_TGT_CONTROL_PORT" \
        --iscsi portal=127.0.0.1:3260 >"${VM_TARGET_LOG:-/dev/null}" 2>&1 &
    local attempt
    for attempt in $(seq 1 50); do
        if vm_tgtadm --mode system --op show >/dev/null 2>&1; then
            break
        fi
        ((attempt < 50)) || vm_fail "tgtd did not answer on control port $VM_TGT_CONTROL_PORT within 5 s"
        sleep 0.1
    done
    vm_tgtadm --mode target --op new --tid 1 --targetname "$iqn"
    vm_tgtadm --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$image"
    vm_tgtadm --mode target --op bind --tid 1 --initiator-address ALL
}

vm_target_add_chap() {
    local user="$1" secret="$2"
    vm_tgtadm --mode account --op new --user "$user" --password "$secret"
    vm_tgtadm --mode account --op bind --tid 1 --user "$user"
}

vm_target_add_mutual_chap() {
    local user="$1" secret="$2"
    # tgt 1.0.85: an account is created plainly and becomes outgoing when bound so.
    vm_tgtadm --mode account --op new --user "$user" --password "$secret"
    vm_tgtadm --mode account --op bind --tid 1 --user "$user" --outgoing
}

vm_tgtadm() {
    tgtadm -C "$VM_TGT_CONTROL_PORT" --lld iscsi "$@"
}

# Always safe to call, also half-way through a failed start; removes the namespace.
vm_netns_cleanup() {
    [[ -n "$VM_NETNS" ]] || return 0
    local tgt_control_port="$VM_TGT_CONTROL_PORT"
    if [[ -n "$VM_TGT_CONTROL_PORT" ]]; then
        # tgtd ignores SIGTERM: it stops when told through its control socket.
        vm_tgtadm --mode target --op delete --force --tid 1 >/dev/null 2>&1 || true
        vm_tgtadm --mode system --op delete >/dev/null 2>&1 || true
        VM_TGT_CONTROL_PORT=""
    fi
    local attempt pids
    for attempt in $(seq 1 20); do
        pids="$(ip netns pids "$VM_NETNS" 2>/dev/null || true)"
        [[ -n "$pids" ]] || break
        if ((attempt < 20)); then
            sleep 0.1
        else
            # shellcheck disable=SC2086 # one pid per word
            kill -KILL $pids 2>/dev/null || true
            sleep 0.2
        fi
    done
    ip netns del "$VM_NETNS" 2>/dev/null || true
    VM_NETNS=""
    if [[ -n "$tgt_control_port" ]]; then
        # tgtd leaves its control socket behind; nothing listens on it any more.
        rm -f "/var/run/tgtd/socket.$tgt_control_port" "/var/run/tgtd/socket.$tgt_control_port.lock"
    fi
}
