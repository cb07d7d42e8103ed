import Foundation
import ISCSI
import Initiator
import LinuxSystem

/// A real iSCSI target for the integration tests: a private `tgtd` on 127.0.0.1 with a port
/// and control socket of its own (so fixtures run in parallel and never meet the machine's
/// tgtd), serving sparse files from a temporary folder.
///
/// tgtd ignores SIGTERM, so `stop()` deletes the targets and the daemon through `tgtadm`,
/// and `kill -9` is the last resort (and the "target died" fault for tests).
final class TargetFixture {
    struct Credentials {
        var user: String
        var password: String
    }

    struct Target {
        var iqn: String
        /// Disks to serve, as LUN 1, 2, …: LUN 0 is tgt's own controller.
        var diskCount: Int = 1
        var diskSizeInMiB: Int = 64
        /// The initiator must log in with these (one-way CHAP).
        var chap: Credentials?
        /// The target proves itself with these (mutual CHAP); needs `chap` as well.
        var mutualChap: Credentials?
    }

    let portal: Portal
    let address: SocketAddress
    let targets: [Target]
    /// The number after `tgtadm -C`.
    let controlPort: Int
    private let daemon: Process
    private let folder: URL
    private let logFile: URL

    convenience init(iqn: String, diskCount: Int = 1, chap: Credentials? = nil, mutualChap: Credentials? = nil) throws {
        try self.init(targets: [Target(iqn: iqn, diskCount: diskCount, chap: chap, mutualChap: mutualChap)])
    }

    init(targets: [Target]) throws {
        guard let tgtd = executable("tgtd"), executable("tgtadm") != nil else {
            throw FixtureError("tgtd/tgtadm are not installed: run scripts/install-deps.sh as root (Debian package tgt)")
        }
        folder = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: URL(fileURLWithPath: "/tmp"), create: true)
        logFile = folder.appendingPathComponent("tgtd.log")
        self.targets = targets

