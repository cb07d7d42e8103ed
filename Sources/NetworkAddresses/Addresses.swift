/// IP and MAC address values shared by the boot plan and the network setup, parsed in pure
/// Swift (no `inet_pton`) so that malformed text is rejected rather than guessed at.

/// An IPv4 address, e.g. `192.168.50.1`.
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address in host order: `192.168.50.1` is `0xC0A8_3201`.
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses exactly four dot-separated decimal numbers 0-255 (no shorthand forms).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let octet = UInt8(part)
            else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.value = value
    }

    /// The four bytes in network order, as DHCP, rtnetlink and the iBFT carry them.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public static let any = IPv4Address(0)
    public static let broadcast = IPv4Address(UInt32.max)
    public static let loopback = IPv4Address(127, 0, 0, 1)

    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    public var description: String { bytes.map { String($0) }.joined(separator: ".") }

    /// The mask of a prefix length 0-32, e.g. 24 is 255.255.255.0.
    public static func netmask(prefixLength: UInt8) -> IPv4Address {
        IPv4Address(prefixLength == 0 ? 0 : UInt32.max << (32 - UInt32(min(prefixLength, 32))))
    }

    /// The prefix length of a contiguous netmask, or nil if the ones are not contiguous.
    public var prefixLengthOfNetmask: UInt8? {
        let ones = value.leadingZeroBitCount == 0 ? (~value).leadingZeroBitCount : 0
        return IPv4Address.netmask(prefixLength: UInt8(ones)) == self ? UInt8(ones) : nil
    }

    /// The first `prefixLength` bits of this address, the rest zero: the network it is in.
    public func masked(toPrefixLength prefixLength: UInt8) -> IPv4Address {
        IPv4Address(value & IPv4Address.netmask(prefixLength: prefixLength).value)
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}

