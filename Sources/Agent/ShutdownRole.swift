#if canImport(Glibc)
    import Glibc
#endif
import BootConfig
import KernelSession
import LinuxSystem

/// The end of the machine's run, as `/run/initramfs/shutdown` (systemd-shutdown pivots into
/// /run/initramfs and executes it with the verb: reboot, poweroff, halt, kexec; another
/// init's final script can do the same, as Tests/VM/guest/demo-init does): unmount the old
/// root, have the supervisor log the session out, then stop the machine. The logout must come before
/// reboot(2): once it has started, the kernel fails I/O at once.
public enum ShutdownRole {
    static let oldRoot = "/oldroot"
    /// Unmount tries before the last resort (a read-only remount), 100 ms apart.
    static let unmountAttempts = 50

    public static func isRequested(arguments: [String]) -> Bool {
        arguments.first.map { $0 == "/shutdown" || $0.hasSuffix("/shutdown") } ?? false
    }

    /// Everything here is bounded by `iscsi.shutdown_timeout=` from the moment this role
    /// starts (`ShutdownBudget`): the unmount (with its sync) gets half, the supervisor's
    /// forced logout of every session what is left but a reserve, in which this role ends
    /// any session still in the kernel itself. The bound is read from /proc/cmdline here
    /// rather than asked of the supervisor: the clock starts in this process, and a
    /// supervisor that is stuck or gone must not be able to stretch it.
    public static func run(verb: String?) -> Never {
        let start = MonotonicInstant.now()
        var log = BootLog()
        let action: FailureAction
        switch verb {
        case "poweroff": action = .poweroff
        case "halt": action = .halt
        // kexec has nothing loaded by us; a plain reboot is the safe meaning.
        default: action = .reboot
        }
        mountProcIfMissing(log: &log)
        let bound = shutdownBoundSeconds(log: &log)
        let budget = ShutdownBudget(boundSeconds: bound)
        let unmountDeadline = start.advanced(byMilliseconds: budget.unmountMilliseconds)
        let logoutDeadline = start.advanced(byMilliseconds: budget.logoutEndMilliseconds)
        log.line("shutdown: within \(bound) s (iscsi.shutdown_timeout=): unmounting \(oldRoot)")
        let unmounted = unmountTreeBounded(under: oldRoot, until: unmountDeadline, log: &log)
        log.line("shutdown: \(unmounted ? "root unmounted" : "root still mounted"); logging out")
        let within = logoutDeadline.millisecondsSinceNow
        do {
            // One line per session: the root's first, then the other sessions'.
            let answer = try ControlRequest.send(
                line: ControlRequest.forcedLogoutLine(withinMilliseconds: within),
                timeoutMilliseconds: within + ShutdownBudget.answerMarginMilliseconds)
            if answer.isEmpty { log.line("shutdown: logout not answered within \(ShutdownBudget.seconds(within))") }
            for line in answer.split(separator: "\n") { log.line("shutdown: \(line)") }
        } catch {
            log.line("shutdown: no supervisor answered (\(error)); the target will drop the session on its own")
        }
        endRemainingSessions(log: &log)
        log.line("shutdown: \(action.rawValue) after \(start.milliseconds(until: .now())) ms")
        MachineStop.perform(action, log: &log)
    }

    /// `iscsi.shutdown_timeout=` from /proc/cmdline; the default when absent, unreadable or
    /// bad (said on the console: the machine must still stop).
    static func shutdownBoundSeconds(log: inout BootLog) -> Int {
        let commandLine = KernelCommandLine(bytes: (try? readFile(at: "/proc/cmdline")) ?? [])
        do {
            return try SessionSettings.shutdownTimeout(in: commandLine).value
        } catch {
            let fallback = SessionSettings().shutdownTimeout.value
            log.line("shutdown: \(error); using \(fallback) s")
            return fallback
        }
    }

