import FuzzTargets

#if canImport(Glibc)
    import Glibc
#endif

// Built two ways from this one file:
// - `make fuzz` builds it with `swift build --sanitize=fuzzer -Xswiftc -DFUZZING`: libFuzzer
//   brings `main` and calls `LLVMFuzzerTestOneInput`; the target comes from $FUZZ_TARGET.
// - a normal build replays saved inputs: `iscsi-root-fuzz TARGET FILE_OR_FOLDER...`, or
//   `iscsi-root-fuzz --list` for the target names. A crash found by the fuzzer is
//   reproduced this way, under the debugger if need be.

#if FUZZING
    nonisolated(unsafe) private var selectedTarget: FuzzTarget?

    @_cdecl("LLVMFuzzerInitialize")
    public func initialize(
        _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>
    ) -> Int32 {
        let name = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = fuzzTarget(named: name) else {
            let names = allFuzzTargets.map(\.name).joined(separator: ", ")
            writeToStandardError("iscsi-root-fuzz: set FUZZ_TARGET to one of: \(names) (got \"\(name)\")")
            exit(2)
        }
        selectedTarget = target
        return 0
    }

    @_cdecl("LLVMFuzzerTestOneInput")
    public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        selectedTarget!.run(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
#else
    @main enum FuzzReplay {
        static func main() {
            let arguments = Array(CommandLine.arguments.dropFirst())
            if arguments == ["--list"] {
                for target in allFuzzTargets { print(target.name) }
                return
            }
            guard let name = arguments.first, let target = fuzzTarget(named: name), arguments.count > 1 else {
                let names = allFuzzTargets.map(\.name).joined(separator: ", ")
                writeToStandardError("usage: iscsi-root-fuzz TARGET FILE_OR_FOLDER... | --list  (targets: \(names))")
                exit(2)
            }
            var passed = 0
            var failed: [String] = []
            for path in arguments.dropFirst() {
                var status = stat()
                if stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR {
                    let result = replay(target, folder: path)
                    passed += result.passed
                    failed += result.failed
                } else if let bytes = readWholeFile(path) {
                    target.run(bytes)
                    passed += 1
                } else {
                    failed.append(path)
                }
            }
            for path in failed { writeToStandardError("iscsi-root-fuzz: cannot read \(path)") }
            print("\(name): \(passed) passed, \(failed.count) failed")
            exit(failed.isEmpty ? 0 : 1)
        }
    }
#endif

/// One line to standard error; this tool is too small to care about partial writes.
private func writeToStandardError(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}
