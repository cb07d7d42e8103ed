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

    public static let illegalRequest: UInt8 = 0x5

    /// SPC-4 annex D names of the codes a target commonly returns to an initiator like ours.
    public var additionalSenseText: String? {
        switch (additionalSenseCode, additionalSenseCodeQualifier) {
        case (0x00, 0x00): "NO ADDITIONAL SENSE INFORMATION"
        case (0x04, 0x00): "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE"
        case (0x04, 0x01): "LOGICAL UNIT IS IN PROCESS OF BECOMING READY"
        case (0x04, 0x02): "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED"
        case (0x04, 0x03): "LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED"
        case (0x04, 0x0A): "LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION"
        case (0x04, 0x0B): "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE"
        case (0x04, 0x0C): "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE"
        case (0x08, 0x00): "LOGICAL UNIT COMMUNICATION FAILURE"
        case (0x0C, 0x00): "WRITE ERROR"
        case (0x11, 0x00): "UNRECOVERED READ ERROR"
        case (0x1A, 0x00): "PARAMETER LIST LENGTH ERROR"
        case (0x20, 0x00): "INVALID COMMAND OPERATION CODE"
        case (0x21, 0x00): "LOGICAL BLOCK ADDRESS OUT OF RANGE"
        case (0x24, 0x00): "INVALID FIELD IN CDB"
        case (0x25, 0x00): "LOGICAL UNIT NOT SUPPORTED"
        case (0x26, 0x00): "INVALID FIELD IN PARAMETER LIST"
        case (0x27, 0x00): "WRITE PROTECTED"
        case (0x28, 0x00): "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED"
        case (0x29, 0x00): "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED"
        case (0x29, 0x01): "POWER ON OCCURRED"
        case (0x29, 0x02): "SCSI BUS RESET OCCURRED"
        case (0x29, 0x03): "BUS DEVICE RESET FUNCTION OCCURRED"
        case (0x29, 0x07): "I_T NEXUS LOSS OCCURRED"
        case (0x2A, 0x01): "MODE PARAMETERS CHANGED"
        case (0x2A, 0x09): "CAPACITY DATA HAS CHANGED"
        case (0x2C, 0x00): "COMMAND SEQUENCE ERROR"
        case (0x31, 0x00): "MEDIUM FORMAT CORRUPTED"
        case (0x3A, 0x00): "MEDIUM NOT PRESENT"
        case (0x3F, 0x0E): "REPORTED LUNS DATA HAS CHANGED"
        case (0x44, 0x00): "INTERNAL TARGET FAILURE"
        case (0x47, 0x00): "SCSI PARITY ERROR"
        case (0x49, 0x00): "INVALID MESSAGE ERROR"
        case (0x4B, 0x00): "DATA PHASE ERROR"
        case (0x4E, 0x00): "OVERLAPPED COMMANDS ATTEMPTED"
        case (0x55, 0x03): "INSUFFICIENT RESOURCES"
        default: nil
        }
    }

    /// The codes as SPC-4 writes them, e.g. `21h/00h`.
    public var codes: String { "\(hexByte(additionalSenseCode).uppercased())h/\(hexByte(additionalSenseCodeQualifier).uppercased())h" }

    /// "ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)"; codes without a name
    /// in the table as "ASC/ASCQ 55h/07h" (80h and up are vendor specific, SPC-4 §4.5.2.1).
    public var description: String {
        let meaning =
            additionalSenseText.map { "\($0) (\(codes))" }
            ?? (additionalSenseCode >= 0x80 ? "vendor-specific ASC/ASCQ \(codes)" : "ASC/ASCQ \(codes)")
        return "\(deferred ? "deferred " : "")\(senseKeyName), \(meaning)"
    }
}
