import Testing

@testable import Agent

@Suite struct StackedDevicesTests {
    /// dracut's TEST-71 root: an LVM volume (dm-0) on an md RAID0 (md127) over two sessions'
    /// disks, and a LUKS device (dm-1) on a partition of a third: every device above the
    /// disks, each before what it holds.
    @Test func theTopmostDeviceIsReleasedFirst() {
        let holders: [String: [String]] = ["sda": ["md127"], "sdb": ["md127"], "md127": ["dm-0"], "sdc1": ["dm-1"]]
        let order = StackedDevices.releaseOrder(above: ["sda", "sdb", "sdc", "sdc1"]) { holders[$0] ?? [] }
        #expect(order == ["dm-0", "dm-1", "md127"])
    }

    /// Nothing stacked: nothing to release.
    @Test func plainDisksHaveNothingToRelease() {
        #expect(StackedDevices.releaseOrder(above: ["sda", "sda1"]) { _ in [] }.isEmpty)
    }

    /// A device that holds itself through a broken sysfs still ends: the walk is bounded.
    @Test func aCycleEndsWithinTheLimit() {
        let holders: [String: [String]] = ["sda": ["dm-0"], "dm-0": ["dm-1"], "dm-1": ["dm-0"]]
        let order = StackedDevices.releaseOrder(above: ["sda"], holders: { holders[$0] ?? [] }, limit: 8)
        #expect(Set(order) == ["dm-0", "dm-1"])
    }
}
