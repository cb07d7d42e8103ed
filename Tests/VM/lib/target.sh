# A private network namespace per run and a tgtd inside it on 127.0.0.1:3260 (sourced).
# The guest reaches it as 10.0.2.2:3260 through QEMU user networking, and nothing leaves
# the namespace.
#
#   vm_netns_create                  creates $VM_NETNS and sets the EXIT trap that removes it
#   vm_target_start IMAGE [IQN]      target tid 1, LUN 1 backed by IMAGE, open to all initiators
#   vm_target_add TID IQN IMAGE      one more target (TID > 1) with LUN 1 backed by IMAGE
#   vm_target_behind_proxy SECONDS [LOG]   (before vm_target_start) tgtd moves to port 3261
#                                    and portal-proxy.py answers on 3260, advertising
#                                    10.0.2.2:3260 in SendTargets instead of tgtd's 127.0.0.1;
#                                    it quits after SECONDS or with the namespace
#   vm_target_behind_redirector SECONDS LOG [--permanent]   (before vm_target_start) the
#                                    same, but login-redirector.py on 3260 redirects every
#                                    login to 10.0.2.2:3261 (status 0x0101, or 0x0102) and
#                                    logs one line per redirect in LOG
#   vm_target_add_chap USER SECRET   the initiator must authenticate (CHAP)
#   vm_target_add_mutual_chap USER SECRET   the target authenticates too (mutual CHAP)
#   vm_target_ipv6_only              (before vm_target_start) tgtd listens on [::1]:3260 only;
#                                    the guest reaches it as [fd00:10:2::2]:3260 (qemu.sh --ipv6)
#   vm_target_dual_stack             (after vm_target_start) a second portal [::1]:3260 beside
#                                    127.0.0.1:3260: the guest reaches tgtd both as
#                                    10.0.2.2:3260 and [fd00:10:2::2]:3260 (qemu.sh --ipv6)
#   vm_target_second_portal PORT     (after vm_target_start) tgtd also on 127.0.0.1:PORT, the
#                                    guest's 10.0.2.2:PORT: a second path (multipath scenarios)
#   vm_netns_vlan_switch SECONDS LOG (before vm_target_start) the guest's frames go through
#                                    vlan-switch.py: only VLAN 100 reaches 192.168.100.1/24,
#                                    where tgtd then listens (qemu.sh --vlan-switch)
#   vm_netns_cleanup                 stops tgtd, kills what runs in the namespace, removes it
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly VM_TARGET_IQN_DEFAULT="iqn.2024-01.org.iscsi-root.test:root"
VM_NETNS=""
# tgtd's control socket (/var/run/tgtd/socket.N) lives in the filesystem, which every
# namespace shares: each run takes its own number.
VM_TGT_CONTROL_PORT=""
# Where tgtd listens in the namespace (3261 behind the proxy), and the targets beyond tid 1.
VM_TGT_PORTAL_PORT=3260
VM_TGT_PORTAL_HOST=127.0.0.1
VM_TGT_EXTRA_TIDS=()
# The namespace's end of the guest's VLAN 100 (vm_netns_vlan_switch).
readonly VM_VLAN_TAP=vmtap0 VM_VLAN_ID=100 VM_VLAN_TARGET=192.168.100.1
# The loopback UDP ports between QEMU and vlan-switch.py, private to the namespace.
readonly VM_VLAN_QEMU_PORT=10100 VM_VLAN_SWITCH_PORT=10101

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
        --iscsi "portal=$VM_TGT_PORTAL_HOST:$VM_TGT_PORTAL_PORT" >"${VM_TARGET_LOG:-/dev/null}" 2>&1 &
    # Stopped by vm_netns_cleanup, or killed on purpose by a fault: no job notice for that.
    disown $!
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

# No IPv4 portal at all: a login that arrives came over IPv6 (QEMU's user network takes the
# guest's IPv6 connections to its host address to the namespace's ::1).
vm_target_ipv6_only() {
    [[ -z "$VM_TGT_CONTROL_PORT" ]] || vm_fail "vm_target_ipv6_only: call it before vm_target_start"
    VM_TGT_PORTAL_HOST="[::1]"
}

# Both families: tgtd already listens on 127.0.0.1; its IPv6 portal is added at run time (and
# can be deleted the same way, leaving the IPv4 one).
vm_target_dual_stack() {
    [[ -n "$VM_TGT_CONTROL_PORT" ]] || vm_fail "vm_target_dual_stack: call vm_target_start first"
    [[ "$VM_TGT_PORTAL_HOST" == 127.0.0.1 ]] || vm_fail "vm_target_dual_stack: tgtd listens on $VM_TGT_PORTAL_HOST, not 127.0.0.1"
    vm_tgtadm --mode portal --op new --param "portal=[::1]:$VM_TGT_PORTAL_PORT"
    vm_tgtadm --mode portal --op show | grep -q -F "[::1]:$VM_TGT_PORTAL_PORT" ||
        vm_fail "tgtd does not list the portal [::1]:$VM_TGT_PORTAL_PORT: $(vm_tgtadm --mode portal --op show | tr '\n' ' ')"
}

# vm_target_second_portal PORT: tgtd also listens on 127.0.0.1:PORT, which the guest reaches
# as 10.0.2.2:PORT: a second path to the same target (the multipath scenarios).
vm_target_second_portal() {
    local port="$1"
    [[ -n "$VM_TGT_CONTROL_PORT" ]] || vm_fail "vm_target_second_portal: call vm_target_start first"
    vm_tgtadm --mode portal --op new --param "portal=127.0.0.1:$port"
    vm_tgtadm --mode portal --op show | grep -q -F "127.0.0.1:$port" ||
        vm_fail "tgtd does not list the portal 127.0.0.1:$port: $(vm_tgtadm --mode portal --op show | tr '\n' ' ')"
}

