import Testing

@testable import Agent

/// The first recovery attempts in full, then one summary a minute, with a clock passed in.
@Suite struct RecoveryLogLimiterTests {
    /// One failed attempt a second for `count` seconds from `start`: the lines that go out.
    func run(_ limiter: inout RecoveryLogLimiter, seconds range: Range<Int>) -> [String] {
        range.compactMap { second in
            limiter.failed("attempt \(second + 1) failed: refused", error: "refused \(second + 1)", atMilliseconds: second * 1000)
        }
    }

    @Test func theFirstFiveInFullThenOneSummaryAMinute() {
        var limiter = RecoveryLogLimiter()
        let lines = run(&limiter, seconds: 0..<185)
        #expect(
            lines.prefix(5) == [
                "attempt 1 failed: refused", "attempt 2 failed: refused", "attempt 3 failed: refused",
                "attempt 4 failed: refused", "attempt 5 failed: refused",
            ])
        // The fifth line went out at 4 s: summaries at 64, 124 and 184 s.
        #expect(lines.count == 8)
        #expect(lines[5] == "still recovering: 60 more failed attempt(s) in 60 s, 65 in all; last: refused 65")
        #expect(lines[7] == "still recovering: 60 more failed attempt(s) in 60 s, 185 in all; last: refused 185")
        #expect(limiter.attempts == 185)
    }

    @Test func theEndOfARecoveryCompletesTheCount() {
        var limiter = RecoveryLogLimiter()
        _ = run(&limiter, seconds: 0..<30)
        #expect(
            limiter.finished(atMilliseconds: 30_500) == "still recovering: 25 more failed attempt(s) in 26 s, 30 in all; last: refused 30")
        #expect(limiter.finished(atMilliseconds: 31_000) == nil)
    }

    @Test func aShortRecoveryIsAllInFullAndNeedsNoSummary() {
        var limiter = RecoveryLogLimiter()
        #expect(run(&limiter, seconds: 0..<3).count == 3)
        #expect(limiter.finished(atMilliseconds: 3000) == nil)
    }

    @Test func sparseAttemptsEachGetTheirSummary() {
        // Attempts 90 s apart (a busy target's waits): each one past the full lines is due at once.
        var limiter = RecoveryLogLimiter(fullLines: 1, summaryIntervalMilliseconds: 60_000)
        let lines = (0..<4).compactMap { limiter.failed("attempt \($0 + 1)", error: "busy", atMilliseconds: $0 * 90_000) }
        #expect(
            lines == [
                "attempt 1", "still recovering: 1 more failed attempt(s) in 90 s, 2 in all; last: busy",
                "still recovering: 1 more failed attempt(s) in 90 s, 3 in all; last: busy",
                "still recovering: 1 more failed attempt(s) in 90 s, 4 in all; last: busy",
            ])
    }

    @Test func noFullLinesMeansSummariesOnly() {
        var limiter = RecoveryLogLimiter(fullLines: 0, summaryIntervalMilliseconds: 10_000)
        #expect(limiter.failed("attempt 1", error: "e", atMilliseconds: 5000) == nil)
        #expect(
            limiter.failed("attempt 2", error: "e2", atMilliseconds: 10_000)
                == "still recovering: 2 more failed attempt(s) in 10 s, 2 in all; last: e2")
    }
}
