import ISCSI

/// The iSCSI Boot Firmware Table (iBFT 1.03, "iSCSI Boot Firmware Table (iBFT) as Defined in
/// ACPI 3.0b Specification", IBM/Microsoft 2009): what the firmware (BIOS/UEFI option ROM,
/// iPXE) used to boot, so the OS can log in to the same target through the same NIC.
/// Validated as the kernel validates it (drivers/firmware/iscsi_ibft.c); offsets are from
/// the spec and iPXE's src/include/ipxe/ibft.h.
public struct IBFT: Sendable, Equatable {
    public var oemID: String
    public var oemTableID: String
    public var initiator: Initiator?
    public var nics: [NIC]
    public var targets: [Target]
    /// Structures the parser skipped (unknown type or extension), for `plan`.
    public var notes: [String]

    /// Flags common to every structure (iBFT §3.4 "Flags").
    public struct Flags: Sendable, Equatable {
        public var raw: UInt8
        /// Bit 0: the structure holds valid data.
        public var isValid: Bool { raw & 1 != 0 }
        /// Bit 1: the firmware booted from this NIC / target.
        public var isBootSelected: Bool { raw & 2 != 0 }
    }

    /// iBFT §3.5 Initiator structure (id 2, 74 bytes).
    public struct Initiator: Sendable, Equatable {
        public var flags: Flags
        public var isnsServer: IPAddress?
        public var slpServer: IPAddress?
        public var primaryRADIUSServer: IPAddress?
        public var secondaryRADIUSServer: IPAddress?
        public var name: String?
    }

    /// iBFT §3.6 NIC structure (id 3, 102 bytes).
    public struct NIC: Sendable, Equatable {
        public var index: UInt8
        public var flags: Flags
        public var address: IPAddress?
        public var prefixLength: UInt8
        public var origin: Origin
        public var gateway: IPAddress?
        public var primaryDNS: IPAddress?
        public var secondaryDNS: IPAddress?
        public var dhcpServer: IPAddress?
        /// 0 when the NIC is not on a VLAN.
        public var vlan: UInt16
        public var mac: MACAddress
        public var pciAddress: PCIAddress
        public var hostname: String?
    }

    /// How the NIC got its address (iBFT §3.6 "Origin", from the IP prefix origin of RFC 4861).
    public enum Origin: Sendable, Equatable {
        case other, manual, wellKnown, dhcp, routerAdvertisement, unchanged
        case unknown(UInt8)

        init(_ value: UInt8) {
            switch value {
            case 0: self = .other
            case 1: self = .manual
            case 2: self = .wellKnown
            case 3: self = .dhcp
            case 4: self = .routerAdvertisement
            case 0x0F: self = .unchanged
            default: self = .unknown(value)
            }
        }
    }

    /// A PCI bus/device/function, stored as `bus << 8 | device << 3 | function`.
    public struct PCIAddress: Sendable, Equatable, CustomStringConvertible {
        public var raw: UInt16
        public var description: String {
            hexByte(UInt8(raw >> 8)) + ":" + hexByte(UInt8(raw >> 3 & 0x1F)) + "." + String(raw & 7)
        }
    }

    /// iBFT §3.7 Target structure (id 4, 54 bytes).
    public struct Target: Sendable, Equatable {
        public var index: UInt8
        public var flags: Flags
        public var address: IPAddress?
        public var port: UInt16
        public var lun: LogicalUnit
        public var chapType: CHAPType
        /// The index of the NIC to reach the target through.
        public var nicIndex: UInt8
        public var name: String?
        public var chapName: String?
        public var chapSecret: CHAPSecret?
        public var reverseCHAPName: String?
        public var reverseCHAPSecret: CHAPSecret?
    }

    public enum CHAPType: UInt8, Sendable, Equatable {
        case none = 0
        case oneWay = 1
        case mutual = 2
    }

    /// The signatures the kernel accepts: ACPI's `IBFT`, the spec's `iBFT`, Broadcom's `BIFT`.
    public static let signatures = ["iBFT", "IBFT", "BIFT"]
    /// Where sysfs exposes the raw ACPI table, one path per signature.
    public static let acpiTablePaths = signatures.map { "/sys/firmware/acpi/tables/\($0)" }

    static let headerLength = 48
    static let controlLength = 18
    static let initiatorLength = 74
    static let nicLength = 102
    static let targetLength = 54

