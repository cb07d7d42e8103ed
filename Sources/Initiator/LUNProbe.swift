import ISCSI

/// What probing tells about one logical unit.
public struct LUNReport: Equatable, Sendable {
    public var lun: LogicalUnit
    public var inquiry: StandardInquiry
    /// Unit Serial Number VPD page, when the LUN has one.
    public var serialNumber: String?
    /// Device Identification designators (VPD 0x83), when the LUN has them.
    public var designators: [DeviceDesignator]
    /// For disks: READ CAPACITY (16).
    public var capacity: Capacity?
}

extension Session {
    /// REPORT LUNS on LUN 0 (SPC-4 §6.33: every target answers it there).
    public mutating func reportLUNs() throws(InitiatorError) -> [LogicalUnit] {
        let data = try read(CDB.reportLUNs(), lun: LogicalUnit(0), expectedLength: 4096, name: "REPORT LUNS")
        return try decoded { () throws(SCSIDataError) in try ReportedLUNs(data).luns }
    }

    /// INQUIRY, the serial number and device identification pages, and the capacity of
    /// every LUN the target reports (or only `only`).
    public mutating func probe(only: LogicalUnit? = nil) throws(InitiatorError) -> [LUNReport] {
        let luns: [LogicalUnit]
        if let only { luns = [only] } else { luns = try reportLUNs() }
        var reports: [LUNReport] = []
        for lun in luns {
            let inquiryData = try read(CDB.inquiry(), lun: lun, expectedLength: 96, name: "INQUIRY")
            let inquiry = try decoded { () throws(SCSIDataError) in try StandardInquiry(inquiryData) }
            var report = LUNReport(lun: lun, inquiry: inquiry, serialNumber: nil, designators: [], capacity: nil)
            // VPD pages are optional (SPC-4 §7.8): a target without them answers ILLEGAL REQUEST.
            if let page = try optionalRead(CDB.inquiry(vitalProductDataPage: 0x80), lun: lun, expectedLength: 255) {
                report.serialNumber = try? unitSerialNumber(page)
            }
            if let page = try optionalRead(CDB.inquiry(vitalProductDataPage: 0x83), lun: lun, expectedLength: 255) {
                report.designators = (try? deviceDesignators(page)) ?? []
            }
            if inquiry.isConnectedDisk {
                let capacityData = try read(CDB.readCapacity16(), lun: lun, expectedLength: 32, name: "READ CAPACITY (16)")
                report.capacity = try decoded { () throws(SCSIDataError) in try Capacity(capacityData) }
            }
            reports.append(report)
        }
        return reports
    }

    /// The data of a command that may legitimately be unsupported: nil when the target
    /// answers CHECK CONDITION, an error for anything worse.
    private mutating func optionalRead(_ cdb: [UInt8], lun: LogicalUnit, expectedLength: Int) throws(InitiatorError) -> [UInt8]? {
        let result = try execute(cdb, lun: lun, expectedLength: expectedLength)
        return result.status == SCSIStatus.good ? result.data : nil
    }
}

/// Runs a decoder of command data, reporting its failure as an initiator error.
private func decoded<Value>(_ decode: () throws(SCSIDataError) -> Value) throws(InitiatorError) -> Value {
    do { return try decode() } catch { throw .commandData(error) }
}
