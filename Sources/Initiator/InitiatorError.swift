import ISCSI
import LinuxSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Why an operation of the userspace initiator failed, in words for people.
public enum InitiatorError: LoginFailureCarrying, CustomStringConvertible {
    case badPortal(String)
    case connection(ConnectionError, portal: Portal)
    /// The connection failed while `during` was under way ("READ CAPACITY (16) (LUN 1)",
    /// "the login"): what the target was doing when it dropped us is what a person needs.
    case connectionLost(ConnectionError, during: String, portal: Portal)
    /// The login itself failed (refused, redirected too often, a bad Login Response).
    case login(LoginFailure)
    case framing(PDUError, portal: Portal)
    case protocolViolation(String, portal: Portal)
    case commandFailed(command: String, status: UInt8, sense: SenseData?)
    case commandData(SCSIDataError)
    case logoutFailed(response: UInt8)

    public var description: String {
        switch self {
        case .badPortal(let text):
            return "\"\(text)\" is not a portal (expected an IPv4 address, [IPv6] address or localhost, optionally :port 1-65535)"
        case .connection(let error, let portal):
            return "\(portal): \(error)"
        case .connectionLost(let error, let during, let portal):
            switch error {
            case .system(let system) where system.code == ECONNRESET:
                return "\(portal): the target reset the connection during \(during) (\(system))"
            case .system(let system) where system.code == EPIPE || system.code == ECONNABORTED:
                return "\(portal): the target closed the connection during \(during) (\(system))"
            case .closedByPeer:
                return "\(portal): the target closed the connection during \(during)"
            default:
                return "\(portal): \(error) during \(during)"
            }
        case .login(let failure):
            return "\(failure)"
        case .framing(let error, let portal):
            return "\(portal) sent a bad PDU: \(error)"
        case .protocolViolation(let reason, let portal):
            return "\(portal) broke the iSCSI protocol: \(reason)"
        case .commandFailed(let command, let status, let sense):
            return "\(command) failed with \(SCSIStatus.describe(status, sense: sense))"
        case .commandData(let error):
            return "\(error)"
        case .logoutFailed(let response):
            return "the target refused the logout (response \(response))"
        }
    }
}

extension InitiatorError {
    /// The target closed or reset the connection (`LoginFailureCarrying`): what `naming`
    /// calls losing it.
    public var isClosedByTarget: Bool {
        switch self {
        case .connectionLost: true
        case .connection: if case .connectionLost = naming("") { true } else { false }
        default: false
        }
    }

    /// This error with `during` named, when it is the target dropping the connection (a reset,
    /// a close, a broken pipe); other errors unchanged.
    func naming(_ during: String) -> InitiatorError {
        guard case .connection(let error, let portal) = self else { return self }
        switch error {
        case .closedByPeer: return .connectionLost(error, during: during, portal: portal)
        case .system(let system) where [ECONNRESET, EPIPE, ECONNABORTED].contains(system.code):
            return .connectionLost(error, during: during, portal: portal)
        default: return self
        }
    }
}
