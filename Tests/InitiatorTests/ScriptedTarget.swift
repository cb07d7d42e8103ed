import Foundation
import ISCSI
import Initiator

#if canImport(Glibc)
    import Glibc
#endif

/// A small iSCSI target on 127.0.0.1 for the misbehaviour tests: it logs in any initiator,
/// serves one RAM disk as LUN 0 (READ CAPACITY, READ, WRITE with R2Ts) and breaks the
/// protocol on purpose in the first `faultyConnections` connections. The faults are the
/// ones a domain validation must catch and name; everything else follows RFC 7143 just
/// well enough for our initiator.
final class ScriptedTarget: @unchecked Sendable {
    enum Fault: Sendable, Equatable {
        case none
        /// Data-In PDUs carry a wrong data digest (when DataDigest=CRC32C was negotiated).
        case wrongDataDigest
        /// The first READ gets 512 bytes more Data-In than it asked for.
        case dataInBeyondLength
        /// The first READ is answered with an R2T for a task tag nobody used.
        case r2tForUnknownTask
        /// The second Data-In of a READ skips a DataSN.
        case dataSNOutOfOrder
        /// MaxBurstLength is answered above our offer, although its result function is Minimum.
        case negotiationAboveOffer
        /// READs are never answered; task management requests are.
        case silentOnRead
        /// A READ past the last block ends CHECK CONDITION with this sense key and ASC/ASCQ
        /// instead of ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE.
        case outOfRangeSense(key: UInt8, asc: UInt8, ascq: UInt8)
        /// The connection is reset (RST) when a command with this opcode arrives.
        case resetOnOpcode(UInt8)
        /// Commands with this opcode end CHECK CONDITION with this sense key and ASC/ASCQ.
        case senseOnOpcode(UInt8, key: UInt8, asc: UInt8, ascq: UInt8)
        /// The login leaves out every answer RFC 7143 makes optional: Boolean keys whose offer
        /// decides the outcome (§6.2.2: OR offered Yes, AND offered No, as LIO does) and
        /// FirstBurstLength, which it makes irrelevant by choosing InitialR2T=Yes and
        /// ImmediateData=No whatever the offer (legal under OR and AND, §13.14).
        case omitsOptionalAnswers
        /// A target enforcing CHAP as LIO does: it closes the connection on a login in the
        /// security stage (AuthMethod=None); one that skips the stage is refused with 0x0201
        /// when `refuses`, else logged in.
        case closesOnSecurityStage(refuses: Bool)
    }

    let port: UInt16
    /// How many connections were accepted so far.
    var connections: Int { lock.withLock { connectionCount } }
    let blockLength = 512
    let blockCount = 4096
    /// What the target declares as its MaxRecvDataSegmentLength.
    let declaredMaxRecvDataSegmentLength: Int
    private let fault: Fault
    private let faultyConnections: Int
    private let listener: Int32
    private let lock = NSLock()
    private var disk: [UInt8]
    private var connectionCount = 0
    private var largestSegment = 0
    private var taskManagementFunctions: [UInt8] = []

    init(fault: Fault, faultyConnections: Int = 1, declaredMaxRecvDataSegmentLength: Int = 8192) throws {
        self.fault = fault
        self.faultyConnections = faultyConnections
        self.declaredMaxRecvDataSegmentLength = declaredMaxRecvDataSegmentLength
        disk = [UInt8](repeating: 0, count: blockLength * blockCount)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        listener = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 8) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    var portal: Portal { Portal(host: "127.0.0.1", port: port) }

    /// The longest data segment any initiator PDU carried.
    var largestDataSegmentReceived: Int { lock.withLock { largestSegment } }
    var taskManagementRequests: [UInt8] { lock.withLock { taskManagementFunctions } }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            let number = lock.withLock {
                connectionCount += 1
                return connectionCount
            }
            var session = ConnectionScript(target: self, descriptor: connection, fault: number <= faultyConnections ? fault : .none)
            session.run()
            close(connection)
        }
    }

    fileprivate func noteSegment(_ length: Int) { lock.withLock { largestSegment = max(largestSegment, length) } }
    fileprivate func noteTaskManagement(_ function: UInt8) { lock.withLock { taskManagementFunctions.append(function) } }

    fileprivate func readDisk(_ range: Range<Int>) -> [UInt8] { lock.withLock { Array(disk[range]) } }
    fileprivate func writeDisk(_ bytes: [UInt8], at offset: Int) {
        lock.withLock { disk.replaceSubrange(offset..<offset + bytes.count, with: bytes) }
    }
}

