#if canImport(Glibc)
    import Glibc
#endif
import ISCSI
import KernelSession
import LinuxSystem

/// The test operation of the kernel path: the user's script, or the built-in check.
public enum TestOperation: Sendable, Equatable {
    case builtIn
    case script(TestScript)
}

/// A LUN's disk the kernel attached for a session.
public struct KernelDisk: Sendable, Equatable {
    public var lun: Int
    public var name: String

    public init(lun: Int, name: String) {
        self.lun = lun
        self.name = name
    }
}

/// Where a kernel sweep logs in, and how long a combination may take.
public struct KernelSweepTarget: Sendable {
    public var portal: Portal
    /// Who we are; the sweep replaces `parameters` per combination and keeps the ISID, so a
    /// session a failed combination left on the target is reinstated by the next login.
    public var login: LoginConfiguration
    /// The LUN to exercise; nil: the first disk the session shows.
    public var lun: Int?
    /// Each login step, the wait for the disk and the test operation are bounded by this.
    public var timeoutMilliseconds: Int
    public var transportHandle: UInt64

    public init(portal: Portal, login: LoginConfiguration, lun: Int?, timeoutMilliseconds: Int, transportHandle: UInt64) {
        self.portal = portal
        self.login = login
        self.lun = lun
        self.timeoutMilliseconds = timeoutMilliseconds
        self.transportHandle = transportHandle
    }
}

/// A sweep through the kernel's `iscsi_tcp`: per combination, a kernel session logged in
/// with those keys (`KernelSession.establish`, as the boot does), the LUN's block device,
/// the test operation on it, the disk deleted, logout.
public struct KernelSweep {
    public let space: KeySpace
    public let combinations: CoveringArray
    public let target: KernelSweepTarget
    public let operation: TestOperation
    public let mode: ValidationMode
    public let seed: UInt64
    /// The disks of SCSI host N, by LUN (the boot's sysfs reader, passed in by the command).
    public let disks: (UInt32) -> [KernelDisk]

    public init(
        space: KeySpace, combinations: CoveringArray, target: KernelSweepTarget, operation: TestOperation, mode: ValidationMode,
        seed: UInt64, disks: @escaping (UInt32) -> [KernelDisk]
    ) {
        self.space = space
        self.combinations = combinations
        self.target = target
        self.operation = operation
        self.mode = mode
        self.seed = seed
        self.disks = disks
    }

    public var count: Int { combinations.count }

    /// Short timers: a DVT session is never recovered, so a lost connection should fail
    /// its I/O soon rather than after the root's day-long replacement timeout.
    static let timers = SessionTimers(replacementTimeout: 5, noopInterval: 5, noopTimeout: 5)

    public func run(_ index: Int) -> CombinationResult {
        let parameters = space.parameters(for: combinations.row(at: index), base: target.login.parameters)
        var result = CombinationResult(
            index: index,
            keys: space.dimensions.map { .init(key: $0.key, offered: $0.key.offered(in: parameters), negotiated: nil, violation: nil) })
        let log = KernelLogReader()
        var mentions: SessionMentions?
        iterate(index, parameters: parameters, result: &result, mentions: &mentions)
        if let mentions { result.kernelLog = log.lines(matching: mentions) } else { log.close() }
        return result
    }

