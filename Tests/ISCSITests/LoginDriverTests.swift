import Testing

@testable import ISCSI

/// `LoginDriver` over an in-memory transport: the exchange loop, redirects and their limit,
/// and the `LoginFailure` a caller sees.
@Suite struct LoginDriverTests {
    /// What a transport reports; the driver's own failures arrive as `.login`.
    enum TransportError: LoginFailureCarrying, Equatable {
        case login(LoginFailure)
        case closed
        case timedOut

        static func == (lhs: Self, rhs: Self) -> Bool { "\(lhs)" == "\(rhs)" }
        var isClosedByTarget: Bool { self == .closed }
    }

    /// A target that answers each request with `answer(request, connection)`, or closes the
    /// connection when that is nil; `connection` counts the exchanges the driver ran (one per
    /// connect).
    struct ScriptedTarget {
        var answer: (LoginRequest, Int) -> LoginResponse?
        var sent: [LoginRequest] = []
        var connection = 0

        mutating func run(_ driver: inout LoginDriver, attempts: Int) throws(TransportError) -> LoginOutcome? {
            for _ in 0..<attempts {
                connection += 1
                var last: LoginRequest?
                let outcome = try driver.exchange(
                    send: { pdu throws(TransportError) in
                        guard let request = try? LoginRequest(pdu) else { throw .closed }
                        sent.append(request)
                        last = request
                    },
                    receive: { () throws(TransportError) in
                        guard let request = last, let response = answer(request, connection) else { throw .closed }
                        return response.pdu
                    })
                if let outcome { return outcome }
            }
            return nil
        }
    }

    static let portal = Portal(host: "10.0.2.2")

    static func redirect(_ request: LoginRequest, to address: String) -> LoginResponse {
        LoginStateMachineTests.response(
            to: request, keys: [TextPair("TargetAddress", address)], transit: false, status: LoginStatus(statusClass: 1, detail: 1))
    }

    static func accept(_ request: LoginRequest) -> LoginResponse {
        let answers = (try? LoginStateMachineTests.operationalAnswers(to: request)) ?? []
        return LoginStateMachineTests.response(
            to: request, keys: answers.filter { !["InitiatorName", "TargetName", "SessionType"].contains($0.key) }, transit: true,
            tsih: 9)
    }

    @Test func logsInWithoutRedirect() throws {
        var driver = LoginDriver(configuration: LoginStateMachineTests.configuration(), portal: Self.portal)
        var target = ScriptedTarget(answer: { request, _ in Self.accept(request) })
        let outcome = try #require(try target.run(&driver, attempts: 1))
        #expect(outcome.tsih == 9)
        #expect(driver.portal == Self.portal && driver.redirects == 0)
    }

    /// A redirect returns nil and names the next portal; the next exchange logs in there.
    @Test func followsARedirect() throws {
        var driver = LoginDriver(configuration: LoginStateMachineTests.configuration(), portal: Self.portal)
        var target = ScriptedTarget(answer: { request, connection in
            connection == 1 ? Self.redirect(request, to: "[fd00::2]:3261,1") : Self.accept(request)
        })
        let outcome = try target.run(&driver, attempts: 2)
        #expect(outcome?.tsih == 9)
        #expect(driver.portal == Portal(host: "fd00::2", port: 3261))
        #expect(driver.redirects == 1)
        #expect(target.connection == 2)
    }

