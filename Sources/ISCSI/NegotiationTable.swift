/// Every login and text key of RFC 7143 §12–§13 (plus the RFC 3720 marker keys that
/// RFC 7143 §13.26 obsoleted), described once. The negotiation engine, the login state
/// machine and the domain validation tool all read this table instead of switching per key.
public enum NegotiationTable {
    /// The definition of `key`, or `nil` for a key we do not understand (including the
    /// `X-` and `X#` extension keys, RFC 7143 §13.5.2), which is answered `NotUnderstood`.
    public static func definition(for key: String) -> KeyDefinition? {
        definitionsByName[key]
    }

    /// The rule a responder's `answered` value breaks, given the originator `offered` for
    /// `key`, or the value in effect after this exchange (RFC 7143 §6.2). `Irrelevant` puts the
    /// RFC default in effect; for a declarative key the answer is the peer's own declaration.
    public static func check(key: String, offered: String, answered: String) -> Result<
        String, NegotiationViolation
    > {
        guard let definition = definition(for: key) else { return .failure(.unknownKey) }
        return definition.check(offered: offered, answered: answered)
    }

    /// All keys, in RFC 7143 §13 order.
    public static let definitions: [KeyDefinition] = [
        // §12.1 Security negotiation; the CHAP keys are driven by `CHAPExchange`.
        KeyDefinition(
            "AuthMethod", .list(["None", "CHAP", "SRP", "KRB5", "SPKM1", "SPKM2"]), default: "None",
            stage: .security, scope: .connection, senders: .both),
        KeyDefinition(
            "CHAP_A", .list(CHAPAlgorithm.allCases.map { String($0.rawValue) }), stage: .security,
            scope: .connection, senders: .both),
        KeyDefinition(
            "CHAP_I", .declarative(.number(0...255)), stage: .security, scope: .connection, senders: .both
        ),
        KeyDefinition(
            "CHAP_C", .declarative(.binary), stage: .security, scope: .connection, senders: .both),
        KeyDefinition(
            "CHAP_N", .declarative(.text), stage: .security, scope: .connection, senders: .both),
        KeyDefinition(
            "CHAP_R", .declarative(.binary), stage: .security, scope: .connection, senders: .both),
        // §13.1–§13.4
        KeyDefinition(
            "HeaderDigest", .list(Digest.allCases.map({ $0.rawValue })), default: "None", stage: .login,
            scope: .connection, senders: .both),
        KeyDefinition(
            "DataDigest", .list(Digest.allCases.map({ $0.rawValue })), default: "None", stage: .login,
            scope: .connection, senders: .both),
        KeyDefinition(
            "MaxConnections", .numerical(1...65_535, .minimum), default: "1", leadingOnly: true,
            irrelevantWhen: [.discoverySession]),
        KeyDefinition("SendTargets", .declarative(.text), stage: .fullFeature, senders: .initiator),
        // §13.4–§13.9: names, aliases, addresses
        KeyDefinition("TargetName", .declarative(.text), stage: .loginAndFullFeature, senders: .both),
        KeyDefinition("InitiatorName", .declarative(.text), stage: .login, senders: .initiator),
        KeyDefinition(
            "TargetAlias", .declarative(.text), stage: .loginAndFullFeature, senders: .target),
        KeyDefinition(
            "InitiatorAlias", .declarative(.text), stage: .loginAndFullFeature, senders: .initiator),
        KeyDefinition(
            "TargetAddress", .declarative(.text), stage: .loginAndFullFeature, senders: .target,
            mayRepeat: true),
        KeyDefinition(
            "TargetPortalGroupTag", .declarative(.number(0...65_535)), stage: .login, senders: .target),
        // §13.10–§13.21: operational keys
        KeyDefinition(
            "InitialR2T", .boolean(.or), default: "Yes", leadingOnly: true,
            irrelevantWhen: [.discoverySession]),
        KeyDefinition(
            "ImmediateData", .boolean(.and), default: "Yes", leadingOnly: true,
            irrelevantWhen: [.discoverySession]),
        KeyDefinition(
            "MaxRecvDataSegmentLength", .declarative(.number(dataLengthRange)), default: "8192",
            stage: .loginAndFullFeature, scope: .connection),
        KeyDefinition(
            "MaxBurstLength", .numerical(dataLengthRange, .minimum), default: "262144", leadingOnly: true,
            irrelevantWhen: [.discoverySession]),
        KeyDefinition(
            "FirstBurstLength", .numerical(dataLengthRange, .minimum), default: "65536",
            leadingOnly: true,
            irrelevantWhen: [.discoverySession, .initialR2TWithoutImmediateData]),
        KeyDefinition(
            "DefaultTime2Wait", .numerical(0...3600, .maximum), default: "2", leadingOnly: true),
        KeyDefinition(
            "DefaultTime2Retain", .numerical(0...3600, .minimum), default: "20", leadingOnly: true),
        KeyDefinition(
            "MaxOutstandingR2T", .numerical(1...65_535, .minimum), default: "1", leadingOnly: true,
            irrelevantWhen: [.discoverySession]),
        KeyDefinition(
            "DataPDUInOrder", .boolean(.or), default: "Yes", leadingOnly: true,
            irrelevantWhen: [.discoverySession]),
        KeyDefinition(
            "DataSequenceInOrder", .boolean(.or), default: "Yes", leadingOnly: true,
            irrelevantWhen: [.discoverySession]),
        KeyDefinition(
            "ErrorRecoveryLevel", .numerical(0...2, .minimum), default: "0", leadingOnly: true),
        KeyDefinition(
            "SessionType", .declarative(.oneOf(SessionType.allCases.map({ $0.rawValue }))), default: "Normal",
            leadingOnly: true, stage: .login, senders: .initiator),
        // §13.23–§13.24: added after RFC 3720, so an older peer may answer NotUnderstood.
        KeyDefinition(
            "TaskReporting", .list(["RFC3720", "ResponseFence", "FastAbort"]), default: "RFC3720",
            leadingOnly: true,
            irrelevantWhen: [.discoverySession], status: .addedAfterRFC3720),
        KeyDefinition(
            "iSCSIProtocolLevel", .numerical(0...31, .minimum), default: "1", leadingOnly: true,
            status: .addedAfterRFC3720),
        // RFC 3720 §A.3 markers, obsoleted by RFC 7143 §13.26: a responder answers Reject (or
        // No for IFMarker/OFMarker), never NotUnderstood.
        KeyDefinition(
            "IFMarker", .boolean(.and), default: "No", scope: .connection, status: .obsoleted),
        KeyDefinition(
            "OFMarker", .boolean(.and), default: "No", scope: .connection, status: .obsoleted),
        KeyDefinition(
            "IFMarkInt", .numericalRange(1...65_535), default: "2048", scope: .connection,
            status: .obsoleted),
        KeyDefinition(
            "OFMarkInt", .numericalRange(1...65_535), default: "2048", scope: .connection,
            status: .obsoleted),
    ]

