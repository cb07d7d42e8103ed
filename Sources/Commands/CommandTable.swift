import Reports

/// A subcommand as the table holds it. A struct of closures rather than `any Command.Type`:
/// Embedded Swift has no metatype existentials.
public struct CommandEntry: Sendable {
    public let name: String
    public let summary: String
    private let helpText: @Sendable () -> String
    private let runCommand: @Sendable ([String]) -> ExitStatus

    init<C: Command>(_ command: C.Type) {
        name = C.name
        summary = C.summary
        helpText = { C.help }
        runCommand = { C.run($0) }
    }

    public var help: String { helpText() }
    public func run(_ arguments: [String]) -> ExitStatus { runCommand(arguments) }
}

/// Every subcommand, in the order `iscsi-root --help` lists them.
public let commandTable: [CommandEntry] = [
    CommandEntry(PlanCommand.self), CommandEntry(LoginCommand.self), CommandEntry(DiscoverCommand.self),
    CommandEntry(ProbeCommand.self), CommandEntry(StatusCommand.self), CommandEntry(LogoutCommand.self),
    CommandEntry(DVTCommand.self),
]

public let version = "0.1.0"

/// Dispatches `iscsi-root ARGS…` (without the program name) and returns the exit status.
public func runCommandLine(_ arguments: [String]) -> ExitStatus {
    guard let word = arguments.first, word != "--help", word != "-h", word != "help" else {
        print(overview)
        return arguments.isEmpty ? .usage : .success
    }
    if word == "--version" {
        print("iscsi-root \(version)")
        return .success
    }
    guard let command = commandTable.first(where: { $0.name == word }) else {
        printError("iscsi-root: unknown command \"\(word)\" (expected one of: \(commandTable.map { $0.name }.joined(separator: ", ")))")
        return .usage
    }
    let rest = Array(arguments.dropFirst())
    if rest.contains("--help") || rest.contains("-h") {
        print(command.help)
        return .success
    }
    return command.run(rest)
}

private var overview: String {
    var text = """
        iscsi-root \(version): early-boot agent for machines whose root filesystem is on iSCSI.

        usage: iscsi-root COMMAND [OPTIONS]   (iscsi-root COMMAND --help for details)

        commands:
        """
    for command in commandTable {
        text += "\n  \(command.name.padded(to: 12))\(command.summary)"
    }
    text += "\n\nexit status: 0 done, 1 the operation failed, 2 bad usage"
    return text
}
