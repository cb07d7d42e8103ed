import ISCSI

/// A negotiable key the domain validation tool sweeps, with the values it tries: a key of the
/// keyed parameter view. Ranges and defaults come from `NegotiationTable` (RFC 7143 §13); the
/// interior values are chosen where targets' behaviour changes (a page, open-iscsi's
/// defaults, one step past a minimum). MaxRecvDataSegmentLength is ours: the largest data
/// segment the target may send us; the target's own declaration is observed and reported,
/// not swept (it is the target's to choose, §13.12).
public typealias SweepKey = OperationalKey

extension OperationalKey {
    /// The keys `dvt` sweeps: all but MaxConnections (a session of one connection is all
    /// the initiator ever opens).
    public static let swept: [OperationalKey] = allCases.filter { $0 != .maxConnections }

    /// Interior values tried besides the RFC minimum, default and maximum.
    private var interiorValues: [UInt64] {
        switch self {
        // 4096: a page; 262144: open-iscsi's MaxRecvDataSegmentLength and FirstBurstLength.
        case .maxRecvDataSegmentLength: [4096, 262_144]
        case .maxBurstLength: [8192, 1_048_576]
        case .firstBurstLength: [8192, 262_144]
        // 2: the smallest value that lets a target pipeline R2Ts; 8: a typical queue.
        case .maxOutstandingR2T: [2, 8]
        // Each level adds a recovery class (RFC 7143 §7.1.5): all three are distinct.
        case .errorRecoveryLevel: [1]
        case .defaultTime2Wait: [20]
        case .defaultTime2Retain: [60]
        default: []
        }
    }

    /// The values swept by default: every value of a list or boolean key; for a numerical
    /// key its RFC minimum, default, maximum and the interior values, in increasing order.
    public var standardValues: [String] {
        switch definition?.type {
        case .list(let values)?:
            return values
        case .boolean?:
            return ["Yes", "No"]
        case .numerical(let range, _)?, .declarative(.number(let range))?:
            var numbers = [range.lowerBound, range.upperBound] + interiorValues.filter(range.contains)
            if let text = definition?.rfcDefault, let value = UInt64(text) { numbers.append(value) }
            return Set(numbers).sorted().map { String($0) }
        default:
            return []
        }
    }

    /// Whether `value` is one this key can be offered with; nil when it is, else why not.
    public func problem(with value: String) -> String? {
        guard let definition else { return "\(rawValue) is not in the negotiation table" }
        if case .list(let valid) = definition.type {
            let unknown = value.split(separator: ",", omittingEmptySubsequences: false).filter { !valid.contains(String($0)) }
            return unknown.isEmpty ? nil : "\(rawValue)=\(value): expected \(valid.joined(separator: " or ")) (comma-separated list)"
        }
        return definition.validateOffer(value).map { "\(rawValue)=\(value): \($0)" }
    }

    /// Puts `value` (already checked with `problem(with:)`) into `parameters`.
    func apply(_ value: String, to parameters: inout InitiatorParameters) {
        parameters[self] = value
    }

    /// What we offered for this key, as text.
    func offered(in parameters: InitiatorParameters) -> String {
        parameters[self]
    }

    /// The value in effect after the login, as text.
    public func negotiated(in parameters: NegotiatedParameters) -> String {
        parameters[self].text
    }
}

/// The keys a sweep varies and the values of each; every other key keeps our default.
public struct KeySpace: Sendable {
    public struct Dimension: Sendable {
        public var key: SweepKey
        public var values: [String]
    }

    public internal(set) var dimensions: [Dimension]

    /// `keys` with their standard values, `overrides` replacing the values of some keys.
    public init(keys: [SweepKey] = SweepKey.swept, overrides: [SweepKey: [String]] = [:]) throws(KeySpaceError) {
        dimensions = []
        for key in keys {
            let values = overrides[key] ?? key.standardValues
            guard !values.isEmpty else { throw KeySpaceError("\(key.rawValue) has no values to try") }
            if let problem = values.lazy.compactMap(key.problem(with:)).first { throw KeySpaceError(problem) }
            dimensions.append(Dimension(key: key, values: values))
        }
    }

    /// The login parameters of one combination (value indices, one per dimension); keys not
    /// swept keep their value in `base`.
    ///
    /// FirstBurstLength is offered at most at MaxBurstLength: RFC 7143 §13.14 forbids more,
    /// and an offer that breaks it would test the initiator, not the target.
    public func parameters(for row: [Int], base: InitiatorParameters = InitiatorParameters()) -> InitiatorParameters {
        var parameters = base
        for (dimension, index) in zip(dimensions, row) where dimension.values.indices.contains(index) {
            dimension.key.apply(dimension.values[index], to: &parameters)
        }
        parameters.firstBurstLength = min(parameters.firstBurstLength, parameters.maxBurstLength)
        return parameters
    }
}

/// A `--keys` or `--values` choice that cannot be swept.
public struct KeySpaceError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