    /// Parses and validates a whole table. Structures of the wrong length are skipped, as the
    /// kernel skips them; everything else that is wrong is an error naming the rule.
    public init(bytes: [UInt8]) throws(BootConfigError) {
        var reader = Reader(bytes: bytes)
        guard bytes.count >= Self.headerLength else {
            throw reader.error(
                "table", token: "\(bytes.count) bytes", problem: "is shorter than the ACPI header",
                expected: "at least 48 bytes")
        }
        let signature = String(decoding: bytes[0..<4], as: UTF8.self)
        guard Self.signatures.contains(signature) else {
            throw reader.error(
                "signature", token: signature, problem: "is not an iBFT signature",
                expected: Self.signatures.joined(separator: ", "))
        }
        let length = Int(reader.u32(4))
        guard length >= Self.headerLength + Self.controlLength, length <= bytes.count else {
            throw reader.error(
                "length", token: String(length), problem: "does not fit the \(bytes.count) bytes given",
                expected: "66-\(bytes.count)")
        }
        reader.bytes = Array(bytes[0..<length])
        guard bytes[8] == 1 else {
            throw reader.error(
                "revision", token: String(bytes[8]), problem: "is not supported", expected: "revision 1")
        }
        let sum = reader.bytes.reduce(UInt8(0), &+)
        guard sum == 0 else {
            throw reader.error(
                "checksum", token: hexByte(bytes[9]), problem: "makes the bytes sum to \(sum)",
                expected: "a byte sum of 0 mod 256")
        }
        oemID = reader.text(10, 6)
        oemTableID = reader.text(16, 8)
        notes = []
        initiator = nil
        nics = []
        targets = []

        // Control structure (iBFT §3.3): id 1, index 0, at least 18 bytes, then u16 offsets.
        let control = Self.headerLength
        let controlStructureLength = Int(reader.u16(control + 2))
        guard reader.bytes[control] == 1, reader.bytes[control + 4] == 0,
            controlStructureLength >= Self.controlLength,
            control + controlStructureLength <= length
        else {
            throw reader.error(
                "control structure",
                token:
                    "id \(reader.bytes[control]) index \(reader.bytes[control + 4]) length \(controlStructureLength)",
                problem: "is invalid", expected: "id 1, index 0, length 18 or more inside the table")
        }
        try reader.claim(0..<(control + controlStructureLength), what: "header and control structure")
        var offsetPosition = control + 8
        while offsetPosition + 2 <= control + controlStructureLength {
            let offset = Int(reader.u16(offsetPosition))
            offsetPosition += 2
            if offset == 0 { continue }
            try parseStructure(at: offset, reader: &reader)
        }
    }

