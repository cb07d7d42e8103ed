import Testing

@testable import NetworkSetup

/// Byte vectors for each rtnetlink request, checked against what iproute2 sends for the same
/// command (`strace -e trace=sendmsg ip …`, iproute2 6.1 on Linux 6.1): the same message
/// length, header, fixed part and attribute order. Integers are little-endian (x86-64 host
/// order); iproute2's sequence number is replaced by 1.
@Suite struct RouteNetlinkMessageTests {
    /// RTM_NEWADDR = 20, flags REQUEST|ACK|EXCL|CREATE = 0x605, sequence 1, port 0.
    @Test func addressMatchesIPAddrAddWithBroadcast() {
        let request = RouteNetlinkRequest.addAddress(InterfaceAddress(.v4(IPv4Address(10, 0, 2, 15)), prefixLength: 24), index: 3)
        // ip addr add 10.0.2.15/24 brd + dev va  →  nlmsg_len=48
        let expected: [UInt8] = [
            48, 0, 0, 0, 20, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
            2, 24, 0, 0, 3, 0, 0, 0,  // ifaddrmsg: AF_INET, /24, flags 0, scope universe, index 3
            8, 0, 2, 0, 10, 0, 2, 15,  // IFA_LOCAL
            8, 0, 1, 0, 10, 0, 2, 15,  // IFA_ADDRESS
            8, 0, 4, 0, 10, 0, 2, 255,  // IFA_BROADCAST
        ]
        #expect(request.encoded(sequence: 1) == expected)
    }

    @Test func ipv6AddressHasNoBroadcast() throws {
        let address = try #require(IPv6Address("2001:db8::5"))
        let bytes = RouteNetlinkRequest.addAddress(InterfaceAddress(.v6(address), prefixLength: 64), index: 3)
            .encoded(sequence: 1)
        // ip addr add 2001:db8::5/64 dev va  →  nlmsg_len=64, IFA_LOCAL and IFA_ADDRESS of 20 bytes
        #expect(bytes.count == 64)
        #expect(Array(bytes[16..<24]) == [10, 64, 0, 0, 3, 0, 0, 0])
        #expect(Array(bytes[24..<28]) == [20, 0, 2, 0])
        #expect(Array(bytes[28..<44]) == address.bytes)
        #expect(Array(bytes[44..<48]) == [20, 0, 1, 0])
    }

    @Test func defaultRouteMatchesIPRouteAdd() {
        let route = Route.defaultRoute(via: .v4(IPv4Address(10, 0, 2, 2)), interfaceIndex: 3)
        // ip route add default via 10.0.2.2 dev va  →  nlmsg_len=44, RTM_NEWROUTE = 24
        let expected: [UInt8] = [
            44, 0, 0, 0, 24, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
            // rtmsg: AF_INET, dst_len 0, src_len 0, tos 0, RT_TABLE_MAIN, RTPROT_BOOT,
            // RT_SCOPE_UNIVERSE, RTN_UNICAST, flags 0
            2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0,
            8, 0, 5, 0, 10, 0, 2, 2,  // RTA_GATEWAY
            8, 0, 4, 0, 3, 0, 0, 0,  // RTA_OIF
        ]
        #expect(RouteNetlinkRequest.addRoute(route).encoded(sequence: 1) == expected)
    }

    @Test func onLinkHostRouteHasDestinationAndLinkScope() {
        let route = Route(destination: .v4(IPv4Address(192, 0, 2, 7)), prefixLength: 32, gateway: nil, interfaceIndex: 3)
        // ip route add 192.0.2.7/32 dev va  →  scope link, RTA_DST then RTA_OIF
        let expected: [UInt8] = [
            44, 0, 0, 0, 24, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
            2, 32, 0, 0, 254, 3, 253, 1, 0, 0, 0, 0,
            8, 0, 1, 0, 192, 0, 2, 7,  // RTA_DST
            8, 0, 4, 0, 3, 0, 0, 0,  // RTA_OIF
        ]
        #expect(RouteNetlinkRequest.addRoute(route).encoded(sequence: 1) == expected)
    }

    @Test func onLinkGatewaySetsRTNHFlagOnLink() {
        let route = Route.defaultRoute(via: .v4(IPv4Address(192, 0, 2, 1)), interfaceIndex: 3, gatewayIsOnLink: true)
        let bytes = RouteNetlinkRequest.addRoute(route).encoded(sequence: 1)
        #expect(Array(bytes[24..<28]) == [4, 0, 0, 0])  // RTNH_F_ONLINK
    }

