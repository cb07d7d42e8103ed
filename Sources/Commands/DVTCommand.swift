import DomainValidation
import ISCSI
import Initiator
import LinuxSystem
import Reports

#if canImport(Glibc)
    import Glibc
#endif

/// `iscsi-root dvt PORTAL TARGET`: the domain validation tool.
public enum DVTCommand: Command {
    public static let name = "dvt"
    public static let summary = "sweep a target's negotiable keys with real I/O (domain validation)"
    public static let help = """
        usage: iscsi-root dvt PORTAL TARGET-IQN [--lun N] [--keys K,K...] [--values KEY=V,V...]...
                              [--exhaustive] [--iterations N [--seed S]] [--write --lba-range START-END]
                              [OPTIONS] [--json]
               iscsi-root dvt --kernel PORTAL TARGET-IQN [--script 'CMD ARGS... {device}'] [the sweep's options]
               iscsi-root dvt --block-device /dev/sdX [--script 'CMD ARGS... {device}']
                              [--write --lba-range START-END] [--timeout MS] [--json]
               iscsi-root dvt --block-device /dev/sdX --bench seq-read|seq-write [--bench-seconds S]
                              [--transfer-size BYTES] [--write --lba-range START-END] [--json]
               iscsi-root dvt PORTAL TARGET-IQN --bench MODE [--bench-seconds S] [--transfer-size BYTES]
                              [--queue-depth N] [--write --lba-range START-END] [OPTIONS] [--json]

        Logs in to TARGET-IQN at PORTAL once per combination of negotiable keys, checks what the
        target negotiated against RFC 7143's result functions, runs a test operation on the LUN
        and logs out. Default: a pairwise covering array (every pair of values of every two keys
        appears at least once); --exhaustive runs the full product; --iterations N runs the first
        N combinations of either, or with --seed S, N distinct combinations drawn from the full
        product by a generator seeded with S (the same S draws the same ones).

        Without --kernel the login and the I/O go over our own userspace data path. With --kernel
        each combination logs in through the kernel's iscsi_tcp (NETLINK_ISCSI, as the boot does),
        waits for the LUN's block device (--lun N, else the first disk), runs the test operation on
        it, deletes the disk, logs out and ends the session. Values iscsi_tcp cannot run with
        (ErrorRecoveryLevel above 0, MaxOutstandingR2T above 1) are left out with a line saying so.
        --block-device /dev/sdX runs the test operation once on a disk that is already logged in,
        reporting its session's negotiated keys as sysfs shows them.

        Keys swept (all by default), each with its RFC minimum, default, maximum and a few values
        in between: HeaderDigest DataDigest MaxRecvDataSegmentLength MaxBurstLength
        FirstBurstLength InitialR2T ImmediateData MaxOutstandingR2T DataPDUInOrder
        DataSequenceInOrder ErrorRecoveryLevel DefaultTime2Wait DefaultTime2Retain.
        MaxRecvDataSegmentLength is ours; the target's own declaration is reported (T-MRDSL).

        The userspace test operation reads only, unless --write is given: reads of 1 block up to
        several MaxBurstLength at misaligned offsets, each read twice in one queue and compared,
        and the bounds READ CAPACITY reports (the last block reads; the next must be refused, as
        SBC-3 asks with ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)). With
        --write it writes patterned blocks inside --lba-range (required), several commands in
        flight, reads them back and compares. THE BLOCKS IN THE RANGE ARE OVERWRITTEN.

        On a block device (--kernel, --block-device) the test operation is --script: CMD runs
        without a shell (write sh -c '...' for one) with the device in place of {device}, or as
        its last argument, and the negotiated keys in its environment (DVT_HEADERDIGEST=None,
        DVT_MAXBURSTLENGTH=262144, ..., DVT_DEVICE, DVT_COMBINATION); exit status 0 passes, and
        its last lines go into the report. Without --script, a built-in check: the device's size
        against READ CAPACITY (16), O_DIRECT reads of the same sizes and offsets read twice and
        compared, the last block and the end of the device; with --write, patterned writes inside
        --lba-range read back. A disk that holds the running root, is mounted, swap, or held by
        device mapper or md is refused. --timeout MS bounds each login step, the wait for the
        disk and the test operation: a combination that hangs fails, its session is torn down
        and the sweep goes on.

        options:
          --lun N                   the LUN to exercise (default: the first disk REPORT LUNS lists)
          --keys LIST               only these keys (comma-separated names as above)
          --values KEY=V,V...       try these values for KEY instead of the standard ones (repeatable)
          --exhaustive              every combination instead of a pairwise covering array
          --iterations N            run N combinations (the first N, or a sample with --seed)
          --seed S                  with --iterations: N combinations drawn from the full product
          --kernel                  log in through the kernel's iscsi_tcp and test the block device
          --script 'CMD ARGS...'    the test operation on the block device (--kernel, --block-device)
          --block-device /dev/sdX   test this logged-in disk once
          --write                   write and verify (needs --lba-range)
          --lba-range START-END     the scratch blocks --write may overwrite (inclusive)
          --bench MODE              measure the data path instead of sweeping: seq-read, seq-write
                                    (needs --write and --lba-range) or rand-read
          --bench-seconds S         how long to measure (default 10)
          --transfer-size BYTES     bytes per command (default 1048576; rand-read 4096)
          --queue-depth N           commands in flight (default 16; --block-device: 1, one
                                    O_DIRECT pread/pwrite at a time)
        \(LoginOptions.help)
          --json                    print JSON instead of a table

        Verdicts: pass; pass* (the data was right, but the target deviated from a standard, e.g.
        other sense data for a READ past the last block; each deviation is listed with its
        combinations, showing what the target answered and what the standard expects); FAIL
        (a result function broken, wrong data, a timeout or a broken session).

        exit status: 0 every combination passed (pass or pass*), 1 a combination failed or the
        target could not be reached, 2 bad usage (including --write without --lba-range)
        """

