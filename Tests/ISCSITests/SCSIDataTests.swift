import Testing

@testable import ISCSI

@Suite struct SCSIDataTests {
    @Test func standardInquiryOfATgtDisk() throws {
        var data = [UInt8](repeating: 0x20, count: 36)
        data[0] = 0x00
        data[1] = 0x00
        data.replaceSubrange(8..<11, with: Array("IET".utf8))
        data.replaceSubrange(16..<28, with: Array("VIRTUAL-DISK".utf8))
        data.replaceSubrange(32..<36, with: Array("0001".utf8))
        let inquiry = try StandardInquiry(data)
        #expect(inquiry.vendor == "IET")
        #expect(inquiry.product == "VIRTUAL-DISK")
        #expect(inquiry.revision == "0001")
        #expect(inquiry.isConnectedDisk)
        #expect(inquiry.deviceTypeName == "disk")
    }

    @Test func shortDataIsAnErrorThatNamesTheCommand() {
        #expect(throws: SCSIDataError(command: "INQUIRY", reason: "5 bytes, expected at least 36")) {
            try StandardInquiry([0, 0, 0, 0, 0])
        }
        #expect(throws: SCSIDataError.self) { try Capacity([1, 2, 3]) }
        #expect(throws: SCSIDataError.self) { try ReportedLUNs([0, 0, 0]) }
    }

    @Test func reportLUNsListsWhatArrivedAndCountsTheRest() throws {
        let data: [UInt8] = [0, 0, 0, 24, 0, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 0, 0] + [0, 1, 0, 0, 0, 0, 0, 0]
        let reported = try ReportedLUNs(data)
        #expect(reported.luns.map(\.number) == [0, 1])
        #expect(reported.totalCount == 3)
    }

    @Test func capacityOfSixtyFourMebibytes() throws {
        let data: [UInt8] = [0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0, 0, 2, 0] + [UInt8](repeating: 0, count: 20)
        let capacity = try Capacity(data)
        #expect(capacity.blockCount == 131_072)
        #expect(capacity.bytes == 64 << 20)
        #expect(humanReadableSize(capacity.bytes) == "64 MiB")
        #expect(humanReadableSize(1536 << 20) == "1.5 GiB")
        #expect(Capacity(lastLogicalBlock: .max, blockLength: 4096).bytes == .max)
    }

    @Test func serialNumberAndDesignators() throws {
        #expect(try unitSerialNumber([0, 0x80, 0, 6] + Array("beaf11".utf8)) == "beaf11")
        let naa: [UInt8] = [0x01, 0x03, 0, 8, 0x60, 0x00, 0x0e, 0xd0, 0, 0, 0, 1]
        let name: [UInt8] = [0x03, 0x08, 0, 4] + Array("iqn.".utf8)
        let designators = try deviceDesignators([0, 0x83, 0, UInt8(naa.count + name.count)] + naa + name)
        #expect(designators.map(\.description) == ["naa.60000ed000000001", "name.iqn."])
        #expect(throws: SCSIDataError.self) { try deviceDesignators([0, 0x83, 0, 8, 0x01, 0x03, 0, 200]) }
    }

    @Test func fixedAndDescriptorSenseDecode() throws {
        var fixed = [UInt8](repeating: 0, count: 18)
        fixed[0] = 0x70
        fixed[2] = 0x06
        fixed[12] = 0x29
        fixed[13] = 0x00
        let unitAttention = try #require(SenseData(fixed))
        #expect(unitAttention.senseKey == SenseData.unitAttention)
        #expect(unitAttention.description == "UNIT ATTENTION, POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (29h/00h)")
        let descriptor = try #require(SenseData([0x72, 0x05, 0x24, 0x00]))
        #expect(descriptor.description == "ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h)")
        #expect(
            SCSIStatus.describe(SCSIStatus.checkCondition, sense: SenseData([0x72, 0x05, 0x21, 0x00]))
                == "CHECK CONDITION: ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)")
        #expect(SenseData([0x73, 0x03, 0x11, 0x00])?.description == "deferred MEDIUM ERROR, UNRECOVERED READ ERROR (11h/00h)")
        #expect(SenseData([0x72, 0x05, 0x55, 0x07])?.description == "ILLEGAL REQUEST, ASC/ASCQ 55h/07h")
        #expect(SenseData([0x72, 0x09, 0x80, 0x01])?.description == "VENDOR SPECIFIC, vendor-specific ASC/ASCQ 80h/01h")
        #expect(SCSIStatus.describe(SCSIStatus.checkCondition, sense: nil) == "CHECK CONDITION without sense data")
        #expect(SCSIStatus.describe(0x08, sense: nil) == "BUSY")
        #expect(SenseData([0x70, 0, 0]) == nil)
        #expect(SenseData([]) == nil)
    }

    @Test func transferCDBsCarryAddressAndLength() {
        #expect(CDB.read10(lba: 0x0102_0304, blocks: 0x0506) == [0x28, 0, 1, 2, 3, 4, 0, 5, 6, 0])
        #expect(CDB.write16(lba: 0x0102_0304_0506_0708, blocks: 9) == [0x8A, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 9, 0, 0])
        #expect(CDB.readCapacity16() == [0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0])
        #expect(CDB.reportLUNs(allocationLength: 4096) == [0xA0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0])
    }
}
