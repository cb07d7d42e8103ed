import LinuxSystem
import Testing

@Suite struct SocketAddressTests {
    @Test(arguments: [
        ("127.0.0.1", 3260, "127.0.0.1:3260"),
        ("localhost", 3261, "127.0.0.1:3261"),
        ("::1", 3260, "[::1]:3260"),
        ("2001:db8::10", 860, "[2001:db8::10]:860"),
        ("fe80::1%1", 3260, "[fe80::1%1]:3260"),
    ])
    func parsesNumericHosts(host: String, port: Int, expected: String) throws {
        let address = try #require(SocketAddress(numericHost: host, port: UInt16(port)))
        #expect(address.description == expected)
        #expect(address.port == UInt16(port))
    }

    @Test(arguments: ["target.example", "256.1.1.1", "1.2.3", "", "::g", "fe80::1%no-such-interface0"])
    func rejectsWhatIsNotANumericHost(host: String) {
        #expect(SocketAddress(numericHost: host, port: 3260) == nil)
    }
}

@Suite struct MonotonicInstantTests {
    @Test func millisecondsUntilRoundsUpSoAWaitNeverEndsEarly() {
        let start = MonotonicInstant(nanoseconds: 1_000_000_000)
        #expect(start.milliseconds(until: MonotonicInstant(nanoseconds: 1_000_000_001)) == 1)
        #expect(start.milliseconds(until: start.advanced(byMilliseconds: 250)) == 250)
        #expect(start.milliseconds(until: start.advanced(byMilliseconds: -250)) == -250)
    }

    @Test func deadlinesAheadArePositiveAndPassedOnesAreNot() {
        #expect(MonotonicInstant.now().advanced(byMilliseconds: 10_000).millisecondsSinceNow > 9_000)
        #expect(MonotonicInstant.now().advanced(byMilliseconds: -1).hasPassed)
        #expect(MonotonicInstant.now() <= MonotonicInstant.now())
    }
}
