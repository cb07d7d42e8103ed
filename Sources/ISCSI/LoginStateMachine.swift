/// What the initiator brings to a login (RFC 7143 §6): who it is, what it logs in to, how
/// it authenticates and what it wants to negotiate.
public struct LoginConfiguration: Sendable {
    public var initiatorName: String
    public var initiatorAlias: String?
    /// The target to log in to; nil for a discovery session.
    public var targetName: String?
    /// The six-byte ISID. Keep it constant for one session so a re-login reinstates the
    /// session instead of creating a second one (§6.3.5).
    public var isid: [UInt8]
    /// 0 for a new session or a reinstatement; the session's TSIH to add a connection.
    public var tsih: UInt16 = 0
    public var cid: UInt16 = 0
    /// The tag of the login task; nil when the transport assigns it (the kernel rewrites
    /// the ITT of every PDU sent through SEND_PDU), and the machine then learns it from the
    /// first response and holds the target to it.
    public var initiatorTaskTag: UInt32? = 0
    public var cmdSN = SequenceNumber(1)
    public var expStatSN = SequenceNumber(0)
    public var authentication: Authentication = .none
    /// Without CHAP, whether a normal session's login still passes through the security stage
    /// (AuthMethod=None) or starts in the operational stage, one round trip sooner (RFC 7143
    /// §6.3: the stage is optional). Some targets (tgt) look for a session with the same ISID,
    /// to reinstate it (§6.3.5), only in the security stage: skipping it leaves the session of
    /// an unclean reboot or a silent link loss on the target beside the new one. A target that
    /// enforces CHAP may answer AuthMethod=None by closing the connection (LIO): `LoginDriver`
    /// then logs in once more without the stage, where such a target says "authentication
    /// failed" (0x0201).
    public var securityStage: SecurityStage = .always
    /// What a person configures to give this login CHAP credentials, in the terms of the
    /// grammar that named the target ("iscsi.chap=<user> …"), for the error when the target
    /// requires CHAP; nil: the error says only that credentials are missing.
    public var credentialsAdvice: String?
    public var parameters = InitiatorParameters()
    /// Where we connect, for messages ("target … not found at 10.0.2.2:3260").
    public var portalDescription: String

    public enum Authentication: Sendable {
        case none
        case chap(CHAPConfiguration)
    }

    public enum SecurityStage: Sendable {
        /// Every normal session's login declares its AuthMethod in the security stage.
        case always
        /// Only a login that authenticates passes through the security stage.
        case whenAuthenticating
    }

    public init(initiatorName: String, targetName: String?, isid: [UInt8], portalDescription: String) {
        self.initiatorName = initiatorName
        self.targetName = targetName
        self.isid = isid
        self.portalDescription = portalDescription
    }

    var sessionType: SessionType { targetName == nil ? .discovery : .normal }
}

/// CHAP settings for a login (RFC 7143 §12.1.3). `mutual` also authenticates the target, with
/// a challenge the caller draws at random (the state machine has no source of randomness).
/// The boot plan carries one per target with no challenge yet; the agent adds it at login.
public struct CHAPConfiguration: Sendable, Equatable, CustomStringConvertible {
    public var credentials: CHAPCredentials
    public var mutual: CHAPCredentials?
    public var algorithms: [CHAPAlgorithm]
    public var mutualChallenge: [UInt8]

    public init(
        credentials: CHAPCredentials, mutual: CHAPCredentials? = nil, algorithms: [CHAPAlgorithm] = [.md5],
        mutualChallenge: [UInt8] = []
    ) {
        self.credentials = credentials
        self.mutual = mutual
        self.algorithms = algorithms
        self.mutualChallenge = mutualChallenge
    }

    /// Names the users, never a secret: "CHAP user alice secret (set), mutual user tgt secret (set)".
    public var description: String {
        var text = "CHAP user \(credentials.userName) secret (set)"
        if let mutual { text += ", mutual user \(mutual.userName) secret (set)" }
        return text
    }
}

/// The session as the target accepted it.
public struct LoginOutcome: Sendable, Equatable {
    public var tsih: UInt16
    public var parameters: NegotiatedParameters
    /// CmdSN of the first command in full feature phase.
    public var cmdSN: SequenceNumber
    public var expStatSN: SequenceNumber
    public var maxCmdSN: SequenceNumber
}

