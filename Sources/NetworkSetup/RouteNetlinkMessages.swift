import NetworkAddresses
import CShims

#if canImport(Glibc)
    import Glibc
#endif

/// The rtnetlink requests this module sends and the replies it reads, as pure byte values so
/// that each one can be compared with what `ip` sends (`strace -e sendmsg ip addr add …`).
///
/// Layouts are those of `<linux/netlink.h>` (`struct nlmsghdr`, `struct nlattr`),
/// `<linux/rtnetlink.h>` (`struct ifinfomsg`, `struct ifaddrmsg`, `struct rtmsg`) and
/// `<linux/if_link.h>`; integers are in host byte order, addresses in network byte order,
/// and every header and attribute starts on a 4-byte boundary (`NLMSG_ALIGN`, `RTA_ALIGN`).

/// One request to NETLINK_ROUTE.
public enum RouteNetlinkRequest: Equatable, Sendable {
    /// RTM_GETLINK with NLM_F_DUMP: every interface.
    case listLinks
    /// RTM_NEWLINK setting IFF_UP, as `ip link set DEV up`.
    case setLinkUp(index: Int32)
    /// RTM_NEWLINK with IFLA_MTU, as `ip link set DEV mtu N`.
    case setMTU(index: Int32, mtu: UInt32)
    /// RTM_NEWLINK creating an 802.1Q link, as `ip link add link PARENT name NAME type vlan id ID`.
    case addVLAN(name: String, parentIndex: Int32, vlanID: UInt16)
    /// RTM_NEWADDR, as `ip addr add ADDRESS/PREFIX brd + dev DEV`.
    case addAddress(InterfaceAddress, index: Int32)
    /// RTM_NEWROUTE, as `ip route add DESTINATION/PREFIX [via GATEWAY] dev DEV [onlink]`.
    case addRoute(Route)
    /// RTM_GETADDR with NLM_F_DUMP for one family (AF_INET6 …): every address with its flags.
    case listAddresses(family: UInt8)

    /// The whole netlink message with sequence number `sequence`. Every change asks for an
    /// acknowledgement (NLM_F_ACK) so that a refusal comes back as an errno we can name.
    public func encoded(sequence: UInt32) -> [UInt8] {
        var message = NetlinkMessageWriter()
        let create = UInt16(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
        switch self {
        case .listLinks:
            message.beginHeader(type: UInt16(RTM_GETLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_DUMP), sequence: sequence)
            message.appendInterfaceInfo(index: 0)
        case .setLinkUp(let index):
            message.beginHeader(type: UInt16(RTM_NEWLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK), sequence: sequence)
            // ifi_change names the flags to change, so the other flags stay as they are.
            message.appendInterfaceInfo(index: index, flags: UInt32(IFF_UP), change: UInt32(IFF_UP))
        case .setMTU(let index, let mtu):
            message.beginHeader(type: UInt16(RTM_NEWLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK), sequence: sequence)
            message.appendInterfaceInfo(index: index)
            message.appendAttribute(type: IFLA_MTU, nativeInteger: mtu)
        case .addVLAN(let name, let parentIndex, let vlanID):
            message.beginHeader(type: UInt16(RTM_NEWLINK), flags: create, sequence: sequence)
            message.appendInterfaceInfo(index: 0)
            message.appendAttribute(type: IFLA_LINK, nativeInteger: UInt32(bitPattern: parentIndex))
            message.appendAttribute(type: IFLA_IFNAME, Array(name.utf8) + [0])
            message.appendNestedAttribute(type: IFLA_LINKINFO) { linkInfo in
                // The kind is written without its NUL, as iproute2 does; the kernel accepts both.
                linkInfo.appendAttribute(type: IFLA_INFO_KIND, Array("vlan".utf8))
                linkInfo.appendNestedAttribute(type: IFLA_INFO_DATA) { vlan in
                    vlan.appendAttribute(type: IFLA_VLAN_ID, nativeInteger: vlanID)
                }
            }
        case .addAddress(let address, let index):
            message.beginHeader(type: UInt16(RTM_NEWADDR), flags: create, sequence: sequence)
            message.appendAddressInfo(address, index: index)
            // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer, which for a broadcast
            // link is the same address (`ip` sends both).
            message.appendAttribute(type: IFA_LOCAL, address.address.bytes)
            message.appendAttribute(type: IFA_ADDRESS, address.address.bytes)
            if let broadcast = address.broadcastAddress {
                message.appendAttribute(type: IFA_BROADCAST, broadcast.bytes)
            }
        case .addRoute(let route):
            message.beginHeader(type: UInt16(RTM_NEWROUTE), flags: create, sequence: sequence)
            message.appendRouteInfo(route)
            if route.prefixLength > 0 {
                message.appendAttribute(type: RTA_DST.rawValue, route.destination.bytes)
            }
            if let gateway = route.gateway {
                message.appendAttribute(type: RTA_GATEWAY.rawValue, gateway.bytes)
            }
            message.appendAttribute(type: RTA_OIF.rawValue, nativeInteger: UInt32(bitPattern: route.interfaceIndex))
        case .listAddresses(let family):
            message.beginHeader(type: UInt16(RTM_GETADDR), flags: UInt16(NLM_F_REQUEST | NLM_F_DUMP), sequence: sequence)
            message.appendRawBytes([family, 0, 0, 0, 0, 0, 0, 0])
        }
        return message.finished()
    }
}

/// An address with its prefix, to be added to an interface.
public struct InterfaceAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var prefixLength: UInt8

