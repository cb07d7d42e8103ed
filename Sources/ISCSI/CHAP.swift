/// The initiator's side of CHAP authentication (RFC 1994, RFC 7143 §12.1.3), one-way or
/// mutual. A value: the login state machine passes the target's keys in and sends what comes
/// back. No randomness inside: the caller supplies the random challenge sent for mutual CHAP.
///
///     I→T  CHAP_A=<offer>
///     T→I  CHAP_A=<chosen> CHAP_I=<id> CHAP_C=<challenge>          → respond(to:)
///     I→T  CHAP_N=<user> CHAP_R=<response> [CHAP_I=<id> CHAP_C=<challenge>]  (mutual)
///     T→I  CHAP_N=<target user> CHAP_R=<response>                  → verifyTarget(_:)
public struct CHAPExchange: Sendable {
    /// RFC 7143 §12.1.3 lets a challenge be long; tgt and open-iscsi accept at most 1024 bytes.
    public static let maximumChallengeLength = 1024

    private enum State: Sendable {
        case awaitingChallenge
        /// We answered; for mutual CHAP, the target's response to `algorithm` is due.
        case awaitingTargetResponse(algorithm: CHAPAlgorithm)
        case finished
    }

    private let credentials: CHAPCredentials
    private let mutual: CHAPCredentials?
    private let algorithms: [CHAPAlgorithm]
    private let mutualIdentifier: UInt8
    private let mutualChallenge: [UInt8]
    private var state = State.awaitingChallenge

    /// - Parameters:
    ///   - credentials: how we authenticate to the target.
    ///   - mutual: how the target must authenticate to us; `nil` for one-way CHAP.
    ///   - algorithms: offered in this order. MD5 alone by default: tgt numbers SHA-1 as 7,
    ///     so SHA-256 is offered only when configured.
    ///   - mutualChallenge: random bytes from the caller, sent to the target as our CHAP_C for
    ///     mutual CHAP (1 to 1024 bytes; 16 or more is customary). Its first byte doubles as our
    ///     CHAP_I: RFC 1994 §4.1 only asks the identifier to change with each challenge, and
    ///     this program sends one challenge per connection.
    public init(
        credentials: CHAPCredentials, mutual: CHAPCredentials?, algorithms: [CHAPAlgorithm] = [.md5],
        mutualChallenge: [UInt8]
    ) {
        self.credentials = credentials
        self.mutual = mutual
        self.algorithms = algorithms.isEmpty ? [.md5] : algorithms
        self.mutualIdentifier = mutualChallenge.first ?? 0
        self.mutualChallenge = mutualChallenge
    }

    /// Whether the exchange has finished successfully (after `respond` for one-way CHAP,
    /// after `verifyTarget` for mutual CHAP).
    public var isComplete: Bool {
        if case .finished = state { return true }
        return false
    }

    /// `CHAP_A` with the algorithms we offer, e.g. `CHAP_A=5`.
    public func offer() -> [TextPair] {
        [TextPair("CHAP_A", algorithms.map { String($0.rawValue) }.joined(separator: ","))]
    }

    /// The target's `CHAP_A`, `CHAP_I`, `CHAP_C` → our `CHAP_N`, `CHAP_R` (and our `CHAP_I`,
    /// `CHAP_C` for mutual CHAP). Keys other than `CHAP_` ones are left to the caller.
    public mutating func respond(to pairs: [TextPair]) throws(CHAPError) -> [TextPair] {
        guard case .awaitingChallenge = state else { throw .outOfOrder(step: "the target's challenge") }
        let keys = try Self.chapKeys(pairs, expected: ["CHAP_A", "CHAP_I", "CHAP_C"])

        // RFC 7143 §12.1.3, §6.2.1: CHAP_A is answered with one of the algorithms we offered.
        let chosen = try Self.required("CHAP_A", in: keys)
        guard let number = NumericalValue.parse(chosen), number <= UInt8.max,
            let algorithm = CHAPAlgorithm(rawValue: UInt8(number)), algorithms.contains(algorithm)
        else {
            throw .algorithmNotOffered(chosen: Self.printableNumber(chosen), offered: algorithms)
        }
        // RFC 7143 §12.1.3: CHAP_I is a number 0-255 (the one-octet identifier of RFC 1994 §4.1).
        guard let identifier = NumericalValue.parse(try Self.required("CHAP_I", in: keys)),
            identifier <= UInt8.max
        else {
            throw .invalidIdentifier
        }
        // RFC 7143 §12.1.3: CHAP_C is a binary value; its length is ours to bound.
        let challenge = try Self.binary("CHAP_C", in: keys)
        guard !challenge.isEmpty, challenge.count <= Self.maximumChallengeLength else {
            throw .challengeLength(challenge.count, limit: Self.maximumChallengeLength)
        }

        let response = chapResponse(
            algorithm: algorithm, identifier: UInt8(identifier), secret: credentials.secret,
            challenge: challenge)
        var reply = [
            TextPair("CHAP_N", credentials.userName), TextPair("CHAP_R", BinaryValue.encodeHex(response)),
        ]
        guard mutual != nil else {
            state = .finished
            return reply
        }
        guard !mutualChallenge.isEmpty, mutualChallenge.count <= Self.maximumChallengeLength else {
            throw .ownChallengeLength(mutualChallenge.count, limit: Self.maximumChallengeLength)
        }
        // RFC 7143 §12.1.3: a target that sends back our own challenge wants us to compute
        // the response it owes us.
        guard !constantTimeEqual(challenge, mutualChallenge) else { throw .reflectedChallenge }
        reply += [
            TextPair("CHAP_I", String(mutualIdentifier)),
            TextPair("CHAP_C", BinaryValue.encodeHex(mutualChallenge)),
        ]
        state = .awaitingTargetResponse(algorithm: algorithm)
        return reply
    }

