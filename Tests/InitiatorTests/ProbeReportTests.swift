import Foundation
import Testing

@testable import Commands
@testable import ISCSI

/// `probe --json` reports every negotiated key, the same object as `status --json`
/// (AgentTests' NegotiatedReportTests checks status with the same parameters).
@Suite struct ProbeReportTests {
    @Test func probeReportsEveryNegotiatedKey() throws {
        let parameters = NegotiatedParameters(
            headerDigest: .crc32c, dataDigest: .none, maxRecvDataSegmentLength: 262_144, maxXmitDataSegmentLength: 8192,
            maxBurstLength: 262_144, firstBurstLength: 65_536, initialR2T: true, immediateData: false, maxOutstandingR2T: 1,
            errorRecoveryLevel: 0, defaultTime2Wait: 2, defaultTime2Retain: 20, maxConnections: 1, dataPDUInOrder: true,
            dataSequenceInOrder: true, targetPortalGroupTag: 1, targetAlias: nil)
        let rendered = ProbeCommand.renderJSON(
            [], target: "iqn.2024-01.example:root1", portal: Portal(host: "10.0.2.2"), parameters: parameters)
        let object = try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [String: Any]
        let report = try #require(object?["negotiated"] as? [String: Any])
        #expect(Set(report.keys) == Set(parameters.keyed.map(\.name)))
        #expect(report.count == 15)
        #expect(report["HeaderDigest"] as? String == "CRC32C")
        #expect(report["MaxXmitDataSegmentLength"] as? Int == 8192)
        #expect(report["DefaultTime2Retain"] as? Int == 20)
        #expect(report["InitialR2T"] as? Bool == true)
        #expect(report["ImmediateData"] as? Bool == false)
        #expect(object?["portalGroupTag"] as? Int == 1)
    }
}
