import Foundation
import Testing

@testable import NetworkSetup

/// The real thing: the rtnetlink and DHCP code run inside private network namespaces with a
/// veth pair, checked with `ip -n NS …` from outside.
@Suite(.enabled(if: NetworkNamespace.available, "needs root and iproute2"))
struct NamespaceTests {
    /// A namespace holding both ends of a veth pair, the far end up so the near end gets carrier.
    static func namespaceWithVeth(_ purpose: String, near: String, far: String) throws -> NetworkNamespace {
        let namespace = try NetworkNamespace(purpose)
        try namespace.ip("link", "add", near, "type", "veth", "peer", "name", far)
        try namespace.ip("link", "set", far, "up")
        return namespace
    }

    @Test func staticAddressRoutesMTUAndLoopbackTwice() throws {
        let namespace = try Self.namespaceWithVeth("static", near: "veth0", far: "veth1")
        let configuration = InterfaceConfiguration(
            interface: .name("veth0"),
            method: .manual(
                .init(
                    address: InterfaceAddress(.v4(IPv4Address(10, 77, 1, 2)), prefixLength: 24),
                    gateway: .v4(IPv4Address(10, 77, 1, 1)), mtu: 1400)))
        // Hook mode may run twice: the second run finds everything in place and succeeds.
        let first = try namespace.runInside(within: 20) {
            try NetworkSetup.configure(configuration, targetAddress: "192.0.2.10", timeoutMilliseconds: 5_000)
        }
        let second = try namespace.runInside(within: 20) {
            try NetworkSetup.configure(configuration, targetAddress: "192.0.2.10", timeoutMilliseconds: 5_000)
        }
        #expect(first.name == "veth0")
        #expect(first.address.description == "10.77.1.2/24")
        #expect(first.mtu == 1400)
        #expect(first.routes.map(\.description) == ["default via 10.77.1.1"])  // covers the target: no host route
        #expect(first.stepDurations.map(\.step) == ["loopback", "find interface", "link up", "carrier", "address", "routes"])
        #expect(second.address == first.address && second.routes == first.routes)

        let addresses = try namespace.ip("-4", "addr", "show", "dev", "veth0")
        #expect(addresses.contains("inet 10.77.1.2/24 brd 10.77.1.255"))
        #expect(try namespace.ip("link", "show", "veth0").contains("mtu 1400"))
        // `ip route` leaves out "proto boot", the protocol it would use itself.
        #expect(try namespace.ip("route", "show").contains("default via 10.77.1.1 dev veth0"))
        let loopback = try namespace.ip("addr", "show", "dev", "lo")
        #expect(loopback.contains("UP") && loopback.contains("inet 127.0.0.1/8"))
    }

    @Test func byMACWithHostRouteToAnOffLinkTarget() throws {
        let namespace = try Self.namespaceWithVeth("mac", near: "vethm0", far: "vethm1")
        try namespace.ip("link", "set", "vethm0", "address", "52:54:00:77:00:02")
        let configuration = InterfaceConfiguration(
            interface: .macAddress(MACAddress("52:54:00:77:00:02")!),
            method: .manual(.init(address: InterfaceAddress(.v4(IPv4Address(10, 77, 2, 2)), prefixLength: 24))))
        let configured = try namespace.runInside(within: 20) {
            try NetworkSetup.configure(configuration, targetAddress: "198.51.100.7", timeoutMilliseconds: 5_000)
        }
        #expect(configured.name == "vethm0")
        #expect(configured.routes.map(\.description) == ["198.51.100.7/32"])
        #expect(try namespace.ip("-4", "addr", "show", "dev", "vethm0").contains("inet 10.77.2.2/24"))
        #expect(try namespace.ip("route", "show").contains("198.51.100.7 dev vethm0 scope link"))
    }

    @Test(.enabled(if: NetworkNamespace.supportsVLAN, "the kernel has no 8021q support here"))
    func vlanOnTopOfTheInterface() throws {
        let namespace = try Self.namespaceWithVeth("vlan", near: "vethv0", far: "vethv1")
        let configuration = InterfaceConfiguration(
            interface: .name("vethv0"),
            method: .manual(.init(address: InterfaceAddress(.v4(IPv4Address(10, 77, 4, 2)), prefixLength: 24))),
            vlanID: 42)
        let configured = try namespace.runInside(within: 20) {
            try NetworkSetup.configure(configuration, targetAddress: nil, timeoutMilliseconds: 5_000)
        }
        #expect(configured.name == "vethv0.42")
        #expect(try namespace.ip("-d", "link", "show", "vethv0.42").contains("vlan protocol 802.1Q id 42"))
        #expect(try namespace.ip("-4", "addr", "show", "dev", "vethv0.42").contains("inet 10.77.4.2/24"))
    }

