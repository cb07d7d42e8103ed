import Testing

@testable import ISCSI

@Suite struct CHAPTests {
    static let initiator = CHAPCredentials(
        userName: "iqn.2024-01.test:client", secret: CHAPSecret("initiator-secret"))
    static let target = CHAPCredentials(userName: "target-user", secret: CHAPSecret("target-secret"))
    /// Our mutual challenge; its first byte, 0x2a, is our CHAP_I.
    static let ourChallenge: [UInt8] = [0x2A] + Array(1...15)
    /// python3: hashlib.md5(bytes([0x2a]) + b"target-secret" + ourChallenge).hexdigest()
    static let targetResponse = "0xa70e14000be2cb913b40ec4297c49017"

    static let challengeFromTarget = [
        TextPair("CHAP_A", "5"), TextPair("CHAP_I", "220"),
        TextPair("CHAP_C", "0x35343534373533343633383832343736"),
    ]

    func hex(_ text: String) throws -> [UInt8] { try BinaryValue.decode("0x" + text) }

    // MARK: - Vectors

    /// The widely published hashcat CHAP example (mode 4800).
    @Test func md5Vector() throws {
        let response = try chapResponse(
            algorithm: .md5, identifier: 0xDC, secret: CHAPSecret("hashcat"),
            challenge: hex("35343534373533343633383832343736"))
        #expect(response == (try hex("aa4aaa1d52319525023c06a4873f4c51")))
    }

    /// Expected values from python3 hashlib over bytes([7]) + b"secret-of-12" + bytes(range(16)).
    @Test(arguments: [
        (CHAPAlgorithm.sha1, "9d5071276f94a62cf5d6ae2ec7626189a723b202"),
        (.sha256, "c1d4a3ebb6a3cf5d6877970a48c3b6526a095e80e1dc58c4412a0ae8d1bf28a3"),
        (.sha3_256, "7770cfa01b2acecac06c8a149c1c9288b615d285bbe8ef92423b19995a41b23a"),
    ])
    func otherAlgorithmVectors(algorithm: CHAPAlgorithm, expected: String) throws {
        let response = chapResponse(
            algorithm: algorithm, identifier: 7, secret: CHAPSecret("secret-of-12"),
            challenge: Array(0..<16))
        #expect(response == (try hex(expected)))
        #expect(response.count == algorithm.digestLength)
    }

    // MARK: - One-way

