#if canImport(Glibc)
    import Glibc
#endif
import LinuxSystem

/// Exit statuses shared by every command: 0 done, 1 the operation failed, 2 bad usage.
public enum ExitStatus: Int32 {
    case success = 0
    case failure = 1
    case usage = 2
}

/// A person-facing subcommand of `iscsi-root`.
public protocol Command: Sendable {
    /// The word after `iscsi-root`.
    static var name: String { get }
    /// One line for the command list.
    static var summary: String { get }
    /// The full `--help` text.
    static var help: String { get }
    /// Runs with the arguments after the command word.
    static func run(_ arguments: [String]) -> ExitStatus
}

/// Writes `text` and a newline to standard error, unbuffered (messages for people).
public func printError(_ text: String, terminator: String = "\n") {
    // Best effort: standard error is where a failure would be reported.
    try? writeAll(Array((text + terminator).utf8), to: 2)
}
