/// Why a login at a portal failed, worded once for the kernel passthrough and the userspace
/// initiator. What the transport itself reports (a refused connect, a kernel call) stays in
/// the caller's own error type, which carries this one (`LoginFailureCarrying`).
public enum LoginFailure: Error, CustomStringConvertible {
    /// The state machine ended the login: the target refused it, or broke the protocol.
    case failed(LoginError, portal: Portal)
    /// A Login Response that does not decode.
    case framing(PDUError, portal: Portal)
    /// The target redirected the login to something that is not `host[:port][,tpgt]`.
    case badRedirect(String, portal: Portal)
    /// One redirect more than `LoginDriver.maximumRedirects`; `last` is where it pointed.
    case tooManyRedirects(last: Portal)

    public var description: String {
        switch self {
        case .failed(let error, let portal):
            return "login at \(portal) failed: \(error)"
        case .framing(let error, let portal):
            return "\(portal) sent a bad PDU: \(error)"
        case .badRedirect(let address, let portal):
            return "\(portal) redirected the login to \"\(address)\", which is not an address (expected host[:port][,tpgt])"
        case .tooManyRedirects(let last):
            return
                "the target redirected the login more than \(LoginDriver.maximumRedirects) times (last to \(last)); check its portal configuration"
        }
    }
}

/// An error type that can carry a `LoginFailure`: an enum with `case login(LoginFailure)`
/// conforms as it is.
public protocol LoginFailureCarrying: Error {
    static func login(_ failure: LoginFailure) -> Self
    /// Whether this is the target closing or resetting the connection (not a timeout, not a
    /// refused connect): `LoginDriver` logs in once more without the security stage when the
    /// target does this to AuthMethod=None before it answers.
    var isClosedByTarget: Bool { get }
}

/// The one login loop (RFC 7143 §6.3) for every transport: hands each Login Response to a
/// `LoginStateMachine`, sends what it answers, and follows redirects (§11.13.5) up to
/// `maximumRedirects`. No I/O of its own: the caller connects to `portal` and supplies the
/// send and receive of one PDU, so the kernel passthrough (SEND_PDU/RECV_PDU) and the TCP
/// socket of the userspace initiator log in the same way.
///
/// It also decides the security stage. Without CHAP a normal session's first login declares
/// AuthMethod=None there (where tgt reinstates a stale session, `LoginConfiguration.securityStage`);
/// a target that enforces CHAP may close the connection on that without a word (LIO). When the
/// target closes the connection before its first Login Response, the next exchange logs in
/// without the security stage, as open-iscsi does, once: such a target answers that login with
/// "authentication failed" (0x0201), which the error then explains as CHAP being required.
///
///     var driver = LoginDriver(configuration: configuration, portal: portal)
///     while true {  // ends: `exchange` throws after one retry and maximumRedirects redirects
///         connect to driver.portal (after the first exchange: stop the previous connection)
///         if let outcome = try driver.exchange(send: …, receive: …) { return outcome }
///     }
public struct LoginDriver: Sendable {
    /// How often one login follows the target's redirects before it gives up (a loop
    /// between two portals).
    public static let maximumRedirects = 4

    /// Where the next exchange logs in: the configured portal, or where the target
    /// redirected the login.
    public private(set) var portal: Portal
    /// How many redirects the login has followed so far.
    public private(set) var redirects = 0
    /// How many exchanges have started: after the first, the caller stops the previous
    /// connection before it connects again.
    public private(set) var exchanges = 0
    /// Whether the next exchange leaves out the security stage: the target closed the
    /// connection on AuthMethod=None before answering (`retriesWithoutSecurityStage`).
    public private(set) var skipsSecurityStage = false
    private let configuration: LoginConfiguration

    public init(configuration: LoginConfiguration, portal: Portal) {
        self.configuration = configuration
        self.portal = portal
    }

    /// The configuration of the next exchange: its portal, and the security stage left out
    /// after the target closed the connection on AuthMethod=None.
    var exchangeConfiguration: LoginConfiguration {
        var configuration = self.configuration
        configuration.portalDescription = portal.description
        if skipsSecurityStage { configuration.securityStage = .whenAuthenticating }
        return configuration
    }

    /// Whether a connection the target closed (or reset) during an exchange whose first
    /// request was `first`, before any Login Response, is worth one more login without the
    /// security stage: the request declared AuthMethod=None there, and no retry was made yet.
    static func retriesWithoutSecurityStage(first: LoginRequest, responses: Int, alreadySkipped: Bool) -> Bool {
        guard !alreadySkipped, responses == 0, first.currentStage == .securityNegotiation else { return false }
        return (try? TextKeys.decode(first.data))?.first(where: { $0.key == "AuthMethod" })?.value == "None"
    }

    /// The error of a refused login, with what led to it: after the retry without the
    /// security stage, "CHAP required" says the connection closed on AuthMethod=None too.
    func failure(_ error: LoginError) -> LoginFailure {
        if skipsSecurityStage, case .authenticationRequired(let target, _, let advice) = error {
            return .failed(.authenticationRequired(target: target, closedOnNone: true, advice: advice), portal: portal)
        }
        return .failed(error, portal: portal)
    }

    /// Runs one login over a connection to `portal` the caller has just opened. Returns
    /// the negotiated session, or nil when the caller must connect again and call it once
    /// more: the target redirected the login (`portal` names where), or it closed the
    /// connection on AuthMethod=None and the next exchange skips the security stage.
    public mutating func exchange<Failure: LoginFailureCarrying>(
        send: (PDU) throws(Failure) -> Void, receive: () throws(Failure) -> PDU
    ) throws(Failure) -> LoginOutcome? {
        exchanges += 1
        var machine = LoginStateMachine(configuration: exchangeConfiguration)
        let first = machine.start()
        var request = first
        for responses in 0..<LoginStateMachine.maximumExchanges {
            let pdu: PDU
            do {
                try send(request.pdu)
                pdu = try receive()
            } catch {
                guard error.isClosedByTarget,
                    Self.retriesWithoutSecurityStage(first: first, responses: responses, alreadySkipped: skipsSecurityStage)
                else { throw error }
                skipsSecurityStage = true
                return nil
            }
            let response: LoginResponse
            do { response = try LoginResponse(pdu) } catch { throw .login(.framing(error, portal: portal)) }
            let action: LoginAction
            do { action = try machine.receive(response) } catch { throw .login(failure(error)) }
            switch action {
            case .send(let next):
                request = next
            case .loggedIn(let outcome):
                return outcome
            case .redirect(let address, _):
                guard let next = Portal(targetAddress: address) else { throw .login(.badRedirect(address, portal: portal)) }
                guard redirects < Self.maximumRedirects else { throw .login(.tooManyRedirects(last: next)) }
                redirects += 1
                portal = next
                return nil
            }
        }
        throw .login(
            .failed(.protocolViolation("the login did not finish after \(LoginStateMachine.maximumExchanges) exchanges"), portal: portal))
    }
}
