import Testing

@testable import ISCSI

@Suite struct TextKeysTests {
    static let keyCharacters = Array(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-+@_")
    static let valueCharacters = Array("abcXYZ019 ,=:~.-é€😀")

    static func randomPairs(_ generator: inout SeededGenerator) -> [TextPair] {
        (0..<Int.random(in: 0...12, using: &generator)).map { _ in
            let key = String(
                (0..<Int.random(in: 1...TextKeys.maximumKeyLength, using: &generator)).map { _ in
                    keyCharacters.randomElement(using: &generator)!
                })
            let value = String(
                (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                    valueCharacters.randomElement(using: &generator)!
                })
            return TextPair(key, value)
        }
    }

    @Test func encodesEachPairWithNUL() {
        let text = TextKeys.encode([TextPair("HeaderDigest", "None"), TextPair("MaxConnections", "1")])
        #expect(text == Array("HeaderDigest=None\0MaxConnections=1\0".utf8))
    }

    @Test func decodesVector() throws {
        let pairs = try TextKeys.decode(
            Array("TargetPortalGroupTag=1\0AuthMethod=CHAP\0TargetAlias=\0".utf8))
        #expect(
            pairs == [
                TextPair("TargetPortalGroupTag", "1"), TextPair("AuthMethod", "CHAP"),
                TextPair("TargetAlias", ""),
            ])
    }

    @Test func keepsRepeatedKeysAndEqualsInValues() throws {
        let pairs = try TextKeys.decode(
            Array(
                "TargetName=iqn.a\0TargetAddress=10.0.0.1:3260,1\0TargetAddress=[fe80::1]:3260,1\0X-a=b=c\0"
                    .utf8))
        #expect(pairs.map(\.key) == ["TargetName", "TargetAddress", "TargetAddress", "X-a"])
        #expect(pairs[3].value == "b=c")
    }

    @Test func emptyTextHasNoPairs() throws {
        #expect(try TextKeys.decode([UInt8]()) == [])
    }

    @Test func acceptsIANAExtensionKey() throws {
        #expect(try TextKeys.decode(Array("X#example=1\0".utf8)) == [TextPair("X#example", "1")])
    }

    @Test func roundTripsGeneratedPairs() throws {
        var generator = SeededGenerator(seed: 0x1C5C_5100_7A11)
        for _ in 0..<500 {
            let pairs = Self.randomPairs(&generator)
            #expect(try TextKeys.decode(TextKeys.encode(pairs)) == pairs)
        }
    }

    @Test func continuationAcrossEverySplitPoint() throws {
        let pairs = [TextPair("CHAP_A", "5"), TextPair("CHAP_I", "220"), TextPair("CHAP_C", "0x0102")]
        let text = TextKeys.encode(pairs)
        for split in 0...text.count {
            var accumulator = TextAccumulator()
            #expect(try accumulator.append(text[..<split], isFinal: false) == nil)
            #expect(try accumulator.append(text[split...], isFinal: true) == pairs)
        }
    }

    @Test func segmentsReassembleAtRandomSizes() throws {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<200 {
            let pairs = Self.randomPairs(&generator)
            let text = TextKeys.encode(pairs)
            let limit = Int.random(in: 1...64, using: &generator)
            let segments = TextKeys.segments(text, maximumSegmentLength: limit)
            #expect(segments.allSatisfy { $0.count <= limit })
            var accumulator = TextAccumulator()
            var decoded: [TextPair]?
            for (index, segment) in segments.enumerated() {
                decoded = try accumulator.append(segment, isFinal: index == segments.count - 1)
            }
            #expect(decoded == pairs)
        }
    }

    @Test func emptyTextIsOneEmptySegment() {
        #expect(TextKeys.segments([], maximumSegmentLength: 8192) == [[]])
        #expect(TextKeys.segments([1, 2, 3], maximumSegmentLength: 0) == [[1], [2], [3]])
    }

