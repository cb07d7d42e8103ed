// NOP-Out/In, Logout, Task Management, Asynchronous Message, Reject and SNACK
// (RFC 7143 §11.5, §11.6, §11.9, §11.14–§11.19).

public struct NOPOut: ISCSIMessage {
    public static let opcode = Opcode.nopOut

    public var immediate: Bool
    public var lun: LogicalUnit
    /// 0xFFFFFFFF when answering a target's NOP-In; a fresh tag when pinging (§11.18.2).
    public var initiatorTaskTag: UInt32
    /// The target's tag echoed when answering its NOP-In; 0xFFFFFFFF otherwise.
    public var targetTransferTag: UInt32
    public var cmdSN: SequenceNumber
    public var expStatSN: SequenceNumber
    public var data: [UInt8]

    public init(
        immediate: Bool = true, lun: LogicalUnit = LogicalUnit(rawValue: 0), initiatorTaskTag: UInt32,
        targetTransferTag: UInt32 = reservedTaskTag, cmdSN: SequenceNumber, expStatSN: SequenceNumber, data: [UInt8] = []
    ) {
        self.immediate = immediate
        self.lun = lun
        self.initiatorTaskTag = initiatorTaskTag
        self.targetTransferTag = targetTransferTag
        self.cmdSN = cmdSN
        self.expStatSN = expStatSN
        self.data = data
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        immediate = header.isImmediate
        (lun, initiatorTaskTag, targetTransferTag) = header.task
        (cmdSN, expStatSN) = header.initiatorSequence
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header(immediate: immediate)
        header[Field.flags] = 0x80
        header.task = (lun, initiatorTaskTag, targetTransferTag)
        header.initiatorSequence = (cmdSN, expStatSN)
        return PDU(header: header, data: data)
    }
}

public struct NOPIn: ISCSIMessage {
    public static let opcode = Opcode.nopIn

    public var lun: LogicalUnit
    public var initiatorTaskTag: UInt32
    /// Not 0xFFFFFFFF when the target wants an answer (a ping from the target, §11.19.2).
    public var targetTransferTag: UInt32
    public var statSN: SequenceNumber
    public var expCmdSN: SequenceNumber
    public var maxCmdSN: SequenceNumber
    public var data: [UInt8]

    public init(
        lun: LogicalUnit = LogicalUnit(rawValue: 0), initiatorTaskTag: UInt32, targetTransferTag: UInt32,
        statSN: SequenceNumber, expCmdSN: SequenceNumber, maxCmdSN: SequenceNumber, data: [UInt8] = []
    ) {
        self.lun = lun
        self.initiatorTaskTag = initiatorTaskTag
        self.targetTransferTag = targetTransferTag
        self.statSN = statSN
        self.expCmdSN = expCmdSN
        self.maxCmdSN = maxCmdSN
        self.data = data
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        (lun, initiatorTaskTag, targetTransferTag) = header.task
        (statSN, expCmdSN, maxCmdSN) = header.targetSequence
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] = 0x80
        header.task = (lun, initiatorTaskTag, targetTransferTag)
        header.targetSequence = (statSN, expCmdSN, maxCmdSN)
        return PDU(header: header, data: data)
    }

    /// Whether the target asked for a NOP-Out in return.
    public var wantsReply: Bool { targetTransferTag != reservedTaskTag }
}

public struct LogoutRequest: ISCSIMessage {
    public static let opcode = Opcode.logoutRequest

    /// §11.14.1.
    public enum Reason: UInt8, Sendable, CaseIterable {
        case closeSession = 0, closeConnection = 1, removeConnectionForRecovery = 2
    }

    public var immediate: Bool
    public var reason: Reason
    public var initiatorTaskTag: UInt32
    public var cid: UInt16
    public var cmdSN: SequenceNumber
    public var expStatSN: SequenceNumber

