/// One `key=value` pair of a Login or Text PDU's data segment (RFC 7143 §6.1).
///
/// The whole module names a pair `TextPair`. Keys are case-sensitive; the value is kept as
/// sent (a list stays "CRC32C,None"), and the negotiation layer interprets it.
public struct TextPair: Hashable, Sendable, CustomStringConvertible {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }

    /// `key=value`, except that values of `CHAP_` keys (derived from secrets) are hidden.
    public var description: String {
        TextKeys.isSecretDerived(key) ? "\(key)=(hidden)" : "\(key)=\(value)"
    }
}

/// Why a text could not be decoded. Descriptions quote the offending key but never a value,
/// so nothing derived from a CHAP secret reaches a log.
public enum TextKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A pair without `=`; `text` is a printable prefix of the pair (see `TextKeys.quotedKey`).
    case missingEquals(text: String, offset: Int)
    case emptyKey(offset: Int)
    case invalidKeyCharacter(key: String, offset: Int)
    case keyTooLong(key: String, length: Int, offset: Int)
    case valueTooLong(key: String, length: Int, offset: Int)
    case valueNotUTF8(key: String, offset: Int)
    /// The text did not end with the NUL that terminates every pair.
    case missingFinalNUL(length: Int)
    /// A text spread over PDUs with the C bit grew beyond the accumulator's bound.
    case textTooLong(length: Int, limit: Int)

    public var description: String {
        switch self {
        case .missingEquals(let text, let offset):
            "text pair at byte \(offset) has no '=': \"\(text)\""
        case .emptyKey(let offset):
            "text pair at byte \(offset) has an empty key"
        case .invalidKeyCharacter(let key, let offset):
            "key \"\(key)\" at byte \(offset) has a character outside a-z A-Z 0-9 . - + @ _ (RFC 7143 §6.1)"
        case .keyTooLong(let key, let length, let offset):
            "key \"\(key)\" at byte \(offset) is \(length) bytes long; at most \(TextKeys.maximumKeyLength) are allowed (RFC 7143 §6.1)"
        case .valueTooLong(let key, let length, let offset):
            "the value of key \"\(key)\" at byte \(offset) is \(length) bytes long; at most \(TextKeys.maximumValueLength) are accepted"
        case .valueNotUTF8(let key, let offset):
            "the value of key \"\(key)\" at byte \(offset) is not UTF-8 (RFC 7143 §6.1)"
        case .missingFinalNUL(let length):
            "the \(length)-byte text does not end with NUL; every key=value pair must be NUL-terminated (RFC 7143 §6.1)"
        case .textTooLong(let length, let limit):
            "the text continued over several PDUs reached \(length) bytes; at most \(limit) are accepted"
        }
    }
}

/// The `key=value` text codec of Login and Text PDUs (RFC 7143 §6.1).
public enum TextKeys {
    /// RFC 7143 §6.1: "A key name ... MUST NOT exceed 63 bytes".
    public static let maximumKeyLength = 63
    /// RFC 7143 §6.1 limits a simple value to 255 bytes, but binary values are longer: a CHAP
    /// challenge of 1024 bytes (the most tgt and open-iscsi accept) is 2050 characters in hex.
    /// 8192 is the amount of key=value text RFC 7143 §6.1 requires every peer to accept, so
    /// no legitimate single value is longer. Each key's own range is checked by negotiation.
    public static let maximumValueLength = 8192

    /// The text for `pairs`: each `key=value` followed by NUL. Keys and values come from this
    /// program (table constants, configured names) and are not validated here.
    public static func encode(_ pairs: [TextPair]) -> [UInt8] {
        var text: [UInt8] = []
        for pair in pairs {
            text += pair.key.utf8
            text.append(UInt8(ascii: "="))
            text += pair.value.utf8
            text.append(0)
        }
        return text
    }

    /// The pairs of a complete text, in order, repeated keys kept (a SendTargets response
    /// repeats TargetName and TargetAddress). An empty text has no pairs.
    public static func decode(_ bytes: some Collection<UInt8>) throws(TextKeyError) -> [TextPair] {
        let text = Array(bytes)
        guard let last = text.last else { return [] }
        guard last == 0 else { throw .missingFinalNUL(length: text.count) }
        var pairs: [TextPair] = []
        var start = 0
        while start < text.count {
            // The final byte is NUL, so a terminator always exists from any start.
            let end = text[start...].firstIndex(of: 0) ?? text.count
            pairs.append(try decodePair(text[start..<end], offset: start))
            start = end + 1
        }
        return pairs
    }

