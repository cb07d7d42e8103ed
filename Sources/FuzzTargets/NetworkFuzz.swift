import NetworkSetup

/// A DHCPv6 packet of any bytes, as the client reads a server's answer: the message, its
/// IA_NA and status options, and the lease taken from it.
public func fuzzDHCPv6Message(_ bytes: [UInt8]) {
    guard let message = try? DHCPv6Message(decoding: bytes) else { return }
    _ = message.options.identityAssociations
    _ = message.options.statusCode
    _ = message.options.addresses(DHCPv6OptionCode.dnsServers)
    for association in message.options.identityAssociations {
        if let lease = DHCPv6Lease(message, identityAssociation: association.identifier) {
            _ = lease.summary
            _ = lease.rootPathServer
        }
    }
    _ = message.encoded()
}