# The guest's NIC sends its frames to vlan-switch.py over loopback UDP (qemu.sh
# --vlan-switch), a user-space 802.1Q trunk port: frames tagged VLAN 100 reach the tap that
# holds 192.168.100.1/24, untagged ones nothing, so a boot that logs in went over the VLAN.
# (The host's kernel may lack 8021q and the bridge, as containers' kernels often do.) LOG
# gets the switch's counts; it quits after SECONDS or with the namespace.
vm_netns_vlan_switch() {
    local seconds="$1" log="$2" attempt
    [[ -n "$VM_NETNS" ]] || vm_fail "vm_netns_vlan_switch: call vm_netns_create first"
    [[ -z "$VM_TGT_CONTROL_PORT" ]] || vm_fail "vm_netns_vlan_switch: call it before vm_target_start"
    ip netns exec "$VM_NETNS" ip tuntap add dev "$VM_VLAN_TAP" mode tap
    ip netns exec "$VM_NETNS" ip addr add "$VM_VLAN_TARGET/24" dev "$VM_VLAN_TAP"
    ip netns exec "$VM_NETNS" ip link set "$VM_VLAN_TAP" up
    ip netns exec "$VM_NETNS" python3 "$(dirname "${BASH_SOURCE[0]}")/vlan-switch.py" --port "$VM_VLAN_SWITCH_PORT" \
        --qemu-port "$VM_VLAN_QEMU_PORT" --tap "$VM_VLAN_TAP" --vlan "$VM_VLAN_ID" --seconds "$seconds" >"$log" 2>&1 &
    # vm_netns_cleanup kills it: no job notice for that.
    disown $!
    for attempt in $(seq 1 50); do
        grep -q 'vlan-switch: VLAN' "$log" 2>/dev/null && break
        ((attempt < 50)) || vm_fail "vlan-switch.py did not start within 5 s (see $log)"
        sleep 0.1
    done
    VM_TGT_PORTAL_HOST="$VM_VLAN_TARGET"
}

vm_target_add() {
    local tid="$1" iqn="$2" image="$3"
    [[ -n "$VM_TGT_CONTROL_PORT" ]] || vm_fail "vm_target_add: call vm_target_start first"
    [[ -f "$image" ]] || vm_fail "vm_target_add: no image $image"
    vm_tgtadm --mode target --op new --tid "$tid" --targetname "$iqn"
    VM_TGT_EXTRA_TIDS+=("$tid")
    vm_tgtadm --mode logicalunit --op new --tid "$tid" --lun 1 --backing-store "$image"
    vm_tgtadm --mode target --op bind --tid "$tid" --initiator-address ALL
}

# QEMU's user network takes the guest's 10.0.2.2:3260 to the namespace's 127.0.0.1:3260,
# which tgtd advertises as its portal: an initiator that logs in only to advertised
# portals (dracut's iscsi module) needs them rewritten.
vm_target_behind_proxy() {
    local seconds="$1" log="${2:-/dev/null}"
    vm_target_in_front vm_target_behind_proxy "$log" portal-proxy.py 3260 3261 10.0.2.2:3260 "$seconds"
}

# The guest's 10.0.2.2:3260 answers every login with a redirect to 10.0.2.2:3261, where
# tgtd is: a boot reaches its root only by following it. LOG gets one line per redirect.
vm_target_behind_redirector() {
    local seconds="$1" log="$2"
    shift 2
    vm_target_in_front vm_target_behind_redirector "$log" login-redirector.py "$@" 3260 10.0.2.2:3261 "$seconds"
}

# vm_target_in_front CALLER LOG SCRIPT ARGS...: tgtd moves to 127.0.0.1:3261 and SCRIPT
# (a python3 program of this folder) takes 3260, where the guest's 10.0.2.2:3260 arrives;
# returns once it listens.
vm_target_in_front() {
    local caller="$1" log="$2" script="$3" attempt
    shift 3
    [[ -n "$VM_NETNS" ]] || vm_fail "$caller: call vm_netns_create first"
    [[ -z "$VM_TGT_CONTROL_PORT" ]] || vm_fail "$caller: call it before vm_target_start"
    VM_TGT_PORTAL_PORT=3261
    ip netns exec "$VM_NETNS" python3 "$(dirname "${BASH_SOURCE[0]}")/$script" "$@" >"$log" 2>&1 &
    # vm_netns_cleanup kills it: no job notice for that.
    disown $!
    for attempt in $(seq 1 50); do
        ip netns exec "$VM_NETNS" ss -Hltn 'sport = :3260' | grep -q . && return 0
        sleep 0.1
    done
    vm_fail "$script did not listen on 127.0.0.1:3260 within 5 s"
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
        local tid
        for tid in "${VM_TGT_EXTRA_TIDS[@]}" 1; do
            vm_tgtadm --mode target --op delete --force --tid "$tid" >/dev/null 2>&1 || true
        done
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
    VM_TGT_PORTAL_PORT=3260
    VM_TGT_PORTAL_HOST=127.0.0.1
    VM_TGT_EXTRA_TIDS=()
    if [[ -n "$tgt_control_port" ]]; then
        # tgtd leaves its control socket behind; nothing listens on it any more.
        rm -f "/var/run/tgtd/socket.$tgt_control_port" "/var/run/tgtd/socket.$tgt_control_port.lock"
    fi
}
