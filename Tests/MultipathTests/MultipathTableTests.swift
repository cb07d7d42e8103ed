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
}
