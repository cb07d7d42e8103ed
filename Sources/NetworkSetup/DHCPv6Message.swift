import NetworkAddresses

/// A DHCPv6 client/server message (RFC 8415 §8): a type byte, a 3-byte transaction id and
/// options (§21), encoded and decoded in pure Swift. Decoding checks every length before
/// reading, so a malformed packet is an error value, never a trap. Relay messages (§9) never
/// reach a client and are rejected.
public struct DHCPv6Message: Equatable, Sendable {
    /// `msg-type` (RFC 8415 §7.3), the ones a client sends or expects.
    public enum MessageType: UInt8, Sendable {
        case solicit = 1
        case advertise = 2
        case request = 3
        case confirm = 4
        case renew = 5
        case rebind = 6
        case reply = 7
        case release = 8
        case decline = 9
        case reconfigure = 10
        case informationRequest = 11
    }

    public var type: MessageType
    /// `transaction-id`: 24 bits, chosen by the client and echoed by the server.
    public var transactionID: UInt32
    public var options: DHCPv6Options

    public init(type: MessageType, transactionID: UInt32, options: DHCPv6Options) {
        self.type = type
        self.transactionID = transactionID & 0xFF_FFFF
        self.options = options
    }

    public func encoded() -> [UInt8] {
        [type.rawValue, UInt8(transactionID >> 16 & 0xFF), UInt8(transactionID >> 8 & 0xFF), UInt8(transactionID & 0xFF)]
            + options.encoded()
    }

    /// Reads a message; throws which rule a malformed one breaks.
    public init(decoding bytes: some Collection<UInt8>) throws(DHCPv6DecodingError) {
        let bytes = Array(bytes)
        guard bytes.count >= 4 else { throw .truncated(length: bytes.count) }
        guard let type = MessageType(rawValue: bytes[0]) else { throw .unknownMessageType(bytes[0]) }
        let transactionID = UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        self.init(type: type, transactionID: transactionID, options: try DHCPv6Options(decoding: bytes[4...], within: "message"))
    }
}

/// Why a received DHCPv6 packet (or an option in it) was rejected.
public enum DHCPv6DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Shorter than the 4-byte header.
    case truncated(length: Int)
    /// A `msg-type` a client does not take (relay messages, unassigned values).
    case unknownMessageType(UInt8)
    /// An option's 4-byte header or its data runs past the end of what contains it.
    case optionOverrun(code: UInt16, within: String)
    /// An option's data is shorter than its fixed fields (IA_NA 12, IAADDR 24, status 2).
    case optionTooShort(code: UInt16, length: Int)

    public var description: String {
        switch self {
        case .truncated(let length): "truncated DHCPv6 message (\(length) bytes, at least 4 expected)"
        case .unknownMessageType(let type): "DHCPv6 message type \(type) is not one a client takes"
        case .optionOverrun(let code, let within): "option \(code) runs past the end of the \(within)"
        case .optionTooShort(let code, let length): "option \(code) has only \(length) bytes, fewer than its fixed fields"
        }
    }
}

/// Options in the order received. Unlike DHCPv4, a code may appear several times (one IA_NA
/// per identity association, one IAADDR per address), so they stay a list.
public struct DHCPv6Options: Equatable, Sendable {
    public var entries: [DHCPv6Option] = []

    public init(_ entries: [DHCPv6Option] = []) { self.entries = entries }