    public init(_ address: IPAddress, prefixLength: UInt8) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// The subnet's broadcast address for IPv4 (`brd +`); none for /31 and /32, which have
    /// no broadcast address (RFC 3021), nor for IPv6, which has no broadcast at all.
    public var broadcastAddress: IPv4Address? {
        guard case .v4(let address) = address, prefixLength < 31 else { return nil }
        return IPv4Address(address.value | ~IPv4Address.netmask(prefixLength: prefixLength).value)
    }

    /// Whether `other` is in this address's subnet, so reachable without a router.
    public func isOnLink(_ other: IPAddress) -> Bool {
        other.isWithin(address, prefixLength: prefixLength)
    }

    /// `10.0.2.15/24`
    public var description: String { "\(address)/\(prefixLength)" }
}

/// A route through one interface, optionally via a gateway.
public struct Route: Hashable, Sendable, CustomStringConvertible {
    public var destination: IPAddress
    public var prefixLength: UInt8
    /// Nil for a route to hosts on the link itself (scope link).
    public var gateway: IPAddress?
    public var interfaceIndex: Int32
    /// The gateway is reachable on this link although it is outside the interface's subnet
    /// (RTNH_F_ONLINK, `ip route add … onlink`), as RFC 3442 routes and iBFT may say.
    public var gatewayIsOnLink: Bool

    public init(
        destination: IPAddress, prefixLength: UInt8, gateway: IPAddress?, interfaceIndex: Int32,
        gatewayIsOnLink: Bool = false
    ) {
        self.destination = destination
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.interfaceIndex = interfaceIndex
        self.gatewayIsOnLink = gatewayIsOnLink
    }

    /// The default route (0.0.0.0/0 or ::/0) via `gateway`.
    public static func defaultRoute(via gateway: IPAddress, interfaceIndex: Int32, gatewayIsOnLink: Bool = false)
        -> Route
    {
        let anyAddress: IPAddress =
            switch gateway {
            case .v4: .v4(.any)
            case .v6: .v6(IPv6Address(bytes: [UInt8](repeating: 0, count: 16))!)
            }
        return Route(
            destination: anyAddress, prefixLength: 0, gateway: gateway, interfaceIndex: interfaceIndex,
            gatewayIsOnLink: gatewayIsOnLink)
    }

    /// Whether this route carries packets for `address`.
    public func covers(_ address: IPAddress) -> Bool {
        address.isWithin(destination, prefixLength: prefixLength)
    }

    /// `default via 10.0.2.2`, `192.0.2.0/24 via 10.0.2.1 onlink`, `192.0.2.7/32`
    public var description: String {
        let target = prefixLength == 0 ? "default" : "\(destination)/\(prefixLength)"
        guard let gateway else { return target }
        return "\(target) via \(gateway)" + (gatewayIsOnLink ? " onlink" : "")
    }
}

extension IPAddress {
    /// Whether the first `prefixLength` bits equal those of `network` (same family only).
    func isWithin(_ network: IPAddress, prefixLength: UInt8) -> Bool {
        let mine = bytes
        let theirs = network.bytes
        guard mine.count == theirs.count, Int(prefixLength) <= mine.count * 8 else { return false }
        for bit in 0..<Int(prefixLength) {
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if mine[bit / 8] & mask != theirs[bit / 8] & mask { return false }
        }
        return true
    }

