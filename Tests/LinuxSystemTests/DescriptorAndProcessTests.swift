import LinuxSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The owning descriptor, the EINTR rule, polling and the fork helpers, on real pipes and
/// real child processes. Serialized: a child forked by one test would otherwise inherit the
/// pipes of another and hide its end-of-file.
@Suite(.serialized) struct DescriptorAndProcessTests {
    /// A descriptor number far above what the tests open, so no other test reuses it
    /// between the close and the check.
    static let unusedNumber: Int32 = 900

    @Test func anOwnedDescriptorClosesWhenItGoesAway() throws {
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        #expect(devNull >= 0)
        #expect(dup2(devNull, Self.unusedNumber) == Self.unusedNumber)
        close(devNull)
        do {
            let owned = FileDescriptor(adopting: Self.unusedNumber)
            #expect(fcntl(owned.rawValue, F_GETFD) >= 0)
        }
        #expect(fcntl(Self.unusedNumber, F_GETFD) == -1)
        #expect(errno == EBADF)
    }

    @Test func takeHandsTheDescriptorOverOpen() throws {
        let owned = try FileDescriptor.open("/dev/null", O_RDONLY)
        let raw = owned.take()
        #expect(fcntl(raw, F_GETFD) >= 0)
        // open added O_CLOEXEC: the real init never inherits it.
        #expect(fcntl(raw, F_GETFD) & FD_CLOEXEC != 0)
        close(raw)
    }

    @Test func openNamesThePathInItsError() {
        #expect(throws: SystemError("open /nonexistent/file", code: ENOENT)) {
            try FileDescriptor.open("/nonexistent/file", O_RDONLY)
        }
    }

    @Test func anInterruptedCallIsRetriedAndOtherErrorsThrowOnce() throws {
        var calls = 0
        let result = try retryingOnInterrupt("fake") { () -> Int32 in
            calls += 1
            guard calls == 3 else {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7)
        #expect(calls == 3)

        calls = 0
        #expect(throws: SystemError("fake", code: EBADF)) {
            try retryingOnInterrupt("fake") { () -> Int32 in
                calls += 1
                errno = EBADF
                return -1
            }
        }
        #expect(calls == 1)
    }

    @Test func writeAllAndReadThroughAPipe() throws {
        let pipe = try Self.pipePair()
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        try pipe.writer.writeAll(bytes)
        var received = [UInt8](repeating: 0, count: 2000)
        let count = try received.withUnsafeMutableBytes { buffer in try pipe.reader.read(into: buffer) }
        #expect(Array(received[..<count]) == bytes)
    }

    @Test func waitForReadableReportsEachDescriptorAndTheDeadline() throws {
        let quiet = try Self.pipePair()
        let busy = try Self.pipePair()
        let both = [quiet.reader.rawValue, busy.reader.rawValue]
        #expect(try waitForReadable(both, deadline: .now().advanced(byMilliseconds: 20)) == [false, false])
        try busy.writer.writeAll([42])
        #expect(try waitForReadable(both, deadline: .now().advanced(byMilliseconds: 5000)) == [false, true])
    }

    @Test func aChildThatSignalsIsSeenReady() throws {
        let ready = try ReadinessPipe()
        switch try forkProcess() {
        case .child:
            ready.signal()
            _exit(0)
        case .parent(let child):
            let signalled = ready.wait(deadline: .now().advanced(byMilliseconds: 30_000))
            #expect(signalled)
            #expect(waitForExit(child, deadline: .now().advanced(byMilliseconds: 30_000)) == 0)
        }
    }

    @Test func aChildThatNeverSignalsEndsTheWaitAtTheDeadline() throws {
        let ready = try ReadinessPipe()
        switch try forkProcess() {
        case .child:
            // Keeps its end open without signalling, until killed (bounded: 60 s at most).
            sleep(60)
            _exit(0)
        case .parent(let child):
            let signalled = ready.wait(deadline: .now().advanced(byMilliseconds: 100))
            #expect(!signalled)
            // Still running: the wait ended at its deadline, not at the child's exit.
            #expect(waitForExit(child, deadline: .now()) == nil)
            kill(child, SIGKILL)
            let status = waitForExit(child, deadline: .now().advanced(byMilliseconds: 30_000))
            #expect(status.map { $0 & 0x7f } == SIGKILL)
        }
    }

    @Test func aChildThatExitsWithoutSignallingIsNotReady() throws {
        let ready = try ReadinessPipe()
        switch try forkProcess() {
        case .child:
            _exit(0)
        case .parent(let child):
            let signalled = ready.wait(deadline: .now().advanced(byMilliseconds: 30_000))
            #expect(!signalled)
            #expect(waitForExit(child, deadline: .now().advanced(byMilliseconds: 30_000)) == 0)
        }
    }

    @Test func waitForExitGivesTheExitStatus() throws {
        switch try forkProcess() {
        case .child:
            _exit(3)
        case .parent(let child):
            let status = waitForExit(child, deadline: .now().advanced(byMilliseconds: 30_000))
            #expect(status.map { ($0 >> 8) & 0xff } == 3)
            // Reaped: a second wait finds no such child.
            #expect(waitForExit(child, deadline: .now()) == nil)
        }
    }

    struct Pipe: ~Copyable {
        let reader: FileDescriptor
        let writer: FileDescriptor
    }

    static func pipePair() throws -> Pipe {
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        return Pipe(reader: FileDescriptor(adopting: ends[0]), writer: FileDescriptor(adopting: ends[1]))
    }
}
