import Testing

@testable import NetworkSetup

@Suite struct DHCPMessageTests {
    static let clientMAC: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]

    /// A DHCPOFFER laid out by hand from RFC 2131 figure 1 as QEMU's slirp (and dnsmasq) send
    /// it on the user network: 10.0.2.15 offered by 10.0.2.2, DNS 10.0.2.3, one day.
    static func slirpOffer(transactionID: [UInt8] = [0x39, 0x03, 0xF3, 0x26], extraOptions: [UInt8] = []) -> [UInt8] {
        var bytes: [UInt8] = [2, 1, 6, 0] + transactionID + [0, 0, 0, 0]  // op, htype, hlen, hops, xid, secs, flags
        bytes += [0, 0, 0, 0]  // ciaddr
        bytes += [10, 0, 2, 15]  // yiaddr
        bytes += [10, 0, 2, 2]  // siaddr
        bytes += [0, 0, 0, 0]  // giaddr
        bytes += clientMAC + [UInt8](repeating: 0, count: 10)  // chaddr
        bytes += [UInt8](repeating: 0, count: 64 + 128)  // sname, file
        bytes += [99, 130, 83, 99]
        bytes += [53, 1, 2]  // DHCPOFFER
        bytes += [54, 4, 10, 0, 2, 2]  // server identifier
        bytes += [51, 4, 0x00, 0x01, 0x51, 0x80]  // lease 86400 s
        bytes += [1, 4, 255, 255, 255, 0]  // subnet mask
        bytes += [3, 4, 10, 0, 2, 2]  // router
        bytes += [6, 4, 10, 0, 2, 3]  // DNS
        bytes += extraOptions
        bytes += [255]
        return bytes + [UInt8](repeating: 0, count: max(0, 300 - bytes.count))
    }

    @Test func decodesTheSlirpOffer() throws {
        let rootPath = Array("iscsi:10.0.2.2::3260:1:iqn.2024-01.example:root1".utf8)
        let message = try DHCPMessage(decoding: Self.slirpOffer(extraOptions: [17, UInt8(rootPath.count)] + rootPath))
        #expect(message.operation == .reply)
        #expect(message.transactionID == 0x3903_F326)
        #expect(message.clientHardwareAddress == Self.clientMAC)
        #expect(message.options.messageType == .offer)
        let lease = try #require(DHCPLease(message))
        #expect(lease.address == IPv4Address(10, 0, 2, 15))
        #expect(lease.prefixLength == 24)
        #expect(lease.serverIdentifier == IPv4Address(10, 0, 2, 2))
        #expect(lease.routers == [IPv4Address(10, 0, 2, 2)])
        #expect(lease.dnsServers == [IPv4Address(10, 0, 2, 3)])
        #expect(lease.leaseSeconds == 86_400)
        #expect(lease.rootPath == "iscsi:10.0.2.2::3260:1:iqn.2024-01.example:root1")
        #expect(lease.routes.map(\.description) == ["default via 10.0.2.2"])
    }

    @Test func roundTripsThroughTheWireFormat() throws {
        var options = DHCPOptions()
        options[DHCPOptionCode.messageType] = [DHCPMessageType.request.rawValue]
        options[DHCPOptionCode.hostName] = Array("node7".utf8)
        options[DHCPOptionCode.rootPath] = [UInt8](repeating: 0x61, count: 300)  // split in two (RFC 3396)
        let message = DHCPMessage(
            operation: .request, transactionID: 0xDEAD_BEEF, secondsElapsed: 3, broadcastFlag: true,
            clientHardwareAddress: Self.clientMAC, serverName: "boot", bootFileName: "pxelinux.0", options: options)
        let bytes = message.encoded()
        #expect(bytes.count >= 300)
        #expect(Array(bytes[236..<240]) == [99, 130, 83, 99])
        #expect(try DHCPMessage(decoding: bytes) == message)
    }

    @Test func shortMessagesArePaddedTo300Bytes() {
        let message = DHCPMessage(operation: .request, transactionID: 1, clientHardwareAddress: Self.clientMAC, options: DHCPOptions())
        #expect(message.encoded().count == 300)
    }

    /// RFC 2132 §9.3: option 52 value 3 moves options into `file` and then `sname`.
    @Test func readsOverloadedFileAndServerNameFields() throws {
        var bytes = Self.slirpOffer(extraOptions: [52, 1, 3])
        let file = [17, 4] + Array("/dev".utf8) + [255]
        bytes.replaceSubrange(108..<(108 + file.count), with: file)
        let sname = [12, 5] + Array("node7".utf8) + [255]
        bytes.replaceSubrange(44..<(44 + sname.count), with: sname)
        let message = try DHCPMessage(decoding: bytes)
        #expect(message.options.text(DHCPOptionCode.rootPath) == "/dev")
        #expect(message.options.text(DHCPOptionCode.hostName) == "node7")
        #expect(message.serverName == "")
        #expect(message.bootFileName == "")
    }

    @Test func padOptionsAreSkipped() throws {
        let message = try DHCPMessage(decoding: Self.slirpOffer(extraOptions: [0, 0, 0, 26, 2, 0x05, 0x78]))
        #expect(DHCPLease(message)?.mtu == 1400)
    }

    @Test func malformedMessagesAreRejected() {
        let offer = Self.slirpOffer()
        #expect(throws: DHCPDecodingError.truncated(length: 239)) { try DHCPMessage(decoding: offer.prefix(239)) }
        var cookie = offer
        cookie[236] = 98
        #expect(throws: DHCPDecodingError.badMagicCookie) { try DHCPMessage(decoding: cookie) }
        var operation = offer
        operation[0] = 3
        #expect(throws: DHCPDecodingError.unknownOperation(3)) { try DHCPMessage(decoding: operation) }
        var hardwareLength = offer
        hardwareLength[2] = 17
        #expect(throws: DHCPDecodingError.hardwareAddressTooLong(17)) { try DHCPMessage(decoding: hardwareLength) }
        // An option whose length runs past the end of the packet.
        let overlong = Array(offer.prefix(240)) + [17, 200, 0x61, 0x62]
        #expect(throws: DHCPDecodingError.optionOverrunsField(code: 17, field: "options")) {
            try DHCPMessage(decoding: overlong)
        }
        // An option code with no length byte at all.
        #expect(throws: DHCPDecodingError.optionOverrunsField(code: 53, field: "options")) {
            try DHCPMessage(decoding: Array(offer.prefix(240)) + [53])
        }
        // Overloaded `file` with an overrunning option.
        var overloaded = Self.slirpOffer(extraOptions: [52, 1, 1])
        overloaded.replaceSubrange(234..<236, with: [17, 9])
        #expect(throws: DHCPDecodingError.optionOverrunsField(code: 17, field: "file")) {
            try DHCPMessage(decoding: overloaded)
        }
    }

    @Test func everyTruncationOfAnOfferFailsWithoutTrapping() {
        let offer = Self.slirpOffer(extraOptions: [121, 5, 8, 10, 10, 0, 2, 1])
        for length in 0..<offer.count {
            do {
                _ = try DHCPMessage(decoding: offer.prefix(length))
                // Only a cut between options can still decode.
                #expect(length >= 240, "\(length) bytes decoded")
            } catch {
                if length < 240 {
                    #expect(error == .truncated(length: length))
                } else {
                    guard case .optionOverrunsField(_, let field) = error else {
                        Issue.record("\(length) bytes: \(error)")
                        continue
                    }
                    #expect(field == "options")
                }
            }
        }
    }

    /// Values of the wrong size are ignored rather than misread.
    @Test func wronglySizedOptionsAreIgnored() throws {
        let message = try DHCPMessage(decoding: Self.slirpOffer(extraOptions: [26, 1, 9, 6, 3, 1, 2, 3]))
        let lease = try #require(DHCPLease(message))
        #expect(lease.mtu == nil)
        // RFC 3396: the second option 6 continues the first; 7 bytes are no list of addresses.
        #expect(lease.dnsServers == [])
    }
}