    /// MaxRecvDataSegmentLength, MaxBurstLength, FirstBurstLength: 512 to 2^24-1 (RFC 7143 §13.12–§13.14).
    public static let dataLengthRange: ClosedRange<UInt64> = 512...16_777_215

    // The first definition of a name wins. A loop: Embedded Swift rejects
    // Dictionary(_:uniquingKeysWith:) (it casts dynamically).
    private static let definitionsByName: [String: KeyDefinition] = {
        var byName: [String: KeyDefinition] = [:]
        for definition in definitions where byName[definition.name] == nil {
            byName[definition.name] = definition
        }
        return byName
    }()
}

/// The constants a responder may answer instead of a value (RFC 7143 §6.2).
public enum SpecialAnswer: String, Sendable, CaseIterable {
    case reject = "Reject"
    case irrelevant = "Irrelevant"
    case notUnderstood = "NotUnderstood"
}

/// What RFC 7143 says about one key.
public struct KeyDefinition: Sendable {
    public let name: String
    public let type: KeyType
    /// The value in effect when nobody sends the key; `nil` for keys without one (names).
    public let rfcDefault: String?
    /// "LO" in RFC 7143 §13: negotiated only on the leading connection of a session.
    public let leadingOnly: Bool
    public let stage: KeyStage
    public let scope: KeyScope
    public let senders: KeySenders
    public let irrelevantWhen: [IrrelevanceCondition]
    /// Whether a peer may send the key more than once (RFC 7143 §6.2 allows it for TargetAddress).
    public let mayRepeat: Bool
    public let status: KeyStatus

