import Testing

@testable import ISCSI

/// Deterministic pseudo-random values for property tests (SplitMix64), so a failure
/// reproduces from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) } }

    mutating func bytes(upTo limit: Int) -> [UInt8] { bytes(Int.random(in: 0...limit, using: &self)) }

    mutating func sequenceNumber() -> SequenceNumber { SequenceNumber(UInt32.random(in: 0...UInt32.max, using: &self)) }

    mutating func tag() -> UInt32 { UInt32.random(in: 0...UInt32.max, using: &self) }

    mutating func bool() -> Bool { Bool.random(using: &self) }

    mutating func lun() -> LogicalUnit { LogicalUnit(rawValue: UInt64.random(in: 0...UInt64.max, using: &self)) }
}

@Suite struct PDUTests {
    /// The login request open-iscsi sends first, checked byte by byte against RFC 7143 §11.12.
    @Test func loginRequestLayout() {
        let request = LoginRequest(
            transit: true, currentStage: .securityNegotiation, nextStage: .operationalNegotiation,
            isid: [0x00, 0x02, 0x3D, 0x00, 0x00, 0x01], tsih: 0, initiatorTaskTag: 0x1234_5678, cid: 7,
            cmdSN: SequenceNumber(0x0102_0304), expStatSN: SequenceNumber(9), data: Array("AuthMethod=None\0".utf8))
        let wire = request.pdu.wireBytes()
        #expect(wire[0] == 0x43)  // immediate + opcode 0x03
        #expect(wire[1] == 0x81)  // T, CSG 0, NSG 1
        #expect(Array(wire[4..<8]) == [0, 0, 0, 16])
        #expect(Array(wire[8..<14]) == [0x00, 0x02, 0x3D, 0x00, 0x00, 0x01])
        #expect(Array(wire[16..<20]) == [0x12, 0x34, 0x56, 0x78])
        #expect(Array(wire[20..<22]) == [0, 7])
        #expect(Array(wire[24..<28]) == [1, 2, 3, 4])
        #expect(Array(wire[28..<32]) == [0, 0, 0, 9])
        #expect(wire.count == 48 + 16)
    }

    @Test func dataIsPaddedToFourBytesAndDigestsAppended() throws {
        let nop = NOPOut(initiatorTaskTag: 1, cmdSN: SequenceNumber(1), expStatSN: SequenceNumber(1), data: [1, 2, 3, 4, 5])
        let digests = DigestSettings(header: true, data: true)
        let wire = nop.pdu.wireBytes(digests: digests)
        #expect(wire.count == 48 + 4 + 8 + 4)
        #expect(Array(wire[52..<60]) == [1, 2, 3, 4, 5, 0, 0, 0])
        #expect(wire.digest(at: 48) == CRC32C.checksum(wire[0..<48]))
        #expect(wire.digest(at: 60) == CRC32C.checksum(wire[52..<60]))

        var decoder = PDUDecoder(digests: digests)
        decoder.append(wire)
        let decoded = try #require(try decoder.nextPDU())
        #expect(try NOPOut(decoded) == nop)
    }

    /// RFC 3720 appendix B.4 shows the digest of 32 zero bytes on the wire as aa 36 91 8a.
    @Test func digestBytesGoLeastSignificantFirst() {
        var bytes: [UInt8] = []
        bytes.appendDigest(CRC32C.checksum([UInt8](repeating: 0, count: 32)))
        #expect(bytes == [0xAA, 0x36, 0x91, 0x8A])
    }

    @Test func corruptedDigestsAreRejected() {
        let nop = NOPIn(
            initiatorTaskTag: 1, targetTransferTag: 2, statSN: SequenceNumber(1), expCmdSN: SequenceNumber(1), maxCmdSN: SequenceNumber(2),
            data: [9, 9])
        let digests = DigestSettings(header: true, data: true)
        for corruptedByte in [3, 49, 53, 57] {
            var wire = nop.pdu.wireBytes(digests: digests)
            wire[corruptedByte] ^= 0x01
            var decoder = PDUDecoder(digests: digests)
            decoder.append(wire)
            #expect(throws: PDUError.self) { try decoder.nextPDU() }
        }
    }

