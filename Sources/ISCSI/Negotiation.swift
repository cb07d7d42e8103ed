/// The initiator's side of login parameter negotiation (RFC 7143 §6.2, §13), driven by
/// `NegotiationTable`. A value: the login state machine passes the target's keys in and sends
/// the returned replies; there is no I/O inside.
public struct Negotiator: Sendable {
    public let sessionType: SessionType
    /// What we want for each key we may negotiate (list keys: our preference list).
    private let preferences: [String: String]
    /// The keys we send in the first operational PDU, fixed at creation.
    private let offers: [TextPair]
    /// Values in effect for keys negotiated so far (answers to our offers, our answers to
    /// the target's offers).
    private var agreed: [String: String] = [:]
    /// Values the target declared (its MaxRecvDataSegmentLength, TargetPortalGroupTag, …).
    private var targetDeclarations: [String: String] = [:]
    private var keysFromTarget: Set<String> = []
    /// Our own declarations in the first Login Request (InitiatorName, SessionType, …), which
    /// a target may echo or answer NotUnderstood without harm (`process`).
    private let ownDeclarations: [String: String]
    /// Offers the target answered Irrelevant: their RFC default is in effect but unused.
    private var answeredIrrelevant: Set<String> = []

    /// What open-iscsi offers in its first operational PDU, in its order (usr/login.c
    /// `fill_op_params_text`); keys irrelevant to the session type are left out, so a
    /// Discovery session offers the digests, the timers, ErrorRecoveryLevel, the markers and
    /// MaxRecvDataSegmentLength. tgtd expects this set.
    static let offeredKeys = [
        "HeaderDigest", "DataDigest", "DefaultTime2Wait", "DefaultTime2Retain", "IFMarker", "OFMarker",
        "ErrorRecoveryLevel", "InitialR2T", "ImmediateData", "MaxBurstLength", "FirstBurstLength",
        "MaxOutstandingR2T", "MaxConnections", "DataPDUInOrder", "DataSequenceInOrder",
        "MaxRecvDataSegmentLength",
    ]

    /// - Parameter declarations: the declarative keys we send beside the offers (the login
    ///   state machine's InitiatorName, SessionType, TargetName, InitiatorAlias).
    public init(offer parameters: InitiatorParameters, sessionType: SessionType, declarations: [TextPair] = []) {
        self.sessionType = sessionType
        // The first declaration of a key wins. A loop: Embedded Swift rejects
        // Dictionary(_:uniquingKeysWith:) (it casts dynamically).
        var ownDeclarations: [String: String] = [:]
        for pair in declarations where ownDeclarations[pair.key] == nil {
            ownDeclarations[pair.key] = pair.value
        }
        self.ownDeclarations = ownDeclarations
        let preferences = parameters.preferences
        self.preferences = preferences
        self.offers = Negotiator.offeredKeys.compactMap { key in
            guard let definition = NegotiationTable.definition(for: key),
                !definition.isIrrelevant(
                    in: sessionType,
                    valueOf: { preferences[$0] ?? NegotiationTable.definition(for: $0)?.rfcDefault }),
                let value = preferences[key] ?? definition.rfcDefault
            else { return nil }
            return TextPair(key, value)
        }
    }

    /// Keys to send in the first operational-stage PDU.
    public func initialOperationalKeys() -> [TextPair] {
        offers
    }

    /// Processes the target's keys: answers to our offers, its declarations and its own
    /// offers. Returns our replies to its offers (to send in the next PDU), or throws on the
    /// first key that breaks a rule.
    public mutating func receive(_ pairs: [TextPair]) throws(NegotiationError) -> [TextPair] {
        var replies: [TextPair] = []
        for pair in pairs {
            if let reply = try process(pair) {
                replies.append(reply)
            }
        }
        try checkBurstLengths()
        return replies
    }

    /// Whether every key we offered that needs an answer has one, so the login may move to
    /// the next stage. The answers may come spread over several Login Responses (RFC 7143
    /// §6.2: a negotiation ends when the responder has sent the key, in any PDU of the stage).
    public var isComplete: Bool {
        offers.allSatisfy { offer in
            guard let definition = NegotiationTable.definition(for: offer.key) else { return true }
            // RFC 7143 §6.2: a declaration is not answered.
            if case .declarative = definition.type { return true }
            if agreed[offer.key] != nil { return true }
            // RFC 7143 §6.2.2: OR offered Yes, AND offered No: the offer decides the outcome
            // and the answer is optional (`KeyDefinition.outcomeDecided(byOffer:)`).
            if definition.outcomeDecided(byOffer: offer.value) != nil { return true }
            // RFC 7143 §13.14: FirstBurstLength means nothing once InitialR2T=Yes and
            // ImmediateData=No are in effect; a target that leaves it unanswered loses nothing.
            return definition.isIrrelevant(in: sessionType, valueOf: valueInEffect)
        }
    }

