import Testing

@testable import ISCSI

@Suite struct NegotiationTests {
    /// The answers tgtd gives to open-iscsi's default offer.
    static let tgtdAnswers = [
        TextPair("HeaderDigest", "None"), TextPair("DataDigest", "None"),
        TextPair("DefaultTime2Wait", "2"),
        TextPair("DefaultTime2Retain", "0"), TextPair("IFMarker", "No"), TextPair("OFMarker", "No"),
        TextPair("ErrorRecoveryLevel", "0"), TextPair("InitialR2T", "No"),
        TextPair("ImmediateData", "Yes"),
        TextPair("MaxBurstLength", "262144"), TextPair("FirstBurstLength", "65536"),
        TextPair("MaxOutstandingR2T", "1"),
        TextPair("MaxConnections", "1"), TextPair("DataPDUInOrder", "Yes"),
        TextPair("DataSequenceInOrder", "Yes"),
        TextPair("MaxRecvDataSegmentLength", "8192"),
    ]

    func negotiator(
        _ sessionType: SessionType = .normal,
        _ configure: (inout InitiatorParameters) -> Void = { _ in }
    ) -> Negotiator {
        var parameters = InitiatorParameters()
        configure(&parameters)
        return Negotiator(offer: parameters, sessionType: sessionType)
    }

    /// The rule `body` broke, `nil` if it succeeded.
    func violation(_ body: () throws -> Void) -> NegotiationViolation? {
        do {
            try body()
            return nil
        } catch {
            return (error as? NegotiationError)?.violation
        }
    }

    // MARK: - What we offer

    @Test func normalSessionOffersOpenISCSIKeySet() {
        let offer = negotiator().initialOperationalKeys()
        #expect(offer.map(\.key) == Negotiator.offeredKeys)
        let values = Dictionary(uniqueKeysWithValues: offer.map { ($0.key, $0.value) })
        #expect(values["HeaderDigest"] == "None")
        #expect(values["MaxConnections"] == "1")
        #expect(values["InitialR2T"] == "No")
        #expect(values["ImmediateData"] == "Yes")
        #expect(values["MaxRecvDataSegmentLength"] == "262144")
        #expect(values["MaxBurstLength"] == "16776192")
        #expect(values["FirstBurstLength"] == "262144")
        #expect(values["DefaultTime2Wait"] == "2")
        #expect(values["DefaultTime2Retain"] == "0")
        #expect(values["MaxOutstandingR2T"] == "1")
        #expect(values["ErrorRecoveryLevel"] == "0")
        #expect(values["IFMarker"] == "No")
        #expect(values["OFMarker"] == "No")
    }

