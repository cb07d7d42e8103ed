#if canImport(Glibc)
    import Glibc
#endif

/// A point in time on `CLOCK_MONOTONIC`: it never jumps when the wall clock is set (by DHCP,
/// NTP or a person), so deadlines computed from it stay honest during early boot.
public struct MonotonicInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since an unspecified start (the kernel's boot, on Linux).
    public let nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The current time. The corresponding C function is `clock_gettime(CLOCK_MONOTONIC)`,
    /// which cannot fail for this clock on Linux.
    public static func now() -> MonotonicInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }

    /// The instant `milliseconds` later (earlier if negative).
    public func advanced(byMilliseconds milliseconds: Int) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds + Int64(milliseconds) * 1_000_000)
    }

    /// Whole milliseconds from `self` to `later`, rounded up so that waiting this long never
    /// wakes before `later`; negative when `later` is earlier.
    public func milliseconds(until later: MonotonicInstant) -> Int {
        let difference = later.nanoseconds - nanoseconds
        return Int(difference >= 0 ? (difference + 999_999) / 1_000_000 : difference / 1_000_000)
    }

    /// Milliseconds from now until this instant (as Foundation's `timeIntervalSinceNow`):
    /// positive for a deadline still ahead, zero or negative once it has passed.
    public var millisecondsSinceNow: Int {
        MonotonicInstant.now().milliseconds(until: self)
    }

    /// Whether this instant is now or in the past.
    public var hasPassed: Bool {
        MonotonicInstant.now() >= self
    }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    public var description: String {
        "\(nanoseconds / 1_000_000) ms"
    }
}
