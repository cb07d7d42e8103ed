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
