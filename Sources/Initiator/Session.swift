import ISCSI
import LinuxSystem

/// A logged-in iSCSI session over a plain TCP socket: the userspace full feature phase used
/// by discovery, probing and domain validation (the root session goes through the kernel).
///
/// One connection; several SCSI commands may be in flight at once (`perform`, in
/// DataPath.swift). NOP-Ins that ask for an answer are answered while waiting, so a target's
/// keep-alive never kills a slow probe.
public struct Session: ~Copyable {
    public let portal: Portal
    public let outcome: LoginOutcome
    let connection: TCPConnection
    var decoder: PDUDecoder
    var cmdSN: SequenceNumber
    var expStatSN: SequenceNumber
    var maxCmdSN: SequenceNumber
    private var nextTaskTag: UInt32 = 1
    let timeoutMilliseconds: Int
    let limits: DataPathLimits
    /// The SCSI commands in flight, by Initiator Task Tag.
    var tasks: [UInt32: TaskInFlight] = [:]
    /// Rules the target bent without harming the data, the first occurrence of each.
    public internal(set) var protocolDeviations: [ProtocolDeviation] = []
    private let cid: UInt16

    public var parameters: NegotiatedParameters { outcome.parameters }

    /// Connects to `portal` and logs in, following redirects (`LoginDriver`); every step
    /// waits at most `timeoutMilliseconds`. Login PDUs are never digested (digests start
    /// after the login, §13.1) and may carry up to 8192 bytes (§13.12).
    public static func login(
        at portal: Portal, configuration: LoginConfiguration, timeoutMilliseconds: Int, interfaceIndex: Int32? = nil
    ) throws(InitiatorError) -> Session {
        var driver = LoginDriver(configuration: configuration, portal: portal)
        // Ends: the driver throws once the target redirects more than it allows.
        while true {
            let portal = driver.portal
            let connection = try connect(to: portal, timeoutMilliseconds: timeoutMilliseconds, interfaceIndex: interfaceIndex)
            var decoder = PDUDecoder()
            var deadline = MonotonicInstant.now()
            let outcome = try driver.exchange(
                send: { pdu throws(InitiatorError) in
                    deadline = .now().advanced(byMilliseconds: timeoutMilliseconds)
                    do throws(InitiatorError) { try send(pdu, on: connection, digests: .none, portal: portal, deadline: deadline) } catch {
                        throw error.naming("the login")
                    }
                },
                receive: { () throws(InitiatorError) in
                    do throws(InitiatorError) {
                        return try receivePDU(on: connection, decoder: &decoder, portal: portal, deadline: deadline)
                    } catch {
                        throw error.naming("the login")
                    }
                })
            if let outcome {
                return Session(
                    portal: portal, connection: connection, outcome: outcome, cid: configuration.cid,
                    timeoutMilliseconds: timeoutMilliseconds)
            }
        }
    }

    private init(
        portal: Portal, connection: consuming TCPConnection, outcome: LoginOutcome, cid: UInt16, timeoutMilliseconds: Int
    ) {
        self.portal = portal
        self.connection = connection
        self.outcome = outcome
        self.cmdSN = outcome.cmdSN
        self.expStatSN = outcome.expStatSN
        self.maxCmdSN = outcome.maxCmdSN
        self.timeoutMilliseconds = timeoutMilliseconds
        self.cid = cid
        self.limits = DataPathLimits(outcome.parameters)
        self.decoder = PDUDecoder(
            digests: DigestSettings(header: outcome.parameters.headerDigest == .crc32c, data: outcome.parameters.dataDigest == .crc32c),
            maxDataSegmentLength: outcome.parameters.maxRecvDataSegmentLength)
    }

    private static func connect(to portal: Portal, timeoutMilliseconds: Int, interfaceIndex: Int32?) throws(InitiatorError) -> TCPConnection
    {
        guard let address = SocketAddress(numericHost: portal.host, port: portal.port) else {
            throw .badPortal(portal.host)
        }
        do {
            return try TCPConnection.connect(
                to: address, deadline: .now().advanced(byMilliseconds: timeoutMilliseconds), interfaceIndex: interfaceIndex)
        } catch {
            throw .connection(error, portal: portal)
        }
    }

    static func send(
        _ pdu: PDU, on connection: borrowing TCPConnection, digests: DigestSettings, portal: Portal, deadline: MonotonicInstant
    ) throws(InitiatorError) {
        do { try connection.send(pdu.wireBytes(digests: digests), deadline: deadline) } catch {
            throw .connection(error, portal: portal)
        }
    }

    private static func receivePDU(
        on connection: borrowing TCPConnection, decoder: inout PDUDecoder, portal: Portal, deadline: MonotonicInstant
    ) throws(InitiatorError) -> PDU {
        while true {
            do {
                if let pdu = try decoder.nextPDU() { return pdu }
            } catch {
                throw .framing(error, portal: portal)
            }
            do {
                decoder.append(try connection.receive(exactly: decoder.bytesWanted, deadline: deadline))
            } catch {
                throw .connection(error, portal: portal)
            }
        }
    }