    @Test func oneWayExchange() throws {
        var exchange = CHAPExchange(credentials: Self.initiator, mutual: nil, mutualChallenge: [])
        #expect(exchange.offer() == [TextPair("CHAP_A", "5")])
        let reply = try exchange.respond(
            to: [TextPair("AuthMethod", "CHAP")] + Self.challengeFromTarget)
        let expected = try chapResponse(
            algorithm: .md5, identifier: 220, secret: Self.initiator.secret,
            challenge: hex("35343534373533343633383832343736"))
        #expect(
            reply == [
                TextPair("CHAP_N", Self.initiator.userName),
                TextPair("CHAP_R", BinaryValue.encodeHex(expected)),
            ])
        #expect(exchange.isComplete)
        // The target owes nothing in one-way CHAP.
        try exchange.verifyTarget([TextPair("TargetPortalGroupTag", "1")])
        #expect(throws: CHAPError.unexpectedKey("CHAP_R")) {
            try exchange.verifyTarget([TextPair("CHAP_R", "0x00")])
        }
    }

    @Test func offersConfiguredAlgorithmsInOrder() throws {
        var exchange = CHAPExchange(
            credentials: Self.initiator, mutual: nil, algorithms: [.sha256, .md5], mutualChallenge: [])
        #expect(exchange.offer() == [TextPair("CHAP_A", "7,5")])
        let reply = try exchange.respond(to: [
            TextPair("CHAP_A", "7"), TextPair("CHAP_I", "0x01"), TextPair("CHAP_C", "0bAQID"),
        ])
        #expect(try BinaryValue.decode(reply[1].value).count == 32)
    }

    @Test func base64ChallengeAccepted() throws {
        var exchange = CHAPExchange(credentials: Self.initiator, mutual: nil, mutualChallenge: [])
        let reply = try exchange.respond(to: [
            TextPair("CHAP_A", "5"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", "0bNTQ1NA=="),
        ])
        let expected = chapResponse(
            algorithm: .md5, identifier: 1, secret: Self.initiator.secret, challenge: Array("5454".utf8))
        #expect(reply[1].value == BinaryValue.encodeHex(expected))
    }

    // MARK: - Failures of the target's challenge

    @Test(arguments: [
        (
            [TextPair("CHAP_A", "9"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", "0x00")],
            CHAPError.algorithmNotOffered(chosen: "9", offered: [.md5])
        ),
        (
            [TextPair("CHAP_A", "7"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", "0x00")],
            .algorithmNotOffered(chosen: "7", offered: [.md5])
        ),
        (
            [TextPair("CHAP_A", "261"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", "0x00")],
            .algorithmNotOffered(chosen: "261", offered: [.md5])
        ),
        (
            [TextPair("CHAP_A", "Reject")],
            .algorithmNotOffered(chosen: "(not a number)", offered: [.md5])
        ),
        ([TextPair("CHAP_I", "1"), TextPair("CHAP_C", "0x00")], .missingKey("CHAP_A")),
        ([TextPair("CHAP_A", "5"), TextPair("CHAP_C", "0x00")], .missingKey("CHAP_I")),
        ([TextPair("CHAP_A", "5"), TextPair("CHAP_I", "1")], .missingKey("CHAP_C")),
        (
            [TextPair("CHAP_A", "5"), TextPair("CHAP_I", "256"), TextPair("CHAP_C", "0x00")],
            .invalidIdentifier
        ),
        (
            [TextPair("CHAP_A", "5"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", "0x0")],
            .invalidBinaryValue(key: "CHAP_C", .oddHexLength(digits: 1))
        ),
        (
            [TextPair("CHAP_A", "5"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", "0xzz")],
            .invalidBinaryValue(key: "CHAP_C", .invalidHexCharacter(offset: 2))
        ),
        (
            [TextPair("CHAP_A", "5"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", "12")],
            .invalidBinaryValue(key: "CHAP_C", .missingPrefix)
        ),
        ([TextPair("CHAP_A", "5"), TextPair("CHAP_A", "5")], .repeatedKey("CHAP_A")),
        ([TextPair("CHAP_A", "5"), TextPair("CHAP_R", "0x00")], .unexpectedKey("CHAP_R")),
    ])
    func rejectsBadChallenge(pairs: [TextPair], error: CHAPError) {
        var exchange = CHAPExchange(credentials: Self.initiator, mutual: nil, mutualChallenge: [])
        #expect(throws: error) { try exchange.respond(to: pairs) }
    }

    @Test func challengeLengthLimits() {
        var exchange = CHAPExchange(credentials: Self.initiator, mutual: nil, mutualChallenge: [])
        let long = BinaryValue.encodeHex([UInt8](repeating: 7, count: 1025))
        #expect(throws: CHAPError.challengeLength(1025, limit: 1024)) {
            try exchange.respond(to: [
                TextPair("CHAP_A", "5"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", long),
            ])
        }
        let longest = BinaryValue.encodeHex([UInt8](repeating: 7, count: 1024))
        #expect(throws: Never.self) {
            try exchange.respond(to: [
                TextPair("CHAP_A", "5"), TextPair("CHAP_I", "1"), TextPair("CHAP_C", longest),
            ])
        }
    }

    // MARK: - Mutual

    func mutualExchange() throws -> CHAPExchange {
        var exchange = CHAPExchange(
            credentials: Self.initiator, mutual: Self.target, mutualChallenge: Self.ourChallenge)
        let reply = try exchange.respond(to: Self.challengeFromTarget)
        #expect(reply.map(\.key) == ["CHAP_N", "CHAP_R", "CHAP_I", "CHAP_C"])
        #expect(reply[2] == TextPair("CHAP_I", "42"))
        #expect(reply[3] == TextPair("CHAP_C", BinaryValue.encodeHex(Self.ourChallenge)))
        #expect(!exchange.isComplete)
        return exchange
    }

    @Test func mutualSuccess() throws {
        var exchange = try mutualExchange()
        try exchange.verifyTarget([
            TextPair("CHAP_N", "target-user"), TextPair("CHAP_R", "0xA70E14000BE2CB913B40EC4297C49017"),
        ])
        #expect(exchange.isComplete)
        #expect(throws: CHAPError.outOfOrder(step: "the target's response")) {
            try exchange.verifyTarget([
                TextPair("CHAP_N", "target-user"), TextPair("CHAP_R", Self.targetResponse),
            ])
        }
    }

    @Test func mutualWrongResponse() throws {
        var exchange = try mutualExchange()
        let wrong = "0xa70e14000be2cb913b40ec4297c49018"
        do {
            try exchange.verifyTarget([TextPair("CHAP_N", "target-user"), TextPair("CHAP_R", wrong)])
            Issue.record("expected a failure")
        } catch {
            #expect(error == .wrongTargetResponse(user: "target-user"))
            #expect(
                error.description
                    == "mutual CHAP: the target's response does not match the secret for user target-user; check the mutual CHAP secret on both sides"
            )
            #expect(!error.description.contains("a70e"))
        }
    }

    @Test func mutualWrongNameLengthOrMissing() throws {
        var exchange = try mutualExchange()
        #expect(throws: CHAPError.wrongTargetName(expected: "target-user")) {
            try exchange.verifyTarget([
                TextPair("CHAP_N", "impostor"), TextPair("CHAP_R", Self.targetResponse),
            ])
        }
        #expect(throws: CHAPError.responseLength(20, algorithm: .md5)) {
            try exchange.verifyTarget([
                TextPair("CHAP_N", "target-user"),
                TextPair("CHAP_R", BinaryValue.encodeHex([UInt8](repeating: 0, count: 20))),
            ])
        }
        #expect(throws: CHAPError.missingKey("CHAP_R")) {
            try exchange.verifyTarget([TextPair("CHAP_N", "target-user")])
        }
        #expect(throws: CHAPError.missingKey("CHAP_N")) { try exchange.verifyTarget([]) }
    }

    @Test func reflectedChallengeRejected() {
        var exchange = CHAPExchange(
            credentials: Self.initiator, mutual: Self.target, mutualChallenge: Self.ourChallenge)
        let reflected = [
            TextPair("CHAP_A", "5"), TextPair("CHAP_I", "42"),
            TextPair("CHAP_C", BinaryValue.encodeHex(Self.ourChallenge)),
        ]
        #expect(throws: CHAPError.reflectedChallenge) { try exchange.respond(to: reflected) }
    }

    @Test func mutualNeedsAChallengeOfOurOwn() {
        var exchange = CHAPExchange(
            credentials: Self.initiator, mutual: Self.target, mutualChallenge: [])
        #expect(throws: CHAPError.ownChallengeLength(0, limit: 1024)) {
            try exchange.respond(to: Self.challengeFromTarget)
        }
    }

    @Test func respondOnlyOnce() throws {
        var exchange = CHAPExchange(credentials: Self.initiator, mutual: nil, mutualChallenge: [])
        _ = try exchange.respond(to: Self.challengeFromTarget)
        #expect(throws: CHAPError.outOfOrder(step: "the target's challenge")) {
            try exchange.respond(to: Self.challengeFromTarget)
        }
    }

    // MARK: - Secrets stay secret

    @Test func secretsNeverPrint() {
        let secret = CHAPSecret("hunter2-hunter2")
        #expect(secret.description == "(set)")
        #expect("\(secret)" == "(set)")
        #expect(String(reflecting: secret) == "(set)")
        var dumped = ""
        dump(Self.initiator, to: &dumped)
        #expect(!dumped.contains("initiator-secret"))
        #expect(!"\(Self.initiator)".contains("initiator-secret"))
    }

    @Test func constantTimeCompare() {
        #expect(constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(constantTimeEqual([], []))
    }
}
