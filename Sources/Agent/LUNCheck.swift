#if canImport(Glibc)
    import Glibc
#endif
import ISCSI
import Initiator
import KernelSession
import LinuxSystem

/// The session's disk as the boot found it (its LUN's identity and size), and what a
/// recovery learns before it hands the target the kernel's queued writes again: a target
/// that came back presenting another LUN under the same name and number gets none of them.
///
/// The kernel cannot ask by itself: once the session's connection is started, the writes it
/// held flow at once. So the recovery first reads the LUN's Device Identification page and
/// capacity through a short session of its own (another ISID: the target must not take it
/// for the kernel session's reinstatement), compares, and only then logs the kernel's
/// session in.
struct LUNCheck {
    let disk: String
    let lun: LogicalUnit
    let identity: LUNIdentity
    /// In 512-byte sectors, as /sys/block/<disk>/size counts.
    private(set) var sectors: UInt64?

    struct Unavailable: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// What the kernel read when it attached `disk`: the LUN's identity (`identity(ofDisk:)`),
    /// the LUN from the SCSI address, the size.
    init(disk: String) throws(Unavailable) {
        let device = "/sys/block/\(disk)/device"
        guard let address = Self.scsiAddress(of: device), let lun = address.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw Unavailable(description: "\(device) names no SCSI address")
        }
        switch Self.identity(ofDisk: disk) {
        case .success(let found): identity = found
        case .failure(let problem): throw problem
        }
        self.disk = disk
        self.lun = LogicalUnit(lun)
        sectors = readText("/sys/block/\(disk)/size").flatMap { UInt64($0) }
    }

    /// The LUN's identity (VPD page 0x83) as the kernel read it on `disk`, or else as the LUN
    /// answers an INQUIRY for the page now (the kernel keeps no copy for a LUN that lists no
    /// VPD page, as LIO without a unit serial); or why there is none usable. The recovery's
    /// check and the root's multipath map both go by it.
    static func identity(ofDisk disk: String) -> Result<LUNIdentity, Unavailable> {
        let page: [UInt8]
        if let kept = try? readFile(at: "/sys/block/\(disk)/device/vpd_pg83", limit: 4096) {
            page = kept
        } else {
            switch askedPage(disk) {
            case .success(let answer): page = answer
            case .failure(let problem): return .failure(problem)
            }
        }
        guard let designators = try? deviceDesignators(page), let identity = LUNIdentity(designators) else {
            return .failure(Unavailable(description: "\(disk) has no logical-unit designator in VPD page 0x83"))
        }
        return .success(identity)
    }

    /// INQUIRY with EVPD for page 0x83 on /dev/`disk` (SG_IO).
    private static func askedPage(_ disk: String) -> Result<[UInt8], Unavailable> {
        let descriptor = open("/dev/\(disk)", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(Unavailable(description: "\(SystemError("open /dev/\(disk)"))")) }
        defer { close(descriptor) }
        do throws(SystemError) {
            let reply = try scsiCommandReadingData(
                descriptor, cdb: CDB.inquiry(vitalProductDataPage: 0x83, allocationLength: 1024), dataLength: 1024,
                timeoutMilliseconds: 10_000)
            guard reply.succeeded else {
                return .failure(
                    Unavailable(
                        description:
                            "\(disk) answered INQUIRY for VPD page 0x83 with SCSI status \(reply.status), host status \(reply.hostStatus)"))
            }
            return .success(reply.data)
        } catch {
            return .failure(
                Unavailable(description: "no VPD page 0x83 for \(disk), neither kept by the kernel nor answered to INQUIRY: \(error)"))
        }
    }

    /// As the boot would have recorded it (tests).
    init(disk: String, lun: LogicalUnit, identity: LUNIdentity, sectors: UInt64?) {
        self.disk = disk
        self.lun = lun
        self.identity = identity
        self.sectors = sectors
    }

    /// `device` is a link to the SCSI device's directory, named H:C:T:L.
    private static func scsiAddress(of device: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(device, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return target.split(separator: "/").last.map(String.init)
    }

    /// What to do with a re-login, given what the LUN says now.
    enum Verdict: Equatable {
        /// The same LUN; `resized` when its capacity is not what the kernel knows.
        case same(resized: (was: UInt64, now: UInt64)?)
        /// Another LUN: no re-login; the kernel keeps holding the writes.
        case different(now: String)

        static func == (left: Verdict, right: Verdict) -> Bool {
            switch (left, right) {
            case (.same(let a), .same(let b)): a?.was == b?.was && a?.now == b?.now
            case (.different(let a), .different(let b)): a == b
            default: false
            }
        }
    }

    /// Pure: the LUN's designators and capacity now against the boot's.
    func verdict(designators: [DeviceDesignator], capacity: Capacity?) -> Verdict {
        guard let now = LUNIdentity(designators), now.isSameLogicalUnit(as: identity) else {
            return .different(now: LUNIdentity(designators)?.description ?? "no logical-unit designator")
        }
        guard let capacity, let sectors else { return .same(resized: nil) }
        let bytes = (capacity.lastLogicalBlock + 1) &* UInt64(capacity.blockLength)
        return bytes / 512 == sectors ? .same(resized: nil) : .same(resized: (was: sectors, now: bytes / 512))
    }

    /// What the probe found at a portal.
    enum Probe {
        case verdict(Verdict)
        /// The portal did not answer (no TCP, or the connection broke): the re-login would
        /// fail the same way, so this counts as the attempt.
        case unreachable(String)
        /// The target answered but would not show the LUN to a second session (it refused
        /// the login, or the commands): the re-login goes ahead unchecked.
        case unchecked(String)
    }

    /// Logs in at `plan`'s portal beside the kernel's session, reads the LUN, logs out.
    func probe(_ plan: KernelSessionPlan) -> Probe {
        var configuration = plan.login
        // Another ISID (the qualifier's top bit flipped), no TSIH: a session of its own.
        if configuration.isid.count == 6 { configuration.isid[4] ^= 0x80 }
        configuration.tsih = 0
        configuration.initiatorTaskTag = 0
        do {
            var session = try Session.login(
                at: plan.portal, configuration: configuration, timeoutMilliseconds: plan.timeoutMilliseconds,
                interfaceIndex: plan.interfaceIndex)
            let reports = try session.probe(only: lun)
            try? session.logout()
            guard let report = reports.first else { return .unchecked("the target reported nothing for LUN \(lun)") }
            return .verdict(verdict(designators: report.designators, capacity: report.capacity))
        } catch {
            switch error {
            case .connection, .connectionLost, .framing, .badPortal: return .unreachable("\(error)")
            default: return .unchecked("\(error)")
            }
        }
    }

    /// The kernel learns the new capacity (`device/rescan` re-reads it) in a process of its
    /// own, which says what it saw: the rescan's commands go through the session, which only
    /// the supervisor repairs, so the supervisor never waits for it.
    mutating func rescan(log: BootLog, sessionID: UInt32, was: UInt64, now: UInt64) {
        sectors = now
        let disk = self.disk
        switch try? forkProcess() {
        case .child:
            // One more fork, so that the supervisor reaps this child at once and init the
            // grandchild; without it, this child does the work itself.
            if case .parent = try? forkProcess() { _exit(0) }
            var log = log
            let written = ProcessPinning.writeExisting("1", to: "/sys/block/\(disk)/device/rescan")
            let size = readText("/sys/block/\(disk)/size") ?? "?"
            log.line(
                written
                    ? "session \(sessionID): \(disk) rescanned: \(size) sectors of 512 bytes (was \(was), the target says \(now))"
                    : "session \(sessionID): \(disk): the rescan failed (\(SystemError("write /sys/block/\(disk)/device/rescan"))); the kernel still counts \(was) sectors"
            )
            _exit(0)
        case .parent(let child):
            _ = waitForExit(child, deadline: .now().advanced(byMilliseconds: 1000))
        case nil:
            var log = log
            log.line("session \(sessionID): \(disk): no rescan (\(SystemError("fork"))); the kernel still counts \(was) sectors")
        }
    }
}
