import LinuxSystem

/// The supervisor as the map's path checker, as a value: the sessions' events go in (a path's
/// connection broke, its session logged in again, time passed), the map's messages and the
/// log lines come out. No clock: callers pass monotonic milliseconds.
///
/// - A path whose connection breaks is failed in the map at once, so new I/O goes to the
///   other paths; it is reinstated as soon as its session is logged in again.
/// - A path that fails again within `flapWindowMilliseconds` of being reinstated (or of
///   joining) is flapping: it is held failed for `holdMilliseconds`, even if its session
///   logs in meanwhile, and reinstated by the first `tick` after the hold if its session is
///   up then.
/// - The map is loaded with `queue_if_no_path` (`MultipathTable`), so with no usable path I/O
///   waits. It keeps waiting while any path is being retried; `Settings.queueing` decides
///   what happens once none is (the root map: never stop, as for a single-path root).
public struct PathPolicy: Sendable {
    public struct Settings: Equatable, Sendable {
        /// A failure this soon after a reinstatement makes a path flapping. 5 s: a session
        /// logs in again within about a second of its portal coming back, so a path that
        /// survives 5 s carried I/O for several seconds.
        public var flapWindowMilliseconds: Int64
        /// How long a flapping path is held failed. 30 s: long enough for a port that bounces
        /// to settle, short enough that a path that is back for good soon carries I/O again.
        public var holdMilliseconds: Int64
        public var queueing: QueueingEnd

        public init(flapWindowMilliseconds: Int64 = 5_000, holdMilliseconds: Int64 = 30_000, queueing: QueueingEnd = .never) {
            self.flapWindowMilliseconds = flapWindowMilliseconds
            self.holdMilliseconds = holdMilliseconds
            self.queueing = queueing
        }
    }

    /// When queueing ends. It never ends while a path is still retried.
    public enum QueueingEnd: Equatable, Sendable {
        /// The root map: I/O waits for as long as the machine runs.
        case never
        /// I/O fails once no path is retried any more (every session gave up or was removed).
        case whenNoPathIsRetried
    }

    public enum PathState: Equatable, Sendable {
        /// In use; `cameBack` is when it was last reinstated or joined the map (nil for a
        /// path the map was loaded with, which cannot flap before it failed once).
        case active(cameBack: Int64?)
        /// Failed in the map, its session being retried.
        case failed(since: Int64)
        /// Failed in the map for flapping until `until`; `loggedIn` says whether its session
        /// is up again.
        case held(until: Int64, loggedIn: Bool)
        /// Failed in the map, its session no longer retried.
        case abandoned
    }

    public enum Action: Equatable, Sendable {
        /// A DM_TARGET_MSG to the map.
        case send(MultipathMessage)
        /// Reload the map with `paths`, which now include this one (it is active).
        case addToMap(DeviceNumber)
    }

    /// What one event asks for: the actions in order, and lines for the log.
    public struct Decision: Equatable, Sendable {
        public var actions: [Action] = []
        public var log: [String] = []
    }

    public let settings: Settings
    /// The map's paths, in table order.
    public private(set) var paths: [DeviceNumber]
    private var states: [PathState]
    /// Whether the map queues I/O when no path is usable, as the actions have left it.
    public private(set) var isQueueing = true

    /// A policy for a map just loaded with `paths` (all active) and `queue_if_no_path`.
    public init(paths: [DeviceNumber], settings: Settings = Settings()) {
        self.settings = settings
        self.paths = paths
        states = paths.map { _ in .active(cameBack: nil) }
    }

    public func state(of path: DeviceNumber) -> PathState? { paths.firstIndex(of: path).map { states[$0] } }

    /// When `tick` next has something to do (the earliest end of a hold), if ever.
    public var nextDeadline: Int64? {
        states.compactMap { (state: PathState) -> Int64? in
            if case .held(let until, _) = state { return until }
            return nil
        }.min()
    }