    static let flags: Set<String> = ["--json", "--exhaustive", "--write", "--kernel"]
    static let options: Set<String> = [
        "--lun", "--keys", "--values", "--lba-range", "--bench", "--bench-seconds", "--transfer-size", "--queue-depth",
        "--iterations", "--seed", "--script", "--block-device",
    ]

    /// Everything the command line asked for.
    struct Request {
        var portal: Portal
        var target: String
        var lun: LogicalUnit?
        var login: LoginOptions
        var space: KeySpace
        var exhaustive: Bool
        /// `--iterations N`: the first N combinations, or with `--seed` N drawn from the full product.
        var iterations: Int?
        var sampleSeed: UInt64?
        /// `--kernel`: log in through iscsi_tcp and test the block device.
        var kernel: Bool
        var operation: TestOperation
        var mode: ValidationMode
        var bench: Benchmark.Mode?
        var benchSeconds: Int
        var transferBytes: Int?
        var queueDepth: Int
        var json: Bool
    }

    public static func run(_ arguments: [String]) -> ExitStatus {
        let request: Request
        do {
            if let blockDevice = try blockDeviceRequest(arguments) { return runOnBlockDevice(blockDevice) }
            request = try parse(arguments)
        } catch {
            printError("iscsi-root dvt: \(error) (see iscsi-root dvt --help)")
            return .usage
        }
        if request.kernel { return kernelSweep(request) }
        let configuration = request.login.configuration(targetName: request.target, portal: request.portal)
        // Not `try a ?? b`: `??` rethrows `any Error`, which Embedded Swift does not have.
        let lun: LogicalUnit
        if let requested = request.lun {
            lun = requested
        } else {
            do {
                lun = try firstDisk(request, configuration: configuration)
            } catch {
                printError("iscsi-root dvt: \(error)")
                return .failure
            }
        }
        let target = SweepTarget(
            portal: request.portal, login: configuration, lun: lun, timeoutMilliseconds: request.login.timeoutMilliseconds)
        if let mode = request.bench { return bench(mode, request: request, target: target) }
        return sweep(request, target: target)
    }

