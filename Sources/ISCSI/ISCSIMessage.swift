/// A PDU with its opcode-specific fields interpreted (RFC 7143 §11.3–§11.19).
///
/// `init(_ pdu:)` reads the fields from a framed PDU and `pdu` writes them back; reserved
/// bits are ignored when read and written as zero.
public protocol ISCSIMessage: Equatable, Sendable {
    static var opcode: Opcode { get }
    init(_ pdu: PDU) throws(PDUError)
    var pdu: PDU { get }
}

extension ISCSIMessage {
    static func header(immediate: Bool = false) -> BasicHeaderSegment {
        var header = BasicHeaderSegment()
        header.opcodeValue = opcode.rawValue
        header.isImmediate = immediate
        return header
    }

    static func check(_ pdu: PDU) throws(PDUError) {
        guard let received = pdu.opcode else { throw .unknownOpcode(pdu.header.opcodeValue) }
        guard received == opcode else { throw .unexpectedOpcode(received, expected: opcode) }
    }
}

/// The Initiator Task Tag value reserved for PDUs that belong to no task (§11.2.1.8).
public let reservedTaskTag: UInt32 = 0xFFFF_FFFF
