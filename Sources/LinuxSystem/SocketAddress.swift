#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 address with a TCP port, in the form the socket calls take.
///
/// Only numeric hosts are accepted: name resolution (`getaddrinfo`) needs NSS, which a static
/// glibc binary cannot load, and early boot has no resolver configured anyway.
public enum SocketAddress: Sendable, CustomStringConvertible {
    case ipv4(sockaddr_in)
    case ipv6(sockaddr_in6)

    /// Parses a numeric IPv4 address (`192.0.2.1`), an IPv6 address (`2001:db8::1`, with an
    /// optional `%interface` or `%index` zone for link-local addresses), or `localhost`
    /// (taken as 127.0.0.1). The corresponding C function is `inet_pton`.
    public init?(numericHost: String, port: UInt16) {
        let host = numericHost == "localhost" ? "127.0.0.1" : numericHost
        var ipv4 = sockaddr_in()
        if inet_pton(AF_INET, host, &ipv4.sin_addr) == 1 {
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = port.bigEndian
            self = .ipv4(ipv4)
            return
        }
        var address = Substring(host)
        var zoneIndex: UInt32 = 0
        if let percent = address.firstIndex(of: "%") {
            let zone = String(address[address.index(after: percent)...])
            address = address[..<percent]
            if let index = UInt32(zone) {
                zoneIndex = index
            } else {
                zoneIndex = if_nametoindex(zone)
                guard zoneIndex != 0 else { return nil }
            }
        }
        var ipv6 = sockaddr_in6()
        guard inet_pton(AF_INET6, String(address), &ipv6.sin6_addr) == 1 else { return nil }
        ipv6.sin6_family = sa_family_t(AF_INET6)
        ipv6.sin6_port = port.bigEndian
        ipv6.sin6_scope_id = zoneIndex
        self = .ipv6(ipv6)
    }

    /// Reads the address the kernel wrote into `storage` (by `getsockname`, `getpeername`,
    /// `accept`); `nil` for a family other than IPv4 and IPv6.
    init?(_ storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            self = .ipv4(withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in.self) })
        case AF_INET6:
            self = .ipv6(withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in6.self) })
        default:
            return nil
        }
    }

    /// `AF_INET` or `AF_INET6`, for `socket`.
    public var family: Int32 {
        switch self {
        case .ipv4: AF_INET
        case .ipv6: AF_INET6
        }
    }

    public var port: UInt16 {
        switch self {
        case .ipv4(let address): UInt16(bigEndian: address.sin_port)
        case .ipv6(let address): UInt16(bigEndian: address.sin6_port)
        }
    }

    /// The host part as text: `127.0.0.1`, `fe80::1%2`. The corresponding C function is `inet_ntop`.
    public var host: String {
        switch self {
        case .ipv4(var address):
            return numericText(AF_INET, &address.sin_addr)
        case .ipv6(var address):
            let host = numericText(AF_INET6, &address.sin6_addr)
            return address.sin6_scope_id == 0 ? host : "\(host)%\(address.sin6_scope_id)"
        }
    }

    /// `127.0.0.1:3260` or `[2001:db8::1]:3260`, as a person writes a portal.
    public var description: String {
        switch self {
        case .ipv4: "\(host):\(port)"
        case .ipv6: "[\(host)]:\(port)"
        }
    }

    /// Calls `body` with the address as the `sockaddr` pointer and length that `connect` and
    /// `bind` take.
    public func withSocketAddress<Result, Failure: Error>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        switch self {
        case .ipv4(var address):
            return try withUnsafeBytes(of: &address) { (bytes) throws(Failure) -> Result in
                try body(bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(bytes.count))
            }
        case .ipv6(var address):
            return try withUnsafeBytes(of: &address) { (bytes) throws(Failure) -> Result in
                try body(bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(bytes.count))
            }
        }
    }
}

/// The text form of a binary address of `family`. The corresponding C function is `inet_ntop`,
/// which cannot fail for a valid family and a buffer of `INET6_ADDRSTRLEN`.
private func numericText(_ family: Int32, _ address: UnsafeRawPointer) -> String {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { text in
        String(cString: inet_ntop(family, address, text.baseAddress!, socklen_t(text.count))!)
    }
}
