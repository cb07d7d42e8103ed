import ISCSI
import KernelSession
import Reports
import Testing

@testable import Agent

@Suite struct HookModeTests {
    static let status = SupervisorStatus(
        state: .loggedIn, target: "iqn.2024-01.example:root1", portal: "10.0.2.2:3260", interface: "eth0", sessionID: 3, hostNumber: 12,
        disk: "sda", uptimeSeconds: 4, parameters: nil, timers: SessionTimers(replacementTimeout: 120, noopInterval: 5, noopTimeout: 5),
        recoveries: 0, lastRecovery: nil)

    /// `login` in a retry loop recognises its own supervisor from `status --json`, indented
    /// or compact, as the supervisor renders it.
    @Test func runningSessionIsReadFromTheSupervisorsStatusJSON() {
        let expected = RunningSession(target: "iqn.2024-01.example:root1", hostNumber: 12)
        #expect(RunningSession(statusJSON: Self.status.json.rendered() + "\n") == expected)
        #expect(RunningSession(statusJSON: Self.status.json.rendered(indent: nil)) == expected)
    }

    /// The dracut module's host-only command line (module-setup.sh's cmdline(), and its
    /// check in Tests/Packaging) reads `status --json` by indentation: the root's members two
    /// spaces in, every session's members in "sessions" six.
    @Test func statusJSONIsIndentedAsTheDracutModuleReadsIt() {
        let rendered = SupervisorStatus.combinedJSON(
            own: Self.status.json, others: [("iqn.2024-01.example:data", CombinedStatusTests.data.json.rendered())]
        ).rendered()
        let lines = rendered.split(separator: "\n")
        #expect(lines.contains("  \"target\": \"iqn.2024-01.example:root1\","))
        #expect(lines.contains("  \"sessions\": ["))
        #expect(lines.filter { $0.hasPrefix("      \"target\": ") }.count == 2)
        #expect(lines.filter { $0.hasPrefix("      \"portal\": ") }.count == 2)
    }

    /// The hook names the whole LUN itself; a root named by a filesystem or a path may be on
    /// md, LVM or multipath over several sessions' disks, which the framework assembles.
    @Test func onlyTheWholeLUNMustBeFoundByTheHook() {
        #expect(BootSequence.hookHandOver(.targetLUN) == nil)
        #expect(BootSequence.hookHandOver(.label("sysroot")) == BootSequence.frameworkRootHandOverMilliseconds)
        #expect(BootSequence.hookHandOver(.path("/dev/mapper/sysvg-root")) == BootSequence.frameworkRootHandOverMilliseconds)
    }

    /// A refusal, the human text, and JSON without a usable target or host are no session.
    @Test func unreadableStatusIsNoSession() {
        #expect(RunningSession(statusJSON: "refused: only root may talk to the supervisor\n") == nil)
        #expect(RunningSession(statusJSON: "") == nil)
        #expect(RunningSession(statusJSON: Self.status.text) == nil)
        #expect(RunningSession(statusJSON: #"{"target": "iqn.2024-01.example:root1"}"#) == nil)
        #expect(RunningSession(statusJSON: #"{"target": "", "host": 1}"#) == nil)
        #expect(RunningSession(statusJSON: #"{"target": "iqn.2024-01.example:root1", "host": -1}"#) == nil)
        #expect(RunningSession(statusJSON: #"{"target": "iqn.2024-01.example:root1", "host": 4294967296}"#) == nil)
        #expect(RunningSession(statusJSON: #"{"target": 7, "host": 1}"#) == nil)
        #expect(RunningSession(statusJSON: #"[{"target": "iqn.2024-01.example:root1", "host": 1}]"#) == nil)
    }
}

@Suite struct JSONReaderTests {
    /// What the writer renders, the reader reads back to the same value.
    @Test func readsWhatTheWriterRenders() throws {
        let value = JSON.object([
            ("text", .string("a \"quoted\" \\ line\n\ttab \u{01} é 🙂")),
            ("numbers", .array([.number(0), .number(-1), .number(Int.max), .number(Int.min)])),
            ("flags", .array([.bool(true), .bool(false), .null])),
            ("nested", .object([("empty", .object([])), ("none", .array([]))])),
        ])
        #expect(try JSON.read(value.rendered()) == value)
        #expect(try JSON.read(value.rendered(indent: nil)) == value)
    }

    @Test func readsEscapesAndSurrogatePairs() throws {
        #expect(try JSON.read(#"" \/\b\f\r\u0041\u00e9\ud83d\ude42""#) == .string(" /\u{08}\u{0C}\rAé🙂"))
        #expect(try JSON.read(" \t\r\n 42 \n") == .number(42))
        #expect(try JSON.read(#"{"a": {"b": [1]}}"#)["a"]?["b"] == .array([.number(1)]))
        #expect(try JSON.read(#"{"a": 1}"#)["b"] == nil)
        #expect(try JSON.read("[1]")["a"] == nil)
    }

    /// Each refusal names where and why.
    @Test func refusesWhatIsNotStrictJSON() {
        let cases: [(String, JSONReadError)] = [
            ("", JSONReadError(offset: 0, reason: "the text ends where a value was expected")),
            ("1 2", JSONReadError(offset: 2, reason: "text after the value")),
            ("01", JSONReadError(offset: 1, reason: "a number with a leading zero")),
            ("-", JSONReadError(offset: 1, reason: "a number without digits")),
            ("1.5", JSONReadError(offset: 1, reason: "a number with a fraction or exponent (only integers are read)")),
            ("1e3", JSONReadError(offset: 1, reason: "a number with a fraction or exponent (only integers are read)")),
            ("9223372036854775808", JSONReadError(offset: 0, reason: "a number outside the range of a 64-bit integer")),
            ("tru", JSONReadError(offset: 3, reason: "expected true")),
            (#"{"a": 1,}"#, JSONReadError(offset: 8, reason: "expected a quoted key")),
            (#"{"a": 1, "a": 2}"#, JSONReadError(offset: 9, reason: "the key \"a\" appears twice")),
            (#"{"a" 1}"#, JSONReadError(offset: 5, reason: "expected :")),
            ("[1 2]", JSONReadError(offset: 3, reason: "expected , or ] in an array")),
            (#""abc"#, JSONReadError(offset: 4, reason: "a string without its closing quote")),
            ("\"a\u{01}\"", JSONReadError(offset: 2, reason: "a control character 0x1 inside a string")),
            (#""\x""#, JSONReadError(offset: 2, reason: "an unknown escape \\x")),
            (#""\ud83d""#, JSONReadError(offset: 7, reason: "a high surrogate without its low surrogate")),
            (#""\ude42""#, JSONReadError(offset: 7, reason: "a lone low surrogate \\ude42")),
            (#""\u12""#, JSONReadError(offset: 5, reason: "\\u without four hex digits")),
            ("'a'", JSONReadError(offset: 0, reason: "unexpected character 0x27 where a value was expected")),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text)") { try JSON.read(text) }
        }
        #expect(throws: JSONReadError(offset: 1, reason: "a string that is not valid UTF-8")) {
            try JSON.read(bytes: [0x22, 0x61, 0xFF, 0x22])
        }
    }

    /// Nesting past the limit is refused, not recursed into.
    @Test func refusesDeepNesting() throws {
        let limit = JSON.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(throws: Never.self) { try JSON.read(deepest) }
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: JSONReadError(offset: limit, reason: "nested deeper than \(limit) levels")) { try JSON.read(tooDeep) }
        #expect(throws: JSONReadError.self) { try JSON.read(String(repeating: "{\"a\":", count: 10_000)) }
    }
}