    /// maximumRedirects are followed; one more is the error, naming where it pointed.
    @Test func givesUpAfterTheRedirectLimit() {
        var driver = LoginDriver(configuration: LoginStateMachineTests.configuration(), portal: Self.portal)
        var target = ScriptedTarget(answer: { request, connection in Self.redirect(request, to: "10.0.2.\(connection + 2)") })
        #expect {
            _ = try target.run(&driver, attempts: LoginDriver.maximumRedirects + 5)
        } throws: { error in
            guard case TransportError.login(.tooManyRedirects(let last)) = error else { return false }
            return last == Portal(host: "10.0.2.7")
                && "\(error)".contains("redirected the login more than 4 times (last to 10.0.2.7:3260); check its portal configuration")
        }
        #expect(target.connection == LoginDriver.maximumRedirects + 1)
    }

    @Test func refusesARedirectToSomethingElse() {
        var driver = LoginDriver(configuration: LoginStateMachineTests.configuration(), portal: Self.portal)
        var target = ScriptedTarget(answer: { request, _ in Self.redirect(request, to: "[fd00::2") })
        #expect {
            _ = try target.run(&driver, attempts: 3)
        } throws: { error in
            guard case TransportError.login(.badRedirect(let address, let portal)) = error else { return false }
            return address == "[fd00::2" && portal == Self.portal
                && "\(error)".contains("10.0.2.2:3260 redirected the login to \"[fd00::2\", which is not an address")
        }
    }

    /// A refused login names the portal it was refused at (after a redirect: the new one).
    @Test func namesThePortalOfARefusal() {
        var driver = LoginDriver(configuration: LoginStateMachineTests.configuration(), portal: Self.portal)
        var target = ScriptedTarget(answer: { request, connection in
            connection == 1
                ? Self.redirect(request, to: "10.0.2.9:3261")
                : LoginStateMachineTests.response(
                    to: request, keys: [], transit: false, status: LoginStatus(statusClass: 2, detail: 3))
        })
        #expect {
            _ = try target.run(&driver, attempts: 2)
        } throws: { error in
            guard case TransportError.login(.failed(.targetNotFound(_, let portal), let at)) = error else { return false }
            return portal == "10.0.2.9:3261" && at == Portal(host: "10.0.2.9", port: 3261)
                && "\(error)".contains("login at 10.0.2.9:3261 failed: target ")
        }
    }

    /// A target that never ends the login is stopped after maximumExchanges.
    @Test func boundsTheExchanges() {
        var driver = LoginDriver(configuration: LoginStateMachineTests.configuration(), portal: Self.portal)
        var target = ScriptedTarget(answer: { request, _ in
            LoginStateMachineTests.response(to: request, keys: [], transit: false)
        })
        #expect {
            _ = try target.run(&driver, attempts: 1)
        } throws: { error in
            guard case TransportError.login(.failed(.protocolViolation, _)) = error else { return false }
            return true
        }
        #expect(target.sent.count <= LoginStateMachine.maximumExchanges)
    }

    /// The transport's own error passes through unchanged.
    @Test func transportErrorsPassThrough() {
        var driver = LoginDriver(configuration: LoginStateMachineTests.configuration(), portal: Self.portal)
        #expect(throws: TransportError.closed) {
            _ = try driver.exchange(
                send: { _ throws(TransportError) in }, receive: { () throws(TransportError) in throw .closed })
        }
    }
}

/// The security stage: `LoginDriver` declares AuthMethod=None there (tgt reinstates a stale
/// session only there) and logs in once more without it when the target closes the connection
/// on that before answering (LIO enforcing CHAP).
@Suite struct SecurityStageRetryTests {
    typealias TransportError = LoginDriverTests.TransportError
    static let portal = LoginDriverTests.portal
    static let advice = "iscsi.chap=<user> with \"<user> <secret>\" in the secrets file"

    static func driver(_ authentication: LoginConfiguration.Authentication = .none) -> LoginDriver {
        var configuration = LoginStateMachineTests.configuration(authentication, securityStage: .always)
        configuration.credentialsAdvice = advice
        return LoginDriver(configuration: configuration, portal: portal)
    }

    /// What LIO does when it enforces CHAP: closes on AuthMethod=None in the security stage,
    /// and answers a login in the operational stage with `operational`.
    static func enforcingCHAP(operational: @escaping (LoginRequest) -> LoginResponse) -> LoginDriverTests.ScriptedTarget {
        LoginDriverTests.ScriptedTarget(answer: { request, _ in
            request.currentStage == .securityNegotiation ? nil : operational(request)
        })
    }

    static func refused(_ request: LoginRequest) -> LoginResponse {
        LoginStateMachineTests.response(to: request, keys: [], transit: false, status: LoginStatus(statusClass: 2, detail: 1))
    }

