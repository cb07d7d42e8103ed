#if canImport(Glibc)
    import Glibc
#endif
import ISCSI
import LinuxSystem

/// Why the kernel session could not be set up, in words for the serial console.
public enum KernelSessionError: LoginFailureCarrying, CustomStringConvertible {
    case kernel(KernelCallError)
    case connection(ConnectionError, portal: String)
    /// The login itself failed (refused, redirected too often, a bad Login Response).
    case login(LoginFailure)
    case connectionFailed(code: UInt32, step: String)
    case timedOut(step: String)
    case badPortal(String)

    public var description: String {
        switch self {
        case .kernel(let error): return "\(error)"
        case .connection(let error, let portal): return "\(portal): \(error)"
        case .login(let failure): return "\(failure)"
        case .connectionFailed(let code, let step):
            return "the kernel reported connection error \(code) during \(step) (\(connectionErrorName(code)))"
        case .timedOut(let step): return "\(step): the target did not answer in time"
        case .badPortal(let portal): return "\"\(portal)\" is not a numeric IPv4 or IPv6 address"
        }
    }

    /// The status of a target that answered the login with "retry later" (0x0301, 0x0302).
    public var busyStatus: LoginStatus? {
        if case .login(.failed(let error, _)) = self { return error.busyStatus }
        return nil
    }

    /// A CHAP failure (`LoginError.isAuthenticationFailure`).
    public var isAuthenticationFailure: Bool {
        if case .login(.failed(let error, _)) = self { return error.isAuthenticationFailure }
        return false
    }

    /// The kernel saw the target close or reset the connection (`LoginFailureCarrying`):
    /// iscsi_tcp reports both as ISCSI_ERR_TCP_CONN_CLOSE (1020).
    public var isClosedByTarget: Bool {
        if case .connectionFailed(1020, _) = self { return true }
        return false
    }

    /// A deadline passed (the connect or an answer): the target may be slow rather than gone.
    public var isTimeout: Bool {
        switch self {
        case .timedOut, .connection(.timedOut, _): true
        default: false
        }
    }
}

/// `enum iscsi_err` names for the codes a CONN_ERROR carries (open-iscsi README §8).
public func connectionErrorName(_ code: UInt32) -> String {
    switch code {
    case 1011: "connection failed"
    case 1019: "transmit failed"
    case 1020: "TCP connection closed"
    case 1021: "SCSI error handling reset the session"
    case 1022: "NOP-Out timed out: the target stopped answering"
    default: "iscsi_err \(code)"
    }
}

/// What the kernel session needs: where, who, and the timers for a root disk.
public struct KernelSessionPlan: Sendable {
    public var portal: Portal
    public var login: LoginConfiguration
    public var timers: SessionTimers
    public var timeoutMilliseconds: Int
    /// The index of the interface every connection must leave through; nil: as routed.
    public var interfaceIndex: Int32?

    public init(
        portal: Portal, login: LoginConfiguration, timers: SessionTimers, timeoutMilliseconds: Int, interfaceIndex: Int32? = nil
    ) {
        self.portal = portal
        self.login = login
        self.timers = timers
        self.timeoutMilliseconds = timeoutMilliseconds
        self.interfaceIndex = interfaceIndex
    }
}

/// A root session owned by the kernel's `iscsi_tcp`, set up exactly in open-iscsi's order:
/// CREATE_SESSION, CREATE_CONN, TCP connect, BIND_CONN (the fd in our own process), static
/// SET_PARAMs, login through SEND_PDU/RECV_PDU, negotiated SET_PARAMs incl. EXP_STATSN,
/// START_CONN, host scan.
public struct KernelSession: ~Copyable {
    public let sessionID: UInt32
    public private(set) var connectionID: UInt32
    public let hostNumber: UInt32
    /// What the last login negotiated; nil only while the first login runs.
    public private(set) var outcome: LoginOutcome?
    /// The portal that took the last login: the plan's, or where the target redirected it.
    public private(set) var portal = ""
    public var channel: KernelChannel
    /// The socket the kernel is bound to; we keep our reference so recovery can RST it.
    private var connection: TCPConnection?

