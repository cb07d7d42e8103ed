#if canImport(Glibc)
    import Glibc
#endif
import BootConfig
import CShims
import ISCSI
import KernelSession
import LinuxSystem
import Reports

/// A session the boot does not wait for (every target after the root's): a pinned process
/// of its own, forked by `/init` before the root's login so that all logins start together.
/// It logs in (walking the target's portals, round after round with `retryDelayMilliseconds`
/// between rounds, for as long as the machine runs), then supervises its session like the
/// root's supervisor, on a session socket of its own that only the supervisor on the
/// control socket asks (`ControlRequest.sessionSocketName`). The kernel keeps a session
/// whatever process built it, so nothing is handed over: this process owns its session
/// from the first login to the last logout, and its recoveries never wait for another's.
enum SessionProcess {
    /// The wait after failed round `round` (0-based) of a session still coming up: 1, 2, 4,
    /// 8 s, then 10 s, each ±25 % (`jitter` in 0..<1) so that machines booted together do
    /// not knock in step. Capped low: a target that appears is joined within about 10 s,
    /// and an attempt every 10 s costs a refused connection or one login exchange.
    static func retryDelayMilliseconds(afterFailedRound round: Int, jitter: Double) -> Int {
        let base = min(10_000, 1000 << min(max(round, 0), 4))
        return Int(Double(base) * (0.75 + 0.5 * min(max(jitter, 0), 0.999_999)))
    }

    /// What `status` shows for a session not logged in yet.
    struct Pending {
        var target: String
        var portals: [String]
        var attempts: Int
        var seconds: Int
        var lastError: String

        var text: String {
            "session to \(target): coming up (not logged in yet), \(attempts) attempt(s) in \(seconds) s at "
                + portals.joined(separator: ", ") + "\nlast error \(lastError.isEmpty ? "-" : lastError)"
        }

        var json: JSON {
            .object([
                ("state", .string("coming up")),
                ("target", .string(target)),
                ("portals", .array(portals.map { .string($0) })),
                ("attempts", .number(attempts)),
                ("seconds", .number(seconds)),
                ("lastError", lastError.isEmpty ? .null : .string(lastError)),
            ])
        }
    }

    /// Forks the process for session `index` of the boot and returns its pid; nil (and a
    /// log line) when fork(2) failed: the boot goes on without that session. In hook mode
    /// (`detachFromHook`) the child leaves the hook's session and standard streams, as the
    /// supervisor does (`BootSequence.detachFromHook`).
    static func start(
        index: Int, target: TargetPlan, plans: [KernelSessionPlan], initiatorName: String, detachFromHook: Bool,
        rootMapPathTimeout: Int? = nil, log: inout BootLog
    ) -> pid_t? {
        switch try? forkProcess() {
        case .child:
            if detachFromHook { BootSequence.detachFromHook() }
            var log = log
            run(
                index: index, target: target, plans: plans, initiatorName: initiatorName, hookMode: detachFromHook,
                rootMapPathTimeout: rootMapPathTimeout, log: &log)
        case .parent(let child):
            return child
        case nil:
            log.line("warning: no process for the session to \(target.name.value) (\(SystemError("fork"))); it is not logged in")
            return nil
        }
    }