    /// RFC 8415 §21.1: `option-code` and `option-len`, 16 bits each, then the data.
    init(decoding bytes: ArraySlice<UInt8>, within name: String) throws(DHCPv6DecodingError) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard index + 4 <= bytes.endIndex else {
                let code = index + 2 <= bytes.endIndex ? UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]) : 0
                throw .optionOverrun(code: code, within: name)
            }
            let code = UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
            let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            let start = index + 4
            guard length <= bytes.endIndex - start else { throw .optionOverrun(code: code, within: name) }
            entries.append(DHCPv6Option(code: code, data: Array(bytes[start..<start + length])))
            index = start + length
        }
    }

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        for option in entries {
            bytes += bigEndian16(option.code) + bigEndian16(UInt16(truncatingIfNeeded: option.data.count)) + option.data
        }
        return bytes
    }

    public func first(_ code: UInt16) -> [UInt8]? { entries.first { $0.code == code }?.data }

    public func all(_ code: UInt16) -> [[UInt8]] { entries.filter { $0.code == code }.map { $0.data } }

    public mutating func append(_ code: UInt16, _ data: [UInt8]) { entries.append(DHCPv6Option(code: code, data: data)) }

    /// The Status Code option (§21.13), nil when absent; a malformed one counts as absent.
    public var statusCode: DHCPv6Status? { first(DHCPv6OptionCode.statusCode).flatMap(DHCPv6Status.init(data:)) }

    /// Every IA_NA (§21.4), skipping malformed ones.
    public var identityAssociations: [DHCPv6IdentityAssociation] {
        all(DHCPv6OptionCode.identityAssociationNonTemporary).compactMap { try? DHCPv6IdentityAssociation(data: $0) }
    }

    /// The Preference option (§21.8); 0 when absent, as §18.2.9 says.
    public var preference: UInt8 { first(DHCPv6OptionCode.preference).flatMap { $0.count == 1 ? $0[0] : nil } ?? 0 }

    /// A list of IPv6 addresses (DNS servers, §21 of RFC 3646), nil unless a non-empty multiple of 16.
    public func addresses(_ code: UInt16) -> [IPv6Address]? {
        guard let data = first(code), !data.isEmpty, data.count % 16 == 0 else { return nil }
        return stride(from: 0, to: data.count, by: 16).compactMap { IPv6Address(bytes: data[$0..<$0 + 16]) }
    }
}

public struct DHCPv6Option: Equatable, Sendable {
    public var code: UInt16
    public var data: [UInt8]

    public init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }
}

/// Option codes (RFC 8415 §21, RFC 3646 for DNS, RFC 5970 for the boot file).
public enum DHCPv6OptionCode {
    public static let clientIdentifier: UInt16 = 1
    public static let serverIdentifier: UInt16 = 2
    public static let identityAssociationNonTemporary: UInt16 = 3
    public static let identityAssociationAddress: UInt16 = 5
    public static let optionRequest: UInt16 = 6
    public static let preference: UInt16 = 7
    public static let elapsedTime: UInt16 = 8
    public static let statusCode: UInt16 = 13
    public static let rapidCommit: UInt16 = 14
    public static let dnsServers: UInt16 = 23
    public static let domainList: UInt16 = 24
    public static let bootFileURL: UInt16 = 59
    public static let bootFileParameters: UInt16 = 60
}

/// A Status Code option (§21.13): a code (§21.13 table, 0 Success) and a UTF-8 message.
public struct DHCPv6Status: Equatable, Sendable, CustomStringConvertible {
    public static let success: UInt16 = 0
    public static let noAddressesAvailable: UInt16 = 2
    public static let notOnLink: UInt16 = 4

    public var code: UInt16
    public var message: String

    public init(code: UInt16, message: String = "") {
        self.code = code
        self.message = message
    }

    init?(data: [UInt8]) {
        guard data.count >= 2 else { return nil }
        code = UInt16(data[0]) << 8 | UInt16(data[1])
        message = String(decoding: data[2...], as: UTF8.self)
    }

    var data: [UInt8] { bigEndian16(code) + Array(message.utf8) }

    /// `2 NoAddrsAvail: "no addresses"`
    public var description: String {
        let name =
            switch code {
            case 0: "Success"
            case 1: "UnspecFail"
            case 2: "NoAddrsAvail"
            case 3: "NoBinding"
            case 4: "NotOnLink"
            case 5: "UseMulticast"
            case 6: "NoPrefixAvail"
            default: "status"
            }
        return "\(code) \(name)" + (message.isEmpty ? "" : ": \"\(message)\"")
    }
}

