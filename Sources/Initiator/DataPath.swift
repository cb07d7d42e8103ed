import ISCSI
import LinuxSystem

// The full feature phase data path (RFC 7143 §4.2, §11.3–§11.8): several SCSI commands in
// flight within the target's CmdSN window, Data-In collected per task, writes sent as
// immediate data, unsolicited Data-Out and R2T-solicited Data-Out, each PDU within the
// target's MaxRecvDataSegmentLength. Every target PDU is checked by its task before its
// bytes are trusted; a command that times out is aborted with task management.

extension Session {
    /// The most bytes gathered before one `send`: Data-Out PDUs are framed into one buffer
    /// so a burst costs a few system calls, not one per PDU.
    static let sendBatchBytes = 256 * 1024

    /// Runs `requests` with up to `queueDepth` in flight and returns their results in order.
    public mutating func perform(_ requests: [SCSIRequest], queueDepth: Int = 8) throws(InitiatorError) -> [CommandResult] {
        var results: [CommandResult?] = Array(repeating: nil, count: requests.count)
        try stream(count: requests.count, queueDepth: queueDepth, request: { requests[$0] }, completed: { results[$0] = $1 })
        return results.compactMap { $0 }
    }

    /// Runs `count` commands made by `request(index)` with up to `queueDepth` in flight (and
    /// never beyond MaxCmdSN, §4.2.2.1), calling `completed` as each finishes, in the order
    /// the target finishes them. Stops at the first protocol violation, digest error or
    /// timeout; a command that times out is aborted first (`abortOverdueTask`).
    public mutating func stream(
        count: Int, queueDepth: Int, request: (Int) -> SCSIRequest,
        completed: (Int, CommandResult) throws(InitiatorError) -> Void
    ) throws(InitiatorError) {
        do {
            try streamCommands(count: count, queueDepth: queueDepth, request: request, completed: completed)
        } catch {
            // A dropped connection names the commands it took down (tasks still in flight).
            throw error.naming(commandsInFlight)
        }
    }

    /// The oldest command in flight and how many more: "READ (10) (LUN 0) and 3 more commands".
    var commandsInFlight: String {
        let ordered = tasks.values.sorted { $0.index < $1.index }
        guard let first = ordered.first else { return "no command" }
        let label = "\(first.request.name) (LUN \(first.request.lun))"
        switch ordered.count {
        case 1: return label
        case 2: return label + " and 1 more command"
        default: return label + " and \(ordered.count - 1) more commands"
        }
    }

    private mutating func streamCommands(
        count: Int, queueDepth: Int, request: (Int) -> SCSIRequest,
        completed: (Int, CommandResult) throws(InitiatorError) -> Void
    ) throws(InitiatorError) {
        var submitted = 0
        var finished = 0
        while finished < count {
            while submitted < count && tasks.count < max(1, queueDepth) && cmdSN <= maxCmdSN {
                try submit(request(submitted), index: submitted)
                submitted += 1
            }
            // With nothing in flight only a NOP-In can open a closed window, so wait one timeout.
            let deadline = tasks.values.map({ $0.deadline }).min() ?? deadline()
            let message: TargetMessage?
            do {
                message = try receiveOne(deadline: deadline)
            } catch {
                guard case .connection(.timedOut, _) = error, !tasks.isEmpty else { throw error }
                try abortOverdueTask()
            }
            guard let message, let (index, result) = try dispatch(message) else { continue }
            finished += 1
            try completed(index, result)
        }
    }

    /// Waits until the target's command window admits CmdSN (MaxCmdSN ≥ CmdSN, §4.2.2.1).
    mutating func waitForCommandWindow(deadline: MonotonicInstant) throws(InitiatorError) {
        while maxCmdSN < cmdSN {
            if let message = try receiveOne(deadline: deadline) { _ = try dispatch(message) }
        }
    }

    // MARK: - Sending

    /// Sends a SCSI Command PDU, with the write's immediate data and unsolicited Data-Out.
    private mutating func submit(_ request: SCSIRequest, index: Int) throws(InitiatorError) {
        let tag = taskTag()
        let writeData = request.writeData
        let (immediate, unsolicited) = writeData.isEmpty ? (0, 0) : limits.firstBurst(ofWriteLength: writeData.count)
        let command = SCSICommand(
            read: request.readLength > 0, write: !writeData.isEmpty, lun: request.lun, initiatorTaskTag: tag,
            expectedDataTransferLength: UInt32(clamping: request.readLength + writeData.count), cmdSN: cmdSN,
            expStatSN: expStatSN, cdb: request.cdb, final: unsolicited == immediate)
        let deadline = deadline()
        tasks[tag] = TaskInFlight(
            index: index, tag: tag, request: request, cmdSN: cmdSN, deadline: deadline, unsolicitedLength: unsolicited)
        cmdSN = cmdSN.advanced()
        var wire: [UInt8] = []
        appendFramed(command.pdu, payload: writeData[0..<immediate], to: &wire)
        // Unsolicited Data-Out carries the first burst after the immediate data (§13.11).
        try sendDataOut(
            writeData, range: immediate..<unsolicited, lun: request.lun, tag: tag, targetTransferTag: reservedTaskTag,
            after: wire, deadline: deadline)
    }

