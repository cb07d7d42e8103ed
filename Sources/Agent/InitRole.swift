#if canImport(Glibc)
    import Glibc
#endif
import BootConfig
import LinuxSystem

/// `iscsi-root` as `/init`, PID 1 of the standalone initramfs: the boot path of
/// ARCHITECTURE.md, step by step, each step logged with its duration.
///
/// After the early mounts, `BootSequence` does the rest; when it cannot reach the root the
/// console says why and what to check, and the machine takes the configured action.
public enum InitRole {
    /// Runs the boot path as PID 1. PID 1 must never exit (the kernel panics), so every
    /// outcome ends in `reboot(2)`.
    public static func run(arguments: [String]) -> Never {
        let started = MonotonicInstant.now()
        var log = BootLog()
        guard getpid() == 1 else {
            // Mounting and powering off are for an initramfs, never for a running system.
            log.line("the init role runs only as PID 1 of an initramfs (this is PID \(getpid()))")
            exit(2)
        }
        // CLOCK_MONOTONIC counts from the kernel's start, close to (not exactly) dmesg's clock.
        log.line("started as PID 1, argv [\(arguments.joined(separator: " "))], uptime \(started.nanoseconds / 1_000_000) ms")
        do {
            try log.step("mounts") { () throws(SystemError) in
                var mounted: [String] = []
                for earlyMount in EarlyMount.initramfs where try earlyMount.mountIfAbsent() {
                    mounted.append(earlyMount.target)
                }
                return mounted.isEmpty ? "all present" : mounted.joined(separator: " ")
            }
        } catch {
            log.line("cannot mount the kernel filesystems; powering off")
            MachineStop.perform(.poweroff, log: &log)
        }
        let failure = BootSequence.run(log: &log)
        log.line("the root could not be brought up: \(failure.reason)")
        log.line("check: \(failure.check)")
        // No shell is in this initramfs: the only way on is the configured action.
        log.line("no rescue shell in this initramfs; \(failure.action.rawValue) in \(failureDelaySeconds) s (iscsi.on_failure=)")
        sleep(UInt32(failureDelaySeconds))
        MachineStop.perform(failure.action, log: &log)
    }

    /// Time for a person to read the failure on the console before the machine goes.
    static let failureDelaySeconds = 10

    /// Whether this process should take the init role: the kernel started it as `/init`
    /// (or `…/init`), or it is PID 1 with no arguments.
    public static func isRequested(arguments: [String]) -> Bool {
        guard let programPath = arguments.first else { return getpid() == 1 }
        let programName = programPath.split(separator: "/").last.map(String.init) ?? programPath
        return programName == "init" || (getpid() == 1 && arguments.count == 1)
    }
}