    @Test func discoverySessionOffersOnlyRelevantKeys() {
        let keys = negotiator(.discovery).initialOperationalKeys().map(\.key)
        #expect(
            keys == [
                "HeaderDigest", "DataDigest", "DefaultTime2Wait", "DefaultTime2Retain", "IFMarker",
                "OFMarker",
                "ErrorRecoveryLevel", "MaxRecvDataSegmentLength",
            ])
    }

    @Test func firstBurstLengthNotOfferedWhenIrrelevant() {
        let keys = negotiator {
            $0.initialR2T = true
            $0.immediateData = false
        }.initialOperationalKeys().map(\.key)
        #expect(!keys.contains("FirstBurstLength"))
    }

    @Test func digestPreferenceListAndClamping() {
        let offer = negotiator {
            $0.headerDigests = [.crc32c, .none]
            $0.dataDigests = []
            $0.maxRecvDataSegmentLength = 100
            $0.errorRecoveryLevel = 7
        }.initialOperationalKeys()
        let values = Dictionary(uniqueKeysWithValues: offer.map { ($0.key, $0.value) })
        #expect(values["HeaderDigest"] == "CRC32C,None")
        #expect(values["DataDigest"] == "None")
        #expect(values["MaxRecvDataSegmentLength"] == "512")
        #expect(values["ErrorRecoveryLevel"] == "2")
    }

    // MARK: - Complete logins

    @Test func tgtdAnswersGiveExpectedResult() throws {
        var negotiation = negotiator()
        #expect(!negotiation.isComplete)
        #expect(try negotiation.receive(Self.tgtdAnswers) == [])
        #expect(negotiation.isComplete)
        let result = negotiation.result
        #expect(result.headerDigest == .none)
        #expect(result.maxRecvDataSegmentLength == 262_144)
        #expect(result.maxXmitDataSegmentLength == 8192)
        #expect(result.maxBurstLength == 262_144)
        #expect(result.firstBurstLength == 65536)
        #expect(!result.initialR2T)
        #expect(result.immediateData)
        #expect(result.defaultTime2Retain == 0)
    }

    /// LIO leaves DataPDUInOrder=Yes and DataSequenceInOrder=Yes unanswered: an OR offered as
    /// Yes decides the outcome, and RFC 7143 §6.2.2 makes the answer optional.
    @Test func optionalAnswersMayBeLeftOut() throws {
        var negotiation = negotiator()
        let lioAnswers = Self.tgtdAnswers.filter { !$0.key.hasSuffix("InOrder") }
        #expect(try negotiation.receive(lioAnswers) == [])
        #expect(negotiation.isComplete)
        #expect(negotiation.result.dataPDUInOrder)
        #expect(negotiation.result.dataSequenceInOrder)
    }

    /// The same rule for AND offered as No, whose RFC default (Yes) differs from the offer:
    /// the outcome is the offer, not the default.
    @Test func optionalAnswerOfANDWithNoIsTheOffer() throws {
        var negotiation = negotiator {
            $0.immediateData = false
            $0.initialR2T = true
        }
        let answers = Self.tgtdAnswers.filter { !["ImmediateData", "InitialR2T", "FirstBurstLength"].contains($0.key) }
        #expect(try negotiation.receive(answers) == [])
        #expect(negotiation.isComplete)
        #expect(!negotiation.result.immediateData)
        #expect(negotiation.result.initialR2T)
    }

    /// Keys whose outcome the answer decides stay pending until answered.
    @Test func decidingAnswersAreStillRequired() throws {
        var negotiation = negotiator()
        let withoutImmediateData = Self.tgtdAnswers.filter { $0.key != "ImmediateData" }
        #expect(try negotiation.receive(withoutImmediateData) == [])
        #expect(!negotiation.isComplete)
    }

    @Test func resultUsesRFCDefaultsForKeysNobodySent() {
        let result = negotiator().result
        #expect(
            result
                == NegotiatedParameters(
                    headerDigest: .none, dataDigest: .none, maxRecvDataSegmentLength: 262_144,
                    maxXmitDataSegmentLength: 8192,
                    maxBurstLength: 262_144, firstBurstLength: 65536, initialR2T: true, immediateData: true,
                    maxOutstandingR2T: 1,
                    errorRecoveryLevel: 0, defaultTime2Wait: 2, defaultTime2Retain: 20, maxConnections: 1,
                    dataPDUInOrder: true,
                    dataSequenceInOrder: true, targetPortalGroupTag: nil, targetAlias: nil))
    }

    @Test func maxRecvDataSegmentLengthIsDeclaredPerDirection() throws {
        var negotiation = negotiator { $0.maxRecvDataSegmentLength = 65536 }
        _ = try negotiation.receive([TextPair("MaxRecvDataSegmentLength", "131072")])
        #expect(negotiation.result.maxRecvDataSegmentLength == 65536)
        #expect(negotiation.result.maxXmitDataSegmentLength == 131_072)
        // A declaration needs no answer, and any legal value is accepted, larger than ours or not.
        var other = negotiator()
        #expect(try other.receive([TextPair("MaxRecvDataSegmentLength", "16777215")]) == [])
        #expect(
            violation { _ = try other.receive([TextPair("MaxRecvDataSegmentLength", "511")]) }
                == .repeated)
        var small = negotiator()
        #expect(
            violation { _ = try small.receive([TextPair("MaxRecvDataSegmentLength", "511")]) }
                == .outOfRange(512...16_777_215))
    }

    @Test func declarationsRecorded() throws {
        var negotiation = negotiator()
        _ = try negotiation.receive([
            TextPair("TargetPortalGroupTag", "1"), TextPair("TargetAlias", "root disk"),
        ])
        #expect(negotiation.result.targetPortalGroupTag == 1)
        #expect(negotiation.result.targetAlias == "root disk")
    }

    @Test func discoveryResultKeepsDefaultsForIrrelevantKeys() throws {
        var negotiation = negotiator(.discovery)
        let answers = [
            TextPair("HeaderDigest", "None"), TextPair("DataDigest", "None"),
            TextPair("DefaultTime2Wait", "2"),
            TextPair("DefaultTime2Retain", "0"), TextPair("IFMarker", "No"), TextPair("OFMarker", "No"),
            TextPair("ErrorRecoveryLevel", "0"),
        ]
        #expect(try negotiation.receive(answers) == [])
        #expect(negotiation.isComplete)
        #expect(negotiation.result.initialR2T)
        #expect(negotiation.result.maxBurstLength == 262_144)
    }

    @Test func discoveryAnswersIrrelevantToSessionKeys() throws {
        var negotiation = negotiator(.discovery)
        let replies = try negotiation.receive([
            TextPair("MaxBurstLength", "65536"), TextPair("InitialR2T", "Yes"),
        ])
        #expect(
            replies == [TextPair("MaxBurstLength", "Irrelevant"), TextPair("InitialR2T", "Irrelevant")])
        #expect(negotiation.result.maxBurstLength == 262_144)
    }

    // MARK: - Result functions, both directions

    @Test(arguments: [
        // (key, offered, answered, expected result or nil when the answer breaks the rule)
        ("MaxBurstLength", "262144", "65536", "65536" as String?),  // Minimum: lower is fine
        ("MaxBurstLength", "262144", "262144", "262144"),
        ("MaxBurstLength", "262144", "262145", nil),  // Minimum: above our offer
        ("DefaultTime2Wait", "2", "5", "5"),  // Maximum: higher is fine
        ("DefaultTime2Wait", "2", "1", nil),  // Maximum: below our offer
        ("InitialR2T", "Yes", "Yes", "Yes"),  // OR
        ("InitialR2T", "Yes", "No", nil),
        ("InitialR2T", "No", "Yes", "Yes"),
        ("InitialR2T", "No", "No", "No"),
        ("ImmediateData", "No", "No", "No"),  // AND
        ("ImmediateData", "No", "Yes", nil),
        ("ImmediateData", "Yes", "No", "No"),
        ("ImmediateData", "Yes", "Yes", "Yes"),
        ("HeaderDigest", "CRC32C,None", "None", "None"),  // list: one of the offered values
        ("HeaderDigest", "None", "CRC32C", nil),
        ("HeaderDigest", "None", "None,CRC32C", nil),
        ("ErrorRecoveryLevel", "2", "3", nil),  // out of range
        ("MaxConnections", "1", "0", nil),
        ("MaxBurstLength", "262144", "0x10000", "65536"),  // hex numbers
        ("MaxBurstLength", "262144", "-1", nil),
        ("MaxBurstLength", "262144", "99999999999999999999999", nil),
        ("OFMarkInt", "2048~8192", "4096", "4096"),
        ("OFMarkInt", "2048~8192", "1024", nil),
        ("MaxBurstLength", "262144", "Irrelevant", "262144"),  // RFC default
        ("IFMarker", "No", "Reject", "No"),  // obsolete marker: Reject means off
        // Reject leaves the RFC default in effect (§6.2): accepted when the result function
        // allows the default for our offer, a failure when it does not.
        ("MaxBurstLength", "262144", "Reject", "262144"),
        ("MaxBurstLength", "8192", "Reject", nil),
        ("ImmediateData", "No", "Reject", nil),
        ("DataDigest", "CRC32C", "Reject", nil),
        ("DataDigest", "CRC32C,None", "Reject", "None"),
        ("TargetAlias", "x", "Reject", nil),
        ("IFMarker", "No", "NotUnderstood", "No"),  // obsolete marker unknown to the target: off
        ("MaxBurstLength", "262144", "NotUnderstood", nil),
        ("TaskReporting", "RFC3720", "NotUnderstood", "RFC3720"),
        ("X-com.example.Key", "1", "1", nil),
    ])
    func checkAppliesResultFunction(key: String, offered: String, answered: String, expected: String?) {
        let outcome = NegotiationTable.check(key: key, offered: offered, answered: answered)
        switch outcome {
        case .success(let value): #expect(value == expected, "\(key)=\(answered)")
        case .failure(let violation): #expect(expected == nil, "\(key)=\(answered): \(violation)")
        }
    }

    @Test func violationsNameTheRule() {
        #expect(
            NegotiationTable.check(key: "MaxBurstLength", offered: "512", answered: "1024")
                == .failure(.aboveOffer(offered: 512)))
        #expect(
            NegotiationTable.check(key: "DefaultTime2Wait", offered: "2", answered: "1")
                == .failure(.belowOffer(offered: 2)))
        #expect(
            NegotiationTable.check(key: "DataPDUInOrder", offered: "Yes", answered: "No")
                == .failure(.orRequiresYes))
        #expect(
            NegotiationTable.check(key: "ImmediateData", offered: "No", answered: "Yes")
                == .failure(.andRequiresNo))
        #expect(
            NegotiationTable.check(key: "DataDigest", offered: "None", answered: "CRC32C")
                == .failure(.notAmongOffered(offered: "None")))
        #expect(
            NegotiationTable.check(key: "InitialR2T", offered: "Yes", answered: "yes")
                == .failure(.notABoolean))
        #expect(
            NegotiationTable.check(key: "X-vendor", offered: "a", answered: "b") == .failure(.unknownKey))
    }

    @Test func negotiatorThrowsWithKeyValueAndRule() {
        var negotiation = negotiator()
        do {
            _ = try negotiation.receive([TextPair("MaxBurstLength", "16777215")])
            Issue.record("expected a violation")
        } catch {
            #expect(
                error
                    == NegotiationError(
                        key: "MaxBurstLength", value: "16777215", violation: .aboveOffer(offered: 16_776_192)))
            #expect(error.description.contains("MaxBurstLength=16777215"))
            #expect(error.description.contains("Minimum"))
        }
    }

    // MARK: - Target offers

    @Test func answersTargetOffersWithResultFunction() throws {
        var negotiation = negotiator()
        // Keys we did not offer: our answer applies each key's result function to our preference.
        let replies = try negotiation.receive([
            TextPair("IFMarkInt", "2048~8192"),
            TextPair("TaskReporting", "FastAbort,RFC3720"), TextPair("iSCSIProtocolLevel", "2"),
            TextPair("X-com.example.Feature", "Yes"), TextPair("X#registered", "1"),
        ])
        #expect(
            replies == [
                TextPair("IFMarkInt", "Reject"),
                TextPair("TaskReporting", "RFC3720"), TextPair("iSCSIProtocolLevel", "1"),
                TextPair("X-com.example.Feature", "NotUnderstood"),
                TextPair("X#registered", "NotUnderstood"),
            ])
    }

    @Test func targetListOfferWithNothingAcceptableIsRejected() throws {
        var negotiation = negotiator()
        #expect(
            try negotiation.receive([TextPair("TaskReporting", "FastAbort")]) == [
                TextPair("TaskReporting", "Reject")
            ])
    }

    @Test func targetOfferOfLowerProtocolLevelIsAccepted() throws {
        var negotiation = negotiator()
        #expect(
            try negotiation.receive([TextPair("iSCSIProtocolLevel", "0")]) == [
                TextPair("iSCSIProtocolLevel", "0")
            ])
    }

    @Test func rejectsMalformedOrOutOfRangeTargetOffers() {
        var negotiation = negotiator()
        #expect(
            violation { _ = try negotiation.receive([TextPair("iSCSIProtocolLevel", "32")]) }
                == .outOfRange(0...31))
        var other = negotiator()
        #expect(
            violation { _ = try other.receive([TextPair("TaskReporting", "Reject")]) }
                == .answerWithoutOffer)
    }

    @Test func rejectsKeysTheTargetMayNotSendHere() {
        var negotiation = negotiator()
        #expect(
            violation { _ = try negotiation.receive([TextPair("InitiatorName", "iqn.x")]) }
                == .notSentByTarget)
        #expect(
            violation { _ = try negotiation.receive([TextPair("AuthMethod", "CHAP")]) }
                == .wrongStage(.security))
        #expect(
            violation { _ = try negotiation.receive([TextPair("SendTargets", "All")]) }
                == .wrongStage(.fullFeature))
        #expect(
            violation { _ = try negotiation.receive([TextPair("SessionType", "Normal")]) }
                == .notSentByTarget)
    }

    @Test func repeatedKeyIsAViolationExceptTargetAddress() throws {
        var negotiation = negotiator()
        _ = try negotiation.receive([
            TextPair("TargetAddress", "10.0.0.1:3260,1"), TextPair("TargetAddress", "10.0.0.2:3260,1"),
        ])
        _ = try negotiation.receive([TextPair("HeaderDigest", "None")])
        #expect(
            violation { _ = try negotiation.receive([TextPair("HeaderDigest", "None")]) } == .repeated)
    }

    @Test func specialAnswersToOurOffers() throws {
        var negotiation = negotiator()
        _ = try negotiation.receive([
            TextPair("FirstBurstLength", "Irrelevant"), TextPair("OFMarker", "Reject"),
        ])
        #expect(negotiation.result.firstBurstLength == 65536)
        // Reject of MaxConnections=1 leaves the default 1, which our offer allows (§6.2).
        #expect(try negotiation.receive([TextPair("MaxConnections", "Reject")]) == [])
        #expect(negotiation.result.maxConnections == 1)
        var crcOnly = negotiator { $0.dataDigests = [.crc32c] }
        #expect(violation { _ = try crcOnly.receive([TextPair("DataDigest", "Reject")]) } == .rejected)
        #expect(
            violation { _ = try negotiation.receive([TextPair("DataDigest", "NotUnderstood")]) }
                == .notUnderstood)
        // A special answer to an unknown key is not answered again.
        #expect(try negotiation.receive([TextPair("X-unknown", "NotUnderstood")]) == [])
    }

    @Test func firstBurstMustNotExceedMaxBurst() {
        var negotiation = negotiator()
        let answers = [TextPair("MaxBurstLength", "8192"), TextPair("FirstBurstLength", "65536")]
        #expect(
            violation { _ = try negotiation.receive(answers) }
                == .firstBurstAboveMaxBurst(maxBurstLength: 8192))
    }

    @Test func firstBurstIrrelevanceFollowsNegotiatedValues() throws {
        // We offer InitialR2T=Yes, ImmediateData=No: the target's FirstBurstLength offer is irrelevant.
        var negotiation = negotiator {
            $0.initialR2T = true
            $0.immediateData = false
        }
        #expect(
            try negotiation.receive([TextPair("FirstBurstLength", "4096")]) == [
                TextPair("FirstBurstLength", "Irrelevant")
            ])
    }

    // MARK: - Optional answers and answers to our declarations

    /// RFC 7143 §13.14: once InitialR2T=Yes and ImmediateData=No are in effect FirstBurstLength
    /// is unused, so a target may leave it unanswered; while it matters, it must be answered.
    @Test func irrelevantFirstBurstLengthMayGoUnanswered() throws {
        let others = Self.tgtdAnswers.filter { !["InitialR2T", "ImmediateData", "FirstBurstLength"].contains($0.key) }
        var irrelevant = negotiator()
        _ = try irrelevant.receive(others + [TextPair("InitialR2T", "Yes"), TextPair("ImmediateData", "No")])
        #expect(irrelevant.isComplete)
        var relevant = negotiator()
        _ = try relevant.receive(others + [TextPair("InitialR2T", "Yes"), TextPair("ImmediateData", "Yes")])
        #expect(!relevant.isComplete)
    }

    /// RFC 7143 §6.2: an Irrelevant answer does not fail the negotiation, and the unused
    /// default is not held against MaxBurstLength; a real value above it still is (§13.14).
    @Test func firstBurstAnsweredIrrelevantIsNotCheckedAgainstMaxBurst() throws {
        var negotiation = negotiator()
        #expect(
            try negotiation.receive([TextPair("MaxBurstLength", "8192"), TextPair("FirstBurstLength", "Irrelevant")]) == [])
        #expect(negotiation.result.firstBurstLength == 8192)
        var other = negotiator()
        #expect(
            violation { _ = try other.receive([TextPair("MaxBurstLength", "8192"), TextPair("FirstBurstLength", "65536")]) }
                == .firstBurstAboveMaxBurst(maxBurstLength: 8192))
    }

    /// RFC 7143 §6.2: NotUnderstood is a valid answer to a declaration, and an unchanged echo
    /// changes nothing; a different value contradicts our declaration.
    @Test func answersToOurDeclarationsAreIgnoredUnlessTheyContradictThem() throws {
        let declarations = [
            TextPair("InitiatorName", "iqn.2024-01.example:client"), TextPair("SessionType", "Normal"),
            TextPair("InitiatorAlias", "client"),
        ]
        var negotiation = Negotiator(offer: InitiatorParameters(), sessionType: .normal, declarations: declarations)
        #expect(
            try negotiation.receive([
                TextPair("InitiatorName", "iqn.2024-01.example:client"), TextPair("SessionType", "Normal"),
                TextPair("InitiatorAlias", "NotUnderstood"),
            ]) == [])
        var contradicted = Negotiator(offer: InitiatorParameters(), sessionType: .normal, declarations: declarations)
        #expect(
            violation { _ = try contradicted.receive([TextPair("SessionType", "Discovery")]) } == .notSentByTarget)
    }

    /// RFC 7143 §6.3: a declaration is made once per login, even with the same value
    /// (TargetAddress excepted, §13.8).
    @Test func aRepeatedDeclarationIsAViolationEvenUnchanged() throws {
        var negotiation = negotiator()
        _ = try negotiation.receive([TextPair("TargetPortalGroupTag", "1")])
        #expect(violation { _ = try negotiation.receive([TextPair("TargetPortalGroupTag", "1")]) } == .repeated)
    }

    @Test func tableKnowsEveryRFC7143Key() {
        let keys = [
            "HeaderDigest", "DataDigest", "MaxConnections", "SendTargets", "TargetName", "InitiatorName",
            "TargetAlias",
            "InitiatorAlias", "TargetAddress", "TargetPortalGroupTag", "InitialR2T", "ImmediateData",
            "MaxRecvDataSegmentLength",
            "MaxBurstLength", "FirstBurstLength", "DefaultTime2Wait", "DefaultTime2Retain",
            "MaxOutstandingR2T", "DataPDUInOrder",
            "DataSequenceInOrder", "ErrorRecoveryLevel", "SessionType", "IFMarker", "OFMarker",
            "OFMarkInt", "IFMarkInt",
            "TaskReporting", "iSCSIProtocolLevel", "AuthMethod",
        ]
        for key in keys { #expect(NegotiationTable.definition(for: key) != nil, "\(key)") }
        #expect(
            Set(NegotiationTable.definitions.map(\.name)).count == NegotiationTable.definitions.count)
        #expect(NegotiationTable.definition(for: "X-com.example") == nil)
        #expect(NegotiationTable.definition(for: "MaxBurstLength")?.leadingOnly == true)
        #expect(NegotiationTable.definition(for: "HeaderDigest")?.scope == .connection)
    }

    @Test func neverCrashesOnGeneratedTargetKeys() {
        var generator = SeededGenerator(seed: 99)
        let keys = NegotiationTable.definitions.map(\.name) + ["X-a", "Unknown"]
        let values = [
            "", "Yes", "No", "0", "1", "512", "65535", "16777216", "0x", "0xffffffffffffffffff",
            "CRC32C,None", ",", "1~2", "2~1",
            "Reject", "Irrelevant", "NotUnderstood", "All", "0bAA==",
        ]
        for _ in 0..<500 {
            var negotiation = Negotiator(
                offer: InitiatorParameters(),
                sessionType: Bool.random(using: &generator) ? .normal : .discovery)
            let pairs = (0..<Int.random(in: 1...8, using: &generator)).map { _ in
                TextPair(keys.randomElement(using: &generator)!, values.randomElement(using: &generator)!)
            }
            do { _ = try negotiation.receive(pairs) } catch {
                // The error names a key and value the target sent.
                #expect(pairs.contains { $0.key == error.key && $0.value == error.value }, "\(error)")
            }
            _ = negotiation.result
        }
    }
}
