/// Status-Class and Status-Detail of a Login Response (RFC 7143 §11.13.5).
public struct LoginStatus: Hashable, Sendable, CustomStringConvertible {
    public var statusClass: UInt8
    public var detail: UInt8

    public init(statusClass: UInt8, detail: UInt8) {
        self.statusClass = statusClass
        self.detail = detail
    }

    public static let success = LoginStatus(statusClass: 0, detail: 0)

    public enum Category: Sendable {
        case success, redirection, initiatorError, targetError, unknown
    }

    public var category: Category {
        switch statusClass {
        case 0: .success
        case 1: .redirection
        case 2: .initiatorError
        case 3: .targetError
        default: .unknown
        }
    }

    /// The RFC's name for this status, for messages and logs.
    public var description: String {
        let hex = "0x" + String(UInt16(statusClass) << 8 | UInt16(detail), radix: 16)
        return "\(Self.names[UInt16(statusClass) << 8 | UInt16(detail)] ?? "unknown status") (\(hex))"
    }

    /// RFC 7143 §11.13.5 table.
    private static let names: [UInt16: String] = [
        0x0000: "success",
        0x0101: "target moved temporarily",
        0x0102: "target moved permanently",
        0x0200: "initiator error",
        0x0201: "authentication failure",
        0x0202: "authorization failure",
        0x0203: "target not found",
        0x0204: "target removed",
        0x0205: "unsupported version",
        0x0206: "too many connections",
        0x0207: "missing parameter",
        0x0208: "can't include in session",
        0x0209: "session type not supported",
        0x020A: "session does not exist",
        0x020B: "invalid request during login",
        0x0300: "target error",
        0x0301: "service unavailable",
        0x0302: "out of resources",
    ]
}

extension LoginStatus {
    /// 0x0301 service unavailable and 0x0302 out of resources: the target is up but
    /// overloaded, and the initiator may try again later (RFC 7143 §11.13.5). Its other
    /// errors do not get better by waiting.
    public var asksToRetryLater: Bool { statusClass == 3 && (detail == 1 || detail == 2) }
}

extension LoginError {
    /// The target refused our CHAP response, or its own failed our check: a wrong secret or
    /// user name; or it requires CHAP and we have none. No amount of waiting mends these
    /// (open-iscsi ends its first login on them too).
    public var isAuthenticationFailure: Bool {
        switch self {
        case .authenticationFailed, .authenticationRequired, .authentication: true
        default: false
        }
    }

    /// The status of a target that answered "retry later" (`LoginStatus.asksToRetryLater`).
    public var busyStatus: LoginStatus? {
        if case .targetBusy(let status, _) = self, status.asksToRetryLater { return status }
        return nil
    }
}