    /// The target's answer to our response. Mutual CHAP: checks its `CHAP_N` and `CHAP_R`
    /// against the secret we hold for it. One-way CHAP: the target owes no CHAP keys.
    public mutating func verifyTarget(_ pairs: [TextPair]) throws(CHAPError) {
        if case .finished = state, mutual == nil {
            _ = try Self.chapKeys(pairs, expected: [])
            return
        }
        guard case .awaitingTargetResponse(let algorithm) = state, let mutual else {
            throw .outOfOrder(step: "the target's response")
        }
        // RFC 7143 §12.1.3: for mutual CHAP the target answers our challenge with CHAP_N and
        // CHAP_R, the response to our CHAP_I and CHAP_C under the algorithm it chose.
        let keys = try Self.chapKeys(pairs, expected: ["CHAP_N", "CHAP_R"])
        let name = try Self.required("CHAP_N", in: keys)
        guard name == mutual.userName else { throw .wrongTargetName(expected: mutual.userName) }
        let response = try Self.binary("CHAP_R", in: keys)
        guard response.count == algorithm.digestLength else {
            throw .responseLength(response.count, algorithm: algorithm)
        }
        let expected = chapResponse(
            algorithm: algorithm, identifier: mutualIdentifier, secret: mutual.secret,
            challenge: mutualChallenge)
        guard constantTimeEqual(response, expected) else {
            throw .wrongTargetResponse(user: mutual.userName)
        }
        state = .finished
    }

    // MARK: - Reading the target's keys

    /// The `CHAP_` keys of `pairs`; a repeated or unexpected one is an error (RFC 7143 §6.3: no
    /// key is sent twice in a login; §12.1.3 fixes which CHAP keys each step carries).
    private static func chapKeys(_ pairs: [TextPair], expected: Set<String>) throws(CHAPError)
        -> [String: String]
    {
        var keys: [String: String] = [:]
        for pair in pairs where TextKeys.isSecretDerived(pair.key) {
            guard expected.contains(pair.key) else { throw .unexpectedKey(pair.key) }
            guard keys.updateValue(pair.value, forKey: pair.key) == nil else {
                throw .repeatedKey(pair.key)
            }
        }
        return keys
    }

    private static func required(_ key: String, in keys: [String: String]) throws(CHAPError) -> String {
        guard let value = keys[key] else { throw .missingKey(key) }
        return value
    }

    private static func binary(_ key: String, in keys: [String: String]) throws(CHAPError) -> [UInt8] {
        let text = try required(key, in: keys)
        do {
            return try BinaryValue.decode(text)
        } catch {
            throw .invalidBinaryValue(key: key, error)
        }
    }

    /// The chosen algorithm's number as sent, if it is a short number, for the message.
    private static func printableNumber(_ value: String) -> String {
        value.utf8.count <= 8
            && value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            ? value : "(not a number)"
    }
}

/// The CHAP response `H(identifier || secret || challenge)` (RFC 1994 §4.1, RFC 7143 §12.1.3).
public func chapResponse(
    algorithm: CHAPAlgorithm, identifier: UInt8, secret: CHAPSecret, challenge: [UInt8]
) -> [UInt8] {
    algorithm.digest(of: [identifier] + secret.bytes + challenge)
}

