/// Login stages (RFC 7143 §11.12.3): CSG and NSG fields.
public enum LoginStage: UInt8, Sendable, CaseIterable {
    case securityNegotiation = 0
    case operationalNegotiation = 1
    case fullFeaturePhase = 3
}

// MARK: - Login (§11.12, §11.13)

public struct LoginRequest: ISCSIMessage {
    public static let opcode = Opcode.loginRequest

    public var transit: Bool
    public var continues: Bool
    public var currentStage: LoginStage
    public var nextStage: LoginStage
    public var versionMax: UInt8 = 0
    public var versionMin: UInt8 = 0
    /// The six-byte Initiator Session ID (§11.12.5).
    public var isid: [UInt8]
    public var tsih: UInt16
    public var initiatorTaskTag: UInt32
    public var cid: UInt16
    public var cmdSN: SequenceNumber
    public var expStatSN: SequenceNumber
    public var data: [UInt8]

    public init(
        transit: Bool, continues: Bool = false, currentStage: LoginStage, nextStage: LoginStage,
        isid: [UInt8], tsih: UInt16, initiatorTaskTag: UInt32, cid: UInt16,
        cmdSN: SequenceNumber, expStatSN: SequenceNumber, data: [UInt8]
    ) {
        self.transit = transit
        self.continues = continues
        self.currentStage = currentStage
        self.nextStage = nextStage
        self.isid = isid
        self.tsih = tsih
        self.initiatorTaskTag = initiatorTaskTag
        self.cid = cid
        self.cmdSN = cmdSN
        self.expStatSN = expStatSN
        self.data = data
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        (transit, continues, currentStage, nextStage) = try loginFlags(header, opcode: Self.opcode)
        versionMax = header[byte: 2]
        versionMin = header[byte: 3]
        isid = header.slice(8..<14)
        tsih = header.uint16(at: 14)
        initiatorTaskTag = header.uint32(at: Field.initiatorTaskTag)
        cid = header.uint16(at: 20)
        cmdSN = SequenceNumber(header.uint32(at: Field.cmdSN))
        expStatSN = SequenceNumber(header.uint32(at: Field.expStatSN))
        data = pdu.data
    }

    public var pdu: PDU {
        // Login requests are always immediate (§11.12).
        var header = Self.header(immediate: true)
        header[byte: 1] = loginFlagsByte(transit: transit, continues: continues, currentStage: currentStage, nextStage: nextStage)
        header[byte: 2] = versionMax
        header[byte: 3] = versionMin
        header.setSlice(Array(isid.prefix(6)) + [UInt8](repeating: 0, count: max(0, 6 - isid.count)), at: 8)
        header.setUInt16(tsih, at: 14)
        header.setUInt32(initiatorTaskTag, at: Field.initiatorTaskTag)
        header.setUInt16(cid, at: 20)
        header.setUInt32(cmdSN.rawValue, at: Field.cmdSN)
        header.setUInt32(expStatSN.rawValue, at: Field.expStatSN)
        return PDU(header: header, data: data)
    }
}

public struct LoginResponse: ISCSIMessage {
    public static let opcode = Opcode.loginResponse

    public var transit: Bool
    public var continues: Bool
    public var currentStage: LoginStage
    public var nextStage: LoginStage
    public var versionMax: UInt8 = 0
    public var versionActive: UInt8 = 0
    public var isid: [UInt8]
    public var tsih: UInt16
    public var initiatorTaskTag: UInt32
    public var statSN: SequenceNumber
    public var expCmdSN: SequenceNumber
    public var maxCmdSN: SequenceNumber
    public var status: LoginStatus
    public var data: [UInt8]