    public init(
        immediate: Bool = true, reason: Reason, initiatorTaskTag: UInt32, cid: UInt16, cmdSN: SequenceNumber,
        expStatSN: SequenceNumber
    ) {
        self.immediate = immediate
        self.reason = reason
        self.initiatorTaskTag = initiatorTaskTag
        self.cid = cid
        self.cmdSN = cmdSN
        self.expStatSN = expStatSN
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        immediate = header.isImmediate
        guard let reason = Reason(rawValue: header[Field.flags] & 0x7F) else {
            throw .fieldInvalid(opcode: Self.opcode, field: "reason code", value: UInt64(header[Field.flags] & 0x7F))
        }
        self.reason = reason
        initiatorTaskTag = header[Field.initiatorTaskTag]
        cid = header[Field.cid]
        (cmdSN, expStatSN) = header.initiatorSequence
    }

    public var pdu: PDU {
        var header = Self.header(immediate: immediate)
        header[Field.flags] = 0x80 | reason.rawValue
        header[Field.initiatorTaskTag] = initiatorTaskTag
        header[Field.cid] = cid
        header.initiatorSequence = (cmdSN, expStatSN)
        return PDU(header: header)
    }
}

public struct LogoutResponse: ISCSIMessage {
    public static let opcode = Opcode.logoutResponse

    /// §11.15.
    enum Layout {
        static let time2Wait = HeaderField<UInt16>(40)
        static let time2Retain = HeaderField<UInt16>(42)
    }

    /// §11.15.1: 0 closed successfully, 1 CID not found, 2 connection recovery not
    /// supported, 3 cleanup failed.
    public var response: UInt8
    public var initiatorTaskTag: UInt32
    public var statSN: SequenceNumber
    public var expCmdSN: SequenceNumber
    public var maxCmdSN: SequenceNumber
    public var time2Wait: UInt16
    public var time2Retain: UInt16

    public init(
        response: UInt8, initiatorTaskTag: UInt32, statSN: SequenceNumber, expCmdSN: SequenceNumber,
        maxCmdSN: SequenceNumber, time2Wait: UInt16 = 0, time2Retain: UInt16 = 0
    ) {
        self.response = response
        self.initiatorTaskTag = initiatorTaskTag
        self.statSN = statSN
        self.expCmdSN = expCmdSN
        self.maxCmdSN = maxCmdSN
        self.time2Wait = time2Wait
        self.time2Retain = time2Retain
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        response = header[Field.response]
        initiatorTaskTag = header[Field.initiatorTaskTag]
        (statSN, expCmdSN, maxCmdSN) = header.targetSequence
        time2Wait = header[Layout.time2Wait]
        time2Retain = header[Layout.time2Retain]
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] = 0x80
        header[Field.response] = response
        header[Field.initiatorTaskTag] = initiatorTaskTag
        header.targetSequence = (statSN, expCmdSN, maxCmdSN)
        header[Layout.time2Wait] = time2Wait
        header[Layout.time2Retain] = time2Retain
        return PDU(header: header)
    }
}

public struct TaskManagementRequest: ISCSIMessage {
    public static let opcode = Opcode.taskManagementRequest

    /// §11.5.
    enum Layout {
        static let referencedTaskTag = HeaderField<UInt32>(20)
        static let refCmdSN = HeaderField<SequenceNumber>(32)
        static let expDataSN = HeaderField<UInt32>(36)
    }

    /// §11.5.1.
    public enum Function: UInt8, Sendable, CaseIterable {
        case abortTask = 1, abortTaskSet, clearACA, clearTaskSet, logicalUnitReset, targetWarmReset, targetColdReset,
            taskReassign
    }

    public var immediate: Bool
    public var function: Function
    public var lun: LogicalUnit
    public var initiatorTaskTag: UInt32
    public var referencedTaskTag: UInt32
    public var cmdSN: SequenceNumber
    public var expStatSN: SequenceNumber
    public var refCmdSN: SequenceNumber
    public var expDataSN: UInt32