    /// The rtnetlink family: AF_INET or AF_INET6.
    var addressFamily: UInt8 {
        switch self {
        case .v4: UInt8(AF_INET)
        case .v6: UInt8(AF_INET6)
        }
    }
}

/// One interface as RTM_NEWLINK describes it.
public struct NetworkLink: Equatable, Sendable, CustomStringConvertible {
    public var index: Int32
    public var name: String
    /// Nil for links without a hardware address (e.g. `lo` has zeros, a tun device none).
    public var macAddress: MACAddress?
    /// The `IFF_*` flags of `<net/if.h>`.
    public var flags: UInt32
    /// IFLA_CARRIER when the kernel sends it, else IFF_LOWER_UP (RFC 2863 "lower layer up").
    public var hasCarrier: Bool
    public var mtu: UInt32

    public var isUp: Bool { flags & UInt32(IFF_UP) != 0 }

    /// IFF_LOWER_UP of `<linux/if.h>` (not in glibc's `<net/if.h>`): the driver sees a carrier.
    static let lowerUpFlag: UInt32 = 1 << 16

    /// Reads the `ifinfomsg` and attributes of an RTM_NEWLINK message; nil when it is too short.
    public init?(payload: ArraySlice<UInt8>) {
        guard let index = payload.nativeInteger(Int32.self, at: 4),
            let flags = payload.nativeInteger(UInt32.self, at: 8),
            let attributes = NetlinkAttributes(payload.dropFirst(16))
        else { return nil }
        self.index = index
        self.flags = flags
        name = attributes[IFLA_IFNAME].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } ?? ""
        macAddress = attributes[IFLA_ADDRESS].flatMap { MACAddress(bytes: $0) }
        mtu = attributes[IFLA_MTU]?.nativeInteger(UInt32.self, at: 0) ?? 0
        if let carrier = attributes[IFLA_CARRIER]?.first {
            hasCarrier = carrier != 0
        } else {
            hasCarrier = flags & NetworkLink.lowerUpFlag != 0
        }
    }

    public init(index: Int32, name: String, macAddress: MACAddress?, flags: UInt32, hasCarrier: Bool, mtu: UInt32) {
        self.index = index
        self.name = name
        self.macAddress = macAddress
        self.flags = flags
        self.hasCarrier = hasCarrier
        self.mtu = mtu
    }

    /// `eth0 (index 2, 52:54:00:12:34:56, up, carrier, mtu 1500)`
    public var description: String {
        var parts = ["index \(index)"]
        if let macAddress { parts.append(macAddress.description) }
        parts.append(isUp ? "up" : "down")
        parts.append(hasCarrier ? "carrier" : "no carrier")
        parts.append("mtu \(mtu)")
        return "\(name) (\(parts.joined(separator: ", ")))"
    }
}

/// One address as RTM_NEWADDR describes it, with the flags that say whether it can be used.
public struct LinkAddress: Equatable, Sendable, CustomStringConvertible {
    public var address: InterfaceAddress
    public var interfaceIndex: Int32
    /// The `IFA_F_*` flags of `<linux/if_addr.h>`: IFA_FLAGS (32 bits) when the kernel sends
    /// it, else `ifa_flags` (8 bits).
    public var flags: UInt32
    /// `ifa_scope`: RT_SCOPE_UNIVERSE (0) for a global address, RT_SCOPE_LINK (253) for fe80::/10.
    public var scope: UInt8

    /// IFA_F_TENTATIVE: duplicate address detection (RFC 4862 §5.4) has not finished; the
    /// kernel refuses to bind a connection to it.
    public static let tentativeFlag: UInt32 = 0x40
    /// IFA_F_DADFAILED: another node on the link uses this address.
    public static let dadFailedFlag: UInt32 = 0x08

    public var isTentative: Bool { flags & Self.tentativeFlag != 0 }
    public var dadFailed: Bool { flags & Self.dadFailedFlag != 0 }
    public var isGlobal: Bool { scope == UInt8(RT_SCOPE_UNIVERSE.rawValue) }

