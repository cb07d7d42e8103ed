import LinuxSystem
import Testing

@testable import NetworkSetup

/// DHCPv6 messages as bytes written by hand from RFC 8415 §8 and §21 (and RFC 5970 §3.1), and
/// the client driven with them: no socket, no clock.
@Suite struct DHCPv6Tests {
    static let mac = MACAddress("52:54:00:12:34:56")!
    static let start = MonotonicInstant(nanoseconds: 5_000_000_000)
    static func at(_ milliseconds: Int) -> MonotonicInstant { start.advanced(byMilliseconds: milliseconds) }

    /// Client Identifier: DUID-LL (type 3), hardware type 1, the MAC.
    static let clientID: [UInt8] = [0x00, 0x01, 0x00, 0x0A, 0x00, 0x03, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
    /// Server Identifier: a DUID-LLT (type 1, hardware 1, time 0x2c3d4e5f, MAC 02:00:00:00:00:01).
    static let serverID: [UInt8] = [
        0x00, 0x02, 0x00, 0x0E, 0x00, 0x01, 0x00, 0x01, 0x2C, 0x3D, 0x4E, 0x5F, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    ]
    /// IA_NA, IAID 0x00123456 (the MAC's last four bytes), T1 1800, T2 2880, one IAADDR
    /// fd00:10:2::100, preferred 3600, valid 7200.
    static let identityAssociation: [UInt8] = [
        0x00, 0x03, 0x00, 0x28, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00, 0x07, 0x08, 0x00, 0x00, 0x0B, 0x40,
        0x00, 0x05, 0x00, 0x18, 0xFD, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0E, 0x10, 0x00, 0x00, 0x1C, 0x20,
    ]
    /// DNS servers (option 23): fd00:10:2::2.
    static let dns: [UInt8] = [
        0x00, 0x17, 0x00, 0x10, 0xFD, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x02,
    ]
    static let rootPath = "iscsi:[fd00:10:2::2]::::iqn.2025-01.test:root"
    /// Boot-file URL (option 59), 45 bytes.
    static let bootFileURL: [UInt8] = [0x00, 0x3B, 0x00, 0x2D] + Array(rootPath.utf8)
    /// Preference (option 7) 255.
    static let preference: [UInt8] = [0x00, 0x07, 0x00, 0x01, 0xFF]

    /// A server message of `type` under transaction id `xid`, options as written above.
    static func serverMessage(_ type: UInt8, xid: UInt32, _ options: [[UInt8]]) -> [UInt8] {
        [type, UInt8(xid >> 16 & 0xFF), UInt8(xid >> 8 & 0xFF), UInt8(xid & 0xFF)] + options.flatMap { $0 }
    }

    static func fullOptions() -> [[UInt8]] { [clientID, serverID, identityAssociation, dns, bootFileURL, preference] }

    static func sent(_ actions: [DHCPv6ClientStateMachine.Action]) -> DHCPv6Message? {
        for case .send(let message) in actions { return message }
        return nil
    }

    static func waited(_ actions: [DHCPv6ClientStateMachine.Action]) -> Int? {
        for case .wait(let milliseconds) in actions { return milliseconds }
        return nil
    }

    static func decode(_ bytes: [UInt8]) throws -> DHCPv6Message { try DHCPv6Message(decoding: bytes) }

    // MARK: Messages

    @Test func decodesAnAdvertise() throws {
        let message = try Self.decode(Self.serverMessage(2, xid: 0xABCDEF, Self.fullOptions()))
        #expect(message.type == .advertise)
        #expect(message.transactionID == 0xABCDEF)
        let association = try #require(message.options.identityAssociations.first)
        #expect(association.identifier == 0x0012_3456)
        #expect(association.renewSeconds == 1800 && association.rebindSeconds == 2880)
        #expect(
            association.addresses == [
                DHCPv6LeasedAddress(address: IPv6Address("fd00:10:2::100")!, preferredSeconds: 3600, validSeconds: 7200)
            ])
        let lease = try #require(DHCPv6Lease(message, identityAssociation: 0x0012_3456))
        #expect(lease.address == IPv6Address("fd00:10:2::100")!)
        #expect(lease.serverIdentifier == Array(Self.serverID[4...]))
        #expect(lease.dnsServers == [IPv6Address("fd00:10:2::2")!])
        #expect(lease.rootPath == Self.rootPath)
        #expect(lease.preference == 255)
        // Another IAID is not ours.
        #expect(DHCPv6Lease(message, identityAssociation: 7) == nil)
    }

