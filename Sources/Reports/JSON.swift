/// A JSON value for `--json` output, rendered without Foundation. Object keys keep the
/// order they were given in, so output is stable for scripts and tests.
public indirect enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Int)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool { lhs.rendered() == rhs.rendered() }

    /// Compact or indented (two spaces) text.
    public func rendered(indent: Int? = 2) -> String {
        var output = ""
        write(into: &output, indent: indent, depth: 0)
        return output
    }

    private func write(into output: inout String, indent: Int?, depth: Int) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .number(let value): output += String(value)
        case .string(let value): JSON.quote(value, into: &output)
        case .array(let items):
            writeContainer(open: "[", close: "]", items.map { (nil, $0) }, into: &output, indent: indent, depth: depth)
        case .object(let members):
            writeContainer(open: "{", close: "}", members.map { ($0.0, $0.1) }, into: &output, indent: indent, depth: depth)
        }
    }

    private func writeContainer(
        open: String, close: String, _ members: [(String?, JSON)], into output: inout String, indent: Int?, depth: Int
    ) {
        output += open
        guard !members.isEmpty else {
            output += close
            return
        }
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (depth + 1)) } ?? ""
        for (index, (key, value)) in members.enumerated() {
            if index > 0 { output += "," }
            output += newline
            if let key {
                JSON.quote(key, into: &output)
                output += indent == nil ? ":" : ": "
            }
            value.write(into: &output, indent: indent, depth: depth + 1)
        }
        output += indent.map { "\n" + String(repeating: " ", count: $0 * depth) } ?? ""
        output += close
    }

    /// RFC 8259 §7 string escaping.
    private static func quote(_ text: String, into output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

extension String {
    /// The string left-aligned in a column of `width` characters (at least one space after).
    public func padded(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
