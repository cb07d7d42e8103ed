import Foundation
import LinuxSystem
import Testing

@testable import NetworkSetup

/// The DHCPv6 client for real: dnsmasq serves DHCPv6 (and no router advertisements) from a
/// second namespace over a veth pair.
@Suite(.enabled(if: NetworkNamespace.available, "needs root and iproute2"))
struct DHCPv6NamespaceTests {
    /// The whole exchange from the link-local address; the address goes in as a /128 after
    /// DAD, and the root path's server, on the link but in no route (no advertisement gave
    /// the prefix), gets a host route. `either6` gets there too, after the wait for an
    /// advertisement that never comes.
    @Test(.timeLimit(.minutes(1)), arguments: [InterfaceConfiguration.Method.dhcpv6, .ipv6AutoconfigurationOrDHCPv6])
    func dhcpv6AgainstDnsmasq(method: InterfaceConfiguration.Method) throws {
        let dnsmasq = try NamespaceTests.dnsmasqPath()
        let server = try NetworkNamespace("dhcp6-srv")
        let client = try NetworkNamespace("dhcp6-cli")
        try server.ip("link", "add", "vsrv", "type", "veth", "peer", "name", "vcli", "netns", client.name)
        try server.ip("addr", "add", "fd00:78::1/64", "dev", "vsrv", "nodad")
        try server.ip("link", "set", "vsrv", "up")
        let rootPath = "iscsi:[fd00:78::1]::::iqn.2024-01.example:root1"
        let leases = FileManager.default.temporaryDirectory.appendingPathComponent("\(server.name).leases").path
        defer { try? FileManager.default.removeItem(atPath: leases) }
        let daemon = try ChildProcess(
            NetworkNamespace.ipCommand,
            [
                "netns", "exec", server.name, dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--port=0",
                "--user=root", "--interface=vsrv", "--bind-interfaces", "--dhcp-leasefile=\(leases)", "--pid-file=",
                "--dhcp-range=fd00:78::100,fd00:78::1ff,64,1h", "--dhcp-option=option6:dns-server,[fd00:78::53]",
                "--dhcp-option=option6:bootfile-url,\(rootPath)",
            ])
        defer { withExtendedLifetime(daemon) {} }

        let configured = try client.runInside(within: 40) {
            try NetworkSetup.configure(.init(interface: .name("vcli"), method: method), targetAddress: nil, timeoutMilliseconds: 30_000)
        }
        let lease = try #require(configured.dhcpv6Lease)
        #expect(lease.rootPath == rootPath)
        #expect(configured.rootPath == rootPath)
        #expect(lease.dnsServers == [IPv6Address("fd00:78::53")!])
        // dnsmasq answers from its link-local address, or from its global one while the
        // veth's link-local address is still tentative (DAD) right after the link came up.
        #expect(
            lease.serverAddress.map { NetworkSetup.linkLocalAddress(.v6($0)) != nil || $0 == IPv6Address("fd00:78::1")! } == true)
        #expect(lease.validSeconds == 3600)
        let low = IPv6Address("fd00:78::100")!.bytes
        let high = IPv6Address("fd00:78::1ff")!.bytes
        #expect(lease.address.bytes.lexicographicallyPrecedes(low) == false && high.lexicographicallyPrecedes(lease.address.bytes) == false)
        #expect(configured.address == InterfaceAddress(.v6(lease.address), prefixLength: 128))
        #expect(configured.stepDurations.map { $0.step }.contains("dhcp6"))
        #expect(configured.stepDurations.map { $0.step }.contains("dad"))
        #expect(configured.stepDurations.map { $0.step }.contains("no router advertisement") == (method != .dhcpv6))

