#if canImport(Glibc)
    import Glibc
#endif
import LinuxSystem

/// The lines a person reads on the console during early boot, one per step with its
/// duration (`iscsi-root: mounts: /proc /sys /dev /run (5 ms)`), also kept in the kernel log (`/dev/kmsg`) so that
/// `dmesg` and the journal still have them after the boot.
public struct BootLog {
    /// Standard error: the kernel starts /init with fds 0, 1 and 2 on /dev/console, and
    /// anywhere else these are messages for people.
    private let console: Int32 = 2
    /// Open for the life of the process (PID 1 never returns); O_CLOEXEC closes it when the
    /// real init is executed.
    private var kernelLog: Int32 = -1
    /// The priority of the kernel-log copy, chosen so that each line reaches the console once.
    private var kernelLogPriority = BootLog.kernelInfo

    private static let kernelInfo = 6
    private static let kernelDebug = 7

    public init() {}

    /// Starts copying lines into the kernel log once /dev (devtmpfs) is mounted; until then
    /// lines go to the console only. Tried again before each line until it works.
    private mutating func attachKernelLog() {
        guard kernelLog < 0 else { return }
        kernelLog = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY)
        guard kernelLog >= 0 else { return }
        // The kernel echoes kmsg lines below its console log level to the console itself;
        // this log writes every line to the console directly (kmsg writes are rate-limited
        // and could be dropped), so the copy goes in at a level the console does not show.
        if let consoleLevel = Self.consoleLogLevel(), consoleLevel > Self.kernelInfo {
            kernelLogPriority = Self.kernelDebug
        }
    }

    /// Writes `iscsi-root: TEXT` to the console and the kernel log.
    public mutating func line(_ text: String) {
        attachKernelLog()
        Self.writeAll("iscsi-root: \(text)\n", to: console)
        if kernelLog >= 0 {
            // One write() is one kmsg record: the priority prefix must be in the same write.
            Self.writeAll("<\(kernelLogPriority)>iscsi-root: \(text)\n", to: kernelLog)
        }
    }

    /// Runs one boot step and logs `NAME: RESULT (N ms)` (or `NAME (N ms)` when the step
    /// has nothing to add) when it succeeds, or `NAME failed after N ms: ERROR` before
    /// rethrowing.
    public mutating func step<E: Error & CustomStringConvertible>(_ name: String, _ body: () throws(E) -> String?) throws(E) {
        let start = MonotonicInstant.now()
        do {
            let result = try body()
            let elapsed = start.milliseconds(until: .now())
            line(result.map { "\(name): \($0) (\(elapsed) ms)" } ?? "\(name) (\(elapsed) ms)")
        } catch {
            line("\(name) failed after \(start.milliseconds(until: .now())) ms: \(error)")
            throw error
        }
    }

    /// The first field of /proc/sys/kernel/printk (nil before /proc is mounted): messages
    /// with a priority number below it are printed on the console by the kernel.
    private static func consoleLogLevel() -> Int? {
        guard let text = readText("/proc/sys/kernel/printk") else { return nil }
        return Int(String(text.prefix { $0.isASCII && $0.isNumber }))
    }

    /// Best effort: a console or kernel log that cannot be written has no better place to
    /// report it.
    private static func writeAll(_ text: String, to descriptor: Int32) {
        try? LinuxSystem.writeAll(Array(text.utf8), to: descriptor)
    }
}
