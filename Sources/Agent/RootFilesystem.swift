#if canImport(Glibc)
    import Glibc
#endif
import BootConfig
import LinuxSystem

/// Finds the block devices of a logged-in session's LUNs in sysfs and the root among them.
///
/// No udev runs in our initramfs: devtmpfs creates `/dev/sdX` by itself, and sysfs says
/// which disk belongs to which iSCSI session and LUN.
public enum RootFilesystem {
    /// A disk of the session: its LUN and kernel name (`sda`).
    public struct SessionDisk: Equatable, Sendable {
        public var lun: Int
        public var name: String
        /// The disk and its partitions, as /dev paths, the disk first.
        public var devicePaths: [String]
    }

    /// The disks the kernel attached for SCSI host `hostNumber` (one iSCSI session each),
    /// ordered by LUN. Only SCSI type 0 (direct access) devices count.
    public static func disks(ofHost hostNumber: UInt32) -> [SessionDisk] {
        var disks: [SessionDisk] = []
        // /sys/class/scsi_device/H:C:T:L, whatever sits between the host and the device
        // (an iSCSI host has its session in between).
        for address in directoryEntries("/sys/class/scsi_device") {
            let fields = address.split(separator: ":")
            guard fields.count == 4, UInt32(fields[0]) == hostNumber, let lun = Int(fields[3]) else { continue }
            let device = "/sys/class/scsi_device/\(address)/device"
            guard readText("\(device)/type") == "0" else { continue }
            for name in directoryEntries("\(device)/block") {
                let partitions = directoryEntries("/sys/block/\(name)").filter { $0.hasPrefix(name) }.sorted()
                disks.append(SessionDisk(lun: lun, name: name, devicePaths: ["/dev/\(name)"] + partitions.map { "/dev/\($0)" }))
            }
        }
        return disks.sorted { $0.lun < $1.lun }
    }

    /// The SCSI command timeout for the root disk. The kernel's default (30 s) lets the
    /// midlayer abort commands that a target is slow to answer while a recovery runs; the
    /// NOP-Out pings notice a dead path long before this.
    public static let commandTimeoutSeconds = 120

    /// Writes `commandTimeoutSeconds` to the disk's `device/timeout`; false if it could not.
    public static func raiseCommandTimeout(of disk: SessionDisk) -> Bool {
        (try? writeAttribute(String(commandTimeoutSeconds), to: "/sys/block/\(disk.name)/device/timeout")) != nil
    }

    /// Which device of `disk` is the root `device` names; nil when none matches.
    public static func find(_ device: RootDevice, on disk: SessionDisk) -> String? {
        switch device {
        case .targetLUN:
            return disk.devicePaths.first
        case .path(let path):
            return disk.devicePaths.contains(path) ? path : nil
        case .uuid(let uuid):
            return firstIdentity(on: disk) { $0.uuid?.lowercased() == uuid.lowercased() }
        case .label(let label):
            return firstIdentity(on: disk) { $0.label == label }
        case .partitionUUID(let uuid):
            return firstIdentity(on: disk) { $0.partitionUUID?.lowercased() == uuid.lowercased() }
        case .partitionLabel(let label):
            return firstIdentity(on: disk) { $0.partitionLabel == label }
        }
    }

    private static func firstIdentity(on disk: SessionDisk, where matches: (BlockDeviceIdentity) -> Bool) -> String? {
        disk.devicePaths.first { path in BlockDeviceIdentity(probing: path).map(matches) ?? false }
    }

    /// Mounts `devicePath` at `mountPoint` with the plan's type, options and ro/rw. Without
    /// `rootfstype=` the type is what libblkid reads from the device.
    public static func mount(_ devicePath: String, at mountPoint: String, plan: RootPlan) throws(SystemError) -> String {
        let type = plan.filesystemType?.value ?? BlockDeviceIdentity(probing: devicePath)?.type ?? "ext4"
        if mkdir(mountPoint, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir \(mountPoint)") }
        let flags = UInt(plan.readOnly.value ? MS_RDONLY : 0)
        let result = Glibc.mount(devicePath, mountPoint, type, flags, plan.mountOptions?.value ?? "")
        guard result == 0 else { throw SystemError("mount \(devicePath) (\(type)) on \(mountPoint)") }
        return type
    }
}