    /// Splits an encoded text into data segments of at most `maximumSegmentLength` bytes
    /// (the peer's MaxRecvDataSegmentLength). All but the last are sent with the C bit; a
    /// boundary may fall inside a pair (RFC 7143 §11.12.2, §11.10.2). An empty text is one
    /// empty segment, so a PDU is still sent.
    public static func segments(_ text: [UInt8], maximumSegmentLength: Int) -> [[UInt8]] {
        let length = max(1, maximumSegmentLength)
        guard !text.isEmpty else { return [[]] }
        return stride(from: 0, to: text.count, by: length).map { start in
            Array(text[start..<min(start + length, text.count)])
        }
    }

    /// Whether values of `key` are derived from a CHAP secret or challenge and must not be
    /// shown (RFC 7143 §12.1.3).
    public static func isSecretDerived(_ key: String) -> Bool {
        key.hasPrefix("CHAP_")
    }

    private static func decodePair(_ pair: ArraySlice<UInt8>, offset: Int) throws(TextKeyError)
        -> TextPair
    {
        guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else {
            // Without '=' a CHAP_ key cannot be told apart from its value: show the prefix only.
            let secretPrefix = "CHAP_".utf8
            let shown = pair.starts(with: secretPrefix) ? "CHAP_…" : quotedKey(pair)
            throw .missingEquals(text: shown, offset: offset)
        }
        let keyBytes = pair[..<equals]
        let valueBytes = pair[(equals + 1)...]
        guard !keyBytes.isEmpty else { throw .emptyKey(offset: offset) }
        let quoted = quotedKey(keyBytes)
        guard keyBytes.count <= maximumKeyLength else {
            throw .keyTooLong(key: quoted, length: keyBytes.count, offset: offset)
        }
        guard isValidKey(keyBytes) else { throw .invalidKeyCharacter(key: quoted, offset: offset) }
        guard valueBytes.count <= maximumValueLength else {
            throw .valueTooLong(key: quoted, length: valueBytes.count, offset: offset)
        }
        guard let value = String(validating: valueBytes, as: UTF8.self) else {
            throw .valueNotUTF8(key: quoted, offset: offset)
        }
        // The key is ASCII (checked above), so this decoding is exact.
        return TextPair(String(decoding: keyBytes, as: UTF8.self), value)
    }

    /// RFC 7143 §6.1 key characters; `#` only in the `X#` prefix of IANA-registered
    /// extension keys (RFC 7143 §13.5.2 names them `X#<IANA-registered-string>`).
    private static func isValidKey(_ key: ArraySlice<UInt8>) -> Bool {
        key.indices.allSatisfy { index in
            let byte = key[index]
            if byte == UInt8(ascii: "#") {
                return index == key.startIndex + 1 && key.first == UInt8(ascii: "X")
            }
            return isKeyCharacter(byte)
        }
    }

    private static func isKeyCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"),
            UInt8(ascii: "+"), UInt8(ascii: "@"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }

    /// A key (or a pair with no `=`) made safe to print: at most `maximumKeyLength` bytes,
    /// non-printable bytes as `\xNN`.
    static func quotedKey(_ bytes: ArraySlice<UInt8>) -> String {
        var quoted = ""
        for byte in bytes.prefix(maximumKeyLength) {
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\"") {
                quoted.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                quoted += "\\x" + hexByte(byte)
            }
        }
        return bytes.count > maximumKeyLength ? quoted + "…" : quoted
    }

}

/// Collects the data segments of a text sent over several PDUs (C bit set on all but the
/// last, RFC 7143 §11.10.2 / §11.13.2) and decodes it once the final one arrives.
///
/// The total is bounded so that a peer that never clears the C bit cannot make us buffer
/// without end.
public struct TextAccumulator: Sendable {
    /// 64 KiB: eight times the 8192 bytes RFC 7143 §6.1 requires a peer to accept in one
    /// negotiation sequence, ample for any SendTargets answer of a boot target.
    public static let defaultMaximumTextLength = 65_536

    public let maximumTextLength: Int
    private var pending: [UInt8] = []

    public init(maximumTextLength: Int = TextAccumulator.defaultMaximumTextLength) {
        self.maximumTextLength = maximumTextLength
    }

