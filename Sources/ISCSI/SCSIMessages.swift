// SCSI Command, SCSI Response, Data-Out, Data-In and R2T (RFC 7143 §11.3–§11.8).

public struct SCSICommand: ISCSIMessage {
    public static let opcode = Opcode.scsiCommand

    /// §11.3; bytes of the CDB past 16 travel in an AHS.
    enum Layout {
        static let expectedDataTransferLength = HeaderField<UInt32>(20)
        static let cdb = 32..<48
    }

    /// Task attributes (§11.3.1, SAM): untagged, simple, ordered, head of queue, ACA.
    public enum TaskAttribute: UInt8, Sendable, CaseIterable {
        case untagged = 0, simple = 1, ordered = 2, headOfQueue = 3, autoContingentAllegiance = 4
    }

    public var immediate: Bool = false
    /// F: no unsolicited Data-Out follows this command.
    public var final: Bool = true
    public var read: Bool
    public var write: Bool
    public var attribute: TaskAttribute = .simple
    public var lun: LogicalUnit
    public var initiatorTaskTag: UInt32
    public var expectedDataTransferLength: UInt32
    public var cmdSN: SequenceNumber
    public var expStatSN: SequenceNumber
    /// The CDB; bytes past 16 travel in an Extended CDB AHS (§11.2.2.3).
    public var cdb: [UInt8]
    /// Immediate data (§11.3.4 and ImmediateData=Yes).
    public var data: [UInt8]

    public init(
        read: Bool, write: Bool, lun: LogicalUnit, initiatorTaskTag: UInt32, expectedDataTransferLength: UInt32,
        cmdSN: SequenceNumber, expStatSN: SequenceNumber, cdb: [UInt8], data: [UInt8] = [], final: Bool = true
    ) {
        self.read = read
        self.write = write
        self.lun = lun
        self.initiatorTaskTag = initiatorTaskTag
        self.expectedDataTransferLength = expectedDataTransferLength
        self.cmdSN = cmdSN
        self.expStatSN = expStatSN
        self.cdb = cdb
        self.data = data
        self.final = final
    }

    /// AHS type of an Extended CDB (§11.2.2.3).
    private static let extendedCDBType: UInt8 = 1

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        let flags = header[Field.flags]
        immediate = header.isImmediate
        final = flags & 0x80 != 0
        read = flags & 0x40 != 0
        write = flags & 0x20 != 0
        guard let attribute = TaskAttribute(rawValue: flags & 0x07) else {
            throw .fieldInvalid(opcode: Self.opcode, field: "ATTR", value: UInt64(flags & 0x07))
        }
        self.attribute = attribute
        lun = header[Field.lun]
        initiatorTaskTag = header[Field.initiatorTaskTag]
        expectedDataTransferLength = header[Layout.expectedDataTransferLength]
        (cmdSN, expStatSN) = header.initiatorSequence
        cdb = header.slice(Layout.cdb)
        for segment in try additionalHeaderSegments(pdu.additionalHeader) where segment.type == Self.extendedCDBType {
            // The first byte of an extended CDB AHS's data is reserved (§11.2.2.3).
            cdb += segment.body.dropFirst()
        }
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header(immediate: immediate)
        header[Field.flags] = (final ? 0x80 : 0) | (read ? 0x40 : 0) | (write ? 0x20 : 0) | attribute.rawValue
        header[Field.lun] = lun
        header[Field.initiatorTaskTag] = initiatorTaskTag
        header[Layout.expectedDataTransferLength] = expectedDataTransferLength
        header.initiatorSequence = (cmdSN, expStatSN)
        let base = Array(cdb.prefix(Layout.cdb.count)) + [UInt8](repeating: 0, count: max(0, Layout.cdb.count - cdb.count))
        header.setSlice(base, at: Layout.cdb.lowerBound)
        var additionalHeader: [UInt8] = []
        if cdb.count > 16 {
            let extra = Array(cdb.dropFirst(16))
            let bodyLength = extra.count + 1
            additionalHeader = [UInt8(bodyLength >> 8), UInt8(bodyLength & 0xFF), Self.extendedCDBType, 0] + extra
            additionalHeader += [UInt8](repeating: 0, count: PDU.padding(for: additionalHeader.count))
        }
        return PDU(header: header, additionalHeader: additionalHeader, data: data)
    }
}

/// One Additional Header Segment: 2-byte length, type, then the type's bytes (§11.2.2).
struct AdditionalHeaderSegment {
    var type: UInt8
    var body: [UInt8]
}

/// Splits the AHS area into segments, rejecting lengths that run past it.
func additionalHeaderSegments(_ bytes: [UInt8]) throws(PDUError) -> [AdditionalHeaderSegment] {
    var segments: [AdditionalHeaderSegment] = []
    var offset = 0
    while offset < bytes.count {
        guard bytes.count - offset >= 4 else { throw .additionalHeaderMalformed("\(bytes.count - offset) trailing bytes") }
        let length = Int(bytes.bigEndianUInt16(at: offset))
        // AHSLength counts the bytes after the type byte (§11.2.2.1), padding excluded.
        let bodyStart = offset + 3
        guard length >= 1, bodyStart + length <= bytes.count else {
            throw .additionalHeaderMalformed("segment length \(length) runs past the \(bytes.count)-byte AHS")
        }
        segments.append(AdditionalHeaderSegment(type: bytes[offset + 2], body: Array(bytes[bodyStart..<bodyStart + length])))
        offset = bodyStart + length
        offset += PDU.padding(for: offset)
    }
    return segments
}

