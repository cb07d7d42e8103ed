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

/// A busy target (login status 0x0301/0x0302) and a target that ends the connection itself
/// (AsyncEvent 1–3 with a Time2Wait): jittered waits, never shorter than what it asked.
@Suite struct BusyTargetPolicyTests {
    let policy = RecoveryPolicy(portalCount: 2)

    @Test func busyAnswersWaitTwoSecondsDoublingToThirtyPlusUpToHalf() {
        let least = (1...6).map { RecoveryPolicy.busyDelay(afterBusyAnswers: $0, jitter: 0) }
        #expect(least == [2000, 4000, 8000, 16_000, 30_000, 30_000])
        #expect(RecoveryPolicy.busyDelay(afterBusyAnswers: 1, jitter: 0.999_999) == 2999)
        #expect(RecoveryPolicy.busyDelay(afterBusyAnswers: 100_000, jitter: 1) == 45_000)
        #expect(RecoveryPolicy.busyDelay(afterBusyAnswers: 0, jitter: -1) == 2000)
    }

    @Test func aBusyAnswerSlowsEvenTheSwitchToTheNextPortal() {
        // Without it the next portal follows at once, and the first again after 250 ms.
        #expect(policy.step(afterFailedAttempt: 0, jitter: 0.5, busyAnswers: 0) == .retry(portalIndex: 1, afterMilliseconds: 0))
        #expect(policy.step(afterFailedAttempt: 0, jitter: 0, busyAnswers: 1) == .retry(portalIndex: 1, afterMilliseconds: 2000))
        #expect(policy.step(afterFailedAttempt: 1, jitter: 0.5, busyAnswers: 2) == .retry(portalIndex: 0, afterMilliseconds: 5000))
        for draw in stride(from: 0.0, to: 1.0, by: 0.05) {
            guard case .retry(_, let wait) = policy.step(afterFailedAttempt: 7, jitter: draw, busyAnswers: 3) else {
                Issue.record("gave up")
                continue
            }
            #expect((8000...12_000).contains(wait), "draw \(draw): \(wait) ms")
        }
        #expect(RecoveryPolicy(portalCount: 1, maximumAttempts: 2).step(afterFailedAttempt: 1, jitter: 0, busyAnswers: 4) == .giveUp)
    }

    @Test func theTargetsTime2WaitIsAFloorTheJitterOnlyAddsTo() {
        #expect(
            policy.firstAttempt(targetAskedSeconds: 3, time2WaitSeconds: 2, jitter: 0) == .retry(portalIndex: 0, afterMilliseconds: 3000))
        #expect(
            policy.firstAttempt(targetAskedSeconds: 3, time2WaitSeconds: 2, jitter: 0.5) == .retry(portalIndex: 0, afterMilliseconds: 3750))
        // The negotiated DefaultTime2Wait when the target asked for less, and some spread even at 0.
        #expect(
            policy.firstAttempt(targetAskedSeconds: 0, time2WaitSeconds: 2, jitter: 0) == .retry(portalIndex: 0, afterMilliseconds: 2000))
        #expect(
            policy.firstAttempt(targetAskedSeconds: 0, time2WaitSeconds: 0, jitter: 0.5) == .retry(portalIndex: 0, afterMilliseconds: 250))
        for draw in stride(from: 0.0, to: 1.0, by: 0.05) {
            guard case .retry(0, let wait) = policy.firstAttempt(targetAskedSeconds: 3, time2WaitSeconds: 2, jitter: draw) else {
                Issue.record("not a retry at the first portal")
                continue
            }
            #expect((3000..<4500).contains(wait), "draw \(draw): \(wait) ms")
        }
    }

    @Test func theBootWaitsForABusyTargetTooButNotPastItsDeadline() {
        let boot = BootLoginRetries(rounds: nil, timeoutMilliseconds: 600_000)
        #expect(boot.delay(afterFailedRound: 0, elapsedMilliseconds: 0, jitter: 0, busyAnswers: 1) == 2000)
        #expect(boot.delay(afterFailedRound: 6, elapsedMilliseconds: 0, jitter: 0, busyAnswers: 3) == 8000)
        #expect(boot.delay(afterFailedRound: 6, elapsedMilliseconds: 0, jitter: 0, busyAnswers: 5) == 30_000)
        #expect(boot.delay(afterFailedRound: 6, elapsedMilliseconds: 590_000, jitter: 0, busyAnswers: 5) == 10_000)
        #expect(boot.delay(afterFailedRound: 0, elapsedMilliseconds: 0, jitter: 0, busyAnswers: 0) == 500)
    }
}

/// The boot's waits between login rounds and when it gives up: 0.5 s doubling to an 8 s cap,
/// jitter from the caller's draw taking off up to half a wait, `iscsi.retries=` rounds or `iscsi.boot_timeout=`
/// time, whichever ends first.
@Suite struct BootLoginRetriesTests {
    let tenMinutes = BootLoginRetries(rounds: nil, timeoutMilliseconds: 600_000)

