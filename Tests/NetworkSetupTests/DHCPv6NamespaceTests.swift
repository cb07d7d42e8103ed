import Foundation
import Testing

@testable import NetworkSetup

/// The DHCPv6 client for real: dnsmasq serves DHCPv6 (and no router advertisements) from a
/// second namespace over a veth pair.
@Suite(.enabled(if: NetworkNamespace.available, "needs root and iproute2"))
struct DHCPv6NamespaceTests {
    /// The whole exchange from the link-local address; the address goes in as a /128 after
    /// DAD, and the root path's server, on the link but in no route (no advertisement gave
    /// the prefix), gets a host route.
    @Test(.timeLimit(.minutes(1))) func dhcpv6AgainstDnsmasq() throws {
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
            try NetworkSetup.configure(.init(interface: .name("vcli"), method: .dhcpv6), targetAddress: nil, timeoutMilliseconds: 30_000)
        }
        let lease = try #require(configured.dhcpv6Lease)
        #expect(lease.rootPath == rootPath)
        #expect(configured.rootPath == rootPath)
        #expect(lease.dnsServers == [IPv6Address("fd00:78::53")!])
        #expect(lease.serverAddress.map { NetworkSetup.linkLocalAddress(.v6($0)) != nil } == true)
        #expect(lease.validSeconds == 3600)
        let low = IPv6Address("fd00:78::100")!.bytes
        let high = IPv6Address("fd00:78::1ff")!.bytes
        #expect(lease.address.bytes.lexicographicallyPrecedes(low) == false && high.lexicographicallyPrecedes(lease.address.bytes) == false)
        #expect(configured.address == InterfaceAddress(.v6(lease.address), prefixLength: 128))
        #expect(configured.stepDurations.map { $0.step }.contains("dhcp6"))
        #expect(configured.stepDurations.map { $0.step }.contains("dad"))

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
}
