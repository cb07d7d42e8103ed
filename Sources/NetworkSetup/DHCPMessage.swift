import NetworkAddresses
/// A DHCP message (RFC 2131 §2, figure 1) with its options (RFC 2132), encoded and decoded
/// in pure Swift. Decoding checks every length before reading, so a malformed packet is an
/// error value, never a trap.
public struct DHCPMessage: Equatable, Sendable {
    /// `op`: 1 BOOTREQUEST (client to server), 2 BOOTREPLY.
    public enum Operation: UInt8, Sendable {
        case request = 1
        case reply = 2
    }

    public var operation: Operation
    /// `xid`: chosen by the client, echoed by the server.
    public var transactionID: UInt32
    /// `secs`: seconds since the client began acquiring the address.
    public var secondsElapsed: UInt16
    /// The BROADCAST bit of `flags` (RFC 2131 §4.1): ask the server to broadcast its reply.
    public var broadcastFlag: Bool
    /// `ciaddr`: the client's address, only when it already has one (renewal).
    public var clientAddress: IPv4Address
    /// `yiaddr`: the address the server offers or assigns.
    public var yourAddress: IPv4Address
    /// `siaddr`: the next server in the boot (TFTP), not necessarily the DHCP server.
    public var nextServerAddress: IPv4Address
    /// `giaddr`: the relay agent's address.
    public var relayAgentAddress: IPv4Address
    /// `chaddr` up to `hlen` bytes (6 for Ethernet, `htype` 1).
    public var clientHardwareAddress: [UInt8]
    /// `sname` and `file` when they are not overloaded with options (RFC 2132 §9.3).
    public var serverName: String
    public var bootFileName: String
    public var options: DHCPOptions

    public init(
        operation: Operation, transactionID: UInt32, secondsElapsed: UInt16 = 0, broadcastFlag: Bool = false,
        clientAddress: IPv4Address = .any, yourAddress: IPv4Address = .any,
        nextServerAddress: IPv4Address = .any, relayAgentAddress: IPv4Address = .any,
        clientHardwareAddress: [UInt8], serverName: String = "", bootFileName: String = "",
        options: DHCPOptions
    ) {
        self.operation = operation
        self.transactionID = transactionID
        self.secondsElapsed = secondsElapsed
        self.broadcastFlag = broadcastFlag
        self.clientAddress = clientAddress
        self.yourAddress = yourAddress
        self.nextServerAddress = nextServerAddress
        self.relayAgentAddress = relayAgentAddress
        self.clientHardwareAddress = clientHardwareAddress
        self.serverName = serverName
        self.bootFileName = bootFileName
        self.options = options
    }

    /// RFC 2131 §3: the first four bytes of the options field, 99.130.83.99.
    static let magicCookie: [UInt8] = [99, 130, 83, 99]
    /// Offsets of the fixed fields (RFC 2131 figure 1).
    static let serverNameRange = 44..<108
    static let bootFileRange = 108..<236
    /// Where the options start, after the magic cookie at 236.
    static let optionsOffset = 240
    /// RFC 1542 §3.1.1 (and RFC 2131 §2): relays and old servers drop BOOTP messages shorter
    /// than 300 bytes, so requests are padded to that.
    static let minimumLength = 300
    /// `htype` for 10 Mb Ethernet, which all Ethernet speeds use (RFC 1700 "Hardware Type").
    static let ethernetHardwareType: UInt8 = 1

