#if canImport(Glibc)
    import Glibc
#endif
import ISCSI
import KernelSession
import LinuxSystem
import Multipath
import NetworkSetup
import Reports

/// The resident part of iscsi-root: forked by `/init` (or `login`) before the hand-over, it
/// owns the root session for the life of the machine. Events (KernelSession), decisions
/// (RecoveryPolicy) and actions (here) stay in three small places.
public struct SessionSupervisor: ~Copyable {
    private var session: KernelSession
    /// One plan per portal, in the order recovery tries them.
    private let plans: [KernelSessionPlan]
    private let policy: RecoveryPolicy
    private let disk: String?
    private let started = MonotonicInstant.now()
    private var state = SupervisorStatus.State.loggedIn
    private var portalIndex = 0
    private var recoveries = 0
    private var lastRecovery: SupervisorStatus.Recovery?
    private var log: BootLog
    /// Where this process answers: the control socket (the root's supervisor), or a session
    /// socket (`ControlRequest.sessionSocketName`) for a session process of its own.
    private let socketName: String
    /// The boot's other sessions, each in a process of its own: the control socket answers
    /// for them too (status) and has them log out first (logout).
    private let peers: [Peer]
    /// The root LUN as the boot found it; nil when the kernel kept no identifier for it.
    private var lunCheck: LUNCheck?
    /// Whether the line saying a re-login went ahead unchecked was written (once is enough).
    private var lunCheckSkipped = false
    /// The name of the interface the boot's connection left from, which every reconnect is
    /// bound to (by index: `plans`); nil when rtnetlink could not tell.
    private let bootInterface: String?
    /// The session's path in the root's multipath map: failed there when the connection
    /// breaks, reinstated when the session is logged in again.
    private var mapPath: MapPath?

    /// Another session of the boot, served by its own process on `socketName`.
    public struct Peer: Sendable {
        public var socketName: String
        public var pid: pid_t
        public var target: String

        public init(socketName: String, pid: pid_t, target: String) {
            self.socketName = socketName
            self.pid = pid
            self.target = target
        }
    }

    init(
        session: consuming KernelSession, plans: [KernelSessionPlan], disk: String?, log: BootLog,
        socketName: String = ControlRequest.socketName, peers: [Peer] = [], mapPath: MapPath? = nil
    ) {
        // Every reconnect leaves through the interface the boot's connection did.
        let interface = Self.interface(holding: session.localAddress)
        self.bootInterface = interface?.name
        self.session = session
        self.plans = plans.map { plan in
            var plan = plan
            plan.interfaceIndex = plan.interfaceIndex ?? interface?.index
            return plan
        }
        self.policy = RecoveryPolicy(portalCount: plans.count)
        self.disk = disk
        self.log = log
        self.socketName = socketName
        self.peers = peers
        self.mapPath = mapPath
        if let disk {
            do throws(LUNCheck.Unavailable) { lunCheck = try LUNCheck(disk: disk) } catch {
                self.log.line(
                    "session \(self.session.sessionID): \(error): a re-login cannot tell whether the target still shows the same LUN")
            }
        }
    }

    /// Serves events and control requests until told to log out; never returns.
    public consuming func run() -> Never {
        let control: Int32?
        do {
            // Open for the rest of the process's life.
            control = try UnixSocket.listen(abstractName: socketName).releaseDescriptor()
        } catch {
            log.line("supervisor: no control socket (\(error)); recovery still runs")
            control = nil
        }
        serveEvents(control: control)
    }

    private mutating func serveEvents(control: Int32?) -> Never {
        while true {
            // Events read during an earlier netlink call wait in the channel's queue.
            while session.channel.hasQueuedEvents, let event = try? session.channel.nextEvent(deadline: .now()) {
                handle(event, control: control)
            }
            let watched = [session.channel.fileDescriptor] + (control.map { [$0] } ?? [])
            // A path held failed for flapping is let go at the end of its hold.
            let holdEnd = mapPath?.policy.nextDeadline.map { MonotonicInstant(nanoseconds: $0 * 1_000_000) }
            guard let ready = try? waitForReadable(watched, deadline: holdEnd) else { continue }
            if holdEnd != nil { updateMapPath { policy, now in policy.tick(at: now) } }
            if ready[0], let event = try? session.channel.nextEvent(deadline: .now()) {
                handle(event, control: control)
            }
            if ready.count > 1, ready[1], let control {
                answerOneRequest(control)
            }
        }
    }

