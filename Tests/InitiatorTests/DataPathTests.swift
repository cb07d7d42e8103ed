import Commands
import DomainValidation
import Foundation
import ISCSI
import Initiator
import Testing

/// The full feature phase data path and the domain validation sweep, against a real tgtd
/// and against a scripted target that breaks the rules on purpose.
@Suite(.serialized) struct DataPathTests {
    private func login(_ portal: Portal, target: String, parameters: InitiatorParameters = InitiatorParameters()) -> LoginConfiguration {
        var configuration = LoginConfiguration(
            initiatorName: "iqn.2024-01.test.initiator:dvt", targetName: target, isid: [0x80, 0x12, 0x34, 0x56, 0x78, 0x9A],
            portalDescription: portal.description)
        configuration.parameters = parameters
        return configuration
    }

    private func failures(_ results: [CombinationResult]) -> String {
        results.filter { !$0.passed }.map { result in
            "#\(result.index + 1) \(result.keys.map { "\($0.key.rawValue)=\($0.offered)>\($0.negotiated ?? "?")" }.joined(separator: " ")): "
                + "\(result.failure?.description ?? "") \(result.keys.compactMap(\.violation).joined(separator: "; "))"
        }.joined(separator: "\n")
    }

    // MARK: Against tgtd

    /// tgtd offers no digests by default, and then answers an offer of CRC32C alone with None,
    /// which RFC 7143 §6.2.1 forbids ("None is only a valid selection if it is explicitly
    /// proposed"): the sweep would report exactly that. Configured to accept them, it passes.
    private func acceptDigests(_ fixture: TargetFixture) throws {
        for key in ["HeaderDigest", "DataDigest"] {
            _ = try fixture.tgtadm(["--mode", "target", "--op", "update", "--tid", "1", "--name", key, "--value", "CRC32C,None"])
        }
    }

    @Test func aPairwiseSweepWithWritesPassesAgainstTgtd() throws {
        let iqn = "iqn.2024-01.test.dvt:sweep"
        let fixture = try TargetFixture(iqn: iqn)
        defer { try? fixture.stop() }
        try acceptDigests(fixture)
        let sweep = Sweep(
            space: try KeySpace(), exhaustive: false,
            target: SweepTarget(
                portal: fixture.portal, login: login(fixture.portal, target: iqn), lun: LogicalUnit(1), timeoutMilliseconds: 10_000),
            mode: .write(lbas: 4096...40_959), seed: 7)
        let results = (0..<sweep.count).map(sweep.run)
        #expect(results.count == sweep.count)
        #expect(results.allSatisfy { $0.passed }, "\(failures(results))")
        #expect(results.allSatisfy { $0.statistics.bytesWritten > 0 && $0.statistics.bytesRead >= $0.statistics.bytesWritten })
    }

    @Test func aReadOnlySweepPassesAgainstTgtd() throws {
        let iqn = "iqn.2024-01.test.dvt:read-only"
        let fixture = try TargetFixture(iqn: iqn)
        defer { try? fixture.stop() }
        try acceptDigests(fixture)
        let sweep = Sweep(
            space: try KeySpace(keys: [.headerDigest, .dataDigest, .maxRecvDataSegmentLength, .maxBurstLength]), exhaustive: false,
            target: SweepTarget(
                portal: fixture.portal, login: login(fixture.portal, target: iqn), lun: LogicalUnit(1), timeoutMilliseconds: 10_000),
            mode: .readOnly, seed: 7)
        let results = (0..<sweep.count).map(sweep.run)
        #expect(results.allSatisfy { $0.passed }, "\(failures(results))")
        #expect(results.allSatisfy { $0.statistics.bytesWritten == 0 && $0.statistics.bytesRead > 0 })
    }