    /// `unmountTree` in a child process: its sync or unmount may wait for a target that is
    /// gone (the kernel queues the I/O for the replacement timeout), and this role must go
    /// on to the logout at `deadline`, which ends that wait. Whether `root` was unmounted.
    static func unmountTreeBounded(under root: String, until deadline: MonotonicInstant, log: inout BootLog) -> Bool {
        let started = MonotonicInstant.now()
        switch try? forkProcess() {
        case .child:
            var childLog = log
            _exit(unmountTreeAndRelease(under: root, log: &childLog) ? 0 : 1)
        case .parent(let child):
            guard let status = waitForExit(child, deadline: deadline) else {
                log.line(
                    "shutdown: gave up on unmounting \(root) after \(ShutdownBudget.seconds(started.milliseconds(until: .now()))) (its data is still being written to the disk)"
                )
                return false
            }
            return status == 0
        case nil:
            return unmountTreeAndRelease(under: root, log: &log)
        }
    }

    /// `unmountTree`, then, once nothing is mounted there, the devices stacked on the
    /// sessions' disks (`StackedDevices`): in the same bounded child, since releasing an
    /// md array or a device-mapper volume writes to the disks too.
    static func unmountTreeAndRelease(under root: String, log: inout BootLog) -> Bool {
        guard unmountTree(under: root, log: &log) else { return false }
        StackedDevices.release(log: &log)
        return true
    }

    /// Sessions the kernel still has after the logout (a supervisor that did not answer in
    /// time, a session process that was stopped): ended here, so that reboot(2) does not
    /// wait on their disks (its flush would sit in the kernel's queue for the replacement
    /// timeout).
    static func endRemainingSessions(log: inout BootLog) {
        let sessions = directoryEntries("/sys/class/iscsi_session").compactMap { name in
            name.hasPrefix("session") ? UInt32(String(name.dropFirst("session".count))) : nil
        }
        guard !sessions.isEmpty else { return }
        guard let handle = try? KernelChannel.tcpTransportHandle(), var channel = try? KernelChannel(transportHandle: handle) else {
            log.line(
                "shutdown: session(s) \(sessions.map { String($0) }.joined(separator: ", ")) still in the kernel; no netlink channel to end them"
            )
            return
        }
        for sessionID in sessions {
            let target =
                readText("/sys/class/iscsi_session/session\(sessionID)/targetname")?.split(separator: "\n").first.map(String.init) ?? "?"
            // connection<session>:<cid>
            let connectionID =
                directoryEntries("/sys/class/iscsi_connection").compactMap { name -> UInt32? in
                    guard name.hasPrefix("connection\(sessionID):") else { return nil }
                    return UInt32(String(name.dropFirst("connection\(sessionID):".count)))
                }.first ?? 0
            let ended = KernelSession.end(
                sessionID: sessionID, connectionID: connectionID, channel: &channel, deadline: .now().advanced(byMilliseconds: 1000))
            log.line("shutdown: session \(sessionID) with \(target) was not logged out; \(ended ? "ended it" : "could not end it")")
        }
    }

