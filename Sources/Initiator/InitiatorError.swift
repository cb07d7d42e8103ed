import ISCSI
import LinuxSystem

/// Why an operation of the userspace initiator failed, in words for people.
public enum InitiatorError: Error, CustomStringConvertible {
    case badPortal(String)
    case connection(ConnectionError, portal: Portal)
    case login(LoginError, portal: Portal)
    case framing(PDUError, portal: Portal)
    case protocolViolation(String, portal: Portal)
    case tooManyRedirects(last: String)
    case commandFailed(command: String, status: UInt8, sense: SenseData?)
    case commandData(SCSIDataError)
    case logoutFailed(response: UInt8)

    public var description: String {
        switch self {
        case .badPortal(let text):
            return "\"\(text)\" is not a portal (expected an IPv4 address, [IPv6] address or localhost, optionally :port 1-65535)"
        case .connection(let error, let portal):
            return "\(portal): \(error)"
        case .login(let error, let portal):
            return "login at \(portal) failed: \(error)"
        case .framing(let error, let portal):
            return "\(portal) sent a bad PDU: \(error)"
        case .protocolViolation(let reason, let portal):
            return "\(portal) broke the iSCSI protocol: \(reason)"
        case .tooManyRedirects(let last):
            return "the target redirected the login too many times (last to \(last))"
        case .commandFailed(let command, let status, let sense):
            let detail = sense.map { ": \($0)" } ?? ""
            return "\(command) failed with \(SCSIStatus.name(status))\(detail)"
        case .commandData(let error):
            return "\(error)"
        case .logoutFailed(let response):
            return "the target refused the logout (response \(response))"
        }
    }
}
