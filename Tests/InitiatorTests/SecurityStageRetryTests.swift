import ISCSI
import Initiator
import Testing

/// The login driver's retry without the security stage over real TCP: the scripted target on
/// loopback closes the connection on AuthMethod=None, as LIO does when it enforces CHAP.
@Suite struct SecurityStageRetryIntegrationTests {
    static func configuration(_ portal: Portal) -> LoginConfiguration {
        var configuration = LoginConfiguration(
            initiatorName: "iqn.2024-01.test.initiator:stage", targetName: "iqn.2024-01.test:scripted",
            isid: [0x80, 0x12, 0x34, 0x56, 0x78, 0x9B], portalDescription: portal.description)
        configuration.credentialsAdvice = "--chap-user USER"
        return configuration
    }

    /// The first connection is closed on AuthMethod=None; the second, without the security
    /// stage, logs in.
    @Test func logsInOnASecondConnectionWithoutTheStage() throws {
        let target = try ScriptedTarget(fault: .closesOnSecurityStage(refuses: false), faultyConnections: Int.max)
        let session = try Session.login(at: target.portal, configuration: Self.configuration(target.portal), timeoutMilliseconds: 5000)
        #expect(session.outcome.tsih == 7)
        #expect(target.connections == 2)
    }

    /// Refused with 0x0201 there: the error says CHAP is required, why we think so, and the advice.
    @Test func refusedThenSaysCHAPIsRequired() throws {
        let target = try ScriptedTarget(fault: .closesOnSecurityStage(refuses: true), faultyConnections: Int.max)
        #expect {
            _ = try Session.login(at: target.portal, configuration: Self.configuration(target.portal), timeoutMilliseconds: 5000)
        } throws: { error in
            guard case InitiatorError.login(.failed(.authenticationRequired(_, true, "--chap-user USER"), _)) = error else { return false }
            return "\(error)".contains("requires CHAP but no CHAP credentials are configured (it closed the connection")
        }
        #expect(target.connections == 2)
    }
}
