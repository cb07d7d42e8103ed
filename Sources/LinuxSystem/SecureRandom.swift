#if canImport(Glibc)
    import Glibc
#endif
import CShims

/// `count` bytes for a secret (a mutual-CHAP challenge) from getrandom(2) *without*
/// GRND_NONBLOCK: before the kernel's pool is initialized this waits rather than hand out
/// guessable bytes. Not the stdlib's random number generator: in the Embedded build that
/// draws from the project's non-blocking arc4random_buf, there for the hash seed, which
/// must never stall PID 1 and may fall back to a clock mix.
public func secureRandomBytes(_ count: Int) throws(SystemError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
        let got = try retryingOnInterrupt("getrandom") {
            bytes.withUnsafeMutableBytes { getrandom($0.baseAddress! + filled, count - filled, 0) }
        }
        filled += got
    }
    return bytes
}
