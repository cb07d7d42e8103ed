import Agent
import DomainValidation
import ISCSI
import KernelSession
import LinuxSystem
import Reports

#if canImport(Glibc)
    import Glibc
#endif

/// `dvt --kernel` (a sweep through iscsi_tcp) and `dvt --block-device` (one run on a disk
/// that is already logged in).
extension DVTCommand {
    static func kernelSweep(_ request: Request) -> ExitStatus {
        let (space, leftOut) = request.space.kernelNegotiable()
        guard !space.dimensions.isEmpty else {
            printError("iscsi-root dvt --kernel: no key left to sweep (\(leftOut.joined(separator: "; "))); choose others with --keys")
            return .usage
        }
        let handle: UInt64
        do { handle = try KernelChannel.tcpTransportHandle() } catch {
            printError(
                "iscsi-root dvt --kernel: the iscsi_tcp transport is not there (\(error)); check that iscsi_tcp is loaded (modprobe iscsi_tcp)"
            )
            return .failure
        }
        var filtered = request
        filtered.space = space
        let target = KernelSweepTarget(
            portal: request.portal, login: request.login.configuration(targetName: request.target, portal: request.portal),
            lun: request.lun?.number, timeoutMilliseconds: request.login.timeoutMilliseconds, transportHandle: handle)
        let sweep = KernelSweep(
            space: space, combinations: combinations(request, space: space), target: target, operation: request.operation,
            mode: request.mode, seed: UInt64(bitPattern: MonotonicInstant.now().nanoseconds), disks: sessionDisks)
        var results: [CombinationResult] = []
        for index in 0..<sweep.count {
            results.append(sweep.run(index))
            if !request.json {
                // One line per combination as it ends: a kernel sweep takes seconds per login.
                let last = results[results.count - 1]
                printError("dvt: combination \(index + 1)/\(sweep.count): \(last.passed ? last.verdict : "FAIL")")
            }
        }
        let lunText = request.lun.map { "LUN \($0)" } ?? "first disk"
        let lunValue: JSON = request.lun?.number.map { .number($0) } ?? .null
        print(
            request.json
                ? renderJSON(results, request: filtered, lunValue: lunValue, leftOut: leftOut)
                : renderText(results, request: filtered, lunText: lunText, leftOut: leftOut))
        return results.allSatisfy({ $0.passed }) ? .success : .failure
    }

    /// The boot's own sysfs reader of a SCSI host's disks.
    static func sessionDisks(_ host: UInt32) -> [KernelDisk] {
        RootFilesystem.disks(ofHost: host).map { KernelDisk(lun: $0.lun, name: $0.name) }
    }

    // MARK: - --block-device

    struct BlockDeviceRequest {
        var device: String
        var operation: TestOperation
        var mode: ValidationMode
        var timeoutMilliseconds: Int
        var json: Bool
        /// `--bench seq-read|seq-write`: a throughput figure instead of the check.
        var bench: Benchmark.Mode?
        var benchSeconds: Int
        var transferBytes: Int
    }

    /// The options that make no sense for one run on a disk that is already logged in.
    static let sweepOnlyOptions = [
        "--kernel", "--keys", "--values", "--exhaustive", "--iterations", "--seed", "--lun", "--initiator", "--chap-user",
        "--mutual-user", "--header-digest", "--data-digest",
    ]

