import ISCSI
import LinuxSystem

/// The negotiated limits the data path obeys when it sends and checks when it receives
/// (RFC 7143 §13.10–§13.20).
struct DataPathLimits: Sendable {
    /// The target's declared MaxRecvDataSegmentLength: the most we put in one PDU (§13.12).
    var maxXmitDataSegmentLength: Int
    var maxBurstLength: Int
    var firstBurstLength: Int
    var initialR2T: Bool
    var immediateData: Bool
    var dataPDUInOrder: Bool
    var dataSequenceInOrder: Bool

    init(_ parameters: NegotiatedParameters) {
        // A declared length below the RFC minimum would make us send nothing; the
        // negotiator already rejected it, this only keeps the arithmetic safe.
        maxXmitDataSegmentLength = max(512, parameters.maxXmitDataSegmentLength)
        maxBurstLength = max(512, parameters.maxBurstLength)
        firstBurstLength = max(512, parameters.firstBurstLength)
        initialR2T = parameters.initialR2T
        immediateData = parameters.immediateData
        dataPDUInOrder = parameters.dataPDUInOrder
        dataSequenceInOrder = parameters.dataSequenceInOrder
    }

    /// How a write of `length` bytes starts (§13.11, §13.14): `immediate` bytes ride in the
    /// SCSI Command PDU (ImmediateData=Yes), then unsolicited Data-Out PDUs carry the rest
    /// of the first burst (InitialR2T=No) up to `unsolicited`; R2Ts ask for everything after.
    func firstBurst(ofWriteLength length: Int) -> (immediate: Int, unsolicited: Int) {
        let firstBurst = min(length, firstBurstLength)
        let immediate = immediateData ? min(firstBurst, maxXmitDataSegmentLength) : 0
        return (immediate, initialR2T ? immediate : firstBurst)
    }
}

