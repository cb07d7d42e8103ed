/// The address values this module puts on the wire: parsed in pure Swift so that every
/// malformed text is rejected rather than guessed at.

/// An IPv4 address, e.g. `10.0.2.15`.
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address in host order: `10.0.2.15` is `0x0A00_020F`.
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// The four bytes in network order, as DHCP and rtnetlink carry them.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Parses exactly four dot-separated decimal numbers 0-255 (no shorthand such as `10.1`).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let octet = UInt8(part)
            else { return nil }
            octets.append(octet)
        }
        self.init(bytes: octets)
    }

    public static let any = IPv4Address(0)
    public static let broadcast = IPv4Address(UInt32.max)
    public static let loopback = IPv4Address(127, 0, 0, 1)

    public var bytes: [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

    public var description: String { bytes.map { String($0) }.joined(separator: ".") }

    /// The mask of a prefix length 0-32: 24 is 255.255.255.0.
    public static func netmask(prefixLength: UInt8) -> IPv4Address {
        IPv4Address(prefixLength == 0 ? 0 : UInt32.max << (32 - UInt32(min(prefixLength, 32))))
    }

    /// The prefix length of a contiguous netmask (255.255.255.0 is 24); nil when the ones are
    /// not contiguous, which RFC 950 netmasks in practice never are.
    public var prefixLengthOfNetmask: UInt8? {
        let ones = UInt8((~value).leadingZeroBitCount)
        return IPv4Address.netmask(prefixLength: ones) == self ? ones : nil
    }

    /// The first `prefixLength` bits of this address, the rest zero: the network it is in.
    public func masked(toPrefixLength prefixLength: UInt8) -> IPv4Address {
        IPv4Address(value & IPv4Address.netmask(prefixLength: prefixLength).value)
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}

/// An IPv6 address, e.g. `2001:db8::5`.
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes in network order.
    public let bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses RFC 4291 §2.2 text: up to eight groups of one to four hex digits with at most one
    /// `::` standing for a run of zero groups. (The embedded-IPv4 form is not accepted: an
    /// early-boot configuration has no use for it.)
    public init?(_ text: some StringProtocol) {
        func groups(_ part: Substring) -> [UInt8]? {
            if part.isEmpty { return [] }
            var result: [UInt8] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.utf8.count), let number = UInt16(group, radix: 16) else { return nil }
                result += [UInt8(number >> 8), UInt8(number & 0xFF)]
            }
            return result
        }
        let text = Substring(text)
        guard let doubleColon = text.firstRange(of: "::") else {
            guard let all = groups(text), all.count == 16 else { return nil }
            self.init(bytes: all)
            return
        }
        guard let head = groups(text[..<doubleColon.lowerBound]), let tail = groups(text[doubleColon.upperBound...]),
            !text[doubleColon.upperBound...].contains("::"), head.count + tail.count <= 14
        else { return nil }
        self.init(bytes: head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail)
    }

    /// RFC 5952 text: lower-case hex, leading zeros dropped, the longest run of two or more
    /// zero groups written `::`.
    public var description: String {
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > bestLength { (bestStart, bestLength) = (index, end - index) }
            index = max(end, index + 1)
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return hex.joined(separator: ":") }
        return hex[..<bestStart].joined(separator: ":") + "::" + hex[(bestStart + bestLength)...].joined(separator: ":")
    }
}

/// An IPv4 or IPv6 address, for the rtnetlink requests that take either.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses the IPv4 dotted form or the IPv6 colon form.
    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case .v4(let address): address.bytes
        case .v6(let address): address.bytes
        }
    }

    /// The longest prefix this family allows: 32 or 128.
    public var maximumPrefixLength: UInt8 {
        switch self {
        case .v4: 32
        case .v6: 128
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }
}

/// An Ethernet (IEEE 802) MAC address, e.g. `52:54:00:12:34:56`.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses six two-digit hex groups separated by `:` or `-` (either case), as `ip link`,
    /// iBFT tools and the kernel command line (`BOOTIF=01-52-54-…` after its type) write them.
    public init?(_ text: some StringProtocol) {
        let groups = text.split(omittingEmptySubsequences: false) { $0 == ":" || $0 == "-" }
        guard groups.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for group in groups {
            guard group.utf8.count == 2, let byte = UInt8(group, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.init(bytes: bytes)
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}
