import Testing

@testable import ISCSI

/// Drives `LoginStateMachine` with scripted target responses, as a target would answer.
@Suite struct LoginStateMachineTests {
    static let isid: [UInt8] = [0x80, 1, 2, 3, 4, 5]
    static let target = "iqn.2024-01.example:root1"

    /// The default (`.whenAuthenticating`) unless a test asks for the security stage.
    static func configuration(
        _ authentication: LoginConfiguration.Authentication = .none, securityStage: LoginConfiguration.SecurityStage = .whenAuthenticating
    ) -> LoginConfiguration {
        var configuration = LoginConfiguration(
            initiatorName: "iqn.2024-01.example:client", targetName: target, isid: isid, portalDescription: "10.0.2.2:3260")
        configuration.initiatorTaskTag = 0x77
        configuration.authentication = authentication
        configuration.securityStage = securityStage
        return configuration
    }

    /// By default (`.always`) a normal session declares AuthMethod=None in the security stage
    /// and asks to move on at once: a target that reinstates sessions only there (tgt)
    /// replaces a stale one with the same ISID (RFC 7143 §6.3.5).
    @Test func loginDeclaresNoAuthenticationInTheSecurityStage() throws {
        var configuration = LoginConfiguration(
            initiatorName: "iqn.2024-01.example:client", targetName: Self.target, isid: Self.isid, portalDescription: "10.0.2.2:3260")
        configuration.initiatorTaskTag = 0x77
        var machine = LoginStateMachine(configuration: configuration)
        let first = machine.start()
        #expect(first.currentStage == .securityNegotiation && first.nextStage == .operationalNegotiation && first.transit)
        let keys = try Self.keys(first)
        #expect(keys["AuthMethod"] == "None")
        #expect(keys["TargetName"] == Self.target)
        #expect(keys["MaxRecvDataSegmentLength"] == nil)

        let answer = Self.response(to: first, keys: [TextPair("AuthMethod", "None"), TextPair("TargetPortalGroupTag", "1")], transit: true)
        guard case .send(let operational) = try machine.receive(answer) else { Issue.record("expected the operational stage"); return }
        #expect(operational.currentStage == .operationalNegotiation && operational.nextStage == .fullFeaturePhase && operational.transit)
        #expect(try Self.keys(operational)["MaxRecvDataSegmentLength"] != nil)
        let final = Self.response(to: operational, keys: try Self.operationalAnswers(to: operational), transit: true, tsih: 7)
        guard case .loggedIn(let outcome) = try machine.receive(final) else { Issue.record("expected login"); return }
        #expect(outcome.tsih == 7)
        #expect(outcome.parameters.targetPortalGroupTag == 1)
    }

    /// RFC 7143 §6.3: the target may stay in the security stage (T=0); we ask again, with
    /// nothing more to say, until it moves on.
    @Test func targetMayStayInTheSecurityStageAfterNone() throws {
        var machine = LoginStateMachine(configuration: Self.configuration(securityStage: .always))
        let first = machine.start()
        guard case .send(let again) = try machine.receive(Self.response(to: first, keys: [TextPair("AuthMethod", "None")], transit: false))
        else { Issue.record("expected another request"); return }
        #expect(again.currentStage == .securityNegotiation && again.transit && again.data.isEmpty)
        guard case .send(let operational) = try machine.receive(Self.response(to: again, keys: [], transit: true)) else {
            Issue.record("expected the operational stage")
            return
        }
        #expect(operational.currentStage == .operationalNegotiation)
    }