    // MARK: Full feature phase

    var digests: DigestSettings { decoder.digests }

    mutating func taskTag() -> UInt32 {
        defer { nextTaskTag = nextTaskTag &+ 1 == reservedTaskTag ? 1 : nextTaskTag &+ 1 }
        return nextTaskTag
    }

    func deadline() -> MonotonicInstant { .now().advanced(byMilliseconds: timeoutMilliseconds) }

    /// Receives the next PDU for us, answering target pings and tracking the target's
    /// sequence numbers on the way.
    mutating func receiveTargetMessage(deadline: MonotonicInstant) throws(InitiatorError) -> TargetMessage {
        while true {
            if let message = try receiveOne(deadline: deadline) { return message }
        }
    }

    /// Receives one PDU and tracks its sequence numbers; nil when it was a ping or a notice
    /// handled here (which may still have opened the command window).
    mutating func receiveOne(deadline: MonotonicInstant) throws(InitiatorError) -> TargetMessage? {
        let pdu = try Self.receivePDU(on: connection, decoder: &decoder, portal: portal, deadline: deadline)
        let message: TargetMessage
        do { message = try TargetMessage(pdu) } catch { throw .framing(error, portal: portal) }
        track(message)
        switch message {
        case .nopIn(let nop) where nop.wantsReply:
            // §11.18: answer with the target's TTT, ITT 0xFFFFFFFF, immediate.
            let reply = NOPOut(
                lun: nop.lun, initiatorTaskTag: reservedTaskTag, targetTransferTag: nop.targetTransferTag,
                cmdSN: cmdSN, expStatSN: expStatSN, data: nop.data)
            try Self.send(reply.pdu, on: connection, digests: digests, portal: portal, deadline: deadline)
            return nil
        case .nopIn(let nop) where nop.initiatorTaskTag == reservedTaskTag:
            return nil
        case .asyncMessage(let message) where message.asyncEvent == 0 || message.asyncEvent == 4:
            // SCSI async events and renegotiation requests need no action from a short session.
            return nil
        case .asyncMessage(let message):
            // Events 1-3 end the session or connection (§11.9.1); our session is short-lived,
            // so it stops here and says why instead of logging out later.
            throw .protocolViolation(
                "the target ended the session (Asynchronous Message event \(message.asyncEvent), \(message.eventName))", portal: portal)
        default:
            return message
        }
    }

    /// Updates ExpStatSN and the command window from any PDU that carries them (§4.2.2).
    private mutating func track(_ message: TargetMessage) {
        let numbers: (statSN: SequenceNumber?, expCmdSN: SequenceNumber, maxCmdSN: SequenceNumber)?
        switch message {
        case .nopIn(let pdu):
            numbers = (pdu.initiatorTaskTag == reservedTaskTag && !pdu.wantsReply ? nil : pdu.statSN, pdu.expCmdSN, pdu.maxCmdSN)
        case .scsiResponse(let pdu): numbers = (pdu.statSN, pdu.expCmdSN, pdu.maxCmdSN)
        case .taskManagementResponse(let pdu): numbers = (pdu.statSN, pdu.expCmdSN, pdu.maxCmdSN)
        case .textResponse(let pdu): numbers = (pdu.statSN, pdu.expCmdSN, pdu.maxCmdSN)
        case .dataIn(let pdu): numbers = (pdu.hasStatus ? pdu.statSN : nil, pdu.expCmdSN, pdu.maxCmdSN)
        case .logoutResponse(let pdu): numbers = (pdu.statSN, pdu.expCmdSN, pdu.maxCmdSN)
        case .readyToTransfer(let pdu): numbers = (nil, pdu.expCmdSN, pdu.maxCmdSN)
        case .asyncMessage(let pdu): numbers = (pdu.statSN, pdu.expCmdSN, pdu.maxCmdSN)
        case .reject(let pdu): numbers = (pdu.statSN, pdu.expCmdSN, pdu.maxCmdSN)
        case .loginResponse: numbers = nil
        }
        guard let numbers else { return }
        if let statSN = numbers.statSN, expStatSN <= statSN { expStatSN = statSN.advanced() }
        // §4.2.2.1: MaxCmdSN updates are ignored when MaxCmdSN < ExpCmdSN - 1.
        if numbers.expCmdSN.advanced(by: UInt32.max) <= numbers.maxCmdSN, maxCmdSN < numbers.maxCmdSN {
            maxCmdSN = numbers.maxCmdSN
        }
    }

    /// SendTargets discovery (RFC 7143 §12.3, appendix C): the targets this portal offers
    /// and their addresses, across as many Text Responses as the target needs.
    public mutating func sendTargets(_ which: String = "All") throws(InitiatorError) -> [DiscoveredTarget] {
        do { return try sendTargetsRequest(which) } catch { throw error.naming("SendTargets") }
    }

