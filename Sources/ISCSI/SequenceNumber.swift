/// A 32-bit sequence number compared with serial number arithmetic (RFC 1982, as RFC 7143
/// §4.2.2.1 requires for CmdSN, StatSN, DataSN and R2TSN), so ordering survives wrap-around.
public struct SequenceNumber: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// The next number, wrapping at 2^32.
    public func advanced(by count: UInt32 = 1) -> SequenceNumber { SequenceNumber(rawValue &+ count) }

    /// RFC 1982 §3.2: s1 < s2 when they differ and the forward distance from s1 to s2 is
    /// less than 2^31. At exactly 2^31 the comparison is undefined; we answer false both ways.
    public static func < (lhs: SequenceNumber, rhs: SequenceNumber) -> Bool {
        let distance = rhs.rawValue &- lhs.rawValue
        return distance != 0 && distance < 0x8000_0000
    }

    public static func <= (lhs: SequenceNumber, rhs: SequenceNumber) -> Bool { lhs == rhs || lhs < rhs }

    public static func > (lhs: SequenceNumber, rhs: SequenceNumber) -> Bool { rhs < lhs }

    public var description: String { String(rawValue) }
}