    private mutating func parseStructure(at offset: Int, reader: inout Reader) throws(BootConfigError) {
        guard offset + 6 <= reader.bytes.count else {
            throw reader.error(
                "structure offset", token: String(offset), problem: "points past the end of the table",
                expected: "an offset below \(reader.bytes.count - 6)")
        }
        let id = reader.bytes[offset]
        let version = reader.bytes[offset + 1]
        let length = Int(reader.u16(offset + 2))
        let index = reader.bytes[offset + 4]
        let flags = Flags(raw: reader.bytes[offset + 5])
        let expectedLength: Int
        switch id {
        case 2: expectedLength = Self.initiatorLength
        case 3: expectedLength = Self.nicLength
        case 4: expectedLength = Self.targetLength
        default:
            notes.append("structure id \(id) at offset \(offset) skipped (not initiator, NIC or target)")
            return
        }
        guard version == 1, length == expectedLength else {
            notes.append(
                "structure id \(id) at offset \(offset) skipped: version \(version) length \(length), expected version 1 length \(expectedLength)"
            )
            return
        }
        guard offset + length <= reader.bytes.count else {
            throw reader.error(
                "structure at offset \(offset)", token: "length \(length)",
                problem: "runs past the end of the table", expected: "a structure inside the table")
        }
        try reader.claim(offset..<(offset + length), what: "structure at offset \(offset)")
        switch id {
        case 2:
            initiator = Initiator(
                flags: flags, isnsServer: reader.ip(offset + 6), slpServer: reader.ip(offset + 22),
                primaryRADIUSServer: reader.ip(offset + 38), secondaryRADIUSServer: reader.ip(offset + 54),
                name: try reader.string(lengthAt: offset + 70, what: "initiator name"))
        case 3:
            nics.append(
                NIC(
                    index: index, flags: flags, address: reader.ip(offset + 6),
                    prefixLength: reader.bytes[offset + 22],
                    origin: Origin(reader.bytes[offset + 23]), gateway: reader.ip(offset + 24),
                    primaryDNS: reader.ip(offset + 40),
                    secondaryDNS: reader.ip(offset + 56), dhcpServer: reader.ip(offset + 72),
                    vlan: reader.u16(offset + 88),
                    mac: MACAddress(bytes: Array(reader.bytes[(offset + 90)..<(offset + 96)])) ?? MACAddress(
                        bytes: [0, 0, 0, 0, 0, 0])!,
                    pciAddress: PCIAddress(raw: reader.u16(offset + 96)),
                    hostname: try reader.string(lengthAt: offset + 98, what: "NIC \(index) hostname")))
        default:
            let chapType = CHAPType(rawValue: reader.bytes[offset + 32])
            guard let chapType else {
                throw reader.error(
                    "target \(index) CHAP type", token: String(reader.bytes[offset + 32]),
                    problem: "is unknown", expected: "0 none, 1 one-way, 2 mutual")
            }
            targets.append(
                Target(
                    index: index, flags: flags, address: reader.ip(offset + 6), port: reader.u16(offset + 22),
                    lun: LogicalUnit(sam: Array(reader.bytes[(offset + 24)..<(offset + 32)])),
                    chapType: chapType,
                    nicIndex: reader.bytes[offset + 33],
                    name: try reader.string(lengthAt: offset + 34, what: "target \(index) name"),
                    chapName: try reader.string(lengthAt: offset + 38, what: "target \(index) CHAP name"),
                    chapSecret: try reader.string(lengthAt: offset + 42, what: "target \(index) CHAP secret")
                        .map(CHAPSecret.init),
                    reverseCHAPName: try reader.string(
                        lengthAt: offset + 46, what: "target \(index) reverse CHAP name"),
                    reverseCHAPSecret: try reader.string(
                        lengthAt: offset + 50, what: "target \(index) reverse CHAP secret"
                    ).map(CHAPSecret.init)))
        }
    }

    /// Bounds-checked little-endian reads, and the byte ranges already used, so that
    /// overlapping structures or strings are caught.
    private struct Reader {
        var bytes: [UInt8]
        var claimed: [(range: Range<Int>, what: String)] = []

        func u16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8 }
        func u32(_ offset: Int) -> UInt32 { UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16 }
        func text(_ offset: Int, _ count: Int) -> String {
            String(decoding: bytes[offset..<(offset + count)].prefix { $0 != 0 }, as: UTF8.self)
        }

        /// A 16-byte address: IPv4 as `::ffff:a.b.c.d`; all zeros or `::ffff:0.0.0.0` is absent.
        func ip(_ offset: Int) -> IPAddress? {
            guard let v6 = IPv6Address(bytes: Array(bytes[offset..<(offset + 16)])) else { return nil }
            if let v4 = v6.mappedIPv4 { return v4.value == 0 ? nil : .v4(v4) }
            return v6.bytes.allSatisfy { $0 == 0 } ? nil : .v6(v6)
        }

        /// The string whose u16 length is at `offset` and u16 offset right after it; a zero
        /// length or offset is absent. Must lie inside the table and overlap nothing else.
        mutating func string(lengthAt offset: Int, what: String) throws(BootConfigError) -> String? {
            let length = Int(u16(offset))
            let start = Int(u16(offset + 2))
            guard length > 0, start > 0 else { return nil }
            guard start + length <= bytes.count else {
                throw error(
                    what, token: "offset \(start) length \(length)",
                    problem: "runs past the end of the table",
                    expected: "a string inside the \(bytes.count)-byte table")
            }
            try claim(start..<(start + length), what: what)
            return String(decoding: bytes[start..<(start + length)], as: UTF8.self)
        }

        mutating func claim(_ range: Range<Int>, what: String) throws(BootConfigError) {
            if let other = claimed.first(where: { $0.range.overlaps(range) && $0.range != range }) {
                throw error(
                    what, token: "bytes \(range.lowerBound)-\(range.upperBound - 1)",
                    problem: "overlaps the \(other.what)",
                    expected: "structures and strings that do not overlap")
            }
            claimed.append((range, what))
        }

        func error(_ field: String, token: String, problem: String, expected: String) -> BootConfigError {
            BootConfigError("iBFT", at: field, token: token, problem: problem, expected: expected)
        }
    }
}