/// What the caller must do after handing a Login Response to the machine.
public enum LoginAction: Sendable, Equatable {
    case send(LoginRequest)
    case loggedIn(LoginOutcome)
    /// Status class 1: log in at this address instead (`TargetAddress` = host[:port][,tpgt]).
    case redirect(address: String, permanent: Bool)
}

/// Why a login failed, in words for the person at the console.
public enum LoginError: Error, Equatable, CustomStringConvertible {
    /// The target refused the CHAP response of `user`.
    case authenticationFailed(user: String, target: String)
    /// The target requires authentication and we have no CHAP credentials: it answered
    /// "authentication failed" (0x0201), after closing the connection on AuthMethod=None when
    /// `closedOnNone` (`LoginDriver`); `advice` is `LoginConfiguration.credentialsAdvice`.
    case authenticationRequired(target: String, closedOnNone: Bool, advice: String?)
    case authorizationFailed(initiator: String, target: String)
    case targetNotFound(target: String, portal: String)
    case targetRemoved(target: String, portal: String)
    case rejected(LoginStatus, target: String)
    case targetBusy(LoginStatus, target: String)
    case negotiation(NegotiationError)
    case authentication(CHAPError)
    case text(TextKeyError)
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .authenticationFailed(let user, let target):
            return
                "authentication failed: the target \(target) rejected the CHAP response for user \(user) (check the user name and secret)"
        case .authenticationRequired(let target, let closedOnNone, let advice):
            let why =
                closedOnNone
                ? " (it closed the connection on a login that declared AuthMethod=None, and answered the login without it with \"authentication failed\")"
                : ""
            return
                "authentication failed: the target \(target) requires CHAP but no CHAP credentials are configured\(why); configure \(advice ?? "CHAP credentials for it")"
        case .authorizationFailed(let initiator, let target):
            return
                "authorization failed: initiator \(initiator) may not log in to \(target) (check the target's ACL for this initiator name)"
        case .targetNotFound(let target, let portal):
            return "target \(target) not found at \(portal) (check the target name; `iscsi-root discover \(portal)` lists what it offers)"
        case .targetRemoved(let target, let portal):
            return "target \(target) was removed from \(portal)"
        case .rejected(let status, let target):
            return "login to \(target) rejected: \(status)"
        case .targetBusy(let status, let target):
            return "target \(target) cannot accept the login now: \(status) (retry later)"
        case .negotiation(let error):
            return "negotiation failed: \(error)"
        case .authentication(let error):
            return "authentication failed: \(error)"
        case .text(let error):
            return "malformed login text from the target: \(error)"
        case .protocolViolation(let reason):
            return "the target broke the login protocol: \(reason)"
        }
    }
}

/// The initiator's side of the iSCSI login phase (RFC 7143 §6.3) as a value: Login
/// Responses in, Login Requests out, no I/O and no clock. Drive it with `start()`, then
/// `receive(_:)` for every response until it answers `.loggedIn` or throws.
///
/// Stages: security (AuthMethod, CHAP) → operational (the negotiation table's keys) →
/// full feature phase; without CHAP a discovery session, or a login configured with
/// `SecurityStage.whenAuthenticating`, starts in the operational stage (RFC 7143 §6.3: the
/// security stage is optional). Both the kernel passthrough and the userspace initiator use it.
public struct LoginStateMachine: Sendable {
    private enum State: Sendable {
        case idle
        /// Sent AuthMethod=None with the transit to operational; waiting for the target's answer.
        case noneOffered
        /// Sent AuthMethod=CHAP; waiting for the target's choice.
        case chapOffered(CHAPConfiguration)
        /// Sent CHAP_A; waiting for CHAP_A/CHAP_I/CHAP_C.
        case chapAlgorithmSent(CHAPExchange)
        /// Sent CHAP_N/CHAP_R; waiting for the transit to operational (and the target's
        /// own CHAP_N/CHAP_R when mutual).
        case chapResponseSent(CHAPExchange)
        /// CHAP succeeded but the target stayed in the security stage (T=0); we keep asking
        /// to move on.
        case securityComplete
        case operational(Negotiator)
        case loggedIn
        case failed
    }

