import Testing

@testable import NetworkSetup

/// Hook mode's question: did the framework (dracut, initramfs-tools' ipconfig) configure
/// the NIC already? Asked inside private namespaces with a veth pair.
@Suite(.enabled(if: NetworkNamespace.available, "needs root and iproute2"))
struct ExistingConfigurationTests {
    @Test func anAddressSomeoneElseGaveIsFoundAndNothingElseIs() throws {
        let namespace = try NamespaceTests.namespaceWithVeth("existing", near: "veth0", far: "veth1")
        // Down and without an address: the network is still ours to configure.
        #expect(try namespace.runInside(within: 10) { NetworkSetup.existingConfiguration(.name("veth0")) } == nil)
        try namespace.ip("link", "set", "veth0", "up")
        // Up with only its IPv6 link-local address (and lo with 127.0.0.1 elsewhere): still ours.
        try namespace.ip("link", "set", "lo", "up")
        #expect(try namespace.runInside(within: 10) { NetworkSetup.existingConfiguration(.firstWithCarrier) } == nil)

        try namespace.ip("addr", "add", "10.77.5.2/24", "dev", "veth0")
        let byName = try namespace.runInside(within: 10) { NetworkSetup.existingConfiguration(.name("veth0")) }
        #expect(byName?.name == "veth0")
        #expect(byName?.address.description == "10.77.5.2/24")
        let anyLink = try namespace.runInside(within: 10) { NetworkSetup.existingConfiguration(.firstWithCarrier) }
        #expect(anyLink?.name == "veth0")
        if let mac = byName?.macAddress {
            #expect(try namespace.runInside(within: 10) { NetworkSetup.existingConfiguration(.macAddress(mac)) }?.name == "veth0")
        }
        #expect(try namespace.runInside(within: 10) { NetworkSetup.existingConfiguration(.name("veth1")) } == nil)
    }
}