    @Test func linkUpChangesOnlyTheUpFlag() {
        // ip link set va up (without the mtu iproute2 adds when asked): RTM_NEWLINK = 16,
        // flags REQUEST|ACK, ifi_flags = ifi_change = IFF_UP
        let expected: [UInt8] = [
            32, 0, 0, 0, 16, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
        ]
        #expect(RouteNetlinkRequest.setLinkUp(index: 3).encoded(sequence: 7) == expected)
    }

    @Test func mtuIsAnIFLAMTUAttribute() {
        let bytes = RouteNetlinkRequest.setMTU(index: 3, mtu: 1400).encoded(sequence: 1)
        #expect(bytes.count == 40)
        #expect(Array(bytes[32..<40]) == [8, 0, 4, 0, 0x78, 0x05, 0, 0])
    }

    @Test func vlanMatchesIPLinkAddTypeVLAN() {
        // ip link add link va name va.100 type vlan id 100  →  nlmsg_len=76
        let expected: [UInt8] = [
            76, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // ifinfomsg, index 0
            8, 0, 5, 0, 3, 0, 0, 0,  // IFLA_LINK 3
            11, 0, 3, 0, 0x76, 0x61, 0x2E, 0x31, 0x30, 0x30, 0, 0,  // IFLA_IFNAME "va.100\0" + pad
            24, 0, 18, 0,  // IFLA_LINKINFO
            8, 0, 1, 0, 0x76, 0x6C, 0x61, 0x6E,  // IFLA_INFO_KIND "vlan"
            12, 0, 2, 0, 6, 0, 1, 0, 100, 0, 0, 0,  // IFLA_INFO_DATA { IFLA_VLAN_ID 100 }
        ]
        #expect(RouteNetlinkRequest.addVLAN(name: "va.100", parentIndex: 3, vlanID: 100).encoded(sequence: 1) == expected)
    }

    /// RTM_GETADDR = 22 with REQUEST|DUMP = 0x301 and an `ifaddrmsg` naming only the family,
    /// as `ip -6 addr show` sends it.
    @Test func addressDumpNamesOnlyTheFamily() {
        let expected: [UInt8] = [
            24, 0, 0, 0, 22, 0, 0x01, 0x03, 1, 0, 0, 0, 0, 0, 0, 0,
            10, 0, 0, 0, 0, 0, 0, 0,  // ifaddrmsg: AF_INET6, the rest zero
        ]
        #expect(RouteNetlinkRequest.listAddresses(family: 10).encoded(sequence: 1) == expected)
    }

    @Test func everyRequestIsFourByteAligned() {
        let requests: [RouteNetlinkRequest] = [
            .listLinks, .setLinkUp(index: 2), .setMTU(index: 2, mtu: 9000),
            .addVLAN(name: "enp0s31f6.4094", parentIndex: 2, vlanID: 4094),
            .addAddress(InterfaceAddress(.v4(.loopback), prefixLength: 8), index: 1),
        ]
        for request in requests {
            let bytes = request.encoded(sequence: 9)
            #expect(bytes.count % 4 == 0)
            #expect(Int(bytes[0]) | Int(bytes[1]) << 8 == bytes.count)
        }
    }

    // MARK: Replies

    /// An RTM_NEWLINK as the kernel sends it for a veth: name, MAC, MTU, carrier.
    static func linkMessage(index: Int32, name: String, carrier: UInt8, flags: UInt32 = 0x1043) -> [UInt8] {
        var payload: [UInt8] = [0, 0, 1, 0]
        payload += withUnsafeBytes(of: index) { Array($0) }
        payload += withUnsafeBytes(of: flags) { Array($0) }
        payload += [0, 0, 0, 0]
        let nameBytes = Array(name.utf8) + [0]
        payload += [UInt8(4 + nameBytes.count), 0, 3, 0] + nameBytes
        payload += [UInt8](repeating: 0, count: (4 - nameBytes.count % 4) % 4)
        payload += [10, 0, 1, 0, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0, 0]  // IFLA_ADDRESS
        payload += [8, 0, 4, 0, 0xDC, 0x05, 0, 0]  // IFLA_MTU 1500
        payload += [5, 0, 33, 0, carrier, 0, 0, 0]  // IFLA_CARRIER
        let length = UInt32(16 + payload.count)
        return withUnsafeBytes(of: length) { Array($0) } + [16, 0, 2, 0, 5, 0, 0, 0, 0, 0, 0, 0] + payload
    }

