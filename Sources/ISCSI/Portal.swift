/// An iSCSI network portal: a host (IPv4, IPv6 or a name) and a TCP port.
public struct Portal: Hashable, Sendable, CustomStringConvertible {
    /// The IANA port for iSCSI (RFC 7143 §13.3).
    public static let defaultPort: UInt16 = 3260

    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16 = Portal.defaultPort) {
        self.host = host
        self.port = port
    }

    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port`.
    public init?(parsing text: String) {
        var host = Substring(text)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = host.firstIndex(of: ":") {
            guard host[host.index(after: colon)...].firstIndex(of: ":") == nil else { return nil }
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else { return nil }
        var port = Portal.defaultPort
        if let portText {
            guard let number = UInt16(portText), number > 0 else { return nil }
            port = number
        }
        self.init(host: String(host), port: port)
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension Portal {
    /// Parses a `TargetAddress` value (SendTargets answers, login redirects):
    /// `host[:port][,tpgt]` with IPv6 hosts in brackets.
    public init?(targetAddress: String) {
        let withoutTag = targetAddress.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        self.init(parsing: String(withoutTag))
    }
}
