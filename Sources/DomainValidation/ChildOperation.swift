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

    /// What the child does.
    public enum Work {
        case program(PreparedProgram)
        case check(BlockDeviceCheck)
    }

    /// Forks; the child does `work` with its standard output and error on a pipe to us.
    public static func run(deadline: MonotonicInstant, _ work: Work) throws(SystemError) -> Outcome {
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
            // A group of its own: a timeout ends the script's children too.
            setpgid(0, 0)
            close(ends[0])
            dup2(ends[1], 1)
            dup2(ends[1], 2)
            close(ends[1])
            switch work {
            case .program(let program): program.execute()
            case .check(let check): OperationRunner.runInChild(check)
            }
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
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        return Outcome(pid: pid, status: status, output: output, milliseconds: started.milliseconds(until: .now()))
    }

}

/// A program and its environment additions as C strings, made before the fork: the child of
/// a fork should only make system calls, then exec.
public struct PreparedProgram {
    private let arguments: [UnsafeMutablePointer<CChar>?]
    private let environment: [UnsafeMutablePointer<CChar>?]
    private let failure: [UInt8]

    public init(words: [String], environment: [String]) {
        arguments = words.map { strdup($0) } + [nil]
        self.environment = environment.map { strdup($0) }
        failure = Array("--script: cannot run \(words.first ?? "")".utf8)
    }

    /// In the parent, after the child has exec'd or exited.
    public func release() {
        for pointer in arguments { free(pointer) }
        for pointer in environment { free(pointer) }
    }

    /// In the child: the program (PATH searched) with the environment added; exit code 127
    /// with a message when it cannot be run, as a shell does.
    func execute() -> Never {
        // putenv keeps the pointer: this process execs or exits right after.
        for case let pointer? in environment { putenv(pointer) }
        var argv = arguments
        if let program = argv[0] { execvp(program, &argv) }
        let reason = errno
        _ = failure.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        let detail = Array(": \(String(cString: strerror(reason)))\n".utf8)
        _ = detail.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        _exit(127)
    }
}
