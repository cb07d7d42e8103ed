// CShims includes <sys/socket.h>, so the socket constants (SOCK_STREAM, …) may belong to
// its Clang module rather than Glibc's, depending on which the build reads first.
import CShims

#if canImport(Glibc)
    import Glibc
#endif

// @frozen: Embedded Swift allows `discard self` (in `close`) only in a frozen type.
/// One TCP connection, owning its socket: the socket is closed when the value goes away.
///
/// The socket is non-blocking; every operation takes a deadline and waits with `poll`, so no
/// call can hang longer than the caller allowed — a dead target must never freeze the boot.
@frozen public struct TCPConnection: ~Copyable {
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Connects to `address`, waiting at most until `deadline`, and turns Nagle's algorithm
    /// off (`TCP_NODELAY`): iSCSI sends small request PDUs and waits for each answer. With
    /// `interfaceIndex`, the connection may leave through that interface only
    /// (`SO_BINDTOIFINDEX`: by index, which a rename after the boot does not change).
    /// The corresponding C functions are `socket`, `setsockopt`, `connect`, `poll` and
    /// `getsockopt(SO_ERROR)`.
    public static func connect(
        to address: SocketAddress, deadline: MonotonicInstant, interfaceIndex: Int32? = nil
    ) throws(ConnectionError) -> TCPConnection {
        let type = Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        let descriptor: Int32
        do throws(SystemError) {
            descriptor = try retryingOnInterrupt("socket") { () -> Int32 in socket(address.family, type, 0) }
        } catch {
            throw .system(error)
        }
        // From here the value owns the descriptor, so every early exit closes it.
        let connection = TCPConnection(descriptor: descriptor)
        do throws(SystemError) {
            try connection.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, to: 1, name: "setsockopt(TCP_NODELAY)")
            if let interfaceIndex {
                try connection.setOption(
                    SOL_SOCKET, SO_BINDTOIFINDEX, to: interfaceIndex, name: "setsockopt(SO_BINDTOIFINDEX, \(interfaceIndex))")
            }
        } catch {
            throw .system(error)
        }
        // A non-blocking connect returns EINPROGRESS at once; an EINTR leaves it in progress
        // as well, and calling connect again would then fail with EALREADY.
        let started = address.withSocketAddress { pointer, length in
            Glibc.connect(descriptor, pointer, length) == 0 ? 0 : errno
        }
        if started != 0 && started != EINPROGRESS && started != EINTR {
            throw connectionError(SystemError("connect", code: started), connecting: address)
        }
        if started != 0 {
            try connection.waitUntilReady(for: Int16(POLLOUT), deadline: deadline) {
                "connect"
            }
            var pending: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pending, &length) == 0 else {
                throw .system(SystemError("getsockopt(SO_ERROR)"))
            }
            if pending != 0 {
                throw connectionError(SystemError("connect", code: pending), connecting: address)
            }
        }
        return connection
    }

    /// Sends every byte of `bytes`, waiting for room in the socket buffer until `deadline`.
    /// The corresponding C function is `send` with `MSG_NOSIGNAL`: a closed peer is an error
    /// here, never a `SIGPIPE` that would kill the process.
    public func send(_ bytes: UnsafeRawBufferPointer, deadline: MonotonicInstant) throws(ConnectionError) {
        var offset = 0
        while offset < bytes.count {
            let sent = Glibc.send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent >= 0 {
                offset += sent
                continue
            }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN:
                try waitUntilReady(for: Int16(POLLOUT), deadline: deadline) {
                    "sending \(bytes.count - offset) of \(bytes.count) bytes to \(peerDescription)"
                }
            case EPIPE:
                throw .closedByPeer
            default:
                throw .system(SystemError("send", code: code))
            }
        }
    }

    /// Sends every byte of `bytes`; see `send(_:deadline:)` for a buffer.
    public func send(_ bytes: [UInt8], deadline: MonotonicInstant) throws(ConnectionError) {
        // Array's closures rethrow untyped errors, so the typed one travels in a Result.
        let outcome = bytes.withUnsafeBytes { buffer in
            Result { () throws(ConnectionError) in try send(buffer, deadline: deadline) }
        }
        try outcome.get()
    }

    /// Receives exactly `count` bytes, waiting until `deadline`; the peer closing the
    /// connection earlier is `.closedByPeer`.
    public func receive(exactly count: Int, deadline: MonotonicInstant) throws(ConnectionError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        // Array's closures rethrow untyped errors, so the typed one travels in a Result.
        let outcome = bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(ConnectionError) in try receive(into: buffer, deadline: deadline) }
        }
        try outcome.get()
        return bytes
    }

    /// Fills all of `buffer` from the connection, waiting until `deadline`; the peer closing
    /// the connection earlier is `.closedByPeer`. The corresponding C function is `recv`.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, deadline: MonotonicInstant) throws(ConnectionError) {
        var offset = 0
        while offset < buffer.count {
            let received = recv(descriptor, buffer.baseAddress! + offset, buffer.count - offset, 0)
            if received > 0 {
                offset += received
                continue
            }
            if received == 0 { throw .closedByPeer }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN:
                try waitUntilReady(for: Int16(POLLIN), deadline: deadline) {
                    "receiving \(buffer.count - offset) of \(buffer.count) bytes from \(peerDescription)"
                }
            default:
                throw .system(SystemError("recv", code: code))
            }
        }
    }

    /// Closes the socket with a reset instead of the orderly FIN handshake (`SO_LINGER` with a
    /// zero timeout), so a broken connection leaves nothing behind in `TIME_WAIT` or queued
    /// for sending, and the target learns at once that this connection is gone.
    public consuming func closeWithReset() {
        // A failure here only means the close will be orderly; there is nothing better to do.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(descriptor)
        discard self
    }

    /// Calls `body` with the raw socket, e.g. to hand it to the kernel's `iscsi_tcp`. The
    /// socket stays owned by this value: `body` must not close it.
    public borrowing func withFileDescriptor<Result, Failure: Error>(
        _ body: (Int32) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(descriptor)
    }

    /// This end's address. The corresponding C function is `getsockname`.
    public var localAddress: SocketAddress? {
        address(of: "getsockname", getsockname)
    }

    /// The peer's address. The corresponding C function is `getpeername`.
    public var peerAddress: SocketAddress? {
        address(of: "getpeername", getpeername)
    }

    // MARK: - Details

    private var peerDescription: String {
        peerAddress?.description ?? "the peer"
    }

    private func address(
        of call: String, _ function: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { function(descriptor, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage) : nil
    }

    private func setOption(_ level: Int32, _ option: Int32, to value: Int32, name: String) throws(SystemError) {
        var value = value
        _ = try retryingOnInterrupt(name) {
            setsockopt(descriptor, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Waits with `poll` until the socket is ready for `events` (or has an error or hang-up
    /// to report, which the caller's next call then returns), or throws `.timedOut` naming
    /// `operation` once `deadline` has passed.
    private func waitUntilReady(
        for events: Int16, deadline: MonotonicInstant, operation: () -> String
    ) throws(ConnectionError) {
        var request = pollfd(fd: descriptor, events: events, revents: 0)
        // Bounded by the deadline: each pass either returns, throws, or waits out the rest of it.
        while true {
            let remaining = deadline.millisecondsSinceNow
            guard remaining > 0 else { throw .timedOut(operation: operation()) }
            let ready = poll(&request, 1, Int32(clamping: remaining))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw .system(SystemError("poll")) }
        }
    }
}

/// Sorts a failed connect into what a person can act on.
private func connectionError(_ error: SystemError, connecting address: SocketAddress) -> ConnectionError {
    switch error.code {
    case ECONNREFUSED: .refused(address)
    case ETIMEDOUT: .timedOut(operation: "connect")
    case ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL: .unreachable(address, error)
    default: .system(error)
    }
}
