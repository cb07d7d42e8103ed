#if canImport(Glibc)
    import Glibc
#endif
import ISCSI
import LinuxSystem

/// Whether a disk may be tested: never one that holds the running root, is mounted, is
/// swap, or is held by another device (device mapper, md).
public enum BlockDeviceSafety {
    /// Why disk `name` (`sdb`) must not be tested, or nil. When `writing`, also a second
    /// session to a LUN that is in use (the root's, through another login), which shows the
    /// same LUN as another disk: the logical unit's identifier (`device/wwid`, from VPD page
    /// 83h) finds it. Reading it is harmless, and some targets (tgt) repeat identifiers
    /// across instances, so reads are not refused for that.
    public static func problem(_ name: String, writing: Bool) -> String? {
        if let problem = inUse(name) { return problem }
        guard writing, let identity = identity(name) else { return nil }
        for other in directoryEntries("/sys/block").sorted() where other != name && Self.identity(other) == identity {
            if let problem = inUse(other) { return "it is the same logical unit as /dev/\(other) (\(identity)), and \(problem)" }
        }
        return nil
    }

    /// The logical unit's identifier as the kernel read it; nil for devices without one.
    static func identity(_ name: String) -> String? {
        guard let text = readText("/sys/block/\(name)/device/wwid"), !text.isEmpty else { return nil }
        return text
    }

    /// Why disk `name` itself is in use, or nil.
    static func inUse(_ name: String) -> String? {
        let partitions = directoryEntries("/sys/block/\(name)").filter { $0.hasPrefix(name) }.sorted()
        let members = [name] + partitions
        var numbers: [String: String] = [:]
        for member in members {
            let path = member == name ? "/sys/block/\(name)/dev" : "/sys/block/\(name)/\(member)/dev"
            if let number = readText(path) { numbers[number] = member }
        }
        var root = stat()
        if stat("/", &root) == 0, let member = numbers["\(deviceMajor(root.st_dev)):\(deviceMinor(root.st_dev))"] {
            return "/dev/\(member) holds the running root filesystem (/)"
        }
        if let mounts = readText("/proc/self/mounts") {
            for line in mounts.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count >= 2 else { continue }
                if let member = mountedMember(String(fields[0]), members: members, numbers: numbers) {
                    return "/dev/\(member) is mounted on \(fields[1])"
                }
            }
        }
        if let swaps = readText("/proc/swaps") {
            for line in swaps.split(separator: "\n").dropFirst() {
                guard let first = line.split(separator: " ").first else { continue }
                if let member = mountedMember(String(first), members: members, numbers: numbers) {
                    return "/dev/\(member) is in use as swap"
                }
            }
        }
        for member in members {
            let path = member == name ? "/sys/block/\(name)/holders" : "/sys/block/\(name)/\(member)/holders"
            if let holder = directoryEntries(path).first { return "/dev/\(member) is held by \(holder) (device mapper or md)" }
        }
        return nil
    }

    /// The member of the disk a mount's source names: by /dev path, or by device number
    /// for aliases such as /dev/root.
    private static func mountedMember(_ source: String, members: [String], numbers: [String: String]) -> String? {
        guard source.hasPrefix("/dev/") else { return nil }
        if let member = members.first(where: { "/dev/\($0)" == source }) { return member }
        var status = stat()
        guard stat(source, &status) == 0, status.st_mode & S_IFMT == S_IFBLK else { return nil }
        return numbers["\(deviceMajor(status.st_rdev)):\(deviceMinor(status.st_rdev))"]
    }

    /// glibc's `major`/`minor` (macros, which Swift does not import).
    static func deviceMajor(_ device: dev_t) -> UInt64 { ((UInt64(device) >> 8) & 0xFFF) | ((UInt64(device) >> 32) & ~0xFFF) }
    static func deviceMinor(_ device: dev_t) -> UInt64 { (UInt64(device) & 0xFF) | ((UInt64(device) >> 12) & ~0xFF) }
}

/// The kernel iSCSI session a disk belongs to, found in sysfs: /sys/block/sdX resolves to
/// …/hostH/sessionN/targetH:C:T/H:C:T:L/block/sdX.
public struct DiskSession: Sendable, Equatable {
    public var sessionID: UInt32
    public var hostNumber: UInt32
    public var lun: Int
    public var targetName: String?
    public var portal: String?
    /// The negotiated keys, from iscsi_session and iscsi_connection attributes.
    public var keys: [String: String]

    /// nil when `name` is not a disk of an iSCSI session.
    public static func of(disk name: String) -> DiskSession? {
        guard let resolved = realpath("/sys/block/\(name)", nil) else { return nil }
        let path = String(cString: resolved)
        free(resolved)
        guard let parsed = parse(path) else { return nil }
        let session = "/sys/class/iscsi_session/session\(parsed.sessionID)"
        let connection = "/sys/class/iscsi_connection/connection\(parsed.sessionID):0"
        var sessionAttributes: [String: String] = [:]
        for (attribute, _) in SysfsKeys.sessionAttributes { sessionAttributes[attribute] = readText("\(session)/\(attribute)") }
        var connectionAttributes: [String: String] = [:]
        for (attribute, _) in SysfsKeys.connectionAttributes {
            connectionAttributes[attribute] = readText("\(connection)/\(attribute)")
        }
        var keys: [String: String] = [:]
        for (key, value) in SysfsKeys.negotiated(session: sessionAttributes, connection: connectionAttributes) {
            keys[key.rawValue] = value
        }
        let address = readText("\(connection)/persistent_address")
        let port = readText("\(connection)/persistent_port")
        return DiskSession(
            sessionID: parsed.sessionID, hostNumber: parsed.hostNumber, lun: parsed.lun, targetName: readText("\(session)/targetname"),
            portal: address.map { "\($0):\(port ?? "3260")" }, keys: keys)
    }

    /// Session, host and LUN from a resolved /sys/block path; nil when it has no session.
    public static func parse(_ path: String) -> (sessionID: UInt32, hostNumber: UInt32, lun: Int)? {
        var session: UInt32?
        var host: UInt32?
        var lun: Int?
        for component in path.split(separator: "/") {
            let text = String(component)
            if text.hasPrefix("session"), let number = UInt32(text.dropFirst(7)) { session = number }
            if text.hasPrefix("host"), let number = UInt32(text.dropFirst(4)) { host = number }
            let address = text.split(separator: ":")
            if address.count == 4, address.allSatisfy({ UInt32($0) != nil }) { lun = Int(address[3]) }
        }
        guard let session, let host, let lun else { return nil }
        return (session, host, lun)
    }
}