    private static func run(
        index: Int, target: TargetPlan, plans: [KernelSessionPlan], initiatorName: String, hookMode: Bool, rootMapPathTimeout: Int?,
        log: inout BootLog
    ) -> Never {
        let name = target.name.value
        for problem in ProcessPinning.pin(omitName: "iscsi-root-session-\(index)") { log.line("sessions: \(name): \(problem)") }
        // Forked before the root is mounted: the private copy never holds it, and keeps
        // /proc, /sys and /dev usable after the switch to the real root.
        if let problem = BootSequence.takePrivateMounts(hookMode: hookMode, detaching: nil) {
            log.line("sessions: \(name): private mounts: \(problem)")
        }
        nice(10)
        let socketName = ControlRequest.sessionSocketName(index: index)
        let control: Int32?
        do {
            control = try UnixSocket.listen(abstractName: socketName).releaseDescriptor()
        } catch {
            log.line("sessions: \(name): no session socket (\(error)); status will not show it")
            control = nil
        }
        let start = MonotonicInstant.now()
        var pending = Pending(target: name, portals: plans.map { $0.portal.description }, attempts: 0, seconds: 0, lastError: "")
        var lines = RecoveryLogLimiter()
        var random = SystemRandomNumberGenerator()
        var round = 0
        while true {
            for plan in plans {
                let session: KernelSession
                do throws(KernelSessionError) {
                    let handle: UInt64
                    do { handle = try KernelChannel.tcpTransportHandle() } catch { throw .kernel(.system(error)) }
                    let channel: KernelChannel
                    do { channel = try KernelChannel(transportHandle: handle) } catch { throw .kernel(.system(error)) }
                    session = try KernelSession.establish(plan, channel: channel)
                } catch {
                    pending.attempts += 1
                    pending.lastError = "\(plan.portal.description): \(error)"
                    let line =
                        "sessions: \(name) at \(plan.portal.description): attempt \(pending.attempts) failed: \(error); trying again in the background"
                    if let shown = lines.failed(line, error: "\(error)", atMilliseconds: start.milliseconds(until: .now())) {
                        log.line(shown.hasPrefix("sessions: ") ? shown : "sessions: \(name): \(shown)")
                    }
                    continue
                }
                supervise(
                    session, index: index, target: target, plans: plans, using: plan, initiatorName: initiatorName,
                    attempts: pending.attempts + 1, start: start, control: control, rootMapPathTimeout: rootMapPathTimeout, log: &log)
            }
            let delay = retryDelayMilliseconds(afterFailedRound: round, jitter: Double.random(in: 0..<1, using: &random))
            round += 1
            serve(control, pending: &pending, start: start, forMilliseconds: delay, log: &log)
        }
    }

    /// Answers the session socket while waiting for the next round: status as `Pending`; a
    /// logout ends the process (nothing to log out of).
    private static func serve(
        _ control: Int32?, pending: inout Pending, start: MonotonicInstant, forMilliseconds wait: Int, log: inout BootLog
    ) {
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: wait)
        guard let control else {
            usleep(UInt32(clamping: wait * 1000))
            return
        }
        while !deadline.hasPassed {
            guard (try? waitForReadable([control], deadline: deadline))?[0] == true,
                let client = try? UnixSocket.accept(listening: control)
            else { continue }
            let text = (try? client.receiveAll(limit: 256, deadline: .now().advanced(byMilliseconds: 1000))) ?? []
            let line = String(decoding: text, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            pending.seconds = start.milliseconds(until: .now()) / 1000
            switch ControlRequest.parse(line)?.request {
            case .status: try? client.send(Array((pending.text + "\n").utf8))
            case .inUse: try? client.send(Array((ControlRequest.notInUseAnswer + "\n").utf8))
            case .statusJSON: try? client.send(Array((pending.json.rendered() + "\n").utf8))
            case .logout, .forcedLogout:
                let answer = "not logged in to \(pending.target) (still coming up after \(pending.attempts) attempt(s)); stopped trying"
                try? client.send(Array((answer + "\n").utf8))
                log.line("sessions: \(answer)")
                exit(0)
            case nil:
                try? client.send(Array("\(ControlRequest.refusalPrefix) unknown request \"\(line.prefix(64))\"\n".utf8))
            }
        }
    }

