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

    public static let socketName = "iscsi-root/control"

    /// Answers that start with this word are refusals or failures (exit status 1).
    public static let refusalPrefix = "refused:"

    /// The socket of the session process for the boot's session `index` (1 and up: the
    /// sessions beyond the root's). Only the supervisor on `socketName` talks to it; people
    /// and scripts use `socketName`, which answers for every session.
    public static func sessionSocketName(index: Int) -> String { "iscsi-root/session/\(index)" }

    /// Sends this request to the running supervisor (or to the session process on
    /// `socketName`) and returns its answer.
    public func send(timeoutMilliseconds: Int = 30_000, to socketName: String = Self.socketName) throws(SystemError) -> String {
        let socket = try UnixSocket.connect(abstractName: socketName)
        try socket.send(Array((rawValue + "\n").utf8))
        socket.finishSending()
        let answer = try socket.receiveAll(limit: 1 << 20, deadline: .now().advanced(byMilliseconds: timeoutMilliseconds))
        return String(decoding: answer, as: UTF8.self)
    }
}