    static func parse(_ arguments: [String]) throws(UsageError) -> Request {
        let parsed = try Arguments(arguments, flags: flags, options: LoginOptions.options.union(options))
        let positionals = try parsed.requirePositionals(["PORTAL", "TARGET-IQN"])
        let keys = try parsed.value("--keys").map(sweepKeys) ?? SweepKey.swept
        var overrides: [SweepKey: [String]] = [:]
        for text in parsed.allValues("--values") {
            let (key, values) = try valueOverride(text)
            overrides[key] = values
        }
        let space: KeySpace
        do { space = try KeySpace(keys: keys, overrides: overrides) } catch { throw UsageError("\(error)") }
        let range = try parsed.value("--lba-range").map(lbaRange)
        var mode = ValidationMode.readOnly
        if parsed.flag("--write") {
            guard let range else {
                throw UsageError("--write needs --lba-range START-END: refusing to write without a scratch range")
            }
            mode = .write(lbas: range)
        }
        let bench = try parsed.value("--bench").map { (text) throws(UsageError) -> Benchmark.Mode in
            guard let mode = Benchmark.Mode(rawValue: text) else {
                throw UsageError("--bench \"\(text)\" is not a mode (expected seq-read, seq-write or rand-read)")
            }
            return mode
        }
        if bench == .sequentialWrite, mode == .readOnly {
            throw UsageError("--bench seq-write writes: it needs --write and --lba-range START-END")
        }
        let kernel = parsed.flag("--kernel")
        if kernel, bench != nil { throw UsageError("--bench measures the userspace data path; it does not combine with --kernel") }
        let operation = try parsed.value("--script").map { (text) throws(UsageError) -> TestOperation in
            do throws(TestScriptError) { return .script(try TestScript(text)) } catch { throw UsageError(error.description) }
        }
        if operation != nil, !kernel {
            throw UsageError("--script runs on a block device: it needs --kernel (or --block-device /dev/sdX)")
        }
        let iterations = try parsed.integer("--iterations", in: 1...1_000_000)
        let sampleSeed = try parsed.value("--seed").map { (text) throws(UsageError) -> UInt64 in
            guard let seed = UInt64(text) else { throw UsageError("--seed \"\(text)\" is not a number in 0-\(UInt64.max)") }
            return seed
        }
        if sampleSeed != nil, iterations == nil {
            throw UsageError("--seed draws a sample of --iterations N combinations: give --iterations too")
        }
        return Request(
            portal: try Portal.argument(positionals[0]), target: positionals[1],
            lun: try parsed.integer("--lun", in: 0...16383).map { LogicalUnit($0) }, login: try LoginOptions(parsed), space: space,
            exhaustive: parsed.flag("--exhaustive"), iterations: iterations, sampleSeed: sampleSeed, kernel: kernel,
            operation: operation ?? .builtIn, mode: mode, bench: bench,
            benchSeconds: try parsed.integer("--bench-seconds", in: 1...3600) ?? 10,
            transferBytes: try parsed.integer("--transfer-size", in: 512...16_777_216),
            queueDepth: try parsed.integer("--queue-depth", in: 1...1024) ?? 16,
            json: parsed.flag("--json"))
    }

    /// The rows a sweep runs: pairwise or exhaustive, cut to `--iterations N`; with
    /// `--seed S`, N distinct combinations drawn from the full product instead.
    static func combinations(_ request: Request, space: KeySpace) -> CoveringArray {
        let sizes = space.dimensions.map({ $0.values.count })
        if let count = request.iterations, let seed = request.sampleSeed {
            return .sample(domainSizes: sizes, count: count, seed: seed)
        }
        let all: CoveringArray = request.exhaustive ? .exhaustive(domainSizes: sizes) : .pairwise(domainSizes: sizes)
        return request.iterations.map { all.prefix($0) } ?? all
    }

