import BootConfig
import ISCSI
import KernelSession
import Reports
import Testing

@testable import Agent

@Suite struct SessionProcessTests {
    /// A session still coming up waits 1, 2, 4, 8 s between rounds, then 10 s for good,
    /// each within ±25 %.
    @Test func retryDelaysGrowThenStayAtTenSeconds() {
        let middle = (0..<8).map { SessionProcess.retryDelayMilliseconds(afterFailedRound: $0, jitter: 0.5) }
        #expect(middle == [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000])
        #expect(SessionProcess.retryDelayMilliseconds(afterFailedRound: 0, jitter: 0) == 750)
        #expect(SessionProcess.retryDelayMilliseconds(afterFailedRound: 1000, jitter: 0.999) == 12_495)
        // Out-of-range input stays within the bounds.
        #expect(SessionProcess.retryDelayMilliseconds(afterFailedRound: -3, jitter: -1) == 750)
        #expect(SessionProcess.retryDelayMilliseconds(afterFailedRound: Int.max, jitter: 7) == 12_499)
    }

    /// A target's session keeps today's ISID (type 10, random format) on every boot; in
    /// hook mode each portal is a path's session with an ISID of its own, also the same on
    /// every boot: a second path's login must not replace the first path's session.
    @Test func everyPathHasAnISIDOfItsOwn() throws {
        let initiator = "iqn.2024-01.org.iscsi-root.test:client"
        let target = "iqn.2024-01.org.iscsi-root.test:distro"
        let whole = BootSequence.isid(initiatorName: initiator, target: target)
        let first = BootSequence.isid(initiatorName: initiator, target: target, portal: Portal(host: "10.0.2.2", port: 3260))
        let second = BootSequence.isid(initiatorName: initiator, target: target, portal: Portal(host: "10.0.2.100", port: 3260))
        #expect(whole == [0x80, 0x8A, 0xC9, 0x08, 0x9C, 0xE1])
        #expect(Set([whole, first, second]).count == 3)
        for isid in [whole, first, second] {
            #expect(isid.count == 6 && isid[0] == 0x80)
        }
        #expect(second == BootSequence.isid(initiatorName: initiator, target: target, portal: Portal(host: "10.0.2.100", port: 3260)))
        // Another port is another path.
        #expect(second != BootSequence.isid(initiatorName: initiator, target: target, portal: Portal(host: "10.0.2.100", port: 3261)))
    }

    /// What status shows for a session not logged in yet: target, portals, attempts, time,
    /// and the last error.
    @Test func pendingSessionStatus() throws {
        let pending = SessionProcess.Pending(
            target: "iqn.2024-01.example:data", portals: ["10.0.2.2:3260", "10.0.3.2:3260"], attempts: 3, seconds: 7,
            lastError: "10.0.2.2:3260: login failed: target not found (0x0203)")
        #expect(
            pending.text
                == "session to iqn.2024-01.example:data: coming up (not logged in yet), 3 attempt(s) in 7 s at 10.0.2.2:3260, 10.0.3.2:3260\nlast error 10.0.2.2:3260: login failed: target not found (0x0203)"
        )
        let json = try JSON.read(pending.json.rendered())
        #expect(json["state"] == .string("coming up"))
        #expect(json["attempts"] == .number(3))
        #expect(json["lastError"] == .string("10.0.2.2:3260: login failed: target not found (0x0203)"))
        let fresh = SessionProcess.Pending(target: "t", portals: ["p"], attempts: 0, seconds: 0, lastError: "")
        #expect(fresh.text.hasSuffix("\nlast error -"))
        #expect(try JSON.read(fresh.json.rendered())["lastError"] == .null)
    }
}

@Suite struct CombinedStatusTests {
    static let root = HookModeTests.status
    static let data = SupervisorStatus(
        state: .recovering, target: "iqn.2024-01.example:data", portal: "10.0.2.2:3260", interface: nil, sessionID: 4, hostNumber: 13,
        disk: "sdb", uptimeSeconds: 2, parameters: nil, timers: SessionTimers(replacementTimeout: 120, noopInterval: 5, noopTimeout: 5),
        recoveries: 1, lastRecovery: nil)

    /// One session: the answer is exactly what it was before there were several.
    @Test func oneSessionIsUnchanged() {
        #expect(SupervisorStatus.combinedJSON(own: Self.root.json, others: []) == Self.root.json)
        #expect(SupervisorStatus.combinedText(own: Self.root.text, others: [], waitedSeconds: 2) == Self.root.text)
    }

    /// Several: the root's members stay at the top (hook mode still reads its target and
    /// host), and `sessions` lists every session, the silent one as "not answering".
    @Test func everySessionIsListedAndHookModeStillReadsTheRoot() throws {
        let combined = SupervisorStatus.combinedJSON(
            own: Self.root.json,
            others: [
                ("iqn.2024-01.example:data", Self.data.json.rendered() + "\n"), ("iqn.2024-01.example:late", nil),
                ("iqn.2024-01.example:garbled", "{not json"),
            ])
        let rendered = combined.rendered()
        #expect(RunningSession(statusJSON: rendered) == RunningSession(target: "iqn.2024-01.example:root1", hostNumber: 12))
        let read = try JSON.read(rendered)
        guard case .array(let sessions)? = read["sessions"] else {
            Issue.record("no sessions in \(rendered)")
            return
        }
        #expect(sessions.count == 4)
        #expect(sessions[0]["target"] == .string("iqn.2024-01.example:root1"))
        #expect(sessions[1]["state"] == .string("recovering") && sessions[1]["disk"] == .string("/dev/sdb"))
        #expect(sessions[1]["recoveries"] == .number(1))
        #expect(sessions[0]["interface"] == .string("eth0") && sessions[1]["interface"] == .null)
        #expect(sessions[2]["state"] == .string("not answering") && sessions[2]["target"] == .string("iqn.2024-01.example:late"))
        #expect(sessions[3]["state"] == .string("not answering"))
    }

    @Test func textListsEverySession() {
        let text = SupervisorStatus.combinedText(
            own: Self.root.text, others: [("iqn.2024-01.example:data", Self.data.text + "\n"), ("iqn.2024-01.example:late", nil)],
            waitedSeconds: 2)
        #expect(text.hasPrefix(Self.root.text + "\n\n" + Self.data.text + "\n\n"))
        // The interface every reconnect is bound to, when the supervisor found it.
        #expect(Self.root.text.contains("\ntarget   iqn.2024-01.example:root1 at 10.0.2.2:3260 via eth0\n"))
        #expect(Self.data.text.contains("\ntarget   iqn.2024-01.example:data at 10.0.2.2:3260\n"))
        #expect(text.hasSuffix("session to iqn.2024-01.example:late: no answer within 2 s (busy in a login attempt; ask again)"))
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("session ") }.count == 3)
    }
}
