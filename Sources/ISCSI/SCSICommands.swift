/// Command Descriptor Blocks for the SCSI commands the initiator issues (SPC-4, SBC-3).
public enum CDB {
    /// TEST UNIT READY (SPC-4 §6.47).
    public static func testUnitReady() -> [UInt8] { [0x00, 0, 0, 0, 0, 0] }

    /// Standard INQUIRY data (SPC-4 §6.6).
    public static func inquiry(allocationLength: UInt16 = 96) -> [UInt8] {
        [0x12, 0, 0, UInt8(allocationLength >> 8), UInt8(allocationLength & 0xFF), 0]
    }

    /// INQUIRY for a vital product data page (EVPD=1): 0x00 supported pages, 0x80 unit
    /// serial number, 0x83 device identification.
    public static func inquiry(vitalProductDataPage page: UInt8, allocationLength: UInt16 = 255) -> [UInt8] {
        [0x12, 0x01, page, UInt8(allocationLength >> 8), UInt8(allocationLength & 0xFF), 0]
    }

    /// REPORT LUNS, select report 0: all logical units (SPC-4 §6.33).
    public static func reportLUNs(allocationLength: UInt32 = 4096) -> [UInt8] {
        var cdb = [UInt8](repeating: 0, count: 12)
        cdb[0] = 0xA0
        cdb.store(allocationLength, at: 6)
        return cdb
    }

    /// READ CAPACITY (16): SERVICE ACTION IN (16) with service action 0x10 (SBC-3 §5.16).
    public static func readCapacity16(allocationLength: UInt32 = 32) -> [UInt8] {
        var cdb = [UInt8](repeating: 0, count: 16)
        cdb[0] = 0x9E
        cdb[1] = 0x10
        cdb.store(allocationLength, at: 10)
        return cdb
    }

    /// READ (10) of `blocks` blocks at `lba` (SBC-3 §5.11).
    public static func read10(lba: UInt32, blocks: UInt16) -> [UInt8] { transfer10(opcode: 0x28, lba: lba, blocks: blocks) }

    /// WRITE (10) (SBC-3 §5.32).
    public static func write10(lba: UInt32, blocks: UInt16) -> [UInt8] { transfer10(opcode: 0x2A, lba: lba, blocks: blocks) }

    /// READ (16) (SBC-3 §5.13).
    public static func read16(lba: UInt64, blocks: UInt32) -> [UInt8] { transfer16(opcode: 0x88, lba: lba, blocks: blocks) }

    /// WRITE (16) (SBC-3 §5.34).
    public static func write16(lba: UInt64, blocks: UInt32) -> [UInt8] { transfer16(opcode: 0x8A, lba: lba, blocks: blocks) }

    private static func transfer10(opcode: UInt8, lba: UInt32, blocks: UInt16) -> [UInt8] {
        var cdb = [UInt8](repeating: 0, count: 10)
        cdb[0] = opcode
        cdb.store(lba, at: 2)
        cdb[7] = UInt8(blocks >> 8)
        cdb[8] = UInt8(blocks & 0xFF)
        return cdb
    }

    private static func transfer16(opcode: UInt8, lba: UInt64, blocks: UInt32) -> [UInt8] {
        var cdb = [UInt8](repeating: 0, count: 16)
        cdb[0] = opcode
        cdb.store(UInt32(lba >> 32), at: 2)
        cdb.store(UInt32(truncatingIfNeeded: lba), at: 6)
        cdb.store(blocks, at: 10)
        return cdb
    }
}

extension [UInt8] {
    mutating func store(_ value: UInt32, at offset: Int) {
        for index in 0..<4 { self[offset + index] = UInt8(truncatingIfNeeded: value >> (24 - 8 * index)) }
    }
}

/// SCSI status codes (SAM-5 §5.3.1) with their names for messages.
public enum SCSIStatus {
    public static let good: UInt8 = 0x00
    public static let checkCondition: UInt8 = 0x02

    public static func name(_ status: UInt8) -> String {
        switch status {
        case 0x00: "GOOD"
        case 0x02: "CHECK CONDITION"
        case 0x04: "CONDITION MET"
        case 0x08: "BUSY"
        case 0x18: "RESERVATION CONFLICT"
        case 0x28: "TASK SET FULL"
        case 0x30: "ACA ACTIVE"
        case 0x40: "TASK ABORTED"
        default: "status 0x" + String(status, radix: 16)
        }
    }

    /// A command's ending for messages: "GOOD", "BUSY", or with its sense data
    /// "CHECK CONDITION: ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)".
    public static func describe(_ status: UInt8, sense: SenseData?) -> String {
        if let sense { return "\(name(status)): \(sense)" }
        return status == checkCondition ? "CHECK CONDITION without sense data" : name(status)
    }
}