    private mutating func handle(_ event: KernelEvent, control: Int32?) {
        switch event {
        case .connectionError(let sessionID, _, let code) where sessionID == session.sessionID:
            recover(cause: "connection error \(code): \(connectionErrorName(code))", control: control)
        case .receivedPDU(let sessionID, _, let pdu) where sessionID == session.sessionID && pdu.opcode == .asyncMessage:
            guard let message = try? AsyncMessage(pdu), let request = message.targetRequest else { return }
            switch request {
            case .logout(let within, let time2Wait):
                // RFC 7143 §11.9.1: log out within Parameter3 seconds; the Logout Response's
                // Time2Wait is how long the target wants before the next login.
                log.line(
                    "session \(session.sessionID): the target asks for a logout within \(within) s (AsyncEvent 1); logging the connection out"
                )
                let answered = try? session.logOutConnection(timeoutMilliseconds: min(max(within, 1), 5) * 1000)
                let asked = max(time2Wait, Int(answered?.time2Wait ?? 0))
                recover(cause: "the target asked for a logout (Time2Wait \(asked) s)", control: control, targetAskedSeconds: asked)
            case .dropConnection(let time2Wait):
                recover(
                    cause: "the target is dropping the connection (AsyncEvent \(message.asyncEvent), Time2Wait \(time2Wait) s)",
                    control: control,
                    targetAskedSeconds: time2Wait)
            }
        default:
            break
        }
    }

    /// Re-logs in on the same session (same ISID, TSIH 0: the target reinstates it) until
    /// it works, walking the portals with the policy's backoff. I/O waits in the kernel
    /// meanwhile (replacement timeout).
    /// `targetAskedSeconds`: the target ended the connection itself and asked for this
    /// Time2Wait; the first attempt waits at least that long (`RecoveryPolicy`).
    private mutating func recover(cause: String, control: Int32?, targetAskedSeconds: Int? = nil) {
        let recoveryStart = MonotonicInstant.now()
        // Whatever ended the connection (an error, the target's logout or drop), new I/O goes
        // to the map's other paths at once, not after the replacement timeout.
        if let device = mapPath?.device { updateMapPath { policy, now in policy.connectionFailed(device, at: now) } }
        state = .recovering
        try? session.stopForRecovery()
        var random = SystemRandomNumberGenerator()
        let negotiated = session.outcome?.parameters.defaultTime2Wait ?? 2
        var step =
            targetAskedSeconds.map {
                policy.firstAttempt(targetAskedSeconds: $0, time2WaitSeconds: negotiated, jitter: Double.random(in: 0..<1, using: &random))
            } ?? policy.firstAttempt(time2WaitSeconds: negotiated)
        if case .retry(_, let wait) = step, targetAskedSeconds != nil {
            log.line("session \(session.sessionID): \(cause); recovering in \(wait) ms")
        } else {
            log.line("session \(session.sessionID): \(cause); recovering")
        }
        var attempt = 0
        var timedOutAttempts = 0
        // "Retry later" answers in a row (0x0301, 0x0302): each stretches the next wait.
        var busyAnswers = 0
        // A long outage: the first attempts in full, then a summary a minute.
        var lines = RecoveryLogLimiter()
        // The policy's waits space the attempts' starts: an attempt that ran into its timeout
        // has waited already, and the next one follows at once if the wait is used up.
        var spentOnLastAttempt = 0
        while case .retry(let portal, let delay) = step {
            wait(milliseconds: delay - spentOnLastAttempt, control: control)
            let attemptStart = MonotonicInstant.now()
            portalIndex = portal
            var plan = plans[portal]
            plan.timeoutMilliseconds = policy.attemptTimeout(
                afterTimedOutAttempts: timedOutAttempts, loginTimeoutMilliseconds: plans[portal].timeoutMilliseconds)
            switch attemptLogIn(plan) {
            case .loggedIn:
                let elapsed = recoveryStart.milliseconds(until: .now())
                if let summary = lines.finished(atMilliseconds: elapsed) { log.line("session \(session.sessionID): \(summary)") }
                recoveries += 1
                lastRecovery = .init(cause: cause, attempts: attempt + 1, milliseconds: elapsed)
                state = .loggedIn
                log.line(
                    "session \(session.sessionID): operational again at \(session.portal) after \(attempt + 1) attempt(s) in \(elapsed) ms (\(cause))"
                )
                if let device = mapPath?.device { updateMapPath { policy, now in policy.loggedIn(device, at: now) } }
                return
            case .failed(let reason, let timedOut, let busy):
                if timedOut { timedOutAttempts += 1 }
                busyAnswers = busy ? busyAnswers + 1 : 0
                let line = "attempt \(attempt + 1) at \(plans[portal].portal.description) failed: \(reason)"
                if let shown = lines.failed(line, error: reason, atMilliseconds: recoveryStart.milliseconds(until: .now())) {
                    log.line("session \(session.sessionID): \(shown)")
                }
                try? session.stopForRecovery()
            }
            spentOnLastAttempt = attemptStart.milliseconds(until: .now())
            step = policy.step(afterFailedAttempt: attempt, jitter: Double.random(in: 0..<1, using: &random), busyAnswers: busyAnswers)
            attempt += 1
        }
        if let summary = lines.finished(atMilliseconds: recoveryStart.milliseconds(until: .now())) {
            log.line("session \(session.sessionID): \(summary)")
        }
        log.line("session \(session.sessionID): giving up after \(attempt) attempts; I/O fails once the replacement timeout ends")
        if let device = mapPath?.device { updateMapPath { policy, now in policy.stoppedRetrying(device, at: now) } }
    }