    /// Sends `prefix` and then Data-Out PDUs for `range` of `data` (one sequence: DataSN from
    /// 0, F on the last, §11.7), none longer than the target's MaxRecvDataSegmentLength.
    private func sendDataOut(
        _ data: [UInt8], range: Range<Int>, lun: LogicalUnit, tag: UInt32, targetTransferTag: UInt32, after prefix: [UInt8],
        deadline: MonotonicInstant
    ) throws(InitiatorError) {
        var wire = prefix
        var dataSN: UInt32 = 0
        var offset = range.lowerBound
        while offset < range.upperBound {
            let end = min(offset + limits.maxXmitDataSegmentLength, range.upperBound)
            let pdu = DataOut(
                final: end == range.upperBound, lun: lun, initiatorTaskTag: tag, targetTransferTag: targetTransferTag,
                expStatSN: expStatSN, dataSN: dataSN, bufferOffset: UInt32(offset), data: []
            ).pdu
            appendFramed(pdu, payload: data[offset..<end], to: &wire)
            dataSN &+= 1
            offset = end
            if wire.count >= Self.sendBatchBytes {
                try Self.send(bytes: wire, on: connection, portal: portal, deadline: deadline)
                wire.removeAll(keepingCapacity: true)
            }
        }
        if !wire.isEmpty { try Self.send(bytes: wire, on: connection, portal: portal, deadline: deadline) }
    }

    /// Appends `pdu` with `payload` as its data segment (RFC 7143 §11.1): the header as
    /// `wireBytes` frames it, then the payload straight from the caller's buffer, the padding
    /// and the data digest — one copy of the payload.
    private func appendFramed(_ pdu: PDU, payload: ArraySlice<UInt8>, to wire: inout [UInt8]) {
        var header = pdu
        header.header.dataSegmentLength = payload.count
        wire += header.wireBytes(digests: digests)
        PDU.appendDataSegment(payload, to: &wire, dataDigest: digests.data)
    }

    private static func send(
        bytes: [UInt8], on connection: borrowing TCPConnection, portal: Portal, deadline: MonotonicInstant
    ) throws(InitiatorError) {
        do { try connection.send(bytes, deadline: deadline) } catch { throw .connection(error, portal: portal) }
    }

    // MARK: - Receiving

    /// Hands one target PDU to its task; returns the task's index and result when it ended.
    /// The task is taken out of the table while it changes, so its buffer is never copied.
    private mutating func dispatch(_ message: TargetMessage) throws(InitiatorError) -> (Int, CommandResult)? {
        switch message {
        case .dataIn(let dataIn):
            var task = try takeTask(dataIn.initiatorTaskTag, for: "Data-In")
            let result = try checked { () throws(DataPathViolation) in try task.receive(dataIn, limits: limits) }
            if let deviation = task.deviation, !protocolDeviations.contains(where: { $0.rule == deviation.rule }) {
                protocolDeviations.append(deviation)
            }
            guard let result else {
                tasks[task.tag] = task
                return nil
            }
            return (task.index, result)
        case .scsiResponse(let response):
            let task = try takeTask(response.initiatorTaskTag, for: "SCSI Response")
            return (task.index, try checked { () throws(DataPathViolation) in try task.receive(response) })
        case .readyToTransfer(let r2t):
            var task = try takeTask(r2t.initiatorTaskTag, for: "R2T")
            let range = try checked { () throws(DataPathViolation) in try task.receive(r2t, limits: limits) }
            let request = task.request
            tasks[task.tag] = task
            try sendDataOut(
                request.writeData, range: range, lun: request.lun, tag: r2t.initiatorTaskTag,
                targetTransferTag: r2t.targetTransferTag, after: [], deadline: deadline())
            return nil
        case .reject(let reject):
            if let tag = reject.rejectedTaskTag, let task = tasks[tag] {
                throw .protocolViolation("the target rejected \(task.request.name) (task \(tag)): \(reject.reasonText)", portal: portal)
            }
            throw .protocolViolation("the target rejected one of our PDUs: \(reject.reasonText)", portal: portal)
        default:
            throw .protocolViolation("unexpected \(message.name) while \(tasks.count) command(s) were in flight", portal: portal)
        }
    }

