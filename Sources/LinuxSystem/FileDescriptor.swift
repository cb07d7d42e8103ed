#if canImport(Glibc)
    import Glibc
#endif

// @frozen: Embedded Swift allows `discard self` (in `take`) only in a frozen type.
/// An open file descriptor that this value owns: it is closed when the value goes away, so
/// no early exit can leak it. `take()` hands the raw number over where something else keeps
/// it (the kernel, for a socket given to iscsi_tcp, or the process for its whole life).
@frozen public struct FileDescriptor: ~Copyable {
    /// The raw descriptor, for calls this type does not wrap; it stays owned by this value.
    public let rawValue: Int32

    /// Takes ownership of `rawValue`, which must be open and owned by nobody else.
    public init(adopting rawValue: Int32) {
        self.rawValue = rawValue
    }

    deinit { close(rawValue) }

    /// Opens `path`; `O_CLOEXEC` is always added, so the real init never inherits it.
    /// The corresponding C function is `open`.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> FileDescriptor {
        let raw = try retryingOnInterrupt("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, mode) }
        return FileDescriptor(adopting: raw)
    }

    /// Gives up ownership: the caller now closes the descriptor (or keeps it for the life of
    /// the process).
    public consuming func take() -> Int32 {
        let raw = rawValue
        discard self
        return raw
    }

    /// Reads at most `buffer.count` bytes; 0 at the end of the file. `read` names the call
    /// in an error. The corresponding C function is `read`.
    public func read(into buffer: UnsafeMutableRawBufferPointer, call: String = "read") throws(SystemError) -> Int {
        try retryingOnInterrupt(call) { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Writes every byte of `bytes`; `call` names the call in an error.
    public func writeAll(_ bytes: some Collection<UInt8>, call: String = "write") throws(SystemError) {
        try LinuxSystem.writeAll(Array(bytes), to: rawValue, call: call)
    }

    /// Waits until a datagram arrives, or `deadline` passes (nil), and receives it whole
    /// (at most `maximumSize` bytes; a longer one is cut). `name` says which socket in an
    /// error, e.g. "netlink". The corresponding C functions are `poll` and `recv`.
    public func receiveDatagram(maximumSize: Int, deadline: MonotonicInstant, name: String) throws(SystemError) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: maximumSize)
        // Bounded by the deadline: each pass waits at most what is left of it.
        while true {
            guard try waitForReadable([rawValue], deadline: deadline, call: "poll(\(name))")[0] else { return nil }
            let count = buffer.withUnsafeMutableBytes { recv(rawValue, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return Array(buffer[..<count]) }
            // Another reader (or a spurious wake-up) took it: wait again.
            if errno == EAGAIN || errno == EINTR { continue }
            throw SystemError("recv(\(name))")
        }
    }
}

/// Runs a system call until it is not interrupted by a signal (`EINTR`), and turns its `-1`
/// into a `SystemError` named after `call` that carries the errno read once, right after.
/// Every system call in this package that can be interrupted goes through here.
@inline(__always)
public func retryingOnInterrupt<Result: FixedWidthInteger>(
    _ call: @autoclosure () -> String, _ body: () -> Result
) throws(SystemError) -> Result {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code != EINTR { throw SystemError(call(), code: code) }
    }
}

/// Writes every byte of `bytes` to `descriptor`, which the caller keeps (standard error,
/// the kernel log). A write that accepts nothing is `EIO`, so the loop always ends.
public func writeAll(_ bytes: [UInt8], to descriptor: Int32, call: String = "write") throws(SystemError) {
    var offset = 0
    while offset < bytes.count {
        // Array's closures rethrow untyped errors, so the typed one travels in a Result.
        let outcome = bytes.withUnsafeBytes { buffer in
            Result { () throws(SystemError) -> Int in
                try retryingOnInterrupt(call) { write(descriptor, buffer.baseAddress! + offset, buffer.count - offset) }
            }
        }
        let written = try outcome.get()
        guard written > 0 else { throw SystemError(call, code: EIO) }
        offset += written
    }
}

/// Waits with `poll` until one of `descriptors` is readable (or reports a hang-up or an
/// error, which the caller's next read returns), or `deadline` passes; nil waits for ever.
/// Returns, per descriptor, whether it is ready: all false when the deadline passed.
/// An interrupting signal restarts the wait with what is left of the deadline.
public func waitForReadable(
    _ descriptors: [Int32], deadline: MonotonicInstant?, call: String = "poll"
) throws(SystemError) -> [Bool] {
    var requests = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let count = nfds_t(requests.count)
    let ready = try retryingOnInterrupt(call) { () -> Int32 in
        let timeout = deadline.map { Int32(clamping: max(0, MonotonicInstant.now().milliseconds(until: $0))) } ?? -1
        return poll(&requests, count, timeout)
    }
    return ready == 0 ? descriptors.map { _ in false } : requests.map { $0.revents != 0 }
}
