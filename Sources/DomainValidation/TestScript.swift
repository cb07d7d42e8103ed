import ISCSI

/// `--script 'CMD ARGS… {device}'`: the user's test operation, run without a shell (the
/// user writes `sh -c '…'` to have one). Words are split as a shell would split plain
/// words: on blanks, with '…' and "…" quoting and \ escaping one character.
public struct TestScript: Sendable, Equatable {
    public static let placeholder = "{device}"

    public let words: [String]

    public init(_ text: String) throws(TestScriptError) {
        var words: [String] = []
        var word: [Character] = []
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                word.append(character)
                escaped = false
                continue
            }
            if let open = quote {
                if character == open {
                    quote = nil
                } else if character == "\\" && open == "\"" {
                    escaped = true
                } else {
                    word.append(character)
                }
                continue
            }
            switch character {
            case " ", "\t", "\n":
                if inWord { words.append(String(word)) }
                word = []
                inWord = false
            case "'", "\"":
                quote = character
                inWord = true
            case "\\":
                escaped = true
                inWord = true
            default:
                word.append(character)
                inWord = true
            }
        }
        if let open = quote { throw TestScriptError("--script: the quote \(open) is never closed in \(text)") }
        if escaped { throw TestScriptError("--script: a \\ ends \(text) with nothing to escape") }
        if inWord { words.append(String(word)) }
        guard !words.isEmpty else { throw TestScriptError("--script needs a command (e.g. --script 'my-check {device}')") }
        self.words = words
    }

    /// The program's arguments (the program first) for `device`: each `{device}` replaced,
    /// or the device appended as the last argument when no word holds the placeholder.
    public func arguments(device: String) -> [String] {
        let placeholder = Array(Self.placeholder.utf8)
        var replaced = false
        var result: [String] = []
        for word in words {
            let bytes = Array(word.utf8)
            guard bytes.byteRange(of: placeholder) != nil else {
                result.append(word)
                continue
            }
            replaced = true
            result.append(String(decoding: bytes.replacingBytes(placeholder, with: Array(device.utf8)), as: UTF8.self))
        }
        return replaced ? result : result + [device]
    }

    /// `DVT_<KEY>=value` for each negotiated key (the key's name in capitals), then
    /// DVT_DEVICE and DVT_COMBINATION (1-based), added to the inherited environment.
    public static func environment(negotiated: [(SweepKey, String)], device: String, combination: Int) -> [String] {
        negotiated.map { "DVT_\($0.0.rawValue.uppercased())=\($0.1)" } + ["DVT_DEVICE=\(device)", "DVT_COMBINATION=\(combination)"]
    }

    /// The last `count` non-empty lines of `output` (decoded leniently), each cut to 200
    /// characters: what a failed script said last goes into the report.
    public static func lastLines(_ output: [UInt8], count: Int = 5) -> [String] {
        let lines = output.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
            .filter { !$0.allSatisfy { $0 == " " || $0 == "\r" || $0 == "\t" } }
        return lines.suffix(count).map { $0.count > 200 ? String($0.prefix(200)) + "…" : $0 }
    }
}

/// A `--script` text that cannot be run.
public struct TestScriptError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Array where Element == UInt8 {
    /// Where `pattern` first occurs (plain search; the arrays are short).
    func byteRange(of pattern: [UInt8]) -> Range<Int>? {
        guard !pattern.isEmpty, pattern.count <= count else { return nil }
        for start in 0...(count - pattern.count) where self[start..<start + pattern.count].elementsEqual(pattern) {
            return start..<start + pattern.count
        }
        return nil
    }

    /// Every occurrence of `pattern` replaced by `replacement`.
    func replacingBytes(_ pattern: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var rest = self[...]
        while let range = Array(rest).byteRange(of: pattern) {
            result += rest.prefix(range.lowerBound)
            result += replacement
            rest = rest.dropFirst(range.upperBound)
        }
        return result + rest
    }
}