    private static func sweepKeys(_ list: String) throws(UsageError) -> [SweepKey] {
        var keys: [SweepKey] = []
        for name in list.split(separator: ",") {
            guard let key = SweepKey.swept.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                throw UsageError(
                    "--keys: \"\(name)\" is not a swept key (expected \(SweepKey.swept.map({ $0.rawValue }).joined(separator: ", ")))")
            }
            keys.append(key)
        }
        guard !keys.isEmpty else { throw UsageError("--keys needs at least one key") }
        return keys
    }

    /// `KEY=a,b,c`; a list key's value that is itself a list is written with `+`: `HeaderDigest=None,CRC32C+None`.
    private static func valueOverride(_ text: String) throws(UsageError) -> (SweepKey, [String]) {
        let parts = text.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let key = SweepKey.swept.first(where: { $0.rawValue.lowercased() == parts[0].lowercased() }) else {
            throw UsageError("--values \"\(text)\" is not KEY=VALUE,VALUE... with KEY one of the swept keys")
        }
        let values = parts[1].split(separator: ",").map { $0.replacingPlus() }
        guard !values.isEmpty else { throw UsageError("--values \(parts[0]) needs at least one value") }
        return (key, values)
    }

    static func lbaRange(_ text: String) throws(UsageError) -> ClosedRange<UInt64> {
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2, let start = UInt64(bounds[0]), let end = UInt64(bounds[1]), start <= end else {
            throw UsageError("--lba-range \"\(text)\" is not START-END (two block numbers, START <= END)")
        }
        return start...end
    }

    /// Logs in once with the command line's own parameters and picks the first connected disk.
    private static func firstDisk(_ request: Request, configuration: LoginConfiguration) throws(InitiatorError) -> LogicalUnit {
        var session = try Session.login(
            at: request.portal, configuration: configuration, timeoutMilliseconds: request.login.timeoutMilliseconds)
        let disk = try session.probe().first { $0.inquiry.isConnectedDisk }
        try session.logout()
        guard let disk else {
            throw .protocolViolation(
                "the target lists no connected disk (REPORT LUNS + INQUIRY); choose one with --lun", portal: request.portal)
        }
        return disk.lun
    }

    // MARK: - Sweep

    private static func sweep(_ request: Request, target: SweepTarget) -> ExitStatus {
        let sweep = Sweep(
            space: request.space, combinations: combinations(request, space: request.space), target: target, mode: request.mode,
            seed: UInt64(bitPattern: MonotonicInstant.now().nanoseconds))
        let progress = ProgressBar(total: sweep.count, enabled: isatty(1) == 1)
        var results: [CombinationResult] = []
        for index in 0..<sweep.count {
            let result = sweep.run(index)
            results.append(result)
            progress.show(done: results.count, failed: results.filter { !$0.passed }.count)
        }
        progress.clear()
        print(
            request.json ? renderJSON(results, request: request, lun: target.lun) : renderText(results, request: request, lun: target.lun))
        return results.allSatisfy({ $0.passed }) ? .success : .failure
    }

    /// Column titles for the keys, short enough for one table row per combination.
    static let abbreviations: [SweepKey: String] = [
        .headerDigest: "HD", .dataDigest: "DD", .maxRecvDataSegmentLength: "MRDSL", .maxBurstLength: "MaxBL",
        .firstBurstLength: "1stBL", .initialR2T: "IR2T", .immediateData: "ImmD", .maxOutstandingR2T: "MOR2T",
        .dataPDUInOrder: "PDUOrd", .dataSequenceInOrder: "SeqOrd", .errorRecoveryLevel: "ERL", .defaultTime2Wait: "T2W",
        .defaultTime2Retain: "T2R",
    ]

    static func renderText(_ results: [CombinationResult], request: Request, lun: LogicalUnit) -> String {
        renderText(results, request: request, lunText: "LUN \(lun)")
    }

    /// "pairwise", "exhaustive", "the first 5 of pairwise", "5 sampled from the full product (seed 7)".
    static func coverage(_ request: Request) -> String {
        let kind = request.exhaustive ? "exhaustive" : "pairwise"
        guard let count = request.iterations else { return kind }
        if let seed = request.sampleSeed { return "\(count) sampled from the full product, seed \(seed)" }
        return "the first \(count) of \(kind)"
    }

    static func renderText(_ results: [CombinationResult], request: Request, lunText: String, leftOut: [String] = []) -> String {
        let keys = request.space.dimensions.map({ $0.key })
        let kernelColumns = request.kernel ? ["DEVICE", "ms"] : []
        var rows = [["#", "RESULT"] + keys.map { abbreviations[$0] ?? $0.rawValue } + ["T-MRDSL", "MiB/s"] + kernelColumns]
        for result in results {
            let cells = result.keys.map { outcome -> String in
                let negotiated = outcome.negotiated.map(compact) ?? "?"
                let shown = negotiated == compact(outcome.offered) ? negotiated : "\(compact(outcome.offered))>\(negotiated)"
                return outcome.violation == nil ? shown : shown + "!"
            }
            let throughput = result.statistics.nanoseconds > 0 ? decimal(result.statistics.mebibytesPerSecond) : "-"
            let kernelCells =
                request.kernel ? [result.device ?? "-", result.operationMilliseconds.map { String($0) } ?? "-"] : []
            rows.append(
                [String(result.index + 1), result.passed ? result.verdict : "FAIL"] + cells
                    + [result.targetMaxRecvDataSegmentLength.map { compact(String($0)) } ?? "-", throughput] + kernelCells)
        }
        let failed = results.filter { !$0.passed }
        let mode: String
        switch request.mode {
        case .readOnly: mode = "read-only"
        case .write(let lbas): mode = "write, LBAs \(lbas.lowerBound)-\(lbas.upperBound)"
        }
        let withDeviations = results.filter { $0.passed && !$0.deviations.isEmpty }.count
        let path: String
        switch request.operation {
        case _ where !request.kernel: path = ""
        case .builtIn: path = " through the kernel (iscsi_tcp), built-in check"
        case .script(let script): path = " through the kernel (iscsi_tcp), script \(script.words.joined(separator: " "))"
        }
        var text = leftOut.map { "left out: \($0)\n" }.joined()
        text += "domain validation of \(request.target) at \(request.portal), \(lunText)\(path) (\(mode)): "
        text +=
            "\(results.count) combinations (\(coverage(request))), \(results.count - failed.count) passed"
            + (withDeviations > 0 ? " (\(withDeviations) with deviations, pass*)" : "") + ", \(failed.count) failed\n"
        text += table(rows)
        text += "\nvalues: negotiated, or offered>negotiated when the target chose another; ! breaks the RFC 7143 result function; "
        text += "T-MRDSL: the target's MaxRecvDataSegmentLength (our largest PDU); "
        text += "pass*: the data was right, but the target deviated from a standard as listed below"
        var deviations: [String: (detail: String, combinations: [Int])] = [:]
        var rules: [String] = []
        for result in results {
            for deviation in result.deviations {
                if deviations[deviation.rule] == nil { rules.append(deviation.rule) }
                deviations[deviation.rule, default: (deviation.detail, [])].combinations.append(result.index + 1)
            }
        }
        for rule in rules {
            guard let seen = deviations[rule] else { continue }
            text += "\ndeviation in \(combinationList(seen.combinations)): \(seen.detail)"
        }
        for result in failed {
            text += "\n#\(result.index + 1): "
            // A negotiation failure already names its key, value and rule.
            let violations =
                result.failure?.step == .negotiation
                ? []
                : result.keys.compactMap { outcome in
                    outcome.violation.map {
                        "\(outcome.key.rawValue) offered \(outcome.offered), negotiated \(outcome.negotiated ?? "?"): \($0)"
                    }
                }
            text += (violations + (result.failure.map { [$0.description] } ?? [])).joined(separator: "; ")
            for line in result.output { text += "\n    output: \(line)" }
            for line in result.kernelLog { text += "\n    kernel: \(line)" }
        }
        return text
    }

    static func renderJSON(_ results: [CombinationResult], request: Request, lun: LogicalUnit) -> String {
        renderJSON(results, request: request, lunValue: lun.number.map { .number($0) } ?? .string(lun.description))
    }

    static func renderJSON(_ results: [CombinationResult], request: Request, lunValue: JSON, leftOut: [String] = []) -> String {
        let mode: JSON
        switch request.mode {
        case .readOnly: mode = .string("read-only")
        case .write(let lbas):
            mode = .object([("write", .object([("start", .string(String(lbas.lowerBound))), ("end", .string(String(lbas.upperBound)))]))])
        }
        return JSON.object([
            ("target", .string(request.target)),
            ("portal", .string(request.portal.description)),
            ("lun", lunValue),
            ("leftOut", .array(leftOut.map { .string($0) })),
            ("mode", mode),
            ("coverage", .string(coverage(request))),
            ("path", .string(request.kernel ? "kernel" : "userspace")),
            ("passed", .bool(results.allSatisfy({ $0.passed }))),
            ("verdict", .string(overallVerdict(results))),
            (
                "combinations",
                .array(
                    results.map { result in
                        .object([
                            ("index", .number(result.index + 1)),
                            ("passed", .bool(result.passed)),
                            ("verdict", .string(result.verdict)),
                            (
                                "keys",
                                .object(
                                    result.keys.map { outcome in
                                        (
                                            outcome.key.rawValue,
                                            .object([
                                                ("offered", .string(outcome.offered)),
                                                ("negotiated", outcome.negotiated.map { .string($0) } ?? .null),
                                                ("violation", outcome.violation.map { .string($0) } ?? .null),
                                            ])
                                        )
                                    })
                            ),
                            ("targetMaxRecvDataSegmentLength", result.targetMaxRecvDataSegmentLength.map { .number($0) } ?? .null),
                            (
                                "failure",
                                result.failure.map { .object([("step", .string($0.step.rawValue)), ("message", .string($0.message))]) }
                                    ?? .null
                            ),
                            ("deviations", .array(result.deviations.map { .string($0.detail) })),
                            ("bytesRead", .number(result.statistics.bytesRead)),
                            ("bytesWritten", .number(result.statistics.bytesWritten)),
                            ("ioMicroseconds", .number(Int(result.statistics.nanoseconds / 1000))),
                            ("kibibytesPerSecond", .number(Int(result.statistics.mebibytesPerSecond * 1024))),
                            ("device", result.device.map { .string($0) } ?? .null),
                            ("operationMilliseconds", result.operationMilliseconds.map { .number($0) } ?? .null),
                            ("output", .array(result.output.map { .string($0) })),
                            ("kernelLog", .array(result.kernelLog.map { .string($0) })),
                        ])
                    })
            ),
        ]).rendered()
    }

    // MARK: - Benchmark

    private static func bench(_ mode: Benchmark.Mode, request: Request, target: SweepTarget) -> ExitStatus {
        var lbas: ClosedRange<UInt64>?
        if case .write(let range) = request.mode { lbas = range }
        let benchmark = Benchmark(
            mode: mode, lun: target.lun, transferBytes: request.transferBytes ?? (mode == .randomRead ? 4096 : 1_048_576),
            queueDepth: request.queueDepth, seconds: request.benchSeconds, lbas: lbas)
        // One `do` per error type: Embedded Swift has no `any Error`.
        let result: Benchmark.Result
        do throws(InitiatorError) {
            var session = try Session.login(at: target.portal, configuration: target.login, timeoutMilliseconds: target.timeoutMilliseconds)
            do throws(ValidationFailure) {
                result = try benchmark.run(on: &session)
            } catch {
                printError("iscsi-root dvt --bench \(mode.rawValue): \(error)")
                return .failure
            }
            try session.logout()
        } catch {
            printError("iscsi-root dvt --bench \(mode.rawValue): \(error)")
            return .failure
        }
        if request.json {
            print(
                JSON.object([
                    ("mode", .string(mode.rawValue)), ("transferBytes", .number(benchmark.transferBytes)),
                    ("queueDepth", .number(benchmark.queueDepth)), ("operations", .number(result.operations)),
                    ("bytes", .number(result.bytes)), ("microseconds", .number(Int(result.nanoseconds / 1000))),
                    ("kibibytesPerSecond", .number(Int(result.mebibytesPerSecond * 1024))),
                    ("operationsPerSecond", .number(Int(result.operationsPerSecond))),
                ]).rendered())
        } else {
            print(
                "\(mode.rawValue): \(benchmark.transferBytes)-byte commands, queue depth \(benchmark.queueDepth), "
                    + "\(decimal(Double(result.nanoseconds) / 1e9)) s: \(decimal(result.mebibytesPerSecond)) MiB/s, \(Int(result.operationsPerSecond)) IOPS"
            )
        }
        return .success
    }
}