    @Test func decoderWaitsForWholePDUAndSaysHowMuchIsMissing() throws {
        let response = TextResponse(
            final: true, continues: false, initiatorTaskTag: 5, targetTransferTag: reservedTaskTag,
            statSN: SequenceNumber(1), expCmdSN: SequenceNumber(2), maxCmdSN: SequenceNumber(3), data: Array("a=b\0c=d\0".utf8))
        let wire =
            response.pdu.wireBytes()
            + NOPIn(
                initiatorTaskTag: 1, targetTransferTag: 1, statSN: SequenceNumber(2), expCmdSN: SequenceNumber(2),
                maxCmdSN: SequenceNumber(3)
            ).pdu.wireBytes()
        var decoder = PDUDecoder()
        #expect(decoder.bytesWanted == 48)
        decoder.append(wire[0..<20])
        #expect(try decoder.nextPDU() == nil)
        #expect(decoder.bytesWanted == 28)
        decoder.append(wire[20..<50])
        #expect(decoder.bytesWanted == 6)
        decoder.append(wire[50...])
        #expect(try TextResponse(#require(try decoder.nextPDU())) == response)
        guard case .nopIn(let nop) = try TargetMessage(#require(try decoder.nextPDU())) else {
            Issue.record("expected the NOP-In")
            return
        }
        #expect(nop.targetTransferTag == 1 && nop.statSN == SequenceNumber(2))
        #expect(try decoder.nextPDU() == nil)
    }

    @Test func overlongDataSegmentIsRejectedBeforeItIsBuffered() {
        var header = BasicHeaderSegment()
        header.opcodeValue = Opcode.dataIn.rawValue
        header.dataSegmentLength = 0xFF_FFFF
        var decoder = PDUDecoder(maxDataSegmentLength: 8192)
        decoder.append(header.bytes)
        #expect(throws: PDUError.dataSegmentTooLong(length: 0xFF_FFFF, limit: 8192)) { try decoder.nextPDU() }
    }

    @Test func unknownAndInitiatorOpcodesFromTargetAreRejected() {
        var header = BasicHeaderSegment()
        header.opcodeValue = 0x3C
        #expect(throws: PDUError.unknownOpcode(0x3C)) { try TargetMessage(PDU(header: header)) }
        header.opcodeValue = Opcode.scsiCommand.rawValue
        #expect(throws: PDUError.initiatorOpcodeFromTarget(.scsiCommand)) { try TargetMessage(PDU(header: header)) }
    }

    @Test func extendedCDBTravelsInAdditionalHeader() throws {
        let cdb = (0..<32).map { UInt8($0) }
        let command = SCSICommand(
            read: true, write: false, lun: LogicalUnit(1), initiatorTaskTag: 1, expectedDataTransferLength: 512,
            cmdSN: SequenceNumber(1), expStatSN: SequenceNumber(1), cdb: cdb)
        let pdu = command.pdu
        #expect(pdu.additionalHeader.count == 20)
        #expect(pdu.header.additionalHeaderLength == 20)
        #expect(try SCSICommand(pdu).cdb == cdb)
    }

    @Test func malformedAdditionalHeaderIsAnErrorNotATrap() {
        var header = BasicHeaderSegment()
        header.opcodeValue = Opcode.scsiCommand.rawValue
        let pdu = PDU(header: header, additionalHeader: [0xFF, 0xFF, 1, 0])
        #expect(throws: PDUError.self) { try SCSICommand(pdu) }
    }