    private mutating func takeTask(_ tag: UInt32, for pdu: String) throws(InitiatorError) -> TaskInFlight {
        guard let task = tasks.removeValue(forKey: tag) else {
            throw .protocolViolation("\(pdu) for task tag \(tag), which is not in flight", portal: portal)
        }
        return task
    }

    private func checked<Value>(_ body: () throws(DataPathViolation) -> Value) throws(InitiatorError) -> Value {
        do { return try body() } catch { throw .protocolViolation(error.description, portal: portal) }
    }

    // MARK: - Timeouts

    /// The oldest task passed its deadline: ask the target to abort it (ABORT TASK), and if
    /// that fails or gets no answer, reset its logical unit (LOGICAL UNIT RESET, §11.5.1);
    /// then report the timeout with what the recovery did.
    private mutating func abortOverdueTask() throws(InitiatorError) -> Never {
        let overdue = tasks.values.min { $0.deadline < $1.deadline }
        guard let overdue else { throw .protocolViolation("a timeout with no command in flight", portal: portal) }
        var recovery: String
        let abort = try taskManagement(.abortTask, lun: overdue.request.lun, referencing: overdue)
        recovery = "ABORT TASK: \(taskManagementOutcome(abort))"
        // §11.6.1: "task does not exist" means it already ended; either way the task is gone.
        if abort != 0 && abort != 1 {
            let reset = try taskManagement(.logicalUnitReset, lun: overdue.request.lun, referencing: nil)
            recovery += ", LOGICAL UNIT RESET: \(taskManagementOutcome(reset))"
        }
        tasks.removeAll()
        throw .connection(
            .timedOut(operation: "\(overdue.request.name) (task \(overdue.tag)), waited \(timeoutMilliseconds) ms; \(recovery);"),
            portal: portal)
    }

    /// Sends an immediate Task Management Function Request and waits for its response
    /// code; nil when none came within the timeout. PDUs of other tasks are dropped meanwhile:
    /// the caller fails the whole batch.
    private mutating func taskManagement(
        _ function: TaskManagementRequest.Function, lun: LogicalUnit, referencing task: TaskInFlight?
    ) throws(InitiatorError) -> UInt8? {
        let tag = taskTag()
        let deadline = deadline()
        let request = TaskManagementRequest(
            function: function, lun: lun, initiatorTaskTag: tag, referencedTaskTag: task?.tag ?? reservedTaskTag, cmdSN: cmdSN,
            expStatSN: expStatSN, refCmdSN: task?.cmdSN ?? cmdSN)
        try Self.send(request.pdu, on: connection, digests: digests, portal: portal, deadline: deadline)
        while true {
            let message: TargetMessage?
            do { message = try receiveOne(deadline: deadline) } catch {
                if case .connection(.timedOut, _) = error { return nil }
                throw error
            }
            if case .taskManagementResponse(let response) = message, response.initiatorTaskTag == tag { return response.response }
        }
    }

    /// RFC 7143 §11.6.1 response codes.
    private func taskManagementOutcome(_ response: UInt8?) -> String {
        switch response {
        case nil: "no answer"
        case 0: "function complete"
        case 1: "task does not exist"
        case 2: "LUN does not exist"
        case 3: "task still allegiant"
        case 4: "task reassignment not supported"
        case 5: "function not supported"
        case 6: "function authorization failed"
        case 255: "function rejected"
        case let code?: "response \(code)"
        }
    }
}

extension TargetMessage {
    /// The PDU's name for messages (never its payload, which may be megabytes).
    var name: String {
        switch self {
        case .nopIn: "NOP-In"
        case .scsiResponse: "SCSI Response"
        case .taskManagementResponse: "Task Management Response"
        case .loginResponse: "Login Response"
        case .textResponse: "Text Response"
        case .dataIn: "Data-In"
        case .logoutResponse: "Logout Response"
        case .readyToTransfer: "R2T"
        case .asyncMessage: "Asynchronous Message"
        case .reject: "Reject"
        }
    }
}

extension AsyncMessage {
    /// RFC 7143 §11.9.1 AsyncEvent names.
    var eventName: String {
        switch asyncEvent {
        case 0: "SCSI asynchronous event"
        case 1: "logout requested"
        case 2: "connection will be dropped"
        case 3: "all connections will be dropped"
        case 4: "parameter renegotiation requested"
        case 255: "vendor specific"
        default: "event \(asyncEvent)"
        }
    }
}
