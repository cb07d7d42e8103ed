import BootConfig
import NetworkSetup

extension BootSequence {
    /// A NIC's other address family (dual stack: `ip=` for IPv4 and for IPv6 on one NIC, or
    /// `ip=dhcp,auto6`; `BootPlan.otherFamily(of:)`), which `NetworkSetup.configure` sets up on
    /// the same link after the first family. Link-local only (`link6`) adds nothing to configure here.
    static func otherFamilyMethod(_ other: InterfacePlan) -> InterfaceConfiguration.Method? {
        switch other.method {
        case .static, .firmware:
            guard let address = other.address else { return nil }
            return .manual(
                .init(
                    address: InterfaceAddress(address, prefixLength: other.prefixLength ?? address.maximumPrefixLength),
                    gateway: other.gateway, dnsServers: other.dns, mtu: other.mtu.map(UInt32.init)))
        case .dhcp: return .dhcp
        case .dhcp6: return .dhcpv6
        case .auto6: return .ipv6Autoconfiguration
        case .either6: return .ipv6AutoconfigurationOrDHCPv6
        case .link6, .disabled: return nil
        }
    }
}
