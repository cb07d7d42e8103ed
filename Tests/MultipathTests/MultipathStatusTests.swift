import LinuxSystem
import Testing

@testable import Multipath

private let pathA = DeviceNumber(major: 8, minor: 16)
private let pathB = DeviceNumber(major: 8, minor: 32)

/// Status lines in the form `multipath_status` writes (STATUSTYPE_INFO): features "2
/// <queue_io> <pg_init_count>", handler "0", groups, and per path "dev A|F fail_count" plus
/// the selector's info arguments (service-time: in-flight size and relative throughput;
/// round-robin: none).
@Suite struct MultipathStatusTests {
    @Test func serviceTimeGroupWithAFailedPath() throws {
        let status = try MultipathStatus(parsing: "2 0 0 0 1 1 A 0 2 2 8:16 A 0 4096 1 8:32 F 3 0 1 ")
        #expect(status.features == ["0", "0"] && status.handlerStatus.isEmpty && status.nextGroup == 1)
        #expect(status.groups.count == 1 && status.groups[0].state == .active && status.groups[0].selectorStatus.isEmpty)
        #expect(
            status.paths == [
                MultipathStatus.Path(device: pathA, isActive: true, failCount: 0, selectorStatus: ["4096", "1"]),
                MultipathStatus.Path(device: pathB, isActive: false, failCount: 3, selectorStatus: ["0", "1"]),
            ])
        #expect(status.path(pathB)?.failCount == 3 && status.path(DeviceNumber(major: 1, minor: 1)) == nil)
    }

    @Test func severalGroupsHandlerWordsAndUnknownFieldsAreKept() throws {
        let line = "3 1 0 9 1 alua 2 2 E 1 x 1 0 8:16 A 0 Q 0 1 0 8:32 A 1 trailing words\n"
        let status = try MultipathStatus(parsing: line)
        #expect(status.features == ["1", "0", "9"] && status.handlerStatus == ["alua"] && status.nextGroup == 2)
        #expect(status.groups.map { $0.state } == [.enabled, .other("Q")])
        #expect(status.groups[0].selectorStatus == ["x"])
        #expect(status.paths.map { $0.device } == [pathA, pathB] && status.paths[1].failCount == 1)
    }

    @Test(
        arguments: [
            ("", 0, nil), ("2 0", 0, "2"), ("x", 0, "x"), ("2 0 0 0 1 1 A 0 1 2 8-16 A 0 0 1", 10, "8-16"),
            ("2 0 0 0 1 1 A 0 1 2 8:16 Q 0 0 1", 11, "Q"), ("2 0 0 0 1 1 A 0 1 2 8:16 A -1 0 1", 12, "-1"),
            ("4000000000 0 0", 0, "4000000000"), ("2 0 0 0 99 1", 4, "99"), ("2 0 0 0 1 1 A 0 1 2 8:16 A 0 0", 14, nil),
        ] as [(String, Int, String?)])
    func garbageIsATypedErrorNamingTheWord(line: String, position: Int, word: String?) {
        #expect(throws: MultipathStatusError.self) { try MultipathStatus(parsing: line) }
        do throws(MultipathStatusError) {
            _ = try MultipathStatus(parsing: line)
        } catch {
            #expect(error.position == position && error.word == word, "\(error)")
        }
    }

    /// The table form (DM_STATUS_TABLE_FLAG) says whether the map queues; the selector then
    /// writes its two table arguments per path, whatever the table was loaded with.
    @Test func tableFeaturesSayWhetherTheMapQueues() throws {
        let queueing = "1 queue_if_no_path 0 1 1 service-time 0 2 2 8:16 1 1 8:32 1 1 "
        #expect(try MultipathStatus.tableFeatures(queueing) == ["queue_if_no_path"])
        #expect(try MultipathStatus.tableFeatures("0 0 1 1 service-time 0 1 2 8:16 1 1").isEmpty)
        #expect(throws: MultipathStatusError.self) { try MultipathStatus.tableFeatures("3 queue_if_no_path") }
    }

    /// Random words from the status vocabulary, shuffled and cut: never a crash.
    @Test func randomLinesNeverCrash() {
        var generator = XorShift(seed: 17)
        let vocabulary = ["0", "1", "2", "3", "A", "F", "E", "D", "8:16", "8:32", "4294967295", "4294967296", "x", ":", "9:"]
        for _ in 0..<5_000 {
            let count = Int.random(in: 0...30, using: &generator)
            let words = (0..<count).map { _ in vocabulary.randomElement(using: &generator)! }
            _ = try? MultipathStatus(parsing: words.joined(separator: " "))
        }
    }
}
