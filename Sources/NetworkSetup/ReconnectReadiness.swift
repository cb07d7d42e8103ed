import CShims
import NetworkAddresses

#if canImport(Glibc)
    import Glibc
#endif

/// Whether the interface a session is bound to can carry a reconnect now, decided over what
/// rtnetlink lists (no I/O here: `RouteNetlink.reconnectObstacle` reads the lists).
///
/// A reconnect while the interface is down, or holds only a tentative address (IPv6 redoes
/// duplicate address detection when the carrier returns), cannot succeed, and one that leaves
/// through another interface — a bond's failover, a second NIC's default route — can poison
/// the target's neighbour cache with the wrong hardware address. The supervisor therefore binds
/// every reconnect to the boot connection's interface and attempts one only when this finds no
/// obstacle.
public enum ReconnectReadiness {
    /// The interface among `links` that holds `local`, the address a connection left from.
    public static func interface(holding local: IPAddress, links: [NetworkLink], addresses: [LinkAddress]) -> NetworkLink? {
        guard let held = addresses.first(where: { $0.address.address.bytes == local.bytes }) else { return nil }
        return links.first { $0.index == held.interfaceIndex }
    }

    /// Why `link` (nil: gone; `bootName` is what it was called at boot) cannot carry a
    /// connection to `portal` now, or nil when it can: up, with a carrier, and with an address
    /// of the portal's family and scope (link-local for a link-local portal, else a wider one)
    /// that has finished duplicate address detection. `addresses` may list every interface's.
    public static func obstacle(on link: NetworkLink?, bootName: String, addresses: [LinkAddress], toward portal: IPAddress) -> String? {
        guard let link else { return "the boot's interface \(bootName) is gone" }
        let name = link.name
        guard link.isUp else { return "\(name) is down (administratively)" }
        guard link.hasCarrier else { return "\(name) has no carrier (check the cable, the switch port and the link partner)" }
        let family: String
        let wantsLinkLocal: Bool
        switch portal {
        case .v4: (family, wantsLinkLocal) = ("IPv4", false)
        case .v6(let address): (family, wantsLinkLocal) = (address.isLinkLocal ? "IPv6 link-local" : "IPv6", address.isLinkLocal)
        }
        let candidates = addresses.filter { candidate in
            guard candidate.interfaceIndex == link.index else { return false }
            switch (candidate.address.address, portal) {
            case (.v4, .v4): return true
            case (.v6(let address), .v6): return address.isLinkLocal == wantsLinkLocal
            default: return false
            }
        }
        if candidates.contains(where: { !$0.isTentative && !$0.dadFailed }) { return nil }
        if let failed = candidates.first(where: { $0.dadFailed }) {
            return "\(name)'s address \(failed.address.address) failed duplicate address detection (another node on the link has it)"
        }
        if let tentative = candidates.first {
            return "\(name)'s address \(tentative.address.address) is still tentative (duplicate address detection)"
        }
        return "\(name) has no \(family) address"
    }
}

extension RouteNetlink {
    /// `ReconnectReadiness.obstacle` for the interface with `index` as the kernel has it now.
    public mutating func reconnectObstacle(interfaceIndex index: Int32, bootName: String, toward portal: IPAddress) throws(NetworkError)
        -> String?
    {
        let link = try links().first { $0.index == index }
        let family = if case .v4 = portal { AF_INET } else { AF_INET6 }
        return ReconnectReadiness.obstacle(on: link, bootName: bootName, addresses: try addresses(family: family), toward: portal)
    }

    /// The interface that holds `local`, or nil when none does.
    public mutating func interface(holding local: IPAddress) throws(NetworkError) -> NetworkLink? {
        let family = if case .v4 = local { AF_INET } else { AF_INET6 }
        return ReconnectReadiness.interface(holding: local, links: try links(), addresses: try addresses(family: family))
    }
}
