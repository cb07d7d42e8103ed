/// The 48-byte Basic Header Segment every iSCSI PDU starts with (RFC 7143 §11.2.1).
///
/// Bytes 0–7 have the same meaning in every PDU (immediate bit, opcode, TotalAHSLength,
/// DataSegmentLength); the rest is laid out per opcode. Multi-byte fields are big-endian.
public struct BasicHeaderSegment: Equatable, Sendable {
    public static let length = 48

    public private(set) var bytes: [UInt8]

    public init() { bytes = [UInt8](repeating: 0, count: Self.length) }

    /// Wraps 48 bytes read from the wire; nil if `bytes` is not exactly 48 long.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = bytes
    }

    /// The six opcode bits of byte 0 (RFC 7143 §11.2.1.2).
    public var opcodeValue: UInt8 {
        get { bytes[0] & 0x3F }
        set { bytes[0] = (bytes[0] & 0xC0) | (newValue & 0x3F) }
    }

    /// The I bit: delivered for immediate delivery, not counted in CmdSN order.
    public var isImmediate: Bool {
        get { bytes[0] & 0x40 != 0 }
        set { bytes[0] = newValue ? bytes[0] | 0x40 : bytes[0] & ~0x40 }
    }

    /// TotalAHSLength, in bytes (the wire holds it in 4-byte words).
    public var additionalHeaderLength: Int {
        get { Int(bytes[4]) * 4 }
        set { bytes[4] = UInt8(truncatingIfNeeded: newValue / 4) }
    }

    /// DataSegmentLength: the payload's length without padding (24 bits).
    public var dataSegmentLength: Int {
        get { Int(bytes[5]) << 16 | Int(bytes[6]) << 8 | Int(bytes[7]) }
        set {
            bytes[5] = UInt8(truncatingIfNeeded: newValue >> 16)
            bytes[6] = UInt8(truncatingIfNeeded: newValue >> 8)
            bytes[7] = UInt8(truncatingIfNeeded: newValue)
        }
    }

    public subscript(byte offset: Int) -> UInt8 {
        get { bytes[offset] }
        set { bytes[offset] = newValue }
    }

    public func uint16(at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    public mutating func setUInt16(_ value: UInt16, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    public func uint32(at offset: Int) -> UInt32 {
        (offset..<offset + 4).reduce(0) { $0 << 8 | UInt32(bytes[$1]) }
    }

    public mutating func setUInt32(_ value: UInt32, at offset: Int) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (24 - 8 * index)) }
    }

    public func uint64(at offset: Int) -> UInt64 {
        (offset..<offset + 8).reduce(0) { $0 << 8 | UInt64(bytes[$1]) }
    }

    public mutating func setUInt64(_ value: UInt64, at offset: Int) {
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (56 - 8 * index)) }
    }

    public func slice(_ range: Range<Int>) -> [UInt8] { Array(bytes[range]) }

    public mutating func setSlice(_ value: [UInt8], at offset: Int) {
        bytes.replaceSubrange(offset..<offset + value.count, with: value)
    }
}

/// A BHS field: where it starts, and as what it is read and written (RFC 7143 §11).
struct HeaderField<Value: HeaderFieldValue>: Sendable {
    let offset: Int
    init(_ offset: Int) { self.offset = offset }
}

/// A value a BHS field holds, big-endian on the wire.
protocol HeaderFieldValue {
    init(_ header: BasicHeaderSegment, at offset: Int)
    func store(in header: inout BasicHeaderSegment, at offset: Int)
}

extension UInt8: HeaderFieldValue {
    init(_ header: BasicHeaderSegment, at offset: Int) { self = header[byte: offset] }
    func store(in header: inout BasicHeaderSegment, at offset: Int) { header[byte: offset] = self }
}

extension UInt16: HeaderFieldValue {
    init(_ header: BasicHeaderSegment, at offset: Int) { self = header.uint16(at: offset) }
    func store(in header: inout BasicHeaderSegment, at offset: Int) { header.setUInt16(self, at: offset) }
}