    /// The path's connection broke (a connection error, or NOP-Out found it dead).
    public mutating func connectionFailed(_ path: DeviceNumber, at now: Int64) -> Decision {
        var decision = Decision()
        guard let index = paths.firstIndex(of: path) else { return decision }
        switch states[index] {
        case .active(let cameBack?) where now - cameBack < settings.flapWindowMilliseconds:
            states[index] = .held(until: now + settings.holdMilliseconds, loggedIn: false)
            decision.actions.append(.send(.failPath(path)))
            decision.log.append(
                "path \(path) failed again \(now - cameBack) ms after it came back: held failed for \(settings.holdMilliseconds) ms (flapping); "
                    + usableSummary)
        case .active:
            states[index] = .failed(since: now)
            decision.actions.append(.send(.failPath(path)))
            decision.log.append("path \(path) failed: \(usableSummary)")
        case .held(let until, true):
            states[index] = .held(until: until, loggedIn: false)
        case .failed, .held, .abandoned:
            break
        }
        reconcileQueueing(&decision)
        return decision
    }

    /// The path's session is logged in (again), or a new path's session is, which joins the map.
    public mutating func loggedIn(_ path: DeviceNumber, at now: Int64) -> Decision {
        var decision = Decision()
        guard let index = paths.firstIndex(of: path) else {
            paths.append(path)
            states.append(.active(cameBack: now))
            reconcileQueueing(&decision)
            decision.actions.append(.addToMap(path))
            decision.log.append("path \(path) joins the map: \(usableSummary)")
            return decision
        }
        switch states[index] {
        case .active:
            break
        case .held(let until, _) where now < until:
            states[index] = .held(until: until, loggedIn: true)
            decision.log.append("path \(path) is logged in again but held failed for \(until - now) ms more (flapping)")
        case .failed, .held, .abandoned:
            states[index] = .active(cameBack: now)
            reconcileQueueing(&decision)
            decision.actions.append(.send(.reinstatePath(path)))
            decision.log.append("path \(path) reinstated: \(usableSummary)")
        }
        return decision
    }

    /// The supervisor stopped retrying the path's session (it gave up, or the path was
    /// removed): the path stays failed and no longer keeps the map queueing.
    public mutating func stoppedRetrying(_ path: DeviceNumber, at now: Int64) -> Decision {
        var decision = Decision()
        guard let index = paths.firstIndex(of: path) else { return decision }
        guard states[index] != .abandoned else { return decision }
        if case .active = states[index] { decision.actions.append(.send(.failPath(path))) }
        states[index] = .abandoned
        reconcileQueueing(&decision)
        decision.log.insert("path \(path) is no longer retried: \(usableSummary)", at: 0)
        return decision
    }

    /// Time passed: holds that ended release their paths.
    public mutating func tick(at now: Int64) -> Decision {
        var decision = Decision()
        for index in states.indices {
            guard case .held(let until, let loggedIn) = states[index], now >= until else { continue }
            if loggedIn {
                states[index] = .active(cameBack: now)
                decision.actions.append(.send(.reinstatePath(paths[index])))
                decision.log.append("path \(paths[index]) reinstated after its hold: \(usableSummary)")
            } else {
                states[index] = .failed(since: now)
                decision.log.append("path \(paths[index]): hold ended; it is reinstated when its session logs in")
            }
        }
        return decision
    }

    /// Queueing is on while any path is usable or retried; only `QueueingEnd.whenNoPathIsRetried`
    /// turns it off, once every path is abandoned.
    private mutating func reconcileQueueing(_ decision: inout Decision) {
        let allAbandoned = states.allSatisfy { $0 == .abandoned }
        let shouldQueue = settings.queueing == .never || !allAbandoned
        guard shouldQueue != isQueueing else { return }
        isQueueing = shouldQueue
        decision.actions.append(.send(shouldQueue ? .queueIfNoPath : .failIfNoPath))
        decision.log.append(
            shouldQueue ? "a path is retried again: I/O waits while no path is usable" : "no path is retried any more: I/O fails")
    }

    private var usableSummary: String {
        let usable = states.filter { if case .active = $0 { true } else { false } }.count
        switch usable {
        case 0: return isQueueing ? "no usable path, I/O waits while the paths are retried" : "no usable path"
        case 1: return "1 usable path"
        default: return "\(usable) usable paths"
        }
    }
}
