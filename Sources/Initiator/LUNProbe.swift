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
    /// every LUN the target reports (or only `only`). The four commands of every LUN are in
    /// flight together: a probe costs about one round trip, not four per LUN.
    public mutating func probe(only: LogicalUnit? = nil) throws(InitiatorError) -> [LUNReport] {
        let luns: [LogicalUnit]
        if let only { luns = [only] } else { luns = try reportLUNs() }
        let perLUN: [(String, [UInt8], Int)] = [
            ("INQUIRY", CDB.inquiry(), 96),
            // VPD pages are optional (SPC-4 §7.8): a target without them answers ILLEGAL REQUEST.
            ("INQUIRY VPD 0x80", CDB.inquiry(vitalProductDataPage: 0x80), 255),
            ("INQUIRY VPD 0x83", CDB.inquiry(vitalProductDataPage: 0x83), 255),
            // Takes the UNIT ATTENTION a target reports after a login (power on, SAM-5
            // §5.14), as Linux's sd does, so the command after it need not be repeated.
            ("TEST UNIT READY", CDB.testUnitReady(), 0),
            // Answered with an error by LUNs that are not disks, which need no capacity.
            ("READ CAPACITY (16)", CDB.readCapacity16(), 32),
        ]
        let requests = luns.flatMap { lun in
            perLUN.map { SCSIRequest(name: $0.0, cdb: $0.1, lun: lun, transfer: $0.2 > 0 ? .read(length: $0.2) : .none) }
        }
        let results = try perform(requests, queueDepth: requests.count)
        var reports: [LUNReport] = []
        for (index, lun) in luns.enumerated() {
            let answers = Array(results[index * perLUN.count..<(index + 1) * perLUN.count])
            guard answers[0].status == SCSIStatus.good else {
                throw .commandFailed(command: "INQUIRY (LUN \(lun))", status: answers[0].status, sense: answers[0].sense)
            }
            let inquiry = try decoded { () throws(SCSIDataError) in try StandardInquiry(answers[0].data) }
            var report = LUNReport(lun: lun, inquiry: inquiry, serialNumber: nil, designators: [], capacity: nil)
            if answers[1].status == SCSIStatus.good { report.serialNumber = try? unitSerialNumber(answers[1].data) }
            if answers[2].status == SCSIStatus.good { report.designators = (try? deviceDesignators(answers[2].data)) ?? [] }
            if inquiry.isConnectedDisk {
                // The first command after a login may meet a pending UNIT ATTENTION: `read` retries.
                let capacityData =
                    answers[4].status == SCSIStatus.good
                    ? answers[4].data : try read(CDB.readCapacity16(), lun: lun, expectedLength: 32, name: "READ CAPACITY (16)")
                report.capacity = try decoded { () throws(SCSIDataError) in try Capacity(capacityData) }
            }
            reports.append(report)
        }
        return reports
    }
}

/// Runs a decoder of command data, reporting its failure as an initiator error.
private func decoded<Value>(_ decode: () throws(SCSIDataError) -> Value) throws(InitiatorError) -> Value {
    do { return try decode() } catch { throw .commandData(error) }
}
