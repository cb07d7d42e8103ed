import LinuxSystem
import Testing

@testable import Multipath

private let pathA = DeviceNumber(major: 8, minor: 16)
private let pathB = DeviceNumber(major: 8, minor: 32)

/// The table lines and messages as drivers/md/dm-mpath.c's constructor and
/// `multipath_message` read them.
@Suite struct MultipathTableTests {
    @Test func twoPathsQueueingWithServiceTime() throws {
        let table = try MultipathTable(sectors: 2_097_152, paths: [pathA, pathB])
        #expect(table.parameters == "1 queue_if_no_path 0 1 1 service-time 0 2 1 8:16 1 8:32 1")
        #expect(table.line == "0 2097152 multipath 1 queue_if_no_path 0 1 1 service-time 0 2 1 8:16 1 8:32 1")
        #expect(
            table.target
                == DeviceMapperIoctl.Target(
                    sectorStart: 0, length: 2_097_152, type: "multipath",
                    parameters: "1 queue_if_no_path 0 1 1 service-time 0 2 1 8:16 1 8:32 1"))
    }

    @Test func onePathWithoutQueueingAndAnotherSelector() throws {
        let table = try MultipathTable(sectors: 8, paths: [pathB], queueIfNoPath: false, selector: .roundRobin)
        #expect(table.line == "0 8 multipath 0 0 1 1 round-robin 0 1 1 8:32 1")
        #expect(MultipathTable.PathSelector.queueLength.rawValue == "queue-length")
    }

    @Test func refusesTablesTheKernelWouldRefuse() {
        #expect(throws: MultipathTableError.noPath) { try MultipathTable(sectors: 8, paths: []) }
        #expect(throws: MultipathTableError.emptyDevice) { try MultipathTable(sectors: 0, paths: [pathA]) }
        #expect(throws: MultipathTableError.duplicatePath(pathA)) { try MultipathTable(sectors: 8, paths: [pathA, pathB, pathA]) }
    }

    @Test func messages() {
        #expect(MultipathMessage.failPath(pathA).text == "fail_path 8:16")
        #expect(MultipathMessage.reinstatePath(DeviceNumber(major: 65, minor: 1040)).text == "reinstate_path 65:1040")
        #expect(MultipathMessage.queueIfNoPath.text == "queue_if_no_path")
        #expect(MultipathMessage.failIfNoPath.text == "fail_if_no_path")
    }

    /// The live table as the kernel writes it back: service-time with its two path
    /// arguments; multipathd's two groups with a hardware handler; a short line is an error.
    @Test func liveTablesAreReadBackToTheirPaths() throws {
        let ours = try MultipathTable(parsingLive: "1 queue_if_no_path 0 1 1 service-time 0 2 2 8:16 1 1 8:32 1 1", sectors: 64)
        #expect(ours == (try MultipathTable(sectors: 64, paths: [pathA, pathB])))
        let daemon = try MultipathTable(
            parsingLive: "2 queue_if_no_path retain_attached_hw_handler 1 alua 2 1 round-robin 0 1 1 8:16 1 round-robin 0 1 1 8:32 1",
            sectors: 64)
        #expect(daemon.paths == [pathA, pathB])
        #expect(daemon.selector == .roundRobin)
        #expect(daemon.queueIfNoPath)
        let failing = try MultipathTable(parsingLive: "0 0 1 1 queue-length 0 1 1 8:16 1", sectors: 8)
        #expect(!failing.queueIfNoPath && failing.paths == [pathA])
        #expect(throws: MultipathStatusError.self) {
            try MultipathTable(parsingLive: "1 queue_if_no_path 0 1 1 service-time 0 2 2 8:16", sectors: 64)
        }
        #expect(throws: MultipathStatusError.self) { try MultipathTable(parsingLive: "0 0 1 1 service-time 0 1 1 sda 1", sectors: 64) }
        #expect(throws: MultipathStatusError.self) { try MultipathTable(parsingLive: "0 0 0 0", sectors: 64) }
    }

    /// A partition of the map, as kpartx maps it.
    @Test func partitionMapsAreLinearOverTheMap() {
        let partition = PartitionMap(number: 1, start: 2048, sectors: 1_000_000)
        #expect(partition.name(map: "3600a") == "3600a-part1")
        #expect(partition.uuid(mapUUID: MultipathTable.uuid(wwid: "3600a")) == "part1-mpath-3600a")
        #expect(
            partition.target(map: DeviceNumber(major: 254, minor: 0))
                == DeviceMapperIoctl.Target(sectorStart: 0, length: 1_000_000, type: "linear", parameters: "254:0 2048"))
    }
}