    public init(
        immediate: Bool = true, function: Function, lun: LogicalUnit, initiatorTaskTag: UInt32,
        referencedTaskTag: UInt32 = reservedTaskTag, cmdSN: SequenceNumber, expStatSN: SequenceNumber,
        refCmdSN: SequenceNumber = SequenceNumber(0), expDataSN: UInt32 = 0
    ) {
        self.immediate = immediate
        self.function = function
        self.lun = lun
        self.initiatorTaskTag = initiatorTaskTag
        self.referencedTaskTag = referencedTaskTag
        self.cmdSN = cmdSN
        self.expStatSN = expStatSN
        self.refCmdSN = refCmdSN
        self.expDataSN = expDataSN
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        immediate = header.isImmediate
        guard let function = Function(rawValue: header[Field.flags] & 0x7F) else {
            throw .fieldInvalid(opcode: Self.opcode, field: "function", value: UInt64(header[Field.flags] & 0x7F))
        }
        self.function = function
        lun = header[Field.lun]
        initiatorTaskTag = header[Field.initiatorTaskTag]
        referencedTaskTag = header[Layout.referencedTaskTag]
        (cmdSN, expStatSN) = header.initiatorSequence
        refCmdSN = header[Layout.refCmdSN]
        expDataSN = header[Layout.expDataSN]
    }

    public var pdu: PDU {
        var header = Self.header(immediate: immediate)
        header[Field.flags] = 0x80 | function.rawValue
        header[Field.lun] = lun
        header[Field.initiatorTaskTag] = initiatorTaskTag
        header[Layout.referencedTaskTag] = referencedTaskTag
        header.initiatorSequence = (cmdSN, expStatSN)
        header[Layout.refCmdSN] = refCmdSN
        header[Layout.expDataSN] = expDataSN
        return PDU(header: header)
    }
}

public struct TaskManagementResponse: ISCSIMessage {
    public static let opcode = Opcode.taskManagementResponse

    /// §11.6.1: 0 function complete, 1 task does not exist, 2 LUN does not exist, 3 task
    /// still allegiant, 4 reassignment not supported, 5 not supported, 6 authorization
    /// failed, 255 rejected.
    public var response: UInt8
    public var initiatorTaskTag: UInt32
    public var statSN: SequenceNumber
    public var expCmdSN: SequenceNumber
    public var maxCmdSN: SequenceNumber

    public init(
        response: UInt8, initiatorTaskTag: UInt32, statSN: SequenceNumber, expCmdSN: SequenceNumber,
        maxCmdSN: SequenceNumber
    ) {
        self.response = response
        self.initiatorTaskTag = initiatorTaskTag
        self.statSN = statSN
        self.expCmdSN = expCmdSN
        self.maxCmdSN = maxCmdSN
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        response = header[Field.response]
        initiatorTaskTag = header[Field.initiatorTaskTag]
        (statSN, expCmdSN, maxCmdSN) = header.targetSequence
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] = 0x80
        header[Field.response] = response
        header[Field.initiatorTaskTag] = initiatorTaskTag
        header.targetSequence = (statSN, expCmdSN, maxCmdSN)
        return PDU(header: header)
    }
}

public struct AsyncMessage: ISCSIMessage {
    public static let opcode = Opcode.asyncMessage

    /// §11.9.
    enum Layout {
        static let asyncEvent = HeaderField<UInt8>(36)
        static let asyncVCode = HeaderField<UInt8>(37)
        static let parameter1 = HeaderField<UInt16>(38)
        static let parameter2 = HeaderField<UInt16>(40)
        static let parameter3 = HeaderField<UInt16>(42)
    }

    /// §11.9.1: 0 SCSI async event, 1 logout requested, 2 connection drop, 3 all
    /// connections drop, 4 renegotiate, 255 vendor specific.
    public var asyncEvent: UInt8
    public var asyncVCode: UInt8
    public var lun: LogicalUnit
    public var statSN: SequenceNumber
    public var expCmdSN: SequenceNumber
    public var maxCmdSN: SequenceNumber
    public var parameter1: UInt16
    public var parameter2: UInt16
    public var parameter3: UInt16
    public var data: [UInt8]

