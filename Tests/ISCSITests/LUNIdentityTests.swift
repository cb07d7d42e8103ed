import Testing

@testable import ISCSI

/// Device Identification pages written by hand from SPC-4 §7.8.6: a T10 vendor ID and an
/// NAA Registered Extended designator for the logical unit, and a relative target port
/// designator (association 1) that says nothing about which LUN it is.
@Suite struct LUNIdentityTests {
    static func page(_ designators: [[UInt8]]) -> [UInt8] {
        let body = designators.flatMap { $0 }
        return [0x00, 0x83, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }
    static func t10(_ text: String) -> [UInt8] { [0x02, 0x01, 0x00, UInt8(text.utf8.count)] + Array(text.utf8) }
    static func naa(last: UInt8) -> [UInt8] { [0x01, 0x03, 0x00, 0x10, 0x60] + [UInt8](repeating: 0, count: 14) + [last] }
    static let relativePort: [UInt8] = [0x51, 0x94, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01]

    static func identity(_ designators: [[UInt8]]) throws -> LUNIdentity? {
        LUNIdentity(try deviceDesignators(page(designators)))
    }

    @Test func onlyTheLogicalUnitsOwnDesignatorsCountAndNAAIsShownFirst() throws {
        let identity = try #require(try Self.identity([Self.t10("IET     00010001"), Self.relativePort, Self.naa(last: 1)]))
        #expect(identity.designators.count == 2)
        #expect(identity.description == "naa.60000000000000000000000000000001")
        #expect(try Self.identity([Self.relativePort]) == nil)
    }

    @Test func theSameDesignatorsAreTheSameLogicalUnit() throws {
        let boot = try #require(try Self.identity([Self.t10("IET     00010001"), Self.naa(last: 1)]))
        let now = try #require(try Self.identity([Self.naa(last: 1), Self.relativePort, Self.t10("IET     00010001")]))
        #expect(now.isSameLogicalUnit(as: boot))
        // A designator type only one of them names does not decide.
        let fewer = try #require(try Self.identity([Self.naa(last: 1)]))
        #expect(fewer.isSameLogicalUnit(as: boot))
    }

    @Test func oneDifferingDesignatorMakesAnotherLogicalUnit() throws {
        let boot = try #require(try Self.identity([Self.t10("IET     00010001"), Self.naa(last: 1)]))
        let otherNAA = try #require(try Self.identity([Self.t10("IET     00010001"), Self.naa(last: 2)]))
        #expect(!otherNAA.isSameLogicalUnit(as: boot))
        let otherT10 = try #require(try Self.identity([Self.t10("other-lun"), Self.naa(last: 1)]))
        #expect(!otherT10.isSameLogicalUnit(as: boot))
    }

    @Test func nothingSharedProvesNothing() throws {
        let boot = try #require(try Self.identity([Self.naa(last: 1)]))
        let now = try #require(try Self.identity([Self.t10("IET     00010001")]))
        #expect(!now.isSameLogicalUnit(as: boot))
    }

    /// The WWID multipath-tools names maps by (udev's scsi_id ID_SERIAL): the type digit, then
    /// NAA in lowercase hex; a T10 vendor ID with its spaces as one "_"; EUI-64 in hex.
    @Test func wwidIsWhatScsiIdWrites() throws {
        let naa = try #require(try Self.identity([Self.t10("IET     00010001"), Self.naa(last: 0xAB)]))
        #expect(naa.wwid == "360" + String(repeating: "0", count: 28) + "ab")
        let t10 = try #require(try Self.identity([Self.t10("IET     00010001")]))
        #expect(t10.wwid == "1IET_00010001")
        let eui = try #require(try Self.identity([[0x01, 0x02, 0x00, 0x08, 0x00, 0x14, 0x05, 0x00, 0x00, 0x00, 0x00, 0x01]]))
        #expect(eui.wwid == "20014050000000001")
        let slash = try #require(try Self.identity([Self.t10("VENDOR  A/B")]))
        #expect(slash.wwid == "1VENDOR_A_B")
        // The vendor's name alone names no LUN (LIO without a unit serial).
        let vendorOnly = try #require(try Self.identity([Self.t10("LIO-ORG ")]))
        #expect(vendorOnly.wwid == nil)
    }
}
