import Foundation
import Testing

import Agent
@testable import Commands
@testable import ISCSI

/// `probe --json` embeds the one "negotiated" object (`NegotiatedParameters.json`) that
/// `status --json` embeds too; what that object holds is checked once, in AgentTests'
/// NegotiatedReportTests.
@Suite struct ProbeReportTests {
    @Test func probeEmbedsTheSharedNegotiatedObject() throws {
        let parameters = NegotiatedParameters(
            headerDigest: .crc32c, dataDigest: .none, maxRecvDataSegmentLength: 262_144, maxXmitDataSegmentLength: 8192,
            maxBurstLength: 262_144, firstBurstLength: 65_536, initialR2T: true, immediateData: false, maxOutstandingR2T: 1,
            errorRecoveryLevel: 0, defaultTime2Wait: 2, defaultTime2Retain: 20, maxConnections: 1, dataPDUInOrder: true,
            dataSequenceInOrder: true, targetPortalGroupTag: 1, targetAlias: nil)
        let rendered = ProbeCommand.renderJSON(
            [], target: "iqn.2024-01.example:root1", portal: Portal(host: "10.0.2.2"), parameters: parameters)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [String: Any])
        let report = try #require(object["negotiated"] as? [String: Any])
        let shared = try #require(
            try JSONSerialization.jsonObject(with: Data(parameters.json.rendered().utf8)) as? [String: Any])
        #expect(NSDictionary(dictionary: report) == NSDictionary(dictionary: shared))
        #expect(report.count == OperationalKey.allCases.count + 1)
        #expect(object["portalGroupTag"] as? Int == 1)
    }
}