    /// A static IPv6 address is returned only once duplicate address detection is over: the
    /// kernel no longer flags it tentative, and the "dad" step is recorded.
    @Test func staticIPv6WaitsForDuplicateAddressDetection() throws {
        let namespace = try Self.namespaceWithVeth("dad", near: "vethd0", far: "vethd1")
        let configuration = InterfaceConfiguration(
            interface: .name("vethd0"),
            method: .manual(.init(address: InterfaceAddress(.v6(IPv6Address("fd00:77:5::2")!), prefixLength: 64))))
        let configured = try namespace.runInside(within: 20) {
            try NetworkSetup.configure(configuration, targetAddress: "fd00:77:5::1", timeoutMilliseconds: 10_000)
        }
        #expect(configured.stepDurations.map(\.step) == ["loopback", "find interface", "link up", "carrier", "address", "dad", "routes"])
        // Only the static address's line: the link-local address runs its own DAD.
        let shown = try namespace.ip("-6", "addr", "show", "dev", "vethd0")
        let line = shown.split(separator: "\n").first { $0.contains("inet6 fd00:77:5::2/64") }
        #expect(line != nil, "\(shown)")
        #expect(line?.contains("tentative") == false, "\(shown)")
    }

    /// The far end owns the address already: DAD fails and the error says so.
    @Test func duplicateIPv6AddressIsAnError() throws {
        let namespace = try Self.namespaceWithVeth("dup", near: "vethu0", far: "vethu1")
        try namespace.ip("addr", "add", "fd00:77:6::2/64", "dev", "vethu1", "nodad")
        let configuration = InterfaceConfiguration(
            interface: .name("vethu0"),
            method: .manual(.init(address: InterfaceAddress(.v6(IPv6Address("fd00:77:6::2")!), prefixLength: 64))))
        let outcome = try namespace.runInside(within: 20) { () -> String in
            do {
                _ = try NetworkSetup.configure(configuration, targetAddress: nil, timeoutMilliseconds: 10_000)
                return "configured"
            } catch {
                return "\(error)"
            }
        }
        #expect(outcome.hasPrefix("duplicate address detection on vethu0: another node already uses fd00:77:6::2/64"), "\(outcome)")
    }

    @Test func missingInterfaceAndMissingCarrierAreNamed() throws {
        let namespace = try NetworkNamespace("errors")
        try namespace.ip("link", "add", "vethe0", "type", "veth", "peer", "name", "vethe1")  // far end stays down
        let manual = InterfaceConfiguration.Method.manual(
            .init(address: InterfaceAddress(.v4(IPv4Address(10, 77, 3, 2)), prefixLength: 24)))
        let missing = try namespace.runInside(within: 20) {
            Result { () throws(NetworkError) in
                try NetworkSetup.configure(
                    .init(interface: .name("nosuch0"), method: manual), targetAddress: nil, timeoutMilliseconds: 1_000)
            }
        }
        #expect(throws: NetworkError.self) { try missing.get() }
        #expect("\(missing)".contains("no network interface nosuch0 (present: lo (index 1"))

        let start = Date()
        let noCarrier = try namespace.runInside(within: 20) {
            Result { () throws(NetworkError) in
                try NetworkSetup.configure(.init(interface: .name("vethe0"), method: manual), targetAddress: nil, timeoutMilliseconds: 300)
            }
        }
        guard case .failure(.noCarrier(let interface, let waited)) = noCarrier else {
            Issue.record("expected no carrier, got \(noCarrier)")
            return
        }
        #expect(interface == "vethe0")
        #expect(waited >= 250 && Date().timeIntervalSince(start) < 5)
    }

    @Test func theKernelsRefusalNamesTheStep() throws {
        let namespace = try NetworkNamespace("refusal")
        let error = try namespace.runInside(within: 20) { () -> NetworkError? in
            var netlink = try RouteNetlink()
            let address = InterfaceAddress(.v4(IPv4Address(10, 0, 2, 15)), prefixLength: 24)
            do throws(NetworkError) {
                try netlink.perform(.addAddress(address, index: 999), step: "add address \(address) to eth9")
                return nil
            } catch {
                return error
            }
        }
        #expect(error?.description == "add address 10.0.2.15/24 to eth9: No such device (the interface disappeared)")
    }