    @Test func theTargetsSmallerLimitsAreRespected() throws {
        let iqn = "iqn.2024-01.test.dvt:limits"
        let fixture = try TargetFixture(iqn: iqn)
        defer { try? fixture.stop() }
        for (name, value) in [("MaxRecvDataSegmentLength", "4096"), ("MaxBurstLength", "16384"), ("FirstBurstLength", "8192")] {
            _ = try fixture.tgtadm(["--mode", "target", "--op", "update", "--tid", "1", "--name", name, "--value", value])
        }
        var parameters = InitiatorParameters()
        parameters.initialR2T = false
        parameters.immediateData = true
        parameters.dataDigests = [.crc32c, .none]
        var session = try Session.login(
            at: fixture.portal, configuration: login(fixture.portal, target: iqn, parameters: parameters), timeoutMilliseconds: 10_000)
        #expect(session.parameters.maxXmitDataSegmentLength == 4096)
        #expect(session.parameters.maxBurstLength == 16384)
        #expect(session.parameters.firstBurstLength == 8192)
        // The first command after a login may collect a UNIT ATTENTION; `read` retries it.
        _ = try session.read(CDB.readCapacity16(), lun: LogicalUnit(1), expectedLength: 32, name: "READ CAPACITY (16)")
        // tgtd drops the connection on a PDU longer than its MaxRecvDataSegmentLength, and on
        // unsolicited data past FirstBurstLength: these writes only succeed if we obey both.
        let data = BlockPattern.bytes(lba: 100, blocks: 2048, blockLength: 512, seed: 3)
        let written = try session.perform(
            [
                .write(lba: 100, data: data, blockLength: 512, lun: LogicalUnit(1)),
                .write(lba: 5000, data: Array(data.prefix(3 * 512)), blockLength: 512, lun: LogicalUnit(1), sixteenByteCDB: true),
            ], queueDepth: 2)
        #expect(written.map(\.status) == [SCSIStatus.good, SCSIStatus.good])
        let read = try session.perform([.read(lba: 100, blocks: 2048, blockLength: 512, lun: LogicalUnit(1))])
        #expect(read.first?.data == data)
        try session.logout()
    }

    // MARK: Against a misbehaving target

    /// Two combinations (ImmediateData Yes, No) with DataDigest=CRC32C; the fault hits the
    /// first connection only, so the second combination shows the sweep went on.
    private func sweepScripted(_ fault: ScriptedTarget.Fault, timeoutMilliseconds: Int = 5000) throws -> (
        ScriptedTarget, [CombinationResult]
    ) {
        let target = try ScriptedTarget(fault: fault)
        let sweep = Sweep(
            space: try KeySpace(keys: [.dataDigest, .immediateData], overrides: [.dataDigest: ["CRC32C"]]), exhaustive: false,
            target: SweepTarget(
                portal: target.portal, login: login(target.portal, target: "iqn.2024-01.test:scripted"), lun: LogicalUnit(0),
                timeoutMilliseconds: timeoutMilliseconds),
            mode: .write(lbas: 8...4000), seed: 11)
        let results = (0..<sweep.count).map(sweep.run)
        #expect(results.count == 2)
        #expect(results.last?.passed == true, "the sweep must go on after a failure: \(failures(results))")
        return (target, results)
    }

    @Test func aWrongDataDigestIsReported() throws {
        let (_, results) = try sweepScripted(.wrongDataDigest)
        let failure = try #require(results.first?.failure)
        #expect(failure.message.contains("data digest mismatch"), "\(failure)")
    }

    @Test func dataInBeyondTheRequestedLengthIsReported() throws {
        let (_, results) = try sweepScripted(.dataInBeyondLength)
        let failure = try #require(results.first?.failure)
        #expect(failure.step == .io)
        #expect(failure.message.contains("beyond the 512 bytes requested"), "\(failure)")
    }

    @Test func anR2TForAnUnknownTaskIsReported() throws {
        let (_, results) = try sweepScripted(.r2tForUnknownTask)
        let failure = try #require(results.first?.failure)
        #expect(failure.message.contains("R2T for task tag"), "\(failure)")
        #expect(failure.message.contains("which is not in flight"), "\(failure)")
    }

    @Test func dataSNOutOfOrderIsReported() throws {
        let (_, results) = try sweepScripted(.dataSNOutOfOrder)
        let failure = try #require(results.first?.failure)
        #expect(failure.message.contains("has DataSN 2, expected 1"), "\(failure)")
    }

    @Test func aNegotiationThatBreaksTheResultFunctionIsPinnedOnItsKey() throws {
        let target = try ScriptedTarget(fault: .negotiationAboveOffer)
        let sweep = Sweep(
            space: try KeySpace(keys: [.maxBurstLength], overrides: [.maxBurstLength: ["8192", "65536"]]), exhaustive: false,
            target: SweepTarget(
                portal: target.portal, login: login(target.portal, target: "iqn.2024-01.test:scripted"), lun: LogicalUnit(0),
                timeoutMilliseconds: 5000),
            mode: .readOnly, seed: 1)
        let results = (0..<sweep.count).map(sweep.run)
        let first = try #require(results.first)
        #expect(first.failure?.step == .negotiation)
        let outcome = try #require(first.keys.first)
        #expect(outcome.offered == "8192")
        #expect(outcome.negotiated == "8704")
        #expect(outcome.violation?.contains("Minimum") == true, "\(outcome)")
        #expect(results.last?.passed == true, "\(failures(results))")
    }

