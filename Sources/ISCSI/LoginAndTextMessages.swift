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
        versionMax = header[LoginLayout.versionMax]
        versionMin = header[LoginLayout.versionMin]
        isid = header.slice(LoginLayout.isid)
        tsih = header[LoginLayout.tsih]
        initiatorTaskTag = header[Field.initiatorTaskTag]
        cid = header[Field.cid]
        (cmdSN, expStatSN) = header.initiatorSequence
        data = pdu.data
    }

    public var pdu: PDU {
        // Login requests are always immediate (§11.12).
        var header = Self.header(immediate: true)
        header[Field.flags] = loginFlagsByte(transit: transit, continues: continues, currentStage: currentStage, nextStage: nextStage)
        header[LoginLayout.versionMax] = versionMax
        header[LoginLayout.versionMin] = versionMin
        LoginLayout.setISID(isid, in: &header)
        header[LoginLayout.tsih] = tsih
        header[Field.initiatorTaskTag] = initiatorTaskTag
        header[Field.cid] = cid
        header.initiatorSequence = (cmdSN, expStatSN)
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
        versionMax = header[LoginLayout.versionMax]
        versionActive = header[LoginLayout.versionActive]
        isid = header.slice(LoginLayout.isid)
        tsih = header[LoginLayout.tsih]
        initiatorTaskTag = header[Field.initiatorTaskTag]
        (statSN, expCmdSN, maxCmdSN) = header.targetSequence
        status = LoginStatus(statusClass: header[LoginLayout.statusClass], detail: header[LoginLayout.statusDetail])
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] = loginFlagsByte(transit: transit, continues: continues, currentStage: currentStage, nextStage: nextStage)
        header[LoginLayout.versionMax] = versionMax
        header[LoginLayout.versionActive] = versionActive
        LoginLayout.setISID(isid, in: &header)
        header[LoginLayout.tsih] = tsih
        header[Field.initiatorTaskTag] = initiatorTaskTag
        header.targetSequence = (statSN, expCmdSN, maxCmdSN)
        header[LoginLayout.statusClass] = status.statusClass
        header[LoginLayout.statusDetail] = status.detail
        return PDU(header: header, data: data)
    }
}

/// The Login Request's and Login Response's own fields (§11.12, §11.13).
enum LoginLayout {
    static let versionMax = HeaderField<UInt8>(2)
    /// Version-min of the request; Version-active of the response.
    static let versionMin = HeaderField<UInt8>(3)
    static let versionActive = HeaderField<UInt8>(3)
    static let isid = 8..<14
    static let tsih = HeaderField<UInt16>(14)
    /// The response's Status-Class and Status-Detail.
    static let statusClass = HeaderField<UInt8>(36)
    static let statusDetail = HeaderField<UInt8>(37)

    /// The ISID, cut or zero-filled to its six bytes.
    static func setISID(_ isid: [UInt8], in header: inout BasicHeaderSegment) {
        let bytes = Array(isid.prefix(Self.isid.count)) + [UInt8](repeating: 0, count: max(0, Self.isid.count - isid.count))
        header.setSlice(bytes, at: Self.isid.lowerBound)
    }
}

/// T (transit) 0x80, C (continue) 0x40, CSG bits 3–2, NSG bits 1–0 (§11.12.1–§11.12.4).
private func loginFlags(_ header: BasicHeaderSegment, opcode: Opcode) throws(PDUError) -> (Bool, Bool, LoginStage, LoginStage) {
    let flags = header[Field.flags]
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
        final = header[Field.flags] & 0x80 != 0
        continues = header[Field.flags] & 0x40 != 0
        (lun, initiatorTaskTag, targetTransferTag) = header.task
        (cmdSN, expStatSN) = header.initiatorSequence
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header(immediate: immediate)
        header[Field.flags] = (final ? 0x80 : 0) | (continues ? 0x40 : 0)
        header.task = (lun, initiatorTaskTag, targetTransferTag)
        header.initiatorSequence = (cmdSN, expStatSN)
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
        final = header[Field.flags] & 0x80 != 0
        continues = header[Field.flags] & 0x40 != 0
        (lun, initiatorTaskTag, targetTransferTag) = header.task
        (statSN, expCmdSN, maxCmdSN) = header.targetSequence
        data = pdu.data
    }

    public var pdu: PDU {
        var header = Self.header()
        header[Field.flags] = (final ? 0x80 : 0) | (continues ? 0x40 : 0)
        header.task = (lun, initiatorTaskTag, targetTransferTag)
        header.targetSequence = (statSN, expCmdSN, maxCmdSN)
        return PDU(header: header, data: data)
    }
}
