import LinuxSystem
import Testing

@testable import NetworkSetup

/// The client driven with messages and timer events only: no socket, no clock.
@Suite struct DHCPClientStateMachineTests {
    static let mac = MACAddress("52:54:00:12:34:56")!
    static let server = IPv4Address(10, 0, 2, 2)
    static let start = MonotonicInstant(nanoseconds: 5_000_000_000)

    static func at(_ milliseconds: Int) -> MonotonicInstant { start.advanced(byMilliseconds: milliseconds) }

    static func reply(
        _ type: DHCPMessageType, to request: DHCPMessage, server: IPv4Address = server,
        extraOptions: [(UInt8, [UInt8])] = []
    ) -> DHCPMessage {
        var options = DHCPOptions()
        options[DHCPOptionCode.messageType] = [type.rawValue]
        options[DHCPOptionCode.serverIdentifier] = server.bytes
        options[DHCPOptionCode.subnetMask] = [255, 255, 255, 0]
        options[DHCPOptionCode.router] = [10, 0, 2, 2]
        for (code, data) in extraOptions { options[code] = data }
        return DHCPMessage(
            operation: .reply, transactionID: request.transactionID,
            yourAddress: type == .negativeAcknowledgement ? .any : IPv4Address(10, 0, 2, 15),
            clientHardwareAddress: request.clientHardwareAddress, options: options)
    }

    static func sent(_ actions: [DHCPClientStateMachine.Action]) -> DHCPMessage? {
        for case .send(let message) in actions { return message }
        return nil
    }

    static func waited(_ actions: [DHCPClientStateMachine.Action]) -> Int? {
        for case .wait(let milliseconds) in actions { return milliseconds }
        return nil
    }

    @Test func discoverOfferRequestAcknowledge() throws {
        var client = DHCPClientStateMachine(configuration: DHCPClientConfiguration(hardwareAddress: Self.mac, hostName: "node7"), seed: 1)
        let discover = try #require(Self.sent(client.start(now: Self.start)))
        #expect(discover.options.messageType == .discover)
        #expect(discover.options[DHCPOptionCode.clientIdentifier] == [1, 0x52, 0x54, 0, 0x12, 0x34, 0x56])
        #expect(discover.options.text(DHCPOptionCode.vendorClassIdentifier) == "iscsi-root")
        #expect(discover.options.text(DHCPOptionCode.hostName) == "node7")
        #expect(discover.options[DHCPOptionCode.parameterRequestList]?.contains(DHCPOptionCode.rootPath) == true)
        #expect(discover.options[DHCPOptionCode.parameterRequestList]?.contains(DHCPOptionCode.classlessStaticRoute) == true)

        let requestActions = client.receive(Self.reply(.offer, to: discover), now: Self.at(300))
        let request = try #require(Self.sent(requestActions))
        #expect(request.options.messageType == .request)
        #expect(request.transactionID == discover.transactionID)
        #expect(request.options.address(DHCPOptionCode.requestedIPAddress) == IPv4Address(10, 0, 2, 15))
        #expect(request.options.address(DHCPOptionCode.serverIdentifier) == Self.server)
        #expect(request.clientAddress == .any)
        #expect(Self.waited(requestActions) != nil)

        let rootPath = Array("iscsi:10.0.2.2::3260:1:iqn.2024-01.example:root1".utf8)
        let bound = client.receive(Self.reply(.acknowledgement, to: request, extraOptions: [(17, rootPath)]), now: Self.at(400))
        guard case .bound(let lease)? = bound.first else {
            Issue.record("expected a lease, got \(bound)")
            return
        }
        #expect(lease.address == IPv4Address(10, 0, 2, 15))
        #expect(lease.prefixLength == 24)
        #expect(lease.rootPath == String(decoding: rootPath, as: UTF8.self))
        #expect(client.progress == "bound to 10.0.2.15")
    }

    @Test func repliesForSomeoneElseAreIgnored() throws {
        var client = DHCPClientStateMachine(configuration: DHCPClientConfiguration(hardwareAddress: Self.mac), seed: 2)
        let discover = try #require(Self.sent(client.start(now: Self.start)))
        var otherTransaction = Self.reply(.offer, to: discover)
        otherTransaction.transactionID &+= 1
        var otherClient = Self.reply(.offer, to: discover)
        otherClient.clientHardwareAddress = [0x52, 0x54, 0, 0, 0, 1]
        var ourOwnBroadcast = discover
        ourOwnBroadcast.operation = .request
        var noServerIdentifier = Self.reply(.offer, to: discover)
        noServerIdentifier.options[DHCPOptionCode.serverIdentifier] = nil
        let acknowledgementWhileSelecting = Self.reply(.acknowledgement, to: discover)
        for message in [otherTransaction, otherClient, ourOwnBroadcast, noServerIdentifier, acknowledgementWhileSelecting] {
            #expect(client.receive(message, now: Self.at(100)).isEmpty)
        }
        #expect(client.progress == "1 DISCOVER(s) sent, no offer yet")
    }