    /// Closed on AuthMethod=None: the next exchange starts in the operational stage, on a new
    /// connection, and logs in when the target accepts that.
    @Test func closedOnNoneLogsInWithoutTheStage() throws {
        var driver = Self.driver()
        var target = Self.enforcingCHAP(operational: LoginDriverTests.accept)
        let outcome = try #require(try target.run(&driver, attempts: 3))
        #expect(outcome.tsih == 9)
        #expect(target.connection == 2 && driver.exchanges == 2 && driver.skipsSecurityStage)
        #expect(target.sent.map(\.currentStage) == [.securityNegotiation, .operationalNegotiation])
        #expect(try LoginStateMachineTests.keys(target.sent[0])["AuthMethod"] == "None")
        #expect(try LoginStateMachineTests.keys(target.sent[1])["AuthMethod"] == nil)
        #expect(driver.portal == Self.portal && driver.redirects == 0)
    }

    /// ... and when the target refuses that with 0x0201, the error says it requires CHAP, how
    /// it behaved, and what to configure.
    @Test func refusedAfterTheRetryNamesCHAP() {
        var driver = Self.driver()
        var target = Self.enforcingCHAP(operational: Self.refused)
        #expect {
            _ = try target.run(&driver, attempts: 3)
        } throws: { error in
            guard case TransportError.login(.failed(.authenticationRequired(_, true, let advice), let portal)) = error else { return false }
            let text = "\(error)"
            return advice == Self.advice && portal == Self.portal
                && text.contains("login at 10.0.2.2:3260 failed: authentication failed: the target iqn.2024-01.example:root1 requires CHAP")
                && text.contains("closed the connection on a login that declared AuthMethod=None")
                && text.contains("; configure \(Self.advice)")
        }
        #expect(target.connection == 2)
    }

    /// 0x0201 at once, without a close before: the same advice, without the story of the close.
    @Test func refusedWithoutACloseNamesCHAP() {
        var driver = Self.driver()
        var target = LoginDriverTests.ScriptedTarget(answer: { request, _ in Self.refused(request) })
        #expect {
            _ = try target.run(&driver, attempts: 3)
        } throws: { error in
            guard case TransportError.login(.failed(.authenticationRequired(_, false, Self.advice), _)) = error else { return false }
            return !"\(error)".contains("AuthMethod=None") && "\(error)".contains("; configure \(Self.advice)")
        }
        #expect(target.connection == 1 && !driver.skipsSecurityStage)
    }

    /// One retry: a target that closes that connection too gets the transport's error.
    @Test func retriesOnce() {
        var driver = Self.driver()
        var target = LoginDriverTests.ScriptedTarget(answer: { _, _ in nil })
        #expect(throws: TransportError.closed) { _ = try target.run(&driver, attempts: 5) }
        #expect(target.connection == 2)
        #expect(target.sent.map(\.currentStage) == [.securityNegotiation, .operationalNegotiation])
    }

    /// No retry when the close is not the answer to AuthMethod=None: with CHAP configured
    /// (AuthMethod=CHAP), or after the target answered once.
    @Test func noRetryWithCHAPOrAfterAnAnswer() {
        let chap = CHAPConfiguration(credentials: CHAPCredentials(userName: "u", secret: CHAPSecret("0123456789abcdef")))
        var withCHAP = Self.driver(.chap(chap))
        var closing = LoginDriverTests.ScriptedTarget(answer: { _, _ in nil })
        #expect(throws: TransportError.closed) { _ = try closing.run(&withCHAP, attempts: 5) }
        #expect(closing.connection == 1 && !withCHAP.skipsSecurityStage)

        var answered = Self.driver()
        // Stays in the security stage once (T=0), then closes.
        var target = LoginDriverTests.ScriptedTarget(answer: { request, _ in
            request.data.isEmpty
                ? nil : LoginStateMachineTests.response(to: request, keys: [TextPair("AuthMethod", "None")], transit: false)
        })
        #expect(throws: TransportError.closed) { _ = try target.run(&answered, attempts: 5) }
        #expect(target.connection == 1 && target.sent.count == 2)
    }

    /// Only the target closing counts: a timeout is not an answer to AuthMethod=None.
    @Test func noRetryOnATimeout() {
        var driver = Self.driver()
        #expect(throws: TransportError.timedOut) {
            _ = try driver.exchange(send: { _ throws(TransportError) in }, receive: { () throws(TransportError) in throw .timedOut })
        }
        #expect(driver.exchanges == 1 && !driver.skipsSecurityStage)
    }

    /// The decision as a value: the first request's stage and AuthMethod, and no response yet.
    @Test func retryDecision() {
        var none = LoginStateMachine(configuration: LoginStateMachineTests.configuration(securityStage: .always))
        let noneFirst = none.start()
        var operational = LoginStateMachine(configuration: LoginStateMachineTests.configuration(securityStage: .whenAuthenticating))
        let operationalFirst = operational.start()
        var discoveryConfiguration = LoginStateMachineTests.configuration(securityStage: .always)
        discoveryConfiguration.targetName = nil
        var discovery = LoginStateMachine(configuration: discoveryConfiguration)
        let discoveryFirst = discovery.start()
        #expect(LoginDriver.retriesWithoutSecurityStage(first: noneFirst, responses: 0, alreadySkipped: false))
        #expect(!LoginDriver.retriesWithoutSecurityStage(first: noneFirst, responses: 1, alreadySkipped: false))
        #expect(!LoginDriver.retriesWithoutSecurityStage(first: noneFirst, responses: 0, alreadySkipped: true))
        #expect(!LoginDriver.retriesWithoutSecurityStage(first: operationalFirst, responses: 0, alreadySkipped: false))
        #expect(!LoginDriver.retriesWithoutSecurityStage(first: discoveryFirst, responses: 0, alreadySkipped: false))
    }
}

