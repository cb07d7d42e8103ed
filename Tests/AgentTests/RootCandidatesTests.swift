import BootConfig
import Testing

@testable import Agent

@Suite struct RootCandidatesTests {
    let controllerless = [
        RootFilesystem.SessionDisk(lun: 1, name: "sda", devicePaths: ["/dev/sda"]),
        RootFilesystem.SessionDisk(lun: 2, name: "sdb", devicePaths: ["/dev/sdb", "/dev/sdb1"]),
    ]

    @Test func wholeLUNRootIsThePlansLUNOnly() {
        #expect(BootSequence.rootCandidates(controllerless, lun: 2, root: .targetLUN).map(\.name) == ["sdb"])
        #expect(BootSequence.rootCandidates(controllerless, lun: 0, root: .targetLUN).isEmpty)
    }

    @Test func namedRootSearchesThePlansLUNFirstThenTheOthers() {
        #expect(BootSequence.rootCandidates(controllerless, lun: 2, root: .label("root")).map(\.name) == ["sdb", "sda"])
    }

    /// dracut's `netroot=iscsi:server::::name` is LUN 0, tgt's controller: root=LABEL= is
    /// still found on LUN 1.
    @Test func namedRootOnAnotherLUNThanAnEmptyLUNFieldSaid() {
        #expect(BootSequence.rootCandidates(controllerless, lun: 0, root: .label("root")).map(\.name) == ["sda", "sdb"])
    }

    @Test func noLUNInThePlanSearchesEveryDisk() {
        #expect(BootSequence.rootCandidates(controllerless, lun: nil, root: .uuid("x")).map(\.name) == ["sda", "sdb"])
    }
}