    /// The session is up: its disks found, then the same supervision as the root's, on the
    /// session socket.
    private static func supervise(
        _ session: consuming KernelSession, index: Int, target: TargetPlan, plans: [KernelSessionPlan], using plan: KernelSessionPlan,
        initiatorName: String, attempts: Int, start: MonotonicInstant, control: Int32?, rootMapPathTimeout: Int?, log: inout BootLog
    ) -> Never {
        try? session.scanHost()
        // The disks appear a moment after the scan; bounded, the session is supervised either way.
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: 10_000)
        var disks = RootFilesystem.disks(ofHost: session.hostNumber)
        while disks.isEmpty && !deadline.hasPassed {
            usleep(50_000)
            disks = RootFilesystem.disks(ofHost: session.hostNumber)
        }
        for disk in disks { _ = RootFilesystem.raiseCommandTimeout(of: disk) }
        let wanted = target.lun.value?.number
        let disk = disks.first { $0.lun == wanted } ?? disks.first
        log.line(
            "sessions: \(target.name.value) at \(plan.portal.description) logged in as \(initiatorName), session \(session.sessionID) (host\(session.hostNumber)), "
                + "disk(s) \(disks.isEmpty ? "none yet" : disks.map { "/dev/\($0.name) (LUN \($0.lun))" }.joined(separator: " ")); "
                + "attempt \(attempts), \(start.milliseconds(until: .now())) ms after the boot started it")
        var pathDisk = disk?.name
        let mapPath = rootMapPathTimeout.flatMap { timeout in
            joinRootMap(
                session: session.sessionID, hostNumber: session.hostNumber, portal: plan.portal.description, replacementTimeout: timeout,
                disk: &pathDisk, log: &log)
        }
        // The session socket moves to the supervisor, which listens on it again.
        if let control { close(control) }
        let ordered = [plan] + plans.filter { $0.portal.description != plan.portal.description }
        SessionSupervisor(
            session: session, plans: ordered, disk: pathDisk, log: log, socketName: ControlRequest.sessionSocketName(index: index),
            mapPath: mapPath
        ).run()
    }

    /// How long a path waits for the boot to build the root's map: the root's login came
    /// first, and the map follows the root's disk within seconds, or the boot failed.
    static let rootMapWaitMilliseconds = 300_000

    /// A path of the root's map, logged in: waits for the map, finds this session's disk of
    /// the map's LUN, checks that it is the same LUN (VPD 0x83) and adds it to the map. Nil,
    /// with a line saying why, when it does not join: the session is supervised either way.
    private static func joinRootMap(
        session: UInt32, hostNumber: UInt32, portal: String, replacementTimeout: Int, disk: inout String?, log: inout BootLog
    ) -> MapPath? {
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: rootMapWaitMilliseconds)
        var record = RootMap.recorded()
        while record == nil && !deadline.hasPassed {
            usleep(100_000)
            record = RootMap.recorded()
        }
        let map: RootMap
        switch record {
        case .map(let recorded): map = recorded
        case .noMap:
            log.line(
                "sessions: path at \(portal): the root's LUN has no usable identifier, so no multipath map (see the boot's warning); not joined"
            )
            return nil
        case nil:
            log.line("sessions: path at \(portal): no multipath map of the root after \(rootMapWaitMilliseconds / 1000) s; not joined")
            return nil
        }
        let diskDeadline = MonotonicInstant.now().advanced(byMilliseconds: 10_000)
        var found = RootFilesystem.disks(ofHost: hostNumber).first { $0.lun == map.lun }
        while found == nil && !diskDeadline.hasPassed {
            usleep(50_000)
            found = RootFilesystem.disks(ofHost: hostNumber).first { $0.lun == map.lun }
        }
        guard let found, let device = RootMap.deviceNumber(of: found.name) else {
            log.line("sessions: path at \(portal): no disk for LUN \(map.lun) within 10 s; not joined to \(map.name)")
            return nil
        }
        disk = found.name
        switch LUNCheck.identity(ofDisk: found.name) {
        case .failure(let problem):
            log.line("sessions: path at \(portal): \(problem); not joined to \(map.name): a path must prove it leads to the same LUN")
            return nil
        case .success(let identity) where identity.wwid != map.name:
            log.line(
                "sessions: path at \(portal): LUN \(map.lun) (\(found.name)) is \(identity.wwid ?? identity.description), the root's map is \(map.name): "
                    + "not joined (the paths lead to different LUNs; check the target's LUN mapping on each portal)")
            return nil
        case .success:
            break
        }
        var path = MapPath(map: map, device: device, disk: found.name, replacementTimeout: replacementTimeout)
        if let problem = map.add(device) {
            log.line("sessions: path at \(portal): \(found.name) (\(device)) not added to \(map.name): \(problem)")
            return nil
        }
        if let problem = path.shortenReplacementTimeout(sessionID: session) {
            log.line("sessions: path at \(portal): \(problem)")
            path.replacementTimeout = nil
        }
        log.line("sessions: path at \(portal): \(found.name) (\(device)) joins \(map.name)" + (path.summary.map { ": \($0)" } ?? ""))
        return path
    }
}