    /// A login has a handful of steps; a target that keeps it going longer is broken.
    public static let maximumExchanges = 32

    public let configuration: LoginConfiguration
    private var state: State = .idle
    private var expStatSN: SequenceNumber
    private var text = TextAccumulator()
    private var targetPortalGroupTag: UInt16?
    private var tsih: UInt16
    /// The login task's tag: configured, or learned from the first response.
    private var taskTag: UInt32?
    /// The stage our last request with the T bit asked to move to; the target may not go
    /// further (`transits(_:)`).
    private var requestedNextStage = LoginStage.operationalNegotiation
    /// InitiatorName, InitiatorAlias, SessionType, TargetName as sent in the first request.
    private var declarations: [TextPair] = []

    public init(configuration: LoginConfiguration) {
        self.configuration = configuration
        self.expStatSN = configuration.expStatSN
        self.tsih = configuration.tsih
        self.taskTag = configuration.initiatorTaskTag
    }

    private var targetLabel: String { configuration.targetName ?? "discovery session" }

    /// The first Login Request: the declarative keys, and the AuthMethod offer (CHAP) or
    /// the operational keys (no authentication).
    public mutating func start() -> LoginRequest {
        precondition(isIdle, "start() called twice")
        var keys = [TextPair("InitiatorName", configuration.initiatorName)]
        if let alias = configuration.initiatorAlias { keys.append(TextPair("InitiatorAlias", alias)) }
        keys.append(TextPair("SessionType", configuration.sessionType.rawValue))
        if let target = configuration.targetName { keys.append(TextPair("TargetName", target)) }
        declarations = keys
        switch configuration.authentication {
        case .none where configuration.sessionType == .normal && configuration.securityStage == .always:
            keys.append(TextPair("AuthMethod", "None"))
            state = .noneOffered
            return request(keys, transit: true, stage: .securityNegotiation, next: .operationalNegotiation)
        case .none:
            // A target that insists on CHAP answers with an authentication failure we can explain.
            let negotiator = Negotiator(
                offer: configuration.parameters, sessionType: configuration.sessionType, declarations: declarations)
            state = .operational(negotiator)
            return request(
                keys + negotiator.initialOperationalKeys(), transit: true, stage: .operationalNegotiation, next: .fullFeaturePhase)
        case .chap(let chap):
            // Never offer None next to CHAP: a target could otherwise skip authenticating
            // itself to a machine that asked for mutual CHAP.
            keys.append(TextPair("AuthMethod", "CHAP"))
            state = .chapOffered(chap)
            return request(keys, transit: false, stage: .securityNegotiation, next: .operationalNegotiation)
        }
    }

    private var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    /// Handles one Login Response and says what to do next.
    public mutating func receive(_ response: LoginResponse) throws(LoginError) -> LoginAction {
        do {
            return try handle(response)
        } catch {
            state = .failed
            throw error
        }
    }

