import Foundation
import LinuxSystem
import Testing

/// The fixture itself: if it is wrong, every integration test is wrong with it.
@Suite struct TargetFixtureTests {
    @Test func servesTheRequestedDisksOnItsOwnPortal() throws {
        let fixture = try TargetFixture(iqn: "iqn.2024-01.test.fixture:two-disks", diskCount: 2)
        let listing = try fixture.tgtadm(["--mode", "target", "--op", "show"])
        #expect(listing.contains("Target 1: iqn.2024-01.test.fixture:two-disks"))
        // LUN 0 is tgt's controller; the disks follow it.
        #expect(listing.contains("LUN: 0"))
        #expect(listing.contains("LUN: 1"))
        #expect(listing.contains("LUN: 2"))
        #expect(!listing.contains("LUN: 3"))

        let connection = try TCPConnection.connect(to: fixture.address, deadline: .now().advanced(byMilliseconds: 2000))
        #expect(connection.peerAddress?.description == fixture.portal.description)
        try fixture.stop()
    }

    @Test func bindsChapAccountsToTheTarget() throws {
        let fixture = try TargetFixture(
            iqn: "iqn.2024-01.test.fixture:chap",
            chap: .init(user: "initiator-user", password: "initiator-secret"),
            mutualChap: .init(user: "target-user", password: "target-secret"))
        let listing = try fixture.tgtadm(["--mode", "target", "--op", "show"])
        #expect(listing.contains("initiator-user"))
        #expect(listing.contains("target-user (outgoing)"))
    }

    @Test func killedTargetRefusesConnections() throws {
        let fixture = try TargetFixture(iqn: "iqn.2024-01.test.fixture:killed")
        fixture.kill()
        #expect {
            _ = try TCPConnection.connect(to: fixture.address, deadline: .now().advanced(byMilliseconds: 2000))
        } throws: { error in
            guard case .refused = error as? ConnectionError else { return false }
            return true
        }
    }
}
