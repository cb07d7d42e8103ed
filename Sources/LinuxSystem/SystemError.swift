#if canImport(Glibc)
    import Glibc
#endif

/// A failed system call: the call's name and the errno it left, read once.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public let call: String
    public let code: Int32

    public init(_ call: String, code: Int32 = errno) {
        self.call = call
        self.code = code
    }

    public var description: String { "\(call): \(String(cString: strerror(code)))" }
}

/// Runs a system call until it is not interrupted by a signal (`EINTR`), and turns its `-1`
/// into a `SystemError` named after `call` that carries the errno read once, right after.
@inline(__always)
func retryingOnInterrupt<Result: FixedWidthInteger>(
    _ call: String, _ body: () -> Result
) throws(SystemError) -> Result {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code != EINTR { throw SystemError(call, code: code) }
    }
}
