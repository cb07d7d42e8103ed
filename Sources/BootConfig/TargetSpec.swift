import ISCSI

/// What one grammar says about one target: where it is, its name, which LUN, and how to
/// authenticate. The resolver merges these into the plan's `TargetPlan`s.
public struct TargetSpec: Sendable, Equatable {
    public var name: String
    public var portal: Portal
    /// nil: not given; the agent uses the first LUN the target reports that is a disk.
    public var lun: LogicalUnit?
    /// CHAP for this target, without the mutual challenge (the agent draws it at login).
    public var credentials: CHAPConfiguration?
    /// dracut's open-iscsi iface name (`iscsi_iface_name` field); kept for `plan` only.
    public var ifaceName: String?
    /// The network device to reach the target through (dracut's `netdev_name` field).
    public var networkDevice: String?

    public init(
        name: String, portal: Portal, lun: LogicalUnit?,
        credentials: CHAPConfiguration? = nil,
        ifaceName: String? = nil, networkDevice: String? = nil
    ) {
        self.name = name
        self.portal = portal
        self.lun = lun
        self.credentials = credentials
        self.ifaceName = ifaceName
        self.networkDevice = networkDevice
    }
}

/// The grammars' side of the protocol's `Portal` (one type for the boot plan and the login):
/// how a grammar reads a host and a port, with errors that name the parameter.
extension Portal {
    /// The host as an IP address (an IPv6 one with its zone, if it has one); nil for a DNS
    /// name (resolved by the agent after the network is up).
    public var address: IPAddress? { IPAddress(host, allowingZone: true) }

    /// The link-local IPv6 address of the host, with its zone if it has one; nil for any
    /// other host.
    public var linkLocalAddress: IPv6Address? {
        guard case .v6(let v6) = address, v6.isLinkLocal else { return nil }
        return v6
    }

    /// Parses a host: an IPv4 address, a bracketed IPv6 address (a link-local one may carry
    /// its interface as a zone, `[fe80::2%eth0]`), or a DNS name.
    static func host(_ text: Substring, parameter: String) throws(BootConfigError) -> String {
        if let percent = text.firstIndex(of: "%") {
            let zone = text[text.index(after: percent)..<(text.hasSuffix("]") ? text.index(before: text.endIndex) : text.endIndex)]
            guard IPv6Address.isValidZone(zone) else {
                throw BootConfigError(
                    parameter, at: "server", token: String(text), problem: "has a zone that is not an interface name",
                    expected: "[fe80::<address>%<interface>] with an interface name of 1-15 characters or an index, e.g. [fe80::2%eth0]")
            }
            guard case .v6(let v6) = IPAddress(text, allowingZone: true) else {
                throw BootConfigError(
                    parameter, at: "server", token: String(text), problem: "is not an IPv6 address with a zone",
                    expected: "fe80::<address>%<interface>, e.g. [fe80::2%eth0]")
            }
            guard v6.isLinkLocal else {
                throw BootConfigError(
                    parameter, at: "server", token: String(text),
                    problem: "has a zone (%\(zone)) but is not a link-local address",
                    expected: "a zone only on a link-local address (fe80::/10), e.g. [fe80::2%eth0]; [\(v6.withZone(nil))] without %\(zone)"
                )
            }
            return v6.description
        }
        if let address = IPAddress(text) { return address.description }
        let isName =
            !text.isEmpty && text.utf8.count <= 253
            && text.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || $0 == "-" || $0 == "."
            }
        guard isName else {
            throw BootConfigError(
                parameter, at: "server", token: String(text), problem: "is not an address or host name",
                expected: "a.b.c.d, [IPv6] or a DNS name")
        }
        return String(text)
    }

    /// Parses a TCP port 1-65535; empty means the default 3260.
    static func port(_ text: Substring, parameter: String) throws(BootConfigError) -> UInt16 {
        if text.isEmpty { return defaultPort }
        guard text.isDecimalNumber, text.utf8.count <= 5, let number = Int(text),
            (1...65535).contains(number)
        else {
            throw BootConfigError(
                parameter, at: "port", token: String(text), problem: "is not a TCP port",
                expected: "port 1-65535")
        }
        return UInt16(number)
    }
}

/// The grammars' side of the protocol's `LogicalUnit` (one LUN type for the boot plan and the
/// initiator): how a grammar reads a LUN field.
extension LogicalUnit {
    /// Parses a LUN field: digits only is decimal (what dracut and initramfs-tools use);
    /// with dashes or hex letters it is RFC 4173's hex form (up to four groups of up to four hex
    /// digits, filling the 8 bytes from the left).
    static func parse(_ text: Substring, parameter: String) throws(BootConfigError)
        -> LogicalUnit
    {
        let expected = "a decimal LUN 0-16383 or RFC 4173 hex groups such as 0001-0000-0000-0000"
        if text.isDecimalNumber {
            guard text.utf8.count <= 5, let number = Int(text), number < 16384 else {
                throw BootConfigError(
                    parameter, at: "LUN", token: String(text), problem: "is out of range", expected: expected)
            }
            return LogicalUnit(number)
        }
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        var bytes: [UInt8] = []
        for group in groups {
            guard groups.count <= 4, (1...4).contains(group.utf8.count),
                let value = UInt16(group, radix: 16)
            else {
                throw BootConfigError(
                    parameter, at: "LUN", token: String(text), problem: "is not a LUN", expected: expected)
            }
            bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
        }
        return LogicalUnit(sam: bytes)
    }
}

extension CHAPConfiguration {
    /// CHAP for a target as a grammar gives it: the initiator's user and secret.
    init(userName: String, secret: CHAPSecret) {
        self.init(credentials: CHAPCredentials(userName: userName, secret: secret))
    }
}
