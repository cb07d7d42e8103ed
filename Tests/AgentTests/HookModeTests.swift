import ISCSI
import KernelSession
import Testing

@testable import Agent

@Suite struct HookModeTests {
    /// `login` in a retry loop recognises its own supervisor from the `status` text.
    @Test func runningSessionIsReadFromTheSupervisorsStatusText() {
        let status = SupervisorStatus(
            state: .loggedIn, target: "iqn.2024-01.example:root1", portal: "10.0.2.2:3260", sessionID: 3, hostNumber: 12,
            disk: "sda", uptimeSeconds: 4, parameters: nil, timers: SessionTimers(replacementTimeout: 120, noopInterval: 5, noopTimeout: 5),
            recoveries: 0, lastRecovery: nil)
        #expect(RunningSession(statusText: status.text) == RunningSession(target: "iqn.2024-01.example:root1", hostNumber: 12))
    }

    @Test func unreadableStatusIsNoSession() {
        #expect(RunningSession(statusText: "refused: only root may talk to the supervisor\n") == nil)
        #expect(RunningSession(statusText: "") == nil)
    }
}
