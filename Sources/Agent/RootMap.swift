#if canImport(Glibc)
    import Glibc
#endif
import ISCSI
import LinuxSystem
import Multipath

/// The root's dm-multipath map in `/init` (`BootPlan.multipathRoot`): built by the boot over
/// the first path's disk once the root is found there, before anything is mounted; every
/// other path's session process adds its disk when it is logged in (`join`), and each
/// session's supervisor fails and reinstates its own path (`MapPath`). Named as
/// multipath-tools names a map without user_friendly_names: the LUN's WWID, with the UUID
/// `mpath-<WWID>` and `/dev/mapper/<WWID>` (a link to the dm-N node, as udev makes it);
/// a partition gets a linear map `<WWID>-part<N>` as kpartx makes it (`PartitionMap`).
struct RootMap: Equatable, Sendable {
    /// The map's name: the LUN's WWID (`LUNIdentity.wwid`).
    let name: String
    /// The LUN number every path's disk has in its session.
    let lun: Int

    var uuid: String { MultipathTable.uuid(wwid: name) }
    /// How every change after the build names the map: by its UUID, which multipathd keeps
    /// when it adopts the map in the real root and renames it (user_friendly_names: mpatha).
    var device: DeviceMapperIoctl.Device { .uuid(uuid) }
    var devicePath: String { "/dev/mapper/\(name)" }

    /// Where the boot records the map for the path processes (forked before it exists):
    /// one line, "NAME LUN", or "none" when the LUN got no map (`Record`).
    static let recordPath = "/run/iscsi-root/multipath"
    /// Held while a table is read and reloaded, so that two paths joining at once do not
    /// each load a table without the other.
    static let lockPath = "/run/iscsi-root/multipath.lock"

    /// A block device's number, from sysfs.
    static func deviceNumber(of block: String) -> DeviceNumber? {
        readText("/sys/class/block/\(block)/dev").flatMap { DeviceNumber($0) }
    }

    /// Builds the map over `disk` (the first path's), and the partition map when the root is
    /// a partition of it; returns the map and the device to mount in place of `rootDevice`.
    /// A LUN without a usable identifier gets no map: nil, and the reason in `warning`
    /// (the root is then mounted from the path, as with `iscsi.multipath=off`).
    static func build(over disk: String, lun: Int, rootDevice: String, warning: inout String?) throws(BootFailure)
        -> (map: RootMap, mountDevice: String)?
    {
        let failure = { (reason: String) in
            BootFailure(
                step: "root device", reason: reason,
                check: "that dm_multipath is in the initramfs and the kernel has device-mapper (iscsi.multipath=off boots without a map)")
        }
        let identity: LUNIdentity
        switch LUNCheck.identity(ofDisk: disk) {
        case .success(let found): identity = found
        case .failure(let problem):
            warning = "\(problem); no multipath map, the root stays on one path"
            record("none")
            return nil
        }
        guard let wwid = identity.wwid else {
            warning = "LUN \(lun) (\(disk)) is known only as \(identity), which names no map; no multipath map, the root stays on one path"
            record("none")
            return nil
        }
        guard let path = deviceNumber(of: disk), let sectors = readText("/sys/block/\(disk)/size").flatMap({ UInt64($0) }) else {
            throw failure("\(disk) has no device number or size in sysfs")
        }
        let map = RootMap(name: wwid, lun: lun)
        let table: MultipathTable
        do throws(MultipathTableError) { table = try MultipathTable(sectors: sectors, paths: [path]) } catch {
            throw failure("no multipath table over \(disk): \(error)")
        }
        // What was created, so that a build failing half-way leaves nothing holding the disk.
        var created: [String] = []
        do throws(DeviceMapperError) {
            let control = try DeviceMapper()
            let mapNumber = try control.create(name: map.name, uuid: map.uuid)
            created.append(map.uuid)
            try control.loadTable(map.device, targets: [table.target])
            try control.resume(map.device)
            link(map.devicePath, to: mapNumber)
            var mountDevice = map.devicePath
            let rootName = String(rootDevice.dropFirst("/dev/".count))
            if rootName != disk, let number = readText("/sys/class/block/\(rootName)/partition").flatMap({ Int($0) }),
                let start = readText("/sys/class/block/\(rootName)/start").flatMap({ UInt64($0) }),
                let size = readText("/sys/class/block/\(rootName)/size").flatMap({ UInt64($0) })
            {
                let partition = PartitionMap(number: number, start: start, sectors: size)
                let name = partition.name(map: map.name)
                let device = try control.create(name: name, uuid: partition.uuid(mapUUID: map.uuid))
                created.append(partition.uuid(mapUUID: map.uuid))
                try control.loadTable(.name(name), targets: [partition.target(map: mapNumber)])
                try control.resume(.name(name))
                link("/dev/mapper/\(name)", to: device)
                mountDevice = "/dev/mapper/\(name)"
            }
            record("\(map.name) \(lun)")
            return (map, mountDevice)
        } catch {
            if let control = try? DeviceMapper() {
                for uuid in created.reversed() { try? control.remove(.uuid(uuid)) }
            }
            throw failure("\(error)")
        }
    }

