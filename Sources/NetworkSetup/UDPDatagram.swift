import NetworkAddresses
/// A UDP datagram inside an IPv4 packet, built and read by hand because the DHCP client
/// talks before the interface has an address: it sends from 0.0.0.0 through a packet socket,
/// where the kernel adds only the Ethernet header.
public struct UDPDatagram: Equatable, Sendable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var payload: [UInt8]

    public init(
        source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8]
    ) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.payload = payload
    }

    static let ipHeaderLength = 20
    static let udpHeaderLength = 8
    static let udpProtocol: UInt8 = 17
    /// RFC 1700's default TTL; a broadcast never leaves the link anyway.
    static let timeToLive: UInt8 = 64

    /// The IPv4 packet (RFC 791 §3.1): a 20-byte header without options, not fragmented,
    /// with its header checksum, then the UDP header (RFC 768) with its checksum over the
    /// pseudo-header.
    public func encodedIPv4Packet() -> [UInt8] {
        let udpLength = Self.udpHeaderLength + payload.count
        let totalLength = Self.ipHeaderLength + udpLength
        var header: [UInt8] = [0x45, 0]  // version 4, IHL 5 words; DSCP/ECN 0
        header += bigEndianPair(UInt16(truncatingIfNeeded: totalLength))
        header += [0, 0, 0, 0]  // identification 0 and no fragmentation: RFC 6864 §4.1 allows 0 for atomic datagrams
        header += [Self.timeToLive, Self.udpProtocol, 0, 0]
        header += source.bytes + destination.bytes
        header.replaceSubrange(10..<12, with: bigEndianPair(internetChecksum(header)))

        var udp = bigEndianPair(sourcePort) + bigEndianPair(destinationPort)
        udp += bigEndianPair(UInt16(truncatingIfNeeded: udpLength)) + [0, 0]
        udp += payload
        let pseudoHeader = source.bytes + destination.bytes + [0, Self.udpProtocol] + bigEndianPair(UInt16(truncatingIfNeeded: udpLength))
        var checksum = internetChecksum(pseudoHeader + udp)
        // RFC 768: a computed checksum of zero is sent as all ones (zero means "none").
        if checksum == 0 { checksum = 0xFFFF }
        udp.replaceSubrange(6..<8, with: bigEndianPair(checksum))
        return header + udp
    }

    /// Reads an IPv4 packet carrying UDP; nil for anything else or anything malformed: a
    /// version other than 4, a bad header checksum, a fragment, lengths that do not fit.
    ///
    /// The UDP checksum is not verified: on veth, virtio and many NICs the kernel hands a
    /// packet socket the frame before checksum offload has filled it in
    /// (TP_STATUS_CSUMNOTREADY), so a correct packet would look wrong; the link's CRC and the
    /// DHCP decoder's checks stand instead (dhclient and systemd-networkd do the same).
    public init?(ipv4Packet bytes: [UInt8]) {
        guard bytes.count >= Self.ipHeaderLength, bytes[0] >> 4 == 4 else { return nil }
        let headerLength = Int(bytes[0] & 0x0F) * 4
        let totalLength = Int(bytes[2]) << 8 | Int(bytes[3])
        guard headerLength >= Self.ipHeaderLength, totalLength >= headerLength + Self.udpHeaderLength,
            totalLength <= bytes.count, internetChecksum(bytes[..<headerLength]) == 0,
            bytes[9] == Self.udpProtocol
        else { return nil }
        // More-fragments set or a fragment offset: DHCP replies are never fragmented in practice.
        let fragment = UInt16(bytes[6]) << 8 | UInt16(bytes[7])
        guard fragment & 0x3FFF == 0 else { return nil }
        let udp = headerLength
        let udpLength = Int(bytes[udp + 4]) << 8 | Int(bytes[udp + 5])
        guard udpLength >= Self.udpHeaderLength, udp + udpLength <= totalLength else { return nil }
        source = IPv4Address(bytes: bytes[12..<16])!
        destination = IPv4Address(bytes: bytes[16..<20])!
        sourcePort = UInt16(bytes[udp]) << 8 | UInt16(bytes[udp + 1])
        destinationPort = UInt16(bytes[udp + 2]) << 8 | UInt16(bytes[udp + 3])
        payload = Array(bytes[(udp + Self.udpHeaderLength)..<(udp + udpLength)])
    }
}

/// The Internet checksum (RFC 1071): the one's complement of the one's complement sum of
/// 16-bit big-endian words, an odd last byte padded with zero. Over data that includes a
/// correct checksum it is 0.
func internetChecksum(_ bytes: some Collection<UInt8>) -> UInt16 {
    var sum: UInt32 = 0
    var iterator = bytes.makeIterator()
    while let high = iterator.next() {
        let low = iterator.next() ?? 0
        sum += UInt32(high) << 8 | UInt32(low)
    }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(sum)
}

private func bigEndianPair(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
