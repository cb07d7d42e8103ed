import ISCSI

/// A SCSI command for the full feature phase, with the data it moves.
public struct SCSIRequest: Sendable {
    /// What the command moves: nothing, up to `length` bytes from the target, or `bytes` to it.
    public enum Transfer: Sendable {
        case none
        case read(length: Int)
        case write([UInt8])
    }

    /// The command's name for messages ("READ (10)").
    public var name: String
    public var cdb: [UInt8]
    public var lun: LogicalUnit
    public var transfer: Transfer

    public init(name: String, cdb: [UInt8], lun: LogicalUnit, transfer: Transfer) {
        self.name = name
        self.cdb = cdb
        self.lun = lun
        self.transfer = transfer
    }

    /// READ of `blocks` blocks at `lba`: READ (10) when the address and count fit its fields
    /// and `sixteenByteCDB` is false, else READ (16) (SBC-3 §5.11, §5.13).
    public static func read(
        lba: UInt64, blocks: Int, blockLength: Int, lun: LogicalUnit, sixteenByteCDB: Bool = false
    ) -> SCSIRequest {
        let length = blocks * blockLength
        if !sixteenByteCDB, let lba = UInt32(exactly: lba), let count = UInt16(exactly: blocks) {
            return SCSIRequest(name: "READ (10)", cdb: CDB.read10(lba: lba, blocks: count), lun: lun, transfer: .read(length: length))
        }
        let count = UInt32(clamping: blocks)
        return SCSIRequest(name: "READ (16)", cdb: CDB.read16(lba: lba, blocks: count), lun: lun, transfer: .read(length: length))
    }

    /// WRITE of `data` (a whole number of blocks) at `lba`, as WRITE (10) or WRITE (16)
    /// (SBC-3 §5.32, §5.34).
    public static func write(
        lba: UInt64, data: [UInt8], blockLength: Int, lun: LogicalUnit, sixteenByteCDB: Bool = false
    ) -> SCSIRequest {
        let blocks = data.count / max(1, blockLength)
        if !sixteenByteCDB, let lba = UInt32(exactly: lba), let count = UInt16(exactly: blocks) {
            return SCSIRequest(name: "WRITE (10)", cdb: CDB.write10(lba: lba, blocks: count), lun: lun, transfer: .write(data))
        }
        let count = UInt32(clamping: blocks)
        return SCSIRequest(name: "WRITE (16)", cdb: CDB.write16(lba: lba, blocks: count), lun: lun, transfer: .write(data))
    }

    /// Bytes the target sends us at most.
    var readLength: Int {
        if case .read(let length) = transfer { return length }
        return 0
    }

    /// Bytes we send the target.
    var writeData: [UInt8] {
        if case .write(let bytes) = transfer { return bytes }
        return []
    }
}
