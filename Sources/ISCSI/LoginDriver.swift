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
}

/// The one login loop (RFC 7143 §6.3) for every transport: hands each Login Response to a
/// `LoginStateMachine`, sends what it answers, and follows redirects (§11.13.5) up to
/// `maximumRedirects`. No I/O of its own: the caller connects to `portal` and supplies the
/// send and receive of one PDU, so the kernel passthrough (SEND_PDU/RECV_PDU) and the TCP
/// socket of the userspace initiator log in the same way.
///
///     var driver = LoginDriver(configuration: configuration, portal: portal)
///     while true {  // ends: `exchange` throws once the redirects exceed the limit
///         connect to driver.portal
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
    private let configuration: LoginConfiguration

    public init(configuration: LoginConfiguration, portal: Portal) {
        self.configuration = configuration
        self.portal = portal
    }

    /// Runs one login over a connection to `portal` the caller has just opened. Returns
    /// the negotiated session, or nil when the target redirected the login: `portal` then
    /// names where to connect for the next exchange.
    public mutating func exchange<Failure: LoginFailureCarrying>(
        send: (PDU) throws(Failure) -> Void, receive: () throws(Failure) -> PDU
    ) throws(Failure) -> LoginOutcome? {
        var configuration = self.configuration
        configuration.portalDescription = portal.description
        var machine = LoginStateMachine(configuration: configuration)
        var request = machine.start()
        for _ in 0..<LoginStateMachine.maximumExchanges {
            try send(request.pdu)
            let pdu = try receive()
            let response: LoginResponse
            do { response = try LoginResponse(pdu) } catch { throw .login(.framing(error, portal: portal)) }
            let action: LoginAction
            do { action = try machine.receive(response) } catch { throw .login(.failed(error, portal: portal)) }
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
