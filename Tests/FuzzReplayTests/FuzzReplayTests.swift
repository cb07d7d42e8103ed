import FuzzTargets
import Testing

/// Replays every saved fuzz input (Tests/Fuzz/Corpus/<target>/) through its entry point
/// without the fuzzer: inputs that once found a bug, or new code paths, stay tested. An
/// input that traps crashes this test run, which is the failure.
@Suite struct FuzzReplayTests {
    /// Tests/Fuzz/Corpus, found from this file's own path (Tests/FuzzReplayTests/…).
    static let corpusFolder: String = {
        var components = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(2)
        return components.joined(separator: "/") + "/Fuzz/Corpus"
    }()

    @Test func everyCorpusInputRunsWithoutTrapping() {
        var passed = 0
        var failed: [String] = []
        for target in allFuzzTargets {
            let result = replay(target, folder: Self.corpusFolder + "/" + target.name)
            #expect(result.passed > 0, "no seed inputs in \(Self.corpusFolder)/\(target.name)")
            passed += result.passed
            failed += result.failed
        }
        #expect(failed.isEmpty, "unreadable corpus files: \(failed)")
        print("fuzz corpus replay: \(passed) passed, \(failed.count) failed")
    }
}
