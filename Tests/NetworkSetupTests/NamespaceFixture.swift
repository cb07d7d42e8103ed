import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A private network namespace for one test, removed (with every process left in it) when
/// the value goes away, so the machine's own interfaces are never touched.
final class NetworkNamespace: @unchecked Sendable {
    let name: String

    /// Namespaces need root and iproute2; elsewhere the real tests are skipped.
    static let available = getuid() == 0 && FileManager.default.isExecutableFile(atPath: ipCommand)
    static let ipCommand =
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"

    /// Whether `ip link add … type vlan` works here (containers often lack the 8021q module).
    static let supportsVLAN: Bool = {
        guard available, let namespace = try? NetworkNamespace("vlan-probe") else { return false }
        return (try? namespace.ip("link", "add", "probe0", "type", "veth", "peer", "name", "probe1")) != nil
            && (try? namespace.ip("link", "add", "link", "probe0", "name", "probe0.2", "type", "vlan", "id", "2")) != nil
    }()

    private static let counter = Counter()

    init(_ purpose: String) throws {
        Self.removeLeftovers
        name = "isr-\(purpose)-\(getpid())-\(Self.counter.next())"
        try runCommand(Self.ipCommand, ["netns", "add", name])
    }

    /// Namespaces of earlier runs that crashed before their `deinit` (named `isr-…-PID-N`
    /// with a PID that is gone), removed once per run.
    private static let removeLeftovers: Void = {
        let listing = (try? runCommand(ipCommand, ["netns", "list"])) ?? ""
        for line in listing.split(whereSeparator: { $0.isNewline }) {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard name.hasPrefix("isr-"), parts.count >= 3, let pid = Int32(parts[parts.count - 2]),
                kill(pid, 0) != 0
            else { continue }
            _ = try? runCommand(ipCommand, ["netns", "del", name])
        }
    }()

    deinit {
        // Processes we started inside (dnsmasq) end with the test, by their own pid.
        if let pids = try? runCommand(Self.ipCommand, ["netns", "pids", name]) {
            for pid in pids.split(whereSeparator: { $0.isNewline }).compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        }
        _ = try? runCommand(Self.ipCommand, ["netns", "del", name])
    }

    /// `ip -n NAME arguments…`, its output.
    @discardableResult
    func ip(_ arguments: String...) throws -> String {
        try runCommand(Self.ipCommand, ["-n", name] + arguments)
    }

    /// Runs `body` on a thread of its own that has entered this namespace (setns applies to
    /// the calling thread only, and the thread ends afterwards), waiting at most `seconds`.
    func runInside<Value: Sendable>(within seconds: Double, _ body: @escaping @Sendable () throws -> Value) throws -> Value {
        let outcome = Outcome<Value>()
        let path = "/run/netns/\(name)"
        let thread = Thread {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 || enterNetworkNamespace(descriptor) != 0 {
                outcome.finish(.failure(FixtureError("setns \(path): errno \(errno)")))
            } else {
                outcome.finish(Result { try body() })
            }
            if descriptor >= 0 { close(descriptor) }
        }
        thread.start()
        guard outcome.done.wait(timeout: .now() + seconds) == .success, let result = outcome.result else {
            throw FixtureError("the test body in namespace \(name) did not finish within \(seconds) s")
        }
        return try result.get()
    }
}

/// Starts `executable` with `arguments` and returns its standard output; throws with its
/// standard error when it fails or outlives `timeoutSeconds`.
///
/// posix_spawn and waitpid rather than Foundation's Process, whose exit monitoring left
/// children unreaped here; output goes through files rather than pipes, as a process started
/// meanwhile by another test (dnsmasq) could inherit a pipe's write end and hold it open.
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], timeoutSeconds: Double = 30) throws -> String {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("isr-command-\(UUID().uuidString)").path
    defer {
        unlink(base + ".out")
        unlink(base + ".err")
    }
    let command = "\(executable) \(arguments.joined(separator: " "))"
    let child = try ChildProcess(executable, arguments, outputPath: base + ".out", errorPath: base + ".err")
    guard let status = child.wait(seconds: timeoutSeconds) else {
        throw FixtureError("\(command) timed out")
    }
    guard status == 0 else {
        throw FixtureError("\(command) failed: \((try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "")")
    }
    return try String(contentsOfFile: base + ".out", encoding: .utf8)
}

/// A child process (dnsmasq, ip), killed with SIGKILL and reaped when the value goes away if
/// it is still running: the child inherits the test runner's blocked signals, SIGTERM among them.
final class ChildProcess {
    private let pid: pid_t
    private var exited = false

    init(_ executable: String, _ arguments: [String], outputPath: String = "/dev/null", errorPath: String = "/dev/null") throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard result == 0 else { throw FixtureError("posix_spawn \(executable): errno \(result)") }
        self.pid = pid
    }

    /// The exit status, or nil when the child is still running after `seconds`.
    func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while Date() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            }
            usleep(10_000)
        }
        return nil
    }

    deinit {
        if !exited {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

/// setns(fd, CLONE_NEWNET). Glibc's module map hides `setns` (it needs _GNU_SOURCE), so the
/// function is looked up by name; CLONE_NEWNET is 0x40000000 in `<linux/sched.h>`.
private func enterNetworkNamespace(_ descriptor: Int32) -> Int32 {
    typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return -1 }
    return unsafeBitCast(symbol, to: SetNamespace.self)(descriptor, 0x4000_0000)
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private final class Outcome<Value: Sendable>: @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    private(set) var result: Result<Value, any Error>?

    func finish(_ result: Result<Value, any Error>) {
        self.result = result
        done.signal()
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