    /// nil when the command line has no --block-device.
    static func blockDeviceRequest(_ arguments: [String]) throws(UsageError) -> BlockDeviceRequest? {
        let parsed = try Arguments(arguments, flags: flags, options: LoginOptions.options.union(options))
        guard let device = parsed.value("--block-device") else { return nil }
        _ = try parsed.requirePositionals([])
        for option in sweepOnlyOptions where parsed.flag(option) || parsed.value(option) != nil {
            throw UsageError("--block-device runs once on a disk that is already logged in: \(option) does not apply")
        }
        var mode = ValidationMode.readOnly
        if parsed.flag("--write") {
            guard let range = try parsed.value("--lba-range").map(lbaRange) else {
                throw UsageError("--write needs --lba-range START-END: refusing to write without a scratch range")
            }
            mode = .write(lbas: range)
        }
        let operation = try parsed.value("--script").map { (text) throws(UsageError) -> TestOperation in
            do throws(TestScriptError) { return .script(try TestScript(text)) } catch { throw UsageError(error.description) }
        }
        let bench = try parsed.value("--bench").map { (text) throws(UsageError) -> Benchmark.Mode in
            guard let mode = Benchmark.Mode(rawValue: text), mode != .randomRead else {
                throw UsageError("--bench \"\(text)\" is not a mode for --block-device (expected seq-read or seq-write)")
            }
            return mode
        }
        if bench == .sequentialWrite, mode == .readOnly {
            throw UsageError("--bench seq-write writes: it needs --write and --lba-range START-END")
        }
        if bench != nil, operation != nil { throw UsageError("--bench measures; it does not run --script") }
        // One pread/pwrite at a time: the figure compares with fio's psync engine at depth 1.
        if let depth = try parsed.integer("--queue-depth", in: 1...1024), depth != 1 {
            throw UsageError("--queue-depth \(depth): --block-device --bench issues one command at a time (expected 1)")
        }
        return BlockDeviceRequest(
            device: device, operation: operation ?? .builtIn, mode: mode,
            timeoutMilliseconds: try parsed.integer("--timeout", in: 1...3_600_000) ?? LoginOptions.defaultTimeoutMilliseconds,
            json: parsed.flag("--json"), bench: bench, benchSeconds: try parsed.integer("--bench-seconds", in: 1...3600) ?? 10,
            transferBytes: try parsed.integer("--transfer-size", in: 512...16_777_216) ?? 1_048_576)
    }

