import LinuxSystem

/// The supervisor's control socket: one request line in, a text answer out, then the
/// connection closes. Abstract (`@iscsi-root/control`), so it is reachable from the real
/// root, the initramfs and the shutdown ramdisk alike; only root may use it.
public enum ControlRequest: String, Sendable, CaseIterable {
    case status = "status"
    case statusJSON = "status --json"
    /// Log out unless the root filesystem is still mounted.
    case logout = "logout"
    case forcedLogout = "logout --force"
    /// Between sessions: a refusal naming the disk if this session's is in use, else
    /// `notInUseAnswer`. A person's logout asks every session before it logs out any.
    case inUse = "in-use"

    public static let notInUseAnswer = "not in use"

    public static let socketName = "iscsi-root/control"

    /// Answers that start with this word are refusals or failures (exit status 1).
    public static let refusalPrefix = "refused:"

    /// The socket of the session process for the boot's session `index` (1 and up: the
    /// sessions beyond the root's). Only the supervisor on `socketName` talks to it; people
    /// and scripts use `socketName`, which answers for every session.
    public static func sessionSocketName(index: Int) -> String { "iscsi-root/session/\(index)" }

    /// The forced logout of a shutdown, with the time it may take in all: the supervisor
    /// splits it between the sessions (`SessionSupervisor`), each session between its disk's
    /// flush and its logout. `logout --force` alone (a person's) gets
    /// `defaultLogoutBudgetMilliseconds`: 25 s, so that the answer comes before `send`'s
    /// default 30 s wait, with which `iscsi-root logout` asks.
    public static func forcedLogoutLine(withinMilliseconds budget: Int) -> String {
        "\(ControlRequest.forcedLogout.rawValue) --within \(max(0, budget))"
    }

    public static let defaultLogoutBudgetMilliseconds = 25_000

    /// A request line: the request and, for a forced logout, its budget in milliseconds
    /// (`forcedLogoutLine`); nil for anything else.
    public static func parse(_ line: String) -> (request: ControlRequest, budgetMilliseconds: Int?)? {
        if let request = ControlRequest(rawValue: line) { return (request, nil) }
        let prefix = ControlRequest.forcedLogout.rawValue + " --within "
        guard line.hasPrefix(prefix) else { return nil }
        let digits = line.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let budget = Int(String(digits))
        else { return nil }
        return (.forcedLogout, budget)
    }

    /// Sends this request to the running supervisor (or to the session process on
    /// `socketName`) and returns its answer.
    public func send(timeoutMilliseconds: Int = 30_000, to socketName: String = Self.socketName) throws(SystemError) -> String {
        try Self.send(line: rawValue, timeoutMilliseconds: timeoutMilliseconds, to: socketName)
    }

    /// Sends one request line (`rawValue` or `forcedLogoutLine`) and returns the answer.
    public static func send(line: String, timeoutMilliseconds: Int, to socketName: String = Self.socketName) throws(SystemError)
        -> String
    {
        let socket = try UnixSocket.connect(abstractName: socketName)
        try socket.send(Array((line + "\n").utf8))
        socket.finishSending()
        let answer = try socket.receiveAll(limit: 1 << 20, deadline: .now().advanced(byMilliseconds: timeoutMilliseconds))
        return String(decoding: answer, as: UTF8.self)
    }
}
