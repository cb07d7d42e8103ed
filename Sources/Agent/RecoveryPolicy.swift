/// When and where the supervisor tries again after a lost connection: events in, decisions
/// out, no clock and no randomness inside (the caller passes the jitter).
///
/// Attempts walk the portals in order; after a full round without success the wait doubles
/// from `firstDelayMilliseconds` up to `maximumDelayMilliseconds`, with ±`jitterFraction`
/// so that a thousand machines that lost the same target do not return in lockstep. The cap
/// is a second: a refused connect costs the target next to nothing, and every second of
/// waiting after the target is back is a second of frozen I/O on the root.
public struct RecoveryPolicy: Sendable, Equatable {
    public var portalCount: Int
    public var firstDelayMilliseconds: Int
    public var maximumDelayMilliseconds: Int
    public var jitterFraction: Double
    public var firstAttemptTimeoutMilliseconds: Int
    /// nil: try forever (a root disk has nothing better to do).
    public var maximumAttempts: Int?

    public init(
        portalCount: Int, firstDelayMilliseconds: Int = 250, maximumDelayMilliseconds: Int = 1000, jitterFraction: Double = 0.2,
        firstAttemptTimeoutMilliseconds: Int = 1000, maximumAttempts: Int? = nil
    ) {
        self.portalCount = max(1, portalCount)
        self.firstDelayMilliseconds = firstDelayMilliseconds
        self.maximumDelayMilliseconds = maximumDelayMilliseconds
        self.jitterFraction = jitterFraction
        self.firstAttemptTimeoutMilliseconds = firstAttemptTimeoutMilliseconds
        self.maximumAttempts = maximumAttempts
    }

    public enum Step: Sendable, Equatable {
        /// Wait this long, then try the portal at this index of the plan.
        case retry(portalIndex: Int, afterMilliseconds: Int)
        case giveUp
    }

    /// How long one attempt (connect and login) may take: short at first — a live target
    /// answers a login in milliseconds (about 30 ms even under QEMU's emulation), and one
    /// that is still starting may swallow the first login it accepts — doubling after each
    /// attempt that ran out of time, up to the session's own login timeout, so that a slow
    /// target still gets its full time.
    public func attemptTimeout(afterTimedOutAttempts timedOut: Int, loginTimeoutMilliseconds: Int) -> Int {
        min(loginTimeoutMilliseconds, firstAttemptTimeoutMilliseconds << min(max(timedOut, 0), 16))
    }

    /// The first attempt after a connection error: the first portal, after the negotiated
    /// DefaultTime2Wait (RFC 7143 §6.3.5: the target may refuse a reinstatement before it).
    public func firstAttempt(time2WaitSeconds: Int) -> Step {
        .retry(portalIndex: 0, afterMilliseconds: max(0, time2WaitSeconds) * 1000)
    }

    /// What to do after attempt number `attempt` (0 = the first) failed. `jitter` is a
    /// value in 0..<1 from the caller's random source.
    public func step(afterFailedAttempt attempt: Int, jitter: Double) -> Step {
        let next = attempt + 1
        if let maximumAttempts, next >= maximumAttempts { return .giveUp }
        let portal = next % portalCount
        // Another path right away: the next portal may be fine while this one is down.
        guard portal == 0 else { return .retry(portalIndex: portal, afterMilliseconds: 0) }
        let round = min(next / portalCount, 16)
        let base = min(maximumDelayMilliseconds, firstDelayMilliseconds << (round - 1))
        let spread = Double(base) * jitterFraction * (2 * min(max(jitter, 0), 1) - 1)
        return .retry(portalIndex: 0, afterMilliseconds: max(0, base + Int(spread)))
    }
}

/// How long the boot waits between its rounds of login attempts (every portal of every
/// target once per round): half a second, doubling up to 4 s, as a target that is still
/// starting needs a moment and a dead one should not hold the boot longer than the rounds
/// the plan allows. No jitter: one machine's boot does not stampede a target.
public struct BootLoginRetries: Sendable, Equatable {
    /// How many rounds the boot tries (`iscsi.retries`, at least 1).
    public var rounds: Int
    public var firstDelayMilliseconds = 500
    public var maximumDelayMilliseconds = 4000

    public init(rounds: Int) {
        self.rounds = max(1, rounds)
    }

    /// The wait after round number `round` (0 = the first) failed, or nil after the last.
    public func delay(afterFailedRound round: Int) -> Int? {
        guard round + 1 < rounds else { return nil }
        return min(maximumDelayMilliseconds, firstDelayMilliseconds << min(max(round, 0), 16))
    }
}