    init(
        _ name: String, _ type: KeyType, default rfcDefault: String? = nil, leadingOnly: Bool = false,
        stage: KeyStage = .operational, scope: KeyScope = .session, senders: KeySenders = .both,
        irrelevantWhen: [IrrelevanceCondition] = [], mayRepeat: Bool = false,
        status: KeyStatus = .required
    ) {
        self.name = name
        self.type = type
        self.rfcDefault = rfcDefault
        self.leadingOnly = leadingOnly
        self.stage = stage
        self.scope = scope
        self.senders = senders
        self.irrelevantWhen = irrelevantWhen
        self.mayRepeat = mayRepeat
        self.status = status
    }

    /// The value in effect after a responder `answered` our `offered` value; see
    /// `NegotiationTable.check`.
    public func check(offered: String, answered: String) -> Result<String, NegotiationViolation> {
        if let special = SpecialAnswer(rawValue: answered) {
            return checkSpecial(special, offered: offered)
        }
        switch type {
        case .list(let valid):
            // RFC 7143 §6.2.1: the responder picks one value of the offered list ("None" only
            // if it was offered), never a list and never a value we did not offer.
            let offeredValues = offered.split(separator: ",", omittingEmptySubsequences: false).map(
                String.init)
            guard offeredValues.contains(answered) else {
                return .failure(.notAmongOffered(offered: offered))
            }
            guard valid.contains(answered) else { return .failure(.notAValidValue(valid: valid)) }
            return .success(answered)
        case .boolean(let function):
            guard let ours = YesNo.parse(offered) else { return .failure(.invalidOffer) }
            guard let theirs = YesNo.parse(answered) else { return .failure(.notABoolean) }
            // RFC 7143 §6.2.2: the answer is the result of OR/AND over both values, so it
            // cannot undo an offer that decides the outcome (OR with Yes, AND with No).
            switch function {
            case .or where ours && !theirs: return .failure(.orRequiresYes)
            case .and where !ours && theirs: return .failure(.andRequiresNo)
            default: return .success(YesNo.format(theirs))
            }
        case .numerical(let range, let function):
            guard let ours = NumericalValue.parse(offered) else { return .failure(.invalidOffer) }
            guard let theirs = NumericalValue.parse(answered) else { return .failure(.notANumber) }
            // RFC 7143 §13: each key's range; §6.2.2: Minimum answers at most our offer,
            // Maximum at least.
            guard range.contains(theirs) else { return .failure(.outOfRange(range)) }
            switch function {
            case .minimum where theirs > ours: return .failure(.aboveOffer(offered: ours))
            case .maximum where theirs < ours: return .failure(.belowOffer(offered: ours))
            default: return .success(String(theirs))
            }
        case .numericalRange(let range):
            guard let offeredRange = NumericalValue.parseRange(offered) else {
                return .failure(.invalidOffer)
            }
            guard let theirs = NumericalValue.parse(answered) else { return .failure(.notANumber) }
            // RFC 3720 §A.3.2: one number inside the offered range.
            guard range.contains(theirs), offeredRange.contains(theirs) else {
                return .failure(.outOfRange(offeredRange.clamped(to: range)))
            }
            return .success(String(theirs))
        case .declarative(let declared):
            // RFC 7143 §6.2: a declaration is not negotiated; only its syntax is checked.
            if let violation = declared.validate(answered) { return .failure(violation) }
            return .success(answered)
        }
    }

    /// The outcome an offer of `value` decides by itself, or `nil` when the responder's answer
    /// decides it. RFC 7143 §6.2.2: for a Boolean key whose result function is OR and the
    /// value offered is Yes, or AND and No, the result is the offered value whatever the
    /// responder holds, and the responder may leave the key unanswered (LIO does so for
    /// DataPDUInOrder=Yes and DataSequenceInOrder=Yes).
    public func outcomeDecided(byOffer value: String) -> String? {
        guard case .boolean(let function) = type, let offered = YesNo.parse(value) else { return nil }
        switch function {
        case .or where offered, .and where !offered: return YesNo.format(offered)
        default: return nil
        }
    }

