#if canImport(Glibc)
    import Glibc
#endif

/// Why a TCP connection could not be made or used, in words for the person at the console.
public enum ConnectionError: Error, CustomStringConvertible {
    /// The deadline passed; `operation` says what was waited for, e.g. "connect" (the
    /// caller names the peer, as for every case here).
    case timedOut(operation: String)
    /// Nothing listens on that port: the peer answered with a reset (`ECONNREFUSED`).
    case refused(SocketAddress)
    /// No route to the peer (`ENETUNREACH`, `EHOSTUNREACH`, `EADDRNOTAVAIL`).
    case unreachable(SocketAddress, SystemError)
    /// The peer closed the connection before everything expected had arrived.
    case closedByPeer
    /// Any other failure of a system call, `ECONNRESET` among them.
    case system(SystemError)

    public var description: String {
        switch self {
        case .timedOut(let operation):
            "\(operation) timed out"
        // The caller names the portal; these say what happened to it.
        case .refused:
            "connection refused (is the target running and listening there?)"
        case .unreachable(_, let error):
            "unreachable (\(error); check the address, the link and the routes)"
        case .closedByPeer:
            "the peer closed the connection"
        case .system(let error):
            error.description
        }
    }
}
