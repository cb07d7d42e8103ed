import Foundation
import KernelSession
import Testing

@testable import Agent
@testable import ISCSI

/// `status --json` reports every negotiated key: the object `probe --json` shares
/// (`NegotiatedParameters.json`, checked for probe in InitiatorTests).
@Suite struct NegotiatedReportTests {
    static let parameters = NegotiatedParameters(
        headerDigest: .crc32c, dataDigest: .none, maxRecvDataSegmentLength: 262_144, maxXmitDataSegmentLength: 8192,
        maxBurstLength: 262_144, firstBurstLength: 65_536, initialR2T: true, immediateData: false, maxOutstandingR2T: 1,
        errorRecoveryLevel: 0, defaultTime2Wait: 2, defaultTime2Retain: 20, maxConnections: 1, dataPDUInOrder: true,
        dataSequenceInOrder: true, targetPortalGroupTag: 1, targetAlias: nil)

    /// The "negotiated" member of a rendered report, as Foundation reads it.
    static func negotiated(in rendered: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [String: Any]
        return try #require(object?["negotiated"] as? [String: Any])
    }

    /// Every key of the keyed view with its value, typed: what both reports must show.
    static func expected(_ report: [String: Any]) {
        #expect(Set(report.keys) == Set(parameters.keyed.map(\.name)))
        #expect(report.count == 15)
        #expect(report["HeaderDigest"] as? String == "CRC32C")
        #expect(report["MaxXmitDataSegmentLength"] as? Int == 8192)
        #expect(report["DefaultTime2Retain"] as? Int == 20)
        #expect(report["InitialR2T"] as? Bool == true)
        #expect(report["ImmediateData"] as? Bool == false)
    }

    @Test func statusReportsEveryNegotiatedKey() throws {
        let status = SupervisorStatus(
            state: .loggedIn, target: "iqn.2024-01.example:root1", portal: "10.0.2.2:3260", interface: "eth0", sessionID: 3, hostNumber: 12,
            disk: "sda", uptimeSeconds: 4, parameters: Self.parameters,
            timers: SessionTimers(replacementTimeout: 120, noopInterval: 5, noopTimeout: 5), recoveries: 0, lastRecovery: nil)
        Self.expected(try Self.negotiated(in: status.json.rendered()))
    }
}