/// RFC 3442 §"Encoding" examples and what a client must do with them.
@Suite struct ClasslessStaticRouteTests {
    static let router: [UInt8] = [10, 0, 2, 1]

    @Test(arguments: [
        ([0] + router, "default via 10.0.2.1"),
        ([8, 10] + router, "10.0.0.0/8 via 10.0.2.1"),
        ([16, 10, 17] + router, "10.17.0.0/16 via 10.0.2.1"),
        ([24, 10, 27, 129] + router, "10.27.129.0/24 via 10.0.2.1"),
        ([25, 10, 229, 0, 128] + router, "10.229.0.128/25 via 10.0.2.1"),
        ([32, 10, 198, 122, 47] + router, "10.198.122.47/32 via 10.0.2.1"),
        ([24, 192, 0, 2, 0, 0, 0, 0], "192.0.2.0/24 on-link"),
    ])
    func decodesTheRFCExamples(data: [UInt8], expected: String) throws {
        let routes = try #require(ClasslessStaticRoute.parse(data))
        #expect(routes.map(\.description) == [expected])
    }

    @Test func severalRoutesInOneOption() throws {
        let routes = try #require(ClasslessStaticRoute.parse([8, 10] + Self.router + [0] + Self.router))
        #expect(routes.map(\.description) == ["10.0.0.0/8 via 10.0.2.1", "default via 10.0.2.1"])
    }

