import LinuxSystem
import Testing

@testable import Multipath

private let pathA = DeviceNumber(major: 8, minor: 16)
private let pathB = DeviceNumber(major: 8, minor: 32)
private let pathC = DeviceNumber(major: 8, minor: 48)

/// Deterministic pseudo-random values for the property tests (Marsaglia's xorshift64 with
/// Vigna's multiplier), so that a failure reproduces from its seed.
struct XorShift: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed | 1 }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

@Suite struct PathPolicyTests {
    @Test func aBrokenPathIsFailedAtOnceAndReinstatedWhenLoggedIn() {
        var policy = PathPolicy(paths: [pathA, pathB])
        let failure = policy.connectionFailed(pathB, at: 10_000)
        #expect(failure.actions == [.send(.failPath(pathB))])
        #expect(failure.log == ["path 8:32 failed: 1 usable path"])
        #expect(policy.connectionFailed(pathB, at: 10_100).actions.isEmpty, "already failed")
        let back = policy.loggedIn(pathB, at: 11_200)
        #expect(back.actions == [.send(.reinstatePath(pathB))])
        #expect(back.log == ["path 8:32 reinstated: 2 usable paths"])
        #expect(policy.loggedIn(pathB, at: 11_300).actions.isEmpty, "already active")
    }

    /// The paths the map was loaded with have not come back from anything: a failure
    /// right after the load is a plain failure.
    @Test func aFirstFailureSoonAfterTheLoadIsNotFlapping() {
        var policy = PathPolicy(paths: [pathA, pathB])
        _ = policy.connectionFailed(pathA, at: 100)
        #expect(policy.state(of: pathA) == .failed(since: 100))
    }

    @Test func aPathFailingAgainSoonAfterComingBackIsHeld() {
        var policy = PathPolicy(paths: [pathA, pathB])
        _ = policy.connectionFailed(pathB, at: 10_000)
        _ = policy.loggedIn(pathB, at: 11_000)
        let again = policy.connectionFailed(pathB, at: 13_000)
        #expect(again.actions == [.send(.failPath(pathB))])
        #expect(again.log == ["path 8:32 failed again 2000 ms after it came back: held failed for 30000 ms (flapping); 1 usable path"])
        #expect(policy.state(of: pathB) == .held(until: 43_000, loggedIn: false))
        #expect(policy.nextDeadline == 43_000)
        let early = policy.loggedIn(pathB, at: 14_000)
        #expect(early.actions.isEmpty)
        #expect(early.log == ["path 8:32 is logged in again but held failed for 29000 ms more (flapping)"])
        #expect(policy.tick(at: 42_999).actions.isEmpty)
        let released = policy.tick(at: 43_000)
        #expect(released.actions == [.send(.reinstatePath(pathB))])
        #expect(policy.state(of: pathB) == .active(cameBack: 43_000) && policy.nextDeadline == nil)
    }

    @Test func aHoldThatEndsWhileTheSessionIsDownLeavesThePathFailed() {
        var policy = PathPolicy(
            paths: [pathA, pathB], settings: PathPolicy.Settings(flapWindowMilliseconds: 1_000, holdMilliseconds: 5_000))
        _ = policy.connectionFailed(pathA, at: 0)
        _ = policy.loggedIn(pathA, at: 2_000)
        _ = policy.connectionFailed(pathA, at: 2_500)
        _ = policy.loggedIn(pathA, at: 3_000)
        _ = policy.connectionFailed(pathA, at: 4_000)  // down again during the hold
        #expect(policy.state(of: pathA) == .held(until: 7_500, loggedIn: false))
        let ended = policy.tick(at: 8_000)
        #expect(ended.actions.isEmpty && policy.state(of: pathA) == .failed(since: 8_000))
        #expect(policy.loggedIn(pathA, at: 9_000).actions == [.send(.reinstatePath(pathA))])
    }

    @Test func aNewPathJoinsTheMap() {
        var policy = PathPolicy(paths: [pathA])
        let joined = policy.loggedIn(pathB, at: 5_000)
        #expect(joined.actions == [.addToMap(pathB)])
        #expect(joined.log == ["path 8:32 joins the map: 2 usable paths"])
        #expect(policy.paths == [pathA, pathB])
        #expect(policy.connectionFailed(pathC, at: 5_100) == PathPolicy.Decision(), "a path outside the map is not ours")
    }

