import ISCSI

/// Timeouts, retries and negotiation choices for the root session, and what the agent does
/// when it cannot boot. Set by `iscsi.*` (the agent's own), `rd.iscsi.param=` (open-iscsi node
/// keys, as dracut passes them) and `rd.iscsi.login_retry_max=`.
public struct SessionSettings: Sendable, Equatable {
    /// Seconds the kernel queues I/O while a broken connection is repaired
    /// (`node.session.timeo.replacement_timeout`). Default 86400: open-iscsi's README §8.2
    /// advice for a root disk — wait, do not fail I/O; positive so the kernel still fails
    /// fast once shutdown has begun (see `ShutdownRole`: the logout comes before reboot(2)).
    public var replacementTimeout = Sourced(86400, from: .defaultValue)
    /// NOP-Out ping interval and timeout in seconds, 0 to disable (`noop_out_interval/timeout`).
    /// The kernel notices a silent target about interval + timeout after its last answer:
    /// 5/4 keeps that under 10 s (open-iscsi's 5/5 measured 9.9–10.3 s here) while an 8 s
    /// link outage still passes without a recovery (4/4 turned it into one, 2 s longer).
    public var noopInterval = Sourced(5, from: .defaultValue)
    public var noopTimeout = Sourced(4, from: .defaultValue)
    /// Seconds one login attempt may take (`node.conn[0].timeo.login_timeout`, iscsid.conf 15).
    public var loginTimeout = Sourced(15, from: .defaultValue)
    /// Login rounds before the boot fails (`node.session.initial_login_retry_max`), nil when
    /// nobody set it: then only `bootTimeout` ends the boot's login. open-iscsi's own default
    /// (8 rounds, about 25 s against a refused connect) is what made servers that booted
    /// faster than their SAN reboot in a loop after a power outage; whoever sets a number
    /// asks for a quick failure and gets it.
    public var loginRetries = Sourced<Int?>(nil, from: .defaultValue)
    /// Seconds the boot keeps trying to log in while no path answers (`iscsi.boot_timeout=`):
    /// ten minutes, about a storage array's cold start. Whichever ends first of this and
    /// `loginRetries` ends the login step.
    public var bootTimeout = Sourced(600, from: .defaultValue)
    /// Seconds the final stage of a shutdown may take (`iscsi.shutdown_timeout=`): the
    /// unmount of the old root, the disks' cache flush and every session's logout. Past it
    /// the machine stops anyway and the console says what was given up on. 30: a healthy
    /// shutdown takes about a second; the rest is room for one connection recovery.
    public var shutdownTimeout = Sourced(30, from: .defaultValue)
    /// RFC 7143 keys the user asked to offer differently (HeaderDigest, DataDigest, ...), by key.
    public var negotiationOverrides: [String: Sourced<String>] = [:]

    public init() {}
}

/// What the agent does when it cannot bring the root up (`iscsi.on_failure=`).
public enum FailureAction: String, Sendable, Equatable, CaseIterable {
    case reboot, poweroff, halt
}

/// Whether `/init` puts the root on a dm-multipath map over the root target's portals
/// (`iscsi.multipath=`, on by default): with `on` and two or more portals, each portal is a
/// path with a session of its own, and the root is found and mounted on the map, never on one
/// path. `off`: one session over the portals, which recovery walks in order (failover).
public enum MultipathMode: String, Sendable, Equatable, CaseIterable {
    case on, off
}

/// How much the agent says on the console (`iscsi.log=`).
public enum LogLevel: String, Sendable, Equatable, CaseIterable {
    case quiet, info, debug
}

/// One setting that may come from several parameters: which field it sets and how its
/// value is checked. Shared by `iscsi.*` and `rd.iscsi.param=` so both grammars check alike.
enum SessionSetting {
    case replacementTimeout, noopInterval, noopTimeout, loginTimeout, loginRetries, bootTimeout, shutdownTimeout
    case negotiated(key: String, allowed: [String]?)