    /// The message as sent on the wire: fixed fields, the magic cookie, the options (each
    /// longer than 255 bytes split as RFC 3396 says), END, padding to 300 bytes.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [operation.rawValue, Self.ethernetHardwareType, UInt8(min(clientHardwareAddress.count, 16)), 0]
        bytes += bigEndianBytes(transactionID)
        bytes += bigEndianBytes(secondsElapsed)
        bytes += bigEndianBytes(broadcastFlag ? UInt16(0x8000) : 0)
        for address in [clientAddress, yourAddress, nextServerAddress, relayAgentAddress] {
            bytes += address.bytes
        }
        bytes += fixedField(clientHardwareAddress, length: 16)
        bytes += fixedField(Array(serverName.utf8), length: Self.serverNameRange.count)
        bytes += fixedField(Array(bootFileName.utf8), length: Self.bootFileRange.count)
        bytes += Self.magicCookie
        for (code, data) in options.entries {
            var rest = data[...]
            repeat {
                let chunk = rest.prefix(255)
                bytes += [code, UInt8(chunk.count)] + chunk
                rest = rest.dropFirst(chunk.count)
            } while !rest.isEmpty
        }
        bytes.append(DHCPOptionCode.end)
        if bytes.count < Self.minimumLength {
            bytes += [UInt8](repeating: DHCPOptionCode.pad, count: Self.minimumLength - bytes.count)
        }
        return bytes
    }

    /// Reads a message; throws which rule a malformed one breaks.
    public init(decoding bytes: some Collection<UInt8>) throws(DHCPDecodingError) {
        let bytes = Array(bytes)
        guard bytes.count >= Self.optionsOffset else { throw .truncated(length: bytes.count) }
        guard let operation = Operation(rawValue: bytes[0]) else { throw .unknownOperation(bytes[0]) }
        let hardwareLength = Int(bytes[2])
        guard hardwareLength <= 16 else { throw .hardwareAddressTooLong(hardwareLength) }
        guard Array(bytes[236..<240]) == Self.magicCookie else { throw .badMagicCookie }
        func address(at offset: Int) -> IPv4Address { IPv4Address(bytes: bytes[offset..<offset + 4])! }

        // RFC 3396 §5: options from `options`, then `file`, then `sname`, as overload says.
        var options = try DHCPOptions(decodingField: bytes[Self.optionsOffset...], field: "options")
        let overload = options.value(of: DHCPOptionCode.optionOverload)?.first ?? 0
        if overload & 1 != 0 {
            options.merge(try DHCPOptions(decodingField: bytes[Self.bootFileRange], field: "file"))
        }
        if overload & 2 != 0 {
            options.merge(try DHCPOptions(decodingField: bytes[Self.serverNameRange], field: "sname"))
        }
        self.init(
            operation: operation,
            transactionID: bytes[4..<8].reduce(0) { $0 << 8 | UInt32($1) },
            secondsElapsed: UInt16(bytes[8]) << 8 | UInt16(bytes[9]),
            broadcastFlag: bytes[10] & 0x80 != 0,
            clientAddress: address(at: 12), yourAddress: address(at: 16),
            nextServerAddress: address(at: 20), relayAgentAddress: address(at: 24),
            clientHardwareAddress: Array(bytes[28..<28 + hardwareLength]),
            serverName: overload & 2 != 0 ? "" : nulTerminatedText(bytes[Self.serverNameRange]),
            bootFileName: overload & 1 != 0 ? "" : nulTerminatedText(bytes[Self.bootFileRange]),
            options: options)
    }
}

/// Why a received DHCP packet was rejected.
public enum DHCPDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Shorter than the 236 fixed bytes plus the magic cookie.
    case truncated(length: Int)
    /// `op` is neither BOOTREQUEST nor BOOTREPLY.
    case unknownOperation(UInt8)
    /// `hlen` is larger than the 16-byte `chaddr` field.
    case hardwareAddressTooLong(Int)
    /// The options field does not start with 99.130.83.99.
    case badMagicCookie
    /// An option's length byte is missing or runs past the end of its field.
    case optionOverrunsField(code: UInt8, field: String)

    public var description: String {
        switch self {
        case .truncated(let length): "truncated DHCP message (\(length) bytes, at least 240 expected)"
        case .unknownOperation(let operation): "unknown BOOTP op \(operation)"
        case .hardwareAddressTooLong(let length): "hlen \(length) exceeds the 16-byte chaddr field"
        case .badMagicCookie: "no DHCP magic cookie (a plain BOOTP packet?)"
        case .optionOverrunsField(let code, let field): "option \(code) runs past the end of the \(field) field"
        }
    }
}

/// The options of a message, in the order first seen, each code once (RFC 3396: several
/// instances of one code are one option, their data concatenated).
public struct DHCPOptions: Equatable, Sendable {
    public private(set) var entries: [(code: UInt8, data: [UInt8])] = []

    public init() {}