    public init(
        transit: Bool, continues: Bool = false, currentStage: LoginStage, nextStage: LoginStage,
        isid: [UInt8], tsih: UInt16, initiatorTaskTag: UInt32, statSN: SequenceNumber,
        expCmdSN: SequenceNumber, maxCmdSN: SequenceNumber, status: LoginStatus, data: [UInt8]
    ) {
        self.transit = transit
        self.continues = continues
        self.currentStage = currentStage
        self.nextStage = nextStage
        self.isid = isid
        self.tsih = tsih
        self.initiatorTaskTag = initiatorTaskTag
        self.statSN = statSN
        self.expCmdSN = expCmdSN
        self.maxCmdSN = maxCmdSN
        self.status = status
        self.data = data
    }

    public init(_ pdu: PDU) throws(PDUError) {
        try Self.check(pdu)
        let header = pdu.header
        (transit, continues, currentStage, nextStage) = try loginFlags(header, opcode: Self.opcode)
        versionMax = header[byte: 2]
        versionActive = header[byte: 3]
        isid = header.slice(8..<14)
        tsih = header.uint16(at: 14)
        initiatorTaskTag = header.uint32(at: Field.initiatorTaskTag)
        statSN = SequenceNumber(header.uint32(at: Field.statSN))
        expCmdSN = SequenceNumber(header.uint32(at: Field.expCmdSN))
        maxCmdSN = SequenceNumber(header.uint32(at: Field.maxCmdSN))
        status = LoginStatus(statusClass: header[byte: 36], detail: header[byte: 37])
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header()
        header[byte: 1] = loginFlagsByte(transit: transit, continues: continues, currentStage: currentStage, nextStage: nextStage)
        header[byte: 2] = versionMax
        header[byte: 3] = versionActive
        header.setSlice(Array(isid.prefix(6)) + [UInt8](repeating: 0, count: max(0, 6 - isid.count)), at: 8)
        header.setUInt16(tsih, at: 14)
        header.setUInt32(initiatorTaskTag, at: Field.initiatorTaskTag)
        header.setUInt32(statSN.rawValue, at: Field.statSN)
        header.setUInt32(expCmdSN.rawValue, at: Field.expCmdSN)
        header.setUInt32(maxCmdSN.rawValue, at: Field.maxCmdSN)
        header[byte: 36] = status.statusClass
        header[byte: 37] = status.detail
        return PDU(header: header, data: data)
    }
}

/// T (transit) 0x80, C (continue) 0x40, CSG bits 3–2, NSG bits 1–0 (§11.12.1–§11.12.4).
private func loginFlags(_ header: BasicHeaderSegment, opcode: Opcode) throws(PDUError) -> (Bool, Bool, LoginStage, LoginStage) {
    let flags = header[byte: 1]
    guard let current = LoginStage(rawValue: (flags >> 2) & 0x3) else {
        throw .fieldInvalid(opcode: opcode, field: "CSG", value: UInt64((flags >> 2) & 0x3))
    }
    guard let next = LoginStage(rawValue: flags & 0x3) else {
        throw .fieldInvalid(opcode: opcode, field: "NSG", value: UInt64(flags & 0x3))
    }
    return (flags & 0x80 != 0, flags & 0x40 != 0, current, next)
}

private func loginFlagsByte(transit: Bool, continues: Bool, currentStage: LoginStage, nextStage: LoginStage) -> UInt8 {
    (transit ? 0x80 : 0) | (continues ? 0x40 : 0) | currentStage.rawValue << 2 | nextStage.rawValue
}

// MARK: - Text (§11.10, §11.11)

public struct TextRequest: ISCSIMessage {
    public static let opcode = Opcode.textRequest

    public var immediate: Bool
    public var final: Bool
    public var continues: Bool
    public var lun: LogicalUnit
    public var initiatorTaskTag: UInt32
    public var targetTransferTag: UInt32
    public var cmdSN: SequenceNumber
    public var expStatSN: SequenceNumber
    public var data: [UInt8]

