import Testing

@testable import Agent

@Suite struct ShutdownBudgetTests {
    /// The unmount gets half of `iscsi.shutdown_timeout=`, the forced logout ends 2.3 s
    /// before the bound (the shutdown role's reserve and its margin for the answer).
    @Test func splitOfTheBound() {
        let short = ShutdownBudget(boundSeconds: 10)
        #expect(short.unmountMilliseconds == 5000)
        #expect(short.logoutEndMilliseconds == 7700)
        let normal = ShutdownBudget(boundSeconds: 30)
        #expect(normal.unmountMilliseconds == 15_000)
        #expect(normal.logoutEndMilliseconds == 27_700)
        // The smallest bound the parameter allows still leaves the logout its turn.
        let smallest = ShutdownBudget(boundSeconds: 5)
        #expect(smallest.logoutEndMilliseconds >= smallest.unmountMilliseconds)
        #expect(smallest.logoutEndMilliseconds + ShutdownBudget.answerMarginMilliseconds + ShutdownBudget.reserveMilliseconds <= 5000)
    }

    /// Each other session gets an equal part of what is left, the root's session the rest.
    @Test func peerShares() {
        #expect(ShutdownBudget.peerShare(remainingMilliseconds: 9000, peersLeft: 2) == 3000)
        #expect(ShutdownBudget.peerShare(remainingMilliseconds: 6000, peersLeft: 1) == 3000)
        #expect(ShutdownBudget.peerShare(remainingMilliseconds: -5, peersLeft: 1) == 0)
        #expect(ShutdownBudget.peerShare(remainingMilliseconds: 1000, peersLeft: -1) == 1000)
    }

    @Test func secondsForTheConsole() {
        #expect(ShutdownBudget.seconds(0) == "0.0 s")
        #expect(ShutdownBudget.seconds(1949) == "1.9 s")
        #expect(ShutdownBudget.seconds(1950) == "2.0 s")
        #expect(ShutdownBudget.seconds(-10) == "0.0 s")
    }

    /// The forced logout carries its budget; anything else after `--within` is refused.
    @Test func forcedLogoutLine() {
        let line = ControlRequest.forcedLogoutLine(withinMilliseconds: 7400)
        #expect(line == "logout --force --within 7400")
        #expect(ControlRequest.parse(line)?.request == .forcedLogout)
        #expect(ControlRequest.parse(line)?.budgetMilliseconds == 7400)
        #expect(ControlRequest.parse("logout --force")?.budgetMilliseconds == nil)
        #expect(ControlRequest.parse("status")?.request == .status)
        // Between sessions, before a person's logout logs any of them out.
        #expect(ControlRequest.parse("in-use")?.request == .inUse)
        #expect(ControlRequest.parse("in-use --within 5") == nil)
        for bad in [
            "logout --force --within ", "logout --force --within -1", "logout --force --within 1e3", "logout --force --within 9999999999",
        ] {
            #expect(ControlRequest.parse(bad) == nil)
        }
    }
}