    /// The parameters in effect: what was negotiated, RFC defaults for keys nobody sent.
    public var result: NegotiatedParameters {
        NegotiatedParameters(
            headerDigest: valueInEffect("HeaderDigest").flatMap(Digest.init(rawValue:)) ?? .none,
            dataDigest: valueInEffect("DataDigest").flatMap(Digest.init(rawValue:)) ?? .none,
            maxRecvDataSegmentLength: number(of: "MaxRecvDataSegmentLength", from: offeredValue),
            maxXmitDataSegmentLength: number(
                of: "MaxRecvDataSegmentLength", from: { targetDeclarations[$0] }),
            maxBurstLength: number(of: "MaxBurstLength"),
            // Never above MaxBurstLength (RFC 7143 §13.14), also when the target answered
            // FirstBurstLength Irrelevant and its default is in effect.
            firstBurstLength: min(number(of: "FirstBurstLength"), number(of: "MaxBurstLength")),
            initialR2T: valueInEffect("InitialR2T") == YesNo.yes,
            immediateData: valueInEffect("ImmediateData") == YesNo.yes,
            maxOutstandingR2T: number(of: "MaxOutstandingR2T"),
            errorRecoveryLevel: number(of: "ErrorRecoveryLevel"),
            defaultTime2Wait: number(of: "DefaultTime2Wait"),
            defaultTime2Retain: number(of: "DefaultTime2Retain"),
            maxConnections: number(of: "MaxConnections"),
            dataPDUInOrder: valueInEffect("DataPDUInOrder") == YesNo.yes,
            dataSequenceInOrder: valueInEffect("DataSequenceInOrder") == YesNo.yes,
            targetPortalGroupTag: targetDeclarations["TargetPortalGroupTag"].flatMap(NumericalValue.parse)
                .map { UInt16(truncatingIfNeeded: $0) },
            targetAlias: targetDeclarations["TargetAlias"]
        )
    }

    // MARK: - One key

    private mutating func process(_ pair: TextPair) throws(NegotiationError) -> TextPair? {
        guard let definition = NegotiationTable.definition(for: pair.key) else {
            // RFC 7143 §6.2: a key not understood is answered NotUnderstood; an answer to a
            // key we never sent is not answered again.
            return SpecialAnswer(rawValue: pair.value) == nil
                ? TextPair(pair.key, SpecialAnswer.notUnderstood.rawValue) : nil
        }
        func failure(_ violation: NegotiationViolation) -> NegotiationError {
            NegotiationError(key: pair.key, value: pair.value, violation: violation)
        }
        // RFC 7143 §6.2: NotUnderstood is a valid answer to a declaration, and a target that
        // echoes one of ours unchanged changes nothing; either is ignored. Another value
        // would contradict what we declared.
        if let declared = ownDeclarations[pair.key],
            pair.value == declared || SpecialAnswer(rawValue: pair.value) != nil
        {
            return nil
        }
        // RFC 7143 §6.3: a key is declared or negotiated at most once per login (TargetAddress
        // may repeat, §13.8); the initiator must drop a connection that renegotiates one.
        guard keysFromTarget.insert(pair.key).inserted || definition.mayRepeat else {
            throw failure(.repeated)
        }
        // RFC 7143 §13 "Use": security keys belong to the security stage (§6.3.2), SendTargets
        // to the full feature phase (§13.3).
        switch definition.stage {
        case .security, .fullFeature: throw failure(.wrongStage(definition.stage))
        case .operational, .login, .loginAndFullFeature: break
        }
        // RFC 7143 §13 "Senders": InitiatorName, InitiatorAlias and SessionType come from the
        // initiator only.
        guard definition.senders != .initiator else { throw failure(.notSentByTarget) }

        if case .declarative = definition.type {
            // RFC 7143 §6.1, §13: a declaration must still be well-formed for its key.
            if let violation = definition.validateOffer(pair.value) { throw failure(violation) }
            targetDeclarations[pair.key] = pair.value
            return nil
        }
        if let offered = offeredValue(pair.key) {
            // RFC 7143 §6.2, §6.2.1, §6.2.2: the answer must be one the key's result function
            // allows for our offer (`KeyDefinition.check`).
            switch definition.check(offered: offered, answered: pair.value) {
            case .success(let value): agreed[pair.key] = value
            case .failure(let violation): throw failure(violation)
            }
            if SpecialAnswer(rawValue: pair.value) == .irrelevant { answeredIrrelevant.insert(pair.key) }
            return nil
        }
        return try answer(offer: pair, definition: definition, failure: failure)
    }

