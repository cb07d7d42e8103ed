import LinuxSystem
import Multipath

/// A device-mapper ioctl reply of any bytes, as `DeviceMapper` reads the kernel's answer: the
/// header, the DM_TABLE_STATUS targets, and a multipath target's status line.
public func fuzzDeviceMapperReply(_ bytes: [UInt8]) {
    guard let reply = try? DeviceMapperIoctl.Reply(decoding: bytes), let targets = try? reply.targets() else { return }
    for target in targets where target.type == MultipathTable.targetType {
        _ = try? MultipathStatus(parsing: target.parameters)
    }
}

/// A multipath target's status line (or its table form) of any bytes.
public func fuzzMultipathStatus(_ bytes: [UInt8]) {
    let line = String(decoding: bytes, as: UTF8.self)
    _ = try? MultipathStatus.tableFeatures(line)
    guard let status = try? MultipathStatus(parsing: line) else { return }
    for path in status.paths { _ = status.path(path.device) }
}