        // A free port can be taken by someone else between our probe and tgtd's bind, and a
        // control number can be in use by another tgtd: both show as a tgtd that never lists
        // the portal, and a few fresh tries settle it.
        var lastFailure: any Error = FixtureError("tgtd was never started")
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            let control = Int.random(in: 1024...32767)  // tgtd accepts -C up to 32767
            let process = Process()
            process.executableURL = tgtd
            process.arguments = ["-f", "-C", String(control), "--iscsi", "portal=127.0.0.1:\(port)"]
            process.standardOutput = try FileHandle(forWritingTo: touch(logFile))
            process.standardError = process.standardOutput
            try process.run()
            do {
                try waitForPortal(port: port, control: control, daemon: process, logFile: logFile)
            } catch {
                Glibc.kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                lastFailure = error
                continue
            }
            portal = Portal(host: "127.0.0.1", port: port)
            address = SocketAddress(numericHost: "127.0.0.1", port: port)!
            controlPort = control
            daemon = process
            do {
                try configureTargets()
            } catch {
                kill()
                throw error
            }
            return
        }
        try? FileManager.default.removeItem(at: folder)
        throw lastFailure
    }

    deinit {
        if daemon.isRunning {
            try? stop()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// The target ID tgt uses for `targets[index]`.
    func tid(of index: Int) -> Int { index + 1 }

    /// Stops tgtd the orderly way, or with SIGKILL when it does not go within two seconds
    /// (tgt refuses to delete a target whose LUNs are busy).
    func stop() throws {
        guard daemon.isRunning else { return }
        for index in targets.indices {
            _ = try? tgtadm(["--mode", "target", "--op", "delete", "--force", "--tid", String(tid(of: index))])
        }
        _ = try? tgtadm(["--mode", "system", "--op", "delete"])
        if !waitForExit(seconds: 2) {
            kill()
        }
    }

    /// Kills tgtd at once (`kill -9`), as a crashed or powered-off target.
    func kill() {
        guard daemon.isRunning else { return }
        Glibc.kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
    }

    /// Stops tgtd without closing its sockets (SIGSTOP), as a hung target: connections
    /// stay open and nothing answers.
    func freeze() throws {
        guard Glibc.kill(daemon.processIdentifier, SIGSTOP) == 0 else { throw FixtureError("cannot SIGSTOP tgtd") }
    }

    /// Lets a frozen tgtd run again (SIGCONT).
    func thaw() {
        Glibc.kill(daemon.processIdentifier, SIGCONT)
    }

    /// Cuts every initiator connection from the target's side, as a target restart or a
    /// network fault would. Returns how many were cut.
    @discardableResult
    func deleteConnections() throws -> Int {
        var deleted = 0
        for index in targets.indices {
            let tid = String(tid(of: index))
            for (session, connection) in try connections(tid: tid) {
                try tgtadm(["--mode", "conn", "--op", "delete", "--tid", tid, "--sid", session, "--cid", connection])
                deleted += 1
            }
        }
        return deleted
    }

    /// Runs `tgtadm -C <this fixture's control port> --lld iscsi ARGS` and returns its output.
    @discardableResult
    func tgtadm(_ arguments: [String]) throws -> String {
        try runTool("tgtadm", ["-C", String(controlPort), "--lld", "iscsi"] + arguments, in: folder)
    }

    // MARK: - Details

    private func configureTargets() throws {
        for (index, target) in targets.enumerated() {
            let tid = String(tid(of: index))
            try tgtadm(["--mode", "target", "--op", "new", "--tid", tid, "--targetname", target.iqn])
            for lun in stride(from: 1, through: target.diskCount, by: 1) {
                let disk = folder.appendingPathComponent("tid\(tid)-lun\(lun).img")
                try touch(disk)
                guard truncate(disk.path, off_t(target.diskSizeInMiB) << 20) == 0 else {
                    throw FixtureError("cannot size \(disk.path): \(SystemError("truncate"))")
                }
                try tgtadm([
                    "--mode", "logicalunit", "--op", "new", "--tid", tid, "--lun", String(lun), "--backing-store", disk.path,
                ])
            }
            try tgtadm(["--mode", "target", "--op", "bind", "--tid", tid, "--initiator-address", "ALL"])
            if let chap = target.chap {
                try tgtadm(["--mode", "account", "--op", "new", "--user", chap.user, "--password", chap.password])
                try tgtadm(["--mode", "account", "--op", "bind", "--tid", tid, "--user", chap.user])
            }
            if let mutual = target.mutualChap {
                // tgt takes `--outgoing` on the bind only; the account itself is an ordinary one.
                try tgtadm(["--mode", "account", "--op", "new", "--user", mutual.user, "--password", mutual.password])
                try tgtadm(["--mode", "account", "--op", "bind", "--tid", tid, "--user", mutual.user, "--outgoing"])
            }
        }
    }

    /// (session, connection) ids from `tgtadm --mode conn --op show`, whose lines read
    /// `Session: 1` and, indented below, `Connection: 0`.
    private func connections(tid: String) throws -> [(String, String)] {
        var found: [(String, String)] = []
        var session: String?
        for line in try tgtadm(["--mode", "conn", "--op", "show", "--tid", tid]).split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 2 else { continue }
            if words[0] == "Session:" { session = String(words[1]) }
            if words[0] == "Connection:", let session { found.append((session, String(words[1]))) }
        }
        return found
    }

    private func waitForExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while daemon.isRunning && Date() < deadline {
            usleep(10_000)
        }
        return !daemon.isRunning
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Waits until tgtd lists `127.0.0.1:port` among its portals and accepts a TCP connection
/// there, for at most five seconds. tgtd keeps running without a portal when the port is
/// taken, so the connection alone could reach someone else's server.
private func waitForPortal(port: UInt16, control: Int, daemon: Process, logFile: URL) throws {
    let deadline = Date().addingTimeInterval(5)
    let address = SocketAddress(numericHost: "127.0.0.1", port: port)!
    while Date() < deadline {
        guard daemon.isRunning else {
            throw FixtureError("tgtd (-C \(control), port \(port)) exited at start: \(logTail(logFile))")
        }
        let portals = try? runTool("tgtadm", ["-C", String(control), "--lld", "iscsi", "--mode", "portal", "--op", "show"], in: nil)
        if let portals, portals.contains("127.0.0.1:\(port),") {
            _ = try TCPConnection.connect(to: address, deadline: .now().advanced(byMilliseconds: 1000))
            return
        }
        usleep(20_000)
    }
    throw FixtureError("tgtd (-C \(control)) did not open portal 127.0.0.1:\(port) within 5 s: \(logTail(logFile))")
}

/// A port that nothing on 127.0.0.1 listens on right now: the kernel picks it for a bind to port 0.
private func freeLoopbackPort() throws -> UInt16 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw SystemError("socket") }
    defer { close(descriptor) }
    let any = SocketAddress(numericHost: "127.0.0.1", port: 0)!
    guard any.withSocketAddress({ bind(descriptor, $0, $1) }) == 0 else { throw SystemError("bind") }
    var bound = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &bound) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard named == 0 else { throw SystemError("getsockname") }
    return UInt16(bigEndian: bound.sin_port)
}

/// Runs a tool found on PATH with a ten-second limit (a stopped tgtd would make tgtadm wait
/// forever) and returns its standard output; a non-zero exit is an error that quotes it.
private func runTool(_ name: String, _ arguments: [String], in folder: URL?) throws -> String {
    guard let tool = executable(name) else { throw FixtureError("\(name) is not installed") }
    // A file, not a pipe: nothing can block on a full pipe while we wait for the exit.
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-\(UUID().uuidString).out")
    defer { try? FileManager.default.removeItem(at: output) }
    let process = Process()
    process.executableURL = tool
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: touch(output))
    process.standardError = process.standardOutput
    try process.run()
    let deadline = Date().addingTimeInterval(10)
    while process.isRunning && Date() < deadline {
        usleep(2_000)
    }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw FixtureError("\(name) \(arguments.joined(separator: " ")) did not finish within 10 s")
    }
    let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    guard process.terminationStatus == 0 else {
        throw FixtureError("\(name) \(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus)): \(text)")
    }
    return text
}

private func executable(_ name: String) -> URL? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
    for folder in (path + ":/usr/sbin:/sbin").split(separator: ":") {
        let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return nil
}

@discardableResult
private func touch(_ file: URL) throws -> URL {
    guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
        throw FixtureError("cannot create \(file.path)")
    }
    return file
}

private func logTail(_ file: URL) -> String {
    let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").suffix(5).joined(separator: " | ")
}
