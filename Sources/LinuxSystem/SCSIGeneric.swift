#if canImport(Glibc)
    import Glibc
#endif

/// One SCSI command that reads from a device, through the block layer's SG_IO ioctl
/// (<scsi/sg.h>, `struct sg_io_hdr`, x86-64 layout: 88 bytes): what the device answered
/// and how the command ended.
public struct SCSIGenericReply: Sendable {
    /// The data the device sent, up to the length asked for (the residual left out).
    public var data: [UInt8]
    /// The SCSI status (0: GOOD).
    public var status: UInt8
    /// The host adapter's status (0: OK); an iSCSI session that is down says so here.
    public var hostStatus: UInt16

    public var succeeded: Bool { status == 0 && hostStatus == 0 }
}

/// The request number of SG_IO.
public let scsiGenericIORequest: UInt = 0x2285

/// Sends `cdb` to the device open as `descriptor` and reads at most `dataLength` bytes,
/// bounded by `timeoutMilliseconds` in the kernel. EINVAL or ENOTTY: the device takes no
/// SCSI commands (a loop device, say). The corresponding C function is `ioctl`.
public func scsiCommandReadingData(_ descriptor: Int32, cdb: [UInt8], dataLength: Int, timeoutMilliseconds: UInt32)
    throws(SystemError) -> SCSIGenericReply
{
    var command = cdb
    var data = [UInt8](repeating: 0, count: dataLength)
    var sense = [UInt8](repeating: 0, count: 32)
    var header = [UInt8](repeating: 0, count: 88)
    let result: Int32 = command.withUnsafeMutableBytes { cdbBytes in
        data.withUnsafeMutableBytes { dataBytes in
            sense.withUnsafeMutableBytes { senseBytes in
                header.withUnsafeMutableBytes { raw in
                    raw.storeBytes(of: Int32(UInt8(ascii: "S")), toByteOffset: 0, as: Int32.self)
                    raw.storeBytes(of: Int32(-3), toByteOffset: 4, as: Int32.self)  // SG_DXFER_FROM_DEV
                    raw.storeBytes(of: UInt8(cdbBytes.count), toByteOffset: 8, as: UInt8.self)
                    raw.storeBytes(of: UInt8(senseBytes.count), toByteOffset: 9, as: UInt8.self)
                    raw.storeBytes(of: UInt32(dataBytes.count), toByteOffset: 12, as: UInt32.self)
                    raw.storeBytes(of: UInt(bitPattern: dataBytes.baseAddress), toByteOffset: 16, as: UInt.self)
                    raw.storeBytes(of: UInt(bitPattern: cdbBytes.baseAddress), toByteOffset: 24, as: UInt.self)
                    raw.storeBytes(of: UInt(bitPattern: senseBytes.baseAddress), toByteOffset: 32, as: UInt.self)
                    raw.storeBytes(of: timeoutMilliseconds, toByteOffset: 40, as: UInt32.self)
                    return ioctl(descriptor, scsiGenericIORequest, raw.baseAddress!)
                }
            }
        }
    }
    guard result == 0 else { throw SystemError("SG_IO") }
    let residual = header.withUnsafeBytes { Int($0.load(fromByteOffset: 72, as: Int32.self)) }
    let received = max(0, min(dataLength, dataLength - residual))
    return SCSIGenericReply(
        data: Array(data[0..<received]), status: header[64], hostStatus: UInt16(header[68]) | UInt16(header[69]) << 8)
}