/// CHAP hash algorithms by their IANA PPP Authentication Algorithms number (the value of CHAP_A).
public enum CHAPAlgorithm: UInt8, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    case md5 = 5
    case sha1 = 6
    case sha256 = 7
    case sha3_256 = 8

    /// The length of a response, which the target's CHAP_R must have.
    public var digestLength: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256, .sha3_256: 32
        }
    }

    public var description: String {
        switch self {
        case .md5: "MD5 (5)"
        case .sha1: "SHA-1 (6)"
        case .sha256: "SHA-256 (7)"
        case .sha3_256: "SHA3-256 (8)"
        }
    }

    /// The digest of `message` (Digests.swift).
    func digest(of message: [UInt8]) -> [UInt8] {
        switch self {
        case .md5: MD5.hash(message)
        case .sha1: SHA1.hash(message)
        case .sha256: SHA256.hash(message)
        case .sha3_256: SHA3_256.hash(message)
        }
    }
}

/// A CHAP secret. It never prints: its description, debug description and mirror say "(set)".
public struct CHAPSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The secret as configured: the bytes of its UTF-8 text, as open-iscsi and tgt use it.
    public init(_ text: String) {
        self.bytes = Array(text.utf8)
    }

    public var description: String { "(set)" }
    public var debugDescription: String { "(set)" }
}

// Embedded Swift has no reflection at all, so there is no mirror to hide the bytes from.
#if !hasFeature(Embedded)
    extension CHAPSecret: CustomReflectable {
        public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
    }
#endif

/// A CHAP user name and its secret: the one credentials type, which the boot configuration's
/// grammars produce and the login uses.
public struct CHAPCredentials: Sendable, Equatable, CustomStringConvertible {
    public var userName: String
    public var secret: CHAPSecret

    public init(userName: String, secret: CHAPSecret) {
        self.userName = userName
        self.secret = secret
    }

    public var description: String { "user \(userName), secret \(secret)" }
}

/// Why CHAP failed. Messages name the step and the user, never a secret, challenge or response.
public enum CHAPError: Error, Sendable, Equatable, CustomStringConvertible {
    case algorithmNotOffered(chosen: String, offered: [CHAPAlgorithm])
    case missingKey(String)
    case unexpectedKey(String)
    case repeatedKey(String)
    case invalidIdentifier
    case invalidBinaryValue(key: String, BinaryValueError)
    case challengeLength(Int, limit: Int)
    case ownChallengeLength(Int, limit: Int)
    case reflectedChallenge
    case responseLength(Int, algorithm: CHAPAlgorithm)
    case wrongTargetName(expected: String)
    case wrongTargetResponse(user: String)
    case outOfOrder(step: String)

    public var description: String {
        switch self {
        case .algorithmNotOffered(let chosen, let offered):
            "the target chose CHAP_A=\(chosen), which we did not offer (offered \(offered.map { String($0.rawValue) }.joined(separator: ",")))"
        case .missingKey(let key):
            "the target did not send \(key) (RFC 7143 §12.1.3)"
        case .unexpectedKey(let key):
            "the target sent \(TextKeys.quotedKey(ArraySlice(key.utf8))) at a step of CHAP where it does not belong (RFC 7143 §12.1.3)"
        case .repeatedKey(let key):
            "the target sent \(key) twice"
        case .invalidIdentifier:
            "the target's CHAP_I is not a number from 0 to 255 (RFC 7143 §12.1.3)"
        case .invalidBinaryValue(let key, let error):
            "the target's \(key) is malformed: \(error)"
        case .challengeLength(let length, let limit):
            "the target's CHAP_C is \(length) bytes; 1 to \(limit) are accepted"
        case .ownChallengeLength(let length, let limit):
            "our mutual CHAP challenge is \(length) bytes; it must be 1 to \(limit)"
        case .reflectedChallenge:
            "the target's CHAP_C is our own challenge reflected (RFC 7143 §12.1.3); refusing to answer"
        case .responseLength(let length, let algorithm):
            "mutual CHAP: the target's CHAP_R is \(length) bytes, but \(algorithm) responses are \(algorithm.digestLength)"
        case .wrongTargetName(let expected):
            "mutual CHAP: the target did not identify itself as user \(expected); check the target's outgoing CHAP user"
        case .wrongTargetResponse(let user):
            "mutual CHAP: the target's response does not match the secret for user \(user); check the mutual CHAP secret on both sides"
        case .outOfOrder(let step):
            "CHAP received \(step) at the wrong step of the exchange"
        }
    }
}

/// Equality whose time depends only on the lengths, not on where the bytes differ, so a
/// peer cannot learn a response byte by byte: every pair of bytes is compared, and the
/// differences are gathered without a branch.
func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
}