    @Test(arguments: ["CHAP", "Reject"])
    func targetThatWantsAuthenticationAfterNoneIsExplained(answer: String) throws {
        var machine = LoginStateMachine(configuration: Self.configuration(securityStage: .always))
        let first = machine.start()
        do {
            _ = try machine.receive(Self.response(to: first, keys: [TextPair("AuthMethod", answer)], transit: false))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("answered AuthMethod=\(answer) to our offer of None"), "\(error)")
            #expect(error.description.contains("configure CHAP credentials"), "\(error)")
        }
    }

    /// A discovery session has nothing to reinstate: it starts in the operational stage.
    @Test func discoverySessionSkipsTheSecurityStage() throws {
        var configuration = Self.configuration(securityStage: .always)
        configuration.targetName = nil
        var machine = LoginStateMachine(configuration: configuration)
        let first = machine.start()
        #expect(first.currentStage == .operationalNegotiation)
        #expect(try Self.keys(first)["AuthMethod"] == nil)
    }

    /// A response to `request` in the same stage, with `keys`, moving on when `transit`.
    static func response(
        to request: LoginRequest, keys: [TextPair], transit: Bool, next: LoginStage? = nil, statSN: UInt32 = 10,
        status: LoginStatus = .success, tsih: UInt16 = 0
    ) -> LoginResponse {
        LoginResponse(
            transit: transit, currentStage: request.currentStage, nextStage: next ?? request.nextStage, isid: request.isid,
            tsih: tsih, initiatorTaskTag: request.initiatorTaskTag, statSN: SequenceNumber(statSN),
            expCmdSN: request.cmdSN, maxCmdSN: request.cmdSN.advanced(by: 31), status: status, data: TextKeys.encode(keys))
    }

    static func keys(_ request: LoginRequest) throws -> [String: String] {
        Dictionary(try TextKeys.decode(request.data).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    }

    /// The operational stage's answers a target like tgt gives to our offer.
    static func operationalAnswers(to request: LoginRequest) throws -> [TextPair] {
        try TextKeys.decode(request.data).map { pair in
            switch pair.key {
            case "MaxRecvDataSegmentLength": TextPair(pair.key, "8192")
            case "MaxBurstLength": TextPair(pair.key, "262144")
            case "FirstBurstLength": TextPair(pair.key, "65536")
            case "InitialR2T": TextPair(pair.key, "Yes")
            case "HeaderDigest", "DataDigest": TextPair(pair.key, "None")
            default: pair
            }
        }
    }

    /// Without CHAP and with `.whenAuthenticating` (`LoginDriver`'s retry after a target closed
    /// the connection on AuthMethod=None), the login starts in the operational stage: one round
    /// trip (RFC 7143 §6.3), and a target enforcing CHAP answers "authentication failed".
    @Test func loginWithoutAuthentication() throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        #expect(first.currentStage == .operationalNegotiation && first.nextStage == .fullFeaturePhase && first.transit)
        let keys = try Self.keys(first)
        #expect(keys["InitiatorName"] == "iqn.2024-01.example:client")
        #expect(keys["TargetName"] == Self.target)
        #expect(keys["SessionType"] == "Normal")
        #expect(keys["AuthMethod"] == nil)
        #expect(keys["MaxRecvDataSegmentLength"] != nil)

        let answers = try Self.operationalAnswers(to: first).filter { !["InitiatorName", "TargetName", "SessionType"].contains($0.key) }
        let final = Self.response(to: first, keys: answers + [TextPair("TargetPortalGroupTag", "1")], transit: true, tsih: 0x1234)
        guard case .loggedIn(let outcome) = try machine.receive(final) else { Issue.record("expected login"); return }
        #expect(outcome.tsih == 0x1234)
        #expect(outcome.expStatSN == SequenceNumber(11))
        #expect(outcome.cmdSN == SequenceNumber(1))
        #expect(outcome.parameters.maxXmitDataSegmentLength == 8192)
        #expect(outcome.parameters.initialR2T)
        #expect(outcome.parameters.targetPortalGroupTag == 1)
    }

    @Test func targetThatKeepsNegotiatingGetsOurReplies() throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        let partial = Self.response(to: first, keys: [TextPair("HeaderDigest", "None"), TextPair("DataDigest", "None")], transit: false)
        guard case .send(let next) = try machine.receive(partial) else { Issue.record("expected another request"); return }
        #expect(next.currentStage == .operationalNegotiation && next.transit)
        #expect(next.expStatSN == SequenceNumber(11))
    }

    @Test func discoverySessionSendsNoTargetName() throws {
        var configuration = Self.configuration()
        configuration.targetName = nil
        var machine = LoginStateMachine(configuration: configuration)
        let keys = try Self.keys(machine.start())
        #expect(keys["SessionType"] == "Discovery")
        #expect(keys["TargetName"] == nil)
    }

    @Test func targetThatInsistsOnAuthenticationIsExplained() throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        let failure = Self.response(to: first, keys: [], transit: false, status: LoginStatus(statusClass: 2, detail: 1))
        #expect(throws: LoginError.authenticationRequired(target: Self.target, closedOnNone: false, advice: nil)) {
            try machine.receive(failure)
        }
    }

    @Test(arguments: [
        (LoginStatus(statusClass: 2, detail: 3), "target iqn.2024-01.example:root1 not found at 10.0.2.2:3260"),
        (LoginStatus(statusClass: 2, detail: 2), "authorization failed: initiator iqn.2024-01.example:client may not log in"),
        (LoginStatus(statusClass: 3, detail: 1), "cannot accept the login now: service unavailable (0x301)"),
        (LoginStatus(statusClass: 2, detail: 5), "rejected: unsupported version (0x205)"),
    ])
    func statusClassesBecomeMessages(status: LoginStatus, message: String) throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        do {
            _ = try machine.receive(Self.response(to: first, keys: [], transit: false, status: status))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func redirectNamesTheNewAddress() throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        let redirect = Self.response(
            to: first, keys: [TextPair("TargetAddress", "[fd00::2]:3261,1")], transit: false,
            status: LoginStatus(statusClass: 1, detail: 2))
        #expect(try machine.receive(redirect) == .redirect(address: "[fd00::2]:3261,1", permanent: true))
    }

    @Test func oneWayCHAP() throws {
        let credentials = CHAPCredentials(userName: "alice", secret: CHAPSecret("hashcat"))
        var machine = LoginStateMachine(configuration: Self.configuration(.chap(CHAPConfiguration(credentials: credentials))))
        let first = machine.start()
        #expect(try Self.keys(first)["AuthMethod"] == "CHAP")
        #expect(!first.transit)

        guard
            case .send(let algorithm) = try machine.receive(
                Self.response(to: first, keys: [TextPair("AuthMethod", "CHAP")], transit: false))
        else { Issue.record("expected CHAP_A"); return }
        #expect(try Self.keys(algorithm)["CHAP_A"] == "5")

        let challenge = "0x35343534373533343633383832343736"
        let offer = Self.response(
            to: algorithm, keys: [TextPair("CHAP_A", "5"), TextPair("CHAP_I", "220"), TextPair("CHAP_C", challenge)], transit: false)
        guard case .send(let answer) = try machine.receive(offer) else { Issue.record("expected CHAP_R"); return }
        let keys = try Self.keys(answer)
        #expect(keys["CHAP_N"] == "alice")
        #expect(keys["CHAP_R"] == "0xaa4aaa1d52319525023c06a4873f4c51")
        #expect(answer.transit && answer.nextStage == .operationalNegotiation)

        guard case .send(let operational) = try machine.receive(Self.response(to: answer, keys: [], transit: true)) else {
            Issue.record("expected the operational stage")
            return
        }
        #expect(operational.currentStage == .operationalNegotiation)
    }

    @Test func mutualCHAPVerifiesTheTarget() throws {
        let ours = CHAPCredentials(userName: "alice", secret: CHAPSecret("initiator-secret"))
        let theirs = CHAPCredentials(userName: "tgt", secret: CHAPSecret("target-secret"))
        let challenge: [UInt8] = Array(repeating: 0x42, count: 16)
        for correct in [true, false] {
            var machine = LoginStateMachine(
                configuration: Self.configuration(.chap(CHAPConfiguration(credentials: ours, mutual: theirs, mutualChallenge: challenge))))
            let first = machine.start()
            guard
                case .send(let algorithm) = try machine.receive(
                    Self.response(to: first, keys: [TextPair("AuthMethod", "CHAP")], transit: false))
            else { Issue.record("expected CHAP_A"); return }
            let offer = Self.response(
                to: algorithm, keys: [TextPair("CHAP_A", "5"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", "0x0102030405060708")],
                transit: false)
            guard case .send(let answer) = try machine.receive(offer) else { Issue.record("expected CHAP_R"); return }
            let keys = try Self.keys(answer)
            let identifierText = try #require(keys["CHAP_I"])
            let identifier = try #require(UInt8(identifierText))
            let secret = correct ? theirs.secret : CHAPSecret("guess")
            let proof = chapResponse(algorithm: .md5, identifier: identifier, secret: secret, challenge: challenge)
            let targetProof = Self.response(
                to: answer, keys: [TextPair("CHAP_N", "tgt"), TextPair("CHAP_R", BinaryValue.encodeHex(proof))],
                transit: true)
            if correct {
                guard case .send = try machine.receive(targetProof) else { Issue.record("expected the operational stage"); return }
            } else {
                #expect(throws: LoginError.self) { try machine.receive(targetProof) }
            }
        }
    }

    @Test func responseForAnotherTaskIsAProtocolViolation() {
        var machine = LoginStateMachine(configuration: Self.configuration())
        var response = Self.response(to: machine.start(), keys: [TextPair("AuthMethod", "None")], transit: true)
        response.initiatorTaskTag = 1
        #expect(throws: LoginError.self) { try machine.receive(response) }
    }

    @Test func tagAssignedByTheKernelIsLearnedThenEnforced() throws {
        var configuration = Self.configuration()
        configuration.initiatorTaskTag = nil
        var machine = LoginStateMachine(configuration: configuration)
        var first = machine.start()
        first.initiatorTaskTag = 0x0500_0001  // what SEND_PDU would put on the wire
        guard case .send(let next) = try machine.receive(Self.response(to: first, keys: [TextPair("HeaderDigest", "None")], transit: false))
        else { Issue.record("expected another request"); return }
        #expect(next.initiatorTaskTag == 0x0500_0001)
        var stray = Self.response(to: next, keys: [], transit: true)
        stray.initiatorTaskTag = 0x0600_0001
        #expect(throws: LoginError.self) { try machine.receive(stray) }
    }

    @Test func continuedTextIsRequestedAndJoined() throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        let text = TextKeys.encode([TextPair("HeaderDigest", "None"), TextPair("TargetAlias", "disk")])
        var part = Self.response(to: first, keys: [], transit: false)
        part.data = Array(text.prefix(7))
        part.continues = true
        guard case .send(let more) = try machine.receive(part) else { Issue.record("expected an empty request"); return }
        #expect(more.data.isEmpty)
        var rest = Self.response(to: first, keys: [], transit: false)
        rest.data = Array(text.dropFirst(7))
        guard case .send(let operational) = try machine.receive(rest) else { Issue.record("expected the next request"); return }
        // The joined text answered HeaderDigest; the machine asks to move on, with no new offers.
        #expect(operational.currentStage == .operationalNegotiation && operational.transit)
        #expect(operational.nextStage == .fullFeaturePhase)
        #expect(try TextKeys.decode(operational.data).isEmpty)
    }

    @Test func fullFeaturePhaseBeforeAnswersIsRejected() throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        #expect(throws: LoginError.self) { try machine.receive(Self.response(to: first, keys: [], transit: true)) }
    }

    // MARK: - Legal target choices (RFC 7143 §6.2, §6.3) and their illegal counterparts

    /// The operational answers without the declarations we sent.
    static func answers(to request: LoginRequest) throws -> [TextPair] {
        try operationalAnswers(to: request).filter { !["InitiatorName", "TargetName", "SessionType"].contains($0.key) }
    }

    /// RFC 7143 §6.2.2: DataPDUInOrder=Yes and DataSequenceInOrder=Yes (OR offered Yes) need no
    /// answer, as LIO leaves them; a key whose outcome the answer decides does.
    @Test func responseOmittingOptionalAnswersLogsIn() throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        let optional: Set = ["DataPDUInOrder", "DataSequenceInOrder"]
        let answers = try Self.answers(to: first).filter { !optional.contains($0.key) }
        guard case .loggedIn(let outcome) = try machine.receive(Self.response(to: first, keys: answers, transit: true)) else {
            Issue.record("expected login")
            return
        }
        #expect(outcome.parameters.dataPDUInOrder && outcome.parameters.dataSequenceInOrder)

        var strict = LoginStateMachine(configuration: Self.configuration())
        let request = strict.start()
        let withoutRequired = try Self.answers(to: request).filter { $0.key != "MaxBurstLength" }
        #expect(throws: LoginError.protocolViolation("the target entered full feature phase before answering every key")) {
            try strict.receive(Self.response(to: request, keys: withoutRequired, transit: true))
        }
    }

    /// RFC 7143 §6.2: answers may come over several Login Responses of the stage.
    @Test func answersSpreadOverSeveralResponses() throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        let answers = try Self.answers(to: first)
        let half = answers.count / 2
        guard case .send(let second) = try machine.receive(Self.response(to: first, keys: Array(answers[..<half]), transit: false))
        else { Issue.record("expected another request"); return }
        #expect(second.transit && second.nextStage == .fullFeaturePhase)
        #expect(try TextKeys.decode(second.data).isEmpty)
        let last = Self.response(to: second, keys: Array(answers[half...]), transit: true, statSN: 11)
        guard case .loggedIn = try machine.receive(last) else { Issue.record("expected login"); return }
    }

    /// RFC 7143 §6.3: T=1 with a next stage earlier than the one we asked for (here the
    /// operational stage itself) is legal and means the target stays; we ask again.
    @Test func targetMayChooseAnEarlierNextStage() throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        let answers = try Self.answers(to: first)
        let stay = Self.response(to: first, keys: answers, transit: true, next: .operationalNegotiation)
        guard case .send(let again) = try machine.receive(stay) else { Issue.record("expected another request"); return }
        #expect(again.transit && again.currentStage == .operationalNegotiation && again.nextStage == .fullFeaturePhase)
        guard case .loggedIn = try machine.receive(Self.response(to: again, keys: [], transit: true, statSN: 11)) else {
            Issue.record("expected login")
            return
        }
    }

    /// One-way CHAP up to the target's answer to our CHAP_R (the request carrying it is returned).
    static func chapUpToResponse(_ machine: inout LoginStateMachine, groupTag: String = "1") throws -> LoginRequest? {
        let first = machine.start()
        let choice = Self.response(
            to: first, keys: [TextPair("AuthMethod", "CHAP"), TextPair("TargetPortalGroupTag", groupTag)], transit: false)
        guard case .send(let algorithm) = try machine.receive(choice) else { return nil }
        let offer = Self.response(
            to: algorithm, keys: [TextPair("CHAP_A", "5"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", "0x0102030405060708")],
            transit: false)
        guard case .send(let answer) = try machine.receive(offer) else { return nil }
        return answer
    }

    static let chap = LoginConfiguration.Authentication.chap(
        CHAPConfiguration(credentials: CHAPCredentials(userName: "alice", secret: CHAPSecret("secret"))))

    /// RFC 7143 §6.3: after CHAP the target may stay in the security stage (T=0); we ask again
    /// until it moves to the operational stage. The portal group tag of the first response
    /// may be hexadecimal (§6.1, §13.9).
    @Test func targetMayStayInTheSecurityStageAfterCHAP() throws {
        var machine = LoginStateMachine(configuration: Self.configuration(Self.chap))
        let answer = try #require(try Self.chapUpToResponse(&machine, groupTag: "0x2"))
        guard case .send(let again) = try machine.receive(Self.response(to: answer, keys: [], transit: false)) else {
            Issue.record("expected another request")
            return
        }
        #expect(again.transit && again.currentStage == .securityNegotiation && again.nextStage == .operationalNegotiation)
        #expect(again.data.isEmpty)
        guard case .send(let operational) = try machine.receive(Self.response(to: again, keys: [], transit: true)) else {
            Issue.record("expected the operational stage")
            return
        }
        #expect(operational.currentStage == .operationalNegotiation)
        guard
            case .loggedIn(let outcome) = try machine.receive(
                Self.response(to: operational, keys: try Self.answers(to: operational), transit: true))
        else { Issue.record("expected login"); return }
        #expect(outcome.parameters.targetPortalGroupTag == 2)
    }

    /// RFC 7143 §6.3: the target may not go beyond the stage we asked for (skipping the
    /// operational stage after CHAP).
    @Test func targetMayNotSkipBeyondTheRequestedStage() throws {
        var machine = LoginStateMachine(configuration: Self.configuration(Self.chap))
        let answer = try #require(try Self.chapUpToResponse(&machine))
        let skip = Self.response(to: answer, keys: [], transit: true, next: .fullFeaturePhase)
        do {
            _ = try machine.receive(skip)
            Issue.record("expected a violation")
        } catch {
            #expect(error.description.contains("moved to full feature phase although we asked only for the operational stage"), "\(error)")
        }
    }

    /// RFC 7143 §6.2.1: we offer CHAP alone, so AuthMethod=Reject (or None) ends the login with
    /// a message that says what to check.
    @Test func authMethodRejectedIsExplained() throws {
        var machine = LoginStateMachine(configuration: Self.configuration(Self.chap))
        let first = machine.start()
        do {
            _ = try machine.receive(Self.response(to: first, keys: [TextPair("AuthMethod", "Reject")], transit: false))
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("AuthMethod=Reject to our offer of CHAP alone"), "\(error)")
        }
    }

    /// RFC 7143 §11.13: a response for another ISID, a version other than 0, or a redirect
    /// without TargetAddress (§11.13.5) ends the login; the same response otherwise intact
    /// logs in (the first case).
    @Test(arguments: ["intact", "isid", "version", "redirect"])
    func headerRules(broken: String) throws {
        var machine = LoginStateMachine(configuration: Self.configuration())
        let first = machine.start()
        var response = Self.response(to: first, keys: try Self.answers(to: first), transit: true)
        switch broken {
        case "isid": response.isid = [0x80, 9, 9, 9, 9, 9]
        case "version": response.versionActive = 1
        case "redirect": response.status = LoginStatus(statusClass: 1, detail: 1)
        default: break
        }
        do {
            let action = try machine.receive(response)
            #expect(broken == "intact", "\(action)")
        } catch {
            #expect(broken != "intact", "\(error)")
            let expected = ["isid": "another ISID", "version": "iSCSI version 1", "redirect": "without a TargetAddress"][broken] ?? "?"
            #expect(error.description.contains(expected), "\(error)")
        }
    }
}
