import ISCSI

/// A target as SendTargets reports it: its name and the portals it is reachable at.
public struct DiscoveredTarget: Equatable, Sendable {
    public struct Address: Equatable, Sendable {
        /// `host:port` as the target advertised it (an address behind NAT may not be
        /// reachable from here: log in to the portal you were given).
        public var address: String
        public var portalGroupTag: UInt16?
    }

    public var name: String
    public var addresses: [Address]

    /// Groups `TargetName=` and the `TargetAddress=` keys that follow it (RFC 7143 §13.8,
    /// appendix C). Addresses before any TargetName belong to no target and are dropped.
    static func parse(_ pairs: [TextPair]) -> [DiscoveredTarget] {
        var targets: [DiscoveredTarget] = []
        for pair in pairs {
            switch pair.key {
            case "TargetName":
                targets.append(DiscoveredTarget(name: pair.value, addresses: []))
            case "TargetAddress" where !targets.isEmpty:
                var address = Substring(pair.value)
                var tag: UInt16?
                if let comma = address.lastIndex(of: ",") {
                    tag = UInt16(address[address.index(after: comma)...])
                    address = address[..<comma]
                }
                targets[targets.count - 1].addresses.append(Address(address: String(address), portalGroupTag: tag))
            default:
                continue
            }
        }
        return targets
    }
}