    /// Login, disk, operation, logout; what happened goes into `result`, and what names
    /// the session in the kernel's log into `mentions`.
    private func iterate(
        _ index: Int, parameters: InitiatorParameters, result: inout CombinationResult, mentions: inout SessionMentions?
    ) {
        var configuration = target.login
        configuration.parameters = parameters
        let plan = KernelSessionPlan(
            portal: target.portal, login: configuration, timers: Self.timers, timeoutMilliseconds: target.timeoutMilliseconds)
        var session: KernelSession
        do throws(KernelSessionError) {
            let channel: KernelChannel
            do { channel = try KernelChannel(transportHandle: target.transportHandle) } catch { throw .kernel(.system(error)) }
            session = try KernelSession.establish(plan, channel: channel)
        } catch {
            if case .login(.failed(.negotiation(let negotiation), _)) = error {
                result.failure = Sweep.negotiationFailure(negotiation, keys: &result.keys)
            } else {
                result.failure = ValidationFailure(.login, "\(error)")
            }
            return
        }
        mentions = SessionMentions(sessionID: session.sessionID, hostNumber: session.hostNumber, disk: nil)
        guard let negotiated = session.outcome?.parameters else {
            session.tearDown()
            result.failure = ValidationFailure(.login, "the kernel session has no negotiated parameters")
            return
        }
        result.targetMaxRecvDataSegmentLength = negotiated.maxXmitDataSegmentLength
        for position in result.keys.indices {
            Sweep.check(&result.keys[position], negotiated: negotiated)
        }
        let disk: KernelDisk
        do {
            disk = try waitForDisk(session)
        } catch {
            result.failure = error
            logOut(&session, result: &result)
            return
        }
        mentions?.disk = disk.name
        let device = "/dev/\(disk.name)"
        result.device = device
        if let problem = BlockDeviceSafety.problem(disk.name, writing: mode != .readOnly) {
            result.failure = ValidationFailure(.io, "refusing \(device): \(problem)")
            logOut(&session, result: &result)
            return
        }
        let keys = SweepKey.swept.map { ($0, $0.negotiated(in: negotiated)) }
        let ran = OperationRunner(
            operation: operation, mode: mode, maxBurstLength: negotiated.maxBurstLength, firstBurstLength: negotiated.firstBurstLength,
            seed: seed ^ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        ).run(device: device, keys: keys, combination: index + 1, timeoutMilliseconds: target.timeoutMilliseconds)
        result.statistics = ran.statistics
        result.operationMilliseconds = ran.milliseconds
        result.output = ran.output
        result.failure = ran.failure
        if let stuck = ran.stuckChild {
            // The I/O hangs: ending the session fails it, which lets the child go.
            session.tearDown()
            _ = waitForExit(stuck, deadline: .now().advanced(byMilliseconds: 10_000))
            return
        }
        do {
            try writeAttribute("1", to: "/sys/block/\(disk.name)/device/delete")
        } catch {
            if result.failure == nil { result.failure = ValidationFailure(.logout, "deleting \(device): \(error)") }
        }
        logOut(&session, result: &result)
        return
    }

    private func logOut(_ session: inout KernelSession, result: inout CombinationResult) {
        do {
            try session.logOut(timeoutMilliseconds: target.timeoutMilliseconds)
        } catch {
            if result.failure == nil { result.failure = ValidationFailure(.logout, "\(error)") }
        }
    }

    /// Scans the session's host and polls sysfs until the LUN's disk and its /dev node are
    /// there, for at most the timeout.
    private func waitForDisk(_ session: borrowing KernelSession) throws(ValidationFailure) -> KernelDisk {
        do { try session.scanHost() } catch { throw ValidationFailure(.io, "scanning host\(session.hostNumber): \(error)") }
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: target.timeoutMilliseconds)
        var seen: [KernelDisk] = []
        // Bounded by the deadline: 20 ms a pass.
        while true {
            seen = disks(session.hostNumber)
            let wanted = target.lun.map { lun in seen.first { $0.lun == lun } } ?? seen.first
            if let wanted, access("/dev/\(wanted.name)", F_OK) == 0 { return wanted }
            if deadline.hasPassed { break }
            usleep(20_000)
        }
        let what = target.lun.map { "LUN \($0)" } ?? "a disk"
        let found = seen.isEmpty ? "none appeared" : "seen: " + seen.map { "LUN \($0.lun) \($0.name)" }.joined(separator: ", ")
        throw ValidationFailure(.io, "\(what) of host\(session.hostNumber) not there within \(target.timeoutMilliseconds) ms (\(found))")
    }
}

/// The test operation on one block device, in a child process bounded by a deadline.
public struct OperationRunner {
    public let operation: TestOperation
    public let mode: ValidationMode
    public let maxBurstLength: Int
    public let firstBurstLength: Int
    public let seed: UInt64

    public init(operation: TestOperation, mode: ValidationMode, maxBurstLength: Int, firstBurstLength: Int, seed: UInt64) {
        self.operation = operation
        self.mode = mode
        self.maxBurstLength = maxBurstLength
        self.firstBurstLength = firstBurstLength
        self.seed = seed
    }

    public struct Ran {
        public var failure: ValidationFailure?
        public var statistics = IOStatistics()
        public var output: [String] = []
        public var milliseconds = 0
        /// A child that did not finish by the deadline (killed, not yet reaped).
        public var stuckChild: pid_t?
    }

