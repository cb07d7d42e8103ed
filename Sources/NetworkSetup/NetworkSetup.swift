@_exported import NetworkAddresses
import CShims
import LinuxSystem

/// What the boot plan says about one interface.
public struct InterfaceConfiguration: Equatable, Sendable {
    /// How the interface is found: by name (`ip=…:eth0:…`) or by MAC (iBFT, `BOOTIF=`), which
    /// survives the renaming of NICs between kernels.
    public enum Selector: Equatable, Sendable, CustomStringConvertible {
        case name(String)
        case macAddress(MACAddress)
        /// The first Ethernet interface to see a carrier, when the plan names none.
        case firstWithCarrier

        public var description: String {
            switch self {
            case .name(let name): name
            case .macAddress(let address): address.description
            case .firstWithCarrier: "the first interface with carrier"
            }
        }
    }

    public enum Method: Equatable, Sendable {
        case manual(StaticAddressing)
        case dhcp
        /// DHCPv6 (`ip=dhcp6`): an address from the server's IA_NA, from the link-local address.
        case dhcpv6
        /// `ip=either6`: router advertisements, or DHCPv6 when none gives an address in time.
        case ipv6AutoconfigurationOrDHCPv6
        /// IPv6 stateless autoconfiguration (`ip=auto6`): the kernel takes the address and
        /// the default route from router advertisements; we wait for a global address.
        case ipv6Autoconfiguration
        /// `ip=link6`: the link-local address the kernel gives the link, once its duplicate
        /// address detection is over; no router, no DHCP (for a portal on the same link).
        case ipv6LinkLocal
    }

    /// An address given by the plan (`ip=` or the iBFT).
    public struct StaticAddressing: Equatable, Sendable {
        public var address: InterfaceAddress
        public var gateway: IPAddress?
        public var dnsServers: [IPAddress]
        public var mtu: UInt32?

        public init(address: InterfaceAddress, gateway: IPAddress? = nil, dnsServers: [IPAddress] = [], mtu: UInt32? = nil) {
            self.address = address
            self.gateway = gateway
            self.dnsServers = dnsServers
            self.mtu = mtu
        }
    }

    public var interface: Selector
    public var method: Method
    /// An 802.1Q VLAN on top of the interface, 1-4094; the link used is then `<name>.<id>`,
    /// or `vlanName` when given (dracut's `vlan=vlan100:eth0`).
    public var vlanID: UInt16?
    public var vlanName: String?
    /// Sent as DHCP option 12.
    public var hostName: String?
    /// The other address family on the same link (dual stack: `ip=` for IPv4 and for IPv6 on
    /// one NIC, or `ip=dhcp,auto6`), configured after `method`, with its own address and routes.
    public var otherFamily: Method? = nil
    /// Whether to wait for the carrier before the address. A static IPv4 address and its routes
    /// can be set on a link that has none (the kernel keeps the routes, marked linkdown, until
    /// it comes): a second path's NIC whose cable is out at boot is configured all the same.
    /// Only for a link named by `interface` (by name or MAC).
    public var waitsForCarrier = true

    public init(
        interface: Selector, method: Method, vlanID: UInt16? = nil, vlanName: String? = nil, hostName: String? = nil
    ) {
        self.interface = interface
        self.method = method
        self.vlanID = vlanID
        self.vlanName = vlanName
        self.hostName = hostName
    }
}

/// What `NetworkSetup.configure` did, for the boot log and the plan's later steps.
public struct ConfiguredInterface: Equatable, Sendable {
    public var name: String
    public var index: Int32
    public var macAddress: MACAddress?
    public var address: InterfaceAddress
    public var gateway: IPAddress?
    public var dnsServers: [IPAddress]
    public var mtu: UInt32
    /// Every route added (including the host route to the target, if one was needed).
    public var routes: [Route]
    /// The DHCP lease, with the root path (option 17), when the address came from DHCP.
    public var lease: DHCPLease?
    /// The DHCPv6 lease, with the boot-file URL (option 59), when the address came from DHCPv6.
    public var dhcpv6Lease: DHCPv6Lease? = nil
    /// Dual stack: the other family's address and gateway on the same link (its routes are in `routes`).
    public var otherFamilyAddress: InterfaceAddress? = nil
    public var otherFamilyGateway: IPAddress? = nil
    /// How long each step took, in order: "loopback", "find interface", "link up",
    /// "carrier", "vlan" (with a VLAN), "dhcp" (with DHCP), "link-local" and "dhcp6" (with DHCPv6), "address", "dad" (IPv6: until
    /// duplicate address detection is over), "routes".
    public var stepDurations: [StepDuration]

