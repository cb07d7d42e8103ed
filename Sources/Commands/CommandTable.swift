import Reports

/// Every subcommand, in the order `iscsi-root --help` lists them.
public let commandTable: [any Command.Type] = [
    PlanCommand.self, LoginCommand.self, DiscoverCommand.self, ProbeCommand.self, StatusCommand.self, LogoutCommand.self,
    DVTCommand.self,
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
