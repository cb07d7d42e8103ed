import ISCSI

/// Every decoder of SCSI data-in payloads (INQUIRY, VPD pages 0x80/0x83, REPORT LUNS,
/// READ CAPACITY (16)): a target answers with whatever it likes, and a wrong answer must be
/// an error, never a trap.
public func fuzzSCSIData(_ bytes: [UInt8]) {
    _ = try? StandardInquiry(bytes)
    _ = try? unitSerialNumber(bytes)
    _ = (try? deviceDesignators(bytes))?.map(\.description)
    _ = try? ReportedLUNs(bytes)
    _ = try? Capacity(bytes)
}

/// Sense data returned with CHECK CONDITION, including its description for people.
public func fuzzSenseData(_ bytes: [UInt8]) {
    _ = SenseData(bytes)?.description
}
