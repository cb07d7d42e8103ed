/// Who a logical unit is: the designators of its Device Identification VPD page (0x83)
/// that name the logical unit itself (association 0), not the port or the target device.
/// A session that logs in again after an outage must find the same LUN behind the same
/// target name and LUN number; a target that fails over to a node presenting another LUN
/// there would otherwise receive the root's writes.
public struct LUNIdentity: Equatable, Sendable, CustomStringConvertible {
    public let designators: [DeviceDesignator]

    /// Nil when the page names nothing about the logical unit (nothing to compare).
    public init?(_ designators: [DeviceDesignator]) {
        let own = designators.filter { $0.association == 0 }
        guard !own.isEmpty else { return nil }
        self.designators = own
    }

    /// The designator people look for first, as udev's scsi_id and the kernel's `wwid` pick
    /// it: NAA (the longest, i.e. Registered Extended, first), then EUI-64, then the SCSI
    /// name string, then the T10 vendor ID.
    public var description: String { preferred?.description ?? "-" }

    private var preferred: DeviceDesignator? {
        let rank: [UInt8: Int] = [3: 0, 2: 1, 8: 2, 1: 3]
        return designators.min {
            (rank[$0.type] ?? 4, -$0.identifier.count) < (rank[$1.type] ?? 4, -$1.identifier.count)
        }
    }

    /// The identifier as udev's scsi_id writes it (`ID_SERIAL`), which multipath-tools takes
    /// as the WWID and names its maps by: the preferred designator's type digit, then NAA and
    /// EUI-64 in lowercase hex, a SCSI name string as it is, a T10 vendor ID with its runs of
    /// spaces as one "_". Nil for a designator type scsi_id does not use, and for a T10 vendor
    /// ID that names the vendor only (not unique). Never holds "/" (a device-mapper name may not).
    public var wwid: String? {
        guard let best = preferred else { return nil }
        let text: String
        switch best.type {
        case 2, 3: text = hexString(best.identifier)
        case 1:
            // The first 8 bytes are the vendor's name: with nothing after them (LIO without a
            // unit serial says only "LIO-ORG") every LUN of that vendor would have this name.
            guard best.identifier.dropFirst(8).contains(where: { $0 != 0x20 && $0 != 0 }) else { return nil }
            text = Self.underscored(best.identifier)
        case 8:
            text = Self.underscored(best.identifier)
        default: return nil
        }
        let clean = String(text.map { $0 == "/" || !$0.isASCII || $0.isWhitespace ? "_" : $0 })
        return clean.isEmpty ? nil : "\(best.type)" + clean
    }

    private static func underscored(_ identifier: [UInt8]) -> String {
        String(decoding: identifier.filter { $0 != 0 }, as: UTF8.self).split(whereSeparator: { $0 == " " }).joined(separator: "_")
    }

    /// The same logical unit: every designator type both name carries the same identifier,
    /// and they share at least one type. Nothing shared means nothing proves it is the same.
    public func isSameLogicalUnit(as other: LUNIdentity) -> Bool {
        var shared = false
        for mine in designators {
            let theirs = other.designators.filter { $0.type == mine.type && $0.codeSet == mine.codeSet }
            guard !theirs.isEmpty else { continue }
            shared = true
            guard theirs.contains(where: { $0.identifier == mine.identifier }) else { return false }
        }
        return shared
    }
}