    @Test(arguments: 0..<300)
    func everyMessageRoundTrips(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed))
        for message in Self.messages(&random) {
            var decoder = PDUDecoder(
                digests: DigestSettings(header: random.bool(), data: random.bool()), maxDataSegmentLength: 1 << 24)
            let digests = decoder.digests
            decoder.append(message.pdu.wireBytes(digests: digests))
            let decoded = try #require(try decoder.nextPDU())
            #expect(try Self.decodes(decoded, back: message))
        }
    }

    static func decodes<Message: ISCSIMessage>(_ pdu: PDU, back message: Message) throws -> Bool {
        try Message(pdu) == message
    }

    /// One message of every opcode with random field values.
    static func messages(_ random: inout SeededGenerator) -> [any ISCSIMessage] {
        let stages = LoginStage.allCases
        var scsiResponse = SCSIResponse(
            response: UInt8.random(in: 0...255, using: &random), status: UInt8.random(in: 0...255, using: &random),
            initiatorTaskTag: random.tag(), statSN: random.sequenceNumber(), expCmdSN: random.sequenceNumber(),
            maxCmdSN: random.sequenceNumber(), data: random.bytes(upTo: 300))
        scsiResponse.overflow = random.bool()
        scsiResponse.underflow = random.bool()
        scsiResponse.bidirectionalOverflow = random.bool()
        scsiResponse.residualCount = random.tag()
        scsiResponse.expDataSN = random.tag()
        var dataIn = DataIn(
            final: random.bool(), lun: random.lun(), initiatorTaskTag: random.tag(), expCmdSN: random.sequenceNumber(),
            maxCmdSN: random.sequenceNumber(), dataSN: random.tag(), bufferOffset: random.tag(), data: random.bytes(upTo: 3000))
        dataIn.hasStatus = random.bool()
        dataIn.status = UInt8.random(in: 0...255, using: &random)
        dataIn.acknowledge = random.bool()
        dataIn.residualCount = random.tag()
        var command = SCSICommand(
            read: random.bool(), write: random.bool(), lun: random.lun(), initiatorTaskTag: random.tag(),
            expectedDataTransferLength: random.tag(), cmdSN: random.sequenceNumber(), expStatSN: random.sequenceNumber(),
            cdb: random.bytes(16 + 4 * Int.random(in: 0...4, using: &random)), data: random.bytes(upTo: 600), final: random.bool())
        command.attribute = SCSICommand.TaskAttribute.allCases.randomElement(using: &random)!
        command.immediate = random.bool()
        return [
            LoginRequest(
                transit: random.bool(), continues: random.bool(), currentStage: stages.randomElement(using: &random)!,
                nextStage: stages.randomElement(using: &random)!, isid: random.bytes(6),
                tsih: UInt16.random(in: 0...UInt16.max, using: &random),
                initiatorTaskTag: random.tag(), cid: UInt16.random(in: 0...UInt16.max, using: &random), cmdSN: random.sequenceNumber(),
                expStatSN: random.sequenceNumber(), data: random.bytes(upTo: 200)),
            LoginResponse(
                transit: random.bool(), continues: random.bool(), currentStage: stages.randomElement(using: &random)!,
                nextStage: stages.randomElement(using: &random)!, isid: random.bytes(6),
                tsih: UInt16.random(in: 0...UInt16.max, using: &random),
                initiatorTaskTag: random.tag(), statSN: random.sequenceNumber(), expCmdSN: random.sequenceNumber(),
                maxCmdSN: random.sequenceNumber(),
                status: LoginStatus(statusClass: UInt8.random(in: 0...3, using: &random), detail: UInt8.random(in: 0...11, using: &random)),
                data: random.bytes(upTo: 200)),
            TextRequest(
                immediate: random.bool(), final: random.bool(), continues: random.bool(), lun: random.lun(), initiatorTaskTag: random.tag(),
                targetTransferTag: random.tag(), cmdSN: random.sequenceNumber(), expStatSN: random.sequenceNumber(),
                data: random.bytes(upTo: 100)),
            TextResponse(
                final: random.bool(), continues: random.bool(), lun: random.lun(), initiatorTaskTag: random.tag(),
                targetTransferTag: random.tag(),
                statSN: random.sequenceNumber(), expCmdSN: random.sequenceNumber(), maxCmdSN: random.sequenceNumber(),
                data: random.bytes(upTo: 100)),
            command,
            scsiResponse,
            DataOut(
                final: random.bool(), lun: random.lun(), initiatorTaskTag: random.tag(), targetTransferTag: random.tag(),
                expStatSN: random.sequenceNumber(), dataSN: random.tag(), bufferOffset: random.tag(), data: random.bytes(upTo: 3000)),
            dataIn,
            ReadyToTransfer(
                lun: random.lun(), initiatorTaskTag: random.tag(), targetTransferTag: random.tag(), statSN: random.sequenceNumber(),
                expCmdSN: random.sequenceNumber(), maxCmdSN: random.sequenceNumber(), r2tSN: random.tag(), bufferOffset: random.tag(),
                desiredDataTransferLength: random.tag()),
            NOPOut(
                immediate: random.bool(), lun: random.lun(), initiatorTaskTag: random.tag(), targetTransferTag: random.tag(),
                cmdSN: random.sequenceNumber(), expStatSN: random.sequenceNumber(), data: random.bytes(upTo: 64)),
            NOPIn(
                lun: random.lun(), initiatorTaskTag: random.tag(), targetTransferTag: random.tag(), statSN: random.sequenceNumber(),
                expCmdSN: random.sequenceNumber(), maxCmdSN: random.sequenceNumber(), data: random.bytes(upTo: 64)),
            LogoutRequest(
                immediate: random.bool(), reason: LogoutRequest.Reason.allCases.randomElement(using: &random)!,
                initiatorTaskTag: random.tag(),
                cid: UInt16.random(in: 0...UInt16.max, using: &random), cmdSN: random.sequenceNumber(), expStatSN: random.sequenceNumber()),
            LogoutResponse(
                response: UInt8.random(in: 0...3, using: &random), initiatorTaskTag: random.tag(), statSN: random.sequenceNumber(),
                expCmdSN: random.sequenceNumber(), maxCmdSN: random.sequenceNumber(),
                time2Wait: UInt16.random(in: 0...3600, using: &random),
                time2Retain: UInt16.random(in: 0...3600, using: &random)),
            TaskManagementRequest(
                immediate: random.bool(), function: TaskManagementRequest.Function.allCases.randomElement(using: &random)!,
                lun: random.lun(),
                initiatorTaskTag: random.tag(), referencedTaskTag: random.tag(), cmdSN: random.sequenceNumber(),
                expStatSN: random.sequenceNumber(),
                refCmdSN: random.sequenceNumber(), expDataSN: random.tag()),
            TaskManagementResponse(
                response: UInt8.random(in: 0...255, using: &random), initiatorTaskTag: random.tag(), statSN: random.sequenceNumber(),
                expCmdSN: random.sequenceNumber(), maxCmdSN: random.sequenceNumber()),
            AsyncMessage(
                asyncEvent: UInt8.random(in: 0...255, using: &random), asyncVCode: UInt8.random(in: 0...255, using: &random),
                lun: random.lun(),
                statSN: random.sequenceNumber(), expCmdSN: random.sequenceNumber(), maxCmdSN: random.sequenceNumber(),
                parameter1: UInt16.random(in: 0...UInt16.max, using: &random),
                parameter2: UInt16.random(in: 0...UInt16.max, using: &random),
                parameter3: UInt16.random(in: 0...UInt16.max, using: &random), data: random.bytes(upTo: 64)),
            Reject(
                reason: UInt8.random(in: 0...255, using: &random), statSN: random.sequenceNumber(), expCmdSN: random.sequenceNumber(),
                maxCmdSN: random.sequenceNumber(), dataSN: random.tag(), rejectedHeader: random.bytes(48)),
            SNACKRequest(
                type: UInt8.random(in: 0...3, using: &random), lun: random.lun(), initiatorTaskTag: random.tag(),
                targetTransferTag: random.tag(),
                expStatSN: random.sequenceNumber(), beginRun: random.tag(), runLength: random.tag()),
        ]
    }

    @Test func serialNumberArithmeticWrapsAround() {
        #expect(SequenceNumber(0xFFFF_FFFF) < SequenceNumber(0))
        #expect(SequenceNumber(1) < SequenceNumber(2))
        #expect(!(SequenceNumber(2) < SequenceNumber(1)))
        #expect(SequenceNumber(0x7FFF_FFFF) > SequenceNumber(0))
        #expect(!(SequenceNumber(0) < SequenceNumber(0x8000_0000)))
        #expect(!(SequenceNumber(0x8000_0000) < SequenceNumber(0)))
        #expect(SequenceNumber(0xFFFF_FFFF).advanced() == SequenceNumber(0))
    }

    @Test(
        arguments: [
            (0, 0x0000_0000_0000_0000), (1, 0x0001_0000_0000_0000), (255, 0x00FF_0000_0000_0000), (256, 0x4100_0000_0000_0000),
            (16383, 0x7FFF_0000_0000_0000),
        ] as [(Int, UInt64)])
    func logicalUnitNumbersUseSAMAddressing(number: Int, raw: UInt64) {
        #expect(LogicalUnit(number).rawValue == raw)
        #expect(LogicalUnit(rawValue: raw).number == number)
    }

    @Test func hierarchicalLUNHasNoPlainNumber() {
        #expect(LogicalUnit(rawValue: 0x0001_0002_0000_0000).number == nil)
        #expect(LogicalUnit(rawValue: 0x0001_0002_0000_0000).description == "0001-0002-0000-0000")
    }

    /// The one SAM decoder and encoder: REPORT LUNS data, the iBFT and the RFC 4173 hex form
    /// all read the 8 bytes in wire order; shorter input is padded at the end.
    @Test func samBytesRoundTrip() {
        let lun = LogicalUnit(sam: [0x40, 0x01, 0, 0, 0, 0, 0, 0])
        #expect(lun.rawValue == 0x4001_0000_0000_0000 && lun.number == 1)
        #expect(lun.samBytes == [0x40, 0x01, 0, 0, 0, 0, 0, 0])
        #expect(LogicalUnit(sam: [0, 5]) == LogicalUnit(5))
        #expect(LogicalUnit(sam: [UInt8]()) == LogicalUnit(0))
        #expect(LogicalUnit(300).samBytes == [0x41, 0x2C, 0, 0, 0, 0, 0, 0])
        #expect(LogicalUnit(rawValue: 0x0001_0002_0000_00FF).hexForm == "0001-0002-0000-00ff")
    }
}
