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
    public var description: String {
        let rank: [UInt8: Int] = [3: 0, 2: 1, 8: 2, 1: 3]
        let best = designators.min {
            (rank[$0.type] ?? 4, -$0.identifier.count) < (rank[$1.type] ?? 4, -$1.identifier.count)
        }
        return best?.description ?? "-"
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
