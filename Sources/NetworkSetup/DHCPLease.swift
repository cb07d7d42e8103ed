import NetworkAddresses
/// What a DHCPACK gave us, read from its options (RFC 2132) into the values that are applied.
public struct DHCPLease: Equatable, Sendable {
    public var address: IPv4Address
    public var prefixLength: UInt8
    /// Option 54: the server that granted the lease.
    public var serverIdentifier: IPv4Address
    /// Option 3, in the server's order of preference.
    public var routers: [IPv4Address]
    /// Option 121 (RFC 3442); when present the router option is ignored.
    public var classlessStaticRoutes: [ClasslessStaticRoute]
    /// Option 6.
    public var dnsServers: [IPv4Address]
    /// Option 12.
    public var hostName: String?
    /// Option 15.
    public var domainName: String?
    /// Option 26, when at least the 68 bytes RFC 2132 §5.1 (and RFC 791) allow.
    public var mtu: UInt16?
    /// Option 51; nil when the server sent none. 0xFFFFFFFF means infinite (RFC 2132 §9.2).
    public var leaseSeconds: UInt32?
    /// Option 17: for root on iSCSI, `iscsi:SERVER:PROTOCOL:PORT:LUN:TARGET` (RFC 4173).
    public var rootPath: String?

    /// The routes to install (RFC 3442 §"DHCP Client Behavior": "If the DHCP server returns
    /// both a Classless Static Routes option and a Router option, the DHCP client MUST ignore
    /// the Router option"); otherwise a default route via the first router.
    public var routes: [ClasslessStaticRoute] {
        if !classlessStaticRoutes.isEmpty { return classlessStaticRoutes }
        return routers.first.map { [ClasslessStaticRoute(destination: .any, prefixLength: 0, router: $0)] } ?? []
    }

    /// Reads a DHCPACK (or OFFER); nil when it lacks an address or a server identifier.
    public init?(_ message: DHCPMessage) {
        let options = message.options
        guard message.yourAddress != .any, let server = options.address(DHCPOptionCode.serverIdentifier) else {
            return nil
        }
        address = message.yourAddress
        prefixLength =
            options.address(DHCPOptionCode.subnetMask)?.prefixLengthOfNetmask
            ?? Self.classfulPrefixLength(of: message.yourAddress)
        serverIdentifier = server
        routers = options.addresses(DHCPOptionCode.router) ?? []
        classlessStaticRoutes = options[DHCPOptionCode.classlessStaticRoute].flatMap(ClasslessStaticRoute.parse) ?? []
        dnsServers = options.addresses(DHCPOptionCode.domainNameServer) ?? []
        hostName = options.text(DHCPOptionCode.hostName)
        domainName = options.text(DHCPOptionCode.domainName)
        mtu = options.uint16(DHCPOptionCode.interfaceMTU).flatMap { $0 >= 68 ? $0 : nil }
        leaseSeconds = options.uint32(DHCPOptionCode.ipAddressLeaseTime)
        rootPath = options.text(DHCPOptionCode.rootPath)
    }

    /// RFC 2132 §3.3 says a server should send the subnet mask; without one, the mask of the
    /// address's historic class (RFC 791) is the guess every client makes.
    static func classfulPrefixLength(of address: IPv4Address) -> UInt8 {
        switch address.value >> 29 {
        case 0...3: 8  // class A: 0.0.0.0-127.255.255.255
        case 4, 5: 16  // class B: 128-191
        default: 24  // class C and above
        }
    }
}

/// One route of option 121 (RFC 3442): a destination prefix and the router for it; router
/// 0.0.0.0 means the destination is on the link.
public struct ClasslessStaticRoute: Hashable, Sendable, CustomStringConvertible {
    public var destination: IPv4Address
    public var prefixLength: UInt8
    public var router: IPv4Address

    public init(destination: IPv4Address, prefixLength: UInt8, router: IPv4Address) {
        self.destination = destination.masked(toPrefixLength: prefixLength)
        self.prefixLength = prefixLength
        self.router = router
    }

    /// Parses RFC 3442's encoding: a width 0-32, then only the significant octets of the
    /// destination (ceil(width / 8)), then the 4-byte router. Nil for a malformed option,
    /// which the client then ignores as a whole rather than installing half of it.
    public static func parse(_ data: [UInt8]) -> [ClasslessStaticRoute]? {
        var routes: [ClasslessStaticRoute] = []
        var index = 0
        while index < data.count {
            let width = data[index]
            guard width <= 32 else { return nil }
            let significant = (Int(width) + 7) / 8
            let end = index + 1 + significant + 4
            guard end <= data.count else { return nil }
            let destination = data[(index + 1)..<(index + 1 + significant)] + [UInt8](repeating: 0, count: 4 - significant)
            routes.append(
                ClasslessStaticRoute(
                    destination: IPv4Address(bytes: destination)!, prefixLength: width,
                    router: IPv4Address(bytes: data[(end - 4)..<end])!))
            index = end
        }
        return routes
    }

    /// `10.0.0.0/8 via 10.0.2.1`, `default via 10.0.2.2`, `192.0.2.0/24 on-link`
    public var description: String {
        let target = prefixLength == 0 ? "default" : "\(destination)/\(prefixLength)"
        return router == .any ? "\(target) on-link" : "\(target) via \(router)"
    }
}