    public subscript(code: UInt8) -> [UInt8]? {
        get { value(of: code) }
        set {
            if let index = entries.firstIndex(where: { $0.code == code }) {
                if let newValue { entries[index].data = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((code, newValue))
            }
        }
    }

    public func value(of code: UInt8) -> [UInt8]? { entries.first { $0.code == code }?.data }

    /// Reads PAD/END-delimited TLVs; the end of the field ends the options too (some
    /// servers leave END out of a full field, and that is not ambiguous).
    init(decodingField field: ArraySlice<UInt8>, field name: String) throws(DHCPDecodingError) {
        var index = field.startIndex
        while index < field.endIndex {
            let code = field[index]
            if code == DHCPOptionCode.end { break }
            if code == DHCPOptionCode.pad {
                index += 1
                continue
            }
            guard index + 1 < field.endIndex else { throw .optionOverrunsField(code: code, field: name) }
            let length = Int(field[index + 1])
            let start = index + 2
            guard start + length <= field.endIndex else { throw .optionOverrunsField(code: code, field: name) }
            append(code: code, Array(field[start..<start + length]))
            index = start + length
        }
    }

    mutating func merge(_ other: DHCPOptions) {
        for (code, data) in other.entries { append(code: code, data) }
    }

    private mutating func append(code: UInt8, _ data: [UInt8]) {
        self[code] = (self[code] ?? []) + data
    }

    public static func == (lhs: DHCPOptions, rhs: DHCPOptions) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.code == $1.code && $0.data == $1.data }
    }
}

/// Option codes of RFC 2132 (and RFC 3442 for 121), named as the RFCs name them.
public enum DHCPOptionCode {
    public static let pad: UInt8 = 0
    public static let subnetMask: UInt8 = 1
    public static let router: UInt8 = 3
    public static let domainNameServer: UInt8 = 6
    public static let hostName: UInt8 = 12
    public static let domainName: UInt8 = 15
    public static let rootPath: UInt8 = 17
    public static let interfaceMTU: UInt8 = 26
    public static let requestedIPAddress: UInt8 = 50
    public static let ipAddressLeaseTime: UInt8 = 51
    public static let optionOverload: UInt8 = 52
    public static let messageType: UInt8 = 53
    public static let serverIdentifier: UInt8 = 54
    public static let parameterRequestList: UInt8 = 55
    public static let message: UInt8 = 56
    public static let vendorClassIdentifier: UInt8 = 60
    public static let clientIdentifier: UInt8 = 61
    public static let classlessStaticRoute: UInt8 = 121
    public static let end: UInt8 = 255
}

/// Option 53 values (RFC 2132 §9.6).
public enum DHCPMessageType: UInt8, Sendable {
    case discover = 1
    case offer = 2
    case request = 3
    case decline = 4
    case acknowledgement = 5
    case negativeAcknowledgement = 6
    case release = 7
    case inform = 8
}

extension DHCPOptions {
    public var messageType: DHCPMessageType? {
        guard let data = self[DHCPOptionCode.messageType], data.count == 1 else { return nil }
        return DHCPMessageType(rawValue: data[0])
    }

    /// A single address option (subnet mask, server identifier), nil unless exactly 4 bytes.
    public func address(_ code: UInt8) -> IPv4Address? {
        self[code].flatMap { IPv4Address(bytes: $0) }
    }

    /// A list of addresses (routers, DNS servers), nil unless a non-empty multiple of 4 bytes.
    public func addresses(_ code: UInt8) -> [IPv4Address]? {
        guard let data = self[code], !data.isEmpty, data.count % 4 == 0 else { return nil }
        return stride(from: 0, to: data.count, by: 4).map { IPv4Address(bytes: data[$0..<$0 + 4])! }
    }

    /// A text option (host name, domain, root path), up to the first NUL (RFC 2132 §2:
    /// options "should not" be NUL-terminated, but some servers do).
    public func text(_ code: UInt8) -> String? {
        self[code].map { nulTerminatedText($0[...]) }
    }

    public func uint32(_ code: UInt8) -> UInt32? {
        guard let data = self[code], data.count == 4 else { return nil }
        return data.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public func uint16(_ code: UInt8) -> UInt16? {
        guard let data = self[code], data.count == 2 else { return nil }
        return UInt16(data[0]) << 8 | UInt16(data[1])
    }
}

private func bigEndianBytes(_ value: some FixedWidthInteger) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// `bytes` cut or zero-padded to exactly `length`.
private func fixedField(_ bytes: [UInt8], length: Int) -> [UInt8] {
    Array(bytes.prefix(length)) + [UInt8](repeating: 0, count: max(0, length - bytes.count))
}

private func nulTerminatedText(_ bytes: ArraySlice<UInt8>) -> String {
    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
}