/// A one-line progress bar redrawn in place; silent when standard output is not a terminal.
private struct ProgressBar {
    let total: Int
    let enabled: Bool
    static let width = 30

    func show(done: Int, failed: Int) {
        guard enabled else { return }
        let filled = total == 0 ? Self.width : Self.width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: Self.width - filled)
        print("\r[\(bar)] \(done)/\(total), \(failed) failed", terminator: "")
        // fflush(NULL) flushes every stream; naming stdout is not concurrency-safe in Swift 6.
        fflush(nil)
    }

    func clear() {
        guard enabled else { return }
        // Carriage return and "erase line" (ECMA-48 EL), so the table starts on a clean line.
        print("\r\u{1B}[2K", terminator: "")
    }
}

/// "fail" if any combination failed, else "pass*" if any deviated, else "pass".
func overallVerdict(_ results: [CombinationResult]) -> String {
    if !results.allSatisfy({ $0.passed }) { return "fail" }
    return results.contains { !$0.deviations.isEmpty } ? "pass*" : "pass"
}

/// "combination #3" or "combinations #1, #2, #5" (the first 10, then how many more).
private func combinationList(_ numbers: [Int]) -> String {
    guard numbers.count > 1 else { return "combination #\(numbers.first ?? 0)" }
    let shown = numbers.prefix(10).map { "#\($0)" }.joined(separator: ", ")
    return "combinations \(shown)" + (numbers.count > 10 ? " and \(numbers.count - 10) more" : "")
}

/// 262144 → 256K, 1048576 → 1M; other text unchanged.
private func compact(_ text: String) -> String {
    guard let number = Int(text), number >= 1024 else { return text }
    if number % 1_048_576 == 0 { return "\(number / 1_048_576)M" }
    if number % 1024 == 0 { return "\(number / 1024)K" }
    return text
}

/// One decimal place, without Foundation's formatting.
func decimal(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

extension Substring {
    fileprivate func replacingPlus() -> String { String(map { $0 == "+" ? "," : $0 }) }
}
