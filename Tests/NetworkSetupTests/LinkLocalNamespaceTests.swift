import LinuxSystem
import Testing

@testable import NetworkSetup

/// `ip=<dev>:link6` for real: a veth pair whose far end holds only fe80::2, no router and no
/// DHCP server; the interface is usable once its own link-local address has passed DAD.
@Suite(.enabled(if: NetworkNamespace.available, "needs root and iproute2"))
struct LinkLocalNamespaceTests {
    @Test(.timeLimit(.minutes(1))) func linkLocalOnly() throws {
        let server = try NetworkNamespace("ll-srv")
        let client = try NetworkNamespace("ll-cli")
        try server.ip("link", "add", "vsrv", "type", "veth", "peer", "name", "vcli", "netns", client.name)
        try server.ip("addr", "add", "fe80::2/64", "dev", "vsrv", "nodad")
        try server.ip("link", "set", "vsrv", "up")

        let (configured, scopeID, index) = try client.runInside(within: 40) {
            let configured = try NetworkSetup.configure(
                .init(interface: .name("vcli"), method: .ipv6LinkLocal), targetAddress: "fe80::2%vcli",
                timeoutMilliseconds: 30_000)
            // The portal's zone resolves to this interface's index for connect().
            guard case .ipv6(let address) = SocketAddress(numericHost: "fe80::2%vcli", port: 3260) else {
                return (configured, UInt32(0), Int32(-1))
            }
            return (configured, address.sin6_scope_id, configured.index)
        }
        #expect(NetworkSetup.linkLocalAddress(configured.address.address) != nil, "\(configured.address)")
        #expect(configured.address.prefixLength == 64)
        #expect(configured.name == "vcli" && configured.gateway == nil)
        // No route of ours: the kernel's fe80::/64 on the link is the way to the portal.
        #expect(configured.routes.isEmpty)
        #expect(configured.stepDurations.map { $0.step }.contains("dad"))
        #expect(scopeID == UInt32(index) && scopeID != 0)

        let addresses = try client.ip("-6", "addr", "show", "dev", "vcli")
        #expect(addresses.contains("inet6 \(configured.address) scope link"), "\(addresses)")
        #expect(!addresses.contains("tentative"), "\(addresses)")
    }
}
