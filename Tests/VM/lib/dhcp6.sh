# The guest's NIC on a tap in the run's namespace, where dnsmasq serves DHCPv6 (sourced).
# QEMU's user network has no DHCPv6 server (it advertises a prefix, nothing more), hence
# the tap.
#
#   vm_netns_dhcp6 SECONDS LOG ROOT_PATH   (after vm_netns_create, before vm_target_start)
#       creates $VM_DHCP6_TAP holding fd00:10:2::2/64, starts dnsmasq on it: DHCPv6 only
#       (addresses fd00:10:2::100-1ff, 1 h), no router advertisement, the boot-file URL
#       (option 59) ROOT_PATH; dnsmasq quits after SECONDS or with the namespace. tgtd then
#       listens on [fd00:10:2::2]:3260. Pass --tap "$VM_DHCP6_TAP" to vm_qemu_boot.
#   vm_netns_link_local                    (after vm_netns_create, before vm_target_start)
#       creates the same tap holding only fe80::2/64 (nodad), no DHCP, no router
#       advertisement: the guest reaches it by its link-local address alone (ip=link6).
#       tgtd then listens on the namespace's wildcard [::]:3260, since a link-local bind
#       needs a zone; the namespace is the run's own.
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly VM_DHCP6_TAP=vmtap6 VM_DHCP6_SERVER=fd00:10:2::2 VM_LINK_LOCAL_SERVER=fe80::2

vm_netns_link_local() {
    [[ -n "$VM_NETNS" ]] || vm_fail "vm_netns_link_local: call vm_netns_create first"
    [[ -z "$VM_TGT_CONTROL_PORT" ]] || vm_fail "vm_netns_link_local: call it before vm_target_start"
    ip netns exec "$VM_NETNS" ip tuntap add dev "$VM_DHCP6_TAP" mode tap
    # No kernel-made link-local address beside ours: fe80::2 is the only one on this end.
    ip netns exec "$VM_NETNS" ip link set "$VM_DHCP6_TAP" addrgenmode none
    ip netns exec "$VM_NETNS" ip addr add "$VM_LINK_LOCAL_SERVER/64" dev "$VM_DHCP6_TAP" nodad
    ip netns exec "$VM_NETNS" ip link set "$VM_DHCP6_TAP" up
    VM_TGT_PORTAL_HOST="[::]"
}

vm_netns_dhcp6() {
    local seconds="$1" log="$2" root_path="$3" attempt
    [[ -n "$VM_NETNS" ]] || vm_fail "vm_netns_dhcp6: call vm_netns_create first"
    [[ -z "$VM_TGT_CONTROL_PORT" ]] || vm_fail "vm_netns_dhcp6: call it before vm_target_start"
    local dnsmasq
    dnsmasq="$(command -v dnsmasq || true)"
    [[ -n "$dnsmasq" ]] || vm_fail "dnsmasq not found (Tests/VM/lib/deps.sh dnsmasq-base installs it)"
    ip netns exec "$VM_NETNS" ip tuntap add dev "$VM_DHCP6_TAP" mode tap
    # nodad: tgtd binds the address at once, and this end is alone on the link.
    ip netns exec "$VM_NETNS" ip addr add "$VM_DHCP6_SERVER/64" dev "$VM_DHCP6_TAP" nodad
    ip netns exec "$VM_NETNS" ip link set "$VM_DHCP6_TAP" up
    : >"$log"
    ip netns exec "$VM_NETNS" timeout "$seconds" "$dnsmasq" --no-daemon --conf-file=/dev/null --port=0 --user=root \
        --interface="$VM_DHCP6_TAP" --bind-interfaces --dhcp-leasefile="$log.leases" --pid-file= \
        --dhcp-range=fd00:10:2::100,fd00:10:2::1ff,64,1h --dhcp-option="option6:bootfile-url,$root_path" \
        --log-dhcp --log-facility="$log" >>"$log" 2>&1 &
    # vm_netns_cleanup kills it: no job notice for that.
    disown $!
    for attempt in $(seq 1 50); do
        grep -q 'DHCPv6, IP range' "$log" 2>/dev/null && break
        ((attempt < 50)) || vm_fail "dnsmasq did not start within 5 s (see $log)"
        sleep 0.1
    done
    VM_TGT_PORTAL_HOST="[$VM_DHCP6_SERVER]"
}