/// The keyed view of the parameters: every key is the negotiation table's, and the view
/// reads and writes the same fields the structs hold.
@Suite struct OperationalKeyTests {
    @Test func everyKeyIsInTheTable() {
        for key in OperationalKey.allCases { #expect(key.definition?.name == key.rawValue, "\(key)") }
    }

    /// Our offers (`preferences`) are the keyed view, one entry per key.
    @Test func preferencesAreTheKeyedView() {
        let parameters = InitiatorParameters()
        #expect(Set(parameters.preferences.keys) == Set(OperationalKey.allCases.map(\.rawValue)))
        for key in OperationalKey.allCases { #expect(parameters.preferences[key.rawValue] == parameters[key], "\(key)") }
    }

    @Test func setsFromText() {
        var parameters = InitiatorParameters()
        parameters[.headerDigest] = "CRC32C,None"
        parameters[.initialR2T] = "Yes"
        parameters[.maxBurstLength] = "65536"
        parameters[.firstBurstLength] = "many"  // not a number: left as it was
        #expect(parameters.headerDigests == [.crc32c, .none])
        #expect(parameters.initialR2T)
        #expect(parameters.maxBurstLength == 65536)
        #expect(parameters.firstBurstLength == InitiatorParameters.defaultFirstBurstLength)
        #expect(parameters[.headerDigest] == "CRC32C,None" && parameters[.initialR2T] == "Yes")
    }

    /// Every key and MaxXmitDataSegmentLength, typed; what probe and status report.
    @Test func negotiatedKeyedList() throws {
        let negotiated = try #require(
            NegotiatedParameters(
                headerDigest: .crc32c, dataDigest: .none, maxRecvDataSegmentLength: 262_144, maxXmitDataSegmentLength: 8192,
                maxBurstLength: 262_144, firstBurstLength: 65_536, initialR2T: true, immediateData: false, maxOutstandingR2T: 1,
                errorRecoveryLevel: 0, defaultTime2Wait: 2, defaultTime2Retain: 20, maxConnections: 1, dataPDUInOrder: true,
                dataSequenceInOrder: true, targetPortalGroupTag: nil, targetAlias: nil) as NegotiatedParameters?)
        let keyed = negotiated.keyed
        #expect(keyed.count == OperationalKey.allCases.count + 1)
        #expect(keyed.prefix(4).map(\.name) == ["HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength", "MaxXmitDataSegmentLength"])
        #expect(keyed.first { $0.name == "MaxXmitDataSegmentLength" }?.value == .number(8192))
        #expect(keyed.first { $0.name == "InitialR2T" }?.value == .boolean(true))
        #expect(keyed.first { $0.name == "HeaderDigest" }?.value.text == "CRC32C")
        #expect(keyed.first { $0.name == "ImmediateData" }?.value.text == "No")
    }
}
