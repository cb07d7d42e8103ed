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

    /// The first attempt after the target itself ended the connection (an Asynchronous
    /// Message, RFC 7143 §11.9.1, or the Time2Wait of the Logout Response that answered
    /// one): never sooner than it asked nor than the negotiated DefaultTime2Wait, plus a
    /// random part of up to half of that (at least of a second), as the target asked every
    /// initiator at once.
    public func firstAttempt(targetAskedSeconds asked: Int, time2WaitSeconds negotiated: Int, jitter: Double) -> Step {
        let floor = max(asked, negotiated, 0) * 1000
        let extra = Int(Double(max(floor, 1000)) / 2 * min(max(jitter, 0), 1))
        return .retry(portalIndex: 0, afterMilliseconds: floor + extra)
    }

    /// The least wait after the target answered a login with "retry later" (0x0301 service
    /// unavailable, 0x0302 out of resources) `answers` times in a row (1 = the first): 2 s
    /// doubling up to 30 s, plus a random part of up to half of that. A target that says it
    /// is overloaded is up, so the connection-loss pace (a second at most) would keep it down
    /// with a thousand initiators; the jitter only ever adds, so no wait is shorter than that.
    public static func busyDelay(afterBusyAnswers answers: Int, jitter: Double) -> Int {
        let base = min(30_000, 2000 << min(max(answers - 1, 0), 16))
        return base + Int(Double(base) / 2 * min(max(jitter, 0), 1))
    }

    /// `step(afterFailedAttempt:jitter:)`, and when the failed attempt was the `busyAnswers`th
    /// "retry later" in a row, waiting at least `busyDelay` before the next portal too.
    public func step(afterFailedAttempt attempt: Int, jitter: Double, busyAnswers: Int) -> Step {
        let step = step(afterFailedAttempt: attempt, jitter: jitter)
        guard busyAnswers > 0, case .retry(let portal, let delay) = step else { return step }
        return .retry(portalIndex: portal, afterMilliseconds: max(delay, Self.busyDelay(afterBusyAnswers: busyAnswers, jitter: jitter)))
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
/// target once per round) and when it gives up: no clock and no randomness inside (the
/// caller passes the elapsed time and a jitter draw).
///
/// Half a second, doubling up to 8 s, each wait drawn between half its nominal value and
/// all of it: after a power outage a thousand servers wait for the same array, and waits in
/// lockstep would bring their logins to it at the same instant. Jitter only downwards keeps
/// the cap a cap (a spread around it would put half the machines on the cap itself). The cap
/// keeps an attempt per progress line and at most 8 s between the array's return and the
/// boot going on.
///
/// Two bounds, whichever ends first: `rounds` (`iscsi.retries=`, nil when not set) counts
/// rounds, as open-iscsi's `initial_login_retry_max` does, and whoever sets it asks for a
/// quick failure (a fallback, a test); `timeoutMilliseconds` (`iscsi.boot_timeout=`) is
/// time, the bound a person reasons in when the SAN comes back after the servers. The last
/// wait is cut to what is left, so one round starts at the deadline itself.
public struct BootLoginRetries: Sendable, Equatable {
    /// How many rounds the boot tries (`iscsi.retries`, at least 1), nil: until the deadline.
    public var rounds: Int?
    /// How long after the first attempt the boot still starts a round (`iscsi.boot_timeout`).
    public var timeoutMilliseconds: Int
    public var firstDelayMilliseconds = 500
    public var maximumDelayMilliseconds = 8000
    /// The share of a wait the jitter may take off.
    public var jitterFraction = 0.5
    /// The boot prints a progress line at most this often while no path answers.
    public static let progressIntervalMilliseconds = 10_000

    public init(rounds: Int?, timeoutMilliseconds: Int) {
        self.rounds = rounds.map { max(1, $0) }
        self.timeoutMilliseconds = max(0, timeoutMilliseconds)
    }

    /// The wait after round number `round` (0 = the first) failed, `elapsed` milliseconds
    /// after the first round started, or nil: give up. `jitter` is a value in 0..<1 from the
    /// caller's random source.
    /// `busyAnswers`: how many rounds in a row a target answered "retry later" (0x0301,
    /// 0x0302); then the wait is at least `RecoveryPolicy.busyDelay`, cut only by the deadline.
    public func delay(afterFailedRound round: Int, elapsedMilliseconds elapsed: Int, jitter: Double, busyAnswers: Int = 0) -> Int? {
        if let rounds, round + 1 >= rounds { return nil }
        let left = timeoutMilliseconds - elapsed
        guard left > 0 else { return nil }
        let base = min(maximumDelayMilliseconds, firstDelayMilliseconds << min(max(round, 0), 16))
        var wait = Int(Double(base) * (1 - jitterFraction * min(max(jitter, 0), 1)))
        if busyAnswers > 0 { wait = max(wait, RecoveryPolicy.busyDelay(afterBusyAnswers: busyAnswers, jitter: jitter)) }
        return min(left, max(0, wait))
    }

    /// Whether a progress line is due, `elapsed` milliseconds into the login and `lastReport`
    /// after the last one (or the start).
    public static func progressDue(elapsedMilliseconds elapsed: Int, lastReportMilliseconds lastReport: Int) -> Bool {
        elapsed - lastReport >= progressIntervalMilliseconds
    }

    /// The progress line: what was tried last, its error, how long so far and how long is left.
    public func progressLine(round: Int, elapsedMilliseconds elapsed: Int, lastAttempt: String) -> String {
        let left = max(0, timeoutMilliseconds - elapsed) / 1000
        let rounds = self.rounds.map { " of \($0)" } ?? ""
        return "login: no path answers after \(elapsed / 1000) s (round \(round + 1)\(rounds)); still trying for \(left) s "
            + "(iscsi.boot_timeout=\(timeoutMilliseconds / 1000)); last: \(lastAttempt)"
    }
}