    /// This end's address of the last connection: what the interface a reconnect is bound to
    /// is found by.
    public private(set) var localAddress: SocketAddress?

    /// cmds_max and queue_depth as open-iscsi passes them.
    static let commandsMaximum: UInt16 = 128
    static let queueDepth: UInt16 = 32

    /// Creates, binds, logs in and starts a session; on failure everything created is
    /// destroyed again so a retry starts clean.
    public static func establish(_ plan: KernelSessionPlan, channel: consuming KernelChannel) throws(KernelSessionError) -> KernelSession {
        var channel = channel
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: plan.timeoutMilliseconds)
        // CREATE_SESSION and CREATE_CONN answer with ids in the reply union, not a retcode.
        let created = try channel.perform(
            channel.request(.createSession) {
                $0[ISCSIUEvent.CreateSessionRequest.initialCmdSN] = plan.login.cmdSN.rawValue
                $0[ISCSIUEvent.CreateSessionRequest.commandsMaximum] = commandsMaximum
                $0[ISCSIUEvent.CreateSessionRequest.queueDepth] = queueDepth
            }, step: "CREATE_SESSION", deadline: deadline, checkReturnCode: false)
        var session = KernelSession(
            sessionID: created[ISCSIUEvent.Reply.sessionID], connectionID: UInt32(plan.login.cid),
            hostNumber: created[ISCSIUEvent.Reply.hostNumber], channel: channel)
        do throws(KernelSessionError) {
            let (sessionID, cid) = (session.sessionID, session.connectionID)
            let connectionCreated = try session.channel.perform(
                session.channel.request(.createConnection, sessionID: sessionID, connectionID: cid), step: "CREATE_CONN",
                deadline: deadline, checkReturnCode: false)
            session.connectionID = connectionCreated[ISCSIUEvent.Reply.connectionID]
            try session.connectAndLogIn(plan, leading: true)
            return session
        } catch {
            session.tearDown()
            throw error
        }
    }

    /// STOP_CONN(TERM), DESTROY_CONN, DESTROY_SESSION (the kernel refuses to destroy a
    /// session that still has connections). Errors for what was never created are
    /// expected and ignored.
    public mutating func tearDown() {
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: 2000)
        let (sessionID, connectionID) = (self.sessionID, self.connectionID)
        _ = try? channel.call(
            channel.request(.stopConnection, sessionID: sessionID, connectionID: connectionID) {
                $0[ISCSIUEvent.StopConnectionRequest.flag] = StopFlag.terminate.rawValue
            }, step: "STOP_CONN", deadline: deadline)
        _ = try? channel.call(
            channel.request(.destroyConnection, sessionID: sessionID, connectionID: connectionID), step: "DESTROY_CONN", deadline: deadline)
        _ = try? channel.call(
            channel.request(.destroySession) { $0[ISCSIUEvent.DestroySessionRequest.sessionID] = sessionID }, step: "DESTROY_SESSION",
            deadline: deadline)
        connection.take()?.closeWithReset()
    }

    /// Ends a session whatever process built it (the shutdown role's last resort for one
    /// whose supervisor did not log it out in time): STOP_CONN(terminate) fails the I/O the
    /// kernel queued for a recovery, then the connection and the session are destroyed.
    /// Best effort, each call bounded by `deadline`; whether the session is gone.
    public static func end(
        sessionID: UInt32, connectionID: UInt32, channel: inout KernelChannel, deadline: MonotonicInstant
    ) -> Bool {
        _ = try? channel.call(
            channel.request(.stopConnection, sessionID: sessionID, connectionID: connectionID) {
                $0[ISCSIUEvent.StopConnectionRequest.flag] = StopFlag.terminate.rawValue
            }, step: "STOP_CONN", deadline: deadline)
        _ = try? channel.call(
            channel.request(.destroyConnection, sessionID: sessionID, connectionID: connectionID), step: "DESTROY_CONN", deadline: deadline)
        do {
            try channel.call(
                channel.request(.destroySession) { $0[ISCSIUEvent.DestroySessionRequest.sessionID] = sessionID }, step: "DESTROY_SESSION",
                deadline: deadline)
            return true
        } catch {
            return false
        }
    }

    /// Stops a failed connection so it can be re-logged in: STOP_CONN(RECOVER) makes the
    /// kernel queue I/O and start the replacement timer. Since Linux 5.14 the kernel may
    /// already be cleaning the connection up itself and answer ENOTCONN (open-iscsi #387):
    /// that is the same outcome. The errors the old connection reported are dropped (a
    /// redirecting target closes it right after its answer), and our old socket is closed
    /// with an RST.
    public mutating func stopForRecovery() throws(KernelSessionError) {
        let (sessionID, connectionID) = (self.sessionID, self.connectionID)
        do throws(KernelCallError) {
            try channel.call(
                channel.request(.stopConnection, sessionID: sessionID, connectionID: connectionID) {
                    $0[ISCSIUEvent.StopConnectionRequest.flag] = StopFlag.recover.rawValue
                }, step: "STOP_CONN(recover)", deadline: .now().advanced(byMilliseconds: 5000))
        } catch .kernel(let error) where error.code == ENOTCONN {
            // The kernel's cleanup got there first.
        } catch {
            throw .kernel(error)
        }
        channel.discardConnectionErrors(session: sessionID)
        connection.take()?.closeWithReset()
    }

    /// Logs the session out (a Logout Request through the kernel, which fills in ITT, CmdSN
    /// and ExpStatSN), then tears it down. Called only once the root is unmounted.
    public mutating func logOut(timeoutMilliseconds: Int) throws(KernelSessionError) {
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: timeoutMilliseconds)
        let request = LogoutRequest(
            reason: .closeSession, initiatorTaskTag: 0, cid: UInt16(truncatingIfNeeded: connectionID), cmdSN: SequenceNumber(0),
            expStatSN: SequenceNumber(0))
        defer { tearDown() }
        try sendPDU(request.pdu, step: "SEND_PDU (logout)", deadline: deadline)
        // Bounded by the deadline: nextPDU throws once it has passed.
        while try nextPDU(step: "logout", portal: nil, deadline: deadline).opcode != .logoutResponse {}
    }

    /// Answers a target's request to log out (AsyncEvent 1) while the session stays: a
    /// Logout Request that closes this connection, then the Logout Response, whose
    /// Time2Wait says how long the target wants before the next login. The caller then
    /// recovers the connection (`stopForRecovery`, `connectAndLogIn`) as after any loss.
    /// nil: the answer did not decode (the recovery that follows waits DefaultTime2Wait).
    public mutating func logOutConnection(timeoutMilliseconds: Int) throws(KernelSessionError) -> LogoutResponse? {
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: timeoutMilliseconds)
        let request = LogoutRequest(
            reason: .closeConnection, initiatorTaskTag: 0, cid: UInt16(truncatingIfNeeded: connectionID), cmdSN: SequenceNumber(0),
            expStatSN: SequenceNumber(0))
        try sendPDU(request.pdu, step: "SEND_PDU (logout of the connection)", deadline: deadline)
        while true {
            let pdu = try nextPDU(step: "logout of the connection", portal: nil, deadline: deadline)
            guard pdu.opcode == .logoutResponse else { continue }
            return try? LogoutResponse(pdu)
        }
    }

    /// STOP_CONN flags (`STOP_CONN_TERM`, `STOP_CONN_SUSPEND`, `STOP_CONN_RECOVER`).
    public enum StopFlag: UInt32 {
        case terminate = 1
        case suspend = 2
        case recover = 3
    }

    private init(sessionID: UInt32, connectionID: UInt32, hostNumber: UInt32, channel: consuming KernelChannel) {
        self.sessionID = sessionID
        self.connectionID = connectionID
        self.hostNumber = hostNumber
        self.channel = channel
        self.outcome = nil
    }

    /// TCP connect, BIND_CONN, parameters, login, START_CONN: the part a recovery repeats
    /// on the existing session (same ISID, so the target reinstates it). A login redirect
    /// (RFC 7143 §11.13.5) stops the connection and repeats all of it at the address the
    /// target named, as open-iscsi does; the plan keeps the configured portal, so the next
    /// recovery asks it again (a temporary redirect may point elsewhere by then).
    /// `portal` tells where the login landed.
    public mutating func connectAndLogIn(_ plan: KernelSessionPlan, leading: Bool) throws(KernelSessionError) {
        var configuration = plan.login
        // SEND_PDU replaces the ITT with the kernel's login task tag.
        configuration.initiatorTaskTag = nil
        var driver = LoginDriver(configuration: configuration, portal: plan.portal)
        // Ends: the driver throws once the target redirects more than it allows.
        while true {
            // A redirect, or the retry without the security stage: the last connection is spent.
            if driver.exchanges > 0 { try stopForRecovery() }
            var attempt = plan
            attempt.portal = driver.portal
            let deadline = MonotonicInstant.now().advanced(byMilliseconds: plan.timeoutMilliseconds)
            try connectAndBind(attempt, leading: leading, deadline: deadline)
            let portalText = attempt.portal.description
            let exchanged = try driver.exchange(
                send: { pdu throws(KernelSessionError) in try sendPDU(pdu, step: "SEND_PDU (login)", deadline: deadline) },
                receive: { () throws(KernelSessionError) in try nextPDU(step: "login", portal: portalText, deadline: deadline) })
            guard let outcome = exchanged else { continue }
            self.outcome = outcome
            let (sessionID, connectionID) = (self.sessionID, self.connectionID)
            for (parameter, value) in outcome.parameters.kernelParameters(
                expStatSN: outcome.expStatSN, targetPortalGroupTag: outcome.parameters.targetPortalGroupTag)
            {
                try setParameter(parameter, value, deadline: deadline)
            }
            try channel.perform(
                channel.request(.startConnection, sessionID: sessionID, connectionID: connectionID), step: "START_CONN", deadline: deadline)
            portal = portalText
            return
        }
    }

    /// TCP connect, BIND_CONN and the parameters set before the login.
    private mutating func connectAndBind(_ plan: KernelSessionPlan, leading: Bool, deadline: MonotonicInstant) throws(KernelSessionError) {
        guard let address = SocketAddress(numericHost: plan.portal.host, port: plan.portal.port) else { throw .badPortal(plan.portal.host) }
        let socket: TCPConnection
        do { socket = try TCPConnection.connect(to: address, deadline: deadline, interfaceIndex: plan.interfaceIndex) } catch {
            throw .connection(error, portal: plan.portal.description)
        }
        let descriptor = socket.withFileDescriptor { $0 }
        localAddress = socket.localAddress
        connection = consume socket
        let (sessionID, connectionID) = (self.sessionID, self.connectionID)
        try channel.perform(
            channel.request(.bindConnection, sessionID: sessionID, connectionID: connectionID) {
                $0[ISCSIUEvent.BindConnectionRequest.transportEndpoint] = UInt64(descriptor)
                $0[ISCSIUEvent.BindConnectionRequest.isLeading] = leading ? 1 : 0
            }, step: "BIND_CONN", deadline: deadline)
        for (parameter, value) in Self.staticParameters(plan) {
            try setParameter(parameter, value, deadline: deadline)
        }
    }

    /// Parameters set before login (open-iscsi `iscsi_session_set_params`). CHAP secrets are
    /// deliberately not given to the kernel: nothing else will ever log in for us, and
    /// sysfs would expose them to every root process.
    static func staticParameters(_ plan: KernelSessionPlan) -> [(KernelParameter, String)] {
        var parameters: [(KernelParameter, String)] = [
            (.initiatorName, plan.login.initiatorName),
            (.persistentAddress, plan.portal.host),
            (.persistentPort, String(plan.portal.port)),
            (.sessionRecoveryTimeout, String(plan.timers.replacementTimeout)),
            (.abortTimeout, String(plan.timers.abortTimeout)),
            (.logicalUnitResetTimeout, String(plan.timers.logicalUnitResetTimeout)),
            (.targetResetTimeout, String(plan.timers.targetResetTimeout)),
            (.pingTimeout, String(plan.timers.noopTimeout)),
            (.receiveTimeout, String(plan.timers.noopInterval)),
            (.isid, hexString(plan.login.isid)),
        ]
        if let target = plan.login.targetName { parameters.insert((.targetName, target), at: 0) }
        return parameters
    }

    /// SET_PARAM with a NUL-terminated value; ENOSYS (a parameter this transport lacks) is
    /// tolerated as open-iscsi does.
    private mutating func setParameter(_ parameter: KernelParameter, _ value: String, deadline: MonotonicInstant) throws(KernelSessionError)
    {
        let payload = Array(value.utf8) + [0]
        let (sessionID, connectionID) = (self.sessionID, self.connectionID)
        let request = channel.request(.setParameter, sessionID: sessionID, connectionID: connectionID) {
            $0[ISCSIUEvent.SetParameterRequest.parameter] = parameter.rawValue
            $0[ISCSIUEvent.SetParameterRequest.length] = UInt32(payload.count)
        }
        do throws(KernelCallError) {
            try channel.call(request, payload: payload, step: "SET_PARAM \(parameter)", deadline: deadline)
        } catch .kernel(let error) where error.code == ENOSYS {
            return
        } catch {
            throw .kernel(error)
        }
    }

    /// PDUs travel through the kernel (SEND_PDU / RECV_PDU), as open-iscsi does for the login
    /// of normal sessions, so the socket is never read by two parties.
    private mutating func sendPDU(_ pdu: PDU, step: String, deadline: MonotonicInstant) throws(KernelSessionError) {
        let header = pdu.header.bytes + pdu.additionalHeader
        let (sessionID, connectionID) = (self.sessionID, self.connectionID)
        try channel.perform(
            channel.request(.sendPDU, sessionID: sessionID, connectionID: connectionID) {
                $0[ISCSIUEvent.SendPDURequest.headerSize] = UInt32(header.count)
                $0[ISCSIUEvent.SendPDURequest.dataSize] = UInt32(pdu.data.count)
            }, payload: header + pdu.data, step: step, deadline: deadline)
    }

    /// The next PDU the kernel hands up for this session during `step` (at `portal`, for
    /// the timeout message); a connection error of the session ends the wait.
    private mutating func nextPDU(step: String, portal: String?, deadline: MonotonicInstant) throws(KernelSessionError) -> PDU {
        while true {
            let event: KernelEvent?
            do { event = try channel.nextEvent(deadline: deadline) } catch { throw .kernel(.system(error)) }
            switch event {
            case nil:
                throw .timedOut(step: portal.map { "\(step) at \($0)" } ?? step)
            case .receivedPDU(let session, _, let pdu) where session == sessionID:
                return pdu
            case .connectionError(let session, _, let code) where session == sessionID:
                throw .connectionFailed(code: code, step: step)
            default:
                continue
            }
        }
    }

    /// Asks the kernel to scan the session's SCSI host for LUNs (open-iscsi writes the same).
    public func scanHost() throws(SystemError) {
        let path = "/sys/class/scsi_host/host\(hostNumber)/scan"
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("open \(path)") }
        defer { close(descriptor) }
        let wildcard = Array("- - -".utf8)
        guard write(descriptor, wildcard, wildcard.count) == wildcard.count else { throw SystemError("write \(path)") }
    }
}

extension KernelChannel {
    /// `call`, reporting its failure as a session error.
    @discardableResult
    mutating func perform(
        _ event: ISCSIUEvent, payload: [UInt8] = [], step: String, deadline: MonotonicInstant, checkReturnCode: Bool = true
    ) throws(KernelSessionError) -> ISCSIUEvent {
        do {
            return try call(event, payload: payload, step: step, deadline: deadline, checkReturnCode: checkReturnCode)
        } catch {
            throw .kernel(error)
        }
    }
}