/// One connection's login and full feature phase.
private struct ConnectionScript {
    let target: ScriptedTarget
    let descriptor: Int32
    let fault: ScriptedTarget.Fault
    var decoder = PDUDecoder(maxDataSegmentLength: 16_777_215)
    var digests = DigestSettings.none
    /// Digests start after the last Login Response (RFC 7143 §13.1).
    var negotiatedDigests = DigestSettings.none
    var statSN: UInt32 = 1
    var expCmdSN: UInt32 = 1
    var initiatorMaxRecvDataSegmentLength = 8192
    var maxBurstLength = 262_144
    var firstBurstLength = 65536
    var immediateData = true
    var initialR2T = true
    var readsSeen = 0
    /// Commands that arrived while a write waited for its Data-Out (the initiator queues).
    var pending: [PDU] = []

    init(target: ScriptedTarget, descriptor: Int32, fault: ScriptedTarget.Fault) {
        self.target = target
        self.descriptor = descriptor
        self.fault = fault
    }

    mutating func run() {
        while let pdu = receive() {
            guard handle(pdu) else { return }
        }
    }

    // MARK: Wire

    private mutating func receive() -> PDU? {
        pending.isEmpty ? receiveFromSocket() : pending.removeFirst()
    }

    private mutating func receiveFromSocket() -> PDU? {
        while true {
            if let pdu = try? decoder.nextPDU() {
                if pdu.opcode != .loginRequest { target.noteSegment(pdu.data.count) }
                return pdu
            }
            var buffer = [UInt8](repeating: 0, count: decoder.bytesWanted)
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            decoder.append(buffer[..<count])
        }
    }