    /// The root path the DHCP server gave: option 17 of a DHCPv4 lease, or a DHCPv6 boot-file
    /// URL that names an `iscsi:` root.
    public var rootPath: String? { lease?.rootPath ?? dhcpv6Lease?.rootPath }

    /// ", fd00::15/64 via fd00::2" after the first family's address in the boot log, or "".
    public var otherFamilySummary: String {
        otherFamilyAddress.map { ", \($0)" + (otherFamilyGateway.map { " via \($0)" } ?? "") } ?? ""
    }
}

/// One step of the setup and its duration.
public struct StepDuration: Equatable, Sendable, CustomStringConvertible {
    public var step: String
    public var milliseconds: Int

    public var description: String { "\(step) \(milliseconds) ms" }
}

public enum NetworkSetup {
    /// Brings up `lo` and the configured interface, gives it its address (static or DHCP)
    /// and routes, and a host route to `targetAddress` when that is off-link and no route
    /// covers it. Safe to run again (existing addresses and routes are accepted).
    public static func configure(
        _ configuration: InterfaceConfiguration, targetAddress: String?, timeoutMilliseconds: Int
    ) throws(NetworkError) -> ConfiguredInterface {
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: timeoutMilliseconds)
        let target = try targetAddress.map { (text) throws(NetworkError) -> IPAddress in
            guard let address = IPAddress(text, allowingZone: true) else {
                throw .invalidConfiguration("target address \(text) is not a numeric IPv4 or IPv6 address")
            }
            return address
        }
        var steps = StepTimer()
        var netlink = try RouteNetlink()

        try bringUpLoopback(&netlink)
        steps.finish("loopback")

        var candidates =
            switch configuration.interface {
            case .name(let name): [try netlink.link(named: name)]
            case .macAddress(let address): [try netlink.link(macAddress: address)]
            case .firstWithCarrier: try ethernetLinks(&netlink)
            }
        steps.finish("find interface")
        for candidate in candidates {
            try netlink.perform(.setLinkUp(index: candidate.index), step: "bring \(candidate.name) up")
        }
        steps.finish("link up")
        var link: NetworkLink
        if !configuration.waitsForCarrier, configuration.interface != .firstWithCarrier, let named = candidates.first {
            link = named
        } else {
            link = try netlink.waitForCarrier(anyOf: candidates, deadline: deadline)
            steps.finish("carrier")
        }
        if let vlanID = configuration.vlanID {
            let vlan = try addVLAN(vlanID, on: link, name: configuration.vlanName, &netlink)
            try netlink.perform(.setLinkUp(index: vlan.index), step: "bring \(vlan.name) up")
            candidates = [vlan]
            link = try netlink.waitForCarrier(anyOf: candidates, deadline: deadline)
            steps.finish("vlan")
        }

        let first = try configureFamily(
            configuration.method, on: &link, configuration: configuration, target: target, &netlink, steps: &steps,
            deadline: deadline)
        var second: FamilyResult?
        if let other = configuration.otherFamily {
            second = try configureFamily(
                other, on: &link, configuration: configuration, target: target, &netlink, steps: &steps,
                deadline: deadline)
        }
        let routes = first.routes + (second?.routes ?? [])