    private mutating func sendTargetsRequest(_ which: String) throws(InitiatorError) -> [DiscoveredTarget] {
        let deadline = deadline()
        try waitForCommandWindow(deadline: deadline)
        let tag = taskTag()
        var accumulator = TextAccumulator()
        var request = TextRequest(
            immediate: false, initiatorTaskTag: tag, cmdSN: cmdSN, expStatSN: expStatSN,
            data: TextKeys.encode([TextPair("SendTargets", which)]))
        cmdSN = cmdSN.advanced()
        // Each round trip brings at least one more segment; the accumulator bounds the total.
        while true {
            request.expStatSN = expStatSN
            try Self.send(request.pdu, on: connection, digests: digests, portal: portal, deadline: deadline)
            let response = try expectResponse(tag: tag, deadline: deadline, what: "Text Response") { message in
                if case .textResponse(let response) = message { return response }
                return nil
            }
            let pairs: [TextPair]?
            do {
                pairs = try accumulator.append(response.data, isFinal: response.final && !response.continues)
            } catch {
                throw .protocolViolation("malformed SendTargets text: \(error)", portal: portal)
            }
            if let pairs { return DiscoveredTarget.parse(pairs) }
            // §11.10.4: ask for the rest with an empty Text Request carrying the target's TTT.
            request = TextRequest(
                immediate: false, initiatorTaskTag: tag, targetTransferTag: response.targetTransferTag, cmdSN: cmdSN,
                expStatSN: expStatSN, data: [])
        }
    }

    /// The result of a SCSI command that completed at the target.
    public struct CommandResult {
        public var status: UInt8
        public var data: [UInt8]
        public var sense: SenseData?
    }

    /// How often a command is repeated while the LUN reports UNIT ATTENTION: after a login
    /// a target reports each pending condition (power on, LUNs changed) once (SAM-5 §5.14).
    static let unitAttentionRetries = 4

    /// Runs a SCSI command that reads up to `expectedLength` bytes (or none) and returns
    /// the data; a status other than GOOD is a `.commandFailed` naming `name`.
    public mutating func read(
        _ cdb: [UInt8], lun: LogicalUnit, expectedLength: Int, name: String
    ) throws(InitiatorError) -> [UInt8] {
        var result = try execute(cdb, lun: lun, expectedLength: expectedLength, name: name)
        for _ in 0..<Self.unitAttentionRetries where result.sense?.senseKey == SenseData.unitAttention {
            result = try execute(cdb, lun: lun, expectedLength: expectedLength, name: name)
        }
        guard result.status == SCSIStatus.good else {
            throw .commandFailed(command: "\(name) (LUN \(lun))", status: result.status, sense: result.sense)
        }
        return result.data
    }

    /// Runs one SCSI command that reads up to `expectedLength` bytes (or none) and returns
    /// its status and data; see `perform` for the checks made on the way.
    public mutating func execute(
        _ cdb: [UInt8], lun: LogicalUnit, expectedLength: Int, name: String? = nil
    ) throws(InitiatorError) -> CommandResult {
        let label = name ?? "SCSI command 0x" + String(cdb.first ?? 0, radix: 16)
        let request = SCSIRequest(name: label, cdb: cdb, lun: lun, transfer: .read(length: expectedLength))
        var result: CommandResult?
        try stream(count: 1, queueDepth: 1, request: { _ in request }, completed: { _, completed in result = completed })
        guard let result else { throw .protocolViolation("the command ended without a result", portal: portal) }
        return result
    }

    private mutating func expectResponse<Response>(
        tag: UInt32, deadline: MonotonicInstant, what: String, _ match: (TargetMessage) -> Response?
    ) throws(InitiatorError) -> Response {
        let message = try receiveTargetMessage(deadline: deadline)
        if let response = match(message) { return response }
        if case .reject(let reject) = message {
            throw .protocolViolation("the target rejected our request: \(reject.reasonText)", portal: portal)
        }
        throw .protocolViolation("expected a \(what), received \(message)", portal: portal)
    }

    /// Logs the session out (close session, §11.14) and closes the connection.
    public consuming func logout() throws(InitiatorError) {
        do { try closeSession() } catch { throw error.naming("the logout") }
    }

    private mutating func closeSession() throws(InitiatorError) {
        let deadline = deadline()
        let tag = taskTag()
        let request = LogoutRequest(reason: .closeSession, initiatorTaskTag: tag, cid: cid, cmdSN: cmdSN, expStatSN: expStatSN)
        try Self.send(request.pdu, on: connection, digests: digests, portal: portal, deadline: deadline)
        let response = try expectResponse(tag: tag, deadline: deadline, what: "Logout Response") { message in
            if case .logoutResponse(let response) = message { return response }
            return nil
        }
        guard response.response == 0 else { throw .logoutFailed(response: response.response) }
    }
}