    @Test func accumulatorIsBoundedAndResets() throws {
        var accumulator = TextAccumulator(maximumTextLength: 16)
        #expect(try accumulator.append([UInt8](repeating: 0x41, count: 10), isFinal: false) == nil)
        #expect(throws: TextKeyError.textTooLong(length: 20, limit: 16)) {
            try accumulator.append([UInt8](repeating: 0x41, count: 10), isFinal: false)
        }
        #expect(try accumulator.append(Array("a=b\0".utf8), isFinal: true) == [TextPair("a", "b")])
        #expect(TextAccumulator().maximumTextLength == 65_536)
    }

    @Test(arguments: [
        ("HeaderDigest\0", TextKeyError.missingEquals(text: "HeaderDigest", offset: 0)),
        ("a=1\0=None\0", .emptyKey(offset: 4)),
        ("Bad Key=1\0", .invalidKeyCharacter(key: "Bad Key", offset: 0)),
        ("a#b=1\0", .invalidKeyCharacter(key: "a#b", offset: 0)),
        ("a=1", .missingFinalNUL(length: 3)),
        ("a=1\0\0", .missingEquals(text: "", offset: 4)),
    ])
    func rejectsMalformedText(text: String, error: TextKeyError) {
        #expect(throws: error) { try TextKeys.decode(Array(text.utf8)) }
    }

    @Test func rejectsOverlongKeyAndValue() {
        let key = String(repeating: "k", count: 64)
        #expect(
            throws: TextKeyError.keyTooLong(
                key: String(repeating: "k", count: 63) + "…", length: 64, offset: 0)
        ) {
            try TextKeys.decode(Array("\(key)=1\0".utf8))
        }
        let value = String(repeating: "v", count: TextKeys.maximumValueLength + 1)
        #expect(throws: TextKeyError.valueTooLong(key: "CHAP_C", length: 8193, offset: 0)) {
            try TextKeys.decode(Array("CHAP_C=\(value)\0".utf8))
        }
        #expect(throws: Never.self) {
            try TextKeys.decode(
                Array("CHAP_C=\(String(repeating: "v", count: TextKeys.maximumValueLength))\0".utf8))
        }
    }

    @Test func rejectsNonUTF8Value() {
        #expect(throws: TextKeyError.valueNotUTF8(key: "TargetAlias", offset: 0)) {
            try TextKeys.decode(Array("TargetAlias=".utf8) + [0xC3, 0x28, 0])
        }
    }

    @Test func errorsNeverShowSecretValues() {
        let secretish = "CHAP_R0x00112233445566778899aabbccddeeff"
        do {
            _ = try TextKeys.decode(Array("\(secretish)\0".utf8))
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("0x0011"))
            #expect(error.description.contains("CHAP_"))
        }
        #expect(TextPair("CHAP_R", "0x00").description == "CHAP_R=(hidden)")
        #expect(TextPair("HeaderDigest", "None").description == "HeaderDigest=None")
    }

    @Test func unprintableKeyBytesAreEscaped() {
        #expect(throws: TextKeyError.invalidKeyCharacter(key: "a\\x01", offset: 0)) {
            try TextKeys.decode([0x61, 0x01, UInt8(ascii: "="), 0x31, 0])
        }
    }

    @Test func binaryValuesParseHexAndBase64() throws {
        #expect(try BinaryValue.decode("0x00ffAB") == [0x00, 0xFF, 0xAB])
        #expect(try BinaryValue.decode("0XaB") == [0xAB])
        #expect(try BinaryValue.decode("0bAQID") == [1, 2, 3])
        #expect(try BinaryValue.decode("0BAQI=") == [1, 2])
        #expect(try BinaryValue.decode("0bAQ==") == [1])
        #expect(BinaryValue.encodeHex([0x00, 0xFF, 0xAB]) == "0x00ffab")
    }

    @Test(arguments: [
        ("00ff", BinaryValueError.missingPrefix),
        ("0z00", .missingPrefix),
        ("0x", .empty),
        ("0xabc", .oddHexLength(digits: 3)),
        ("0x0g", .invalidHexCharacter(offset: 3)),
        ("0bAQI", .invalidBase64),
        ("0bA===", .invalidBase64),
        ("0bAQ=I", .invalidBase64),
        ("0bAQ!=", .invalidBase64),
    ])
    func rejectsBadBinaryValues(text: String, error: BinaryValueError) {
        #expect(throws: error) { try BinaryValue.decode(text) }
    }

    @Test func binaryValuesRoundTrip() throws {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 1...64, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            #expect(try BinaryValue.decode(BinaryValue.encodeHex(bytes)) == bytes)
        }
    }
}