    /// Adds one PDU's data segment. Returns the decoded pairs when `isFinal` (C bit clear),
    /// `nil` while more is expected. After a result or an error the accumulator is empty.
    public mutating func append(_ segment: some Collection<UInt8>, isFinal: Bool) throws(TextKeyError)
        -> [TextPair]?
    {
        let length = pending.count + segment.count
        guard length <= maximumTextLength else {
            pending = []
            throw .textTooLong(length: length, limit: maximumTextLength)
        }
        pending += segment
        guard isFinal else { return nil }
        let text = pending
        pending = []
        return try TextKeys.decode(text)
    }
}

/// Why a binary value (RFC 7143 §6.1) could not be decoded. Never quotes the value: binary
/// values are CHAP challenges and responses.
public enum BinaryValueError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingPrefix
    case empty
    case oddHexLength(digits: Int)
    case invalidHexCharacter(offset: Int)
    case invalidBase64

    public var description: String {
        switch self {
        case .missingPrefix:
            "a binary value must start with 0x (hexadecimal) or 0b (base64) (RFC 7143 §6.1)"
        case .empty: "the binary value has no digits"
        case .oddHexLength(let digits): "the hexadecimal value has an odd number of digits (\(digits))"
        case .invalidHexCharacter(let offset):
            "the hexadecimal value has a non-hex character at position \(offset)"
        case .invalidBase64: "the base64 value is not valid RFC 4648 base64 with padding"
        }
    }
}

/// Binary values of text keys (RFC 7143 §6.1): `0x` + hexadecimal or `0b` + base64 (RFC 4648
/// with padding); the prefix and hex digits in either case.
public enum BinaryValue {
    /// The bytes of `text`. RFC 7143 §6.1 lets an odd-length hex string stand for a leading
    /// zero nibble, but every CHAP implementation (tgt, LIO, SCST, open-iscsi) sends whole
    /// bytes, so an odd length is treated as a damaged value rather than guessed at.
    public static func decode(_ text: String) throws(BinaryValueError) -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "0") else { throw .missingPrefix }
        let digits = utf8[2...]
        guard !digits.isEmpty else { throw .empty }
        switch utf8[1] | 0x20 {
        case UInt8(ascii: "x"): return try decodeHex(digits)
        case UInt8(ascii: "b"): return try decodeBase64(digits)
        default: throw .missingPrefix
        }
    }

    /// `0x` and lowercase hexadecimal digits, the form open-iscsi and tgt send.
    public static func encodeHex(_ bytes: some Sequence<UInt8>) -> String {
        "0x" + hexString(bytes)
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        hexValue(byte) != nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func decodeHex(_ digits: ArraySlice<UInt8>) throws(BinaryValueError) -> [UInt8] {
        guard digits.count.isMultiple(of: 2) else { throw .oddHexLength(digits: digits.count) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = hexValue(digits[index]) else { throw .invalidHexCharacter(offset: index) }
            guard let low = hexValue(digits[index + 1]) else {
                throw .invalidHexCharacter(offset: index + 1)
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func base64Value(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(byte - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    /// RFC 4648 §4: groups of four characters, `=` padding only at the end of the last group.
    private static func decodeBase64(_ characters: ArraySlice<UInt8>) throws(BinaryValueError)
        -> [UInt8]
    {
        guard characters.count.isMultiple(of: 4) else { throw .invalidBase64 }
        let padding = characters.reversed().prefix(while: { $0 == UInt8(ascii: "=") }).count
        guard padding <= 2 else { throw .invalidBase64 }
        var bytes: [UInt8] = []
        var group: UInt32 = 0
        for (position, character) in characters.dropLast(padding).enumerated() {
            guard let value = base64Value(character) else { throw .invalidBase64 }
            group = group << 6 | value
            if position % 4 == 3 {
                bytes += [
                    UInt8(truncatingIfNeeded: group >> 16), UInt8(truncatingIfNeeded: group >> 8),
                    UInt8(truncatingIfNeeded: group),
                ]
                group = 0
            }
        }
        // The last group had 4 - padding characters: 2 give one byte, 3 give two.
        switch padding {
        case 1:
            bytes += [UInt8(truncatingIfNeeded: group >> 10), UInt8(truncatingIfNeeded: group >> 2)]
        case 2: bytes.append(UInt8(truncatingIfNeeded: group >> 4))
        default: break
        }
        return bytes
    }
}