    /// What the boot recorded for the paths: the map, or that the root has none.
    enum Record: Equatable {
        case map(RootMap)
        /// The LUN has no usable identifier: the root stays on its first path.
        case noMap
    }

    private static func record(_ line: String) {
        mkdir("/run/iscsi-root", 0o755)
        try? writeFile(Array("\(line)\n".utf8), to: recordPath, mode: 0o644)
    }

    /// What the boot recorded, if it has by now.
    static func recorded() -> Record? {
        guard let text = readText(recordPath) else { return nil }
        if text == "none" { return .noMap }
        let words = text.split(separator: " ")
        guard words.count == 2, let lun = Int(words[1]) else { return nil }
        return .map(RootMap(name: String(words[0]), lun: lun))
    }

    /// Adds `disk` (another path's, logged in after the map was built) to the map: the live
    /// table with the path appended is loaded and swapped in without flushing (I/O the map
    /// queues stays queued). Nothing to do when the map has it already.
    func add(_ path: DeviceNumber) -> MapProblem? {
        let lock = open(Self.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if lock >= 0 { _ = flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        do throws(DeviceMapperError) {
            let control = try DeviceMapper()
            guard let live = try control.status(device, table: true).first else { return MapProblem("the map \(name) has no table") }
            var table: MultipathTable
            do throws(MultipathStatusError) { table = try MultipathTable(parsingLive: live.parameters, sectors: live.length) } catch {
                return MapProblem("the map \(name)'s table cannot be read: \(error)")
            }
            guard !table.paths.contains(path) else { return nil }
            table.paths.append(path)
            try control.loadTable(device, targets: [table.target])
            try control.suspend(device, keepQueuedIO: true)
            try control.resume(device)
            return nil
        } catch {
            return MapProblem("\(error)")
        }
    }

    /// /dev/mapper/NAME → ../dm-N, as udev links it (devtmpfs makes only dm-N).
    private static func link(_ path: String, to device: DeviceNumber) {
        mkdir("/dev/mapper", 0o755)
        let block = readLink("/sys/dev/block/\(device)").split(separator: "/").last.map(String.init) ?? ""
        guard !block.isEmpty else { return }
        unlink(path)
        _ = symlink("../\(block)", path)
    }

    private static func readLink(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return "" }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Why a path is not in the map, or the map could not be changed.
struct MapProblem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A session's path in the root's map: the supervisor fails it when the connection breaks
/// and reinstates it once the session is logged in again (`PathPolicy`, with this path
/// alone: each path's process decides for its own path).
struct MapPath {
    let map: RootMap
    let device: DeviceNumber
    /// The path's disk (sdX), for the lines.
    let disk: String
    var policy: PathPolicy
    /// The session's replacement timeout once in the map (`BootPlan.pathReplacementTimeout`);
    /// nil when it could not be set and the plan's stays.
    var replacementTimeout: Int?
    var failures = 0
    /// Monotonic milliseconds of the last failure or reinstatement, and which it was.
    var lastSwitch: (milliseconds: Int64, failed: Bool)?

    init(map: RootMap, device: DeviceNumber, disk: String, replacementTimeout: Int) {
        self.map = map
        self.device = device
        self.disk = disk
        self.replacementTimeout = replacementTimeout
        policy = PathPolicy(paths: [device])
    }

    /// Gives the path's session its short replacement timeout, now that the map is there to
    /// take the I/O it fails; nil when set. Through sysfs, not at login: a path logs in with
    /// the plan's, so that a path that does not join (no map, another LUN) keeps queueing as a
    /// single-path root must; and the kernel keeps a value written there over the one each
    /// re-login sets (`recovery_tmo_sysfs_override`).
    func shortenReplacementTimeout(sessionID: UInt32) -> MapProblem? {
        guard let replacementTimeout else { return nil }
        let path = "/sys/class/iscsi_session/session\(sessionID)/recovery_tmo"
        do throws(SystemError) { try writeAttribute(String(replacementTimeout), to: path) } catch {
            return MapProblem("\(disk) keeps the plan's replacement timeout: \(error)")
        }
        return nil
    }

    /// Sends what `decision` asks of the map; one line per message sent or refused, and one
    /// for a hold (flapping). The policy's own lines are not used: it knows this path alone,
    /// and the lines here say how many of the map's paths are active.
    mutating func apply(_ decision: PathPolicy.Decision, at now: Int64, log: inout BootLog, session: UInt32) {
        let name = "path \(disk) (\(device))"
        var heldUntil: Int64?
        if case .held(let until, _) = policy.state(of: device) { heldUntil = until }
        for action in decision.actions {
            // Only this path's messages: queueing stays as loaded (the root map always queues).
            guard case .send(let message) = action else { continue }
            let failed: Bool
            switch message {
            case .failPath: failed = true
            case .reinstatePath: failed = false
            case .queueIfNoPath, .failIfNoPath: continue
            }
            do throws(DeviceMapperError) {
                try DeviceMapper().sendMessage(map.device, message.text)
            } catch {
                log.line("session \(session): \(message.text) to \(map.name) refused: \(error)")
                continue
            }
            var hold = ""
            if failed, let heldUntil, let last = lastSwitch, !last.failed {
                hold =
                    "; it failed again \(now - last.milliseconds) ms after it came back: held failed for \((heldUntil - now) / 1000) s (flapping)"
            }
            if failed { failures += 1 }
            lastSwitch = (now, failed)
            log.line(
                "session \(session): \(name) \(failed ? "failed" : "reinstated") in \(map.name)" + (summary.map { ": \($0)" } ?? "") + hold)
        }
        if decision.actions.isEmpty, case .held(let heldUntil, true) = policy.state(of: device), heldUntil > now {
            log.line("session \(session): \(name) is logged in again but held failed for \((heldUntil - now) / 1000) s more (flapping)")
        }
    }

    /// This path's state in the live map ("active", "failed", "not in the map"), the map's
    /// paths ("1 of 2 paths active") and its device as named now (multipathd may have renamed
    /// it: /dev/mapper/mpatha), from one status read; nils when it cannot be read.
    var liveState: (state: String?, summary: String?, device: String?) {
        guard let control = try? DeviceMapper(), let reply = try? control.perform(.tableStatus(map.device, table: false)),
            let target = try? reply.targets().first, let status = try? MultipathStatus(parsing: target.parameters)
        else { return (nil, nil, nil) }
        let paths = status.paths
        let state = status.path(device).map { $0.isActive ? "active" : "failed" } ?? "not in the map"
        return (state, "\(paths.filter { $0.isActive }.count) of \(paths.count) paths active", "/dev/mapper/\(reply.name)")
    }

    /// The map's paths as the kernel has them now: "2 of 2 paths active".
    var summary: String? { liveState.summary }
}