/// An IPv6 address, e.g. `2001:db8::1`.
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes in network order.
    public var bytes: [UInt8]
    /// The zone of a scoped address (RFC 4007 §11): the interface a link-local address is
    /// reached through, by name (`eth0`) or index (`2`); nil when none was given.
    public var zone: String?

    public init?(bytes: some Collection<UInt8>, zone: String? = nil) {
        guard bytes.count == 16 else { return nil }
        self.bytes = Array(bytes)
        self.zone = zone
    }

    /// Parses the text as `init?(_:)` does, with an optional `%zone` after the address when
    /// `allowingZone` (a portal's host); a zone must be a valid interface name or index.
    public init?(_ text: some StringProtocol, allowingZone: Bool) {
        guard allowingZone, let percent = text.firstIndex(of: "%") else {
            self.init(text)
            return
        }
        let zone = text[text.index(after: percent)...]
        guard IPv6Address.isValidZone(zone), let address = IPv6Address(text[..<percent]) else { return nil }
        self = address
        self.zone = String(zone)
    }

    /// A Linux interface name (1-15 bytes without `/`, `:`, `%`, brackets or blanks, as
    /// `dev_valid_name` allows) or a decimal interface index.
    public static func isValidZone(_ zone: some StringProtocol) -> Bool {
        (1...15).contains(zone.utf8.count) && zone != "." && zone != ".."
            && zone.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && !"/:%[]".utf8.contains($0) }
    }

    /// fe80::/10, the addresses that need a zone to say which link they are on.
    public var isLinkLocal: Bool { bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 }

    /// The same address with `zone` (nil: without one).
    public func withZone(_ zone: String?) -> IPv6Address {
        var copy = self
        copy.zone = zone
        return copy
    }

    /// Parses RFC 4291 §2.2 text: eight groups of up to four hex digits, one `::` for a run of
    /// zero groups, and optionally a dotted IPv4 address as the last 32 bits.
    public init?(_ text: some StringProtocol) {
        var text = Substring(text)
        var tail: [UInt8] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = IPv4Address(text[text.index(after: lastColon)...]) else { return nil }
            tail = v4.bytes
            text = text[...lastColon]
            // "::1.2.3.4" and "a:b::1.2.3.4" keep their "::"; "a:b:c:d:e:f:1.2.3.4" drops the last colon.
            if !text.hasSuffix("::") { text = text.dropLast() }
        }
        func groups(_ part: Substring) -> [UInt8]? {
            if part.isEmpty { return [] }
            var result: [UInt8] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.utf8.count), let number = UInt16(group, radix: 16) else {
                    return nil
                }
                result += [UInt8(number >> 8), UInt8(number & 0xFF)]
            }
            return result
        }
        let halves = text.components(separatedBy: "::")
        var bytes: [UInt8]
        switch halves.count {
        case 1:
            guard let all = groups(halves[0]) else { return nil }
            bytes = all + tail
            guard bytes.count == 16 else { return nil }
        case 2:
            guard let head = groups(halves[0]), let rest = groups(halves[1]) else { return nil }
            let known = head.count + rest.count + tail.count
            guard known <= 14 else { return nil }
            bytes = head + [UInt8](repeating: 0, count: 16 - known) + rest + tail
        default:
            return nil
        }
        self.bytes = bytes
    }

    /// The IPv4 address inside `::ffff:a.b.c.d`, as iBFT stores IPv4 addresses.
    public var mappedIPv4: IPv4Address? {
        guard bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else {
            return nil
        }
        return IPv4Address(bytes[12], bytes[13], bytes[14], bytes[15])
    }

    /// RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero groups as `::`.
    public var description: String {
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            let start = index
            while index < 8, groups[index] == 0 { index += 1 }
            if index - start > bestLength {
                bestStart = start
                bestLength = index - start
            }
        }
        func text(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        let scope = zone.map { "%\($0)" } ?? ""
        guard bestStart >= 0 else { return text(0..<8) + scope }
        return text(0..<bestStart) + "::" + text((bestStart + bestLength)..<8) + scope
    }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses dotted IPv4, or IPv6 with or without square brackets; with `allowingZone`, an
    /// IPv6 address may end in `%zone` (`[fe80::1%eth0]`), as a portal's host may.
    public init?(_ text: some StringProtocol, allowingZone: Bool = false) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if text.hasPrefix("["), text.hasSuffix("]"),
            let v6 = IPv6Address(text.dropFirst().dropLast(), allowingZone: allowingZone)
        {
            self = .v6(v6)
        } else if let v6 = IPv6Address(text, allowingZone: allowingZone) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case .v4(let address): address.bytes
        case .v6(let address): address.bytes
        }
    }

    /// The address as it appears inside a URL or a colon-separated parameter: IPv6 in brackets.
    public var bracketed: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): "[\(address)]"
        }
    }

    public var isIPv6: Bool {
        if case .v6 = self { return true }
        return false
    }

    /// The longest prefix length this family allows: 32 or 128.
    public var maximumPrefixLength: UInt8 { isIPv6 ? 128 : 32 }

    /// Whether `other` lies in the same `prefixLength` network as this address.
    public func sharesNetwork(with other: IPAddress, prefixLength: UInt8) -> Bool {
        let (left, right): ([UInt8], [UInt8])
        switch (self, other) {
        case (.v4(let a), .v4(let b)): (left, right) = (a.bytes, b.bytes)
        case (.v6(let a), .v6(let b)): (left, right) = (a.bytes, b.bytes)
        default: return false
        }
        var remaining = Int(prefixLength)
        for (a, b) in zip(left, right) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }
}

/// An Ethernet MAC address, e.g. `52:54:00:12:34:00`.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Six hex pairs separated by `:` or `-`.
    public init?(_ text: some StringProtocol) {
        let separator: Character = text.contains("-") ? "-" : ":"
        let parts = text.split(separator: separator, omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...2).contains(part.utf8.count), let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    public var description: String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":") }
}

extension StringProtocol {
    /// The text split at every occurrence of `separator` (a string), keeping empty parts.
    func components(separatedBy separator: String) -> [Substring] {
        var parts: [Substring] = []
        var rest = Substring(self)
        while let range = rest.firstOccurrence(of: separator) {
            parts.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        parts.append(rest)
        return parts
    }

    /// Where `text` first occurs, compared character by character as `==` compares them.
    /// The standard library's `firstRange(of:)` and `contains(_:)` for strings come from
    /// _StringProcessing, which adds 1.3 MB to the static binary for these few searches.
    package func firstOccurrence(of text: some StringProtocol) -> Range<Index>? {
        var start = startIndex
        while true {
            var end = start
            var matched = true
            for character in text {
                guard end < endIndex, self[end] == character else {
                    matched = false
                    break
                }
                end = index(after: end)
            }
            if matched { return start..<end }
            guard start < endIndex else { return nil }
            start = index(after: start)
        }
    }
}
