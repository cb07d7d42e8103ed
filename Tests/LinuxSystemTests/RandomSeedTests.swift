import Testing

@testable import LinuxSystem

/// The one non-blocking seed of the DHCP clients and the login backoff.
@Suite struct RandomSeedTests {
    /// getrandom(2) answers on a running test machine: two draws differ (equal with
    /// probability 2^-64).
    @Test func drawsDiffer() {
        #expect(nonBlockingRandomSeed() != nonBlockingRandomSeed())
    }

    /// The fallback keeps machines apart (distinct MACs, same instant give distinct seeds) and
    /// moves the clock's low bits into the high ones, which a jitter draw in 0..<1 uses.
    @Test func fallbackMixesMachineAndClock() {
        let instant: Int64 = 1_234_567_890
        #expect(mixedSeed(fallback: 0x5254_0012_3456, nanoseconds: instant) != mixedSeed(fallback: 0x5254_0012_3457, nanoseconds: instant))
        let highBits = Set((0..<16).map { mixedSeed(fallback: 0x5254_0012_3456, nanoseconds: instant + Int64($0)) >> 53 })
        #expect(highBits.count > 8, "\(highBits)")
    }
}
