/// How much of a long recovery reaches the console: the first `fullLines` failed attempts in
/// full, then one summary line per `summaryIntervalMilliseconds` (how many attempts, how
/// many in all, the last error). A reconnect line every second for an hour-long outage
/// would bury everything else in the log and the console. No clock inside: the caller
/// passes the time, in milliseconds from any fixed start.
public struct RecoveryLogLimiter: Sendable, Equatable {
    public var fullLines: Int
    public var summaryIntervalMilliseconds: Int
    /// Failed attempts recorded in this recovery.
    public private(set) var attempts = 0
    /// Attempts not shown since the last line, and the last of their errors.
    private var unreported = 0
    private var lastError = ""
    /// When the last line (full or summary) went out.
    private var lastLineAt = 0

    public init(fullLines: Int = 5, summaryIntervalMilliseconds: Int = 60_000) {
        self.fullLines = max(0, fullLines)
        self.summaryIntervalMilliseconds = max(1, summaryIntervalMilliseconds)
    }

    /// A failed attempt, described by `line` (printed as it is while full lines last) and
    /// `error`: the line to print now, or nil.
    public mutating func failed(_ line: String, error: String, atMilliseconds now: Int) -> String? {
        attempts += 1
        if attempts <= fullLines {
            lastLineAt = now
            return line
        }
        unreported += 1
        lastError = error
        guard now - lastLineAt >= summaryIntervalMilliseconds else { return nil }
        return summary(atMilliseconds: now)
    }

    /// The recovery ended (logged in, or gave up): a last summary of the attempts not shown
    /// yet, so that the count is complete before the line that says how it ended.
    public mutating func finished(atMilliseconds now: Int) -> String? {
        unreported > 0 ? summary(atMilliseconds: now) : nil
    }

    private mutating func summary(atMilliseconds now: Int) -> String {
        let seconds = max(0, now - lastLineAt) / 1000
        defer {
            unreported = 0
            lastLineAt = now
        }
        return "still recovering: \(unreported) more failed attempt(s) in \(seconds) s, \(attempts) in all; last: \(lastError)"
    }
}