    /// The mount table is read from /proc: systemd-shutdown binds /proc into the ramdisk
    /// before it pivots, but another init's final script may not. Without it nothing would
    /// be found to unmount, and the root would be reported unmounted while it is not.
    static func mountProcIfMissing(log: inout BootLog) {
        guard access("/proc/self/mountinfo", R_OK) != 0 else { return }
        mkdir("/proc", 0o555)
        if mount("proc", "/proc", "proc", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), nil) != 0 {
            log.line("shutdown: no /proc (\(SystemError("mount proc"))); the root cannot be unmounted")
        }
    }

    /// Unmounts every mount at or under `root`, deepest first, retrying while busy; falls
    /// back to a read-only remount. Returns whether `root` itself was unmounted.
    static func unmountTree(under root: String, log: inout BootLog) -> Bool {
        sync()
        // No mount table: nothing can be said to be unmounted.
        guard readText("/proc/self/mountinfo") != nil else { return false }
        // systemd-shutdown leaves /oldroot/run mounted, and the shutdown ramdisk (this
        // process's root) lives inside it: that tmpfs can never be unmounted, and /oldroot with
        // it. Mounts that no block device backs (tmpfs, proc, sysfs, cgroup…) hold no data of
        // the root disk: detach them first, so that the root itself can be unmounted.
        for (mountPoint, source) in mountEntries()
        where mountPoint.hasPrefix(root + "/") && !source.hasPrefix("/dev/") {
            umount2(mountPoint, Int32(MNT_DETACH))
        }
        for _ in 0..<unmountAttempts {
            let mounts = mountPoints().filter { $0 == root || $0.hasPrefix(root + "/") }.sorted { $0.count > $1.count }
            if mounts.isEmpty { return true }
            for mountPoint in mounts { umount2(mountPoint, 0) }
            usleep(100_000)
        }
        log.line("shutdown: still running: \(otherProcesses().joined(separator: ", "))")
        for mountPoint in mountPoints().filter({ $0 == root || $0.hasPrefix(root + "/") }).sorted(by: { $0.count > $1.count }) {
            if umount2(mountPoint, 0) != 0 { log.line("shutdown: \(mountPoint) stays mounted: \(SystemError("umount"))") }
            if mount(nil, mountPoint, nil, UInt(MS_REMOUNT | MS_RDONLY), nil) != 0 {
                log.line("shutdown: \(mountPoint) stays mounted read-write: \(SystemError("remount"))")
            }
        }
        sync()
        return false
    }

    /// "PID COMM" of every user-space process but this one: who may hold a mount busy.
    static func otherProcesses() -> [String] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var found: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name), pid != getpid() else { continue }
            // Kernel threads have an empty command line.
            guard let commandLine = readText("/proc/\(pid)/cmdline"), !commandLine.isEmpty else { continue }
            let command = readText("/proc/\(pid)/comm")?.split(separator: "\n").first.map(String.init) ?? "?"
            found.append("\(pid) \(command)")
        }
        return found
    }

    /// Mount points from /proc/self/mountinfo (field 5), with octal escapes decoded.
    static func mountPoints() -> [String] {
        guard let text = readText("/proc/self/mountinfo") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 ? decodeMountInfoEscapes(String(fields[4])) : nil
        }
    }

    /// Mount points with their sources from /proc/self/mountinfo (field 5, and the second
    /// field after the " - " separator).
    static func mountEntries() -> [(mountPoint: String, source: String)] {
        guard let text = readText("/proc/self/mountinfo") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4, let separator = fields.firstIndex(of: "-"), separator + 2 < fields.count else { return nil }
            return (decodeMountInfoEscapes(String(fields[4])), decodeMountInfoEscapes(String(fields[separator + 2])))
        }
    }

    /// mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134.
    static func decodeMountInfoEscapes(_ text: String) -> String {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "\\"), input.count >= 3,
                let value = UInt8(String(decoding: input.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                input = input.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// How `iscsi.shutdown_timeout=` is split (`ShutdownRole`, `SessionSupervisor`). Pure, so
/// that the split is tested with numbers.
public struct ShutdownBudget: Sendable, Equatable {
    public var boundSeconds: Int

    public init(boundSeconds: Int) { self.boundSeconds = boundSeconds }

    /// Kept back at the end: the shutdown role's own ending of sessions nobody logged out
    /// (1 s per kernel call at most) and reboot(2)'s final sync.
    public static let reserveMilliseconds = 2000
    /// How much longer the shutdown role waits for the answer than the supervisor's bound.
    public static let answerMarginMilliseconds = 300

    /// The unmount, its sync included: half of the bound. Its writes are what a connection
    /// cut at this moment waits on, so it gets room for one recovery (Time2Wait and a login).
    public var unmountMilliseconds: Int { boundSeconds * 1000 / 2 }

    /// When the supervisor's forced logout must be over, counted from the role's start.
    public var logoutEndMilliseconds: Int {
        max(unmountMilliseconds, boundSeconds * 1000 - Self.reserveMilliseconds - Self.answerMarginMilliseconds)
    }

    /// The share of the next other session when `peersLeft` of them and the root's own are
    /// still to log out: an equal part of what is left.
    public static func peerShare(remainingMilliseconds: Int, peersLeft: Int) -> Int {
        max(0, remainingMilliseconds) / (max(0, peersLeft) + 1)
    }

    /// "N s" with one decimal, for the console.
    public static func seconds(_ milliseconds: Int) -> String {
        let tenths = (max(0, milliseconds) + 50) / 100
        return "\(tenths / 10).\(tenths % 10) s"
    }
}
