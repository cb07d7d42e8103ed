#if canImport(Glibc)
    import Glibc
#endif
import CShims
import NetworkAddresses

extension NetworkSetup {
    /// The interface as someone else (dracut's network module, initramfs-tools'
    /// `configure_networking`) already configured it: the first link that `selector` names,
    /// that is up and has a global address, or nil when there is none and the network is
    /// still ours to set up. Hook mode uses it so as not to configure a NIC twice.
    public static func existingConfiguration(_ selector: InterfaceConfiguration.Selector) -> ConfiguredInterface? {
        guard var netlink = try? RouteNetlink(), let links = try? netlink.links() else { return nil }
        let candidates: [NetworkLink] =
            switch selector {
            case .name(let name): links.filter { $0.name == name }
            case .macAddress(let address): links.filter { $0.macAddress == address }
            case .firstWithCarrier: (try? ethernetLinks(&netlink)) ?? []
            }
        let addresses = globalAddresses()
        for link in candidates where link.isUp {
            guard let address = addresses.first(where: { $0.interface == link.name })?.address else { continue }
            return ConfiguredInterface(
                name: link.name, index: link.index, macAddress: link.macAddress, address: address, gateway: nil, dnsServers: [],
                mtu: link.mtu, routes: [], lease: nil, stepDurations: [])
        }
        return nil
    }

    /// Every IPv4 address and every IPv6 address that is not link-local, with its interface
    /// (getifaddrs(3): netlink only, no NSS, fine in a static binary).
    static func globalAddresses() -> [(interface: String, address: InterfaceAddress)] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var found: [(interface: String, address: InterfaceAddress)] = []
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let socketAddress = current.pointee.ifa_addr, let namePointer = current.pointee.ifa_name else { continue }
            let name = String(cString: namePointer)
            let family = Int32(socketAddress.pointee.sa_family)
            if family == AF_INET {
                let address = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                let mask =
                    current.pointee.ifa_netmask.map {
                        $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                    } ?? 0xFFFF_FFFF
                let ipv4 = IPv4Address(UInt32(bigEndian: address))
                guard ipv4.description.hasPrefix("127.") == false else { continue }
                found.append((name, InterfaceAddress(.v4(ipv4), prefixLength: UInt8(UInt32(bigEndian: mask).nonzeroBitCount))))
            } else if family == AF_INET6 {
                let bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                }
                // fe80::/10 is on every link that is up; it says nothing about configuration.
                guard bytes.count == 16, !(bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80), bytes != [UInt8](repeating: 0, count: 15) + [1],
                    let ipv6 = IPv6Address(bytes: bytes)
                else { continue }
                let prefix =
                    current.pointee.ifa_netmask.map { netmask in
                        netmask.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                            withUnsafeBytes(of: pointer.pointee.sin6_addr) { $0.reduce(0) { $0 + $1.nonzeroBitCount } }
                        }
                    } ?? 128
                found.append((name, InterfaceAddress(.v6(ipv6), prefixLength: UInt8(prefix))))
            }
        }
        return found
    }
}
