import ISCSI
import Testing

@testable import DomainValidation

@Suite struct TestScriptTests {
    @Test func wordsSplitLikeAShellWithoutOne() throws {
        let script = try TestScript(#"sh -c 'dd if="$1" of=/dev/null' check  "two words" a\ b"#)
        #expect(script.words == ["sh", "-c", #"dd if="$1" of=/dev/null"#, "check", "two words", "a b"])
        #expect(try TestScript(#"x "" y"#).words == ["x", "", "y"])
        #expect(try TestScript(#"x "a\"b""#).words == ["x", #"a"b"#])
    }

    @Test func thePlaceholderIsReplacedWhereverItIs() throws {
        let script = try TestScript("check --dev={device} --again {device}")
        #expect(script.arguments(device: "/dev/sdb") == ["check", "--dev=/dev/sdb", "--again", "/dev/sdb"])
    }

    @Test func withoutAPlaceholderTheDeviceIsTheLastArgument() throws {
        let script = try TestScript("fio --name=x")
        #expect(script.arguments(device: "/dev/sdc") == ["fio", "--name=x", "/dev/sdc"])
    }

    @Test(arguments: ["", "   ", "a 'b", #"a "b"#, #"a\"#])
    func unusableScriptsAreRefusedWithTheReason(text: String) {
        #expect(throws: TestScriptError.self) { try TestScript(text) }
    }

    @Test func theEnvironmentNamesEachNegotiatedKey() {
        let environment = TestScript.environment(
            negotiated: [(.headerDigest, "CRC32C"), (.maxBurstLength, "262144"), (.initialR2T, "Yes")], device: "/dev/sdb",
            combination: 3)
        #expect(
            environment == [
                "DVT_HEADERDIGEST=CRC32C", "DVT_MAXBURSTLENGTH=262144", "DVT_INITIALR2T=Yes", "DVT_DEVICE=/dev/sdb", "DVT_COMBINATION=3",
            ])
    }

    @Test func theLastLinesOfTheOutputAreKept() {
        let output = Array("one\ntwo\n\n  \nthree\nfour\n".utf8)
        #expect(TestScript.lastLines(output, count: 2) == ["three", "four"])
        #expect(TestScript.lastLines(output, count: 10) == ["one", "two", "three", "four"])
        let long = TestScript.lastLines(Array(String(repeating: "x", count: 300).utf8))
        #expect(long.count == 1 && long[0].count == 201)
    }
}

@Suite struct IterationSelectionTests {
    @Test func iterationsTakeTheFirstRowsOfTheArray() {
        let pairwise = CoveringArray.pairwise(domainSizes: [3, 3, 2])
        let first = pairwise.prefix(4)
        #expect(first.count == 4)
        #expect((0..<4).map(first.row(at:)) == (0..<4).map(pairwise.row(at:)))
        #expect(pairwise.prefix(1000).count == pairwise.count)
    }

    @Test func aSeededSampleIsDistinctRepeatableAndWithinTheProduct() {
        let sizes = [3, 4, 2, 5]
        let sample = CoveringArray.sample(domainSizes: sizes, count: 10, seed: 42)
        let rows = (0..<sample.count).map(sample.row(at:))
        #expect(rows.count == 10)
        #expect(Set(rows.map { $0.description }).count == 10)
        #expect(rows.allSatisfy { zip($0, sizes).allSatisfy { $0 >= 0 && $0 < $1 } })
        let again = CoveringArray.sample(domainSizes: sizes, count: 10, seed: 42)
        #expect((0..<again.count).map(again.row(at:)) == rows)
        let other = CoveringArray.sample(domainSizes: sizes, count: 10, seed: 43)
        #expect((0..<other.count).map(other.row(at:)) != rows)
    }

    @Test func aSampleAsLargeAsTheProductIsTheProduct() {
        let sample = CoveringArray.sample(domainSizes: [2, 3], count: 50, seed: 1)
        #expect(sample.count == 6)
        #expect((0..<6).map(sample.row(at:)) == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]])
    }
}

@Suite struct KernelNegotiableTests {
    @Test func valuesTheKernelCannotRunAreLeftOutWithALine() throws {
        let space = try KeySpace(keys: [.headerDigest, .errorRecoveryLevel, .maxOutstandingR2T, .maxBurstLength])
        let (kernel, notes) = space.kernelNegotiable()
        #expect(kernel.dimensions.map(\.key) == [.headerDigest, .errorRecoveryLevel, .maxOutstandingR2T, .maxBurstLength])
        #expect(kernel.dimensions[1].values == ["0"])
        #expect(kernel.dimensions[2].values == ["1"])
        #expect(kernel.dimensions[0].values == space.dimensions[0].values)
        #expect(kernel.dimensions[3].values == space.dimensions[3].values)
        #expect(notes.count == 2)
        #expect(notes[0] == "ErrorRecoveryLevel=1,2 left out (kept 0): iscsi_tcp implements ErrorRecoveryLevel 0 only")
        #expect(notes[1].hasPrefix("MaxOutstandingR2T=2,8,65535 left out (kept 1): "))
    }

    @Test func aKeyWithNoKernelValueIsDropped() throws {
        let space = try KeySpace(keys: [.dataDigest, .errorRecoveryLevel], overrides: [.errorRecoveryLevel: ["1", "2"]])
        let (kernel, notes) = space.kernelNegotiable()
        #expect(kernel.dimensions.map(\.key) == [.dataDigest])
        #expect(notes == ["ErrorRecoveryLevel=1,2 left out (the key left out): iscsi_tcp implements ErrorRecoveryLevel 0 only"])
    }

    @Test func aSpaceTheKernelCanRunIsUnchanged() throws {
        let space = try KeySpace(keys: [.headerDigest, .dataDigest, .immediateData, .initialR2T, .firstBurstLength])
        let (kernel, notes) = space.kernelNegotiable()
        #expect(notes.isEmpty)
        #expect(kernel.dimensions.map(\.values) == space.dimensions.map(\.values))
    }
}

@Suite struct KernelLogTests {
    @Test func aRecordIsParsed() throws {
        let record = try #require(KernelLogRecord(Array("3,1234,5678901,-;connection2:0: detected conn error (1020)\n".utf8)))
        #expect(record.priority == 3)
        #expect(record.sequence == 1234)
        #expect(record.message == "connection2:0: detected conn error (1020)")
        #expect(record.shown == "[5.678901] connection2:0: detected conn error (1020)")
        let withDictionary = KernelLogRecord(
            Array("6,9,10,-;sd 2:0:0:1: [sdb] Attached SCSI disk\n SUBSYSTEM=scsi\n DEVICE=+scsi:2:0:0:1\n".utf8))
        #expect(withDictionary?.message == "sd 2:0:0:1: [sdb] Attached SCSI disk")
        #expect(KernelLogRecord(Array(" SUBSYSTEM=scsi".utf8)) == nil)
        #expect(KernelLogRecord(Array("x,1,2;text".utf8)) == nil)
    }

    @Test(arguments: [
        ("connection2:0: detected conn error (1020)", true),
        ("session2: session recovery timed out after 5 secs", true),
        ("scsi host3: iSCSI Initiator over TCP/IP", true),
        ("scsi 3:0:0:1: Direct-Access     IET      VIRTUAL-DISK     0001 PQ: 0 ANSI: 5", true),
        ("sd 3:0:0:1: [sdb] 131072 512-byte logical blocks: (67.1 MB/64.0 MiB)", true),
        ("I/O error, dev sdb, sector 0 op 0x0:(READ)", true),
        ("connection12:0: detected conn error (1020)", false),
        ("session21: session recovery timed out", false),
        ("sd 13:0:0:1: [sdba] Attached SCSI disk", false),
        ("scsi host33: iSCSI Initiator over TCP/IP", false),
        ("EXT4-fs (sda): mounted filesystem", false),
    ])
    func onlyTheSessionsOwnNamesMatch(message: String, expected: Bool) {
        let mentions = SessionMentions(sessionID: 2, hostNumber: 3, disk: "sdb")
        #expect(mentions.match(message) == expected)
    }
}

@Suite struct SysfsKeysTests {
    @Test func attributesAreSpelledAsRFCValues() {
        let keys = SysfsKeys.negotiated(
            session: [
                "initial_r2t": "1", "immediate_data": "0", "first_burst_len": "65536", "max_burst_len": "262144",
                "max_outstanding_r2t": "1", "erl": "0", "data_pdu_in_order": "1", "data_seq_in_order": "1",
            ],
            connection: ["header_digest": "1", "data_digest": "0", "max_recv_dlength": "262144"])
        let text = keys.map { "\($0.0.rawValue)=\($0.1)" }
        #expect(
            text == [
                "HeaderDigest=CRC32C", "DataDigest=None", "MaxRecvDataSegmentLength=262144", "InitialR2T=Yes", "ImmediateData=No",
                "FirstBurstLength=65536", "MaxBurstLength=262144", "MaxOutstandingR2T=1", "DataPDUInOrder=Yes", "DataSequenceInOrder=Yes",
                "ErrorRecoveryLevel=0",
            ])
    }

    @Test func aDisksSessionIsFoundInItsSysfsPath() {
        let path = "/sys/devices/platform/host2/session1/target2:0:0/2:0:0:2/block/sdb"
        let parsed = DiskSession.parse(path)
        #expect(parsed?.sessionID == 1)
        #expect(parsed?.hostNumber == 2)
        #expect(parsed?.lun == 2)
        #expect(DiskSession.parse("/sys/devices/pci0000:00/0000:00:01.1/ata1/host0/target0:0:0/0:0:0:0/block/sda") == nil)
    }
}
