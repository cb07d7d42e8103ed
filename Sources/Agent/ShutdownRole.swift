#if canImport(Glibc)
    import Glibc
#endif
import BootConfig
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

    /// The supervisor's answer to the forced logout comes within 20 s per other session
    /// (`SessionSupervisor.peerLogoutTimeoutMilliseconds`: a session whose target is gone is
    /// stopped after it) plus 15 s for the root's (disk removal 10 s, logout 5 s): 120 s
    /// covers five sessions; a machine with more reboots without waiting for the rest.
    static let logoutTimeoutMilliseconds = 120_000

    public static func isRequested(arguments: [String]) -> Bool {
        arguments.first.map { $0 == "/shutdown" || $0.hasSuffix("/shutdown") } ?? false
    }

    public static func run(verb: String?) -> Never {
        var log = BootLog()
        let action: FailureAction
        switch verb {
        case "poweroff": action = .poweroff
        case "halt": action = .halt
        // kexec has nothing loaded by us; a plain reboot is the safe meaning.
        default: action = .reboot
        }
        mountProcIfMissing(log: &log)
        let unmounted = unmountTree(under: oldRoot, log: &log)
        log.line("shutdown: \(unmounted ? "root unmounted" : "root still mounted (read-only)"); logging out")
        do {
            // One line per session: the root's first, then the other sessions'.
            let answer = try ControlRequest.forcedLogout.send(timeoutMilliseconds: Self.logoutTimeoutMilliseconds)
            for line in answer.split(separator: "\n") { log.line("shutdown: \(line)") }
        } catch {
            log.line("shutdown: no supervisor answered (\(error)); the target will drop the session on its own")
        }
        log.line("shutdown: \(action.rawValue)")
        MachineStop.perform(action, log: &log)
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
