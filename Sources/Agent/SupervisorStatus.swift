import ISCSI
import KernelSession
import Reports

/// What `iscsi-root status` shows: the session, its health and its history.
public struct SupervisorStatus: Sendable {
    public enum State: String, Sendable {
        case loggedIn = "logged in"
        case recovering
        case loggedOut = "logged out"
    }

    public struct Recovery: Sendable {
        public var cause: String
        public var attempts: Int
        public var milliseconds: Int
    }

    public var state: State
    public var target: String
    public var portal: String
    /// The interface the session's connections leave from (every reconnect is bound to it).
    public var interface: String?
    public var sessionID: UInt32
    public var hostNumber: UInt32
    public var disk: String?
    public var uptimeSeconds: Int
    public var parameters: NegotiatedParameters?
    public var timers: SessionTimers
    public var recoveries: Int
    public var lastRecovery: Recovery?
    /// The session's path in the root's multipath map, if it is one.
    public var path: PathInMap? = nil

    /// A session that is a path of the root's dm-multipath map (`RootMap`).
    public struct PathInMap: Sendable {
        /// /dev/mapper/<WWID>.
        public var map: String
        /// "active", "failed" or "not in the map", as the kernel's map has this path now.
        public var state: String
        /// The map's paths, "2 of 2 paths active"; nil when its status could not be read.
        public var mapSummary: String?
        public var failures: Int
        /// "failed 12 s ago" / "reinstated 3 s ago".
        public var lastSwitch: String?

        var text: String {
            "path     \(state) in \(map)" + (mapSummary.map { " (\($0))" } ?? "") + ", \(failures) failure(s)"
                + (lastSwitch.map { ", \($0)" } ?? "") + "; the map queues I/O while no path is usable"
        }

        var json: JSON {
            .object([
                ("map", .string(map)), ("state", .string(state)), ("mapPaths", mapSummary.map { .string($0) } ?? .null),
                ("failures", .number(failures)), ("lastSwitch", lastSwitch.map { .string($0) } ?? .null),
                ("queueIfNoPath", .bool(true)),
            ])
        }
    }

    public var text: String {
        var lines = [
            "session \(sessionID) (host\(hostNumber)): \(state.rawValue)",
            "target   \(target) at \(portal)" + (interface.map { " via \($0)" } ?? ""),
            "disk     \(disk.map { "/dev/\($0)" } ?? "-")",
            "uptime   \(uptimeSeconds) s",
            "recovery replacement timeout \(timers.replacementTimeout) s, NOP-Out every \(timers.noopInterval) s (timeout \(timers.noopTimeout) s)",
            "recoveries \(recoveries)",
        ]
        if let path { lines.append(path.text) }
        if let last = lastRecovery {
            lines.append("last     \(last.cause), \(last.attempts) attempt(s), \(last.milliseconds) ms")
        }
        if let parameters {
            lines.append(
                "negotiated HeaderDigest=\(parameters.headerDigest.rawValue) DataDigest=\(parameters.dataDigest.rawValue) "
                    + "MaxRecvDataSegmentLength=\(parameters.maxRecvDataSegmentLength) MaxXmitDataSegmentLength=\(parameters.maxXmitDataSegmentLength) "
                    + "MaxBurstLength=\(parameters.maxBurstLength) FirstBurstLength=\(parameters.firstBurstLength) "
                    + "DefaultTime2Wait=\(parameters.defaultTime2Wait)")
        }
        return lines.joined(separator: "\n")
    }

    public var json: JSON {
        .object([
            ("state", .string(state.rawValue)),
            ("target", .string(target)),
            ("portal", .string(portal)),
            ("interface", interface.map { .string($0) } ?? .null),
            ("session", .number(Int(sessionID))),
            ("host", .number(Int(hostNumber))),
            ("disk", disk.map { .string("/dev/" + $0) } ?? .null),
            ("uptimeSeconds", .number(uptimeSeconds)),
            (
                "timers",
                .object([
                    ("replacementTimeout", .number(timers.replacementTimeout)),
                    ("noopInterval", .number(timers.noopInterval)),
                    ("noopTimeout", .number(timers.noopTimeout)),
                ])
            ),
            ("recoveries", .number(recoveries)),
            (
                "lastRecovery",
                lastRecovery.map {
                    .object([("cause", .string($0.cause)), ("attempts", .number($0.attempts)), ("milliseconds", .number($0.milliseconds))])
                } ?? .null
            ),
            (
                "negotiated",
                parameters.map { $0.json } ?? .null
            ),
            ("path", path?.json ?? .null),
        ])
    }
}

extension SupervisorStatus {
    /// `status` with several sessions: the root's as before, then each other session's
    /// answer (`others`: its target and its process's answer, nil when it gave none within
    /// `waitedSeconds`), separated by an empty line.
    static func combinedText(own: String, others: [(target: String, answer: String?)], waitedSeconds: Int) -> String {
        var text = own
        for other in others {
            let answer = other.answer.map { $0.hasSuffix("\n") ? String($0.dropLast()) : $0 }
            text +=
                "\n\n"
                + (answer
                    ?? "session to \(other.target): no answer within \(waitedSeconds) s (busy in a login attempt; ask again)")
        }
        return text
    }

    /// `status --json` with several sessions: the root's object as before (its `target` and
    /// `host` are what hook mode reads), plus `sessions`, every session's object, the root's
    /// first; one whose process did not answer is `{"state": "not answering", "target": …}`.
    static func combinedJSON(own: JSON, others: [(target: String, answer: String?)]) -> JSON {
        guard !others.isEmpty, case .object(var members) = own else { return own }
        var sessions = [own]
        for other in others {
            var read: JSON?
            if let answer = other.answer { read = try? JSON.read(answer) }
            sessions.append(read ?? .object([("state", .string("not answering")), ("target", .string(other.target))]))
        }
        members.append(("sessions", .array(sessions)))
        return .object(members)
    }
}

extension NegotiatedParameters {
    /// The "negotiated" object of `status --json` and `probe --json`: every operational key
    /// and MaxXmitDataSegmentLength, booleans as JSON booleans.
    public var json: JSON {
        .object(
            keyed.map { name, value in
                switch value {
                case .text(let text): (name, .string(text))
                case .number(let number): (name, .number(number))
                case .boolean(let flag): (name, .bool(flag))
                }
            })
    }
}