extension UInt32: HeaderFieldValue {
    init(_ header: BasicHeaderSegment, at offset: Int) { self = header.uint32(at: offset) }
    func store(in header: inout BasicHeaderSegment, at offset: Int) { header.setUInt32(self, at: offset) }
}

extension SequenceNumber: HeaderFieldValue {
    init(_ header: BasicHeaderSegment, at offset: Int) { self.init(header.uint32(at: offset)) }
    func store(in header: inout BasicHeaderSegment, at offset: Int) { header.setUInt32(rawValue, at: offset) }
}

extension LogicalUnit: HeaderFieldValue {
    init(_ header: BasicHeaderSegment, at offset: Int) { self.init(rawValue: header.uint64(at: offset)) }
    func store(in header: inout BasicHeaderSegment, at offset: Int) { header.setUInt64(rawValue, at: offset) }
}

extension BasicHeaderSegment {
    subscript<Value>(field: HeaderField<Value>) -> Value {
        get { Value(self, at: field.offset) }
        set { newValue.store(in: &self, at: field.offset) }
    }

    /// LUN, Initiator Task Tag and Target Transfer Tag: the task a PDU belongs to, and the
    /// target's handle for it, where the opcode has all three.
    var task: (LogicalUnit, UInt32, UInt32) {
        get { (self[Field.lun], self[Field.initiatorTaskTag], self[Field.targetTransferTag]) }
        set { (self[Field.lun], self[Field.initiatorTaskTag], self[Field.targetTransferTag]) = newValue }
    }

    /// CmdSN and ExpStatSN, as every initiator PDU that carries them has them.
    var initiatorSequence: (SequenceNumber, SequenceNumber) {
        get { (self[Field.cmdSN], self[Field.expStatSN]) }
        set { (self[Field.cmdSN], self[Field.expStatSN]) = newValue }
    }

    /// StatSN, ExpCmdSN and MaxCmdSN, as every target PDU that carries them has them.
    var targetSequence: (SequenceNumber, SequenceNumber, SequenceNumber) {
        get { (self[Field.statSN], self[Field.expCmdSN], self[Field.maxCmdSN]) }
        set { (self[Field.statSN], self[Field.expCmdSN], self[Field.maxCmdSN]) = newValue }
    }
}

/// The fields at the same place in every PDU that has them (RFC 7143 §11.2.1, §11.3–§11.19);
/// the rest of the 48 bytes is laid out per opcode, in each message's `Layout` (the Login
/// Request's and Response's in `LoginLayout`).
enum Field {
    /// Byte 1: the F bit (0x80) and the opcode-specific flags below it.
    static let flags = HeaderField<UInt8>(1)
    static let lun = HeaderField<LogicalUnit>(8)
    static let initiatorTaskTag = HeaderField<UInt32>(16)
    static let targetTransferTag = HeaderField<UInt32>(20)
    static let cmdSN = HeaderField<SequenceNumber>(24)
    static let statSN = HeaderField<SequenceNumber>(24)
    static let expStatSN = HeaderField<SequenceNumber>(28)
    static let expCmdSN = HeaderField<SequenceNumber>(28)
    static let maxCmdSN = HeaderField<SequenceNumber>(32)
    /// The SCSI Response's and the Task Management Response's Response; Logout Response's too.
    static let response = HeaderField<UInt8>(2)
    /// The SCSI status of a SCSI Response, or of a Data-In with the S bit.
    static let status = HeaderField<UInt8>(3)
    /// The CID of Login and Logout requests.
    static let cid = HeaderField<UInt16>(20)
    /// Of Data-In, Data-Out and Reject.
    static let dataSN = HeaderField<UInt32>(36)
    /// Of Data-In, Data-Out and R2T.
    static let bufferOffset = HeaderField<UInt32>(40)
    /// Of SCSI Response and Data-In.
    static let residualCount = HeaderField<UInt32>(44)
}