    @Test func encodesTheSolicitAsTheRFCLaysItOut() throws {
        var client = DHCPv6ClientStateMachine(configuration: DHCPv6ClientConfiguration(hardwareAddress: Self.mac), seed: 1)
        let solicit = try #require(Self.sent(client.start(now: Self.start)))
        let xid = solicit.transactionID
        #expect(xid <= 0xFF_FFFF)
        let expected: [UInt8] =
            [0x01, UInt8(xid >> 16), UInt8(xid >> 8 & 0xFF), UInt8(xid & 0xFF)] + Self.clientID
            // Option Request: 23, 59, 60.
            + [0x00, 0x06, 0x00, 0x06, 0x00, 0x17, 0x00, 0x3B, 0x00, 0x3C]
            // Elapsed Time 0 in the first message.
            + [0x00, 0x08, 0x00, 0x02, 0x00, 0x00]
            // IA_NA: IAID, T1 0, T2 0, no addresses.
            + [0x00, 0x03, 0x00, 0x0C, 0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0, 0]
            // Rapid Commit, empty.
            + [0x00, 0x0E, 0x00, 0x00]
        #expect(solicit.encoded() == expected)
    }

    @Test func malformedMessagesAreErrorsNotTraps() {
        #expect(throws: DHCPv6DecodingError.truncated(length: 3)) { try Self.decode([2, 0, 0]) }
        // Relay-forward (12) never reaches a client.
        #expect(throws: DHCPv6DecodingError.unknownMessageType(12)) { try Self.decode([12, 0, 0, 1]) }
        // Option 23 claims 16 bytes, has 2.
        #expect(throws: DHCPv6DecodingError.optionOverrun(code: 23, within: "message")) {
            try Self.decode([2, 0, 0, 1, 0x00, 0x17, 0x00, 0x10, 0xFD, 0x00])
        }
        // Half an option header.
        #expect(throws: DHCPv6DecodingError.optionOverrun(code: 0, within: "message")) { try Self.decode([2, 0, 0, 1, 0x00]) }
        // An IA_NA of 4 bytes is skipped, not read past its end.
        let short = try? Self.decode([2, 0, 0, 1, 0x00, 0x03, 0x00, 0x04, 0x00, 0x12, 0x34, 0x56])
        #expect(short?.options.identityAssociations == [])
        #expect(throws: DHCPv6DecodingError.optionTooShort(code: 3, length: 4)) {
            try DHCPv6IdentityAssociation(data: [0x00, 0x12, 0x34, 0x56])
        }
    }

    @Test func statusCodeAndBootFileParameters() throws {
        // Status Code (§21.13): 2 NoAddrsAvail, "none left".
        let status: [UInt8] = [0x00, 0x0D, 0x00, 0x0B, 0x00, 0x02] + Array("none left".utf8)
        let message = try Self.decode(Self.serverMessage(7, xid: 1, [Self.clientID, Self.serverID, status]))
        #expect(message.options.statusCode == DHCPv6Status(code: 2, message: "none left"))
        #expect(message.options.statusCode?.description == "2 NoAddrsAvail: \"none left\"")
        // RFC 5970 §3.2: two parameters, then a length running past the end, which is dropped.
        #expect(DHCPv6Lease.parameters([0, 2, 0x61, 0x62, 0, 1, 0x63, 0, 9, 0x64]) == ["ab", "c"])
    }

    @Test func aBootFileThatIsNotISCSIIsNoRootPath() throws {
        let url = "http://[fd00:10:2::2]/boot.efi"
        let option: [UInt8] = [0x00, 0x3B, 0x00, UInt8(url.utf8.count)] + Array(url.utf8)
        let message = try Self.decode(Self.serverMessage(7, xid: 1, [Self.clientID, Self.serverID, Self.identityAssociation, option]))
        let lease = try #require(DHCPv6Lease(message, identityAssociation: 0x0012_3456))
        #expect(lease.bootFileURL == url)
        #expect(lease.rootPath == nil)
    }

    @Test(arguments: [
        ("iscsi:[fd00:10:2::2]::::iqn.2025-01.test:root", "fd00:10:2::2"),
        ("iscsi:user:secret@[fd00::9]:6:3261:1:iqn.2025-01.test:root", "fd00::9"),
        ("iscsi:target.example::::iqn.2025-01.test:root", nil),
        ("iscsi:[not-an-address]::::iqn.2025-01.test:root", nil),
    ])
    func rootPathServer(url: String, server: String?) throws {
        let option: [UInt8] = [0x00, 0x3B, 0x00, UInt8(url.utf8.count)] + Array(url.utf8)
        let message = try Self.decode(Self.serverMessage(7, xid: 1, [Self.clientID, Self.serverID, Self.identityAssociation, option]))
        let lease = try #require(DHCPv6Lease(message, identityAssociation: 0x0012_3456))
        #expect(lease.rootPathServer == server.flatMap { IPv6Address($0) })
        // The console's summary never shows a CHAP secret.
        #expect(!lease.summary.contains("secret"), "\(lease.summary)")
    }

    @Test func theSummaryHidesCredentials() throws {
        let url = "iscsi:user:s3cr@t@[fd00::9]::::iqn.2025-01.test:root"
        let option: [UInt8] = [0x00, 0x3B, 0x00, UInt8(url.utf8.count)] + Array(url.utf8)
        let message = try Self.decode(Self.serverMessage(7, xid: 1, [Self.clientID, Self.serverID, Self.identityAssociation, option]))
        let lease = try #require(DHCPv6Lease(message, identityAssociation: 0x0012_3456))
        #expect(lease.summary == "fd00:10:2::100 (valid 7200 s), root path iscsi:(credentials)@[fd00::9]::::iqn.2025-01.test:root")
        #expect(lease.rootPath == url)
    }

    // MARK: The client

    @Test func solicitAdvertiseRequestReply() throws {
        var client = DHCPv6ClientStateMachine(configuration: DHCPv6ClientConfiguration(hardwareAddress: Self.mac), seed: 7)
        let solicit = try #require(Self.sent(client.start(now: Self.start)))
        #expect(solicit.type == .solicit)

        let advertise = try Self.decode(Self.serverMessage(2, xid: solicit.transactionID, Self.fullOptions()))
        let requestActions = client.receive(advertise, now: Self.at(200))
        let request = try #require(Self.sent(requestActions))
        #expect(request.type == .request)
        #expect(request.options.first(DHCPv6OptionCode.serverIdentifier) == Array(Self.serverID[4...]))
        #expect(request.options.first(DHCPv6OptionCode.clientIdentifier) == Array(Self.clientID[4...]))
        #expect(
            request.options.identityAssociations.first?.addresses.map { $0.address } == [IPv6Address("fd00:10:2::100")!])
        // REQ_TIMEOUT 1 s ± 10 %.
        #expect((900...1100).contains(try #require(Self.waited(requestActions))))

        // A Reply under the Solicit's transaction id, or for another client, changes nothing.
        #expect(
            client.receive(try Self.decode(Self.serverMessage(7, xid: solicit.transactionID, Self.fullOptions())), now: Self.at(300))
                .isEmpty)
        let otherClient: [UInt8] = [0x00, 0x01, 0x00, 0x0A, 0x00, 0x03, 0x00, 0x01, 0x52, 0x54, 0x00, 0x99, 0x99, 0x99]
        let forOther = try Self.decode(
            Self.serverMessage(7, xid: request.transactionID, [otherClient, Self.serverID, Self.identityAssociation]))
        #expect(client.receive(forOther, now: Self.at(300)).isEmpty)

        let reply = try Self.decode(Self.serverMessage(7, xid: request.transactionID, Self.fullOptions()))
        let actions = client.receive(reply, now: Self.at(400))
        guard case .bound(let lease) = actions.first else {
            Issue.record("not bound: \(actions)")
            return
        }
        #expect(lease.address == IPv6Address("fd00:10:2::100")!)
        #expect(lease.rootPath == Self.rootPath)
        #expect(client.progress == "bound to fd00:10:2::100")
    }

    @Test func rapidCommitReplyToTheSolicitBinds() throws {
        var client = DHCPv6ClientStateMachine(configuration: DHCPv6ClientConfiguration(hardwareAddress: Self.mac), seed: 3)
        let solicit = try #require(Self.sent(client.start(now: Self.start)))
        // Without Rapid Commit a Reply to a Solicit is ignored (§18.2.1).
        let plain = try Self.decode(Self.serverMessage(7, xid: solicit.transactionID, Self.fullOptions()))
        #expect(client.receive(plain, now: Self.at(100)).isEmpty)
        let rapid = try Self.decode(Self.serverMessage(7, xid: solicit.transactionID, Self.fullOptions() + [[0x00, 0x0E, 0x00, 0x00]]))
        guard case .bound(let lease) = client.receive(rapid, now: Self.at(200)).first else {
            Issue.record("not bound")
            return
        }
        #expect(lease.address == IPv6Address("fd00:10:2::100")!)
    }

    @Test func withoutRapidCommitTheSolicitDoesNotAskAndAReplyIsIgnored() throws {
        let configuration = DHCPv6ClientConfiguration(hardwareAddress: Self.mac, rapidCommit: false)
        var client = DHCPv6ClientStateMachine(configuration: configuration, seed: 3)
        let solicit = try #require(Self.sent(client.start(now: Self.start)))
        #expect(solicit.options.first(DHCPv6OptionCode.rapidCommit) == nil)
        let rapid = try Self.decode(Self.serverMessage(7, xid: solicit.transactionID, Self.fullOptions() + [[0x00, 0x0E, 0x00, 0x00]]))
        #expect(client.receive(rapid, now: Self.at(200)).isEmpty)
    }

    @Test func anAdvertiseWithoutAddressesIsIgnored() throws {
        var client = DHCPv6ClientStateMachine(configuration: DHCPv6ClientConfiguration(hardwareAddress: Self.mac), seed: 3)
        let solicit = try #require(Self.sent(client.start(now: Self.start)))
        let status: [UInt8] = [0x00, 0x0D, 0x00, 0x02, 0x00, 0x02]
        let empty = try Self.decode(Self.serverMessage(2, xid: solicit.transactionID, [Self.clientID, Self.serverID, status]))
        #expect(client.receive(empty, now: Self.at(100)).isEmpty)
        #expect(client.progress == "1 Solicit(s) sent, no Advertise yet")
    }

    @Test func aRefusingReplyStartsOverAndThenFails() throws {
        let configuration = DHCPv6ClientConfiguration(hardwareAddress: Self.mac, restarts: 1)
        var client = DHCPv6ClientStateMachine(configuration: configuration, seed: 5)
        var solicit = try #require(Self.sent(client.start(now: Self.start)))
        let status: [UInt8] = [0x00, 0x0D, 0x00, 0x02, 0x00, 0x02]
        for round in 0..<2 {
            let advertise = try Self.decode(Self.serverMessage(2, xid: solicit.transactionID, Self.fullOptions()))
            let request = try #require(Self.sent(client.receive(advertise, now: Self.at(100))))
            let refusal = try Self.decode(Self.serverMessage(7, xid: request.transactionID, [Self.clientID, Self.serverID, status]))
            let actions = client.receive(refusal, now: Self.at(200))
            if round == 0 {
                solicit = try #require(Self.sent(actions))
                #expect(solicit.type == .solicit)
            } else {
                #expect(actions == [.failed(.refused(DHCPv6Status(code: 2)))])
            }
        }
    }

    /// §15: RT doubles (±10 %) from SOL_TIMEOUT up to the cap, and the attempts are bounded.
    @Test func solicitRetransmissionIsBounded() throws {
        let configuration = DHCPv6ClientConfiguration(
            hardwareAddress: Self.mac, maximumSolicitTimeoutMilliseconds: 4_000, solicitAttempts: 5)
        var client = DHCPv6ClientStateMachine(configuration: configuration, seed: 11)
        var actions = client.start(now: Self.start)
        var waits: [Int] = []
        var transactionIDs: Set<UInt32> = []
        var elapsed = 0
        while let wait = Self.waited(actions), waits.count < 10 {
            let solicit = try #require(Self.sent(actions))
            transactionIDs.insert(solicit.transactionID)
            #expect(solicit.options.first(DHCPv6OptionCode.elapsedTime) == bigEndian16(UInt16(elapsed / 10)))
            waits.append(wait)
            elapsed += wait
            actions = client.timerFired(now: Self.at(elapsed))
        }
        #expect(waits.count == 5)
        // The first is strictly after SOL_TIMEOUT (RAND > 0), at most 10 % more.
        #expect((1_000...1_100).contains(waits[0]))
        #expect((1_800...2_420).contains(waits[1]))
        #expect((3_240...4_400).contains(waits[2]))
        #expect(waits[3...].allSatisfy { (3_600...4_400).contains($0) })
        // Retransmissions keep the transaction id (§15).
        #expect(transactionIDs.count == 1)
        #expect(actions == [.failed(.noAdvertise(solicits: 5))])
    }
}