    @Test func parsesALinkWithCarrier() throws {
        let messages = try #require(NetlinkMessage.messages(in: Self.linkMessage(index: 2, name: "eth0", carrier: 1)))
        #expect(messages.count == 1)
        #expect(messages[0].sequence == 5)
        let link = try #require(NetworkLink(payload: messages[0].payload))
        #expect(link.index == 2)
        #expect(link.name == "eth0")
        #expect(link.macAddress == MACAddress("52:54:00:12:34:56"))
        #expect(link.mtu == 1500)
        #expect(link.isUp)
        #expect(link.hasCarrier)
        #expect(link.description == "eth0 (index 2, 52:54:00:12:34:56, up, carrier, mtu 1500)")
    }

    @Test func carrierAttributeWinsOverLowerUp() throws {
        let bytes = Self.linkMessage(index: 2, name: "eth0", carrier: 0, flags: 0x1_0043)
        let link = try #require(NetlinkMessage.messages(in: bytes)?.first.flatMap { NetworkLink(payload: $0.payload) })
        #expect(!link.hasCarrier)
    }

    @Test func errorMessageCarriesThePositiveErrno() throws {
        // NLMSG_ERROR (2) with error -17 (EEXIST), then the start of the original header.
        let datagram: [UInt8] =
            [36, 0, 0, 0, 2, 0, 0, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0xEF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 16)
        let message = try #require(NetlinkMessage.messages(in: datagram)?.first)
        #expect(message.sequence == 9)
        #expect(message.acknowledgementError == 17)
        #expect(
            NetworkError.refusedByKernel(step: "add address 10.0.2.15/24 to eth0", code: 17).description
                == "add address 10.0.2.15/24 to eth0: File exists")
    }

    @Test func twoMessagesInOneDatagram() throws {
        let both = Self.linkMessage(index: 1, name: "lo", carrier: 1) + Self.linkMessage(index: 2, name: "eth0", carrier: 0)
        let names = try #require(NetlinkMessage.messages(in: both)).compactMap { NetworkLink(payload: $0.payload)?.name }
        #expect(names == ["lo", "eth0"])
    }

    @Test(arguments: [
        [UInt8](repeating: 0, count: 16),  // length 0 < header
        [200, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  // length past the datagram
    ])
    func malformedDatagramsAreRejected(datagram: [UInt8]) {
        #expect(NetlinkMessage.messages(in: datagram) == nil)
    }

    /// An RTM_NEWADDR (20) for fd00::15/64 on index 2 with `ifa_flags` FLAGS8 and, when
    /// given, IFA_FLAGS (8) FLAGS32, as the kernel dumps it.
    static func addressMessage(flags8: UInt8, flags32: UInt32?, scope: UInt8 = 0) -> [UInt8] {
        var payload: [UInt8] = [10, 64, flags8, scope, 2, 0, 0, 0]
        let address: [UInt8] = [0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x15]
        payload += [20, 0, 1, 0] + address  // IFA_ADDRESS
        if let flags32 { payload += [8, 0, 8, 0] + withUnsafeBytes(of: flags32) { Array($0) } }
        let length = UInt32(16 + payload.count)
        return withUnsafeBytes(of: length) { Array($0) } + [20, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0] + payload
    }

    @Test func tentativeAddressFromIFAFlags() throws {
        // The 32-bit IFA_FLAGS wins over the 8-bit field, which newer flags do not fit in.
        let message = try #require(NetlinkMessage.messages(in: Self.addressMessage(flags8: 0, flags32: 0x40))?.first)
        let address = try #require(LinkAddress(payload: message.payload))
        #expect(address.address.description == "fd00::15/64")
        #expect(address.interfaceIndex == 2)
        #expect(address.isTentative && !address.dadFailed && address.isGlobal)
        #expect(address.description == "fd00::15/64 (index 2, tentative)")
    }

    /// Without IFA_FLAGS: tentative (0x40) and DAD failed (0x08) from `ifa_flags`, the scope
    /// from `ifa_scope` (253: link).
    @Test(arguments: [(UInt8(0x48), UInt8(253)), (UInt8(0x00), UInt8(0)), (UInt8(0x40), UInt8(0))])
    func flagsFromTheFixedHeaderWithoutIFAFlags(flags8: UInt8, scope: UInt8) throws {
        let bytes = Self.addressMessage(flags8: flags8, flags32: nil, scope: scope)
        let address = try #require(NetlinkMessage.messages(in: bytes)?.first.flatMap { LinkAddress(payload: $0.payload) })
        #expect(address.isTentative == (flags8 & 0x40 != 0))
        #expect(address.dadFailed == (flags8 & 0x08 != 0))
        #expect(address.isGlobal == (scope == 0))
    }

    @Test func anAddressMessageWithoutAnAddressIsIgnored() {
        let header: [UInt8] = [24, 0, 0, 0, 20, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 10, 64, 0, 0, 2, 0, 0, 0]
        #expect(NetlinkMessage.messages(in: header)?.first.flatMap { LinkAddress(payload: $0.payload) } == nil)
    }

    @Test func anAttributeRunningPastItsMessageIsRejected() {
        var bytes = Self.linkMessage(index: 2, name: "eth0", carrier: 1)
        bytes[32] = 200  // IFLA_IFNAME's length
        let message = NetlinkMessage.messages(in: bytes)?.first
        #expect(message != nil)
        #expect(message.flatMap { NetworkLink(payload: $0.payload) } == nil)
    }
}