    static let resultPrefix = "dvt-result: "

    public func run(device: String, keys: [(SweepKey, String)], combination: Int, timeoutMilliseconds: Int) -> Ran {
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: timeoutMilliseconds)
        let outcome: ChildOperation.Outcome
        do {
            switch operation {
            case .script(let script):
                let program = PreparedProgram(
                    words: script.arguments(device: device),
                    environment: TestScript.environment(negotiated: keys, device: device, combination: combination))
                defer { program.release() }
                outcome = try ChildOperation.run(deadline: deadline, .program(program))
            case .builtIn:
                let check = BlockDeviceCheck(
                    device: device, mode: mode, maxBurstLength: maxBurstLength, firstBurstLength: firstBurstLength, seed: seed)
                outcome = try ChildOperation.run(deadline: deadline, .check(check))
            }
        } catch {
            return Ran(failure: ValidationFailure(.io, "starting the test operation: \(error)"))
        }
        var ran = Ran(milliseconds: outcome.milliseconds)
        let lines = TestScript.lastLines(outcome.output, count: 50)
        if outcome.timedOut {
            ran.stuckChild = outcome.pid
            ran.output = Array(lines.suffix(5))
            ran.failure = ValidationFailure(.io, "the test operation on \(device) did not finish within \(timeoutMilliseconds) ms")
            return ran
        }
        switch operation {
        case .script:
            ran.output = Array(lines.suffix(5))
            if let code = outcome.exitCode, code != 0 {
                ran.failure = ValidationFailure(.verify, "the script exited with status \(code)")
            } else if let signal = outcome.signal {
                ran.failure = ValidationFailure(.verify, "the script was ended by signal \(signal)")
            }
        case .builtIn:
            let results = lines.filter { $0.hasPrefix(Self.resultPrefix) }
            ran.output = Array(lines.filter { !$0.hasPrefix(Self.resultPrefix) }.suffix(5))
            guard let last = results.last else {
                ran.failure = ValidationFailure(.io, "the check on \(device) ended without a result (wait status \(outcome.status ?? -1))")
                return ran
            }
            let fields = last.dropFirst(Self.resultPrefix.count).split(separator: " ", maxSplits: 2)
            if fields.count == 3, fields[0] == "fail", let step = ValidationFailure.Step(rawValue: String(fields[1]).replacingUnderscores())
            {
                ran.failure = ValidationFailure(step, String(fields[2]))
            } else if fields.count == 3, fields[0] == "pass" {
                let numbers = fields[1...].joined(separator: " ").split(separator: " ").compactMap { Int64($0) }
                if numbers.count == 3 {
                    ran.statistics = IOStatistics(bytesRead: Int(numbers[0]), bytesWritten: Int(numbers[1]), nanoseconds: numbers[2])
                }
            } else {
                ran.failure = ValidationFailure(.io, "the check's result line is garbled: \(last)")
            }
        }
        return ran
    }

    /// In the child: the built-in check, its result as one line for the parent.
    static func runInChild(_ check: BlockDeviceCheck) -> Never {
        let line: String
        do {
            let statistics = try check.run()
            line = "\(resultPrefix)pass \(statistics.bytesRead) \(statistics.bytesWritten) \(statistics.nanoseconds)\n"
        } catch {
            line = "\(resultPrefix)fail \(String(error.step.rawValue.map { $0 == " " ? "_" : $0 })) \(error.message)\n"
        }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        _exit(0)
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
}

/// The kernel's log from the moment it was opened: /dev/kmsg, read without blocking.
public struct KernelLogReader {
    private let descriptor: Int32

    public init() {
        descriptor = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if descriptor >= 0 { lseek(descriptor, 0, SEEK_END) }
    }

    public func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    /// The records since `init` that mention the session (at most 20, the last ones), and
    /// closes the log.
    public func lines(matching mentions: SessionMentions) -> [String] {
        guard descriptor >= 0 else { return [] }
        defer { close() }
        var lines: [String] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        // One record per read; bounded by the count and by EAGAIN at the end.
        for _ in 0..<10_000 {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EPIPE { continue }  // records overwritten meanwhile
            guard count > 0 else { break }
            if let record = KernelLogRecord(Array(buffer[0..<count])), mentions.match(record.message) {
                lines.append(record.shown)
            }
        }
        return Array(lines.suffix(20))
    }
}
