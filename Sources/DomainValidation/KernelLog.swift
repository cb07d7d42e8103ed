/// Kernel log records (`/dev/kmsg`: "PRIORITY,SEQUENCE,MICROSECONDS,FLAGS;MESSAGE") and the
/// ones that concern one combination's session.
public struct KernelLogRecord: Sendable, Equatable {
    public var priority: Int
    public var sequence: UInt64
    public var microseconds: UInt64
    public var message: String

    /// nil for a line that is not a record (a continuation line starts with a blank).
    public init?(_ line: [UInt8]) {
        guard let semicolon = line.firstIndex(of: UInt8(ascii: ";")) else { return nil }
        let fields = line[..<semicolon].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard fields.count >= 3, let level = Self.number(fields[0]), let sequence = Self.number(fields[1]),
            let microseconds = Self.number(fields[2])
        else { return nil }
        // The facility is in the bits above the level.
        priority = Int(level & 7)
        self.sequence = sequence
        self.microseconds = microseconds
        // The message ends at the first newline; the lines after it (" SUBSYSTEM=scsi", …)
        // are the record's dictionary.
        let text = line[(semicolon + 1)...].prefix { $0 != UInt8(ascii: "\n") }
        message = String(decoding: text, as: UTF8.self)
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 19 else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + UInt64(digit - UInt8(ascii: "0"))
        }
        return value
    }

    /// "[  12.345678] message", as dmesg shows it.
    public var shown: String {
        let fraction = String(microseconds % 1_000_000)
        return "[\(microseconds / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)] \(message)"
    }
}

/// What names one session in kernel messages: `session7`, `connection7:0`, the SCSI host
/// (`host3`, `scsi3`, addresses `3:0:0:1`) and the disk (`sdb`, `[sdb]`).
public struct SessionMentions: Sendable, Equatable {
    public var sessionID: UInt32
    public var hostNumber: UInt32
    public var disk: String?

    public init(sessionID: UInt32, hostNumber: UInt32, disk: String?) {
        self.sessionID = sessionID
        self.hostNumber = hostNumber
        self.disk = disk
    }

    /// Whether `message` names this session, its host or its disk. A name counts only as a
    /// whole word: `session1` is not `session12`, `sdb` is not `sdba`.
    public func match(_ message: String) -> Bool {
        let text = Array(message.utf8)
        var names = ["session\(sessionID)", "connection\(sessionID):", "host\(hostNumber)", "scsi\(hostNumber)", "\(hostNumber):0:"]
        if let disk { names.append(disk) }
        return names.contains { Self.containsWord(text, Array($0.utf8)) }
    }

    private static func isNameCharacter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    static func containsWord(_ text: [UInt8], _ word: [UInt8]) -> Bool {
        guard !word.isEmpty, word.count <= text.count else { return false }
        for start in 0...(text.count - word.count) where text[start..<start + word.count].elementsEqual(word) {
            let before = start == 0 ? nil : text[start - 1]
            let after = start + word.count < text.count ? text[start + word.count] : nil
            // A name ending in ':' ends itself; otherwise the next character must not go on.
            let endsWord = word.last == UInt8(ascii: ":") || after.map { !isNameCharacter($0) } ?? true
            if before.map({ !isNameCharacter($0) }) ?? true, endsWord { return true }
        }
        return false
    }
}
