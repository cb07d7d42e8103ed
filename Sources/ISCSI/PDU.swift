/// iSCSI opcodes (RFC 7143 §11.2.1.2). Initiator opcodes are 0x00–0x1F, target opcodes
/// 0x20–0x3F; 0x1C–0x1E and 0x3C–0x3E are vendor specific, the rest unassigned.
public enum Opcode: UInt8, Sendable, CaseIterable {
    case nopOut = 0x00
    case scsiCommand = 0x01
    case taskManagementRequest = 0x02
    case loginRequest = 0x03
    case textRequest = 0x04
    case dataOut = 0x05
    case logoutRequest = 0x06
    case snackRequest = 0x10
    case nopIn = 0x20
    case scsiResponse = 0x21
    case taskManagementResponse = 0x22
    case loginResponse = 0x23
    case textResponse = 0x24
    case dataIn = 0x25
    case logoutResponse = 0x26
    case readyToTransfer = 0x31
    case asyncMessage = 0x32
    case reject = 0x3F
}

/// One PDU as framed on the wire, before its opcode-specific fields are interpreted:
/// the header, any Additional Header Segments, and the data segment without padding.
public struct PDU: Equatable, Sendable {
    public var header: BasicHeaderSegment
    /// The AHS bytes, a multiple of 4 long (RFC 7143 §11.2.1.5).
    public var additionalHeader: [UInt8]
    public var data: [UInt8]

    public init(header: BasicHeaderSegment, additionalHeader: [UInt8] = [], data: [UInt8] = []) {
        self.header = header
        self.additionalHeader = additionalHeader
        self.data = data
        self.header.additionalHeaderLength = additionalHeader.count
        self.header.dataSegmentLength = data.count
    }

    public var opcode: Opcode? { Opcode(rawValue: header.opcodeValue) }
}

/// Which digests the connection negotiated (RFC 7143 §13.1): each adds a CRC32C after the
/// header (BHS + AHS) or after the padded data segment.
public struct DigestSettings: Equatable, Sendable {
    public var header: Bool
    public var data: Bool

    public init(header: Bool = false, data: Bool = false) {
        self.header = header
        self.data = data
    }

    public static let none = DigestSettings()
}

/// A PDU that could not be framed or is not one this initiator understands.
public enum PDUError: Error, Equatable, CustomStringConvertible {
    case unknownOpcode(UInt8)
    case headerDigestMismatch(expected: UInt32, received: UInt32)
    case dataDigestMismatch(expected: UInt32, received: UInt32)
    case dataSegmentTooLong(length: Int, limit: Int)
    case additionalHeaderMalformed(String)
    case fieldInvalid(opcode: Opcode, field: String, value: UInt64)
    case unexpectedOpcode(Opcode, expected: Opcode)
    case initiatorOpcodeFromTarget(Opcode)

    public var description: String {
        switch self {
        case .unknownOpcode(let value):
            return "PDU with unknown opcode 0x\(String(value, radix: 16))"
        case .headerDigestMismatch(let expected, let received):
            return "header digest mismatch (computed 0x\(String(expected, radix: 16)), received 0x\(String(received, radix: 16)))"
        case .dataDigestMismatch(let expected, let received):
            return "data digest mismatch (computed 0x\(String(expected, radix: 16)), received 0x\(String(received, radix: 16)))"
        case .dataSegmentTooLong(let length, let limit):
            return "data segment of \(length) bytes exceeds the negotiated MaxRecvDataSegmentLength \(limit)"
        case .additionalHeaderMalformed(let reason):
            return "malformed additional header segment: \(reason)"
        case .fieldInvalid(let opcode, let field, let value):
            return "\(opcode) PDU: \(field) has invalid value \(value)"
        case .unexpectedOpcode(let received, let expected):
            return "expected a \(expected) PDU, received \(received)"
        case .initiatorOpcodeFromTarget(let opcode):
            return "the target sent \(opcode), an initiator-only opcode"
        }
    }
}

extension PDU {
    /// The PDU's bytes as sent: header, AHS, optional header digest, data padded to 4 bytes,
    /// optional data digest (RFC 7143 §11.1). Padding bytes are zero.
    public func wireBytes(digests: DigestSettings = .none) -> [UInt8] {
        var bytes = header.bytes + additionalHeader
        if digests.header {
            bytes.appendDigest(CRC32C.checksum(bytes))
        }
        PDU.appendDataSegment(data, to: &bytes, dataDigest: digests.data)
        return bytes
    }