public struct SCSIResponse: ISCSIMessage {
    public static let opcode = Opcode.scsiResponse

    /// §11.4.
    enum Layout {
        static let snackTag = HeaderField<UInt32>(20)
        static let expDataSN = HeaderField<UInt32>(36)
        static let bidirectionalResidualCount = HeaderField<UInt32>(40)
    }

    /// §11.4.3: 0x00 command completed at target, 0x01 target failure.
    public var response: UInt8
    /// SCSI status (SAM): 0x00 GOOD, 0x02 CHECK CONDITION, 0x08 BUSY, ...
    public var status: UInt8
    public var bidirectionalOverflow: Bool = false
    public var bidirectionalUnderflow: Bool = false
    public var overflow: Bool = false
    public var underflow: Bool = false
    public var initiatorTaskTag: UInt32
    public var snackTag: UInt32 = 0
    public var statSN: SequenceNumber
    public var expCmdSN: SequenceNumber
    public var maxCmdSN: SequenceNumber
    public var expDataSN: UInt32 = 0
    public var bidirectionalResidualCount: UInt32 = 0
    public var residualCount: UInt32 = 0
    /// The data segment: SenseLength (2 bytes) + sense data, then response data (§11.4.7).
    public var data: [UInt8]

    public init(
        response: UInt8 = 0, status: UInt8, initiatorTaskTag: UInt32, statSN: SequenceNumber,
        expCmdSN: SequenceNumber, maxCmdSN: SequenceNumber, data: [UInt8] = []
    ) {
        self.response = response
        self.status = status
        self.initiatorTaskTag = initiatorTaskTag
        self.statSN = statSN
        self.expCmdSN = expCmdSN
        self.maxCmdSN = maxCmdSN
        self.data = data
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        let flags = header[Field.flags]
        bidirectionalOverflow = flags & 0x10 != 0
        bidirectionalUnderflow = flags & 0x08 != 0
        overflow = flags & 0x04 != 0
        underflow = flags & 0x02 != 0
        response = header[Field.response]
        status = header[Field.status]
        initiatorTaskTag = header[Field.initiatorTaskTag]
        snackTag = header[Layout.snackTag]
        (statSN, expCmdSN, maxCmdSN) = header.targetSequence
        expDataSN = header[Layout.expDataSN]
        bidirectionalResidualCount = header[Layout.bidirectionalResidualCount]
        residualCount = header[Field.residualCount]
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] =
            0x80 | (bidirectionalOverflow ? 0x10 : 0) | (bidirectionalUnderflow ? 0x08 : 0) | (overflow ? 0x04 : 0)
            | (underflow ? 0x02 : 0)
        header[Field.response] = response
        header[Field.status] = status
        header[Field.initiatorTaskTag] = initiatorTaskTag
        header[Layout.snackTag] = snackTag
        header.targetSequence = (statSN, expCmdSN, maxCmdSN)
        header[Layout.expDataSN] = expDataSN
        header[Layout.bidirectionalResidualCount] = bidirectionalResidualCount
        header[Field.residualCount] = residualCount
        return PDU(header: header, data: data)
    }

    /// The sense data carried in the data segment, if any (§11.4.7.2).
    public var senseData: [UInt8] {
        guard data.count >= 2 else { return [] }
        let length = Int(data.bigEndianUInt16(at: 0))
        return Array(data.dropFirst(2).prefix(length))
    }
}

public struct DataOut: ISCSIMessage {
    public static let opcode = Opcode.dataOut

    public var final: Bool
    public var lun: LogicalUnit
    public var initiatorTaskTag: UInt32
    public var targetTransferTag: UInt32
    public var expStatSN: SequenceNumber
    public var dataSN: UInt32
    public var bufferOffset: UInt32
    public var data: [UInt8]

    public init(
        final: Bool, lun: LogicalUnit, initiatorTaskTag: UInt32, targetTransferTag: UInt32 = reservedTaskTag,
        expStatSN: SequenceNumber, dataSN: UInt32, bufferOffset: UInt32, data: [UInt8]
    ) {
        self.final = final
        self.lun = lun
        self.initiatorTaskTag = initiatorTaskTag
        self.targetTransferTag = targetTransferTag
        self.expStatSN = expStatSN
        self.dataSN = dataSN
        self.bufferOffset = bufferOffset
        self.data = data
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        final = header[Field.flags] & 0x80 != 0
        (lun, initiatorTaskTag, targetTransferTag) = header.task
        expStatSN = header[Field.expStatSN]
        dataSN = header[Field.dataSN]
        bufferOffset = header[Field.bufferOffset]
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] = final ? 0x80 : 0
        header.task = (lun, initiatorTaskTag, targetTransferTag)
        header[Field.expStatSN] = expStatSN
        header[Field.dataSN] = dataSN
        header[Field.bufferOffset] = bufferOffset
        return PDU(header: header, data: data)
    }
}

