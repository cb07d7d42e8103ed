// Decoders for the parameter data of the probing commands. Every decoder accepts any byte
// string: short or inconsistent data is an error, never a trap.

/// A response too short or inconsistent for its command.
public struct SCSIDataError: Error, Equatable, CustomStringConvertible {
    public let command: String
    public let reason: String

    public var description: String { "\(command) data: \(reason)" }
}

/// Standard INQUIRY data (SPC-4 §6.6.2).
public struct StandardInquiry: Equatable, Sendable {
    /// 0 = connected, 1 = not connected, 3 = no device at this LUN.
    public var peripheralQualifier: UInt8
    /// 0x00 direct access block device (a disk), 0x05 CD/DVD, 0x0C storage array controller, ...
    public var peripheralDeviceType: UInt8
    public var removable: Bool
    public var vendor: String
    public var product: String
    public var revision: String

    public init(_ data: [UInt8]) throws(SCSIDataError) {
        guard data.count >= 36 else {
            throw SCSIDataError(command: "INQUIRY", reason: "\(data.count) bytes, expected at least 36")
        }
        peripheralQualifier = data[0] >> 5
        peripheralDeviceType = data[0] & 0x1F
        removable = data[1] & 0x80 != 0
        vendor = asciiField(data[8..<16])
        product = asciiField(data[16..<32])
        revision = asciiField(data[32..<36])
    }

    /// A disk that is actually there: what a root filesystem can live on.
    public var isConnectedDisk: Bool { peripheralQualifier == 0 && peripheralDeviceType == 0 }

    public var deviceTypeName: String {
        switch peripheralDeviceType {
        case 0x00: "disk"
        case 0x01: "tape"
        case 0x05: "cd/dvd"
        case 0x07: "optical"
        case 0x0C: "controller"
        case 0x0D: "enclosure"
        case 0x1F: "unknown"
        default: "type 0x" + String(peripheralDeviceType, radix: 16)
        }
    }
}

/// Printable ASCII with trailing spaces and NULs removed (SPC-4 §4.3.1).
private func asciiField(_ bytes: ArraySlice<UInt8>) -> String {
    let printable = bytes.map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }
    var text = String(decoding: printable, as: UTF8.self)
    while text.last == " " { text.removeLast() }
    return text
}

/// Unit Serial Number VPD page 0x80 (SPC-4 §7.8.15).
public func unitSerialNumber(_ data: [UInt8]) throws(SCSIDataError) -> String {
    guard data.count >= 4, data[1] == 0x80 else {
        throw SCSIDataError(command: "INQUIRY VPD 0x80", reason: "not a unit serial number page")
    }
    let length = Int(data[2]) << 8 | Int(data[3])
    return asciiField(data.dropFirst(4).prefix(length)).trimmingLeadingSpaces()
}

extension String {
    fileprivate func trimmingLeadingSpaces() -> String { String(drop { $0 == " " }) }
}

/// One designator of the Device Identification VPD page 0x83 (SPC-4 §7.8.6).
public struct DeviceDesignator: Equatable, Sendable, CustomStringConvertible {
    /// 1 T10 vendor ID, 2 EUI-64, 3 NAA, 8 SCSI name string, ...
    public var type: UInt8
    /// 0 logical unit, 1 target port, 2 target device.
    public var association: UInt8
    public var identifier: [UInt8]
    /// 1 binary, 2 ASCII, 3 UTF-8.
    public var codeSet: UInt8

    public var description: String {
        let label: String
        switch type {
        case 1: label = "t10"
        case 2: label = "eui"
        case 3: label = "naa"
        case 8: label = "name"
        default: label = "type\(type)"
        }
        if codeSet == 2 || codeSet == 3 {
            return "\(label).\(asciiField(identifier[...]))"
        }
        return "\(label).\(hexString(identifier))"
    }
}

/// Device Identification VPD page 0x83 → its designators.
public func deviceDesignators(_ data: [UInt8]) throws(SCSIDataError) -> [DeviceDesignator] {
    guard data.count >= 4, data[1] == 0x83 else {
        throw SCSIDataError(command: "INQUIRY VPD 0x83", reason: "not a device identification page")
    }
    let end = min(data.count, 4 + (Int(data[2]) << 8 | Int(data[3])))
    var designators: [DeviceDesignator] = []
    var offset = 4
    while offset + 4 <= end {
        let length = Int(data[offset + 3])
        guard offset + 4 + length <= end else {
            throw SCSIDataError(command: "INQUIRY VPD 0x83", reason: "designator at byte \(offset) runs past the page")
        }
        designators.append(
            DeviceDesignator(
                type: data[offset + 1] & 0x0F, association: (data[offset + 1] >> 4) & 0x3,
                identifier: Array(data[offset + 4..<offset + 4 + length]), codeSet: data[offset] & 0x0F))
        offset += 4 + length
    }
    return designators
}

/// REPORT LUNS parameter data (SPC-4 §6.33.2) → the LUNs listed. A list longer than the
/// allocation returned is cut to what arrived; `totalCount` says how many exist.
public struct ReportedLUNs: Equatable, Sendable {
    public var luns: [LogicalUnit]
    public var totalCount: Int

    public init(_ data: [UInt8]) throws(SCSIDataError) {
        guard data.count >= 8 else {
            throw SCSIDataError(command: "REPORT LUNS", reason: "\(data.count) bytes, expected at least 8")
        }
        let listLength = Int(data.bigEndianUInt32(at: 0))
        guard listLength % 8 == 0 else {
            throw SCSIDataError(command: "REPORT LUNS", reason: "LUN list length \(listLength) is not a multiple of 8")
        }
        totalCount = listLength / 8
        let available = min(totalCount, (data.count - 8) / 8)
        luns = (0..<available).map { index in
            let offset = 8 + index * 8
            return LogicalUnit(sam: data[offset..<offset + 8])
        }
    }
}

/// READ CAPACITY (16) parameter data (SBC-3 §5.16.2).
public struct Capacity: Equatable, Sendable {
    public var lastLogicalBlock: UInt64
    public var blockLength: UInt32

    public init(lastLogicalBlock: UInt64, blockLength: UInt32) {
        self.lastLogicalBlock = lastLogicalBlock
        self.blockLength = blockLength
    }

    public init(_ data: [UInt8]) throws(SCSIDataError) {
        guard data.count >= 12 else {
            throw SCSIDataError(command: "READ CAPACITY (16)", reason: "\(data.count) bytes, expected at least 12")
        }
        lastLogicalBlock = UInt64(data.bigEndianUInt32(at: 0)) << 32 | UInt64(data.bigEndianUInt32(at: 4))
        blockLength = data.bigEndianUInt32(at: 8)
    }

    /// Saturates rather than wrapping to 0 on an absurd last block address.
    public var blockCount: UInt64 { lastLogicalBlock == .max ? .max : lastLogicalBlock + 1 }

    /// Size in bytes, saturating rather than trapping on absurd values.
    public var bytes: UInt64 {
        let (product, overflow) = blockCount.multipliedReportingOverflow(by: UInt64(blockLength))
        return overflow ? UInt64.max : product
    }
}

/// A size as a person reads it: "128 MiB", "1.5 GiB".
public func humanReadableSize(_ bytes: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = bytes
    var unit = 0
    var remainder: UInt64 = 0
    while value >= 1024 && unit < units.count - 1 {
        remainder = value % 1024
        value /= 1024
        unit += 1
    }
    let tenth = remainder * 10 / 1024
    return tenth == 0 ? "\(value) \(units[unit])" : "\(value).\(tenth) \(units[unit])"
}