    /// Appends a data segment as framed (RFC 7143 §11.1): the bytes, zero padding to a
    /// multiple of 4, and the data digest when negotiated; nothing for an empty segment.
    public static func appendDataSegment(_ data: some Collection<UInt8>, to wire: inout [UInt8], dataDigest: Bool) {
        guard !data.isEmpty else { return }
        let start = wire.count
        wire += data
        wire += repeatElement(0, count: padding(for: data.count))
        if dataDigest { wire.appendDigest(CRC32C.checksum(wire[start...])) }
    }

    /// Bytes of zero padding after a data segment of `length` bytes.
    public static func padding(for length: Int) -> Int { (4 - length % 4) % 4 }
}

/// Reassembles PDUs from a byte stream, checking digests and the data-segment limit.
///
/// Feed it whatever the socket returned with `append`; `nextPDU()` returns complete PDUs
/// one at a time, or nil until enough bytes have arrived.
public struct PDUDecoder: Sendable {
    public var digests: DigestSettings
    /// The largest data segment accepted: our declared MaxRecvDataSegmentLength (or, during
    /// login, the 8192 the RFC allows before negotiation, §13.12).
    public var maxDataSegmentLength: Int
    private var buffer: [UInt8] = []
    private var consumed = 0

    public init(digests: DigestSettings = .none, maxDataSegmentLength: Int = 8192) {
        self.digests = digests
        self.maxDataSegmentLength = maxDataSegmentLength
    }

    public mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        if consumed > 0 && consumed == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            consumed = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// How many more bytes are needed before `nextPDU()` can return a PDU (at least 1 when
    /// it would return nil). Lets a reader ask the socket for exactly that much.
    public var bytesWanted: Int {
        let available = buffer.count - consumed
        guard available >= BasicHeaderSegment.length else { return BasicHeaderSegment.length - available }
        let header = Array(buffer[consumed..<consumed + BasicHeaderSegment.length])
        return max(0, totalLength(header: header) - available)
    }

    public mutating func nextPDU() throws(PDUError) -> PDU? {
        let available = buffer.count - consumed
        guard available >= BasicHeaderSegment.length else { return nil }
        let start = consumed
        guard let header = BasicHeaderSegment(Array(buffer[start..<start + BasicHeaderSegment.length])) else { return nil }
        guard Opcode(rawValue: header.opcodeValue) != nil else { throw .unknownOpcode(header.opcodeValue) }
        if header.dataSegmentLength > maxDataSegmentLength {
            throw .dataSegmentTooLong(length: header.dataSegmentLength, limit: maxDataSegmentLength)
        }
        let total = totalLength(header: header.bytes)
        guard available >= total else { return nil }

        var offset = start + BasicHeaderSegment.length
        let additionalHeader = Array(buffer[offset..<offset + header.additionalHeaderLength])
        offset += header.additionalHeaderLength
        if digests.header {
            let expected = CRC32C.checksum(buffer[start..<offset])
            let received = buffer.digest(at: offset)
            guard expected == received else { throw .headerDigestMismatch(expected: expected, received: received) }
            offset += 4
        }
        let dataLength = header.dataSegmentLength
        let data = Array(buffer[offset..<offset + dataLength])
        if dataLength > 0 {
            let padded = dataLength + PDU.padding(for: dataLength)
            if digests.data {
                let expected = CRC32C.checksum(buffer[offset..<offset + padded])
                let received = buffer.digest(at: offset + padded)
                guard expected == received else { throw .dataDigestMismatch(expected: expected, received: received) }
            }
        }
        consumed = start + total
        var pdu = PDU(header: header, additionalHeader: additionalHeader, data: data)
        pdu.header = header
        return pdu
    }

    /// The whole PDU's length on the wire, from its header.
    private func totalLength(header: [UInt8]) -> Int {
        let additionalHeaderLength = Int(header[4]) * 4
        let dataLength = Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
        var total = BasicHeaderSegment.length + additionalHeaderLength
        if digests.header { total += 4 }
        if dataLength > 0 {
            total += dataLength + PDU.padding(for: dataLength)
            if digests.data { total += 4 }
        }
        return total
    }
}

extension [UInt8] {
    /// A CRC32C digest goes on the wire least significant byte first: RFC 3720 appendix B.4
    /// shows the CRC 0x8A9136AA of 32 zero bytes as `aa 36 91 8a`, and targets send it so.
    mutating func appendDigest(_ value: UInt32) {
        append(contentsOf: (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
    }

    func digest(at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(self[offset + $1]) << (8 * $1) }
    }

    func bigEndianUInt32(at offset: Int) -> UInt32 {
        (offset..<offset + 4).reduce(0) { $0 << 8 | UInt32(self[$1]) }
    }

    func bigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }
}