    static func runOnBlockDevice(_ request: BlockDeviceRequest) -> ExitStatus {
        // /dev/disk/by-path/… and other links name the same disk.
        var path = request.device
        if let resolved = realpath(request.device, nil) {
            path = String(cString: resolved)
            free(resolved)
        }
        let name = String(path.split(separator: "/").last ?? "")
        guard path.hasPrefix("/dev/"), !name.isEmpty, access("/sys/block/\(name)", F_OK) == 0 else {
            printError(
                "iscsi-root dvt: --block-device \(request.device) is not a whole disk (no /sys/block/\(name.isEmpty ? "?" : name)); name a disk such as /dev/sdb, not a partition"
            )
            return .failure
        }
        if let problem = BlockDeviceSafety.problem(name, writing: request.mode != .readOnly) {
            printError("iscsi-root dvt: refusing --block-device \(request.device): \(problem); choose a disk nothing uses")
            return .failure
        }
        if let bench = request.bench { return benchBlockDevice(bench, path: "/dev/\(name)", request: request) }
        let session = DiskSession.of(disk: name)
        let keys: [(SweepKey, String)] = SweepKey.swept.compactMap { key in session?.keys[key.rawValue].map { (key, $0) } }
        let log = KernelLogReader()
        let ran = OperationRunner(
            operation: request.operation, mode: request.mode,
            maxBurstLength: session?.keys[SweepKey.maxBurstLength.rawValue].flatMap { Int($0) } ?? 262_144,
            firstBurstLength: session?.keys[SweepKey.firstBurstLength.rawValue].flatMap { Int($0) } ?? 65_536,
            seed: UInt64(bitPattern: MonotonicInstant.now().nanoseconds)
        ).run(device: "/dev/\(name)", keys: keys, combination: 1, timeoutMilliseconds: request.timeoutMilliseconds)
        var stuck = ""
        if let pid = ran.stuckChild, waitForExit(pid, deadline: .now().advanced(byMilliseconds: 5000)) == nil {
            stuck = " (its I/O is still stuck in the kernel: process \(pid))"
        }
        let kernelLog = log.lines(
            matching: session.map { SessionMentions(sessionID: $0.sessionID, hostNumber: $0.hostNumber, disk: name) }
                ?? SessionMentions(sessionID: UInt32.max, hostNumber: UInt32.max, disk: name))
        let operation: String
        switch request.operation {
        case .builtIn: operation = "built-in check"
        case .script(let script): operation = "script \(script.words.joined(separator: " "))"
        }
        let modeText: String
        switch request.mode {
        case .readOnly: modeText = "read-only"
        case .write(let lbas): modeText = "write, LBAs \(lbas.lowerBound)-\(lbas.upperBound)"
        }
        if request.json {
            print(
                JSON.object([
                    ("device", .string("/dev/\(name)")),
                    ("session", session.map { .number(Int($0.sessionID)) } ?? .null),
                    ("target", session?.targetName.map { .string($0) } ?? .null),
                    ("portal", session?.portal.map { .string($0) } ?? .null),
                    ("lun", session.map { .number($0.lun) } ?? .null),
                    ("mode", .string(modeText)),
                    ("operation", .string(operation)),
                    ("passed", .bool(ran.failure == nil)),
                    ("negotiated", .object(keys.map { ($0.0.rawValue, .string($0.1)) })),
                    (
                        "failure",
                        ran.failure.map { .object([("step", .string($0.step.rawValue)), ("message", .string($0.message + stuck))]) }
                            ?? .null
                    ),
                    ("bytesRead", .number(ran.statistics.bytesRead)),
                    ("bytesWritten", .number(ran.statistics.bytesWritten)),
                    ("operationMilliseconds", .number(ran.milliseconds)),
                    ("kibibytesPerSecond", .number(Int(ran.statistics.mebibytesPerSecond * 1024))),
                    ("output", .array(ran.output.map { .string($0) })),
                    ("kernelLog", .array(kernelLog.map { .string($0) })),
                ]).rendered())
        } else {
            let whose =
                session.map { "LUN \($0.lun) of \($0.targetName ?? "?") at \($0.portal ?? "?") (session \($0.sessionID))" }
                ?? "not a disk of an iSCSI session"
            var text = "block device /dev/\(name): \(whose), \(modeText), \(operation): "
            text += ran.failure.map { "FAIL: \($0)\(stuck)" } ?? "pass"
            text += " in \(ran.milliseconds) ms"
            if ran.statistics.nanoseconds > 0 {
                let tenths = Int((ran.statistics.mebibytesPerSecond * 10).rounded())
                text += ", \(tenths / 10).\(tenths % 10) MiB/s"
            }
            if !keys.isEmpty { text += "\nnegotiated (sysfs): " + keys.map { "\($0.0.rawValue)=\($0.1)" }.joined(separator: " ") }
            for line in ran.output { text += "\noutput: \(line)" }
            for line in kernelLog { text += "\nkernel: \(line)" }
            print(text)
        }
        return ran.failure == nil ? .success : .failure
    }

    static func benchBlockDevice(_ mode: Benchmark.Mode, path: String, request: BlockDeviceRequest) -> ExitStatus {
        var lbas: ClosedRange<UInt64>?
        if case .write(let range) = request.mode { lbas = range }
        let benchmark = BlockDeviceBenchmark(
            device: path, mode: mode, transferBytes: request.transferBytes, seconds: request.benchSeconds, lbas: lbas)
        let result: Benchmark.Result
        do throws(ValidationFailure) {
            result = try benchmark.run()
        } catch {
            printError("iscsi-root dvt --block-device \(path) --bench \(mode.rawValue): \(error)")
            return .failure
        }
        if request.json {
            print(
                JSON.object([
                    ("device", .string(path)), ("mode", .string(mode.rawValue)), ("transferBytes", .number(request.transferBytes)),
                    ("queueDepth", .number(1)), ("operations", .number(result.operations)), ("bytes", .number(result.bytes)),
                    ("microseconds", .number(Int(result.nanoseconds / 1000))),
                    ("kibibytesPerSecond", .number(Int(result.mebibytesPerSecond * 1024))),
                    ("operationsPerSecond", .number(Int(result.operationsPerSecond))),
                ]).rendered())
        } else {
            print(
                "\(mode.rawValue) on \(path): \(request.transferBytes)-byte O_DIRECT transfers, queue depth 1, "
                    + "\(decimal(Double(result.nanoseconds) / 1e9)) s: \(decimal(result.mebibytesPerSecond)) MiB/s, \(Int(result.operationsPerSecond)) IOPS"
            )
        }
        return .success
    }
}
