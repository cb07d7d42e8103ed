/// Dual stack: one IPv4 and one IPv6 configuration on the same NIC, from two `ip=` naming the
/// same device or from one `ip=` with a list of methods (`dhcp,auto6`). The plan keeps them as
/// two `InterfacePlan`s in command-line order; the boot configures both on the boot NIC.
extension InterfacePlan {
    /// The family this configuration gives an address of: nil for `ip=off` and for an iBFT
    /// NIC whose address is not known before boot.
    public var givesIPv6: Bool? {
        switch method {
        case .dhcp: false
        case .dhcp6, .auto6, .either6, .link6: true
        case .static, .firmware: address?.isIPv6
        case .disabled: nil
        }
    }

    /// Whether both configure the same NIC: the same device name, or, with no name, the same
    /// MAC address (or none: the boot interface chosen at boot).
    public func isSameNIC(as other: InterfacePlan) -> Bool {
        switch (device, other.device) {
        case (let mine?, let theirs?): mine == theirs
        case (nil, nil): mac?.value == other.mac?.value
        default: false
        }
    }
}

extension BootPlan {
    /// The other family's configuration on the boot interface (the first), when `ip=` gave
    /// one: the boot configures it on the same link after the first.
    public var bootInterfaceOtherFamily: InterfacePlan? { interfaces.first.flatMap(otherFamily(of:)) }

    /// The other family's configuration on the NIC `nic` configures, if the plan has one.
    public func otherFamily(of nic: InterfacePlan) -> InterfacePlan? {
        guard let family = nic.givesIPv6 else { return nil }
        return interfaces.first { $0.isSameNIC(as: nic) && $0.givesIPv6 == !family }
    }

    /// The NICs after the boot interface, each as its first configuration: another path's NIC
    /// (`ip=` naming another device, the iBFT's second NIC). The boot configures them after the
    /// boot interface, each with its other family (`otherFamily(of:)`), so that every portal
    /// has the NIC it is reached through.
    public var otherNICs: [InterfacePlan] {
        guard let boot = interfaces.first else { return [] }
        var nics: [InterfacePlan] = []
        for interface in interfaces.dropFirst() where interface.method != .disabled && !interface.isSameNIC(as: boot) {
            if !nics.contains(where: { $0.isSameNIC(as: interface) }) { nics.append(interface) }
        }
        return nics
    }
}

extension BootPlan {
    /// Two `ip=` of one family on one NIC would each replace the other's address and default
    /// route: refused, naming both. One of each family is dual stack.
    static func checkOneConfigurationPerFamily(_ interfaces: [InterfacePlan]) throws(BootConfigError) {
        let fromCommandLine = interfaces.filter { $0.source == .commandLine("ip=") }
        for (index, interface) in fromCommandLine.enumerated() {
            guard let family = interface.givesIPv6 else { continue }
            if let earlier = fromCommandLine[..<index].first(where: {
                $0.isSameNIC(as: interface) && $0.givesIPv6 == family
            }) {
                let nic = interface.device ?? interface.mac.map { "the NIC with MAC \($0.value)" } ?? "the boot interface"
                throw BootConfigError(
                    "ip=", token: interface.ipValue,
                    problem:
                        "configures \(family ? "IPv6" : "IPv4") on \(nic) a second time (after ip=\(earlier.ipValue))",
                    expected:
                        "one IPv4 and one IPv6 configuration per interface, e.g. ip=<v4>::<gw>:<mask>::eth0:none ip=[<v6>]::[<gw>]:64::eth0:none, or ip=dhcp,auto6"
                )
            }
        }
    }
}
