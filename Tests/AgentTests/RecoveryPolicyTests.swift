import Testing

@testable import Agent

@Suite struct RecoveryPolicyTests {
    @Test func firstAttemptWaitsTime2Wait() {
        #expect(RecoveryPolicy(portalCount: 2).firstAttempt(time2WaitSeconds: 2) == .retry(portalIndex: 0, afterMilliseconds: 2000))
    }

    @Test func walksThePortalsThenBacksOffUpToTheCap() {
        let policy = RecoveryPolicy(portalCount: 2, firstDelayMilliseconds: 250, maximumDelayMilliseconds: 4000, jitterFraction: 0)
        let steps = (0..<12).map { policy.step(afterFailedAttempt: $0, jitter: 0.5) }
        #expect(steps[0] == .retry(portalIndex: 1, afterMilliseconds: 0))
        #expect(steps[1] == .retry(portalIndex: 0, afterMilliseconds: 250))
        #expect(steps[2] == .retry(portalIndex: 1, afterMilliseconds: 0))
        #expect(steps[3] == .retry(portalIndex: 0, afterMilliseconds: 500))
        #expect(steps[5] == .retry(portalIndex: 0, afterMilliseconds: 1000))
        #expect(steps[11] == .retry(portalIndex: 0, afterMilliseconds: 4000))
    }

    @Test(arguments: [0.0, 0.25, 0.5, 0.999])
    func jitterStaysWithinItsFraction(jitter: Double) {
        let policy = RecoveryPolicy(portalCount: 1, firstDelayMilliseconds: 1000, maximumDelayMilliseconds: 1000, jitterFraction: 0.2)
        guard case .retry(0, let delay) = policy.step(afterFailedAttempt: 3, jitter: jitter) else {
            Issue.record("expected a retry")
            return
        }
        #expect((800...1200).contains(delay))
    }

    @Test func attemptTimeoutStartsShortAndGrowsToTheLoginTimeout() {
        let policy = RecoveryPolicy(portalCount: 1)
        let timeouts = (0..<6).map { policy.attemptTimeout(afterTimedOutAttempts: $0, loginTimeoutMilliseconds: 15_000) }
        #expect(timeouts == [1000, 2000, 4000, 8000, 15_000, 15_000])
        #expect(policy.attemptTimeout(afterTimedOutAttempts: 1000, loginTimeoutMilliseconds: 15_000) == 15_000)
        // A login timeout shorter than the first attempt's wins.
        #expect(policy.attemptTimeout(afterTimedOutAttempts: 0, loginTimeoutMilliseconds: 500) == 500)
    }

    @Test func givesUpOnlyWhenBounded() {
        #expect(RecoveryPolicy(portalCount: 1, maximumAttempts: 3).step(afterFailedAttempt: 2, jitter: 0) == .giveUp)
        #expect(RecoveryPolicy(portalCount: 1).step(afterFailedAttempt: 100_000, jitter: 0) != .giveUp)
    }
}

/// The boot's waits between login rounds: the schedule `iscsi.retries` walks before the boot
/// gives up (0.5, 1, 2, 4 s, then 4 s), and none after the last round.
@Suite struct BootLoginRetriesTests {
    @Test func doublesFromHalfASecondUpToFourSeconds() {
        let retries = BootLoginRetries(rounds: 7)
        #expect((0..<7).map { retries.delay(afterFailedRound: $0) } == [500, 1000, 2000, 4000, 4000, 4000, nil])
    }

    @Test func noWaitAfterTheLastRound() {
        #expect(BootLoginRetries(rounds: 1).delay(afterFailedRound: 0) == nil)
        #expect(BootLoginRetries(rounds: 3).delay(afterFailedRound: 2) == nil)
    }

    @Test func atLeastOneRoundAndNoOverflowOnALongRun() {
        #expect(BootLoginRetries(rounds: 0).rounds == 1)
        #expect(BootLoginRetries(rounds: -5).rounds == 1)
        #expect(BootLoginRetries(rounds: 1000).delay(afterFailedRound: 900) == 4000)
    }
}