    /// dnsmasq serves the far end from a second namespace; the client runs the whole DHCP
    /// exchange through its packet socket and applies the lease.
    @Test(.timeLimit(.minutes(1))) func dhcpAgainstDnsmasq() throws {
        let dnsmasq = try Self.dnsmasqPath()
        let server = try NetworkNamespace("dhcp-srv")
        let client = try NetworkNamespace("dhcp-cli")
        try server.ip("link", "add", "vsrv", "type", "veth", "peer", "name", "vcli", "netns", client.name)
        try server.ip("addr", "add", "10.78.0.1/24", "dev", "vsrv")
        try server.ip("link", "set", "vsrv", "up")
        let rootPath = "iscsi:10.78.0.1::3260:1:iqn.2024-01.example:root1"
        let leases = FileManager.default.temporaryDirectory.appendingPathComponent("\(server.name).leases").path
        defer { try? FileManager.default.removeItem(atPath: leases) }
        let daemon = try ChildProcess(
            NetworkNamespace.ipCommand,
            [
                "netns", "exec", server.name, dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--port=0",
                "--user=root", "--interface=vsrv", "--bind-interfaces", "--dhcp-leasefile=\(leases)", "--pid-file=",
                "--dhcp-range=10.78.0.50,10.78.0.60,255.255.255.0,1h", "--dhcp-option=3,10.78.0.1",
                "--dhcp-option=6,10.78.0.1", "--dhcp-option=26,1400", "--dhcp-option=17,\(rootPath)",
                "--dhcp-option=15,boot.example",
            ])
        defer { withExtendedLifetime(daemon) {} }

        let configured = try client.runInside(within: 40) {
            try NetworkSetup.configure(
                .init(interface: .name("vcli"), method: .dhcp, hostName: "node7"), targetAddress: "10.78.0.1",
                timeoutMilliseconds: 30_000)
        }
        let lease = try #require(configured.lease)
        #expect(lease.rootPath == rootPath)
        #expect(lease.serverIdentifier == IPv4Address(10, 78, 0, 1))
        #expect(lease.domainName == "boot.example")
        #expect(lease.leaseSeconds == 3600)
        #expect((IPv4Address(10, 78, 0, 50)...IPv4Address(10, 78, 0, 60)).contains(lease.address))
        #expect(configured.address.prefixLength == 24)
        #expect(configured.mtu == 1400)
        #expect(configured.dnsServers == [.v4(IPv4Address(10, 78, 0, 1))])
        #expect(configured.stepDurations.map(\.step).contains("dhcp"))

        #expect(try client.ip("-4", "addr", "show", "dev", "vcli").contains("inet \(lease.address)/24"))
        #expect(try client.ip("route", "show").contains("default via 10.78.0.1 dev vcli"))
        #expect(try client.ip("link", "show", "vcli").contains("mtu 1400"))
        // The server saw our host name (option 12) and recorded the lease.
        #expect(try String(contentsOfFile: leases, encoding: .utf8).contains("node7"))
    }

    @Test(.timeLimit(.minutes(1))) func dhcpWithoutAServerGivesUpByTheDeadline() throws {
        let namespace = try Self.namespaceWithVeth("dhcp-none", near: "vnone0", far: "vnone1")
        let start = Date()
        let outcome = try namespace.runInside(within: 20) {
            Result { () throws(NetworkError) in
                try NetworkSetup.configure(.init(interface: .name("vnone0"), method: .dhcp), targetAddress: nil, timeoutMilliseconds: 2_500)
            }
        }
        guard case .failure(.dhcpFailed("vnone0", .deadlinePassed(_, let progress))) = outcome else {
            Issue.record("expected DHCP to give up, got \(outcome)")
            return
        }
        #expect(progress.hasSuffix("DISCOVER(s) sent, no offer yet"))
        #expect(Date().timeIntervalSince(start) < 6)
    }

    /// dnsmasq from the `dnsmasq-base` package, installed here when missing.
    static func dnsmasqPath() throws -> String {
        let candidates = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        try runCommand("/usr/bin/apt-get", ["install", "-y", "--no-install-recommends", "dnsmasq-base"], timeoutSeconds: 300)
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw FixtureError("dnsmasq is not installed (apt-get install dnsmasq-base)")
        }
        return found
    }
}