    /// Reads the `ifaddrmsg` and attributes of an RTM_NEWADDR message; nil when it is too
    /// short or names an address of neither family.
    public init?(payload: ArraySlice<UInt8>) {
        guard payload.count >= 8, let index = payload.nativeInteger(Int32.self, at: 4),
            let attributes = NetlinkAttributes(payload.dropFirst(8))
        else { return nil }
        let start = payload.startIndex
        let family = payload[start]
        let prefixLength = payload[start + 1]
        // IFA_LOCAL is the address itself on point-to-point links; IFA_ADDRESS elsewhere.
        guard let raw = attributes[IFA_LOCAL] ?? attributes[IFA_ADDRESS] else { return nil }
        let address: IPAddress
        if family == UInt8(AF_INET6), raw.count == 16, let v6 = IPv6Address(bytes: Array(raw)) {
            address = .v6(v6)
        } else if family == UInt8(AF_INET), raw.count == 4, let v4 = IPAddress(raw.map(String.init).joined(separator: ".")) {
            address = v4
        } else {
            return nil
        }
        self.address = InterfaceAddress(address, prefixLength: prefixLength)
        interfaceIndex = index
        flags = attributes[IFA_FLAGS]?.nativeInteger(UInt32.self, at: 0) ?? UInt32(payload[start + 2])
        scope = payload[start + 3]
    }

    public init(address: InterfaceAddress, interfaceIndex: Int32, flags: UInt32, scope: UInt8) {
        self.address = address
        self.interfaceIndex = interfaceIndex
        self.flags = flags
        self.scope = scope
    }

    /// `fd00::15/64 (index 2, tentative)`
    public var description: String {
        var parts = ["index \(interfaceIndex)"]
        if isTentative { parts.append("tentative") }
        if dadFailed { parts.append("duplicate") }
        return "\(address) (\(parts.joined(separator: ", ")))"
    }
}

/// One message of a netlink datagram (`struct nlmsghdr` and what follows it).
public struct NetlinkMessage: Equatable, Sendable {
    public var type: UInt16
    public var flags: UInt16
    public var sequence: UInt32
    public var payload: ArraySlice<UInt8>

    /// The errno of an NLMSG_ERROR (0 for an acknowledgement, positive otherwise); nil for
    /// any other type or a payload too short to hold `struct nlmsgerr`'s error.
    public var acknowledgementError: Int32? {
        guard type == UInt16(NLMSG_ERROR), let error = payload.nativeInteger(Int32.self, at: 0) else { return nil }
        return error == Int32.min ? Int32.max : -error
    }

    /// Splits a datagram into its messages; nil when a length is shorter than a header or runs
    /// past the datagram (the kernel never sends that, but we do not trap if it did).
    public static func messages(in datagram: [UInt8]) -> [NetlinkMessage]? {
        var messages: [NetlinkMessage] = []
        var offset = 0
        let bytes = datagram[...]
        while offset + 16 <= bytes.count {
            guard let length = bytes.nativeInteger(UInt32.self, at: offset).map(Int.init),
                length >= 16, offset + length <= bytes.count,
                let type = bytes.nativeInteger(UInt16.self, at: offset + 4),
                let flags = bytes.nativeInteger(UInt16.self, at: offset + 6),
                let sequence = bytes.nativeInteger(UInt32.self, at: offset + 8)
            else { return nil }
            messages.append(
                NetlinkMessage(
                    type: type, flags: flags, sequence: sequence,
                    payload: bytes[(offset + 16)..<(offset + length)]))
            offset += alignedToFour(length)
        }
        return messages
    }
}

/// The attributes after a fixed header, by type (the nested flag bit cleared); the last one
/// wins if a type repeats. Nil when an attribute's length is impossible.
struct NetlinkAttributes {
    private var values: [UInt16: ArraySlice<UInt8>] = [:]

    /// NLA_TYPE_MASK of `<linux/netlink.h>`: the type without NLA_F_NESTED (bit 15) and
    /// NLA_F_NET_BYTEORDER (bit 14); a macro expression Swift does not import.
    static let typeMask: UInt16 = 0x3FFF

    init?(_ bytes: ArraySlice<UInt8>) {
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            guard let length = bytes.nativeInteger(UInt16.self, at: offset - bytes.startIndex).map(Int.init),
                let type = bytes.nativeInteger(UInt16.self, at: offset - bytes.startIndex + 2),
                length >= 4, offset + length <= bytes.endIndex
            else { return nil }
            values[type & Self.typeMask] = bytes[(offset + 4)..<(offset + length)]
            offset += alignedToFour(length)
        }
    }

    subscript(type: some BinaryInteger) -> ArraySlice<UInt8>? { values[UInt16(type)] }
}