        return ConfiguredInterface(
            name: link.name, index: link.index, macAddress: link.macAddress, address: first.addressing.address,
            gateway: first.addressing.gateway, dnsServers: first.addressing.dnsServers + (second?.addressing.dnsServers ?? []),
            mtu: link.mtu, routes: routes, lease: first.lease ?? second?.lease,
            dhcpv6Lease: first.dhcpv6Lease ?? second?.dhcpv6Lease, otherFamilyAddress: second?.addressing.address,
            otherFamilyGateway: second?.addressing.gateway, stepDurations: steps.durations)
    }

    /// What one address family's method gave the link.
    struct FamilyResult {
        var addressing: InterfaceConfiguration.StaticAddressing
        var lease: DHCPLease?
        var dhcpv6Lease: DHCPv6Lease?
        var routes: [Route]
    }

    /// One family's address on the link (static, DHCP, DHCPv6, SLAAC), waited for until usable,
    /// and its routes: the default route of its gateway and, when the target is of this family
    /// and off-link, a host route to it.
    static func configureFamily(
        _ method: InterfaceConfiguration.Method, on link: inout NetworkLink, configuration: InterfaceConfiguration,
        target: IPAddress?, _ netlink: inout RouteNetlink, steps: inout StepTimer, deadline: MonotonicInstant
    ) throws(NetworkError) -> FamilyResult {
        var target = target
        let addressing: InterfaceConfiguration.StaticAddressing
        var lease: DHCPLease?
        var dhcpv6Lease: DHCPv6Lease?
        var autoconfigured = false
        switch method {
        case .ipv6Autoconfiguration:
            // The kernel adds the address and the default route when the router's
            // advertisement arrives: both are there once an address is usable.
            let global = try netlink.waitForUsableAddress(
                on: link, deadline: deadline, what: "from router advertisements", matching: { $0.isGlobal })
            steps.finish("slaac")
            addressing = .init(address: global.address)
            autoconfigured = true
        case .ipv6LinkLocal:
            // The kernel adds fe80::/64 and its route when the link comes up; the address is
            // usable (not tentative, so a login may send from it) once DAD is over.
            let linkLocal = try netlink.waitForUsableAddress(
                on: link, deadline: deadline, what: "link-local (fe80::/10)", matching: { linkLocalAddress($0.address.address) != nil })
            steps.finish("dad")
            addressing = .init(address: linkLocal.address)
            autoconfigured = true
        case .manual(let manual):
            try validate(manual)
            addressing = manual
        case .dhcp:
            guard let macAddress = link.macAddress else {
                throw .invalidConfiguration("\(link.name) has no MAC address, which DHCP needs")
            }
            let client = DHCPClientConfiguration(hardwareAddress: macAddress, hostName: configuration.hostName)
            let acquired = try DHCPClient.acquireLease(on: link, configuration: client, deadline: deadline)
            steps.finish("dhcp")
            lease = acquired
            addressing = staticAddressing(from: acquired)
        case .dhcpv6:
            let acquired = try acquireDHCPv6Lease(on: link, &netlink, steps: &steps, deadline: deadline)
            dhcpv6Lease = acquired
            if target == nil, let server = acquired.rootPathServer { target = .v6(server) }
            addressing = dhcpv6Addressing(acquired)
        case .ipv6AutoconfigurationOrDHCPv6:
            // Router advertisements first; when none gives an address within the wait (no
            // router, or one that says "managed" without an autonomous prefix), DHCPv6.
            let advertisementDeadline = min(deadline, MonotonicInstant.now().advanced(byMilliseconds: routerAdvertisementWaitMilliseconds))
            do {
                let global = try netlink.waitForUsableAddress(
                    on: link, deadline: advertisementDeadline, what: "from router advertisements", matching: { $0.isGlobal })
                steps.finish("slaac")
                addressing = .init(address: global.address)
                autoconfigured = true
            } catch {
                guard case .addressNotUsable = error else { throw error }
                steps.finish("no router advertisement")
                let acquired = try acquireDHCPv6Lease(on: link, &netlink, steps: &steps, deadline: deadline)
                dhcpv6Lease = acquired
                if target == nil, let server = acquired.rootPathServer { target = .v6(server) }
                addressing = dhcpv6Addressing(acquired)
            }
        }
        if let mtu = addressing.mtu, mtu != link.mtu {
            try netlink.perform(.setMTU(index: link.index, mtu: mtu), step: "set the MTU of \(link.name) to \(mtu)")
            link.mtu = mtu
        }
        if !autoconfigured {
            try netlink.perform(
                .addAddress(addressing.address, index: link.index), step: "add address \(addressing.address) to \(link.name)")
            steps.finish("address")
            if case .v6 = addressing.address.address {
                let wanted = addressing.address.address
                _ = try netlink.waitForUsableAddress(
                    on: link, deadline: deadline, what: "\(addressing.address)", matching: { $0.address.address == wanted })
                steps.finish("dad")
            }
        }

        var routes = lease.map { leaseRoutes($0, address: addressing.address, interfaceIndex: link.index) } ?? []
        if lease == nil, !autoconfigured, let gateway = addressing.gateway {
            routes.append(
                .defaultRoute(
                    via: gateway, interfaceIndex: link.index, gatewayIsOnLink: !addressing.address.isOnLink(gateway)))
        }
        // Autoconfigured: the router's advertisement installed the routes in the kernel.
        if let target, !autoconfigured,
            let hostRoute = hostRoute(
                to: target, address: addressing.address, routes: routes, gateway: addressing.gateway, interfaceIndex: link.index)
        {
            routes.append(hostRoute)
        }
        for route in routes {
            try netlink.perform(.addRoute(route), step: "add route \(route) dev \(link.name)")
        }
        steps.finish("routes")

        return FamilyResult(addressing: addressing, lease: lease, dhcpv6Lease: dhcpv6Lease, routes: routes)
    }

    /// `lo` up with 127.0.0.1/8: in an initramfs nothing else does it, and the kernel adds
    /// the address by itself on most versions (then EEXIST is fine).
    static func bringUpLoopback(_ netlink: inout RouteNetlink) throws(NetworkError) {
        let loopback = try netlink.link(named: "lo")
        try netlink.perform(.setLinkUp(index: loopback.index), step: "bring lo up")
        let address = InterfaceAddress(.v4(.loopback), prefixLength: 8)
        try netlink.perform(.addAddress(address, index: loopback.index), step: "add address \(address) to lo")
    }

    /// Every link with a MAC address except loopback: the candidates when the plan names no
    /// interface (dracut's `ip=dhcp` takes the first one with carrier as well).
    static func ethernetLinks(_ netlink: inout RouteNetlink) throws(NetworkError) -> [NetworkLink] {
        let all = try netlink.links()
        let candidates = all.filter { $0.flags & UInt32(IFF_LOOPBACK) == 0 && $0.macAddress != nil }
        guard !candidates.isEmpty else {
            throw .noSuchInterface("with a MAC address", available: all.map({ $0.description }))
        }
        return candidates
    }

    /// Creates (or finds, when it exists already) `<parent>.<id>`, or `name`, on a parent that is up.
    static func addVLAN(_ vlanID: UInt16, on parent: NetworkLink, name: String? = nil, _ netlink: inout RouteNetlink)
        throws(NetworkError) -> NetworkLink
    {
        let name = name ?? "\(parent.name).\(vlanID)"
        // IEEE 802.1Q: 0 means "priority tag only" and 4095 is reserved.
        guard (1...4094).contains(vlanID) else {
            throw .invalidConfiguration("VLAN id \(vlanID) on \(parent.name) is outside 1-4094")
        }
        // IFNAMSIZ (16) includes the terminating NUL.
        guard name.utf8.count < 16 else {
            throw .invalidConfiguration("VLAN interface name \(name) is longer than the kernel's 15 characters")
        }
        try netlink.perform(
            .addVLAN(name: name, parentIndex: parent.index, vlanID: vlanID),
            step: "create VLAN \(vlanID) interface \(name) on \(parent.name)")
        return try netlink.link(named: name)
    }

    static func validate(_ manual: InterfaceConfiguration.StaticAddressing) throws(NetworkError) {
        let address = manual.address
        guard address.prefixLength <= address.address.maximumPrefixLength else {
            throw .invalidConfiguration("prefix length /\(address.prefixLength) of \(address.address) is too long")
        }
        if let gateway = manual.gateway, gateway.addressFamily != address.address.addressFamily {
            throw .invalidConfiguration("gateway \(gateway) is not of the same IP version as \(address.address)")
        }
    }

    /// How long `either6` waits for a router advertisement's address before it asks DHCPv6:
    /// the kernel solicits a router once its link-local address is usable (about 1 s) and
    /// again every 4 s (RFC 4861 §10), so this covers three solicitations.
    static let routerAdvertisementWaitMilliseconds = 10_000

    /// RFC 8415 §13.1: the client sends from its link-local address, usable once its DAD is over.
    static func acquireDHCPv6Lease(
        on link: NetworkLink, _ netlink: inout RouteNetlink, steps: inout StepTimer, deadline: MonotonicInstant
    ) throws(NetworkError) -> DHCPv6Lease {
        guard let macAddress = link.macAddress else {
            throw .invalidConfiguration("\(link.name) has no MAC address, which the DHCPv6 client's DUID needs")
        }
        let linkLocal = try netlink.waitForUsableAddress(
            on: link, deadline: deadline, what: "link-local (fe80::/10)", matching: { linkLocalAddress($0.address.address) != nil })
        steps.finish("link-local")
        guard let source = linkLocalAddress(linkLocal.address.address) else {
            throw .invalidConfiguration("\(link.name) has no IPv6 link-local address to send DHCPv6 from")
        }
        let acquired = try DHCPv6Client.acquireLease(
            on: link, from: source, configuration: DHCPv6ClientConfiguration(hardwareAddress: macAddress), deadline: deadline)
        steps.finish("dhcp6")
        return acquired
    }

    /// DHCPv6 leases an address, not a prefix (RFC 8415 §21.6 has no prefix length): it goes
    /// in as a /128, as systemd-networkd and dhcpcd add it. The on-link prefix and the default
    /// route come from router advertisements, which the kernel still takes; without one, the
    /// target gets a host route on the link.
    static func dhcpv6Addressing(_ lease: DHCPv6Lease) -> InterfaceConfiguration.StaticAddressing {
        .init(address: InterfaceAddress(.v6(lease.address), prefixLength: 128), dnsServers: lease.dnsServers.map { .v6($0) })
    }

    /// The address when it is IPv6 link-local (fe80::/10), the source DHCPv6 needs.
    static func linkLocalAddress(_ address: IPAddress) -> IPv6Address? {
        guard case .v6(let v6) = address, v6.bytes[0] == 0xFE, v6.bytes[1] & 0xC0 == 0x80 else { return nil }
        return v6
    }

    static func staticAddressing(from lease: DHCPLease) -> InterfaceConfiguration.StaticAddressing {
        InterfaceConfiguration.StaticAddressing(
            address: InterfaceAddress(.v4(lease.address), prefixLength: lease.prefixLength),
            gateway: lease.routes.first { $0.prefixLength == 0 }.map { .v4($0.router) } ?? lease.routers.first.map { .v4($0) },
            dnsServers: lease.dnsServers.map { .v4($0) },
            mtu: lease.mtu.map { UInt32($0) })
    }

    /// The lease's routes (RFC 3442 when given, else a default route via the first router);
    /// a router outside our subnet is marked on-link, as RFC 3442 routes may legitimately
    /// point at one, and router 0.0.0.0 means the destination itself is on the link.
    static func leaseRoutes(_ lease: DHCPLease, address: InterfaceAddress, interfaceIndex: Int32) -> [Route] {
        lease.routes.map { route in
            let router: IPAddress? = route.router == .any ? nil : .v4(route.router)
            return Route(
                destination: .v4(route.destination), prefixLength: route.prefixLength, gateway: router,
                interfaceIndex: interfaceIndex, gatewayIsOnLink: router.map { !address.isOnLink($0) } ?? false)
        }
    }

    /// A /32 (or /128) route to the target when it is neither on the link nor covered by
    /// another route: via the known gateway, or else straight on the link, which reaches a
    /// target in another subnet of the same segment and one behind a proxy-ARP router.
    static func hostRoute(
        to target: IPAddress, address: InterfaceAddress, routes: [Route], gateway: IPAddress?, interfaceIndex: Int32
    ) -> Route? {
        // A link-local target is on the link by definition: the kernel's fe80::/64 reaches it.
        guard target.addressFamily == address.address.addressFamily, !address.isOnLink(target),
            linkLocalAddress(target) == nil, !routes.contains(where: { $0.covers(target) })
        else { return nil }
        return Route(
            destination: target, prefixLength: target.maximumPrefixLength, gateway: gateway,
            interfaceIndex: interfaceIndex, gatewayIsOnLink: gateway.map { !address.isOnLink($0) } ?? false)
    }
}

/// Records how long each step took since the previous one.
struct StepTimer {
    private var last = MonotonicInstant.now()
    private(set) var durations: [StepDuration] = []

    mutating func finish(_ step: String) {
        let now = MonotonicInstant.now()
        durations.append(StepDuration(step: step, milliseconds: last.milliseconds(until: now)))
        last = now
    }
}