    /// Whether `value` is well-formed for this key when a peer offers or declares it;
    /// `nil` when it is, otherwise the rule it breaks.
    public func validateOffer(_ value: String) -> NegotiationViolation? {
        switch type {
        case .list(let valid):
            // RFC 7143 §6.2.1: values a responder does not know are ignored, not errors.
            let values = value.split(separator: ",", omittingEmptySubsequences: false)
            return values.contains(where: { $0.isEmpty }) ? .notAValidValue(valid: valid) : nil
        case .boolean:
            return YesNo.parse(value) == nil ? .notABoolean : nil
        case .numerical(let range, _):
            guard let number = NumericalValue.parse(value) else { return .notANumber }
            return range.contains(number) ? nil : .outOfRange(range)
        case .numericalRange(let range):
            guard let offered = NumericalValue.parseRange(value) else { return .notANumber }
            return range.overlaps(offered) ? nil : .outOfRange(range)
        case .declarative(let declared):
            return declared.validate(value)
        }
    }

    /// Whether the key does not apply, given the session type and the values in effect.
    func isIrrelevant(in sessionType: SessionType, valueOf: (String) -> String?) -> Bool {
        irrelevantWhen.contains { condition in
            switch condition {
            case .discoverySession:
                sessionType == .discovery
            case .initialR2TWithoutImmediateData:
                valueOf("InitialR2T") == YesNo.yes && valueOf("ImmediateData") == YesNo.no
            }
        }
    }

    private func checkSpecial(_ special: SpecialAnswer, offered: String) -> Result<String, NegotiationViolation> {
        switch special {
        case .irrelevant:
            // RFC 7143 §6.2: "the negotiation is not considered as failed if the response is Irrelevant".
            return .success(rfcDefault ?? "")
        case .notUnderstood where status == .addedAfterRFC3720:
            // RFC 7143 §13.23–§13.24: an RFC 3720 target never heard of the key; its default holds.
            return .success(rfcDefault ?? "")
        case .notUnderstood where status == .obsoleted:
            // RFC 7143 §13.26 asks for Reject (or No), but a target written after RFC 3720 may
            // not know the marker keys at all; either way markers stay off.
            return .success(rfcDefault ?? "")
        case .notUnderstood:
            // RFC 7143 §6.2: every key of the RFC must be supported and "MUST NOT be answered
            // with NotUnderstood".
            return .failure(.notUnderstood)
        case .reject where status == .obsoleted:
            // RFC 7143 §13.26: Reject turns the obsolete marker off.
            return .success(rfcDefault ?? "")
        case .reject:
            // RFC 7143 §6.2: after Reject "the negotiated key is left at its current value (or
            // default if no value was set)", and the proposer may end the login if that value
            // is not acceptable to it. Acceptable here: a value the responder could have
            // answered to our offer under the key's result function.
            guard let rfcDefault, case .success = check(offered: offered, answered: rfcDefault) else {
                return .failure(.rejected)
            }
            return .success(rfcDefault)
        }
    }
}

/// How a key's value is formed and, for negotiated keys, the result function (RFC 7143 §6.2).
public enum KeyType: Sendable, Equatable {
    /// A list of values in order of preference; the responder picks the first it supports
    /// (RFC 7143 §6.2.1). The associated values are those RFC 7143 defines.
    case list([String])
    /// `Yes`/`No`, combined with OR or AND (RFC 7143 §6.2.2).
    case boolean(BooleanFunction)
    /// A number in a range, combined with Minimum or Maximum (RFC 7143 §6.2.2).
    case numerical(ClosedRange<UInt64>, NumericalFunction)
    /// Offered as `low~high`, answered with one number inside (RFC 3720 §A.3.2 marker intervals).
    case numericalRange(ClosedRange<UInt64>)
    /// Stated by its sender, never answered (RFC 7143 §6.2: "declarative").
    case declarative(DeclaredValue)
}