    @Test(arguments: [
        [33, 10, 0, 0, 0, 0, 10, 0, 2, 1],  // width over 32
        [24, 10, 27, 129, 10, 0, 2],  // router cut short
        [16, 10],  // destination cut short
    ])
    func malformedOptionsAreIgnoredWhole(data: [UInt8]) {
        #expect(ClasslessStaticRoute.parse(data) == nil)
    }

    @Test func classlessRoutesReplaceTheRouterOption() throws {
        let option: [UInt8] = [121, 11, 8, 10] + Self.router + [0] + [10, 0, 2, 9]
        let lease = try #require(DHCPLease(try DHCPMessage(decoding: DHCPMessageTests.slirpOffer(extraOptions: option))))
        #expect(lease.routers == [IPv4Address(10, 0, 2, 2)])
        #expect(lease.routes.map(\.description) == ["10.0.0.0/8 via 10.0.2.1", "default via 10.0.2.9"])
    }
}

@Suite struct UDPDatagramTests {
    /// RFC 1071 §3's example: the sum of 0001 f203 f4f5 f6f7 is ddf2, so the checksum is 220d.
    @Test func internetChecksumOfTheRFC1071Example() {
        #expect(internetChecksum([0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]) == 0x220D)
    }

    @Test func broadcastDiscoverFraming() throws {
        let datagram = UDPDatagram(source: .any, destination: .broadcast, sourcePort: 68, destinationPort: 67, payload: [1, 2, 3])
        let packet = datagram.encodedIPv4Packet()
        #expect(packet.count == 31)
        #expect(Array(packet[0..<4]) == [0x45, 0, 0, 31])
        #expect(packet[8] == 64 && packet[9] == 17)
        #expect(internetChecksum(packet[..<20]) == 0)
        #expect(Array(packet[20..<26]) == [0, 68, 0, 67, 0, 11])
        // The UDP checksum verifies over the pseudo-header.
        let pseudo: [UInt8] = [0, 0, 0, 0, 255, 255, 255, 255, 0, 17, 0, 11]
        #expect(internetChecksum(pseudo + packet[20...]) == 0)
        #expect(UDPDatagram(ipv4Packet: packet) == datagram)
    }

    @Test func malformedPacketsAreRejected() {
        let packet = UDPDatagram(source: .any, destination: .broadcast, sourcePort: 67, destinationPort: 68, payload: [9])
            .encodedIPv4Packet()
        var badChecksum = packet
        badChecksum[10] ^= 0xFF
        var fragment = packet
        fragment[6] = 0x20  // more fragments
        var tcp = packet
        tcp[9] = 6
        var overlongUDP = packet
        overlongUDP[25] = 200
        for bad in [badChecksum, fragment, tcp, overlongUDP, Array(packet.prefix(19)), Array(packet.prefix(25))] {
            #expect(UDPDatagram(ipv4Packet: bad) == nil)
        }
        for length in 0..<packet.count { _ = UDPDatagram(ipv4Packet: Array(packet.prefix(length))) }
    }

    @Test func onlyClientPortRepliesReachTheStateMachine() {
        let offer = DHCPMessageTests.slirpOffer()
        let toClient = UDPDatagram(
            source: IPv4Address(10, 0, 2, 2), destination: .broadcast, sourcePort: 67, destinationPort: 68, payload: offer)
        let toServer = UDPDatagram(source: .any, destination: .broadcast, sourcePort: 68, destinationPort: 67, payload: offer)
        #expect(DHCPClient.reply(in: toClient.encodedIPv4Packet())?.transactionID == 0x3903_F326)
        #expect(DHCPClient.reply(in: toServer.encodedIPv4Packet()) == nil)
    }
}
