import ISCSI

/// The same table as the kernel's `iscsi_ibft` module publishes it under `/sys/firmware/ibft/`
/// (drivers/firmware/iscsi_ibft.c through iscsi_boot_sysfs.c): directories `initiator`,
/// `ethernet<N>`, `target<N>`, one attribute per file.
extension IBFT {
    /// Builds the table from the attribute files, keyed by path relative to the sysfs
    /// directory (`"ethernet0/ip-addr"` → its contents).
    public init(sysfs files: [String: String]) throws(BootConfigError) {
        func value(_ directory: String, _ attribute: String) -> String? {
            guard let text = files[directory + "/" + attribute] else { return nil }
            let trimmed =
                text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            return trimmed.isEmpty ? nil : trimmed
        }
        func number<N: FixedWidthInteger>(_ directory: String, _ attribute: String, as type: N.Type)
            throws(BootConfigError) -> N
        {
            guard let text = value(directory, attribute) else { return 0 }
            guard let number = N(text) else {
                throw BootConfigError(
                    "/sys/firmware/ibft", at: "\(directory)/\(attribute)", token: text,
                    problem: "is not a number", expected: "a decimal number")
            }
            return number
        }
        func address(_ directory: String, _ attribute: String) throws(BootConfigError) -> IPAddress? {
            guard let text = value(directory, attribute) else { return nil }
            guard let address = IPAddress(text) else {
                throw BootConfigError(
                    "/sys/firmware/ibft", at: "\(directory)/\(attribute)", token: text,
                    problem: "is not an IP address", expected: "a.b.c.d or IPv6")
            }
            if case .v4(let v4) = address, v4.value == 0 { return nil }
            return address
        }
        let directories = Set(files.keys.compactMap { $0.split(separator: "/").first.map(String.init) })
        func numbered(_ prefix: String) -> [String] {
            directories.filter { $0.hasPrefix(prefix) && $0.dropFirst(prefix.count).isDecimalNumber }
                .sorted { Int($0.dropFirst(prefix.count)) ?? 0 < Int($1.dropFirst(prefix.count)) ?? 0 }
        }
        oemID = ""
        oemTableID = ""
        notes = []
        initiator =
            directories.contains("initiator")
            ? Initiator(
                flags: Flags(raw: try number("initiator", "flags", as: UInt8.self)),
                isnsServer: try address("initiator", "isns-server"),
                slpServer: try address("initiator", "slp-server"),
                primaryRADIUSServer: try address("initiator", "pri-radius-server"),
                secondaryRADIUSServer: try address("initiator", "sec-radius-server"),
                name: value("initiator", "initiator-name")) : nil
        nics = []
        for directory in numbered("ethernet") {
            let macText = value(directory, "mac") ?? ""
            guard let mac = MACAddress(macText) else {
                throw BootConfigError(
                    "/sys/firmware/ibft", at: "\(directory)/mac", token: macText,
                    problem: "is not a MAC address", expected: "xx:xx:xx:xx:xx:xx")
            }
            nics.append(
                NIC(
                    index: try number(directory, "index", as: UInt8.self),
                    flags: Flags(raw: try number(directory, "flags", as: UInt8.self)),
                    address: try address(directory, "ip-addr"),
                    prefixLength: try number(directory, "prefix-len", as: UInt8.self),
                    origin: Origin(try number(directory, "origin", as: UInt8.self)),
                    gateway: try address(directory, "gateway"),
                    primaryDNS: try address(directory, "primary-dns"),
                    secondaryDNS: try address(directory, "secondary-dns"),
                    dhcpServer: try address(directory, "dhcp"),
                    vlan: try number(directory, "vlan", as: UInt16.self), mac: mac,
                    pciAddress: PCIAddress(raw: 0), hostname: value(directory, "hostname")))
        }
        targets = []
        for directory in numbered("target") {
            let chapText = try number(directory, "chap-type", as: UInt8.self)
            guard let chapType = CHAPType(rawValue: chapText) else {
                throw BootConfigError(
                    "/sys/firmware/ibft", at: "\(directory)/chap-type", token: String(chapText),
                    problem: "is unknown", expected: "0, 1 or 2")
            }
            targets.append(
                Target(
                    index: try number(directory, "index", as: UInt8.self),
                    flags: Flags(raw: try number(directory, "flags", as: UInt8.self)),
                    address: try address(directory, "ip-addr"),
                    port: try number(directory, "port", as: UInt16.self),
                    lun: try Self.sysfsLUN(value(directory, "lun") ?? "0", directory: directory),
                    chapType: chapType,
                    nicIndex: try number(directory, "nic-assoc", as: UInt8.self),
                    name: value(directory, "target-name"),
                    chapName: value(directory, "chap-name"),
                    chapSecret: value(directory, "chap-secret").map(CHAPSecret.init),
                    reverseCHAPName: value(directory, "rev-chap-name"),
                    reverseCHAPSecret: value(directory, "rev-chap-name-secret").map(CHAPSecret.init)))
        }
    }

    /// The kernel prints the 8 LUN bytes with `%x` each, without zero padding, so `00 01 00 ...`
    /// reads `01000000`. 16 digits or 8 digits are unambiguous; otherwise the usual shape
    /// "0, one byte, six zero bytes" (a peripheral LUN below 256) is the only one accepted.
    static func sysfsLUN(_ text: String, directory: String) throws(BootConfigError)
        -> LogicalUnit
    {
        let digits = Array(text.utf8)
        var bytes: [UInt8]?
        switch digits.count {
        case 16:
            bytes = (0..<8).compactMap {
                UInt8(String(decoding: digits[(2 * $0)..<(2 * $0 + 2)], as: UTF8.self), radix: 16)
            }
        case 8: bytes = digits.compactMap { UInt8(String(decoding: [$0], as: UTF8.self), radix: 16) }
        case 1: bytes = UInt8(text, radix: 16).map { [$0, 0, 0, 0, 0, 0, 0, 0] }
        case 9 where text.hasPrefix("0") && text.hasSuffix("000000"):
            bytes = UInt8(text.dropFirst().dropLast(6), radix: 16).map { [0, $0, 0, 0, 0, 0, 0, 0] }
        default: bytes = nil
        }
        guard let bytes, bytes.count == 8 else {
            throw BootConfigError(
                "/sys/firmware/ibft", at: "\(directory)/lun", token: text,
                problem: "cannot be read back into 8 bytes",
                expected: "the kernel's per-byte %x form, e.g. 01000000 for LUN 1")
        }
        return LogicalUnit(sam: bytes)
    }
}
