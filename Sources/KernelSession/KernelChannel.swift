#if canImport(Glibc)
    import Glibc
#endif
import ISCSI
import LinuxSystem

/// Something the kernel tells us without being asked (multicast group 1).
public enum KernelEvent: Equatable, Sendable {
    /// A PDU the kernel passed up: login and text responses while the connection is not
    /// started, and anything it cannot handle itself later (`ISCSI_KEVENT_RECV_PDU`).
    case receivedPDU(session: UInt32, connection: UInt32, PDU)
    /// The connection failed (`ISCSI_KEVENT_CONN_ERROR`); `code` is an `enum iscsi_err`
    /// value such as 1020 (TCP connection closed) or 1022 (NOP-Out timed out).
    case connectionError(session: UInt32, connection: UInt32, code: UInt32)
    case sessionDestroyed(session: UInt32)
    case other(type: UInt32)
}

/// A kernel request that failed, with the step and the errno, and what to check.
public struct KernelError: Error, Equatable, CustomStringConvertible {
    public var step: String
    public var code: Int32

    public var description: String {
        let hint: String
        switch code {
        case ENOENT, ENODEV: hint = " (is the iscsi_tcp module loaded?)"
        case EPERM, EACCES: hint = " (NETLINK_ISCSI needs root in the initial network namespace)"
        case ENOTCONN: hint = " (the kernel is cleaning up the failed connection; retry)"
        default: hint = ""
        }
        return "\(step) failed: \(String(cString: strerror(code)))\(hint)"
    }
}

/// The NETLINK_ISCSI conversation with `scsi_transport_iscsi`: requests answered in order,
/// with the events that arrive between a request and its reply kept for later — the
/// demultiplexer open-iscsi's `__kipc_call` has.
public struct KernelChannel: ~Copyable {
    public static let netlinkISCSI: Int32 = 8
    /// ISCSI_NL_GRP_ISCSID: the group connection errors and received PDUs go to.
    static let daemonGroup: UInt32 = 1

    private let socket: NetlinkSocket
    public let transportHandle: UInt64
    private var events: [KernelEvent] = []
    private var sequence: UInt32 = 0

    public init(transportHandle: UInt64) throws(SystemError) {
        socket = try NetlinkSocket(protocol: Self.netlinkISCSI, groups: Self.daemonGroup)
        self.transportHandle = transportHandle
    }

    /// The netlink descriptor, to `poll` for events alongside other sockets.
    public var fileDescriptor: Int32 { socket.fileDescriptor }

    /// Whether events are already queued (read during an earlier call), so a caller must
    /// handle them before polling.
    public var hasQueuedEvents: Bool { !events.isEmpty }

    /// The tcp transport's handle from sysfs (present once `iscsi_tcp` is loaded).
    public static func tcpTransportHandle() throws(SystemError) -> UInt64 {
        let text = String(decoding: try readFile(at: "/sys/class/iscsi_transport/tcp/handle", limit: 64), as: UTF8.self)
        guard let handle = UInt64(text.filter { $0.isNumber }) else {
            throw SystemError("parse /sys/class/iscsi_transport/tcp/handle", code: EINVAL)
        }
        return handle
    }

    /// A request of `kind` with its request-union fields set by `configure`.
    public func request(_ kind: ISCSIUEvent.Kind, _ configure: (inout ISCSIUEvent) -> Void = { _ in }) -> ISCSIUEvent {
        var event = ISCSIUEvent(kind: kind, transportHandle: transportHandle)
        configure(&event)
        return event
    }

    /// A request of `kind` addressed to connection `connectionID` of session `sessionID`
    /// (the {sid, cid} every connection request begins with), its other fields set by `configure`.
    public func request(
        _ kind: ISCSIUEvent.Kind, sessionID: UInt32, connectionID: UInt32, _ configure: (inout ISCSIUEvent) -> Void = { _ in }
    ) -> ISCSIUEvent {
        var event = ISCSIUEvent(kind: kind, transportHandle: transportHandle, sessionID: sessionID, connectionID: connectionID)
        configure(&event)
        return event
    }

