#if canImport(Glibc)
    import Glibc
#endif
import LinuxSystem

/// A test operation run in a child process, so that a read stuck in the kernel (a target
/// that stopped answering) cannot hold the sweep: the parent stops waiting at the deadline,
/// kills the child and tears the session down, which fails the stuck I/O.
public struct ChildOperation {
    /// How it ended: the wait status, or nil when the deadline came first (the child was
    /// sent SIGKILL and is still to be reaped: `pid`).
    public struct Outcome {
        public var pid: pid_t
        public var status: Int32?
        /// What the child wrote to standard output and error (the last 64 KiB).
        public var output: [UInt8]
        public var milliseconds: Int

        public var timedOut: Bool { status == nil }
        /// The exit code of a child that exited, nil when a signal ended it.
        public var exitCode: Int32? {
            guard let status, status & 0x7F == 0 else { return nil }
            return (status >> 8) & 0xFF
        }
        public var signal: Int32? {
            guard let status, status & 0x7F != 0, status & 0x7F != 0x7F else { return nil }
            return status & 0x7F
        }
    }

    static let outputLimit = 65_536

    /// Forks; the child runs `body` with its standard output and error on a pipe to us and
    /// must not return (it execs or calls `_exit`).
    public static func run(deadline: MonotonicInstant, _ body: () -> Never) throws(SystemError) -> Outcome {
        var ends: [Int32] = [-1, -1]
        _ = try retryingOnInterrupt("pipe") { pipe(&ends) }
        let started = MonotonicInstant.now()
        let forked: ForkedProcess
        do { forked = try forkProcess() } catch {
            close(ends[0])
            close(ends[1])
            throw error
        }
        guard case .parent(let pid) = forked else {
            close(ends[0])
            dup2(ends[1], 1)
            dup2(ends[1], 2)
            close(ends[1])
            body()
        }
        close(ends[1])
        defer { close(ends[0]) }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var status: Int32?
        // Bounded by the deadline: each pass waits at most 100 ms.
        while status == nil && !deadline.hasPassed {
            let slice = min(deadline, MonotonicInstant.now().advanced(byMilliseconds: 100))
            if (try? waitForReadable([ends[0]], deadline: slice))?.first == true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(ends[0], $0.baseAddress, $0.count) }
                if count > 0 {
                    output += buffer[0..<count]
                    if output.count > outputLimit { output.removeFirst(output.count - outputLimit) }
                } else {
                    // End of file: the child is exiting; no busy loop until waitpid sees it.
                    usleep(10_000)
                }
            }
            var waited: Int32 = 0
            if waitpid(pid, &waited, WNOHANG) == pid { status = waited }
        }
        if status != nil {
            // What the child wrote just before it exited, unless a grandchild keeps the pipe.
            while (try? waitForReadable([ends[0]], deadline: .now()))?.first == true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(ends[0], $0.baseAddress, $0.count) }
                guard count > 0 else { break }
                output += buffer[0..<count]
            }
            if output.count > outputLimit { output.removeFirst(output.count - outputLimit) }
        } else {
            kill(pid, SIGKILL)
        }
        return Outcome(pid: pid, status: status, output: output, milliseconds: started.milliseconds(until: .now()))
    }

    /// In the child: runs `words` (PATH searched) with `environment` added; exit code 127
    /// with a message when it cannot be run, as a shell does.
    public static func execute(_ words: [String], environment: [String]) -> Never {
        for assignment in environment {
            let parts = assignment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            setenv(String(parts[0]), String(parts[1]), 1)
        }
        var pointers = words.map { strdup($0) } + [nil]
        execvp(words[0], &pointers)
        let message = Array("--script: cannot run \(words[0]): \(String(cString: strerror(errno)))\n".utf8)
        _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        _exit(127)
    }
}
