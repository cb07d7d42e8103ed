/// The other network parameters of dracut (dracut.cmdline(7) "Network"): interface names,
/// the boot interface, name servers, static routes and VLANs.

/// `ifname=<name>:<MAC>`: give the NIC with this MAC address this name.
public struct InterfaceName: Sendable, Equatable {
    public var name: String
    public var mac: MACAddress

    public init(name: String, mac: MACAddress) {
        self.name = name
        self.mac = mac
    }

    static func parse(_ text: String) throws(BootConfigError) -> InterfaceName {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let mac = MACAddress(parts[1]) else {
            throw BootConfigError(
                "ifname=", token: text, problem: "is not <name>:<MAC>",
                expected: "e.g. ifname=lan0:52:54:00:12:34:56")
        }
        return InterfaceName(name: String(parts[0]), mac: mac)
    }
}

/// `rd.route=<net>/<prefix>:<gateway>[:<interface>]` (IPv6 addresses in brackets).
public struct StaticRoute: Sendable, Equatable, CustomStringConvertible {
    public var destination: IPAddress
    public var prefixLength: UInt8
    public var gateway: IPAddress
    public var device: String?

    public init(
        destination: IPAddress, prefixLength: UInt8, gateway: IPAddress, device: String? = nil
    ) {
        self.destination = destination
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.device = device
    }

    public var description: String {
        "\(destination.bracketed)/\(prefixLength):\(gateway.bracketed)"
            + (device.map { ":\($0)" } ?? "")
    }

    static func parse(_ text: String) throws(BootConfigError) -> StaticRoute {
        let expected = "<net>/<prefix>:<gateway>[:<interface>], IPv6 in brackets"
        let fields = text.splitOutsideBrackets(":")
        guard (2...3).contains(fields.count) else {
            throw BootConfigError(
                "rd.route=", token: text, problem: "does not have 2 or 3 fields", expected: expected)
        }
        let network = fields[0].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let destination = IPAddress(network[0]) else {
            throw BootConfigError(
                "rd.route=", at: "network", token: String(network[0]), problem: "is not an address",
                expected: expected)
        }
        let prefixText =
            network.count == 2 ? network[1] : Substring(String(destination.maximumPrefixLength))
        guard prefixText.isDecimalNumber, prefixText.utf8.count <= 3, let prefix = UInt8(prefixText),
            prefix <= destination.maximumPrefixLength
        else {
            throw BootConfigError(
                "rd.route=", at: "prefix", token: String(prefixText), problem: "is not a prefix length",
                expected: "0-\(destination.maximumPrefixLength)")
        }
        guard let gateway = IPAddress(fields[1]), gateway.isIPv6 == destination.isIPv6 else {
            throw BootConfigError(
                "rd.route=", at: "gateway", token: String(fields[1]),
                problem: "is not an address of the network's family", expected: expected)
        }
        return StaticRoute(
            destination: destination, prefixLength: prefix, gateway: gateway,
            device: fields.count == 3 && !fields[2].isEmpty ? String(fields[2]) : nil)
    }
}

/// `vlan=<vlan name>:<physical device>`; the VLAN id comes from the name as dracut reads
/// it: `vlan0005`, `vlan5`, `eth0.0005` or `eth0.5`.
public struct VLANDevice: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var parent: String
    public var id: UInt16

    public init(name: String, parent: String, id: UInt16) {
        self.name = name
        self.parent = parent
        self.id = id
    }

    public var description: String { "\(name) (VLAN \(id) on \(parent))" }

    static func parse(_ text: String) throws(BootConfigError) -> VLANDevice {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let expected = "<vlan name>:<physical device> with a name vlan<id> or <device>.<id>, id 1-4094"
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw BootConfigError(
                "vlan=", token: text, problem: "is not <vlan name>:<device>", expected: expected)
        }
        let name = parts[0]
        let idText: Substring =
            name.hasPrefix("vlan")
            ? name.dropFirst(4)
            : name.split(separator: ".").count > 1 ? name.split(separator: ".").last ?? "" : ""
        if idText.isDecimalNumber, let id = Int(idText), !(1...4094).contains(id) {
            // IEEE 802.1Q: 0 tags priority only and 4095 is reserved.
            throw BootConfigError(
                "vlan=", at: "name", token: String(name), problem: "has VLAN id \(id), outside 1-4094",
                expected: expected)
        }
        guard idText.isDecimalNumber, idText.utf8.count <= 4, let id = UInt16(idText),
            (1...4094).contains(id)
        else {
            throw BootConfigError(
                "vlan=", at: "name", token: String(name), problem: "does not end in a VLAN id",
                expected: expected)
        }
        return VLANDevice(name: String(name), parent: String(parts[1]), id: id)
    }
}

/// `BOOTIF=01-52-54-00-12-34-56` (PXELINUX's `IPAPPEND 2`: hardware type 01, then the MAC).
func parseBootInterface(_ text: String) throws(BootConfigError) -> MACAddress {
    let withoutType = text.split(separator: "-").count == 7 ? String(text.dropFirst(3)) : text
    guard let mac = MACAddress(withoutType) else {
        throw BootConfigError(
            "BOOTIF=", token: text, problem: "is not a MAC address",
            expected: "01-xx-xx-xx-xx-xx-xx or xx:xx:xx:xx:xx:xx")
    }
    return mac
}