    /// Sends `event` (+ `payload`) and returns the kernel's reply; a negative `iferror`
    /// or `retcode` becomes a `KernelError` naming `step`.
    @discardableResult
    public mutating func call(
        _ event: ISCSIUEvent, payload: [UInt8] = [], step: String, deadline: MonotonicInstant, checkReturnCode: Bool = true
    ) throws(KernelCallError) -> ISCSIUEvent {
        sequence &+= 1
        let message = NetlinkMessage(
            type: UInt16(truncatingIfNeeded: event.type), sequence: sequence, portID: UInt32(bitPattern: getpid()),
            payload: event.bytes + payload)
        do { try socket.send(message.bytes) } catch { throw .system(error) }
        while true {
            let received: [UInt8]?
            do { received = try socket.receive(deadline: deadline) } catch { throw .system(error) }
            guard let received else { throw .timedOut(step: step) }
            for message in NetlinkMessage.split(received) {
                guard let reply = ISCSIUEvent(message.payload[...]) else { continue }
                guard UInt32(message.type) == event.type else {
                    events.append(Self.event(reply, payload: message.payload))
                    continue
                }
                if reply.kind == .interfaceError || reply.interfaceError != 0 {
                    throw .kernel(KernelError(step: step, code: -reply.interfaceError))
                }
                if checkReturnCode && reply.returnCode < 0 {
                    throw .kernel(KernelError(step: step, code: -reply.returnCode))
                }
                return reply
            }
        }
    }

    /// The next event, from those queued during calls or from the socket; nil at `deadline`.
    public mutating func nextEvent(deadline: MonotonicInstant) throws(SystemError) -> KernelEvent? {
        while events.isEmpty {
            guard let received = try socket.receive(deadline: deadline) else { return nil }
            enqueue(received)
        }
        return events.removeFirst()
    }

    /// Forgets the connection errors of `session` that have arrived, queued or still in the
    /// socket. Called once its connection is stopped: they describe the socket the kernel
    /// just let go (the target's FIN after a login redirect, a second report of the error
    /// being recovered from), and must neither fail the next login nor start a recovery.
    public mutating func discardConnectionErrors(session: UInt32) {
        while let received = try? socket.receive(deadline: .now()) {
            enqueue(received)
        }
        events.removeAll {
            if case .connectionError(let errorSession, _, _) = $0 { return errorSession == session }
            return false
        }
    }

    private mutating func enqueue(_ received: [UInt8]) {
        for message in NetlinkMessage.split(received) {
            guard let event = ISCSIUEvent(message.payload[...]) else { continue }
            events.append(Self.event(event, payload: message.payload))
        }
    }

    static func event(_ event: ISCSIUEvent, payload: [UInt8]) -> KernelEvent {
        let session = event[ISCSIUEvent.ConnectionEvent.sessionID]
        let connection = event[ISCSIUEvent.ConnectionEvent.connectionID]
        switch event.kind {
        case .receivePDU:
            // recv_req is followed by the 48-byte header and the data segment (iscsi_recv_pdu).
            let pduBytes = Array(payload.dropFirst(ISCSIUEvent.length))
            guard pduBytes.count >= BasicHeaderSegment.length,
                let header = BasicHeaderSegment(Array(pduBytes[..<BasicHeaderSegment.length]))
            else { return .other(type: event.type) }
            let dataLength = min(header.dataSegmentLength, pduBytes.count - BasicHeaderSegment.length)
            var pdu = PDU(header: header, data: Array(pduBytes[BasicHeaderSegment.length..<BasicHeaderSegment.length + dataLength]))
            pdu.header = header
            return .receivedPDU(session: session, connection: connection, pdu)
        case .connectionError:
            return .connectionError(session: session, connection: connection, code: event[ISCSIUEvent.ConnectionEvent.error])
        case .sessionDestroyed:
            return .sessionDestroyed(session: event[ISCSIUEvent.SessionDestroyedEvent.sessionID])
        default:
            return .other(type: event.type)
        }
    }
}

/// A failed `KernelChannel.call`.
public enum KernelCallError: Error, Equatable, CustomStringConvertible {
    case kernel(KernelError)
    case system(SystemError)
    case timedOut(step: String)

    public var description: String {
        switch self {
        case .kernel(let error): "\(error)"
        case .system(let error): "netlink: \(error)"
        case .timedOut(let step): "\(step): the kernel did not answer in time"
        }
    }
}