/// A rule of RFC 7143 the target broke for one task, in words for people.
struct DataPathViolation: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A rule of RFC 7143 the target bent in a way that leaves the data intact (so the command
/// succeeds), reported for a person to judge.
public struct ProtocolDeviation: Sendable, Equatable, CustomStringConvertible {
    /// The rule, the same for every occurrence.
    public var rule: String
    /// The first occurrence, with the task and the numbers.
    public var detail: String

    public init(rule: String, detail: String) {
        self.rule = rule
        self.detail = detail
    }

    public var description: String { detail }
}

/// One SCSI command in flight, found by its Initiator Task Tag. It checks every PDU the
/// target sends for the task before trusting it, and collects the read data.
struct TaskInFlight {
    let index: Int
    let tag: UInt32
    let request: SCSIRequest
    let cmdSN: SequenceNumber
    let deadline: MonotonicInstant
    private let readLength: Int
    private let writeLength: Int
    private var data: [UInt8] = []
    private var receivedBytes = 0
    private var nextDataSN: UInt32 = 0
    /// Bytes of the Data-In sequence under way; a sequence ends with the F bit (§11.7.1).
    private var sequenceBytes = 0
    private var nextR2TSN: UInt32 = 0
    /// Where the next solicited data starts: the end of the unsolicited data, then of each R2T.
    private var nextSolicitedOffset: Int
    /// The first rule the target bent for this task without harming the data.
    var deviation: ProtocolDeviation?

    init(index: Int, tag: UInt32, request: SCSIRequest, cmdSN: SequenceNumber, deadline: MonotonicInstant, unsolicitedLength: Int) {
        self.index = index
        self.tag = tag
        self.request = request
        self.cmdSN = cmdSN
        self.deadline = deadline
        readLength = request.readLength
        writeLength = request.writeData.count
        nextSolicitedOffset = unsolicitedLength
    }

    private var label: String { "\(request.name) (task \(tag))" }

    /// Takes one Data-In PDU; returns the result when it carries the status (phase
    /// collapse, §11.7.4).
    mutating func receive(_ dataIn: DataIn, limits: DataPathLimits) throws(DataPathViolation) -> Session.CommandResult? {
        guard readLength > 0 else { throw DataPathViolation("Data-In for \(label), which reads nothing") }
        guard dataIn.dataSN == nextDataSN else {
            throw DataPathViolation(
                "Data-In for \(label) has DataSN \(dataIn.dataSN), expected \(nextDataSN) (DataSN counts the task's Data-In PDUs from 0, RFC 7143 §11.7.5)"
            )
        }
        let offset = Int(dataIn.bufferOffset)
        let count = dataIn.data.count
        guard offset <= readLength, count <= readLength - offset else {
            throw DataPathViolation(
                "Data-In for \(label) carries bytes \(offset)..<\(offset + count), beyond the \(readLength) bytes requested")
        }
        if limits.dataPDUInOrder && offset != receivedBytes {
            throw DataPathViolation(
                "Data-In for \(label) at buffer offset \(offset), expected \(receivedBytes) (DataPDUInOrder=Yes, RFC 7143 §13.19)")
        }
        sequenceBytes += count
        if sequenceBytes > limits.maxBurstLength && deviation == nil {
            // A deviation, not a failure: the data is intact and the Linux initiator accepts it.
            deviation = ProtocolDeviation(
                rule: "Data-In sequence longer than MaxBurstLength",
                detail:
                    "a Data-In sequence for \(label) reached \(sequenceBytes) bytes without the F bit, more than MaxBurstLength \(limits.maxBurstLength) (RFC 7143 §11.7.1, §13.13)"
            )
        }
        if dataIn.final { sequenceBytes = 0 }
        store(dataIn.data, at: offset)
        nextDataSN &+= 1
        guard dataIn.hasStatus else { return nil }
        guard dataIn.final else { throw DataPathViolation("Data-In for \(label) has the S bit without the F bit (RFC 7143 §11.7.4)") }
        return try result(status: dataIn.status, sense: nil, underflow: dataIn.underflow, residual: dataIn.residualCount)
    }

    /// Takes the SCSI Response that ends the task.
    func receive(_ response: SCSIResponse) throws(DataPathViolation) -> Session.CommandResult {
        guard response.response == 0 else {
            throw DataPathViolation("the target reported a target failure for \(label) (iSCSI response \(response.response))")
        }
        return try result(
            status: response.status, sense: SenseData(response.senseData), underflow: response.underflow, residual: response.residualCount)
    }

    /// Takes an R2T and returns the range of the write's data to send for it.
    mutating func receive(_ r2t: ReadyToTransfer, limits: DataPathLimits) throws(DataPathViolation) -> Range<Int> {
        guard writeLength > 0 else { throw DataPathViolation("R2T for \(label), which writes nothing") }
        guard r2t.r2tSN == nextR2TSN else {
            throw DataPathViolation("R2T for \(label) has R2TSN \(r2t.r2tSN), expected \(nextR2TSN) (RFC 7143 §11.8.5)")
        }
        let offset = Int(r2t.bufferOffset)
        let length = Int(r2t.desiredDataTransferLength)
        guard length > 0 else { throw DataPathViolation("R2T for \(label) asks for 0 bytes (RFC 7143 §11.8.4)") }
        guard offset <= writeLength, length <= writeLength - offset else {
            throw DataPathViolation(
                "R2T for \(label) asks for bytes \(offset)..<\(offset + length), outside the \(writeLength)-byte transfer")
        }
        guard length <= limits.maxBurstLength else {
            throw DataPathViolation(
                "R2T for \(label) asks for \(length) bytes, more than MaxBurstLength \(limits.maxBurstLength) (RFC 7143 §11.8.4)")
        }
        if limits.dataSequenceInOrder && offset != nextSolicitedOffset {
            throw DataPathViolation(
                "R2T for \(label) asks for offset \(offset), expected \(nextSolicitedOffset) (DataSequenceInOrder=Yes, RFC 7143 §13.20)")
        }
        nextSolicitedOffset = max(nextSolicitedOffset, offset + length)
        nextR2TSN &+= 1
        return offset..<offset + length
    }

    /// Places a Data-In payload: appended while in order (the common case, one copy),
    /// else written into a buffer grown to cover it.
    private mutating func store(_ bytes: [UInt8], at offset: Int) {
        receivedBytes += bytes.count
        if offset == data.count {
            if data.isEmpty && bytes.count == readLength {
                data = bytes
            } else {
                data.reserveCapacity(readLength)
                data.append(contentsOf: bytes)
            }
            return
        }
        if data.count < offset + bytes.count {
            data.append(contentsOf: repeatElement(0, count: offset + bytes.count - data.count))
        }
        data.replaceSubrange(offset..<offset + bytes.count, with: bytes)
    }

    /// The task's result; GOOD status must come with all the data the residual promises.
    private func result(status: UInt8, sense: SenseData?, underflow: Bool, residual: UInt32) throws(DataPathViolation)
        -> Session.CommandResult
    {
        if status == SCSIStatus.good && readLength > 0 {
            let promised = underflow ? readLength - min(readLength, Int(residual)) : readLength
            guard receivedBytes == promised else {
                throw DataPathViolation(
                    "\(label) ended GOOD after \(receivedBytes) bytes of Data-In, but the residual count says \(promised) were sent")
            }
        }
        return Session.CommandResult(status: status, data: data, sense: sense)
    }
}
