import Agent

/// `iscsi-root status`: what the resident supervisor knows about the root session.
public enum StatusCommand: Command {
    public static let name = "status"
    public static let summary = "show every session, its health and its recoveries (asks the supervisor)"
    public static let help = """
        usage: iscsi-root status [--json]

        Asks the supervisor that owns the root session (over the abstract socket
        @\(ControlRequest.socketName); root only) for the session's state, target, portal,
        the interface every reconnect is bound to, negotiated parameters, uptime, the
        kernel's recovery and NOP-Out settings, and how many recoveries it made (the last
        one's cause, attempts and duration). With several targets, every session follows
        the root's, each in a block of its own; a session still coming up shows its
        attempts and last error. --json: the root's session at the top level and every
        session in "sessions".

        exit status: 0 done, 1 no supervisor answered, 2 bad usage
        """

    public static func run(_ arguments: [String]) -> ExitStatus {
        let json: Bool
        do {
            let parsed = try Arguments(arguments, flags: ["--json"], options: [])
            _ = try parsed.requirePositionals([])
            json = parsed.flag("--json")
        } catch {
            printError("iscsi-root status: \(error) (see iscsi-root status --help)")
            return .usage
        }
        return ask(json ? .statusJSON : .status, command: name)
    }
}

/// `iscsi-root logout`: ends the root session (refused while its filesystem is mounted).
public enum LogoutCommand: Command {
    public static let name = "logout"
    public static let summary = "log the root session out (refused while its disk is mounted, unless --force)"
    public static let help = """
        usage: iscsi-root logout [--force]

        Tells the supervisor to log every session out (the other targets' first) and tear
        them down, then to exit. While a filesystem of a session's disk is mounted, or a
        device is stacked on the disk (md, LVM, multipath, LUKS), this is refused: logging
        out under a mounted root loses every write not yet on the target. --force logs out anyway (the
        shutdown ramdisk uses it once the root is unmounted).

        exit status: 0 logged out, 1 refused or no supervisor answered, 2 bad usage
        """

    public static func run(_ arguments: [String]) -> ExitStatus {
        let force: Bool
        do {
            let parsed = try Arguments(arguments, flags: ["--force"], options: [])
            _ = try parsed.requirePositionals([])
            force = parsed.flag("--force")
        } catch {
            printError("iscsi-root logout: \(error) (see iscsi-root logout --help)")
            return .usage
        }
        return ask(force ? .forcedLogout : .logout, command: name)
    }
}

/// Sends `request` to the supervisor and prints its answer; a refusal is a failure.
private func ask(_ request: ControlRequest, command: String) -> ExitStatus {
    let answer: String
    do { answer = try request.send() } catch {
        printError(
            "iscsi-root \(command): no supervisor answered on @\(ControlRequest.socketName) (\(error)); is this machine's root on iSCSI, and are you root?"
        )
        return .failure
    }
    if answer.hasPrefix(ControlRequest.refusalPrefix) {
        printError("iscsi-root \(command): \(answer.dropFirst(ControlRequest.refusalPrefix.count).drop { $0 == " " })", terminator: "")
        return .failure
    }
    print(answer, terminator: "")
    return .success
}