    public init(
        asyncEvent: UInt8, asyncVCode: UInt8 = 0, lun: LogicalUnit = LogicalUnit(rawValue: 0), statSN: SequenceNumber,
        expCmdSN: SequenceNumber, maxCmdSN: SequenceNumber, parameter1: UInt16 = 0, parameter2: UInt16 = 0,
        parameter3: UInt16 = 0, data: [UInt8] = []
    ) {
        self.asyncEvent = asyncEvent
        self.asyncVCode = asyncVCode
        self.lun = lun
        self.statSN = statSN
        self.expCmdSN = expCmdSN
        self.maxCmdSN = maxCmdSN
        self.parameter1 = parameter1
        self.parameter2 = parameter2
        self.parameter3 = parameter3
        self.data = data
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        lun = header[Field.lun]
        (statSN, expCmdSN, maxCmdSN) = header.targetSequence
        asyncEvent = header[Layout.asyncEvent]
        asyncVCode = header[Layout.asyncVCode]
        parameter1 = header[Layout.parameter1]
        parameter2 = header[Layout.parameter2]
        parameter3 = header[Layout.parameter3]
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] = 0x80
        header[Field.lun] = lun
        header[Field.initiatorTaskTag] = reservedTaskTag
        header.targetSequence = (statSN, expCmdSN, maxCmdSN)
        header[Layout.asyncEvent] = asyncEvent
        header[Layout.asyncVCode] = asyncVCode
        header[Layout.parameter1] = parameter1
        header[Layout.parameter2] = parameter2
        header[Layout.parameter3] = parameter3
        return PDU(header: header, data: data)
    }
}

extension AsyncMessage {
    /// What the target asks of this connection (RFC 7143 §11.9.1), for the events that end it.
    public enum TargetRequest: Equatable, Sendable {
        /// AsyncEvent 1: log out within `withinSeconds` (Parameter3); the Logout Response
        /// brings the Time2Wait. `time2WaitSeconds` is Parameter2, which the RFC leaves
        /// reserved here: a target that fills it in gets its wish all the same.
        case logout(withinSeconds: Int, time2WaitSeconds: Int)
        /// AsyncEvent 2 (this connection) or 3 (all of the session's): the target drops it;
        /// reconnect no sooner than `time2WaitSeconds` (Parameter2).
        case dropConnection(time2WaitSeconds: Int)
    }

    /// nil for the events that leave the connection up (a SCSI event, renegotiation, vendor).
    public var targetRequest: TargetRequest? {
        switch asyncEvent {
        case 1: .logout(withinSeconds: Int(parameter3), time2WaitSeconds: Int(parameter2))
        case 2, 3: .dropConnection(time2WaitSeconds: Int(parameter2))
        default: nil
        }
    }
}

public struct Reject: ISCSIMessage {
    public static let opcode = Opcode.reject

    /// §11.17.
    enum Layout {
        static let reason = HeaderField<UInt8>(2)
    }

    /// §11.17.1 reason codes.
    public var reason: UInt8
    public var statSN: SequenceNumber
    public var expCmdSN: SequenceNumber
    public var maxCmdSN: SequenceNumber
    public var dataSN: UInt32
    /// The rejected PDU's header, as the data segment carries it.
    public var rejectedHeader: [UInt8]

    public init(
        reason: UInt8, statSN: SequenceNumber, expCmdSN: SequenceNumber, maxCmdSN: SequenceNumber, dataSN: UInt32 = 0,
        rejectedHeader: [UInt8]
    ) {
        self.reason = reason
        self.statSN = statSN
        self.expCmdSN = expCmdSN
        self.maxCmdSN = maxCmdSN
        self.dataSN = dataSN
        self.rejectedHeader = rejectedHeader
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        reason = header[Layout.reason]
        (statSN, expCmdSN, maxCmdSN) = header.targetSequence
        dataSN = header[Field.dataSN]
        rejectedHeader = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] = 0x80
        header[Layout.reason] = reason
        header[Field.initiatorTaskTag] = reservedTaskTag
        header.targetSequence = (statSN, expCmdSN, maxCmdSN)
        header[Field.dataSN] = dataSN
        return PDU(header: header, data: rejectedHeader)
    }

    /// The rejected PDU's Initiator Task Tag, if its header is there.
    public var rejectedTaskTag: UInt32? {
        guard rejectedHeader.count >= BasicHeaderSegment.length else { return nil }
        return BasicHeaderSegment(Array(rejectedHeader.prefix(BasicHeaderSegment.length)))?[Field.initiatorTaskTag]
    }

    public var reasonText: String {
        switch reason {
        case 0x02: "data (payload) digest error"
        case 0x03: "SNACK reject"
        case 0x04: "protocol error"
        case 0x05: "command not supported"
        case 0x06: "immediate command rejected (too many immediate commands)"
        case 0x07: "task in progress"
        case 0x08: "invalid data ACK"
        case 0x09: "invalid PDU field"
        case 0x0A: "long operation reject (out of resources)"
        case 0x0B: "negotiation reset"
        case 0x0C: "waiting for logout"
        default: "reason 0x" + String(reason, radix: 16)
        }
    }
}