    /// Our answer to a key the target offered first (RFC 7143 §6.2.1, §6.2.2).
    private mutating func answer(
        offer pair: TextPair, definition: KeyDefinition,
        failure: (NegotiationViolation) -> NegotiationError
    ) throws(NegotiationError) -> TextPair {
        // RFC 7143 §6.2: Reject, Irrelevant and NotUnderstood are answers, never offers; using
        // one as an offer is a protocol error.
        guard SpecialAnswer(rawValue: pair.value) == nil else { throw failure(.answerWithoutOffer) }
        // RFC 7143 §6.1, §13: the offer must be well-formed for its key.
        if let violation = definition.validateOffer(pair.value) { throw failure(violation) }
        // RFC 7143 §6.2: a key that does not apply is answered Irrelevant.
        if definition.isIrrelevant(in: sessionType, valueOf: value(of:)) {
            return TextPair(pair.key, SpecialAnswer.irrelevant.rawValue)
        }
        let ours = preferences[pair.key] ?? definition.rfcDefault ?? ""
        let result: String?
        switch definition.type {
        case .list:
            let acceptable = Set(ours.split(separator: ","))
            result = pair.value.split(separator: ",").first(where: acceptable.contains).map(String.init)
        case .boolean(let function):
            let theirs = YesNo.parse(pair.value) == true
            let mine = YesNo.parse(ours) == true
            result = YesNo.format(function == .or ? (mine || theirs) : (mine && theirs))
        case .numerical(_, let function):
            let theirs = NumericalValue.parse(pair.value) ?? 0
            let mine = NumericalValue.parse(ours) ?? theirs
            result = String(function == .minimum ? min(mine, theirs) : max(mine, theirs))
        case .numericalRange, .declarative:
            // We implement no markers (RFC 7143 §13.26: answer Reject); declaratives returned above.
            result = nil
        }
        guard let result else { return TextPair(pair.key, SpecialAnswer.reject.rawValue) }
        agreed[pair.key] = result
        return TextPair(pair.key, result)
    }

    /// FirstBurstLength must not exceed MaxBurstLength (RFC 7143 §13.14), once both are agreed;
    /// not when FirstBurstLength is irrelevant or was answered Irrelevant (§6.2), since its
    /// value is then unused.
    private func checkBurstLengths() throws(NegotiationError) {
        guard let definition = NegotiationTable.definition(for: "FirstBurstLength"),
            !answeredIrrelevant.contains("FirstBurstLength"),
            !definition.isIrrelevant(in: sessionType, valueOf: value(of:)),
            let firstBurst = agreed["FirstBurstLength"].flatMap(NumericalValue.parse),
            let maxBurst = agreed["MaxBurstLength"].flatMap(NumericalValue.parse),
            firstBurst > maxBurst
        else { return }
        throw NegotiationError(
            key: "FirstBurstLength", value: String(firstBurst),
            violation: .firstBurstAboveMaxBurst(maxBurstLength: maxBurst))
    }

    // MARK: - Values in effect

    private func offeredValue(_ key: String) -> String? {
        offers.first(where: { $0.key == key })?.value
    }

    /// The value in effect for `key`: negotiated, else decided by our offer alone, else the
    /// RFC default.
    private func valueInEffect(_ key: String) -> String? {
        let definition = NegotiationTable.definition(for: key)
        return agreed[key] ?? offeredValue(key).flatMap { definition?.outcomeDecided(byOffer: $0) }
            ?? definition?.rfcDefault
    }

    /// The value `key` will have: negotiated, else our preference while pending, else the
    /// RFC default. Decides irrelevance before the target has answered everything.
    private func value(of key: String) -> String? {
        agreed[key] ?? preferences[key] ?? NegotiationTable.definition(for: key)?.rfcDefault
    }

    /// A numerical key's value from `source`, else its RFC default. Values in `agreed` and
    /// declarations were validated against the table, so the fallback only covers absence.
    private func number(of key: String, from source: (String) -> String?) -> Int {
        let text = source(key) ?? NegotiationTable.definition(for: key)?.rfcDefault ?? ""
        return NumericalValue.parse(text).map { Int(clamping: $0) } ?? 0
    }

    private func number(of key: String) -> Int {
        number(of: key, from: { agreed[$0] })
    }
}