    @Test func aCommandThatTimesOutIsAbortedAndReported() throws {
        let (target, results) = try sweepScripted(.silentOnRead, timeoutMilliseconds: 400)
        let failure = try #require(results.first?.failure)
        #expect(failure.message.contains("ABORT TASK: function complete"), "\(failure)")
        #expect(target.taskManagementRequests.first == TaskManagementRequest.Function.abortTask.rawValue)
    }

    @Test func weNeverSendMoreThanTheTargetsMaxRecvDataSegmentLength() throws {
        let target = try ScriptedTarget(fault: .none, declaredMaxRecvDataSegmentLength: 1024)
        var parameters = InitiatorParameters()
        parameters.initialR2T = false
        parameters.headerDigests = [.crc32c]
        parameters.dataDigests = [.crc32c]
        var session = try Session.login(
            at: target.portal, configuration: login(target.portal, target: "iqn.2024-01.test:scripted", parameters: parameters),
            timeoutMilliseconds: 5000)
        let data = BlockPattern.bytes(lba: 10, blocks: 700, blockLength: 512, seed: 5)
        let written = try session.perform([.write(lba: 10, data: data, blockLength: 512, lun: LogicalUnit(0))])
        #expect(written.first?.status == SCSIStatus.good)
        let read = try session.perform([.read(lba: 10, blocks: 700, blockLength: 512, lun: LogicalUnit(0))])
        #expect(read.first?.data == data)
        try session.logout()
        #expect(target.largestDataSegmentReceived == 1024)
    }

    // MARK: Legal but unusual targets, deviations and dropped connections

    /// A read-only sweep of `keys` against a scripted target faulty on every connection.
    private func readOnlySweep(_ fault: ScriptedTarget.Fault, keys: [SweepKey]) throws -> [CombinationResult] {
        let target = try ScriptedTarget(fault: fault, faultyConnections: Int.max)
        let sweep = Sweep(
            space: try KeySpace(keys: keys), exhaustive: false,
            target: SweepTarget(
                portal: target.portal, login: login(target.portal, target: "iqn.2024-01.test:scripted"), lun: LogicalUnit(0),
                timeoutMilliseconds: 5000),
            mode: .readOnly, seed: 3)
        return (0..<sweep.count).map(sweep.run)
    }

    /// RFC 7143 §6.2.2, §13.14: a target that leaves out every optional answer (LIO leaves
    /// DataPDUInOrder=Yes and DataSequenceInOrder=Yes unanswered) passes, without deviations.
    @Test func aTargetThatOmitsOptionalAnswersPasses() throws {
        let results = try readOnlySweep(
            .omitsOptionalAnswers, keys: [.initialR2T, .immediateData, .dataPDUInOrder, .dataSequenceInOrder, .firstBurstLength])
        #expect(results.count >= 4)
        #expect(results.allSatisfy { $0.verdict == "pass" }, "\(failures(results))")
        // Every optional case occurred: an offer the target left unanswered decided the outcome.
        let offeredYesInOrder = results.filter { $0.keys.contains { $0.key == .dataPDUInOrder && $0.offered == "Yes" } }
        #expect(!offeredYesInOrder.isEmpty)
        #expect(offeredYesInOrder.allSatisfy { $0.keys.contains { $0.key == .dataPDUInOrder && $0.negotiated == "Yes" } })
        // The target chose InitialR2T=Yes, ImmediateData=No everywhere, so FirstBurstLength,
        // offered in the combinations that offered ImmediateData=Yes, went unanswered.
        #expect(results.allSatisfy { $0.keys.contains { $0.key == .initialR2T && $0.negotiated == "Yes" } })
        #expect(results.allSatisfy { $0.keys.contains { $0.key == .immediateData && $0.negotiated == "No" } })
        #expect(results.contains { $0.keys.contains { $0.key == .immediateData && $0.offered == "Yes" } })
    }

