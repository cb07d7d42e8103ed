import Testing

@testable import BootConfig

/// `firstOccurrence(of:)`, the search the parsers use instead of _StringProcessing's
/// `firstRange(of:)`, which the static binary leaves out (1.3 MB).
@Suite struct TextSearchTests {
    @Test(arguments: [
        ("abc", "", 0..<0), ("abc", "a", 0..<1), ("abc", "bc", 1..<3), ("abc", "abc", 0..<3),
        ("aab", "ab", 1..<3), ("ababc", "abc", 2..<5), ("2001:db8::1", "::", 8..<10),
    ])
    func finds(text: String, needle: String, offsets: Range<Int>) throws {
        let range = try #require(text.firstOccurrence(of: needle))
        #expect(text.distance(from: text.startIndex, to: range.lowerBound) == offsets.lowerBound)
        #expect(text.distance(from: text.startIndex, to: range.upperBound) == offsets.upperBound)
    }

    @Test(arguments: [("abc", "abcd"), ("abc", "x"), ("", "a"), ("ab", "ba"), ("a:b", "::")])
    func absent(text: String, needle: String) {
        #expect(text.firstOccurrence(of: needle) == nil)
    }

    /// Every string of up to 6 characters over "a", ":" and "é" against `firstRange(of:)`, in a
    /// substring too (its indices are those of the base string).
    @Test func agreesWithFirstRange() {
        let alphabet: [Character] = ["a", ":", "é"]
        var texts = [""]
        var longest = [""]
        for _ in 0..<6 {
            longest = longest.flatMap { text in alphabet.map { text + String($0) } }
            texts += longest
        }
        for text in texts {
            for needle in ["a", "::", "a:", "éa", ":é:"] {
                #expect(text.firstOccurrence(of: needle) == text.firstRange(of: needle), "\(text) \(needle)")
                let tail = text.dropFirst()
                #expect(tail.firstOccurrence(of: needle) == tail.firstRange(of: needle), "\(text) \(needle)")
            }
        }
    }
}