/// An Identity Association for Non-temporary Addresses (§21.4) with its IAADDR and status
/// sub-options.
public struct DHCPv6IdentityAssociation: Equatable, Sendable {
    public var identifier: UInt32
    /// T1 and T2 in seconds; 0 leaves the choice to the client.
    public var renewSeconds: UInt32
    public var rebindSeconds: UInt32
    public var addresses: [DHCPv6LeasedAddress]
    public var status: DHCPv6Status?

    public init(
        identifier: UInt32, renewSeconds: UInt32 = 0, rebindSeconds: UInt32 = 0, addresses: [DHCPv6LeasedAddress] = [],
        status: DHCPv6Status? = nil
    ) {
        self.identifier = identifier
        self.renewSeconds = renewSeconds
        self.rebindSeconds = rebindSeconds
        self.addresses = addresses
        self.status = status
    }

    init(data: [UInt8]) throws(DHCPv6DecodingError) {
        guard data.count >= 12 else {
            throw .optionTooShort(code: DHCPv6OptionCode.identityAssociationNonTemporary, length: data.count)
        }
        let options = try DHCPv6Options(decoding: data[12...], within: "IA_NA option")
        var addresses: [DHCPv6LeasedAddress] = []
        for address in options.all(DHCPv6OptionCode.identityAssociationAddress) {
            addresses.append(try DHCPv6LeasedAddress(data: address))
        }
        self.init(
            identifier: bigEndian32(data, at: 0), renewSeconds: bigEndian32(data, at: 4), rebindSeconds: bigEndian32(data, at: 8),
            addresses: addresses, status: options.statusCode)
    }

    /// The option data: IAID, T1, T2, then the addresses and the status, if any.
    public var data: [UInt8] {
        var options = DHCPv6Options()
        for address in addresses { options.append(DHCPv6OptionCode.identityAssociationAddress, address.data) }
        if let status { options.append(DHCPv6OptionCode.statusCode, status.data) }
        return bigEndian32(identifier) + bigEndian32(renewSeconds) + bigEndian32(rebindSeconds) + options.encoded()
    }
}

/// An IA Address option (§21.6): the address and its lifetimes.
public struct DHCPv6LeasedAddress: Equatable, Sendable {
    public var address: IPv6Address
    public var preferredSeconds: UInt32
    public var validSeconds: UInt32
    public var status: DHCPv6Status?

    public init(address: IPv6Address, preferredSeconds: UInt32 = 0, validSeconds: UInt32 = 0, status: DHCPv6Status? = nil) {
        self.address = address
        self.preferredSeconds = preferredSeconds
        self.validSeconds = validSeconds
        self.status = status
    }

    init(data: [UInt8]) throws(DHCPv6DecodingError) {
        guard data.count >= 24, let address = IPv6Address(bytes: data[0..<16]) else {
            throw .optionTooShort(code: DHCPv6OptionCode.identityAssociationAddress, length: data.count)
        }
        let options = try DHCPv6Options(decoding: data[24...], within: "IAADDR option")
        self.init(
            address: address, preferredSeconds: bigEndian32(data, at: 16), validSeconds: bigEndian32(data, at: 20),
            status: options.statusCode)
    }

    var data: [UInt8] {
        var options = DHCPv6Options()
        if let status { options.append(DHCPv6OptionCode.statusCode, status.data) }
        return address.bytes + bigEndian32(preferredSeconds) + bigEndian32(validSeconds) + options.encoded()
    }
}

/// DHCP Unique Identifiers (§11).
public enum DHCPv6DUID {
    /// DUID-LL (§11.4): type 3, hardware type 1 (Ethernet), the MAC. Chosen over DUID-LLT
    /// because a diskless machine has nowhere to store the LLT's creation time: a new time
    /// each boot would be a new client to the server and a new address each boot, while the
    /// MAC-only DUID names the same client every time (§11.4 recommends it for devices with a
    /// permanent link-layer address and no stable storage).
    public static func linkLayer(_ address: MACAddress) -> [UInt8] { [0, 3, 0, 1] + address.bytes }
}

func bigEndian16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

func bigEndian32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}

/// The 32-bit big-endian number at `offset`; the caller has checked that 4 bytes are there.
func bigEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
}
