import CShims

#if canImport(Glibc)
    import Glibc
#endif

// @frozen: Embedded Swift allows `discard self` only in a frozen type.
/// A stream socket in the abstract Unix namespace (`@name`): no file on any filesystem, so
/// it keeps working across switch_root, chroot and a read-only or vanished /run.
@frozen public struct UnixSocket: ~Copyable {
    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    /// Listens on `@name`. The corresponding C functions are `socket`, `bind` and `listen`.
    public static func listen(abstractName name: String) throws(SystemError) -> UnixSocket {
        let socket = try open()
        let bound = withAbstractAddress(name) { bind(socket.descriptor, $0, $1) }
        guard bound == 0 else { throw SystemError("bind @\(name)") }
        guard Glibc.listen(socket.descriptor, 8) == 0 else { throw SystemError("listen @\(name)") }
        return socket
    }

    /// Connects to `@name`. The corresponding C function is `connect`.
    public static func connect(abstractName name: String) throws(SystemError) -> UnixSocket {
        let socket = try open()
        let connected = withAbstractAddress(name) { Glibc.connect(socket.descriptor, $0, $1) }
        guard connected == 0 else { throw SystemError("connect @\(name)") }
        return socket
    }

    private static func open() throws(SystemError) -> UnixSocket {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket(AF_UNIX)") }
        return UnixSocket(descriptor: descriptor)
    }

    /// The listening side's raw descriptor, for `poll` alongside other sockets.
    public var fileDescriptor: Int32 { descriptor }

    /// Gives up ownership: the caller now closes the descriptor (or keeps it for the life
    /// of the process, as the supervisor's control socket does).
    public consuming func releaseDescriptor() -> Int32 {
        let descriptor = self.descriptor
        discard self
        return descriptor
    }

    /// Accepts one connection (the caller polled first). The corresponding C functions are
    /// `accept` and `fcntl(FD_CLOEXEC)` (Glibc's module does not export `accept4`).
    public func accept() throws(SystemError) -> UnixSocket {
        try Self.accept(listening: descriptor)
    }

    /// Accepts on a listening socket known by its descriptor (a loop that polls several
    /// descriptors holds the owner elsewhere).
    public static func accept(listening descriptor: Int32) throws(SystemError) -> UnixSocket {
        let client = try retryingOnInterrupt("accept @control") { Glibc.accept(descriptor, nil, nil) }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        return UnixSocket(descriptor: client)
    }

    /// The user id of the process at the other end (SO_PEERCRED), for root-only requests.
    public var peerUserID: UInt32? {
        var userID: UInt32 = 0
        return iscsi_root_peer_user_id(descriptor, &userID) == 0 ? userID : nil
    }

    /// Writes all of `bytes`. The corresponding C function is `send` with MSG_NOSIGNAL.
    public func send(_ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let start = offset
            offset += try retryingOnInterrupt("send @control") {
                bytes[start...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }
    }

    /// Ends our direction of the stream, so the peer reads end of file.
    public func finishSending() { shutdown(descriptor, Int32(SHUT_WR)) }

    /// Reads until the peer ends its direction, `limit` bytes, or `deadline`.
    public func receiveAll(limit: Int, deadline: MonotonicInstant) throws(SystemError) -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while received.count < limit {
            guard try waitForReadable([descriptor], deadline: deadline, call: "poll @control")[0] else {
                throw SystemError("receive @control", code: ETIMEDOUT)
            }
            let wanted = limit - received.count
            let count = try retryingOnInterrupt("receive @control") {
                chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, min($0.count, wanted), 0) }
            }
            if count == 0 { break }
            received += chunk[..<count]
        }
        return received
    }
}

/// Calls `body` with a `sockaddr_un` for `@name` (a leading NUL, no terminator) and its length.
private func withAbstractAddress<Result>(_ name: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let nameBytes = Array(name.utf8.prefix(MemoryLayout.size(ofValue: address.sun_path) - 1))
    withUnsafeMutableBytes(of: &address.sun_path) { path in
        path[0] = 0
        for (index, byte) in nameBytes.enumerated() { path[index + 1] = byte }
    }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + nameBytes.count)
    return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
}
