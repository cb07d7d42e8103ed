import NetworkAddresses
import LinuxSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Why the network could not be set up, in words for the person at the serial console: the
/// step, the value, and what to check.
public enum NetworkError: Error, Equatable, CustomStringConvertible {
    /// A system call failed during `step` (e.g. "open rtnetlink socket").
    case system(step: String, SystemError)
    /// The kernel refused a request with an errno, e.g. step "add address 10.0.2.15/24 to
    /// eth0" and EADDRNOTAVAIL.
    case refusedByKernel(step: String, code: Int32)
    /// The kernel did not answer a request within the bound (it always should).
    case noReplyFromKernel(step: String)
    /// No interface has that name or MAC address; `available` lists what there is.
    case noSuchInterface(String, available: [String])
    /// The link stayed without carrier until the deadline.
    case noCarrier(interface: String, waitedMilliseconds: Int)
    /// The configuration itself cannot be applied (a prefix longer than the family allows,
    /// a VLAN name longer than IFNAMSIZ, an unparsable target address).
    case invalidConfiguration(String)
    /// DHCP on `interface` did not produce a lease.
    case dhcpFailed(interface: String, DHCPFailure)
    /// DHCPv6 on `interface` did not produce a lease.
    case dhcpv6Failed(interface: String, DHCPv6Failure)
    /// Duplicate address detection found another node using `address`.
    case duplicateAddress(address: String, interface: String)
    /// No IPv6 address `what` (a static one, or one from router advertisements) became
    /// usable (present and no longer tentative) before the deadline; `found` lists those seen.
    case addressNotUsable(what: String, interface: String, found: [String], waitedMilliseconds: Int)

    public var description: String {
        switch self {
        case .system(let step, let error):
            "\(step): \(error)"
        case .refusedByKernel(let step, let code):
            "\(step): \(String(cString: strerror(code)))" + Self.hint(for: code)
        case .noReplyFromKernel(let step):
            "\(step): the kernel did not answer the rtnetlink request"
        case .noSuchInterface(let wanted, let available):
            "no network interface \(wanted) (present: \(available.joined(separator: ", "))); "
                + "check the name or MAC address and that the NIC's driver is loaded"
        case .noCarrier(let interface, let waited):
            "\(interface) has no carrier after \(waited) ms; check the cable, the switch port "
                + "or the virtual NIC's link state"
        case .invalidConfiguration(let detail):
            detail
        case .dhcpFailed(let interface, let failure):
            "DHCP on \(interface): \(failure)"
        case .dhcpv6Failed(let interface, let failure):
            "DHCPv6 on \(interface): \(failure)"
        case .duplicateAddress(let address, let interface):
            "duplicate address detection on \(interface): another node already uses \(address); "
                + "check ip= for an address that is unique on the link"
        case .addressNotUsable(let what, let interface, let found, let waited):
            "no usable IPv6 address (\(what)) on \(interface) after \(waited) ms "
                + "(present: \(found.isEmpty ? "none" : found.joined(separator: ", "))); "
                + "check that duplicate address detection can finish and, for ip=auto6, that a router advertises a prefix"
        }
    }

    private static func hint(for code: Int32) -> String {
        switch code {
        case EOPNOTSUPP: " (is the kernel module for this link type, e.g. 8021q, loaded?)"
        case ENETUNREACH: " (the gateway is not on any configured subnet)"
        case ENODEV: " (the interface disappeared)"
        case EPERM: " (CAP_NET_ADMIN is needed)"
        default: ""
        }
    }
}
