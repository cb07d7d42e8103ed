/// The kernel command line split into parameters with the kernel's own rules
/// (`next_arg()` in lib/cmdline.c and kernel/params.c):
/// - parameters are separated by whitespace outside double quotes;
/// - a double quote toggles quoting; a leading quote of the whole parameter or of its value,
///   and the matching trailing quote, are removed (`key="a b"` has the value `a b`);
/// - a bare `--` ends the kernel's parameters: the rest belongs to init;
/// - a key may repeat; every occurrence is kept, in order.
public struct KernelCommandLine: Sendable, Equatable {
    public struct Parameter: Sendable, Equatable {
        /// The text before the first `=`.
        public var key: String
        /// The text after the first `=`, or nil for a bare flag such as `ro`.
        public var value: String?

        public init(key: String, value: String?) {
            self.key = key
            self.value = value
        }

        /// The parameter as a person wrote it: `key=` or `key` for a flag.
        public var name: String { value == nil ? key : key + "=" }
    }

    public var parameters: [Parameter]
    /// The words after `--`, passed to init.
    public var initArguments: [String]

    public init(parameters: [Parameter], initArguments: [String] = []) {
        self.parameters = parameters
        self.initArguments = initArguments
    }

    public init(parsing text: String) {
        self.init(bytes: Array(text.utf8))
    }

    /// Splits raw bytes (e.g. `/proc/cmdline`); invalid UTF-8 becomes U+FFFD, never a crash.
    public init(bytes: [UInt8]) {
        var parameters: [Parameter] = []
        var initArguments: [String] = []
        var index = 0
        var endOfKernelParameters = false
        while true {
            while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
            guard index < bytes.count else { break }
            let word = Self.nextWord(bytes, from: &index)
            if endOfKernelParameters {
                initArguments.append(
                    String(
                        decoding: word.key + (word.value.map { [UInt8(ascii: "=")] + $0 } ?? []), as: UTF8.self)
                )
                continue
            }
            if word.value == nil, word.key == Array("--".utf8) {
                endOfKernelParameters = true
                continue
            }
            parameters.append(
                Parameter(
                    key: String(decoding: word.key, as: UTF8.self),
                    value: word.value.map { String(decoding: $0, as: UTF8.self) }))
        }
        self.init(parameters: parameters, initArguments: initArguments)
    }

    /// Every value of `key`, in command-line order (flags without `=` give "").
    public func values(of key: String) -> [String] {
        parameters.filter { $0.key == key }.map { $0.value ?? "" }
    }

    /// Whether `key` appears at all, with or without a value.
    public func contains(_ key: String) -> Bool {
        parameters.contains { $0.key == key }
    }

    /// The kernel's `isspace()`: space, \t, \n, \v, \f, \r.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    /// One parameter starting at `index` (not a space), as `next_arg()` cuts it.
    private static func nextWord(_ bytes: [UInt8], from index: inout Int) -> (
        key: [UInt8], value: [UInt8]?
    ) {
        let quote = UInt8(ascii: "\"")
        var start = index
        var inQuote = false
        var wholeWordQuoted = false
        if bytes[start] == quote {
            start += 1
            inQuote = true
            wholeWordQuoted = true
        }
        var end = start
        var equals: Int?
        while end < bytes.count {
            let byte = bytes[end]
            if isSpace(byte) && !inQuote { break }
            if equals == nil, byte == UInt8(ascii: "=") { equals = end }
            if byte == quote { inQuote.toggle() }
            end += 1
        }
        index = end
        var word = Array(bytes[start..<end])
        guard let equals else {
            if wholeWordQuoted, word.last == quote { word.removeLast() }
            return (word, nil)
        }
        let key = Array(word[..<(equals - start)])
        var value = Array(word[(equals - start + 1)...])
        if value.first == quote {
            value.removeFirst()
            if value.last == quote { value.removeLast() }
        } else if wholeWordQuoted, value.last == quote {
            value.removeLast()
        }
        return (key, value)
    }
}
