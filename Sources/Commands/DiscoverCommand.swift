import ISCSI
import Initiator
import Reports

/// `iscsi-root discover PORTAL`: SendTargets discovery.
public enum DiscoverCommand: Command {
    public static let name = "discover"
    public static let summary = "list the targets a portal offers (SendTargets)"
    public static let help = """
        usage: iscsi-root discover PORTAL [OPTIONS] [--json]

        Logs in to PORTAL (address[:port], default port 3260) in a discovery session, asks for
        SendTargets=All, logs out and prints every target with the addresses it advertises.
        An advertised address may be unreachable from here (a target behind NAT advertises its
        inside address): log in to the portal you were given.

        options:
        \(LoginOptions.help)
          --json                    print JSON instead of a table

        exit status: 0 done, 1 the discovery failed, 2 bad usage
        """

    public static func run(_ arguments: [String]) -> ExitStatus {
        let options: LoginOptions
        let portal: Portal
        let json: Bool
        do {
            let parsed = try Arguments(arguments, flags: LoginOptions.flags.union(["--json"]), options: LoginOptions.options)
            portal = try Portal.argument(parsed.requirePositionals(["PORTAL"])[0])
            options = try LoginOptions(parsed)
            json = parsed.flag("--json")
        } catch {
            printError("iscsi-root discover: \(error) (see iscsi-root discover --help)")
            return .usage
        }
        do {
            var session = try Session.login(
                at: portal, configuration: options.configuration(targetName: nil, portal: portal),
                timeoutMilliseconds: options.timeoutMilliseconds)
            let targets = try session.sendTargets()
            try session.logout()
            print(json ? renderJSON(targets, portal: portal) : renderText(targets, portal: portal))
            return .success
        } catch {
            printError("iscsi-root discover: \(error)")
            return .failure
        }
    }

    static func renderText(_ targets: [DiscoveredTarget], portal: Portal) -> String {
        guard !targets.isEmpty else { return "\(portal) offers no targets to this initiator" }
        return targets.map { target in
            ([target.name] + target.addresses.map { "  \($0.address)" + ($0.portalGroupTag.map { " (portal group \($0))" } ?? "") })
                .joined(separator: "\n")
        }.joined(separator: "\n")
    }

    static func renderJSON(_ targets: [DiscoveredTarget], portal: Portal) -> String {
        JSON.object([
            ("portal", .string(portal.description)),
            (
                "targets",
                .array(
                    targets.map { target in
                        .object([
                            ("name", .string(target.name)),
                            (
                                "addresses",
                                .array(
                                    target.addresses.map { address in
                                        .object([
                                            ("address", .string(address.address)),
                                            ("portalGroupTag", address.portalGroupTag.map { .number(Int($0)) } ?? .null),
                                        ])
                                    })
                            ),
                        ])
                    })
            ),
        ]).rendered()
    }
}