public struct SNACKRequest: ISCSIMessage {
    public static let opcode = Opcode.snackRequest

    /// §11.16.
    enum Layout {
        static let beginRun = HeaderField<UInt32>(40)
        static let runLength = HeaderField<UInt32>(44)
    }

    /// §11.16.1: 0 Data/R2T, 1 status, 2 DataACK, 3 R-Data.
    public var type: UInt8
    public var lun: LogicalUnit
    public var initiatorTaskTag: UInt32
    public var targetTransferTag: UInt32
    public var expStatSN: SequenceNumber
    public var beginRun: UInt32
    public var runLength: UInt32

    public init(
        type: UInt8, lun: LogicalUnit, initiatorTaskTag: UInt32, targetTransferTag: UInt32 = reservedTaskTag,
        expStatSN: SequenceNumber, beginRun: UInt32, runLength: UInt32
    ) {
        self.type = type
        self.lun = lun
        self.initiatorTaskTag = initiatorTaskTag
        self.targetTransferTag = targetTransferTag
        self.expStatSN = expStatSN
        self.beginRun = beginRun
        self.runLength = runLength
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        type = header[Field.flags] & 0x0F
        guard type <= 3 else { throw .fieldInvalid(opcode: Self.opcode, field: "type", value: UInt64(type)) }
        (lun, initiatorTaskTag, targetTransferTag) = header.task
        expStatSN = header[Field.expStatSN]
        beginRun = header[Layout.beginRun]
        runLength = header[Layout.runLength]
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] = 0x80 | (type & 0x0F)
        header.task = (lun, initiatorTaskTag, targetTransferTag)
        header[Field.expStatSN] = expStatSN
        header[Layout.beginRun] = beginRun
        header[Layout.runLength] = runLength
        return PDU(header: header)
    }
}

/// Any PDU a target sends, decoded by opcode.
public enum TargetMessage: Equatable, Sendable {
    case nopIn(NOPIn)
    case scsiResponse(SCSIResponse)
    case taskManagementResponse(TaskManagementResponse)
    case loginResponse(LoginResponse)
    case textResponse(TextResponse)
    case dataIn(DataIn)
    case logoutResponse(LogoutResponse)
    case readyToTransfer(ReadyToTransfer)
    case asyncMessage(AsyncMessage)
    case reject(Reject)

    /// Decodes `pdu`; an initiator opcode from the target is a protocol error.
    public init(_ pdu: PDU) throws(PDUError) {
        guard let opcode = pdu.opcode else { throw .unknownOpcode(pdu.header.opcodeValue) }
        switch opcode {
        case .nopIn: self = .nopIn(try NOPIn(pdu))
        case .scsiResponse: self = .scsiResponse(try SCSIResponse(pdu))
        case .taskManagementResponse: self = .taskManagementResponse(try TaskManagementResponse(pdu))
        case .loginResponse: self = .loginResponse(try LoginResponse(pdu))
        case .textResponse: self = .textResponse(try TextResponse(pdu))
        case .dataIn: self = .dataIn(try DataIn(pdu))
        case .logoutResponse: self = .logoutResponse(try LogoutResponse(pdu))
        case .readyToTransfer: self = .readyToTransfer(try ReadyToTransfer(pdu))
        case .asyncMessage: self = .asyncMessage(try AsyncMessage(pdu))
        case .reject: self = .reject(try Reject(pdu))
        case .nopOut, .scsiCommand, .taskManagementRequest, .loginRequest, .textRequest, .dataOut, .logoutRequest,
            .snackRequest:
            throw .initiatorOpcodeFromTarget(opcode)
        }
    }
}
