/// A SCSI logical unit number: the 8-byte SAM LUN (SAM-5 §4.7) as PDUs, REPORT LUNS data and
/// the iBFT carry it, held as one big-endian 64-bit value. The one LUN type of the project:
/// the boot configuration's grammars produce it and the initiator sends it.
public struct LogicalUnit: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The 8 SAM bytes in their order on the wire (REPORT LUNS, iBFT); shorter input is
    /// padded with zero bytes at the end, longer input is cut to 8.
    public init(sam bytes: some Collection<UInt8>) {
        var value: UInt64 = 0
        var count = 0
        for byte in bytes.prefix(8) {
            value = value << 8 | UInt64(byte)
            count += 1
        }
        rawValue = count == 0 ? 0 : value << (8 * UInt64(8 - count))
    }

    /// The LUN a person types: 0–255 in peripheral device addressing, 256–16383 in flat
    /// space addressing (SAM-5 §4.7.7), as Linux and tgt encode them.
    public init(_ number: Int) {
        if number < 256 {
            rawValue = UInt64(number) << 48
        } else {
            rawValue = (0x4000 | UInt64(number & 0x3FFF)) << 48
        }
    }

    /// The 8 SAM bytes, most significant first.
    public var samBytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: rawValue >> (56 - 8 * UInt64($0))) }
    }

    /// The number a person reads, for single-level peripheral and flat addressing; nil for
    /// hierarchical or extended forms.
    public var number: Int? {
        guard rawValue & 0x0000_FFFF_FFFF_FFFF == 0 else { return nil }
        let firstLevel = rawValue >> 48
        switch firstLevel >> 14 {
        case 0b00 where firstLevel >> 8 == 0: return Int(firstLevel & 0xFF)
        case 0b01: return Int(firstLevel & 0x3FFF)
        default: return nil
        }
    }

    /// RFC 4173's form: four dash-separated groups of four hex digits, which the boot
    /// configuration's grammars read back.
    public var hexForm: String {
        let bytes = samBytes
        return (0..<4).map { hexString(bytes[(2 * $0)..<(2 * $0 + 2)]) }.joined(separator: "-")
    }

    /// Decimal when it has a plain number, else the RFC 4173 hex form.
    public var description: String { number.map { String($0) } ?? hexForm }
}
