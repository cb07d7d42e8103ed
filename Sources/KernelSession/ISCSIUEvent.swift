/// `struct iscsi_uevent` of the kernel's `include/scsi/iscsi_if.h` (56 bytes on x86_64) and
/// its netlink framing, as values: requests encoded to bytes, replies and events decoded
/// from bytes. Multi-byte fields are in host (little-endian) order.
///
/// Layout: type u32 @0, iferror u32 @4, transport_handle u64 @8, request union @16 (24 B),
/// reply union @40 (16 B).
public struct ISCSIUEvent: Equatable, Sendable {
    public static let length = 56
    static let requestOffset = 16
    static let replyOffset = 40

    /// `enum iscsi_uevent_e` (UEVENT_BASE 10 for requests, KEVENT_BASE 100 for events).
    public enum Kind: UInt32, Sendable {
        case createSession = 11
        case destroySession = 12
        case createConnection = 13
        case destroyConnection = 14
        case bindConnection = 15
        case setParameter = 16
        case startConnection = 17
        case stopConnection = 18
        case sendPDU = 19
        case receivePDU = 101
        case connectionError = 102
        case interfaceError = 103
        case sessionDestroyed = 104
        case sessionUnbound = 105
        case sessionCreated = 106
        case connectionLoginState = 109
    }

    public var type: UInt32
    public var interfaceError: Int32
    public var transportHandle: UInt64
    /// The 24-byte request union and the 16-byte reply union, raw.
    public var request: [UInt8]
    public var reply: [UInt8]

    public init(kind: Kind, transportHandle: UInt64) {
        type = kind.rawValue
        interfaceError = 0
        self.transportHandle = transportHandle
        request = [UInt8](repeating: 0, count: 24)
        reply = [UInt8](repeating: 0, count: 16)
    }

    public var kind: Kind? { Kind(rawValue: type) }

    /// Decodes the first 56 bytes of `bytes`; nil if there are fewer.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.length else { return nil }
        let base = bytes.startIndex
        type = UInt32(littleEndianBytes: bytes[base..<base + 4])
        interfaceError = Int32(bitPattern: UInt32(littleEndianBytes: bytes[base + 4..<base + 8]))
        transportHandle = UInt64(littleEndianBytes: bytes[base + 8..<base + 16])
        request = Array(bytes[base + 16..<base + 40])
        reply = Array(bytes[base + 40..<base + 56])
    }

    public var bytes: [UInt8] {
        type.littleEndianBytes + UInt32(bitPattern: interfaceError).littleEndianBytes + transportHandle.littleEndianBytes
            + request + reply
    }

    /// Sets a request-union field at `offset` bytes into the whole structure (16…39).
    public mutating func setRequest<Value: FixedWidthInteger>(_ value: Value, at offset: Int) {
        let start = offset - Self.requestOffset
        request.replaceSubrange(start..<start + MemoryLayout<Value>.size, with: value.littleEndianBytes)
    }

    /// Reads a reply-union field at `offset` bytes into the whole structure (40…55).
    public func replyField<Value: FixedWidthInteger>(_: Value.Type = Value.self, at offset: Int) -> Value {
        let start = offset - Self.replyOffset
        return Value(littleEndianBytes: reply[start..<start + MemoryLayout<Value>.size])
    }

    /// `r.retcode`, the kernel's result for most requests (0 or a negative errno).
    public var returnCode: Int32 { replyField(Int32.self, at: 40) }
}

/// A netlink message header (`struct nlmsghdr`, 16 bytes) with its payload.
public struct NetlinkMessage: Equatable, Sendable {
    public static let headerLength = 16

    public var type: UInt16
    public var flags: UInt16
    public var sequence: UInt32
    public var portID: UInt32
    public var payload: [UInt8]

    public init(type: UInt16, flags: UInt16 = 0, sequence: UInt32 = 0, portID: UInt32, payload: [UInt8]) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.payload = payload
    }

    /// The message as sent: nlmsg_len covers header and payload, padded to 4 bytes (NLMSG_ALIGN).
    public var bytes: [UInt8] {
        let length = UInt32(Self.headerLength + payload.count)
        var bytes =
            length.littleEndianBytes + type.littleEndianBytes + flags.littleEndianBytes + sequence.littleEndianBytes
            + portID.littleEndianBytes + payload
        bytes += [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
        return bytes
    }

    /// Splits one datagram into its messages; a length that runs past the datagram ends
    /// the list (the kernel never sends one; a truncated read would).
    public static func split(_ datagram: [UInt8]) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        var offset = 0
        while datagram.count - offset >= headerLength {
            let length = Int(UInt32(littleEndianBytes: datagram[offset..<offset + 4]))
            guard length >= headerLength, length <= datagram.count - offset else { break }
            messages.append(
                NetlinkMessage(
                    type: UInt16(littleEndianBytes: datagram[offset + 4..<offset + 6]),
                    flags: UInt16(littleEndianBytes: datagram[offset + 6..<offset + 8]),
                    sequence: UInt32(littleEndianBytes: datagram[offset + 8..<offset + 12]),
                    portID: UInt32(littleEndianBytes: datagram[offset + 12..<offset + 16]),
                    payload: Array(datagram[offset + headerLength..<offset + length])))
            offset += (length + 3) & ~3
        }
        return messages
    }
}

extension FixedWidthInteger {
    init(littleEndianBytes bytes: ArraySlice<UInt8>) {
        var value = Self.zero
        for (index, byte) in bytes.prefix(MemoryLayout<Self>.size).enumerated() {
            value |= Self(truncatingIfNeeded: byte) << (8 * index)
        }
        self = value
    }

    var littleEndianBytes: [UInt8] {
        (0..<MemoryLayout<Self>.size).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) }
    }
}