public enum BooleanFunction: String, Sendable, Equatable {
    case or = "OR"
    case and = "AND"
}

public enum NumericalFunction: String, Sendable, Equatable {
    case minimum = "Minimum"
    case maximum = "Maximum"
}

/// The syntax of a declared value (RFC 7143 §5.1 / §6.1).
public enum DeclaredValue: Sendable, Equatable {
    case number(ClosedRange<UInt64>)
    /// UTF-8 text of at most 255 bytes (RFC 7143 §6.1 simple-value limit).
    case text
    case oneOf([String])
    /// A `0x`/`0b` binary value (RFC 7143 §6.1), e.g. a CHAP challenge.
    case binary

    /// `nil` when `value` is well-formed, otherwise the rule it breaks.
    func validate(_ value: String) -> NegotiationViolation? {
        switch self {
        case .number(let range):
            guard let number = NumericalValue.parse(value) else { return .notANumber }
            return range.contains(number) ? nil : .outOfRange(range)
        case .text:
            return value.utf8.count <= DeclaredValue.maximumTextLength
                ? nil : .tooLong(limit: DeclaredValue.maximumTextLength)
        case .oneOf(let valid):
            return valid.contains(value) ? nil : .notAValidValue(valid: valid)
        case .binary:
            return (try? BinaryValue.decode(value)) == nil ? .notABinaryValue : nil
        }
    }

    /// RFC 7143 §6.1: "the maximum length of a simple-value ... is 255 bytes".
    public static let maximumTextLength = 255
}

/// When in the login a key may be sent (RFC 7143 §13 "Use").
public enum KeyStage: String, Sendable, Equatable {
    /// Security negotiation only (AuthMethod and the authentication keys).
    case security
    /// Operational negotiation only.
    case operational
    /// Either login stage ("IO": initialize only).
    case login
    /// Login and full feature phase ("ALL").
    case loginAndFullFeature
    /// Full feature phase only ("FFPO"), in Text requests.
    case fullFeature
}

/// RFC 7143 §13 "Scope": SW (session-wide) or CO (connection-only).
public enum KeyScope: String, Sendable, Equatable {
    case session
    case connection
}

/// RFC 7143 §13 "Senders".
public enum KeySenders: String, Sendable, Equatable {
    case initiator
    case target
    case both
}

/// RFC 7143 §13 "Irrelevant when".
public enum IrrelevanceCondition: Sendable, Equatable {
    case discoverySession
    /// FirstBurstLength (RFC 7143 §13.14): InitialR2T=Yes and ImmediateData=No.
    case initialR2TWithoutImmediateData
}

/// How widely a key is implemented, which decides what a NotUnderstood or Reject answer means.
public enum KeyStatus: Sendable, Equatable {
    /// Every implementation must support it (RFC 7143 §13): NotUnderstood is a failure.
    case required
    /// New in RFC 7143/7144 (TaskReporting, iSCSIProtocolLevel): an RFC 3720 peer answers
    /// NotUnderstood and the RFC default stays in effect.
    case addedAfterRFC3720
    /// RFC 3720 markers (RFC 7143 §13.26): Reject means the marker stays off.
    case obsoleted
}

