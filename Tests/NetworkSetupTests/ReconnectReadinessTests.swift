import Testing

@testable import NetworkSetup

/// When a reconnect may go out, and which interface a connection left from: the decisions
/// over what rtnetlink lists, with the flags the kernel sets (IFF_UP, carrier, IFA_F_*).
@Suite struct ReconnectReadinessTests {
    static let up = UInt32(1)  // IFF_UP
    static let eth0 = NetworkLink(index: 2, name: "eth0", macAddress: nil, flags: up, hasCarrier: true, mtu: 1500)
    static let eth1 = NetworkLink(index: 3, name: "eth1", macAddress: nil, flags: up, hasCarrier: true, mtu: 1500)

    static func address(_ text: String, prefix: UInt8, on link: NetworkLink, flags: UInt32 = 0) -> LinkAddress {
        let address = IPAddress(text)!
        let linkLocal = if case .v6(let v6) = address { v6.isLinkLocal } else { false }
        return LinkAddress(
            address: InterfaceAddress(address, prefixLength: prefix), interfaceIndex: link.index, flags: flags,
            scope: linkLocal ? 253 : 0)
    }

    static let ipv4Portal = IPAddress("10.0.2.2")!
    static let ipv6Portal = IPAddress("fd00:10:2::2")!
    static let linkLocalPortal = IPAddress("fe80::2")!

    @Test func anUpLinkWithAnAddressOfThePortalsFamilyIsReady() {
        let addresses = [Self.address("10.0.2.15", prefix: 24, on: Self.eth0)]
        #expect(ReconnectReadiness.obstacle(on: Self.eth0, bootName: "eth0", addresses: addresses, toward: Self.ipv4Portal) == nil)
    }

    @Test func aGoneDownOrUnpluggedLinkIsNamed() {
        let addresses = [Self.address("10.0.2.15", prefix: 24, on: Self.eth0)]
        #expect(
            ReconnectReadiness.obstacle(on: nil, bootName: "eth0", addresses: addresses, toward: Self.ipv4Portal)
                == "the boot's interface eth0 is gone")
        var down = Self.eth0
        down.flags = 0
        #expect(
            ReconnectReadiness.obstacle(on: down, bootName: "eth0", addresses: addresses, toward: Self.ipv4Portal)
                == "eth0 is down (administratively)")
        var unplugged = Self.eth0
        unplugged.hasCarrier = false
        #expect(
            ReconnectReadiness.obstacle(on: unplugged, bootName: "eth0", addresses: addresses, toward: Self.ipv4Portal)?
                .hasPrefix("eth0 has no carrier") == true)
    }

    @Test func anAddressOnAnotherInterfaceOrOfAnotherFamilyDoesNotCount() {
        let addresses = [
            Self.address("10.0.3.15", prefix: 24, on: Self.eth1),
            Self.address("fd00:10:2::15", prefix: 64, on: Self.eth0),
        ]
        #expect(
            ReconnectReadiness.obstacle(on: Self.eth0, bootName: "eth0", addresses: addresses, toward: Self.ipv4Portal)
                == "eth0 has no IPv4 address")
    }

    @Test func aTentativeAddressWaitsForDuplicateAddressDetection() {
        let tentative = [Self.address("fd00:10:2::15", prefix: 64, on: Self.eth0, flags: LinkAddress.tentativeFlag)]
        #expect(
            ReconnectReadiness.obstacle(on: Self.eth0, bootName: "eth0", addresses: tentative, toward: Self.ipv6Portal)
                == "eth0's address fd00:10:2::15 is still tentative (duplicate address detection)")
        let failed = [Self.address("fd00:10:2::15", prefix: 64, on: Self.eth0, flags: LinkAddress.dadFailedFlag)]
        #expect(
            ReconnectReadiness.obstacle(on: Self.eth0, bootName: "eth0", addresses: failed, toward: Self.ipv6Portal)?
                .contains("failed duplicate address detection") == true)
        // One usable address is enough beside a tentative one.
        let both = tentative + [Self.address("fd00:10:2::16", prefix: 64, on: Self.eth0)]
        #expect(ReconnectReadiness.obstacle(on: Self.eth0, bootName: "eth0", addresses: both, toward: Self.ipv6Portal) == nil)
    }

    @Test func aLinkLocalPortalNeedsALinkLocalAddressAndAGlobalOneAWiderOne() {
        let linkLocalOnly = [Self.address("fe80::5054:ff:fe12:3456", prefix: 64, on: Self.eth0)]
        #expect(ReconnectReadiness.obstacle(on: Self.eth0, bootName: "eth0", addresses: linkLocalOnly, toward: Self.linkLocalPortal) == nil)
        #expect(
            ReconnectReadiness.obstacle(on: Self.eth0, bootName: "eth0", addresses: linkLocalOnly, toward: Self.ipv6Portal)
                == "eth0 has no IPv6 address")
        let globalOnly = [Self.address("fd00:10:2::15", prefix: 64, on: Self.eth0)]
        #expect(
            ReconnectReadiness.obstacle(on: Self.eth0, bootName: "eth0", addresses: globalOnly, toward: Self.linkLocalPortal)
                == "eth0 has no IPv6 link-local address")
    }

    @Test func theInterfaceHoldingTheConnectionsAddressIsFound() {
        let addresses = [
            Self.address("10.0.2.15", prefix: 24, on: Self.eth0),
            Self.address("10.0.3.15", prefix: 24, on: Self.eth1),
        ]
        let links = [Self.eth0, Self.eth1]
        #expect(ReconnectReadiness.interface(holding: IPAddress("10.0.3.15")!, links: links, addresses: addresses)?.name == "eth1")
        #expect(ReconnectReadiness.interface(holding: IPAddress("10.0.4.15")!, links: links, addresses: addresses) == nil)
        // A link-local source comes back from getsockname with its scope: the zone does not matter.
        let linkLocal = [Self.address("fe80::1", prefix: 64, on: Self.eth1)]
        #expect(
            ReconnectReadiness.interface(holding: IPAddress("fe80::1%3", allowingZone: true)!, links: links, addresses: linkLocal)?
                .name == "eth1")
    }
}