        let addresses = try client.ip("-6", "addr", "show", "dev", "vcli")
        #expect(addresses.contains("inet6 \(lease.address)/128 scope global"), "\(addresses)")
        #expect(!addresses.contains("tentative"), "\(addresses)")
        let routes = try client.ip("-6", "route", "show")
        #expect(routes.contains("fd00:78::1 dev vcli"), "\(routes)")
        // The server recorded the lease under our DUID-LL (type 3, Ethernet, the veth's MAC).
        let mac = try #require(configured.macAddress)
        let duid = "00:03:00:01:" + mac.description
        #expect(try String(contentsOfFile: leases, encoding: .utf8).contains(duid))
    }

    /// Without Rapid Commit, the four messages: dnsmasq logs the Advertise and the Request.
    @Test(.timeLimit(.minutes(1))) func solicitAdvertiseRequestReplyAgainstDnsmasq() throws {
        let dnsmasq = try NamespaceTests.dnsmasqPath()
        let server = try NetworkNamespace("dhcp6-4msg-srv")
        let client = try NetworkNamespace("dhcp6-4msg-cli")
        try server.ip("link", "add", "vsrv", "type", "veth", "peer", "name", "vcli", "netns", client.name)
        try server.ip("addr", "add", "fd00:79::1/64", "dev", "vsrv", "nodad")
        try server.ip("link", "set", "vsrv", "up")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("\(server.name).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let daemon = try ChildProcess(
            NetworkNamespace.ipCommand,
            [
                "netns", "exec", server.name, dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--port=0",
                "--user=root", "--interface=vsrv", "--bind-interfaces", "--dhcp-leasefile=\(log).leases", "--pid-file=",
                "--dhcp-range=fd00:79::100,fd00:79::1ff,64,1h", "--log-dhcp", "--log-facility=\(log)",
            ])
        defer { withExtendedLifetime(daemon) {} }
        defer { try? FileManager.default.removeItem(atPath: log + ".leases") }

        let lease = try client.runInside(within: 40) { () throws -> DHCPv6Lease in
            let deadline = MonotonicInstant.now().advanced(byMilliseconds: 30_000)
            var netlink = try RouteNetlink()
            let link = try netlink.link(named: "vcli")
            try netlink.perform(.setLinkUp(index: link.index), step: "bring vcli up")
            let mac = try #require(link.macAddress)
            let linkLocal = try netlink.waitForUsableAddress(
                on: link, deadline: deadline, what: "link-local", matching: { NetworkSetup.linkLocalAddress($0.address.address) != nil })
            let source = try #require(NetworkSetup.linkLocalAddress(linkLocal.address.address))
            return try DHCPv6Client.acquireLease(
                on: link, from: source, configuration: DHCPv6ClientConfiguration(hardwareAddress: mac, rapidCommit: false),
                deadline: deadline)
        }
        #expect(lease.address.bytes.prefix(4) == [0xFD, 0x00, 0x00, 0x79])
        #expect(lease.bootFileURL == nil && lease.rootPath == nil)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("DHCPADVERTISE"), "\(text)")
        #expect(text.contains("DHCPREQUEST"), "\(text)")
        #expect(!text.contains("rapid-commit"), "\(text)")
    }

    /// No server: the client gives up at the caller's deadline and says how far it got.
    @Test(.timeLimit(.minutes(1))) func dhcpv6WithoutAServerGivesUpByTheDeadline() throws {
        let namespace = try NamespaceTests.namespaceWithVeth("dhcp6-none", near: "vnone0", far: "vnone1")
        let outcome = try namespace.runInside(within: 20) {
            Result { () throws(NetworkError) in
                try NetworkSetup.configure(
                    .init(interface: .name("vnone0"), method: .dhcpv6), targetAddress: nil, timeoutMilliseconds: 6_000)
            }
        }
        guard case .failure(.dhcpv6Failed("vnone0", .deadlinePassed(_, let progress))) = outcome else {
            Issue.record("expected DHCPv6 to give up, got \(outcome)")
            return
        }
        #expect(progress.hasSuffix("Solicit(s) sent, no Advertise yet"), "\(progress)")
    }
}
