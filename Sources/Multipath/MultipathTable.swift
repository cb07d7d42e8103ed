import LinuxSystem

/// The table of a dm-multipath map over the paths of one LUN: one target, "multipath", over
/// the whole LUN, with one priority group holding every path.
///
/// The parameters, in the order the kernel's multipath constructor (drivers/md/dm-mpath.c)
/// reads them:
/// `<n_features> [queue_if_no_path]` — queue I/O while no path is usable (see `PathPolicy`);
/// `0` — no hardware handler arguments;
/// `1 1` — one priority group, the first one to use;
/// `<selector> 0` — the path selector, without selector arguments;
/// `<n_paths> 1` — the paths, each followed by one selector argument;
/// `<major:minor> 1` per path — that argument is the repeat count, 1.
///
/// One group: every path leads to the same target through its own portal, and none is
/// preferred (an active/passive array would want groups by ALUA state; a target without
/// ALUA, as tgtd and LIO by default, has all paths active/optimized).
///
/// Selector: `service-time` by default. It sends each I/O to the path with the least
/// in-flight bytes relative to its throughput, so a path that slows down (congested, or
/// being recovered) gets less, where `round-robin` keeps giving it an equal share; it is also
/// what multipath-tools uses by default. Every selector of the kernel (service-time,
/// round-robin, queue-length) takes the repeat count as its first path argument and treats
/// any value above 1 as deprecated (using 1), hence 1.
public struct MultipathTable: Equatable, Sendable {
    /// The device-mapper target type.
    public static let targetType = "multipath"

    public enum PathSelector: String, Sendable, CaseIterable {
        case serviceTime = "service-time"
        case roundRobin = "round-robin"
        case queueLength = "queue-length"
    }

    /// The LUN's size in 512-byte sectors (the map's length).
    public var sectors: UInt64
    /// The paths, in the order the table lists them.
    public var paths: [DeviceNumber]
    public var queueIfNoPath: Bool
    public var selector: PathSelector

    /// Refuses a table the kernel would refuse: no path, a path twice, or zero sectors.
    public init(sectors: UInt64, paths: [DeviceNumber], queueIfNoPath: Bool = true, selector: PathSelector = .serviceTime)
        throws(MultipathTableError)
    {
        guard sectors > 0 else { throw .emptyDevice }
        guard !paths.isEmpty else { throw .noPath }
        for (index, path) in paths.enumerated() where paths[..<index].contains(path) { throw .duplicatePath(path) }
        self.sectors = sectors
        self.paths = paths
        self.queueIfNoPath = queueIfNoPath
        self.selector = selector
    }

    /// The target's parameters: what follows "multipath" in the table line.
    public var parameters: String {
        let features = queueIfNoPath ? "1 queue_if_no_path" : "0"
        let pathList = paths.map { "\($0) 1" }.joined(separator: " ")
        return "\(features) 0 1 1 \(selector.rawValue) 0 \(paths.count) 1 \(pathList)"
    }

    /// The table line as `dmsetup table` writes it: start, length, type, parameters.
    public var line: String { "0 \(sectors) \(Self.targetType) \(parameters)" }

    /// The table as DM_TABLE_LOAD takes it.
    public var target: DeviceMapperIoctl.Target {
        DeviceMapperIoctl.Target(sectorStart: 0, length: sectors, type: Self.targetType, parameters: parameters)
    }
}

extension MultipathTable {
    /// The device-mapper UUID of the map over the LUN with `wwid`, as multipath-tools gives
    /// its maps: multipathd started later in the real root takes such a map for its own
    /// instead of building a second one over the same paths.
    public static func uuid(wwid: String) -> String { "mpath-" + wwid }

    /// The paths of a live table (DM_TABLE_STATUS with DM_STATUS_TABLE_FLAG), of every group
    /// in order, and whether it queues with no path. The kernel writes each selector's own
    /// path arguments (service-time two where this agent loads one), so every count is read
    /// and the arguments skipped: a path joining is added to what the map has, whoever loaded it.
    public init(parsingLive parameters: some StringProtocol, sectors: UInt64) throws(MultipathStatusError) {
        var words = StatusWords(parameters)
        let features = try words.counted("feature count")
        _ = try words.counted("hardware handler count")
        let groupCount = try words.count("group count")
        _ = try words.number("first group")
        var paths: [DeviceNumber] = []
        var selector = PathSelector.serviceTime
        for group in 0..<groupCount {
            let name = try words.word("path selector")
            if group == 0, let known = PathSelector(rawValue: String(name)) { selector = known }
            _ = try words.counted("selector argument count")
            let pathCount = try words.count("path count")
            let pathArgumentCount = Int(try words.number("path argument count"))
            for _ in 0..<pathCount {
                let deviceWord = try words.word("path device")
                guard let device = DeviceNumber(deviceWord) else {
                    throw MultipathStatusError(position: words.position - 1, word: String(deviceWord), expected: "a path as major:minor")
                }
                _ = try words.words(pathArgumentCount, "path argument")
                if !paths.contains(device) { paths.append(device) }
            }
        }
        guard sectors > 0, !paths.isEmpty else {
            throw MultipathStatusError(position: words.position, word: nil, expected: "a table with at least one path")
        }
        self.sectors = sectors
        self.paths = paths
        self.queueIfNoPath = features.contains("queue_if_no_path")
        self.selector = selector
    }
}

/// A partition of a multipath map, as kpartx maps it: a linear device over the map from the
/// partition's first sector, named `<map>-part<N>` with the UUID `part<N>-<map's UUID>`, so
/// that multipath-tools and kpartx in the real root recognise it. The partition table is
/// the one the kernel already read on a path's disk (its `start` and `size` in sysfs).
public struct PartitionMap: Equatable, Sendable {
    public var number: Int
    public var start: UInt64
    public var sectors: UInt64

    public init(number: Int, start: UInt64, sectors: UInt64) {
        self.number = number
        self.start = start
        self.sectors = sectors
    }

    public func name(map: String) -> String { "\(map)-part\(number)" }
    public func uuid(mapUUID: String) -> String { "part\(number)-\(mapUUID)" }

    /// The table: the partition's sectors of `map`.
    public func target(map: DeviceNumber) -> DeviceMapperIoctl.Target {
        DeviceMapperIoctl.Target(sectorStart: 0, length: sectors, type: "linear", parameters: "\(map) \(start)")
    }
}

public enum MultipathTableError: Error, Equatable, Sendable, CustomStringConvertible {
    case noPath
    case emptyDevice
    case duplicatePath(DeviceNumber)

    public var description: String {
        switch self {
        case .noPath: "a multipath map needs at least one path"
        case .emptyDevice: "a multipath map needs a LUN of at least one sector"
        case .duplicatePath(let path): "path \(path) is listed twice"
        }
    }
}

/// The messages the multipath target takes (DM_TARGET_MSG, sector 0), as
/// `multipath_message` in drivers/md/dm-mpath.c reads them.
public enum MultipathMessage: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// New I/O avoids the path; I/O already sent to it is retried on the others.
    case failPath(DeviceNumber)
    /// The path takes I/O again.
    case reinstatePath(DeviceNumber)
    /// With no usable path, I/O waits (the default this agent loads the map with).
    case queueIfNoPath
    /// With no usable path, I/O fails, the I/O already queued too.
    case failIfNoPath

    public var text: String {
        switch self {
        case .failPath(let path): "fail_path \(path)"
        case .reinstatePath(let path): "reinstate_path \(path)"
        case .queueIfNoPath: "queue_if_no_path"
        case .failIfNoPath: "fail_if_no_path"
        }
    }

    public var description: String { text }
}