    /// Other sense data for the READ past the last block: the data was right, so the
    /// combination passes with the deviation listed (pass*), naming what the target answered
    /// and what SBC-3 expects.
    @Test func otherSenseForAnOutOfRangeReadIsADeviation() throws {
        let results = try readOnlySweep(.outOfRangeSense(key: 0x03, asc: 0x11, ascq: 0x00), keys: [.immediateData])
        #expect(results.count == 2)
        #expect(results.allSatisfy { $0.passed && $0.verdict == "pass*" }, "\(failures(results))")
        let deviation = try #require(results.first?.deviations.first)
        #expect(
            deviation.detail
                == "READ (16) of block 4096 (LUN 0), one past the last block READ CAPACITY (16) reported, ended CHECK CONDITION: MEDIUM ERROR, UNRECOVERED READ ERROR (11h/00h); SBC-3 §4.5 expects CHECK CONDITION: ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)"
        )
        // The SBC answer is no deviation.
        let conforming = try readOnlySweep(.none, keys: [.immediateData])
        #expect(conforming.allSatisfy { $0.verdict == "pass" }, "\(failures(conforming))")
    }

    /// The same through the command line: pass* in the table and the JSON, exit status 0.
    @Test func theDVTCommandShowsPassWithDeviations() throws {
        let target = try ScriptedTarget(fault: .outOfRangeSense(key: 0x05, asc: 0x24, ascq: 0x00), faultyConnections: Int.max)
        let arguments = ["dvt", target.portal.description, "iqn.2024-01.test:scripted", "--lun", "0", "--keys", "ImmediateData"]
        let text = try IscsiRoot.run(arguments)
        #expect(text.status == 0, "\(text.errors)")
        #expect(text.output.contains("2 passed (2 with deviations, pass*), 0 failed"), "\(text.output)")
        #expect(
            text.output.contains(
                "deviation in combinations #1, #2: READ (16) of block 4096 (LUN 0), one past the last block READ CAPACITY (16) reported, ended CHECK CONDITION: ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h); SBC-3 §4.5 expects"
            ), "\(text.output)")
        let json = try IscsiRoot.run(arguments + ["--json"])
        #expect(json.status == 0, "\(json.errors)")
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(decoded["verdict"] as? String == "pass*")
        #expect(decoded["passed"] as? Bool == true)
        let combinations = try #require(decoded["combinations"] as? [[String: Any]])
        #expect(combinations.map { $0["verdict"] as? String } == ["pass*", "pass*"])
        #expect((combinations.first?["deviations"] as? [String])?.first?.contains("INVALID FIELD IN CDB (24h/00h)") == true)
    }

    /// A connection reset mid-command fails the combination, naming the command and LUN;
    /// the sweep goes on.
    @Test func aConnectionResetNamesTheCommand() throws {
        let (_, results) = try sweepScripted(.resetOnOpcode(0x9E))
        let failure = try #require(results.first?.failure)
        #expect(failure.step == .capacity)
        #expect(failure.message.contains("the target reset the connection during READ CAPACITY (16) (LUN 0)"), "\(failure)")
    }

    /// A SCSI failure names the command, the LUN, the status, the sense key and ASC/ASCQ.
    @Test func aCommandFailureNamesStatusAndSense() throws {
        let target = try ScriptedTarget(fault: .none)
        var session = try Session.login(
            at: target.portal, configuration: login(target.portal, target: "iqn.2024-01.test:scripted"), timeoutMilliseconds: 5000)
        do {
            _ = try session.read(CDB.read16(lba: 4096, blocks: 1), lun: LogicalUnit(0), expectedLength: 512, name: "READ (16)")
            Issue.record("expected a failure")
        } catch {
            #expect(
                error.description
                    == "READ (16) (LUN 0) failed with CHECK CONDITION: ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)")
        }
        try session.logout()
    }

    /// `iscsi-root probe` shows a SCSI failure with its sense, and a reset with the oldest
    /// command it took down and how many more (the probe sends five per LUN at once).
    @Test func probeNamesSenseAndTheCommandsAReset() throws {
        let failing = try ScriptedTarget(fault: .senseOnOpcode(0x12, key: 0x05, asc: 0x25, ascq: 0x00))
        let sense = try IscsiRoot.run(["probe", failing.portal.description, "iqn.2024-01.test:scripted", "--lun", "0"])
        #expect(sense.status == 1)
        #expect(
            sense.errors.contains(
                "iscsi-root probe: INQUIRY (LUN 0) failed with CHECK CONDITION: ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (25h/00h)"),
            "\(sense.errors)")
        let resetting = try ScriptedTarget(fault: .resetOnOpcode(0x12))
        let reset = try IscsiRoot.run(["probe", resetting.portal.description, "iqn.2024-01.test:scripted", "--lun", "0"])
        #expect(reset.status == 1)
        // How many of the other four were sent before the reset arrived varies; the oldest is named.
        #expect(reset.errors.contains("the target reset the connection during INQUIRY (LUN 0) and "), "\(reset.errors)")
    }

    // MARK: The command line

    @Test func writeWithoutAScratchRangeIsRefused() {
        #expect(DVTCommand.run(["127.0.0.1:9", "iqn.2024-01.test:any", "--write"]) == .usage)
        #expect(DVTCommand.run(["127.0.0.1:9", "iqn.2024-01.test:any", "--bench", "seq-write"]) == .usage)
        #expect(DVTCommand.run(["127.0.0.1:9", "iqn.2024-01.test:any", "--values", "MaxBurstLength=100"]) == .usage)
    }
}