/// The rule a value breaks. The description states the rule; `NegotiationError` adds the
/// key and the value.
public enum NegotiationViolation: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownKey
    case notAmongOffered(offered: String)
    case notAValidValue(valid: [String])
    case notABoolean
    case notANumber
    case notABinaryValue
    case outOfRange(ClosedRange<UInt64>)
    case tooLong(limit: Int)
    /// Minimum result function: the answer exceeds what we offered.
    case aboveOffer(offered: UInt64)
    /// Maximum result function: the answer is below what we offered.
    case belowOffer(offered: UInt64)
    /// OR result function: we offered Yes, so the result must be Yes.
    case orRequiresYes
    /// AND result function: we offered No, so the result must be No.
    case andRequiresNo
    case rejected
    case notUnderstood
    /// The offer itself was malformed (only a validation tool can cause this).
    case invalidOffer
    /// A special answer (Reject, Irrelevant, NotUnderstood) to a key nobody offered.
    case answerWithoutOffer
    /// The key was already negotiated in this login (RFC 7143 §6.2).
    case repeated
    case notSentByTarget
    case wrongStage(KeyStage)
    /// FirstBurstLength must not exceed MaxBurstLength (RFC 7143 §13.14).
    case firstBurstAboveMaxBurst(maxBurstLength: UInt64)

    public var description: String {
        switch self {
        case .unknownKey: "the key is not one of RFC 7143"
        case .notAmongOffered(let offered):
            "a list answer must be one of the offered values (\(offered)) (RFC 7143 §6.2.1)"
        case .notAValidValue(let valid): "the value must be one of \(valid.joined(separator: ", "))"
        case .notABoolean: "the value must be Yes or No"
        case .notANumber: "the value must be a decimal or 0x hexadecimal number (RFC 7143 §6.1)"
        case .notABinaryValue:
            "the value must be a 0x hexadecimal or 0b base64 binary value (RFC 7143 §6.1)"
        case .outOfRange(let range): "the value must lie in \(range.lowerBound)...\(range.upperBound)"
        case .tooLong(let limit): "the value must be at most \(limit) bytes (RFC 7143 §6.1)"
        case .aboveOffer(let offered):
            "the result function is Minimum, so the answer must not exceed our offer \(offered) (RFC 7143 §6.2.2)"
        case .belowOffer(let offered):
            "the result function is Maximum, so the answer must not be below our offer \(offered) (RFC 7143 §6.2.2)"
        case .orRequiresYes:
            "the result function is OR and we offered Yes, so the answer must be Yes (RFC 7143 §6.2.2)"
        case .andRequiresNo:
            "the result function is AND and we offered No, so the answer must be No (RFC 7143 §6.2.2)"
        case .rejected:
            "the target rejected the key, which leaves its RFC default in effect, and our offer does not allow that value (RFC 7143 §6.2)"
        case .notUnderstood:
            "the target answered NotUnderstood, but RFC 7143 §13 requires every implementation to support this key"
        case .invalidOffer: "the offered value is not valid for this key"
        case .answerWithoutOffer: "this is an answer, but the key was not offered"
        case .repeated: "the key was already negotiated in this login (RFC 7143 §6.2)"
        case .notSentByTarget: "only an initiator may send this key (RFC 7143 §13)"
        case .wrongStage(let stage):
            "this key belongs to the \(stage.rawValue) stage, not to operational negotiation"
        case .firstBurstAboveMaxBurst(let maxBurst):
            "FirstBurstLength must not exceed MaxBurstLength \(maxBurst) (RFC 7143 §13.14)"
        }
    }
}

/// RFC 7143 §6.1 boolean values.
public enum YesNo {
    public static let yes = "Yes"
    public static let no = "No"

    public static func parse(_ value: String) -> Bool? {
        switch value {
        case yes: true
        case no: false
        default: nil
        }
    }

    public static func format(_ value: Bool) -> String { value ? yes : no }
}

/// RFC 7143 §6.1 numerical values: a decimal-constant or a hex-constant (`0x`/`0X`), less than 2^64.
enum NumericalValue {
    static func parse(_ value: String) -> UInt64? {
        let utf8 = Array(value.utf8)
        if utf8.count > 2, utf8[0] == UInt8(ascii: "0"), utf8[1] | 0x20 == UInt8(ascii: "x") {
            let digits = utf8[2...]
            guard digits.allSatisfy(BinaryValue.isHexDigit) else { return nil }
            return UInt64(String(decoding: digits, as: UTF8.self), radix: 16)
        }
        guard !utf8.isEmpty, utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return UInt64(value)
    }

    /// `low~high` (RFC 3720 §A.3.2 numeric-range), `low <= high`.
    static func parseRange(_ value: String) -> ClosedRange<UInt64>? {
        let bounds = value.split(separator: "~", omittingEmptySubsequences: false)
        guard bounds.count == 2, let low = parse(String(bounds[0])),
            let high = parse(String(bounds[1])), low <= high
        else {
            return nil
        }
        return low...high
    }
}
