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

    /// A connection request (`u.c_conn`, `u.b_conn`, `u.set_param`, …) addressed to
    /// connection `connectionID` of session `sessionID`.
    public init(kind: Kind, transportHandle: UInt64, sessionID: UInt32, connectionID: UInt32) {
        self.init(kind: kind, transportHandle: transportHandle)
        self[ConnectionRequest.sessionID] = sessionID
        self[ConnectionRequest.connectionID] = connectionID
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

    /// A field of the request union (offsets 16…39) or the reply union (40…55), named by
    /// its offset into the whole structure and typed by its width.
    public struct Field<Value: FixedWidthInteger>: Sendable {
        public let offset: Int
        public init(_ offset: Int) { self.offset = offset }
    }

    /// The request or reply union member `field`, in host order.
    public subscript<Value>(field: Field<Value>) -> Value {
        get {
            let (union, start) =
                field.offset < Self.replyOffset ? (request, field.offset - Self.requestOffset) : (reply, field.offset - Self.replyOffset)
            return Value(littleEndianBytes: union[start..<start + MemoryLayout<Value>.size])
        }
        set {
            if field.offset < Self.replyOffset {
                let start = field.offset - Self.requestOffset
                request.replaceSubrange(start..<start + MemoryLayout<Value>.size, with: newValue.littleEndianBytes)
            } else {
                let start = field.offset - Self.replyOffset
                reply.replaceSubrange(start..<start + MemoryLayout<Value>.size, with: newValue.littleEndianBytes)
            }
        }
    }

    /// `r.retcode`, the kernel's result for most requests (0 or a negative errno).
    public var returnCode: Int32 { self[Reply.returnCode] }
}

// The members of `iscsi_uevent`'s unions this agent uses, by their kernel names
// (include/scsi/iscsi_if.h): `u` is the request union, `r` the reply union, which also
// carries the events' payload.
extension ISCSIUEvent {
    /// `u.c_session`, CREATE_SESSION.
    public enum CreateSessionRequest {
        public static let initialCmdSN = Field<UInt32>(16)
        public static let commandsMaximum = Field<UInt16>(20)
        public static let queueDepth = Field<UInt16>(22)
    }

    /// `u.d_session`, DESTROY_SESSION.
    public enum DestroySessionRequest {
        public static let sessionID = Field<UInt32>(16)
    }

    /// The {sid, cid} that `u.c_conn`, `u.d_conn`, `u.b_conn`, `u.start_conn`,
    /// `u.stop_conn`, `u.set_param` and `u.send_pdu` all begin with.
    public enum ConnectionRequest {
        public static let sessionID = Field<UInt32>(16)
        public static let connectionID = Field<UInt32>(20)
    }

    /// `u.b_conn`, BIND_CONN, after its {sid, cid}.
    public enum BindConnectionRequest {
        public static let transportEndpoint = Field<UInt64>(24)
        public static let isLeading = Field<UInt32>(32)
    }

    /// `u.stop_conn`, STOP_CONN, after its {sid, cid}.
    public enum StopConnectionRequest {
        public static let connectionHandle = Field<UInt64>(24)
        public static let flag = Field<UInt32>(32)
    }

    /// `u.set_param`, SET_PARAM, after its {sid, cid}; the NUL-terminated value follows the structure.
    public enum SetParameterRequest {
        public static let parameter = Field<UInt32>(24)
        public static let length = Field<UInt32>(28)
    }

    /// `u.send_pdu`, SEND_PDU, after its {sid, cid}; header and data follow the structure.
    public enum SendPDURequest {
        public static let headerSize = Field<UInt32>(24)
        public static let dataSize = Field<UInt32>(28)
    }

    /// The reply union's members.
    public enum Reply {
        /// `r.retcode`.
        public static let returnCode = Field<Int32>(40)
        /// `r.c_session_ret` (CREATE_SESSION's answer and the SESSION_CREATED event) and
        /// `r.c_conn_ret` (CREATE_CONN's answer, whose second field is the cid).
        public static let sessionID = Field<UInt32>(40)
        public static let hostNumber = Field<UInt32>(44)
        public static let connectionID = Field<UInt32>(44)
    }

    /// `r.recv_req` (RECV_PDU) and `r.connerror` (CONN_ERROR) begin with {sid, cid}.
    public enum ConnectionEvent {
        public static let sessionID = Field<UInt32>(40)
        public static let connectionID = Field<UInt32>(44)
        /// `r.connerror.error`, an `enum iscsi_err`.
        public static let error = Field<UInt32>(48)
    }

    /// `r.d_session` (SESSION_DESTROYED): {host_no, sid}, the session second.
    public enum SessionDestroyedEvent {
        public static let hostNumber = Field<UInt32>(40)
        public static let sessionID = Field<UInt32>(44)
    }
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
