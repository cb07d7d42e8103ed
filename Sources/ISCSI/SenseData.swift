/// Sense data in fixed (0x70/0x71) or descriptor (0x72/0x73) format (SPC-4 §4.5), reduced
/// to what a person needs: the sense key and the additional sense code with its meaning.
public struct SenseData: Equatable, Sendable, CustomStringConvertible {
    public var senseKey: UInt8
    public var additionalSenseCode: UInt8
    public var additionalSenseCodeQualifier: UInt8
    /// Deferred errors (0x71/0x73) report an earlier command's failure.
    public var deferred: Bool

    /// Nil when `bytes` is empty or not a sense format this decoder knows.
    public init?(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return nil }
        switch first & 0x7F {
        case 0x70, 0x71:
            guard bytes.count >= 14 else { return nil }
            senseKey = bytes[2] & 0x0F
            additionalSenseCode = bytes[12]
            additionalSenseCodeQualifier = bytes[13]
        case 0x72, 0x73:
            guard bytes.count >= 4 else { return nil }
            senseKey = bytes[1] & 0x0F
            additionalSenseCode = bytes[2]
            additionalSenseCodeQualifier = bytes[3]
        default:
            return nil
        }
        deferred = first & 0x7F == 0x71 || first & 0x7F == 0x73
    }

    public static let unitAttention: UInt8 = 0x6

    public var senseKeyName: String {
        let names = [
            "NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR", "HARDWARE ERROR", "ILLEGAL REQUEST",
            "UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK", "VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND",
            "RESERVED", "VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
        ]
        return names[Int(senseKey)]
    }

    /// SPC-4 annex D, the codes a target commonly returns to an initiator like ours.
    public var additionalSenseText: String? {
        switch (additionalSenseCode, additionalSenseCodeQualifier) {
        case (0x04, 0x00): "logical unit not ready, cause not reportable"
        case (0x04, 0x01): "logical unit is in process of becoming ready"
        case (0x04, 0x02): "logical unit not ready, initializing command required"
        case (0x04, 0x03): "logical unit not ready, manual intervention required"
        case (0x04, 0x0A): "logical unit not accessible, asymmetric access state transition"
        case (0x04, 0x0B): "logical unit not accessible, target port in standby state"
        case (0x04, 0x0C): "logical unit not accessible, target port in unavailable state"
        case (0x11, 0x00): "unrecovered read error"
        case (0x1A, 0x00): "parameter list length error"
        case (0x20, 0x00): "invalid command operation code"
        case (0x21, 0x00): "logical block address out of range"
        case (0x24, 0x00): "invalid field in cdb"
        case (0x25, 0x00): "logical unit not supported"
        case (0x26, 0x00): "invalid field in parameter list"
        case (0x27, 0x00): "write protected"
        case (0x28, 0x00): "not ready to ready change, medium may have changed"
        case (0x29, 0x00): "power on, reset, or bus device reset occurred"
        case (0x29, 0x01): "power on occurred"
        case (0x29, 0x07): "i_t nexus loss occurred"
        case (0x2A, 0x01): "mode parameters changed"
        case (0x2A, 0x09): "capacity data has changed"
        case (0x3A, 0x00): "medium not present"
        case (0x3F, 0x0E): "reported luns data has changed"
        case (0x44, 0x00): "internal target failure"
        case (0x47, 0x00): "scsi parity error"
        case (0x49, 0x00): "invalid message error"
        case (0x4B, 0x00): "data phase error"
        case (0x55, 0x03): "insufficient resources"
        default: nil
        }
    }

    public var description: String {
        let code = "ASC/ASCQ 0x\(hexByte(additionalSenseCode))/0x\(hexByte(additionalSenseCodeQualifier))"
        let meaning = additionalSenseText.map { ": \($0)" } ?? ""
        return "\(deferred ? "deferred " : "")\(senseKeyName), \(code)\(meaning)"
    }
}
