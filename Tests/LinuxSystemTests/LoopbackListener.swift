import LinuxSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The far end for the tests: a TCP socket on 127.0.0.1 with a port the kernel chose, made
/// with the plain C calls so that it does not depend on the code under test.
final class LoopbackListener {
    let descriptor: Int32
    let address: SocketAddress

    /// - Parameters:
    ///   - listening: `false` leaves the socket only bound, which reserves the port while
    ///     nothing accepts connections on it.
    ///   - backlog: how many unaccepted connections the kernel may queue (`listen`).
    init(listening: Bool = true, backlog: Int32 = 8) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket") }
        let loopback = SocketAddress(numericHost: "127.0.0.1", port: 0)!
        guard loopback.withSocketAddress({ bind(descriptor, $0, $1) }) == 0 else { throw SystemError("bind") }
        if listening {
            guard listen(descriptor, backlog) == 0 else { throw SystemError("listen") }
        }
        var storage = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw SystemError("getsockname") }
        self.descriptor = descriptor
        address = .ipv4(storage)
    }

    deinit {
        close(descriptor)
    }

    /// Takes the next connection; call it only after a connect succeeded, so it cannot block.
    func accept() throws -> AcceptedSocket {
        let accepted = Glibc.accept(descriptor, nil, nil)
        guard accepted >= 0 else { throw SystemError("accept") }
        return AcceptedSocket(descriptor: accepted)
    }
}

/// The server side of one test connection, with blocking reads and writes.
final class AcceptedSocket: @unchecked Sendable {
    let descriptor: Int32

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Reads until `count` bytes arrived or the connection ended; returns what arrived.
    func read(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let received = bytes.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress! + filled, count - filled, 0) }
            guard received > 0 else { break }
            filled += received
        }
        return Array(bytes[..<filled])
    }

    /// The errno of the next read, or 0 if it succeeded or saw the end of the stream.
    func readError() -> Int32 {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) < 0 ? errno : 0
    }

    func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Closes with a reset (`SO_LINGER` 0), as a crashing or impatient target would.
    func closeWithReset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }
}

/// Reads from a socket on a thread of its own: Swift Testing's few pool threads are busy with
/// the blocking test bodies, and the writer in the test would otherwise wait for itself.
final class ReaderThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let socket: AcceptedSocket
    private let count: Int
    private var received: [UInt8] = []

    init(_ socket: AcceptedSocket, count: Int) {
        self.socket = socket
        self.count = count
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &thread, nil,
            { context in
                let reader = Unmanaged<ReaderThread>.fromOpaque(context!).takeRetainedValue()
                reader.received = reader.socket.read(count: reader.count)
                return nil
            }, context)
    }

    /// Waits for the thread and returns what it read.
    func join() -> [UInt8] {
        pthread_join(thread, nil)
        return received
    }
}
