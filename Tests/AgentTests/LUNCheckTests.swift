import ISCSI
import Testing

@testable import Agent

@Suite struct LUNCheckTests {
    static func designators(naaLast: UInt8) throws -> [DeviceDesignator] {
        let naa: [UInt8] = [0x01, 0x03, 0x00, 0x10, 0x60] + [UInt8](repeating: 0, count: 14) + [naaLast]
        return try deviceDesignators([0x00, 0x83, 0x00, UInt8(naa.count)] + naa)
    }

    static func bootRecord(sectors: UInt64?) throws -> LUNCheck {
        let identity = try #require(LUNIdentity(try designators(naaLast: 1)))
        return LUNCheck(disk: "sda", lun: LogicalUnit(1), identity: identity, sectors: sectors)
    }

    @Test func theSameLUNAtTheSameSizeNeedsNothing() throws {
        let check = try Self.bootRecord(sectors: 131072)
        let capacity = Capacity(lastLogicalBlock: 131071, blockLength: 512)
        #expect(check.verdict(designators: try Self.designators(naaLast: 1), capacity: capacity) == .same(resized: nil))
        // 4 KiB blocks: the same 64 MiB.
        let large = Capacity(lastLogicalBlock: 16383, blockLength: 4096)
        #expect(check.verdict(designators: try Self.designators(naaLast: 1), capacity: large) == .same(resized: nil))
    }

    @Test func aLUNThatGrewIsTheSameLUNToRescan() throws {
        let check = try Self.bootRecord(sectors: 131072)
        let grown = Capacity(lastLogicalBlock: 196607, blockLength: 512)
        #expect(check.verdict(designators: try Self.designators(naaLast: 1), capacity: grown) == .same(resized: (was: 131072, now: 196608)))
        // Unknown size at boot: nothing to compare.
        #expect(
            try Self.bootRecord(sectors: nil).verdict(designators: try Self.designators(naaLast: 1), capacity: grown) == .same(resized: nil)
        )
    }

    @Test func anotherLUNIsRefusedAndNamed() throws {
        let check = try Self.bootRecord(sectors: 131072)
        let capacity = Capacity(lastLogicalBlock: 131071, blockLength: 512)
        #expect(
            check.verdict(designators: try Self.designators(naaLast: 2), capacity: capacity)
                == .different(now: "naa.60000000000000000000000000000002"))
        #expect(check.verdict(designators: [], capacity: capacity) == .different(now: "no logical-unit designator"))
    }
}