    @Test func doublesFromHalfASecondUpToTheCap() {
        let longest = (0..<7).map { tenMinutes.delay(afterFailedRound: $0, elapsedMilliseconds: 0, jitter: 0) }
        #expect(longest == [500, 1000, 2000, 4000, 8000, 8000, 8000])
        let midpoint = (0..<6).map { tenMinutes.delay(afterFailedRound: $0, elapsedMilliseconds: 0, jitter: 0.5) }
        #expect(midpoint == [375, 750, 1500, 3000, 6000, 6000])
    }

    @Test func jitterTakesOffUpToHalfAndNeverGoesAboveTheCap() {
        #expect(tenMinutes.delay(afterFailedRound: 2, elapsedMilliseconds: 0, jitter: 0.999_999) == 1000)
        #expect(tenMinutes.delay(afterFailedRound: 50, elapsedMilliseconds: 0, jitter: 0.999_999) == 4000)
        // Out-of-range draws are clamped, not trusted.
        #expect(tenMinutes.delay(afterFailedRound: 50, elapsedMilliseconds: 0, jitter: -3) == 8000)
        #expect(tenMinutes.delay(afterFailedRound: 50, elapsedMilliseconds: 0, jitter: 7) == 4000)
        for draw in stride(from: 0.0, to: 1.0, by: 0.01) {
            let wait = tenMinutes.delay(afterFailedRound: 40, elapsedMilliseconds: 0, jitter: draw) ?? -1
            #expect((4000...8000).contains(wait), "draw \(draw) gave \(wait)")
        }
    }

    @Test func differentDrawsGiveDifferentWaitsEvenAtTheCap() {
        let waits = Set([0.0, 0.25, 0.5, 0.75].map { tenMinutes.delay(afterFailedRound: 10, elapsedMilliseconds: 0, jitter: $0) })
        #expect(waits.count == 4)
    }

    @Test func theBootTimeoutEndsTheRoundsAndTheLastWaitIsCutToTheDeadline() {
        #expect(tenMinutes.delay(afterFailedRound: 80, elapsedMilliseconds: 597_000, jitter: 0) == 3000)
        #expect(tenMinutes.delay(afterFailedRound: 80, elapsedMilliseconds: 600_000, jitter: 0.5) == nil)
        #expect(tenMinutes.delay(afterFailedRound: 80, elapsedMilliseconds: 650_000, jitter: 0.5) == nil)
    }

    @Test func retriesBoundRoundsWhicheverEndsFirst() {
        let three = BootLoginRetries(rounds: 3, timeoutMilliseconds: 600_000)
        #expect(three.delay(afterFailedRound: 1, elapsedMilliseconds: 2000, jitter: 0) == 1000)
        #expect(three.delay(afterFailedRound: 2, elapsedMilliseconds: 2000, jitter: 0.5) == nil)
        let short = BootLoginRetries(rounds: 1000, timeoutMilliseconds: 5000)
        #expect(short.delay(afterFailedRound: 3, elapsedMilliseconds: 5000, jitter: 0.5) == nil)
    }

    @Test func atLeastOneRoundAndNoOverflowOnALongRun() {
        #expect(BootLoginRetries(rounds: 0, timeoutMilliseconds: 1000).rounds == 1)
        #expect(
            BootLoginRetries(rounds: -5, timeoutMilliseconds: 1000).delay(afterFailedRound: 0, elapsedMilliseconds: 0, jitter: 0) == nil)
        #expect(
            BootLoginRetries(rounds: nil, timeoutMilliseconds: 86_400_000).delay(
                afterFailedRound: 10_000, elapsedMilliseconds: 0, jitter: 0) == 8000)
    }

    @Test func aProgressLineEveryTenSecondsSayingWhatWasTriedAndTheTimes() {
        #expect(!BootLoginRetries.progressDue(elapsedMilliseconds: 9_999, lastReportMilliseconds: 0))
        #expect(BootLoginRetries.progressDue(elapsedMilliseconds: 10_000, lastReportMilliseconds: 0))
        #expect(!BootLoginRetries.progressDue(elapsedMilliseconds: 25_000, lastReportMilliseconds: 16_000))
        let line = tenMinutes.progressLine(round: 5, elapsedMilliseconds: 42_500, lastAttempt: "iqn.x at 10.0.2.2:3260: refused")
        #expect(line.contains("after 42 s") && line.contains("round 6") && line.contains("for 557 s"))
        #expect(line.contains("iscsi.boot_timeout=600") && line.hasSuffix("last: iqn.x at 10.0.2.2:3260: refused"))
        let bounded = BootLoginRetries(rounds: 8, timeoutMilliseconds: 600_000)
        #expect(bounded.progressLine(round: 2, elapsedMilliseconds: 3000, lastAttempt: "-").contains("round 3 of 8"))
    }
}