    @Test func anAcknowledgementFromAnotherServerIsIgnored() throws {
        var client = DHCPClientStateMachine(configuration: DHCPClientConfiguration(hardwareAddress: Self.mac), seed: 3)
        let discover = try #require(Self.sent(client.start(now: Self.start)))
        let request = try #require(Self.sent(client.receive(Self.reply(.offer, to: discover), now: Self.at(10))))
        #expect(client.receive(Self.reply(.acknowledgement, to: request, server: IPv4Address(10, 0, 2, 99)), now: Self.at(20)).isEmpty)
    }

    /// RFC 2131 §3.1 step 5: a NAK sends the client back to DISCOVER with a new transaction.
    @Test func negativeAcknowledgementRestartsThenFails() throws {
        let configuration = DHCPClientConfiguration(hardwareAddress: Self.mac, restarts: 1)
        var client = DHCPClientStateMachine(configuration: configuration, seed: 4)
        let discover = try #require(Self.sent(client.start(now: Self.start)))
        let request = try #require(Self.sent(client.receive(Self.reply(.offer, to: discover), now: Self.at(10))))
        let restart = try #require(Self.sent(client.receive(Self.reply(.negativeAcknowledgement, to: request), now: Self.at(20))))
        #expect(restart.options.messageType == .discover)
        #expect(restart.transactionID != discover.transactionID)

        let secondRequest = try #require(Self.sent(client.receive(Self.reply(.offer, to: restart), now: Self.at(30))))
        var nak = Self.reply(.negativeAcknowledgement, to: secondRequest)
        nak.options[DHCPOptionCode.message] = Array("address in use".utf8)
        let failed = client.receive(nak, now: Self.at(40))
        #expect(failed == [.failed(.refused(server: Self.server, message: "address in use"))])
        #expect(
            DHCPFailure.refused(server: Self.server, message: "address in use").description
                == "server 10.0.2.2 refused the address (DHCPNAK: address in use)")
    }

    /// Retransmissions double from 1 s, each within its jitter (±1 s, at most half the delay),
    /// up to the cap; then the client gives up naming how many DISCOVERs went unanswered.
    @Test(arguments: [1 as UInt64, 2, 3, 42, 0xFFFF_FFFF])
    func discoverBacksOffWithJitterAndGivesUp(seed: UInt64) throws {
        let configuration = DHCPClientConfiguration(
            hardwareAddress: Self.mac, maximumRetransmissionMilliseconds: 8_000, discoverAttempts: 6)
        var client = DHCPClientStateMachine(configuration: configuration, seed: seed)
        var actions = client.start(now: Self.start)
        var elapsed = 0
        let nominal = [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]
        var transactionIDs: Set<UInt32> = []
        for (attempt, delay) in nominal.enumerated() {
            let discover = try #require(Self.sent(actions), "attempt \(attempt + 1)")
            transactionIDs.insert(discover.transactionID)
            #expect(Int(discover.secondsElapsed) == elapsed / 1000)
            let wait = try #require(Self.waited(actions))
            let jitter = min(1_000, delay / 2)
            #expect((delay - jitter)...(delay + jitter) ~= wait, "attempt \(attempt + 1) waited \(wait) ms")
            elapsed += wait
            actions = client.timerFired(now: Self.at(elapsed))
        }
        #expect(transactionIDs.count == 1)  // retransmissions keep the transaction (late offers still count)
        #expect(actions == [.failed(.noOffer(discovers: 6))])
        #expect(client.timerFired(now: Self.at(elapsed + 1)).isEmpty)
    }

    @Test func jitterDependsOnTheSeedSoMachinesDoNotRetryInLockstep() {
        let configuration = DHCPClientConfiguration(hardwareAddress: Self.mac)
        let waits = (1...8 as ClosedRange<UInt64>).map { seed in
            var client = DHCPClientStateMachine(configuration: configuration, seed: seed)
            return Self.waited(client.start(now: Self.start))
        }
        #expect(Set(waits).count > 1)
    }

    @Test func unansweredRequestsStartOverAndFinallyFail() throws {
        let configuration = DHCPClientConfiguration(hardwareAddress: Self.mac, requestAttempts: 2, restarts: 0)
        var client = DHCPClientStateMachine(configuration: configuration, seed: 5)
        let discover = try #require(Self.sent(client.start(now: Self.start)))
        _ = client.receive(Self.reply(.offer, to: discover), now: Self.at(10))
        let retransmitted = try #require(Self.sent(client.timerFired(now: Self.at(2_000))))
        #expect(retransmitted.options.messageType == .request)
        #expect(client.progress == "offered 10.0.2.15 by 10.0.2.2, 2 REQUEST(s) unanswered")
        #expect(client.timerFired(now: Self.at(5_000)) == [.failed(.noAcknowledgement(server: Self.server, requests: 2))])
    }

    @Test func startingTwiceDoesNothing() {
        var client = DHCPClientStateMachine(configuration: DHCPClientConfiguration(hardwareAddress: Self.mac), seed: 6)
        #expect(!client.start(now: Self.start).isEmpty)
        #expect(client.start(now: Self.at(1)).isEmpty)
    }
}