    private mutating func handle(_ response: LoginResponse) throws(LoginError) -> LoginAction {
        if let redirect = try checkHeader(response) {
            state = .failed
            return redirect
        }
        taskTag = response.initiatorTaskTag
        expStatSN = response.statSN.advanced()
        if response.tsih != 0 { tsih = response.tsih }

        let pairs: [TextPair]
        do {
            guard let complete = try text.append(response.data, isFinal: !response.continues) else {
                // RFC 7143 §11.13.2: the C bit says more text follows; ask for it with an empty
                // request (§6.2).
                return .send(request([], transit: false, stage: response.currentStage, next: response.nextStage))
            }
            pairs = complete
        } catch {
            throw .text(error)
        }
        // RFC 7143 §13.9: the target returns TargetPortalGroupTag in the response to the first
        // request (the security stage's with CHAP, before the negotiator exists); it is a
        // numerical value, decimal or 0x hexadecimal (§6.1).
        if let tag = pairs.first(where: { $0.key == "TargetPortalGroupTag" }),
            let value = NumericalValue.parse(tag.value), value <= UInt64(UInt16.max)
        {
            targetPortalGroupTag = UInt16(value)
        }
        let transit = try transits(response)

        switch state {
        case .noneOffered:
            // RFC 7143 §6.2.1: the answer to our list of one is None; a target that answers
            // anything else (CHAP, Reject) will not let this initiator in without authenticating.
            if let chosen = pairs.first(where: { $0.key == "AuthMethod" })?.value, chosen != "None" {
                throw .protocolViolation(
                    "the target answered AuthMethod=\(String(chosen.prefix(32))) to our offer of None: it requires authentication; configure \(configuration.credentialsAdvice ?? "CHAP credentials for \(targetLabel)")"
                )
            }
            guard transit else {
                state = .securityComplete
                return .send(request([], transit: true, stage: .securityNegotiation, next: .operationalNegotiation))
            }
            return startOperational()
        case .chapOffered(let chap):
            return try afterAuthMethod(response, pairs, chap: chap)
        case .chapAlgorithmSent(var exchange):
            let answer: [TextPair]
            do { answer = try exchange.respond(to: pairs) } catch { throw .authentication(error) }
            state = .chapResponseSent(exchange)
            return .send(request(answer, transit: true, stage: .securityNegotiation, next: .operationalNegotiation))
        case .chapResponseSent(var exchange):
            do { try exchange.verifyTarget(pairs) } catch { throw .authentication(error) }
            guard transit else {
                // RFC 7143 §6.3: a target may answer T=0 and stay in the stage; once CHAP is
                // done we ask again to move on, with nothing more to say.
                state = .securityComplete
                return .send(request([], transit: true, stage: .securityNegotiation, next: .operationalNegotiation))
            }
            return startOperational()
        case .securityComplete:
            // RFC 7143 §12.1.3: CHAP ended with the target's response; no CHAP key may follow.
            if let key = pairs.first(where: { TextKeys.isSecretDerived($0.key) })?.key {
                throw .authentication(.unexpectedKey(key))
            }
            guard transit else {
                return .send(request([], transit: true, stage: .securityNegotiation, next: .operationalNegotiation))
            }
            return startOperational()
        case .operational(var negotiator):
            let replies: [TextPair]
            do { replies = try negotiator.receive(pairs) } catch { throw .negotiation(error) }
            state = .operational(negotiator)
            if transit && response.nextStage == .fullFeaturePhase {
                // RFC 7143 §6.2, §11.13.3: the final response ends the negotiation, so every
                // offer that needs an answer must have had one (`Negotiator.isComplete`).
                guard negotiator.isComplete else {
                    throw .protocolViolation("the target entered full feature phase before answering every key")
                }
                state = .loggedIn
                var parameters = negotiator.result
                // The tag arrives in the first response, before the negotiator exists (§13.9).
                parameters.targetPortalGroupTag = parameters.targetPortalGroupTag ?? targetPortalGroupTag
                return .loggedIn(
                    LoginOutcome(
                        tsih: tsih, parameters: parameters, cmdSN: response.expCmdSN, expStatSN: expStatSN,
                        maxCmdSN: response.maxCmdSN))
            }
            // RFC 7143 §6.2, §6.3: the target answers over several PDUs or stays in the stage
            // (T=0, or T=1 with a next stage no later than this one); we answer its offers and
            // ask again to move on.
            return .send(request(replies, transit: true, stage: .operationalNegotiation, next: .fullFeaturePhase))
        case .idle, .loggedIn, .failed:
            throw .protocolViolation("Login Response received with no login in progress")
        }
    }

    /// Whether `response` moves the login to a later stage. RFC 7143 §6.3, §11.13.3: a target
    /// may stay in its stage (T=0) or pick a next stage earlier than the one we asked for,
    /// which is legal; it must never go beyond what we asked for (e.g. skip the operational
    /// stage after CHAP).
    private func transits(_ response: LoginResponse) throws(LoginError) -> Bool {
        guard response.transit else { return false }
        guard response.nextStage.rawValue <= requestedNextStage.rawValue else {
            throw .protocolViolation(
                "the target moved to \(response.nextStage.label) although we asked only for \(requestedNextStage.label) (RFC 7143 §6.3)")
        }
        return response.nextStage.rawValue > response.currentStage.rawValue
    }