public struct DataIn: ISCSIMessage {
    public static let opcode = Opcode.dataIn

    public var final: Bool
    /// A: the target asks for a DataACK SNACK (ERL > 0 only).
    public var acknowledge: Bool = false
    public var overflow: Bool = false
    public var underflow: Bool = false
    /// S: this PDU carries the command's status (phase collapse, §11.7.4).
    public var hasStatus: Bool = false
    public var status: UInt8 = 0
    public var lun: LogicalUnit
    public var initiatorTaskTag: UInt32
    public var targetTransferTag: UInt32 = reservedTaskTag
    public var statSN: SequenceNumber = SequenceNumber(0)
    public var expCmdSN: SequenceNumber
    public var maxCmdSN: SequenceNumber
    public var dataSN: UInt32
    public var bufferOffset: UInt32
    public var residualCount: UInt32 = 0
    public var data: [UInt8]

    public init(
        final: Bool, lun: LogicalUnit, initiatorTaskTag: UInt32, expCmdSN: SequenceNumber, maxCmdSN: SequenceNumber,
        dataSN: UInt32, bufferOffset: UInt32, data: [UInt8]
    ) {
        self.final = final
        self.lun = lun
        self.initiatorTaskTag = initiatorTaskTag
        self.expCmdSN = expCmdSN
        self.maxCmdSN = maxCmdSN
        self.dataSN = dataSN
        self.bufferOffset = bufferOffset
        self.data = data
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        let flags = header[Field.flags]
        final = flags & 0x80 != 0
        acknowledge = flags & 0x40 != 0
        overflow = flags & 0x04 != 0
        underflow = flags & 0x02 != 0
        hasStatus = flags & 0x01 != 0
        status = header[Field.status]
        (lun, initiatorTaskTag, targetTransferTag) = header.task
        (statSN, expCmdSN, maxCmdSN) = header.targetSequence
        dataSN = header[Field.dataSN]
        bufferOffset = header[Field.bufferOffset]
        residualCount = header[Field.residualCount]
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] =
            (final ? 0x80 : 0) | (acknowledge ? 0x40 : 0) | (overflow ? 0x04 : 0) | (underflow ? 0x02 : 0)
            | (hasStatus ? 0x01 : 0)
        header[Field.status] = status
        header.task = (lun, initiatorTaskTag, targetTransferTag)
        header.targetSequence = (statSN, expCmdSN, maxCmdSN)
        header[Field.dataSN] = dataSN
        header[Field.bufferOffset] = bufferOffset
        header[Field.residualCount] = residualCount
        return PDU(header: header, data: data)
    }
}

/// Ready To Transfer: the target asks for a range of a write's data (§11.8).
public struct ReadyToTransfer: ISCSIMessage {
    public static let opcode = Opcode.readyToTransfer

    /// §11.8.
    enum Layout {
        static let r2tSN = HeaderField<UInt32>(36)
        static let desiredDataTransferLength = HeaderField<UInt32>(44)
    }

    public var lun: LogicalUnit
    public var initiatorTaskTag: UInt32
    public var targetTransferTag: UInt32
    public var statSN: SequenceNumber
    public var expCmdSN: SequenceNumber
    public var maxCmdSN: SequenceNumber
    public var r2tSN: UInt32
    public var bufferOffset: UInt32
    public var desiredDataTransferLength: UInt32

    public init(
        lun: LogicalUnit, initiatorTaskTag: UInt32, targetTransferTag: UInt32, statSN: SequenceNumber,
        expCmdSN: SequenceNumber, maxCmdSN: SequenceNumber, r2tSN: UInt32, bufferOffset: UInt32,
        desiredDataTransferLength: UInt32
    ) {
        self.lun = lun
        self.initiatorTaskTag = initiatorTaskTag
        self.targetTransferTag = targetTransferTag
        self.statSN = statSN
        self.expCmdSN = expCmdSN
        self.maxCmdSN = maxCmdSN
        self.r2tSN = r2tSN
        self.bufferOffset = bufferOffset
        self.desiredDataTransferLength = desiredDataTransferLength
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        (lun, initiatorTaskTag, targetTransferTag) = header.task
        (statSN, expCmdSN, maxCmdSN) = header.targetSequence
        r2tSN = header[Layout.r2tSN]
        bufferOffset = header[Field.bufferOffset]
        desiredDataTransferLength = header[Layout.desiredDataTransferLength]
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] = 0x80
        header.task = (lun, initiatorTaskTag, targetTransferTag)
        header.targetSequence = (statSN, expCmdSN, maxCmdSN)
        header[Layout.r2tSN] = r2tSN
        header[Field.bufferOffset] = bufferOffset
        header[Layout.desiredDataTransferLength] = desiredDataTransferLength
        return PDU(header: header)
    }
}