    /// Runs one `PathPolicy` event for this session's path and sends what it decides to the map.
    private mutating func updateMapPath(_ event: (inout PathPolicy, Int64) -> PathPolicy.Decision) {
        guard var path = mapPath else { return }
        let now = MonotonicInstant.now().nanoseconds / 1_000_000
        let decision = event(&path.policy, now)
        path.apply(decision, at: now, log: &log, session: session.sessionID)
        mapPath = path
    }

    private enum AttemptResult {
        case loggedIn
        case failed(reason: String, timedOut: Bool, busy: Bool)
    }

    /// One re-login at `plan`'s portal: first, when the boot recorded the LUN, a look at
    /// whether the target still shows that LUN (`LUNCheck`), then the kernel session's login;
    /// a LUN whose capacity changed is rescanned once the session works again.
    private mutating func attemptLogIn(_ plan: KernelSessionPlan) -> AttemptResult {
        if let obstacle = reconnectObstacle(plan) {
            return .failed(reason: "not connecting: \(obstacle)", timedOut: false, busy: false)
        }
        var resized: (was: UInt64, now: UInt64)?
        if let lunCheck {
            switch lunCheck.probe(plan) {
            case .verdict(.same(let change)):
                resized = change
            case .verdict(.different(let now)):
                return .failed(
                    reason:
                        "the target now shows another LUN \(lunCheck.lun) (\(now)); the boot's was \(lunCheck.identity); not logged in, the kernel keeps holding the writes; check the target's LUN mapping",
                    timedOut: false, busy: false)
            case .unreachable(let reason):
                return .failed(reason: reason, timedOut: false, busy: false)
            case .unchecked(let reason):
                if !lunCheckSkipped {
                    lunCheckSkipped = true
                    log.line("session \(session.sessionID): the LUN's identity was not checked before the re-login (\(reason))")
                }
            }
        }
        do {
            try session.connectAndLogIn(plan, leading: true)
        } catch {
            return .failed(reason: "\(error)", timedOut: error.isTimeout, busy: error.busyStatus != nil)
        }
        if let resized { lunCheck?.rescan(log: log, sessionID: session.sessionID, was: resized.was, now: resized.now) }
        return .loggedIn
    }

    /// The interface that holds `local`, the address the boot's connection left from (as
    /// open-iscsi binds a session to its iface); nil when rtnetlink cannot tell.
    private static func interface(holding local: SocketAddress?) -> NetworkLink? {
        guard let local, let address = IPAddress(local.host, allowingZone: true) else { return nil }
        do throws(NetworkError) {
            var netlink = try RouteNetlink()
            return try netlink.interface(holding: address)
        } catch {
            return nil
        }
    }

    /// Why `plan`'s interface cannot carry a connection to its portal now (down, no carrier,
    /// no usable address: `ReconnectReadiness`), or nil to go ahead — also when rtnetlink
    /// cannot tell, so that a failing check never stands in the way of a recovery.
    private func reconnectObstacle(_ plan: KernelSessionPlan) -> String? {
        guard let index = plan.interfaceIndex, let portal = IPAddress(plan.portal.host, allowingZone: true) else { return nil }
        do throws(NetworkError) {
            var netlink = try RouteNetlink()
            return try netlink.reconnectObstacle(interfaceIndex: index, bootName: bootInterface ?? "#\(index)", toward: portal)
        } catch {
            return nil
        }
    }