    @Test func theRootMapQueuesForEver() {
        var policy = PathPolicy(paths: [pathA, pathB])
        #expect(policy.connectionFailed(pathA, at: 1).actions == [.send(.failPath(pathA))])
        let last = policy.connectionFailed(pathB, at: 2)
        #expect(last.log == ["path 8:32 failed: no usable path, I/O waits while the paths are retried"])
        #expect(policy.stoppedRetrying(pathA, at: 3).actions.isEmpty)
        #expect(policy.stoppedRetrying(pathB, at: 4).actions.isEmpty)
        #expect(policy.isQueueing)
    }

    @Test func queueingEndsWhenNoPathIsRetriedIfTheSettingsSaySo() {
        var policy = PathPolicy(paths: [pathA, pathB], settings: PathPolicy.Settings(queueing: .whenNoPathIsRetried))
        _ = policy.connectionFailed(pathA, at: 1)
        #expect(policy.stoppedRetrying(pathA, at: 2).actions.isEmpty)
        let last = policy.stoppedRetrying(pathB, at: 3)
        #expect(last.actions == [.send(.failPath(pathB)), .send(.failIfNoPath)])
        #expect(last.log == ["path 8:32 is no longer retried: no usable path", "no path is retried any more: I/O fails"])
        #expect(!policy.isQueueing)
        #expect(policy.loggedIn(pathA, at: 4).actions == [.send(.queueIfNoPath), .send(.reinstatePath(pathA))])
    }

    /// Random event sequences over three paths, checked against a model of the map built
    /// from the actions alone: no failPath for a path the map already failed, no reinstatement
    /// of an active path nor of a held one before its hold ends, and queueing whenever a path
    /// is being retried.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomEventSequencesKeepTheInvariants(seed: UInt64) {
        var generator = XorShift(seed: seed)
        let queueing: PathPolicy.QueueingEnd = seed % 2 == 0 ? .never : .whenNoPathIsRetried
        var policy = PathPolicy(
            paths: [pathA, pathB],
            settings: PathPolicy.Settings(flapWindowMilliseconds: 2_000, holdMilliseconds: 6_000, queueing: queueing))
        var mapActive: [DeviceNumber: Bool] = [pathA: true, pathB: true]
        var mapQueues = true
        var now: Int64 = 0
        for step in 0..<3_000 {
            now += Int64.random(in: 0...1_500, using: &generator)
            let path = [pathA, pathB, pathC].randomElement(using: &generator)!
            let before = policy.state(of: path)
            let decision: PathPolicy.Decision
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<4: decision = policy.connectionFailed(path, at: now)
            case 4..<8: decision = policy.loggedIn(path, at: now)
            case 8: decision = policy.tick(at: now)
            default: decision = policy.stoppedRetrying(path, at: now)
            }
            for action in decision.actions {
                switch action {
                case .send(.failPath(let failed)):
                    #expect(mapActive[failed] == true, "step \(step): fail_path \(failed) for a path the map already failed")
                    mapActive[failed] = false
                case .send(.reinstatePath(let reinstated)):
                    #expect(mapActive[reinstated] == false, "step \(step): reinstate_path \(reinstated) for an active path")
                    if reinstated == path, case .held(let until, _) = before {
                        #expect(now >= until, "step \(step): held path \(reinstated) reinstated \(until - now) ms early")
                    }
                    mapActive[reinstated] = true
                case .addToMap(let added):
                    #expect(mapActive[added] == nil, "step \(step): \(added) added twice")
                    mapActive[added] = true
                case .send(.queueIfNoPath): mapQueues = true
                case .send(.failIfNoPath): mapQueues = false
                }
            }
            let retried = policy.paths.contains { policy.state(of: $0) != .abandoned }
            #expect(!retried || mapQueues, "step \(step): a path is retried but the map does not queue")
            #expect(mapQueues == policy.isQueueing)
            for known in policy.paths {
                let active: Bool
                if case .active = policy.state(of: known) { active = true } else { active = false }
                #expect(mapActive[known] == active, "step \(step): the policy and the map disagree on \(known)")
            }
        }
    }
}