    public init(
        immediate: Bool = true, final: Bool = true, continues: Bool = false, lun: LogicalUnit = LogicalUnit(rawValue: 0),
        initiatorTaskTag: UInt32, targetTransferTag: UInt32 = reservedTaskTag,
        cmdSN: SequenceNumber, expStatSN: SequenceNumber, data: [UInt8]
    ) {
        self.immediate = immediate
        self.final = final
        self.continues = continues
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
        final = header[byte: 1] & 0x80 != 0
        continues = header[byte: 1] & 0x40 != 0
        lun = LogicalUnit(rawValue: header.uint64(at: Field.lun))
        initiatorTaskTag = header.uint32(at: Field.initiatorTaskTag)
        targetTransferTag = header.uint32(at: Field.targetTransferTag)
        cmdSN = SequenceNumber(header.uint32(at: Field.cmdSN))
        expStatSN = SequenceNumber(header.uint32(at: Field.expStatSN))
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header(immediate: immediate)
        header[byte: 1] = (final ? 0x80 : 0) | (continues ? 0x40 : 0)
        header.setUInt64(lun.rawValue, at: Field.lun)
        header.setUInt32(initiatorTaskTag, at: Field.initiatorTaskTag)
        header.setUInt32(targetTransferTag, at: Field.targetTransferTag)
        header.setUInt32(cmdSN.rawValue, at: Field.cmdSN)
        header.setUInt32(expStatSN.rawValue, at: Field.expStatSN)
        return PDU(header: header, data: data)
    }
}

public struct TextResponse: ISCSIMessage {
    public static let opcode = Opcode.textResponse

    public var final: Bool
    public var continues: Bool
    public var lun: LogicalUnit
    public var initiatorTaskTag: UInt32
    public var targetTransferTag: UInt32
    public var statSN: SequenceNumber
    public var expCmdSN: SequenceNumber
    public var maxCmdSN: SequenceNumber
    public var data: [UInt8]

    public init(
        final: Bool, continues: Bool, lun: LogicalUnit = LogicalUnit(rawValue: 0), initiatorTaskTag: UInt32,
        targetTransferTag: UInt32, statSN: SequenceNumber, expCmdSN: SequenceNumber, maxCmdSN: SequenceNumber, data: [UInt8]
    ) {
        self.final = final
        self.continues = continues
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
        final = header[byte: 1] & 0x80 != 0
        continues = header[byte: 1] & 0x40 != 0
        lun = LogicalUnit(rawValue: header.uint64(at: Field.lun))
        initiatorTaskTag = header.uint32(at: Field.initiatorTaskTag)
        targetTransferTag = header.uint32(at: Field.targetTransferTag)
        (statSN, expCmdSN, maxCmdSN) = targetSequence(header)
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header()
        header[byte: 1] = (final ? 0x80 : 0) | (continues ? 0x40 : 0)
        header.setUInt64(lun.rawValue, at: Field.lun)
        header.setUInt32(initiatorTaskTag, at: Field.initiatorTaskTag)
        header.setUInt32(targetTransferTag, at: Field.targetTransferTag)
        setTargetSequence(&header, statSN, expCmdSN, maxCmdSN)
        return PDU(header: header, data: data)
    }
}

/// StatSN, ExpCmdSN, MaxCmdSN at bytes 24, 28, 32 of every target PDU that carries them.
func targetSequence(_ header: BasicHeaderSegment) -> (SequenceNumber, SequenceNumber, SequenceNumber) {
    (
        SequenceNumber(header.uint32(at: Field.statSN)), SequenceNumber(header.uint32(at: Field.expCmdSN)),
        SequenceNumber(header.uint32(at: Field.maxCmdSN))
    )
}

func setTargetSequence(_ header: inout BasicHeaderSegment, _ statSN: SequenceNumber, _ expCmdSN: SequenceNumber, _ maxCmdSN: SequenceNumber)
{
    header.setUInt32(statSN.rawValue, at: Field.statSN)
    header.setUInt32(expCmdSN.rawValue, at: Field.expCmdSN)
    header.setUInt32(maxCmdSN.rawValue, at: Field.maxCmdSN)
}
