/// Text that is not the JSON `JSON.read` accepts: where (a byte offset) and why.
public struct JSONReadError: Error, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "JSON at byte \(offset): \(reason)" }
}

extension JSON {
    /// How deeply arrays and objects may nest; deeper input is refused rather than
    /// recursed into, so no input can exhaust the stack.
    public static let maximumDepth = 32

    /// Reads one JSON value (RFC 8259), strictly: nothing but white space around it, no
    /// duplicate keys, no lone surrogates, valid UTF-8. Numbers are integers, as every
    /// number this agent writes is; a fraction or exponent is refused with that reason.
    public static func read(_ text: String) throws(JSONReadError) -> JSON { try read(bytes: Array(text.utf8)) }

    /// `read` of text as it arrived, not yet known to be UTF-8.
    public static func read(bytes: [UInt8]) throws(JSONReadError) -> JSON {
        var reader = JSONReader(bytes: bytes)
        reader.skipWhiteSpace()
        let value = try reader.value(depth: 0)
        reader.skipWhiteSpace()
        guard reader.offset == reader.bytes.count else { throw reader.error("text after the value") }
        return value
    }

    /// The member `key` of an object; nil for a missing key or a value that is no object.
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
}

private struct JSONReader {
    let bytes: [UInt8]
    var offset = 0

    func error(_ reason: String) -> JSONReadError { JSONReadError(offset: offset, reason: reason) }

    var next: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    mutating func skipWhiteSpace() {
        while let byte = next, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { offset += 1 }
    }

    mutating func expect(_ literal: String) throws(JSONReadError) {
        for byte in literal.utf8 {
            guard next == byte else { throw error("expected \(literal)") }
            offset += 1
        }
    }

    mutating func value(depth: Int) throws(JSONReadError) -> JSON {
        switch next {
        case nil: throw error("the text ends where a value was expected")
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        case let byte? where byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
            return .number(try number())
        case let byte?: throw error("unexpected character 0x\(String(byte, radix: 16)) where a value was expected")
        }
    }

    mutating func object(depth: Int) throws(JSONReadError) -> JSON {
        var members: [(String, JSON)] = []
        try container(closedBy: "}", named: "an object", depth: depth) { reader throws(JSONReadError) in
            guard reader.next == UInt8(ascii: "\"") else { throw reader.error("expected a quoted key") }
            let keyOffset = reader.offset
            let key = try reader.string()
            guard !members.contains(where: { $0.0 == key }) else {
                throw JSONReadError(offset: keyOffset, reason: "the key \"\(key)\" appears twice")
            }
            reader.skipWhiteSpace()
            try reader.expect(":")
            reader.skipWhiteSpace()
            members.append((key, try reader.value(depth: depth)))
        }
        return .object(members)
    }

    mutating func array(depth: Int) throws(JSONReadError) -> JSON {
        var items: [JSON] = []
        try container(closedBy: "]", named: "an array", depth: depth) { reader throws(JSONReadError) in
            items.append(try reader.value(depth: depth))
        }
        return .array(items)
    }

    /// The comma-separated elements of an object or array, each read by `element`, up to
    /// and including `close`; the opening bracket is the next byte.
    mutating func container(
        closedBy close: Unicode.Scalar, named name: String, depth: Int,
        _ element: (inout JSONReader) throws(JSONReadError) -> Void
    ) throws(JSONReadError) {
        guard depth <= JSON.maximumDepth else { throw error("nested deeper than \(JSON.maximumDepth) levels") }
        offset += 1
        skipWhiteSpace()
        if next == UInt8(ascii: close) {
            offset += 1
            return
        }
        while true {
            skipWhiteSpace()
            try element(&self)
            skipWhiteSpace()
            if next == UInt8(ascii: close) {
                offset += 1
                return
            }
            guard next == UInt8(ascii: ",") else { throw error("expected , or \(close) in \(name)") }
            offset += 1
        }
    }

    /// `-? (0 | [1-9][0-9]*)`, within the range of Int.
    mutating func number() throws(JSONReadError) -> Int {
        let start = offset
        let negative = next == UInt8(ascii: "-")
        if negative { offset += 1 }
        var magnitude: UInt64 = 0
        var digits = 0
        while let byte = next, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            if digits == 1 && magnitude == 0 { throw error("a number with a leading zero") }
            let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2, sum <= UInt64(Int.max) + (negative ? 1 : 0) else {
                throw JSONReadError(offset: start, reason: "a number outside the range of a 64-bit integer")
            }
            magnitude = sum
            digits += 1
            offset += 1
        }
        guard digits > 0 else { throw error("a number without digits") }
        if let byte = next, byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            throw error("a number with a fraction or exponent (only integers are read)")
        }
        return negative ? Int(truncatingIfNeeded: 0 &- magnitude) : Int(magnitude)
    }

    mutating func string() throws(JSONReadError) -> String {
        offset += 1
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        // Unescaped bytes are collected and checked as UTF-8 together; an invalid run is
        // reported where it starts.
        func flush(_ reader: JSONReader, _ run: inout [UInt8], into scalars: inout String.UnicodeScalarView) throws(JSONReadError) {
            guard !run.isEmpty else { return }
            guard let text = String(validating: run, as: UTF8.self) else {
                throw JSONReadError(offset: reader.offset - run.count, reason: "a string that is not valid UTF-8")
            }
            scalars.append(contentsOf: text.unicodeScalars)
            run.removeAll()
        }
        while true {
            guard let byte = next else { throw error("a string without its closing quote") }
            switch byte {
            case UInt8(ascii: "\""):
                try flush(self, &run, into: &scalars)
                offset += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flush(self, &run, into: &scalars)
                offset += 1
                scalars.append(try escape())
            case 0..<0x20:
                throw error("a control character 0x\(String(byte, radix: 16)) inside a string")
            default:
                run.append(byte)
                offset += 1
            }
        }
    }

    /// The character after a backslash (RFC 8259 §7), the backslash consumed.
    mutating func escape() throws(JSONReadError) -> Unicode.Scalar {
        guard let byte = next else { throw error("a string that ends inside an escape") }
        offset += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let first = try hexQuad()
            if (0xDC00...0xDFFF).contains(first) { throw error("a lone low surrogate \\u\(String(first, radix: 16))") }
            guard (0xD800...0xDBFF).contains(first) else { return Unicode.Scalar(first)! }
            guard next == UInt8(ascii: "\\") else { throw error("a high surrogate without its low surrogate") }
            offset += 1
            try expect("u")
            let second = try hexQuad()
            guard (0xDC00...0xDFFF).contains(second) else { throw error("a high surrogate without its low surrogate") }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
        default:
            offset -= 1
            throw error("an unknown escape \\\(Unicode.Scalar(byte))")
        }
    }

    mutating func hexQuad() throws(JSONReadError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = next, let digit = hexDigit(byte) else { throw error("\\u without four hex digits") }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }

    func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
