#if canImport(Glibc)
    import Glibc
#endif
import CShims

/// 64 bits that differ between machines and boots, drawn without waiting: for jitter and
/// protocol transaction ids (DHCP's xid, the login backoff), never for secrets
/// (`secureRandomBytes`). getrandom(2) with GRND_NONBLOCK fails rather than stalls before
/// the kernel's pool is initialized (early boot, emulation without a hardware source); then
/// `fallback` (a MAC address: unique per machine) mixed with the clock serves.
public func nonBlockingRandomSeed(fallback: UInt64 = 0) -> UInt64 {
    var seed: UInt64 = 0
    if getrandom(&seed, MemoryLayout<UInt64>.size, UInt32(GRND_NONBLOCK)) == MemoryLayout<UInt64>.size {
        return seed
    }
    return mixedSeed(fallback: fallback, nanoseconds: MonotonicInstant.now().nanoseconds)
}

/// The fallback of `nonBlockingRandomSeed`: the clock's nanoseconds vary in their low bits
/// only; the multiplication by an odd constant (a bijection, so distinct inputs stay
/// distinct) carries them into the high bits, which a draw in 0..<1 uses.
func mixedSeed(fallback: UInt64, nanoseconds: Int64) -> UInt64 {
    (fallback ^ UInt64(bitPattern: nanoseconds)) &* 0x9E37_79B9_7F4A_7C15
}
