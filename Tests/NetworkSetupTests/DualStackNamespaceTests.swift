import Foundation
import Testing

@testable import NetworkSetup

/// Dual stack on one link: the IPv4 and the IPv6 configuration both land, each with its own
/// default route; the second does not replace the first.
@Suite(.enabled(if: NetworkNamespace.available, "needs root and iproute2"))
struct DualStackNamespaceTests {
    @Test(.timeLimit(.minutes(1))) func staticIPv4AndIPv6OnOneLink() throws {
        let namespace = try NamespaceTests.namespaceWithVeth("dual", near: "vethd0", far: "vethd1")
        var configuration = InterfaceConfiguration(
            interface: .name("vethd0"),
            method: .manual(
                .init(
                    address: InterfaceAddress(.v4(IPv4Address(10, 77, 9, 2)), prefixLength: 24),
                    gateway: .v4(IPv4Address(10, 77, 9, 1)))))
        configuration.otherFamily = .manual(
            .init(
                address: InterfaceAddress(.v6(IPv6Address("fd00:77:9::2")!), prefixLength: 64),
                gateway: .v6(IPv6Address("fd00:77:9::1")!)))
        let dualStack = configuration
        let configured = try namespace.runInside(within: 30) {
            try NetworkSetup.configure(dualStack, targetAddress: "fd00:77:9::99", timeoutMilliseconds: 15_000)
        }
        #expect(configured.address.description == "10.77.9.2/24")
        #expect(configured.gateway?.description == "10.77.9.1")
        #expect(configured.otherFamilyAddress?.description == "fd00:77:9::2/64")
        #expect(configured.otherFamilyGateway?.description == "fd00:77:9::1")
        #expect(configured.otherFamilySummary == ", fd00:77:9::2/64 via fd00:77:9::1")
        // The IPv6 target is on the link: no host route, only the two default routes.
        #expect(configured.routes.map(\.description) == ["default via 10.77.9.1", "default via fd00:77:9::1"])
        #expect(configured.stepDurations.map(\.step).suffix(5) == ["address", "routes", "address", "dad", "routes"])

        #expect(try namespace.ip("-4", "addr", "show", "dev", "vethd0").contains("inet 10.77.9.2/24"))
        #expect(try namespace.ip("-6", "addr", "show", "dev", "vethd0").contains("inet6 fd00:77:9::2/64"))
        #expect(try namespace.ip("-4", "route", "show").contains("default via 10.77.9.1 dev vethd0"))
        #expect(try namespace.ip("-6", "route", "show").contains("default via fd00:77:9::1 dev vethd0"))
    }
}
