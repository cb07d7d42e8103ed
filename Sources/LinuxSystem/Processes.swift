#if canImport(Glibc)
    import Glibc
#endif

/// Which side of a `fork` this process is on.
public enum ForkedProcess: Equatable {
    case child
    case parent(child: pid_t)
}

/// Forks this process. The child should only do what is safe in a copy of a process that
/// may have had other threads: system calls, then `_exit` or `exec` (the boot's PID 1 and
/// the supervisor have one thread). The corresponding C function is `fork`.
public func forkProcess() throws(SystemError) -> ForkedProcess {
    let pid = try retryingOnInterrupt("fork") { fork() }
    return pid == 0 ? .child : .parent(child: pid)
}

/// Waits for the child `pid` to exit until `deadline`; its wait status (as `waitpid` gives
/// it), or nil when it still runs at the deadline or is not our child. Polls every 20 ms:
/// `waitpid` itself takes no timeout. The corresponding C function is `waitpid`.
public func waitForExit(_ pid: pid_t, deadline: MonotonicInstant) -> Int32? {
    var status: Int32 = 0
    // Bounded by the deadline: each pass sleeps 20 ms at most.
    while true {
        guard let exited = try? retryingOnInterrupt("waitpid", { waitpid(pid, &status, WNOHANG) }) else { return nil }
        if exited == pid { return status }
        if deadline.hasPassed { return nil }
        usleep(UInt32(clamping: min(20, max(1, deadline.millisecondsSinceNow)) * 1000))
    }
}

/// A one-byte pipe by which a forked child tells its parent it is ready: the child calls
/// `signal()`, the parent `wait(deadline:)`. Each side consumes its copy after the fork, so
/// each closes the end it does not use and a child that dies early is seen as not ready at
/// once instead of at the deadline.
public struct ReadinessPipe: ~Copyable {
    private let readEnd: FileDescriptor
    private let writeEnd: FileDescriptor

    /// The corresponding C functions are `pipe` and `fcntl(F_SETFD, FD_CLOEXEC)` (`pipe2`
    /// needs `_GNU_SOURCE`, which Glibc's Swift module is not built with).
    public init() throws(SystemError) {
        var ends: [Int32] = [-1, -1]
        _ = try retryingOnInterrupt("pipe") { pipe(&ends) }
        readEnd = FileDescriptor(adopting: ends[0])
        writeEnd = FileDescriptor(adopting: ends[1])
        // An exec'd program (the real init) must not hold either end.
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
    }

    /// In the child: tells the parent it is ready (both ends close here).
    /// Allocates nothing: it runs right after a fork.
    public consuming func signal() {
        var byte: UInt8 = 1
        _ = try? retryingOnInterrupt("write") { write(writeEnd.rawValue, &byte, 1) }
    }

    /// In the parent: whether the child signalled before `deadline`; false when it exited
    /// (or closed the pipe) without signalling, or the deadline passed first.
    public consuming func wait(deadline: MonotonicInstant) -> Bool {
        let readEnd = self.readEnd
        // Our copy of the write end must close, or a child that exits would never be seen.
        closeNow(self.writeEnd)
        guard (try? waitForReadable([readEnd.rawValue], deadline: deadline))?[0] == true else { return false }
        var byte: UInt8 = 0
        let count = try? retryingOnInterrupt("read") { Glibc.read(readEnd.rawValue, &byte, 1) }
        return count == 1
    }
}

/// Closes `descriptor` here rather than at the end of the caller's scope.
private func closeNow(_ descriptor: consuming FileDescriptor) {}