    /// open-iscsi node keys (`iscsiadm -m node` names, last component) users put in `rd.iscsi.param=`.
    static func forNodeKey(_ key: String) -> SessionSetting? {
        let shortKey = key.split(separator: ".").last.map(String.init) ?? key
        switch shortKey {
        case "replacement_timeout": return .replacementTimeout
        case "noop_out_interval": return .noopInterval
        case "noop_out_timeout": return .noopTimeout
        case "login_timeout": return .loginTimeout
        case "initial_login_retry_max": return .loginRetries
        default:
            // ErrorRecoveryLevel and MaxConnections are not settable: the kernel session does
            // session recovery only (level 0) over one connection.
            guard let negotiated = OperationalKey(named: shortKey), negotiated != .errorRecoveryLevel, negotiated != .maxConnections
            else { return nil }
            switch negotiated.definition?.type {
            case .list?: return .negotiated(key: shortKey, allowed: ["None", "CRC32C", "CRC32C,None", "None,CRC32C"])
            case .boolean?: return .negotiated(key: shortKey, allowed: [YesNo.yes, YesNo.no])
            default: return .negotiated(key: shortKey, allowed: nil)
            }
        }
    }

    /// Checks `text` and stores it into `settings`.
    func apply(
        _ text: String, to settings: inout SessionSettings, parameter: String, source: ValueSource
    ) throws(BootConfigError) {
        func seconds(_ range: ClosedRange<Int>, unit: String = "") throws(BootConfigError) -> Sourced<Int> {
            guard text.isDecimalNumber, text.utf8.count <= 10, let value = Int(text),
                range.contains(value)
            else {
                throw BootConfigError(
                    parameter, token: text, problem: "is not a number in range",
                    expected: "\(range.lowerBound)-\(range.upperBound)\(unit)")
            }
            return Sourced(value, from: source)
        }
        switch self {
        case .replacementTimeout: settings.replacementTimeout = try seconds(0...31_536_000)
        case .noopInterval: settings.noopInterval = try seconds(0...3600)
        case .noopTimeout: settings.noopTimeout = try seconds(0...3600)
        case .loginTimeout: settings.loginTimeout = try seconds(1...3600)
        case .loginRetries:
            let rounds = try seconds(0...1000)
            settings.loginRetries = Sourced(rounds.value, from: rounds.source)
        case .bootTimeout: settings.bootTimeout = try seconds(1...86400, unit: " seconds, such as 600")
        // Below 5 s not even a healthy logout with a flush fits; above an hour nobody waits.
        case .shutdownTimeout: settings.shutdownTimeout = try seconds(5...3600, unit: " seconds, such as 30")
        case .negotiated(let key, let allowed):
            if let allowed {
                guard allowed.contains(text) else {
                    throw BootConfigError(
                        parameter, token: text, problem: "is not a value of \(key)",
                        expected: allowed.joined(separator: " or "))
                }
            } else {
                guard text.isDecimalNumber, text.utf8.count <= 8 else {
                    throw BootConfigError(
                        parameter, token: text, problem: "is not a number",
                        expected: "a decimal number (RFC 7143 §13)")
                }
            }
            settings.negotiationOverrides[key] = Sourced(text, from: source)
        }
    }
}

extension SessionSettings {
    /// `iscsi.shutdown_timeout=` (or `iscsi_root.`) alone, for the shutdown role: it runs in
    /// the final ramdisk long after the boot's plan, and reads the machine's command line
    /// again rather than trusting a copy. The last one given wins, as in the full grammar.
    public static func shutdownTimeout(in commandLine: KernelCommandLine) throws(BootConfigError) -> Sourced<Int> {
        var settings = SessionSettings()
        for parameter in commandLine.parameters {
            guard let value = parameter.value,
                BootParameters.nativePrefixes.contains(where: { parameter.key == $0 + "shutdown_timeout" })
            else { continue }
            try SessionSetting.shutdownTimeout.apply(
                value, to: &settings, parameter: parameter.name, source: .commandLine(parameter.name))
        }
        return settings.shutdownTimeout
    }
}