    private mutating func afterAuthMethod(_ response: LoginResponse, _ pairs: [TextPair], chap: CHAPConfiguration) throws(LoginError)
        -> LoginAction
    {
        // RFC 7143 §6.2.1, §12.1: the answer to a list is one offered value; we offered CHAP
        // alone, so anything else (Reject, None) means the target will not do CHAP with us.
        let chosen = pairs.first(where: { $0.key == "AuthMethod" })?.value
        guard chosen == "CHAP" else {
            throw .protocolViolation(
                "the target answered AuthMethod=\(chosen.map { String($0.prefix(32)) } ?? "(nothing)") to our offer of CHAP alone (RFC 7143 §6.2.1); check that the target is configured for CHAP, or configure no CHAP credentials"
            )
        }
        let exchange = CHAPExchange(
            credentials: chap.credentials, mutual: chap.mutual, algorithms: chap.algorithms, mutualChallenge: chap.mutualChallenge)
        state = .chapAlgorithmSent(exchange)
        return .send(request(exchange.offer(), transit: false, stage: .securityNegotiation, next: .operationalNegotiation))
    }

    private mutating func startOperational() -> LoginAction {
        let negotiator = Negotiator(
            offer: configuration.parameters, sessionType: configuration.sessionType, declarations: declarations)
        state = .operational(negotiator)
        return .send(
            request(negotiator.initialOperationalKeys(), transit: true, stage: .operationalNegotiation, next: .fullFeaturePhase))
    }

    /// The header checks of §11.13: our ITT and ISID echoed, version 0, status success.
    /// Returns the redirect when the target sends us elsewhere (status class 1).
    private func checkHeader(_ response: LoginResponse) throws(LoginError) -> LoginAction? {
        switch response.status.category {
        case .success:
            break
        case .redirection:
            // RFC 7143 §11.13.5: a redirect carries TargetAddress.
            let address = (try? TextKeys.decode(response.data))?.first(where: { $0.key == "TargetAddress" })?.value
            guard let address else { throw .protocolViolation("redirect (\(response.status)) without a TargetAddress") }
            return .redirect(address: address, permanent: response.status.detail == 0x02)
        case .initiatorError:
            throw initiatorError(response.status)
        case .targetError:
            throw .targetBusy(response.status, target: targetLabel)
        case .unknown:
            throw .rejected(response.status, target: targetLabel)
        }
        // RFC 7143 §11.13: the response echoes the request's Initiator Task Tag and ISID, and
        // Version-active is 0, the only version.
        let expectedTag = taskTag ?? response.initiatorTaskTag
        guard response.initiatorTaskTag == expectedTag else {
            throw .protocolViolation("Login Response for task tag \(response.initiatorTaskTag), expected \(expectedTag)")
        }
        guard response.isid == configuration.isid else {
            throw .protocolViolation("Login Response for another ISID")
        }
        guard response.versionActive == 0 else {
            throw .protocolViolation("the target chose iSCSI version \(response.versionActive); only 0 exists")
        }
        return nil
    }

    private func initiatorError(_ status: LoginStatus) -> LoginError {
        switch status.detail {
        case 0x01:
            if case .chap(let chap) = configuration.authentication {
                return .authenticationFailed(user: chap.credentials.userName, target: targetLabel)
            }
            return .authenticationRequired(target: targetLabel, closedOnNone: false, advice: configuration.credentialsAdvice)
        case 0x02: return .authorizationFailed(initiator: configuration.initiatorName, target: targetLabel)
        case 0x03: return .targetNotFound(target: targetLabel, portal: configuration.portalDescription)
        case 0x04: return .targetRemoved(target: targetLabel, portal: configuration.portalDescription)
        default: return .rejected(status, target: targetLabel)
        }
    }

    private mutating func request(_ keys: [TextPair], transit: Bool, stage: LoginStage, next: LoginStage) -> LoginRequest {
        if transit { requestedNextStage = next }
        return LoginRequest(
            transit: transit, currentStage: stage, nextStage: next, isid: configuration.isid, tsih: tsih,
            initiatorTaskTag: taskTag ?? 0, cid: configuration.cid, cmdSN: configuration.cmdSN,
            expStatSN: expStatSN, data: TextKeys.encode(keys))
    }
}

extension LoginStage {
    /// The stage's name in messages.
    fileprivate var label: String {
        switch self {
        case .securityNegotiation: "the security stage"
        case .operationalNegotiation: "the operational stage"
        case .fullFeaturePhase: "full feature phase"
        }
    }
}