    private func send(_ pdu: PDU, corruptDataDigest: Bool = false) {
        var bytes = pdu.wireBytes(digests: digests)
        if corruptDataDigest, let last = bytes.indices.last { bytes[last] ^= 0xFF }
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private mutating func nextStatSN() -> SequenceNumber {
        defer { statSN &+= 1 }
        return SequenceNumber(statSN)
    }

    private var window: (SequenceNumber, SequenceNumber) { (SequenceNumber(expCmdSN), SequenceNumber(expCmdSN &+ 31)) }

    // MARK: Login

    private mutating func handle(_ pdu: PDU) -> Bool {
        switch pdu.opcode {
        case .loginRequest:
            guard let request = try? LoginRequest(pdu) else { return false }
            return login(request)
        case .scsiCommand:
            guard let command = try? SCSICommand(pdu) else { return false }
            if !command.immediate { expCmdSN = command.cmdSN.rawValue &+ 1 }
            return execute(command)
        case .taskManagementRequest:
            guard let request = try? TaskManagementRequest(pdu) else { return false }
            target.noteTaskManagement(request.function.rawValue)
            let (exp, max) = window
            send(
                TaskManagementResponse(
                    response: 0, initiatorTaskTag: request.initiatorTaskTag, statSN: nextStatSN(), expCmdSN: exp, maxCmdSN: max
                ).pdu)
        case .logoutRequest:
            guard let request = try? LogoutRequest(pdu) else { return false }
            let (exp, max) = window
            send(
                LogoutResponse(response: 0, initiatorTaskTag: request.initiatorTaskTag, statSN: nextStatSN(), expCmdSN: exp, maxCmdSN: max)
                    .pdu)
            return false
        default:
            break
        }
        return true
    }

    /// Answers one Login Request; false when the connection is to be closed.
    private mutating func login(_ request: LoginRequest) -> Bool {
        if case .closesOnSecurityStage(let refuses) = fault {
            if request.currentStage == .securityNegotiation { return false }
            if refuses {
                send(
                    LoginResponse(
                        transit: false, currentStage: request.currentStage, nextStage: request.nextStage, isid: request.isid, tsih: 0,
                        initiatorTaskTag: request.initiatorTaskTag, statSN: nextStatSN(), expCmdSN: request.cmdSN,
                        maxCmdSN: request.cmdSN.advanced(by: 31), status: LoginStatus(statusClass: 2, detail: 1), data: []
                    ).pdu)
                return false
            }
        }
        let pairs = (try? TextKeys.decode(request.data)) ?? []
        var answers: [TextPair] = []
        var next = request.nextStage
        if request.currentStage == .securityNegotiation {
            answers = [TextPair("AuthMethod", "None"), TextPair("TargetPortalGroupTag", "1")]
            next = .operationalNegotiation
        } else {
            for pair in pairs { if let answer = answer(pair) { answers.append(answer) } }
            if fault == .omitsOptionalAnswers { answers.removeAll(where: { isOptional($0, offers: pairs) }) }
            answers.append(TextPair("MaxRecvDataSegmentLength", String(target.declaredMaxRecvDataSegmentLength)))
            answers.append(TextPair("TargetPortalGroupTag", "1"))
            next = .fullFeaturePhase
        }
        let response = LoginResponse(
            transit: true, currentStage: request.currentStage, nextStage: next, isid: request.isid, tsih: 7,
            initiatorTaskTag: request.initiatorTaskTag, statSN: nextStatSN(), expCmdSN: request.cmdSN,
            maxCmdSN: request.cmdSN.advanced(by: 31), status: LoginStatus(statusClass: 0, detail: 0), data: TextKeys.encode(answers))
        send(response.pdu)
        if next == .fullFeaturePhase {
            expCmdSN = request.cmdSN.rawValue
            digests = negotiatedDigests
            decoder.digests = negotiatedDigests
        }
        return true
    }

    /// Whether RFC 7143 lets the target leave `answer` out, given the initiator's `offers`.
    private func isOptional(_ answer: TextPair, offers: [TextPair]) -> Bool {
        let offered = offers.first { $0.key == answer.key }?.value
        switch answer.key {
        case "InitialR2T", "DataPDUInOrder", "DataSequenceInOrder": return offered == "Yes"
        case "ImmediateData", "IFMarker", "OFMarker": return offered == "No"
        case "FirstBurstLength": return initialR2T && !immediateData
        default: return false
        }
    }

    /// The target's answer to one offered key: it accepts what the initiator prefers within
    /// its own limits, as the result functions allow (RFC 7143 §6.2).
    private mutating func answer(_ pair: TextPair) -> TextPair? {
        let number = Int(pair.value) ?? 0
        switch pair.key {
        case "HeaderDigest", "DataDigest":
            let chosen = pair.value.split(separator: ",").first.map(String.init) ?? "None"
            if pair.key == "HeaderDigest" {
                negotiatedDigests.header = chosen == "CRC32C"
            } else {
                negotiatedDigests.data = chosen == "CRC32C"
            }
            return TextPair(pair.key, chosen)
        case "MaxRecvDataSegmentLength":
            initiatorMaxRecvDataSegmentLength = number
            return nil
        case "MaxBurstLength":
            maxBurstLength = min(number, 262_144)
            if fault == .negotiationAboveOffer { return TextPair(pair.key, String(number + 512)) }
            return TextPair(pair.key, String(maxBurstLength))
        case "FirstBurstLength":
            firstBurstLength = min(number, 65536)
            return TextPair(pair.key, String(firstBurstLength))
        case "ImmediateData":
            immediateData = pair.value == "Yes" && fault != .omitsOptionalAnswers
            return TextPair(pair.key, immediateData ? "Yes" : "No")
        case "InitialR2T":
            initialR2T = pair.value == "Yes" || fault == .omitsOptionalAnswers
            return TextPair(pair.key, initialR2T ? "Yes" : "No")
        case "MaxOutstandingR2T", "MaxConnections", "ErrorRecoveryLevel", "DefaultTime2Retain":
            return TextPair(pair.key, String(min(number, pair.key == "DefaultTime2Retain" ? 20 : pair.key == "ErrorRecoveryLevel" ? 0 : 1)))
        case "DefaultTime2Wait":
            return TextPair(pair.key, String(max(number, 2)))
        case "IFMarker", "OFMarker":
            return TextPair(pair.key, "No")
        case "InitiatorName", "InitiatorAlias", "SessionType", "TargetName":
            // Declarations, not offers: a target answers them with nothing (RFC 7143 §13).
            return nil
        default:
            return pair
        }
    }

    // MARK: Full feature phase

    private mutating func execute(_ command: SCSICommand) -> Bool {
        let opcode = command.cdb.first ?? 0
        if fault == .resetOnOpcode(opcode) {
            // SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            return false
        }
        if case .senseOnOpcode(opcode, let key, let asc, let ascq) = fault {
            sendStatus(tag: command.initiatorTaskTag, status: SCSIStatus.checkCondition, sense: [0x72, key, asc, ascq, 0, 0, 0, 0])
            return true
        }
        switch opcode {
        case 0x9E:  // READ CAPACITY (16)
            var data = [UInt8](repeating: 0, count: 32)
            store(UInt64(target.blockCount - 1), in: &data, at: 0, bytes: 8)
            store(UInt64(target.blockLength), in: &data, at: 8, bytes: 4)
            sendDataIn(Array(data.prefix(Int(command.expectedDataTransferLength))), tag: command.initiatorTaskTag, lun: command.lun)
        case 0x28, 0x88:  // READ (10) / (16)
            return read(command)
        case 0x2A, 0x8A:  // WRITE (10) / (16)
            return write(command)
        default:
            sendStatus(tag: command.initiatorTaskTag, status: SCSIStatus.good)
        }
        return true
    }

    private mutating func read(_ command: SCSICommand) -> Bool {
        readsSeen += 1
        let (lba, blocks) = transfer(command.cdb)
        let start = lba * target.blockLength
        let end = start + blocks * target.blockLength
        guard end <= target.blockLength * target.blockCount else {
            // ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (fixed format sense), unless
            // the fault says otherwise.
            var sense = [UInt8](repeating: 0, count: 18)
            sense[0] = 0x70
            sense[2] = 0x05
            sense[7] = 10
            sense[12] = 0x21
            if case .outOfRangeSense(let key, let asc, let ascq) = fault {
                (sense[2], sense[12], sense[13]) = (key, asc, ascq)
            }
            sendStatus(tag: command.initiatorTaskTag, status: SCSIStatus.checkCondition, sense: sense)
            return true
        }
        var data = target.readDisk(start..<end)
        switch fault {
        case .silentOnRead:
            return true
        case .r2tForUnknownTask where readsSeen == 1:
            let (exp, max) = window
            send(
                ReadyToTransfer(
                    lun: command.lun, initiatorTaskTag: command.initiatorTaskTag &+ 1000, targetTransferTag: 5,
                    statSN: SequenceNumber(statSN),
                    expCmdSN: exp, maxCmdSN: max, r2tSN: 0, bufferOffset: 0, desiredDataTransferLength: 512
                ).pdu)
            return true
        case .dataInBeyondLength where readsSeen == 1:
            data += [UInt8](repeating: 0xEE, count: 512)
        default:
            break
        }
        sendDataIn(data, tag: command.initiatorTaskTag, lun: command.lun)
        return true
    }

    /// Data-In PDUs of at most the initiator's MaxRecvDataSegmentLength, a sequence (F bit)
    /// per MaxBurstLength, the status in the last (phase collapse).
    private mutating func sendDataIn(_ data: [UInt8], tag: UInt32, lun: LogicalUnit) {
        var offset = 0
        var dataSN: UInt32 = 0
        var burst = 0
        repeat {
            let length = min(initiatorMaxRecvDataSegmentLength, maxBurstLength - burst, data.count - offset)
            let last = offset + length == data.count
            burst += length
            let (exp, max) = window
            var dataIn = DataIn(
                final: last || burst == maxBurstLength, lun: lun, initiatorTaskTag: tag, expCmdSN: exp, maxCmdSN: max,
                dataSN: fault == .dataSNOutOfOrder && dataSN == 1 ? 2 : dataSN, bufferOffset: UInt32(offset),
                data: Array(data[offset..<offset + length]))
            if burst == maxBurstLength { burst = 0 }
            if last {
                dataIn.hasStatus = true
                dataIn.status = SCSIStatus.good
                dataIn.statSN = nextStatSN()
            }
            send(dataIn.pdu, corruptDataDigest: fault == .wrongDataDigest && digests.data)
            offset += length
            dataSN += 1
        } while offset < data.count
    }

    private mutating func write(_ command: SCSICommand) -> Bool {
        let (lba, blocks) = transfer(command.cdb)
        let total = blocks * target.blockLength
        let base = lba * target.blockLength
        target.writeDisk(command.data, at: base)
        var received = command.data.count
        // Unsolicited Data-Out up to FirstBurstLength (RFC 7143 §13.11).
        if !command.final {
            while let dataOut = receiveDataOut(tag: command.initiatorTaskTag) {
                target.writeDisk(dataOut.data, at: base + Int(dataOut.bufferOffset))
                received = max(received, Int(dataOut.bufferOffset) + dataOut.data.count)
                if dataOut.final { break }
            }
        }
        var r2tSN: UInt32 = 0
        while received < total {
            let length = min(maxBurstLength, total - received)
            let (exp, max) = window
            send(
                ReadyToTransfer(
                    lun: command.lun, initiatorTaskTag: command.initiatorTaskTag, targetTransferTag: 100 + r2tSN,
                    statSN: SequenceNumber(statSN), expCmdSN: exp, maxCmdSN: max, r2tSN: r2tSN, bufferOffset: UInt32(received),
                    desiredDataTransferLength: UInt32(length)
                ).pdu)
            r2tSN += 1
            while let dataOut = receiveDataOut(tag: command.initiatorTaskTag) {
                target.writeDisk(dataOut.data, at: base + Int(dataOut.bufferOffset))
                if dataOut.final { break }
            }
            received += length
        }
        sendStatus(tag: command.initiatorTaskTag, status: SCSIStatus.good)
        return true
    }

    /// The next Data-Out of task `tag`, setting aside the commands and other tasks' Data-Out
    /// queued behind it (the initiator pipelines); nil when the connection ended.
    private mutating func receiveDataOut(tag: UInt32) -> DataOut? {
        if let index = pending.firstIndex(where: { (try? DataOut($0))?.initiatorTaskTag == tag }) {
            return try? DataOut(pending.remove(at: index))
        }
        while true {
            guard let pdu = receiveFromSocket() else { return nil }
            if let dataOut = try? DataOut(pdu), dataOut.initiatorTaskTag == tag { return dataOut }
            pending.append(pdu)
        }
    }

    private mutating func sendStatus(tag: UInt32, status: UInt8, sense: [UInt8] = []) {
        let (exp, max) = window
        let data = sense.isEmpty ? [] : [UInt8(sense.count >> 8), UInt8(sense.count & 0xFF)] + sense
        send(SCSIResponse(status: status, initiatorTaskTag: tag, statSN: nextStatSN(), expCmdSN: exp, maxCmdSN: max, data: data).pdu)
    }

    private func transfer(_ cdb: [UInt8]) -> (lba: Int, blocks: Int) {
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 << 8 | Int(cdb[$1]) } }
        if cdb.count >= 16 && (cdb[0] == 0x88 || cdb[0] == 0x8A) { return (number(2..<10), number(10..<14)) }
        return (number(2..<6), number(7..<9))
    }

    private func store(_ value: UInt64, in data: inout [UInt8], at offset: Int, bytes: Int) {
        for index in 0..<bytes { data[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64(8 * (bytes - 1 - index))) }
    }
}