/// Builds one netlink message: the header, a fixed family header, then attributes.
struct NetlinkMessageWriter {
    private var bytes: [UInt8] = []

    mutating func beginHeader(type: UInt16, flags: UInt16, sequence: UInt32) {
        appendNative(UInt32(0))  // nlmsg_len, filled in by `finished`
        appendNative(type)
        appendNative(flags)
        appendNative(sequence)
        appendNative(UInt32(0))  // nlmsg_pid: 0 lets the kernel fill in our port
    }

    /// `struct ifinfomsg`: family AF_UNSPEC, type, index, flags, change.
    mutating func appendInterfaceInfo(index: Int32, flags: UInt32 = 0, change: UInt32 = 0) {
        bytes += [UInt8(AF_UNSPEC), 0]
        appendNative(UInt16(0))
        appendNative(index)
        appendNative(flags)
        appendNative(change)
    }

    /// `struct ifaddrmsg`: family, prefix length, flags, scope (universe), index.
    mutating func appendAddressInfo(_ address: InterfaceAddress, index: Int32) {
        bytes += [address.address.addressFamily, address.prefixLength, 0, UInt8(RT_SCOPE_UNIVERSE.rawValue)]
        appendNative(UInt32(bitPattern: index))
    }

    /// `struct rtmsg`: the main table, protocol "boot" (installed during boot), scope link for
    /// a route without gateway and universe otherwise, type unicast — as `ip route add` sends.
    mutating func appendRouteInfo(_ route: Route) {
        let scope = route.gateway == nil ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE
        bytes += [route.destination.addressFamily, route.prefixLength, 0, 0]
        bytes += [UInt8(RT_TABLE_MAIN.rawValue), UInt8(RTPROT_BOOT), UInt8(scope.rawValue), UInt8(RTN_UNICAST)]
        appendNative(route.gatewayIsOnLink ? UInt32(RTNH_F_ONLINK) : 0)
    }

    mutating func appendAttribute(type: some BinaryInteger, _ payload: [UInt8]) {
        appendNative(UInt16(4 + payload.count))
        appendNative(UInt16(type))
        bytes += payload
        padToFour()
    }

    mutating func appendAttribute(type: some BinaryInteger, nativeInteger: some FixedWidthInteger) {
        appendAttribute(type: type, withUnsafeBytes(of: nativeInteger) { Array($0) })
    }

    /// An attribute whose payload is more attributes (NLA_F_NESTED is not set, as iproute2
    /// does not set it for IFLA_LINKINFO either).
    mutating func appendNestedAttribute(type: some BinaryInteger, _ body: (inout NetlinkMessageWriter) -> Void) {
        var nested = NetlinkMessageWriter()
        body(&nested)
        appendAttribute(type: type, nested.bytes)
    }

    /// The message with `nlmsg_len` set.
    func finished() -> [UInt8] {
        var message = bytes
        withUnsafeBytes(of: UInt32(message.count)) { length in
            for (offset, byte) in length.enumerated() { message[offset] = byte }
        }
        return message
    }

    /// A fixed header given as bytes (`struct ifaddrmsg` of a dump request: only the family).
    mutating func appendRawBytes(_ raw: [UInt8]) {
        bytes += raw
    }

    private mutating func appendNative(_ value: some FixedWidthInteger) {
        withUnsafeBytes(of: value) { bytes += $0 }
    }

    private mutating func padToFour() {
        bytes += [UInt8](repeating: 0, count: alignedToFour(bytes.count) - bytes.count)
    }
}

/// NLMSG_ALIGN / NLA_ALIGN: rounded up to a multiple of 4.
func alignedToFour(_ length: Int) -> Int { (length + 3) & ~3 }

extension ArraySlice<UInt8> {
    /// The host-order integer at `offset` from the start of the slice, or nil past its end.
    func nativeInteger<Integer: FixedWidthInteger>(_: Integer.Type, at offset: Int) -> Integer? {
        let size = MemoryLayout<Integer>.size
        guard offset >= 0, offset + size <= count else { return nil }
        return withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Integer.self) }
    }
}
