import ISCSI
import Initiator

/// Where a sweep logs in and which LUN it exercises.
public struct SweepTarget: Sendable {
    public var portal: Portal
    /// Who we are and how we authenticate; the sweep replaces `parameters` per combination.
    /// The ISID stays the same, so a session left behind by a failed combination is
    /// reinstated by the next login (RFC 7143 §6.3.5) instead of piling up on the target.
    public var login: LoginConfiguration
    public var lun: LogicalUnit
    public var timeoutMilliseconds: Int

    public init(portal: Portal, login: LoginConfiguration, lun: LogicalUnit, timeoutMilliseconds: Int) {
        self.portal = portal
        self.login = login
        self.lun = lun
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// One combination's outcome: what was offered and negotiated per key, whether the target
/// broke a result function, and whether the test operation passed.
public struct CombinationResult: Sendable, Equatable {
    public struct KeyOutcome: Sendable, Equatable {
        public var key: SweepKey
        public var offered: String
        /// The value in effect; nil when the login failed before it was known.
        public var negotiated: String?
        /// The RFC 7143 rule the target's answer breaks, if any.
        public var violation: String?
    }

    public var index: Int
    public var keys: [KeyOutcome]
    /// The target's declared MaxRecvDataSegmentLength: the largest PDU we sent it.
    public var targetMaxRecvDataSegmentLength: Int?
    public var failure: ValidationFailure?
    /// Rules the target bent without harming the data; they do not fail the combination.
    public var deviations: [ProtocolDeviation] = []
    public var statistics = IOStatistics()
    /// The kernel path: the block device the operation ran on, how long it took, what a
    /// script printed last, and the kernel's log lines about the session.
    public var device: String?
    public var operationMilliseconds: Int?
    public var output: [String] = []
    public var kernelLog: [String] = []

    public var passed: Bool { failure == nil && keys.allSatisfy { $0.violation == nil } }

    /// "pass", "pass*" (passed, with deviations listed) or "fail".
    public var verdict: String { passed ? (deviations.isEmpty ? "pass" : "pass*") : "fail" }
}

/// A sweep of a key space against one target: for each combination, login with those
/// parameters, a check of what the target negotiated, the test operation, logout.
public struct Sweep: Sendable {
    public let space: KeySpace
    public let combinations: CoveringArray
    public let target: SweepTarget
    public let mode: ValidationMode
    /// Mixed into every written pattern: a rerun never reads back an earlier run's blocks.
    public let seed: UInt64

    public init(space: KeySpace, exhaustive: Bool, target: SweepTarget, mode: ValidationMode, seed: UInt64) {
        let sizes = space.dimensions.map({ $0.values.count })
        self.init(
            space: space, combinations: exhaustive ? .exhaustive(domainSizes: sizes) : .pairwise(domainSizes: sizes), target: target,
            mode: mode, seed: seed)
    }

    public init(space: KeySpace, combinations: CoveringArray, target: SweepTarget, mode: ValidationMode, seed: UInt64) {
        self.space = space
        self.combinations = combinations
        self.target = target
        self.mode = mode
        self.seed = seed
    }

    public var count: Int { combinations.count }

    /// Runs combination `index` (0..<count). Failures are recorded, never thrown: the sweep
    /// goes on with the next combination on a fresh connection.
    public func run(_ index: Int) -> CombinationResult {
        let parameters = space.parameters(for: combinations.row(at: index), base: target.login.parameters)
        var result = CombinationResult(
            index: index,
            keys: space.dimensions.map { .init(key: $0.key, offered: $0.key.offered(in: parameters), negotiated: nil, violation: nil) })
        var configuration = target.login
        configuration.parameters = parameters
        var session: Session
        do {
            session = try Session.login(at: target.portal, configuration: configuration, timeoutMilliseconds: target.timeoutMilliseconds)
        } catch {
            result.failure = loginFailure(error, keys: &result.keys)
            return result
        }
        let negotiated = session.parameters
        result.targetMaxRecvDataSegmentLength = negotiated.maxXmitDataSegmentLength
        for position in result.keys.indices {
            Self.check(&result.keys[position], negotiated: negotiated)
        }
        let exercise = IOExercise(
            lun: target.lun, mode: mode, maxBurstLength: negotiated.maxBurstLength, firstBurstLength: negotiated.firstBurstLength,
            seed: seed ^ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        var deviations: [ProtocolDeviation] = []
        do {
            result.statistics = try exercise.run(on: &session, deviations: &deviations)
        } catch {
            result.failure = error
        }
        result.deviations = session.protocolDeviations + deviations
        // A failed session is dropped, not logged out: its state is unknown, and the next
        // login's session reinstatement cleans up on the target.
        guard result.failure == nil else { return result }
        do { try session.logout() } catch { result.failure = ValidationFailure(.logout, "\(error)") }
        return result
    }

    /// A failed login; a negotiation failure is pinned on its key.
    private func loginFailure(_ error: InitiatorError, keys: inout [CombinationResult.KeyOutcome]) -> ValidationFailure {
        guard case .login(.failed(.negotiation(let negotiation), _)) = error else { return ValidationFailure(.login, "\(error)") }
        return Self.negotiationFailure(negotiation, keys: &keys)
    }

    /// A login refused over a key's value, pinned on that key.
    static func negotiationFailure(_ negotiation: NegotiationError, keys: inout [CombinationResult.KeyOutcome]) -> ValidationFailure {
        if let position = keys.firstIndex(where: { $0.key.rawValue == negotiation.key }) {
            keys[position].negotiated = negotiation.value
            keys[position].violation = negotiation.violation.description
        }
        return ValidationFailure(.negotiation, negotiation.description)
    }

    /// Records the value in effect and checks it against the key's result function
    /// (`NegotiationTable.check`) independently of the login's own negotiator. A key the
    /// login did not offer (FirstBurstLength when irrelevant, §13.14) has nothing to check.
    static func check(_ outcome: inout CombinationResult.KeyOutcome, negotiated: NegotiatedParameters) {
        let value = outcome.key.negotiated(in: negotiated)
        outcome.negotiated = value
        // Irrelevant once InitialR2T=Yes and ImmediateData=No are in effect, whoever chose them.
        if outcome.key == .firstBurstLength && negotiated.initialR2T && !negotiated.immediateData { return }
        if case .failure(let violation) = NegotiationTable.check(key: outcome.key.rawValue, offered: outcome.offered, answered: value) {
            outcome.violation = violation.description
        }
    }
}
