/// An 8-byte SAM LUN as carried in PDUs and REPORT LUNS data (SAM-5 §4.7).
public struct LogicalUnit: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The LUN a person types: 0–255 in peripheral device addressing, 256–16383 in flat
    /// space addressing (SAM-5 §4.7.7), as Linux and tgt encode them.
    public init(_ number: Int) {
        if number < 256 {
            rawValue = UInt64(number) << 48
        } else {
            rawValue = (0x4000 | UInt64(number & 0x3FFF)) << 48
        }
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

    public var description: String {
        if let number { return String(number) }
        return "0x" + String(rawValue, radix: 16)
    }
}
