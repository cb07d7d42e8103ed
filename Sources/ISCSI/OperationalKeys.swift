/// The operational keys (RFC 7143 §13) this initiator offers, a person may override and the
/// reports show: a keyed view of `InitiatorParameters` and `NegotiatedParameters`, so that
/// overrides, the DVT sweep and the JSON reports go through one list instead of spelling
/// the keys again. Each name is a key of `NegotiationTable` (a test holds them to it), whose
/// definition gives the type and range.
public enum OperationalKey: String, CaseIterable, Sendable {
    case headerDigest = "HeaderDigest"
    case dataDigest = "DataDigest"
    case maxRecvDataSegmentLength = "MaxRecvDataSegmentLength"
    case maxBurstLength = "MaxBurstLength"
    case firstBurstLength = "FirstBurstLength"
    case initialR2T = "InitialR2T"
    case immediateData = "ImmediateData"
    case maxOutstandingR2T = "MaxOutstandingR2T"
    case dataPDUInOrder = "DataPDUInOrder"
    case dataSequenceInOrder = "DataSequenceInOrder"
    case errorRecoveryLevel = "ErrorRecoveryLevel"
    case defaultTime2Wait = "DefaultTime2Wait"
    case defaultTime2Retain = "DefaultTime2Retain"
    case maxConnections = "MaxConnections"

    /// The key's RFC definition; nil never happens for a key of this list.
    public var definition: KeyDefinition? { NegotiationTable.definition(for: rawValue) }

    /// The key named `name` (as in the RFC, case-sensitive), if it is one of ours.
    public init?(named name: String) { self.init(rawValue: name) }
}

/// A parameter's value as a report shows it: text (digests), a number, or a boolean.
public enum ParameterValue: Sendable, Equatable {
    case text(String)
    case number(Int)
    case boolean(Bool)

    /// The value as RFC 7143 writes it (`Yes`/`No` for booleans).
    public var text: String {
        switch self {
        case .text(let text): text
        case .number(let number): String(number)
        case .boolean(let flag): YesNo.format(flag)
        }
    }
}

extension InitiatorParameters {
    /// Our offer for `key`, as text; digest lists in order of preference, an empty list
    /// offered as None. Setting parses the text: a digest list, a decimal number (text that
    /// is not one leaves the value as it was) or Yes/No (anything but Yes is No).
    public subscript(key: OperationalKey) -> String {
        get {
            func digests(_ list: [Digest]) -> String { (list.isEmpty ? [.none] : list).map { $0.rawValue }.joined(separator: ",") }
            switch key {
            case .headerDigest: return digests(headerDigests)
            case .dataDigest: return digests(dataDigests)
            case .maxRecvDataSegmentLength: return String(maxRecvDataSegmentLength)
            case .maxBurstLength: return String(maxBurstLength)
            case .firstBurstLength: return String(firstBurstLength)
            case .initialR2T: return YesNo.format(initialR2T)
            case .immediateData: return YesNo.format(immediateData)
            case .maxOutstandingR2T: return String(maxOutstandingR2T)
            case .dataPDUInOrder: return YesNo.format(dataPDUInOrder)
            case .dataSequenceInOrder: return YesNo.format(dataSequenceInOrder)
            case .errorRecoveryLevel: return String(errorRecoveryLevel)
            case .defaultTime2Wait: return String(defaultTime2Wait)
            case .defaultTime2Retain: return String(defaultTime2Retain)
            case .maxConnections: return String(maxConnections)
            }
        }
        set {
            let digests = newValue.split(separator: ",").compactMap { Digest(rawValue: String($0)) }
            let number = Int(newValue)
            let yes = newValue == YesNo.yes
            switch key {
            case .headerDigest: headerDigests = digests
            case .dataDigest: dataDigests = digests
            case .maxRecvDataSegmentLength: maxRecvDataSegmentLength = number ?? maxRecvDataSegmentLength
            case .maxBurstLength: maxBurstLength = number ?? maxBurstLength
            case .firstBurstLength: firstBurstLength = number ?? firstBurstLength
            case .initialR2T: initialR2T = yes
            case .immediateData: immediateData = yes
            case .maxOutstandingR2T: maxOutstandingR2T = number ?? maxOutstandingR2T
            case .dataPDUInOrder: dataPDUInOrder = yes
            case .dataSequenceInOrder: dataSequenceInOrder = yes
            case .errorRecoveryLevel: errorRecoveryLevel = number ?? errorRecoveryLevel
            case .defaultTime2Wait: defaultTime2Wait = number ?? defaultTime2Wait
            case .defaultTime2Retain: defaultTime2Retain = number ?? defaultTime2Retain
            case .maxConnections: maxConnections = number ?? maxConnections
            }
        }
    }
}

extension NegotiatedParameters {
    /// The value in effect for `key` after the login.
    public subscript(key: OperationalKey) -> ParameterValue {
        switch key {
        case .headerDigest: .text(headerDigest.rawValue)
        case .dataDigest: .text(dataDigest.rawValue)
        case .maxRecvDataSegmentLength: .number(maxRecvDataSegmentLength)
        case .maxBurstLength: .number(maxBurstLength)
        case .firstBurstLength: .number(firstBurstLength)
        case .initialR2T: .boolean(initialR2T)
        case .immediateData: .boolean(immediateData)
        case .maxOutstandingR2T: .number(maxOutstandingR2T)
        case .dataPDUInOrder: .boolean(dataPDUInOrder)
        case .dataSequenceInOrder: .boolean(dataSequenceInOrder)
        case .errorRecoveryLevel: .number(errorRecoveryLevel)
        case .defaultTime2Wait: .number(defaultTime2Wait)
        case .defaultTime2Retain: .number(defaultTime2Retain)
        case .maxConnections: .number(maxConnections)
        }
    }

    /// Every operational key with its value, in `OperationalKey` order, and
    /// MaxXmitDataSegmentLength (the target's MaxRecvDataSegmentLength: what we may send)
    /// after MaxRecvDataSegmentLength: what the reports show as "negotiated".
    public var keyed: [(name: String, value: ParameterValue)] {
        var pairs: [(name: String, value: ParameterValue)] = []
        for key in OperationalKey.allCases {
            pairs.append((key.rawValue, self[key]))
            if key == .maxRecvDataSegmentLength { pairs.append(("MaxXmitDataSegmentLength", .number(maxXmitDataSegmentLength))) }
        }
        return pairs
    }
}