@Suite struct AddressTests {
    @Test func parsesAndPrintsAddresses() throws {
        #expect(IPv4Address("10.0.2.15")?.value == 0x0A00_020F)
        #expect(IPv4Address("10.0.2") == nil)
        #expect(IPv4Address("256.0.0.1") == nil)
        #expect(IPv6Address("2001:db8::5")?.description == "2001:db8::5")
        #expect(IPv6Address("::")?.description == "::")
        #expect(IPv6Address("fe80:0:0:0:1:0:0:1")?.description == "fe80::1:0:0:1")
        #expect(IPv6Address("1::2::3") == nil)
        #expect(MACAddress("52-54-00-AB-cd-EF")?.description == "52:54:00:ab:cd:ef")
        #expect(MACAddress("52:54:00:ab:cd") == nil)
        #expect(IPv4Address(255, 255, 255, 0).prefixLengthOfNetmask == 24)
        #expect(IPv4Address(255, 0, 255, 0).prefixLengthOfNetmask == nil)
    }

    @Test func onLinkAndCoverage() {
        let address = InterfaceAddress(.v4(IPv4Address(10, 0, 2, 15)), prefixLength: 24)
        #expect(address.isOnLink(.v4(IPv4Address(10, 0, 2, 200))))
        #expect(!address.isOnLink(.v4(IPv4Address(10, 0, 3, 1))))
        #expect(address.broadcastAddress == IPv4Address(10, 0, 2, 255))
        let route = Route.defaultRoute(via: .v4(IPv4Address(10, 0, 2, 2)), interfaceIndex: 2)
        #expect(route.covers(.v4(IPv4Address(192, 0, 2, 1))))
        #expect(route.description == "default via 10.0.2.2")
    }

    @Test func hostRouteOnlyWhenNothingCoversTheTarget() {
        let address = InterfaceAddress(.v4(IPv4Address(10, 0, 2, 15)), prefixLength: 24)
        let target = IPAddress.v4(IPv4Address(192, 0, 2, 10))
        let gateway = IPAddress.v4(IPv4Address(10, 0, 2, 1))
        let viaGateway = NetworkSetup.hostRoute(to: target, address: address, routes: [], gateway: gateway, interfaceIndex: 2)
        #expect(viaGateway?.description == "192.0.2.10/32 via 10.0.2.1")
        let onLink = NetworkSetup.hostRoute(to: target, address: address, routes: [], gateway: nil, interfaceIndex: 2)
        #expect(onLink?.description == "192.0.2.10/32")
        let covered = Route.defaultRoute(via: gateway, interfaceIndex: 2)
        #expect(NetworkSetup.hostRoute(to: target, address: address, routes: [covered], gateway: gateway, interfaceIndex: 2) == nil)
        #expect(
            NetworkSetup.hostRoute(to: .v4(IPv4Address(10, 0, 2, 9)), address: address, routes: [], gateway: gateway, interfaceIndex: 2)
                == nil)
    }

    /// A link-local portal (an iBFT target's, with a global static address) gets no host
    /// route via the gateway: the kernel's fe80::/64 on the link reaches it.
    @Test func noHostRouteToALinkLocalTarget() throws {
        let address = InterfaceAddress(.v6(try #require(IPv6Address("2001:db8::15"))), prefixLength: 64)
        let gateway = IPAddress.v6(try #require(IPv6Address("2001:db8::1")))
        for text in ["fe80::2", "fe80::2%eth0"] {
            let target = try #require(IPAddress(text, allowingZone: true))
            #expect(NetworkSetup.hostRoute(to: target, address: address, routes: [], gateway: gateway, interfaceIndex: 2) == nil)
        }
        let global = IPAddress.v6(try #require(IPv6Address("2001:db9::2")))
        #expect(NetworkSetup.hostRoute(to: global, address: address, routes: [], gateway: gateway, interfaceIndex: 2) != nil)
    }
}
