#if canImport(Glibc)
    import Glibc
#endif
import LinuxSystem

/// Block devices stacked on the iSCSI sessions' disks: device-mapper devices (LVM volumes,
/// multipath maps, LUKS) and md arrays. The shutdown releases them once the root is
/// unmounted and before the sessions' disks are removed, the topmost first, so that their
/// last writes (device-mapper's flush, md marking its members clean) reach the targets.
/// systemd-shutdown tries the same before it hands over, but cannot while the root is
/// still mounted on them.
enum StackedDevices {
    /// Devices above `bases` (sysfs block names: "sda", "sda1"), found through `holders`
    /// (a device's holders' names), each listed before every device it holds: the order in
    /// which they can be released. At most `limit` devices, so that a cycle in a broken
    /// sysfs cannot make this loop.
    static func releaseOrder(above bases: [String], holders: (String) -> [String], limit: Int = 256) -> [String] {
        // Depth: the longest chain of holders from a base; releasing deepest first frees
        // every device before the ones below it.
        var depth: [String: Int] = [:]
        var frontier = bases.map { ($0, 0) }
        var steps = 0
        while let (device, level) = frontier.popLast(), steps < limit * 8 {
            steps += 1
            for holder in holders(device) where (depth[holder] ?? 0) < level + 1 && level < limit {
                if depth[holder] == nil && depth.count >= limit { continue }
                depth[holder] = level + 1
                frontier.append((holder, level + 1))
            }
        }
        return depth.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { $0.key }
    }

    /// The sessions' disks and their partitions, by sysfs block name.
    static func sessionDisks() -> [String] {
        directoryEntries("/sys/class/iscsi_host").compactMap { name -> UInt32? in
            name.hasPrefix("host") ? UInt32(String(name.dropFirst("host".count))) : nil
        }.flatMap { host in
            RootFilesystem.disks(ofHost: host).flatMap { disk in disk.devicePaths.map { String($0.dropFirst("/dev/".count)) } }
        }
    }

    static func holders(of device: String) -> [String] { directoryEntries("/sys/class/block/\(device)/holders").sorted() }

    /// Releases every device stacked on the sessions' disks, the topmost first; one line
    /// each. A device that cannot be released (still open) is named and left: the disks
    /// below it are removed anyway, as before.
    static func release(log: inout BootLog) {
        for device in releaseOrder(above: sessionDisks(), holders: holders(of:)) {
            if device.hasPrefix("dm-") {
                let name = readText("/sys/class/block/\(device)/dm/name") ?? device
                do throws(DeviceMapperError) {
                    try DeviceMapper().remove(.name(name))
                    log.line("shutdown: removed \(name) (\(device))")
                } catch {
                    log.line("shutdown: \(name) (\(device)) stays: \(error)")
                }
            } else if device.hasPrefix("md") {
                log.line("shutdown: " + (stopArray(device).map { "\(device) stays: \($0)" } ?? "stopped \(device)"))
            }
        }
    }

    /// md's STOP_ARRAY (linux/raid/md_u.h: _IO(MD_MAJOR 9, 0x32)) on /dev/`device`; nil
    /// when it stopped, else why not.
    private static func stopArray(_ device: String) -> SystemError? {
        let stopArrayRequest: UInt = 0x932
        let descriptor = open("/dev/\(device)", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return SystemError("open /dev/\(device)") }
        defer { close(descriptor) }
        // The request takes no argument; the pointer only satisfies ioctl's signature.
        var unused: Int = 0
        return ioctl(descriptor, stopArrayRequest, &unused) == 0 ? nil : SystemError("STOP_ARRAY")
    }
}