    /// Sleeps `milliseconds` while still answering `status` on the control socket.
    private mutating func wait(milliseconds: Int, control: Int32?) {
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: milliseconds)
        while !deadline.hasPassed {
            guard let control else {
                usleep(UInt32(clamping: max(0, MonotonicInstant.now().milliseconds(until: deadline)) * 1000))
                return
            }
            if (try? waitForReadable([control], deadline: deadline))?[0] == true { answerOneRequest(control) }
        }
    }

    private mutating func answerOneRequest(_ control: Int32) {
        guard let client = try? UnixSocket.accept(listening: control) else { return }
        guard client.peerUserID == 0 else {
            try? client.send(Array("\(ControlRequest.refusalPrefix) only root may talk to the supervisor\n".utf8))
            return
        }
        let text = (try? client.receiveAll(limit: 256, deadline: .now().advanced(byMilliseconds: 1000))) ?? []
        let line = String(decoding: text, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        guard let (request, budget) = ControlRequest.parse(line) else {
            try? client.send(Array("\(ControlRequest.refusalPrefix) unknown request \"\(line.prefix(64))\"\n".utf8))
            return
        }
        switch request {
        case .status:
            let answers = askPeers(.status, timeoutMilliseconds: Self.peerStatusTimeoutMilliseconds)
            let text = SupervisorStatus.combinedText(
                own: status.text, others: zip(peers, answers).map { ($0.target, $1) },
                waitedSeconds: Self.peerStatusTimeoutMilliseconds / 1000)
            try? client.send(Array((text + "\n").utf8))
        case .statusJSON:
            let answers = askPeers(.statusJSON, timeoutMilliseconds: Self.peerStatusTimeoutMilliseconds)
            let json = SupervisorStatus.combinedJSON(own: status.json, others: zip(peers, answers).map { ($0.target, $1) })
            try? client.send(Array((json.rendered() + "\n").utf8))
        case .inUse:
            try? client.send(Array((inUseAnswer + "\n").utf8))
        case .logout, .forcedLogout:
            if request == .logout {
                // Every session is asked before any logs out: a refusal must leave them all. The
                // others only when this one's disk is free (each may take up to 2 s to answer).
                let own = inUseAnswer
                let answers =
                    own.hasPrefix(ControlRequest.refusalPrefix)
                    ? [own] : [own] + askPeers(.inUse, timeoutMilliseconds: Self.peerStatusTimeoutMilliseconds).compactMap { $0 }
                if let refusal = answers.first(where: { $0.hasPrefix(ControlRequest.refusalPrefix) }) {
                    try? client.send(Array((refusal.split(separator: "\n").first.map(String.init) ?? refusal).utf8 + [0x0A]))
                    return
                }
            }
            let deadline = MonotonicInstant.now().advanced(byMilliseconds: budget ?? ControlRequest.defaultLogoutBudgetMilliseconds)
            // The other sessions first: each removes its disks and logs out in its own process,
            // within its share of what is left.
            let others: [String]
            switch Self.logOut(peers, forced: request == .forcedLogout, until: deadline) {
            case .refused(let answer):
                try? client.send(Array(answer.utf8))
                return
            case .done(let lines): others = lines
            }
            var outcome = finalLogout(until: deadline)
            state = .loggedOut
            log.line("session \(session.sessionID): \(outcome)")
            for other in others { outcome += "\n" + other }
            try? client.send(Array((outcome + "\n").utf8))
            exit(0)
        }
    }

    /// The last steps of this session, all before `deadline`: a broken connection repaired
    /// if the target answers in time (the first half of what is left), the disk removed so
    /// that the kernel flushes the target's write cache (two thirds of the rest), then the
    /// Logout. Returns the line that says what happened or what was given up on.
    private mutating func finalLogout(until deadline: MonotonicInstant) -> String {
        let target = plans[portalIndex].login.targetName ?? "the target"
        noticeConnectionErrors()
        var given: [String] = []
        if state == .recovering {
            let recoveryDeadline = MonotonicInstant.now().advanced(byMilliseconds: deadline.millisecondsSinceNow / 2)
            if let failure = recoverForLogout(until: recoveryDeadline) { given.append(failure) }
        }
        if state == .loggedIn, let disk {
            let flushDeadline = MonotonicInstant.now().advanced(byMilliseconds: deadline.millisecondsSinceNow * 2 / 3)
            let started = MonotonicInstant.now()
            if !removeDisk(disk, until: flushDeadline) {
                given.append(
                    "gave up on flushing /dev/\(disk) of \(target) after \(ShutdownBudget.seconds(started.milliseconds(until: .now())))")
            }
        }
        let logoutStart = MonotonicInstant.now()
        let outcome: String
        if state != .loggedIn {
            session.tearDown()
            outcome = "ended the session with \(target) without a logout (the connection is down)"
        } else {
            do {
                try session.logOut(timeoutMilliseconds: max(500, deadline.millisecondsSinceNow))
                outcome = "logged out of \(target) at \(session.portal)"
            } catch {
                outcome =
                    "logout of \(target) not answered within \(ShutdownBudget.seconds(logoutStart.milliseconds(until: .now()))) (\(error)); the session was ended"
            }
        }
        return ([outcome] + given).joined(separator: "; ")
    }

    /// Connection errors the kernel reported while nobody read the channel (the logout
    /// request came first): the session is then recovering, not logged in.
    private mutating func noticeConnectionErrors() {
        while let event = try? session.channel.nextEvent(deadline: .now()) {
            if case .connectionError(let sessionID, _, _) = event, sessionID == session.sessionID, state == .loggedIn {
                try? session.stopForRecovery()
                state = .recovering
            }
        }
    }

    /// Logs in again on the same session until `deadline`, each attempt bounded by what is
    /// left (the plan's login timeout at most), walking the portals; nil once logged in, else
    /// what was given up on.
    private mutating func recoverForLogout(until deadline: MonotonicInstant) -> String? {
        let started = MonotonicInstant.now()
        let target = plans[portalIndex].login.targetName ?? "the target"
        var attempts = 0
        var lastError = ""
        while deadline.millisecondsSinceNow > 200 {
            var plan = plans[portalIndex]
            plan.timeoutMilliseconds = min(plan.timeoutMilliseconds, deadline.millisecondsSinceNow)
            attempts += 1
            // The same look at the LUN first: the flush must not go to another LUN either.
            switch attemptLogIn(plan) {
            case .loggedIn:
                state = .loggedIn
                log.line(
                    "session \(session.sessionID): operational again at \(session.portal) for the logout after \(attempts) attempt(s) in \(started.milliseconds(until: .now())) ms"
                )
                return nil
            case .failed(let reason, _, _):
                lastError = reason
                try? session.stopForRecovery()
            }
            portalIndex = (portalIndex + 1) % plans.count
            usleep(UInt32(clamping: min(500, max(0, deadline.millisecondsSinceNow)) * 1000))
        }
        return
            "gave up on recovering the connection to \(target) after \(attempts) attempt(s) in \(ShutdownBudget.seconds(started.milliseconds(until: .now())))"
            + (lastError.isEmpty ? "" : " (last: \(lastError))")
    }

    /// How long `status` waits for each other session's process: one busy in a login
    /// attempt (up to the login timeout) answers only after it, and `status` must not hang.
    static let peerStatusTimeoutMilliseconds = 2000
    /// Each peer's answer to `request`, nil for one that did not answer in time. One after
    /// the other: each peer's wait is bounded, and a machine has few sessions.
    private func askPeers(_ request: ControlRequest, timeoutMilliseconds: Int) -> [String?] {
        peers.map { peer in
            let answer = try? request.send(timeoutMilliseconds: timeoutMilliseconds, to: peer.socketName)
            return answer.flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    /// What the other sessions said to a logout: one line each, or the refusal of one whose
    /// disk is mounted (a logout without `forced`), which stops the logout there.
    enum PeersLogout {
        case done([String])
        case refused(String)
    }

    /// Has every peer remove its disks and log out, one after the other, each within an
    /// equal share of what is left before `deadline`; one that does not answer in its share
    /// (stuck in a login attempt or a flush) is killed, since the caller must not wait: its
    /// kernel session, if any, is ended by the shutdown role before reboot(2). The root's
    /// supervisor at shutdown, and a boot that failed after it started the other sessions.
    static func logOut(_ peers: [Peer], forced: Bool, until deadline: MonotonicInstant) -> PeersLogout {
        var lines: [String] = []
        for (number, peer) in peers.enumerated() {
            let share = ShutdownBudget.peerShare(remainingMilliseconds: deadline.millisecondsSinceNow, peersLeft: peers.count - number)
            let line = forced ? ControlRequest.forcedLogoutLine(withinMilliseconds: share) : ControlRequest.logout.rawValue
            // The peer's own bound plus a moment for its answer to travel.
            let answer = (try? ControlRequest.send(line: line, timeoutMilliseconds: share + 300, to: peer.socketName)).flatMap {
                $0.isEmpty ? nil : $0
            }
            guard let answer else {
                kill(peer.pid, SIGKILL)
                lines.append("logout of \(peer.target) not answered within \(ShutdownBudget.seconds(share)); its process was stopped")
                continue
            }
            if answer.hasPrefix(ControlRequest.refusalPrefix) { return .refused(answer) }
            lines.append(String(answer.split(separator: "\n").first ?? ""))
        }
        return .done(lines)
    }

    /// Removes the disk from the SCSI layer before the logout, as open-iscsi does: the
    /// kernel then flushes the target's write cache (SYNCHRONIZE CACHE) while the session
    /// still works. A child process does it, because a target that dies right now would
    /// block the write until the replacement timeout and the supervisor must stay free; the
    /// logout goes ahead at `deadline` either way. A connection that breaks meanwhile is
    /// repaired within the same deadline, so that the flush can finish. Whether it did.
    private mutating func removeDisk(_ disk: String, until deadline: MonotonicInstant) -> Bool {
        switch try? forkProcess() {
        case .child:
            _ = ProcessPinning.writeExisting("1", to: "/sys/block/\(disk)/device/delete")
            _exit(0)
        case .parent(let child):
            while true {
                let slice = MonotonicInstant.now().advanced(byMilliseconds: min(200, max(0, deadline.millisecondsSinceNow)))
                if waitForExit(child, deadline: slice) != nil { return true }
                if deadline.hasPassed { return false }
                noticeConnectionErrors()
                if state == .recovering, recoverForLogout(until: deadline) != nil { return false }
            }
        case nil:
            return false
        }
    }

    /// The answer to `.inUse`, and the start of a refused logout's.
    private var inUseAnswer: String {
        deviceInUse().map { "\(ControlRequest.refusalPrefix) \($0) is in use; unmount it first or use --force" }
            ?? ControlRequest.notInUseAnswer
    }

    /// The session's disk or one of its partitions if mounted in the machine's mount
    /// namespace (PID 1's, since the supervisor has a private one without the root), or
    /// held by a device stacked on it (an md array, an LVM volume, a multipath map, LUKS:
    /// sysfs `holders`), whose filesystem is out of sight here but in use all the same.
    private func deviceInUse() -> String? {
        guard let disk else { return nil }
        let mountedSources = (readText("/proc/1/mounts") ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").first }
        let devicePath = "/dev/\(disk)"
        for source in mountedSources where source.hasPrefix(devicePath) {
            // The disk itself or one of its partitions (sda1), not another disk (sdaa).
            if source.dropFirst(devicePath.count).allSatisfy({ $0.isNumber }) { return String(source) }
        }
        for device in [disk] + directoryEntries("/sys/block/\(disk)").filter({ $0.hasPrefix(disk) }) {
            if let holder = StackedDevices.holders(of: device).first { return "/dev/\(device) (under \(holder))" }
        }
        return nil
    }

    private var status: SupervisorStatus {
        let plan = plans[portalIndex]
        // A path of the root's map runs with the timeout set through sysfs: the kernel's, as
        // the map's path got it or as multipathd in the real root rewrote it.
        var timers = plan.timers
        if mapPath != nil,
            let live = readText("/sys/class/iscsi_session/session\(session.sessionID)/recovery_tmo").flatMap({ Int($0) })
        {
            timers.replacementTimeout = live
        } else if let shortened = mapPath?.replacementTimeout {
            timers.replacementTimeout = shortened
        }
        return SupervisorStatus(
            state: state, target: plan.login.targetName ?? "-", portal: session.portal, interface: bootInterface,
            sessionID: session.sessionID,
            hostNumber: session.hostNumber, disk: disk, uptimeSeconds: started.milliseconds(until: .now()) / 1000,
            parameters: session.outcome?.parameters, timers: timers, recoveries: recoveries, lastRecovery: lastRecovery,
            path: mapPath.map { path in
                let now = MonotonicInstant.now().nanoseconds / 1_000_000
                let live = path.liveState
                return SupervisorStatus.PathInMap(
                    map: live.device ?? path.map.devicePath, state: live.state ?? "unknown (no status)", mapSummary: live.summary,
                    failures: path.failures,
                    lastSwitch: path.lastSwitch.map { "\($0.failed ? "failed" : "reinstated") \((now - $0.milliseconds) / 1000) s ago" })
            })
    }
}
