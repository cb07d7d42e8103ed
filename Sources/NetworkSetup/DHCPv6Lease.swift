import NetworkAddresses

/// What a DHCPv6 Reply (or Advertise) gave us: the first usable address of our IA_NA and the
/// options that are applied.
public struct DHCPv6Lease: Equatable, Sendable {
    public var address: IPv6Address
    public var preferredSeconds: UInt32
    public var validSeconds: UInt32
    /// The server's DUID (option 2), echoed in the Request.
    public var serverIdentifier: [UInt8]
    /// The link-local address the server answered from; set by the I/O part.
    public var serverAddress: IPv6Address?
    /// Option 23 (RFC 3646).
    public var dnsServers: [IPv6Address]
    /// Option 59 (RFC 5970 §3.1); for root on iSCSI, an `iscsi:` root path (RFC 4173).
    public var bootFileURL: String?
    /// Option 60 (RFC 5970 §3.2): length-prefixed strings.
    public var bootFileParameters: [String]
    /// The server's preference (option 7), which ranks Advertises.
    public var preference: UInt8

    /// The root path, when the boot-file URL names an iSCSI root: dracut's `netroot=dhcp6`
    /// reads the same option, and only an `iscsi:` URL is one this boot can use.
    public var rootPath: String? {
        guard let url = bootFileURL, url.hasPrefix("iscsi:") else { return nil }
        return url
    }

    /// The server of an `iscsi:[address]:…` root path, so that the boot can reach it before
    /// any router advertisement says which prefix is on the link.
    public var rootPathServer: IPv6Address? {
        guard var rest = rootPath?.dropFirst(6) else { return nil }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        guard rest.first == "[", let close = rest.firstIndex(of: "]") else { return nil }
        return IPv6Address(rest[rest.index(after: rest.startIndex)..<close])
    }

    /// `fd00:10:2::100 from fe80::1 (valid 3600 s), root path iscsi:[fd00:10:2::2]::::iqn…`
    public var summary: String {
        "\(address)" + (serverAddress.map { " from \($0)" } ?? "") + " (valid \(validSeconds) s)"
            + (rootPath.map { ", root path \(Self.redactingCredentials($0))" }
                ?? bootFileURL.map { ", boot file \(Self.redactingCredentials($0)) (not an iscsi: root)" } ?? "")
    }

    /// A root path's `user:password@` shown as `(credentials)@`: the summary goes to the
    /// console, and a CHAP secret must not.
    static func redactingCredentials(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        return (text.hasPrefix("iscsi:") ? "iscsi:" : "") + "(credentials)" + text[at...]
    }

    /// Reads the message's IA_NA `identifier`; nil when it has no usable address (none, all with
    /// a valid lifetime of 0, or a non-success status on the IA or the address) or no server id.
    public init?(_ message: DHCPv6Message, identityAssociation identifier: UInt32) {
        let options = message.options
        guard let server = options.first(DHCPv6OptionCode.serverIdentifier), !server.isEmpty,
            let association = options.identityAssociations.first(where: { $0.identifier == identifier }),
            (association.status?.code ?? DHCPv6Status.success) == DHCPv6Status.success,
            let leased = association.addresses.first(where: {
                $0.validSeconds > 0 && ($0.status?.code ?? DHCPv6Status.success) == DHCPv6Status.success
            })
        else { return nil }
        address = leased.address
        preferredSeconds = leased.preferredSeconds
        validSeconds = leased.validSeconds
        serverIdentifier = server
        dnsServers = options.addresses(DHCPv6OptionCode.dnsServers) ?? []
        bootFileURL = options.first(DHCPv6OptionCode.bootFileURL).map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        bootFileParameters = Self.parameters(options.first(DHCPv6OptionCode.bootFileParameters) ?? [])
        preference = options.preference
    }

    /// RFC 5970 §3.2: each parameter a 16-bit length and that many bytes; a length running past
    /// the end drops the rest rather than the whole lease.
    static func parameters(_ data: [UInt8]) -> [String] {
        var result: [String] = []
        var index = 0
        while index + 2 <= data.count {
            let length = Int(data[index]) << 8 | Int(data[index + 1])
            guard length <= data.count - index - 2 else { break }
            result.append(String(decoding: data[(index + 2)..<(index + 2 + length)], as: UTF8.self))
            index += 2 + length
        }
        return result
    }
}