/// A key whose value broke a rule of RFC 7143; names the key, the value and the rule.
public struct NegotiationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let key: String
    public let value: String
    public let violation: NegotiationViolation

    public var description: String {
        "the target sent \(TextPair(key, Self.printable(value))): \(violation)"
    }

    /// At most 64 printable ASCII characters: values come from the network.
    private static func printable(_ value: String) -> String {
        let shown = value.unicodeScalars.prefix(64).map {
            $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?"
        }
        return String(shown) + (value.unicodeScalars.count > 64 ? "…" : "")
    }
}

/// RFC 7143 §13.21 SessionType.
public enum SessionType: String, Sendable, Equatable, CaseIterable {
    case normal = "Normal"
    case discovery = "Discovery"
}

/// RFC 7143 §13.1 HeaderDigest / DataDigest values.
public enum Digest: String, Sendable, Equatable, CaseIterable {
    case none = "None"
    case crc32c = "CRC32C"
}

/// What this initiator asks for. The defaults are open-iscsi's (etc/iscsid.conf,
/// usr/iscsi_settings.h), which every target in the field has been tested against.
public struct InitiatorParameters: Sendable, Equatable {
    public static let defaultMaxRecvDataSegmentLength = 262_144
    public static let defaultMaxBurstLength = 16_776_192
    public static let defaultFirstBurstLength = 262_144
    public static let defaultInitialR2T = false
    public static let defaultImmediateData = true
    public static let defaultDefaultTime2Wait = 2
    /// 0: no task reassignment after a connection failure, which ErrorRecoveryLevel 0 cannot do anyway.
    public static let defaultDefaultTime2Retain = 0
    /// The kernel's iscsi_tcp supports one outstanding R2T and one connection per session.
    public static let defaultMaxOutstandingR2T = 1
    public static let defaultMaxConnections = 1
    /// The kernel initiator implements session recovery only (ErrorRecoveryLevel 0).
    public static let defaultErrorRecoveryLevel = 0

    /// In order of preference; empty means the RFC default, None.
    public var headerDigests: [Digest] = [.none]
    public var dataDigests: [Digest] = [.none]
    public var maxRecvDataSegmentLength = defaultMaxRecvDataSegmentLength
    public var maxBurstLength = defaultMaxBurstLength
    public var firstBurstLength = defaultFirstBurstLength
    public var initialR2T = defaultInitialR2T
    public var immediateData = defaultImmediateData
    public var maxOutstandingR2T = defaultMaxOutstandingR2T
    public var errorRecoveryLevel = defaultErrorRecoveryLevel
    public var defaultTime2Wait = defaultDefaultTime2Wait
    public var defaultTime2Retain = defaultDefaultTime2Retain
    public var maxConnections = defaultMaxConnections
    /// The kernel initiator requires in-order data (open-iscsi always offers Yes).
    public var dataPDUInOrder = true
    public var dataSequenceInOrder = true

    public init() {}

    /// Our value for each key, as text. Numbers outside the key's range are clamped into it
    /// (configuration is validated with messages earlier, in BootConfig; this keeps every
    /// offer legal whatever the caller passes).
    var preferences: [String: String] {
        var values: [String: String] = [:]
        for key in OperationalKey.allCases {
            let text = self[key]
            values[key.rawValue] = Int(text).map { String(Self.clamp(UInt64(clamping: $0), toRangeOf: key.rawValue)) } ?? text
        }
        return values
    }

    private static func clamp(_ number: UInt64, toRangeOf key: String) -> UInt64 {
        switch NegotiationTable.definition(for: key)?.type {
        case .numerical(let range, _), .declarative(.number(let range)):
            min(max(number, range.lowerBound), range.upperBound)
        default:
            number
        }
    }
}

/// The parameters of a logged-in connection and its session.
public struct NegotiatedParameters: Sendable, Equatable {
    public var headerDigest: Digest
    public var dataDigest: Digest
    /// What we declared: the largest data segment the target may send us.
    public var maxRecvDataSegmentLength: Int
    /// What the target declared (8192, the RFC 7143 §13.12 default, if it did not): the
    /// largest data segment we may send.
    public var maxXmitDataSegmentLength: Int
    public var maxBurstLength: Int
    public var firstBurstLength: Int
    public var initialR2T: Bool
    public var immediateData: Bool
    public var maxOutstandingR2T: Int
    public var errorRecoveryLevel: Int
    public var defaultTime2Wait: Int
    public var defaultTime2Retain: Int
    public var maxConnections: Int
    public var dataPDUInOrder: Bool
    public var dataSequenceInOrder: Bool
    public var targetPortalGroupTag: UInt16?
    public var targetAlias: String?
}
