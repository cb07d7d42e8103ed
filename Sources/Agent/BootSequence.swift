#if canImport(Glibc)
    import Glibc
#endif
import BootConfig
import CShims
import ISCSI
import KernelSession
import LinuxSystem
import NetworkSetup

/// The boot path (ARCHITECTURE.md) from the plan to the real init, one logged step each:
/// plan → modules → network → login → root device → mount → supervisor → switch_root.
public enum BootSequence {
    /// Where the root is mounted before it becomes `/`.
    public static let newRoot = "/sysroot"
    /// Where systemd-shutdown looks for a shutdown ramdisk (systemd's initrd interface).
    static let shutdownRamdisk = "/run/initramfs"

    /// How far the sequence goes: to the real init (`/init` of the standalone initramfs), or
    /// to the logged-in root device for a framework that mounts the root itself
    /// (`iscsi-root login` from a dracut or initramfs-tools hook).
    enum Mode {
        case initramfs
        case hook(HookOptions)
    }

    /// Runs every step; returns only with the reason the root could not be reached.
    public static func run(log: inout BootLog) -> BootFailure {
        do throws(BootFailure) {
            try boot(mode: .initramfs, log: &log)
        } catch {
            return error
        }
    }

    /// Hook mode: plan, modules, network (unless the framework configured it), login, root
    /// device, supervisor; then prints the root device on standard output and exits 0. The
    /// framework mounts the root. Called again while a supervisor of the plan's target
    /// answers (a retry loop), it prints the device again and exits 0. Returns only with the
    /// reason the root could not be reached.
    public static func runHook(_ options: HookOptions, log: inout BootLog) -> BootFailure {
        do throws(BootFailure) {
            try boot(mode: .hook(options), log: &log)
        } catch {
            return error
        }
    }

    private static func boot(mode: Mode, log: inout BootLog) throws(BootFailure) -> Never {
        let plan = try Self.step("plan", log: &log) { () throws(BootFailure) in
            let plan: BootPlan
            let inputs: BootInputs
            do throws(BootConfigError) {
                inputs = try BootInputs.runningMachine(loadingModules: true)
                plan = try inputs.resolve()
            } catch {
                throw BootFailure(
                    step: "plan", reason: "\(error)", check: "the kernel command line (run `iscsi-root plan` on a machine to check it)")
            }
            // The table's origin matters when it is used: the boot log says which one it was.
            let firmware = inputs.firmwareSearch.source.map { "; \($0)" } ?? ""
            return (
                plan,
                plan.targets.map { "\($0.name.value) at \($0.portals.map({ $0.value.description }).joined(separator: ", "))" }.joined(
                    separator: "; ") + firmware
            )
        }
        for warning in plan.warnings { log.line("warning: \(warning)") }
        if case .hook = mode { try reportRunningSupervisor(plan, log: &log) }
        do throws(BootFailure) {
            try bootPlanned(plan, mode: mode, log: &log)
        } catch {
            var failure = error
            failure.action = plan.onFailure.value
            throw failure
        }
    }

    private static func bootPlanned(_ plan: BootPlan, mode: Mode, log: inout BootLog) throws(BootFailure) -> Never {

        try Self.step("modules", log: &log) { () throws(BootFailure) in
            do throws(KernelModuleError) {
                let modules = try KernelModules()
                var loaded: [String] = []
                for name in ["iscsi_tcp", "sd_mod"] { loaded += try modules.load(name) }
                // No modprobe helper in the initramfs: the kernel cannot load it on demand.
                if Self.needsVLAN(plan) { loaded += try modules.load("8021q") }
                if case .initramfs = mode, plan.multipathRoot {
                    for name in ["dm_multipath", "dm_service_time"] { loaded += try modules.load(name) }
                }
                // In hook mode udev has loaded the NIC drivers and the framework mounts the root.
                if case .initramfs = mode {
                    for bus in ["pci", "virtio"] { loaded += try modules.loadDrivers(forDevicesOnBus: bus) }
                    loaded += try modules.load(plan.root.filesystemType?.value ?? "ext4", required: false)
                }
                return ((), "\(loaded.count) loaded")
            } catch {
                throw BootFailure(
                    step: "modules", reason: "\(error)", check: "that the initramfs was built for this kernel (make initramfs KVER=…)")
            }
        }

        let firstPortal = plan.targets.first?.portals.first?.value
        let interface = try Self.step("network", log: &log) { () throws(BootFailure) in
            if case .hook = mode, let existing = NetworkSetup.existingConfiguration(Self.interfaceSelector(plan)) {
                return (existing, "\(existing.name) \(existing.address) (configured already)")
            }
            let configured = try Self.configureNetwork(plan, targetHost: firstPortal?.host)
            // IPv6: how long duplicate address detection (or the router's advertisement) held the login back.
            let waited = configured.stepDurations.first { $0.step == "dad" || $0.step == "slaac" }
            return (
                configured,
                "\(configured.name) \(configured.address)" + (configured.gateway.map { " via \($0)" } ?? "")
                    + configured.otherFamilySummary
                    + (waited.map { "; \($0.step == "dad" ? "DAD" : "SLAAC") \($0.milliseconds) ms" } ?? "")
                    + (configured.dhcpv6Lease.map { "; DHCPv6 lease \($0.summary)" } ?? "")
            )
        }

        let hookMode: Bool
        if case .hook = mode { hookMode = true } else { hookMode = false }
        Self.configureOtherNICs(plan, boot: interface, hookMode: hookMode, log: &log)

        var targets = plan.targets.map { $0.reachingLinkLocalPortals(through: interface.name) }
        if targets.isEmpty, plan.targetFromDHCP != nil {
            var frameworkRootPath: String?
            if case .hook(let options) = mode { frameworkRootPath = options.rootPath }
            guard let rootPath = frameworkRootPath ?? interface.rootPath else {
                throw BootFailure(
                    step: "plan",
                    reason: interface.dhcpv6Lease == nil
                        ? "netroot=dhcp, but the DHCP server sent no root path (option 17)"
                        : "netroot=dhcp6, but the DHCPv6 server sent no iscsi: boot-file URL (option 59)",
                    check: "the DHCP server's root-path option")
            }
            do { targets = [try TargetPlan(dhcpRootPath: rootPath)] } catch {
                throw BootFailure(step: "plan", reason: "\(error)", check: "the DHCP server's root-path option")
            }
        }
        let initiatorName = Self.initiatorName(plan, interface: interface)

        // Several sessions: every target after the root's gets a process of its own, started
        // before the root's login so that all logins run together; the boot waits only for
        // the root's. In hook mode every portal is a session (a path, `BootPlan.hookSessions`)
        // and the processes leave the hook like the supervisor, so that the framework's md,
        // LVM and multipath find every session's disks.
        // /init with several portals to the root's target: each is a path of the root's map.
        let mapped = !hookMode && plan.multipathRoot
        var peers: [SessionSupervisor.Peer] = []
        func startSession(_ target: TargetPlan, plans: [KernelSessionPlan], rootMapPathTimeout: Int? = nil, log: inout BootLog) {
            let index = peers.count + 1
            if let pid = SessionProcess.start(
                index: index, target: target, plans: plans, initiatorName: initiatorName, detachFromHook: hookMode,
                rootMapPathTimeout: rootMapPathTimeout, log: &log)
            {
                peers.append(.init(socketName: ControlRequest.sessionSocketName(index: index), pid: pid, target: target.name.value))
            }
        }
        for target in targets.dropFirst() {
            for session in hookMode ? target.portals.indices.map(target.path) : [target] {
                startSession(
                    session, plans: try Self.sessionPlans(session, plan: plan, initiatorName: initiatorName, pathPerPortal: hookMode),
                    log: &log)
            }
        }
        if !peers.isEmpty {
            log.line(
                "sessions: \(peers.count + 1) planned; the boot waits for \(targets[0].name.value); logging in alongside: "
                    + peers.map { "\($0.target) (pid \($0.pid))" }.joined(separator: ", "))
        }

        do throws(BootFailure) {
            let loginStart = MonotonicInstant.now()
            let root = try logIn(
                Array(targets.prefix(1)), plan: plan, initiatorName: initiatorName, interface: interface,
                pathPerPortal: hookMode || mapped, mapped: mapped, log: &log)
            log.line(
                "login: \(root.target.name.value) at \(Self.portalText(root.session.portal, asked: root.plans[0].portal.description)) "
                    + "as \(initiatorName), session \(root.session.sessionID) "
                    + "(\(loginStart.milliseconds(until: .now())) ms)")
            // The root target's other portals are paths of their own (hook mode, or the root's
            // map), logged in alongside once the root's is up (any of them may carry it).
            if !root.otherPaths.isEmpty {
                let before = peers.count
                for path in root.otherPaths {
                    var target = root.target
                    target.portals = [Sourced(path.portal, from: root.target.name.source)]
                    startSession(target, plans: [path], rootMapPathTimeout: mapped ? plan.pathReplacementTimeout.value : nil, log: &log)
                }
                log.line(
                    "sessions: \(root.target.name.value)'s other path(s) logging in alongside: "
                        + peers[before...].map { "pid \($0.pid)" }.joined(separator: ", ")
                        + " at " + root.otherPaths.map { $0.portal.description }.joined(separator: ", "))
            }
            recordSession(interface: interface.name, target: root.target.name.value, log: &log)
            try finish(root, plan: plan, mode: mode, mapped: mapped, peers: peers, log: &log)
        } catch {
            // No supervisor will ever log the other sessions out, and a hook that is run again
            // starts them afresh: they log out (or stop trying) now.
            if !peers.isEmpty {
                let deadline = MonotonicInstant.now().advanced(byMilliseconds: Self.abandonedSessionsLogoutMilliseconds)
                if case .done(let lines) = SessionSupervisor.logOut(peers, forced: true, until: deadline) {
                    for line in lines { log.line("sessions: \(line)") }
                }
            }
            throw error
        }
    }

    /// How long a failed boot gives the other sessions to log out, all together.
    static let abandonedSessionsLogoutMilliseconds = 10_000

    /// The root's session once the boot logged in, with the portal plans in the order
    /// recovery tries them (the one that worked first) and the target it belongs to. The
    /// supervisor consumes the session: no other part of the boot can log it out.
    struct LoggedInRoot: ~Copyable {
        var session: KernelSession
        let plans: [KernelSessionPlan]
        let target: TargetPlan
        /// Hook mode: the target's other portals, each a path's session to start.
        let otherPaths: [KernelSessionPlan]
    }

    /// Root device, then mount, supervisor, switch_root (init mode) or supervisor and the
    /// device on standard output (hook mode): everything after the login.
    private static func finish(
        _ root: consuming LoggedInRoot, plan: BootPlan, mode: Mode, mapped: Bool, peers: [SessionSupervisor.Peer], log: inout BootLog
    ) throws(BootFailure) -> Never {
        let session = root.session
        let plans = root.plans
        let target = root.target
        let pathCount = root.otherPaths.count + 1
        let hostNumber = session.hostNumber
        var handOver: Int?
        if case .hook = mode { handOver = Self.hookHandOver(plan.root.device.value) }
        var rootMap: RootMap?
        var mapWarning: String?
        let (disk, device) = try Self.step("root device", log: &log) { () throws(BootFailure) in
            let (disk, found) = try Self.waitForRoot(
                hostNumber: hostNumber, lun: target.lun.value?.number, plan: plan.root, handOverAfterMilliseconds: handOver)
            let timeout =
                RootFilesystem.raiseCommandTimeout(of: disk) ? ", SCSI command timeout \(RootFilesystem.commandTimeoutSeconds) s" : ""
            guard let found else {
                return (
                    (disk, plan.root.device.value.commandLineValue), Self.leftToFramework(plan.root, target: target.name.value, disk: disk)
                )
            }
            // Found on the first path's disk: mounted from the map over it, never from one path.
            if mapped, let built = try RootMap.build(over: disk.name, lun: disk.lun, rootDevice: found, warning: &mapWarning) {
                rootMap = built.map
                return (
                    (disk, built.mountDevice),
                    "\(built.mountDevice) (LUN \(disk.lun)\(timeout); \(found) on a multipath map over \(disk.name), "
                        + "the other paths join it once logged in)"
                )
            }
            return ((disk, found), "\(found) (LUN \(disk.lun)\(timeout))")
        }
        if let mapWarning { log.line("warning: \(mapWarning)") }
        var mapPath = rootMap.flatMap { map in
            RootMap.deviceNumber(of: disk.name).map {
                MapPath(map: map, device: $0, disk: disk.name, replacementTimeout: plan.pathReplacementTimeout.value)
            }
        }
        if let problem = mapPath?.shortenReplacementTimeout(sessionID: session.sessionID) {
            log.line("warning: \(problem)")
            mapPath?.replacementTimeout = nil
        }

        if case .hook = mode {
            allowExecutionInRun(log: &log)
            let supervisorStart = MonotonicInstant.now()
            let pid = try startSupervisor(session: session, plans: plans, disk: disk.name, hookMode: true, peers: peers, log: log)
            // With several paths the device is one path's: the framework's multipath maps them.
            log.line(
                "supervisor: pid \(pid) (\(supervisorStart.milliseconds(until: .now())) ms); the framework mounts "
                    + (pathCount > 1 ? "the root from its multipath map over the \(pathCount) paths (\(device) is one)" : device))
            printRootDevice(device)
        }

        try Self.step("mount", log: &log) { () throws(BootFailure) in
            do throws(SystemError) {
                let type = try RootFilesystem.mount(device, at: Self.newRoot, plan: plan.root)
                return ((), "\(device) on \(Self.newRoot) (\(type), \(plan.root.readOnly.value ? "ro" : "rw"))")
            } catch {
                throw BootFailure(step: "mount", reason: "\(error)", check: "rootfstype= and rootflags=, and the filesystem on \(device)")
            }
        }

        let supervisorStart = MonotonicInstant.now()
        let pid = try startSupervisor(
            session: session, plans: plans, disk: disk.name, hookMode: false, peers: peers, mapPath: mapPath, log: log)
        log.line("supervisor: pid \(pid) (\(supervisorStart.milliseconds(until: .now())) ms)")

        log.line("switching to \(plan.root.initPath?.value ?? "/sbin/init")")
        do {
            try SwitchRoot.run(newRoot: Self.newRoot, initPath: plan.root.initPath?.value, arguments: [])
        } catch {
            throw BootFailure(step: "switch_root", reason: "\(error)", check: "init= and the root filesystem's /sbin/init")
        }
    }

    /// Logs `NAME: SUMMARY (N ms)` for a step that succeeded, `NAME failed after N ms: …` otherwise.
    private static func step<Value>(
        _ name: String, log: inout BootLog, _ body: () throws(BootFailure) -> (Value, String)
    ) throws(BootFailure) -> Value {
        let start = MonotonicInstant.now()
        do {
            let (value, summary) = try body()
            log.line("\(name): \(summary) (\(start.milliseconds(until: .now())) ms)")
            return value
        } catch {
            log.line("\(name) failed after \(start.milliseconds(until: .now())) ms: \(error.reason)")
            throw error
        }
    }

    // MARK: Network

    /// The NIC the plan names (by name or MAC), else the first one with a carrier.
    private static func interfaceSelector(_ plan: BootPlan) -> InterfaceConfiguration.Selector {
        selector(of: plan.interfaces.first ?? InterfacePlan(source: .defaultValue, method: .dhcp), plan: plan) ?? .firstWithCarrier
    }

    /// The NIC `interface` names (by name or MAC; the physical device of a `vlan=` device it
    /// names), or nil when it names none.
    static func selector(of interface: InterfacePlan, plan: BootPlan) -> InterfaceConfiguration.Selector? {
        // ip= on a vlan= device: the physical device is found, the VLAN made on top of it.
        if let vlan = vlanDevice(of: interface, plan: plan) { return .name(vlan.parent) }
        if let device = interface.device { return .name(device) }
        if let mac = interface.mac?.value { return .macAddress(mac) }
        return nil
    }

    /// The `vlan=` device that `interface`'s `ip=` names, if it names one.
    private static func vlanDevice(of interface: InterfacePlan, plan: BootPlan) -> VLANDevice? {
        guard let device = interface.device else { return nil }
        return plan.vlans.first { $0.value.name == device }?.value
    }

    /// Whether the plan puts the boot interface on a VLAN (`vlan=` or the iBFT's VLAN id).
    static func needsVLAN(_ plan: BootPlan) -> Bool {
        guard let boot = plan.interfaces.first else { return false }
        return vlanDevice(of: boot, plan: plan) != nil || (boot.vlan ?? 0) != 0
    }

    private static func configureNetwork(_ plan: BootPlan, targetHost: String?) throws(BootFailure) -> ConfiguredInterface {
        let interface = plan.interfaces.first ?? InterfacePlan(source: .defaultValue, method: .dhcp)
        var configuration = try Self.configuration(of: interface, selector: interfaceSelector(plan), plan: plan)
        configuration.otherFamily = plan.bootInterfaceOtherFamily.flatMap(Self.otherFamilyMethod)
        return try Self.configure(configuration, targetHost: targetHost, timeoutMilliseconds: Self.networkTimeoutMilliseconds)
    }

    /// `interface` as `NetworkSetup` takes it, found through `selector`, with its VLAN.
    static func configuration(
        of interface: InterfacePlan, selector: InterfaceConfiguration.Selector, plan: BootPlan
    ) throws(BootFailure) -> InterfaceConfiguration {
        let method: InterfaceConfiguration.Method
        switch interface.method {
        case .static,
            .firmware where interface.address != nil:
            guard let address = interface.address else {
                throw BootFailure(step: "network", reason: "no address for \(selector)", check: "ip=")
            }
            method = .manual(
                .init(
                    address: InterfaceAddress(address, prefixLength: interface.prefixLength ?? address.maximumPrefixLength),
                    gateway: interface.gateway, dnsServers: interface.dns, mtu: interface.mtu.map(UInt32.init)))
        case .auto6:
            method = .ipv6Autoconfiguration
        case .either6:
            method = .ipv6AutoconfigurationOrDHCPv6
        case .dhcp6:
            method = .dhcpv6
        case .link6:
            method = .ipv6LinkLocal
        default:
            method = .dhcp
        }
        let vlan = vlanDevice(of: interface, plan: plan)
        var configuration = InterfaceConfiguration(
            interface: selector, method: method, vlanID: vlan?.id ?? interface.vlan, vlanName: vlan?.name,
            hostName: interface.hostname)
        configuration.hostName = interface.hostname
        return configuration
    }

    /// `NetworkSetup.configure`, its errors as the network step's failure.
    static func configure(
        _ configuration: InterfaceConfiguration, targetHost: String?, timeoutMilliseconds: Int
    ) throws(BootFailure) -> ConfiguredInterface {
        do {
            return try NetworkSetup.configure(configuration, targetAddress: targetHost, timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            if case .noSuchInterface(let wanted, _) = error, let vlanName = configuration.vlanName,
                case .name(wanted) = configuration.interface
            {
                throw BootFailure(
                    step: "network", reason: "vlan=\(vlanName):\(wanted): \(error)",
                    check: "vlan=: the physical device \(wanted) must exist at boot (its driver in the initramfs)")
            }
            throw BootFailure(step: "network", reason: "\(error)", check: "the cable / virtual NIC, ip= and the DHCP server")
        }
    }

    /// Carrier, DHCP retries and routes must fit in this (DHCP's own backoff is bounded within).
    static let networkTimeoutMilliseconds = 60_000

    // MARK: Login

    /// Where the session logged in, and which portal redirected it there, if one did.
    static func portalText(_ loggedIn: String, asked: String) -> String {
        loggedIn == asked ? loggedIn : "\(loggedIn) (redirected by \(asked))"
    }

    private static func initiatorName(_ plan: BootPlan, interface: ConfiguredInterface) -> String {
        switch plan.initiatorName.value {
        case .named(let name):
            return name
        case .generatedFromBootInterface:
            return interface.macAddress.map(ISCSIName.generatedInitiatorName(for:)) ?? "iqn.2024-01.org.iscsi-root:\(hostName())"
        }
    }

    /// Every portal of every target in order, round after round until one session is up or
    /// `BootLoginRetries` ends the step (`iscsi.retries=` rounds or `iscsi.boot_timeout=`,
    /// whichever first; a round in which every path refused our CHAP ends it at once); the
    /// first target that logs in holds the root. The first round's failures are logged one
    /// by one, later ones in a progress line every ~10 s.
    private static func logIn(
        _ targets: [TargetPlan], plan: BootPlan, initiatorName: String, interface: ConfiguredInterface, pathPerPortal: Bool,
        mapped: Bool, log: inout BootLog
    ) throws(BootFailure) -> LoggedInRoot {
        // What the last round tried, for the progress lines and the failure summary.
        var attempts: [String] = []
        var unroutedPortals = false
        guard !targets.isEmpty else {
            throw BootFailure(
                step: "login", reason: "no iSCSI target configured", check: "iscsi=, netroot= or the iBFT (run `iscsi-root plan`)")
        }
        let handle: UInt64
        do { handle = try KernelChannel.tcpTransportHandle() } catch {
            throw BootFailure(step: "login", reason: "\(error)", check: "that iscsi_tcp is in the initramfs")
        }
        let retries = BootLoginRetries(
            rounds: plan.session.loginRetries.value, timeoutMilliseconds: plan.session.bootTimeout.value * 1000)
        let start = MonotonicInstant.now()
        var lastReport = 0
        var round = 0
        // Rounds in a row in which a target answered "retry later" (0x0301, 0x0302).
        var busyRounds = 0
        // Built once: a mutual-CHAP challenge is drawn here, and every round offers the same.
        var targetPlans: [(target: TargetPlan, plans: [KernelSessionPlan])] = []
        for target in targets {
            targetPlans.append(
                (
                    target,
                    try Self.sessionPlans(target, plan: plan, initiatorName: initiatorName, pathPerPortal: pathPerPortal, mapped: mapped)
                ))
        }
        while true {
            attempts = []
            var busy = false
            // Every path refused our CHAP, or wants CHAP we do not have: waiting does not mend it.
            var onlyAuthenticationFailures = true
            for (target, plans) in targetPlans {
                for sessionPlan in plans {
                    let session: KernelSession
                    do throws(KernelSessionError) {
                        let channel: KernelChannel
                        do { channel = try KernelChannel(transportHandle: handle) } catch { throw .kernel(.system(error)) }
                        session = try KernelSession.establish(sessionPlan, channel: channel)
                    } catch {
                        var attempt = "\(target.name.value) at \(sessionPlan.portal.description): \(error)"
                        if let note = missingRouteNote(to: sessionPlan.portal.host, from: interface) {
                            attempt += " — " + note
                            unroutedPortals = true
                        }
                        attempts.append(attempt)
                        if error.busyStatus != nil { busy = true }
                        if !error.isAuthenticationFailure { onlyAuthenticationFailures = false }
                        if round == 0 { log.line("login attempt 1: \(attempt)") }
                        continue
                    }
                    try? session.scanHost()
                    if round > 0 {
                        log.line(
                            "login: \(target.name.value) answered in round \(round + 1), \(start.milliseconds(until: .now()) / 1000) s after the first"
                        )
                    }
                    // The portal that worked leads the recovery order, or is the session's
                    // only one when each portal is a path of its own.
                    let others = plans.filter { $0.portal.description != sessionPlan.portal.description }
                    return LoggedInRoot(
                        session: session, plans: pathPerPortal ? [sessionPlan] : [sessionPlan] + others, target: target,
                        otherPaths: pathPerPortal ? others : [])
                }
            }
            let elapsed = start.milliseconds(until: .now())
            if round > 0, BootLoginRetries.progressDue(elapsedMilliseconds: elapsed, lastReportMilliseconds: lastReport) {
                log.line(retries.progressLine(round: round, elapsedMilliseconds: elapsed, lastAttempt: attempts.last ?? "-"))
                lastReport = elapsed
            }
            // Back off between rounds: the target may still be coming up.
            busyRounds = busy ? busyRounds + 1 : 0
            guard !onlyAuthenticationFailures || attempts.isEmpty,
                let delay = retries.delay(
                    afterFailedRound: round, elapsedMilliseconds: elapsed, jitter: jitterDraw(), busyAnswers: busyRounds)
            else {
                break
            }
            usleep(UInt32(delay) * 1000)
            round += 1
        }
        let seconds = start.milliseconds(until: .now()) / 1000
        throw BootFailure(
            step: "login",
            reason: "every portal failed for \(seconds) s (\(round + 1) round(s); iscsi.boot_timeout=\(plan.session.bootTimeout.value)"
                + (plan.session.loginRetries.value.map { ", iscsi.retries=\($0)" } ?? "") + "); the last round:\n  "
                + attempts.joined(separator: "\n  "),
            check: unroutedPortals
                ? "the portal address, and the gateway in ip= (or the DHCP server's router) that leads to it"
                : "the target, the portal address and CHAP settings")
    }

    /// A value in 0..<1 for the login backoff's jitter, drawn without waiting for the
    /// kernel's pool (`nonBlockingRandomSeed`): only secrets wait (`secureRandomBytes`).
    private static func jitterDraw() -> Double {
        Double(nonBlockingRandomSeed() >> 11) / Double(UInt64(1) << 53)
    }

    /// The plans of `target`'s portals, in order; `pathPerPortal`: each portal's login is a
    /// path's session of its own (hook mode, or a path of the root's map), with its own ISID;
    /// `mapped`: a path of the root's map, with its NOP-Out (`BootPlan.pathNoop`). Its short
    /// replacement timeout comes once it is in the map (`MapPath.shortenReplacementTimeout`).
    static func sessionPlans(
        _ target: TargetPlan, plan: BootPlan, initiatorName: String, pathPerPortal: Bool = false, mapped: Bool = false
    ) throws(BootFailure) -> [KernelSessionPlan] {
        var login = LoginConfiguration(
            initiatorName: initiatorName, targetName: target.name.value,
            isid: isid(initiatorName: initiatorName, target: target.name.value),
            portalDescription: "")
        // The login passes through the security stage, where tgt replaces what the target may
        // still hold of this machine (`LoginConfiguration.securityStage`, by default); the login
        // driver leaves it out once if the target closes the connection there.
        login.credentialsAdvice = chapAdvice(for: target)
        if var chap = target.credentials?.value {
            // Only mutual CHAP needs a challenge of ours, and it must be unguessable: a
            // blocking getrandom(2), which waits until the kernel's pool is ready (about a
            // second after /init under emulation without RDRAND). One-way CHAP must not wait
            // for randomness it never sends.
            if chap.mutual != nil {
                do {
                    chap.mutualChallenge = try secureRandomBytes(16)
                } catch {
                    throw BootFailure(step: "login", reason: "no mutual CHAP challenge: \(error)", check: "the kernel's getrandom(2)")
                }
            }
            login.authentication = .chap(chap)
        }
        login.parameters = parameters(overrides: plan.session.negotiationOverrides)
        let noop = mapped ? plan.pathNoop : (interval: plan.session.noopInterval.value, timeout: plan.session.noopTimeout.value)
        let timers = SessionTimers(
            replacementTimeout: plan.session.replacementTimeout.value, noopInterval: noop.interval, noopTimeout: noop.timeout)
        return target.portals.map { portal in
            var login = login
            login.portalDescription = portal.value.description
            if pathPerPortal { login.isid = isid(initiatorName: initiatorName, target: target.name.value, portal: portal.value) }
            return KernelSessionPlan(
                portal: portal.value, login: login, timers: timers,
                timeoutMilliseconds: plan.session.loginTimeout.value * 1000)
        }
    }

    /// What to configure when `target` requires CHAP and the plan gives it none, in the terms
    /// of the grammar that named it (`LoginConfiguration.credentialsAdvice`). `iscsi.chap=`
    /// serves every target named on the command line or in the config file; the iBFT's and a
    /// DHCP root path's carry only their own.
    static func chapAdvice(for target: TargetPlan) -> String {
        let native = "iscsi.chap=<user> with the line \"<user> <secret>\" in \(SecretsFile.path)"
        switch target.name.source {
        case .firmware:
            return "the CHAP name and secret of the firmware's iSCSI setup (the iBFT)"
        case .generated:
            return "<user>:<password>@ in the DHCP server's root path"
        case .configFile:
            return "ISCSI_USERNAME and ISCSI_PASSWORD in \(InitramfsToolsConfig.path), or \(native)"
        case .commandLine(let parameter) where parameter.hasPrefix("rd.iscsi."):
            return "rd.iscsi.username= and rd.iscsi.password=, or \(native)"
        case .commandLine(let parameter) where parameter.hasPrefix("iscsi_"):
            return "iscsi_username= and iscsi_password=, or \(native)"
        case .commandLine("iscsi="):
            return "\(native) (or iscsi://<user>@… for this target alone)"
        case .commandLine(let parameter):
            return "\(native) (or <user>:<password>@ in the root path of \(parameter), which every user can read in /proc/cmdline)"
        case .secretsFile, .defaultValue:
            return native
        }
    }

    /// The same ISID on every boot of this machine for this target, so a new login after a
    /// crash or a recovery reinstates the old session instead of leaving it behind (RFC 7143
    /// §6.3.5). Type 10 (random) format, from a digest of the names. A session bound to one
    /// `portal` (a path of its own, hook mode) has one of its own, from the portal too: with
    /// the target's, one path's login would replace the other path's session.
    static func isid(initiatorName: String, target: String, portal: Portal? = nil) -> [UInt8] {
        let name = target + (portal.map { "\n" + $0.description } ?? "")
        let digest = CRC32C.checksum(Array((initiatorName + "\n" + name).utf8))
        let qualifier = CRC32C.checksum(Array((name + "\n" + initiatorName).utf8))
        return [
            0x80, UInt8(truncatingIfNeeded: digest >> 24), UInt8(truncatingIfNeeded: digest >> 16),
            UInt8(truncatingIfNeeded: digest >> 8), UInt8(truncatingIfNeeded: qualifier >> 8), UInt8(truncatingIfNeeded: qualifier),
        ]
    }

    /// The RFC 7143 keys `rd.iscsi.param=` / `iscsi.*` asked for, over our defaults.
    static func parameters(overrides: [String: Sourced<String>]) -> InitiatorParameters {
        var parameters = InitiatorParameters()
        for (name, value) in overrides {
            guard let key = OperationalKey(named: name), overriddenKeys.contains(key) else { continue }
            parameters[key] = value.value
        }
        return parameters
    }

    /// The keys the root session takes from the overrides. The others `SessionSettings`
    /// accepts (the R2T, ordering and Time2Wait/Retain keys) keep our defaults, which
    /// iscsi_tcp is known to work with (one outstanding R2T, data in order).
    static let overriddenKeys: [OperationalKey] = [
        .headerDigest, .dataDigest, .maxRecvDataSegmentLength, .maxBurstLength, .firstBurstLength, .initialR2T, .immediateData,
    ]

    // MARK: Root

    /// Polls sysfs until the LUN's disk is there and holds the root (partitions appear a
    /// moment after the disk), for at most the plan's wait.
    static func waitForRoot(hostNumber: UInt32, lun: Int?, plan: RootPlan, handOverAfterMilliseconds: Int? = nil) throws(BootFailure)
        -> (RootFilesystem.SessionDisk, String?)
    {
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: plan.waitSeconds.value * 1000)
        var seen: [RootFilesystem.SessionDisk] = []
        var firstDiskSeen: MonotonicInstant?
        while true {
            seen = RootFilesystem.disks(ofHost: hostNumber)
            let candidates = Self.rootCandidates(seen, lun: lun, root: plan.device.value)
            for disk in candidates {
                if let device = RootFilesystem.find(plan.device.value, on: disk) { return (disk, device) }
            }
            if let handOver = handOverAfterMilliseconds, let disk = candidates.first ?? seen.first {
                let since = firstDiskSeen ?? .now()
                firstDiskSeen = since
                if since.milliseconds(until: .now()) >= handOver { return (disk, nil) }
            }
            if deadline.hasPassed { break }
            usleep(20_000)
        }
        let found =
            seen.isEmpty
            ? "no disk appeared"
            : "disks seen: " + seen.map { "LUN \($0.lun) \($0.devicePaths.joined(separator: " "))" }.joined(separator: "; ")
        throw BootFailure(
            step: "root device", reason: "\(plan.device.value) not found within \(plan.waitSeconds.value) s (\(found))",
            check: "root= and the LUN (`iscsi-root probe PORTAL TARGET` lists the target's LUNs)")
    }

    /// Hook mode, a root named by a filesystem or a path: how long the hook looks for it on
    /// the session's disks once the first one appeared (its partitions and the target's
    /// other LUNs come moments later) before it leaves the root to the framework, which
    /// assembles md, LVM, multipath or LUKS from every session's disks and mounts the
    /// result. Only the whole LUN (`root=iscsi:`, `/dev/root`) must be named by the hook.
    static let frameworkRootHandOverMilliseconds = 2000

    /// What the hook waits for: the root itself when it must name it, else the session's disks.
    static func hookHandOver(_ root: RootDevice) -> Int? {
        root == .targetLUN ? nil : frameworkRootHandOverMilliseconds
    }

    /// The line that says the root was not on the session's disk (the plan's LUN, else its
    /// first) and is left to the framework.
    static func leftToFramework(_ plan: RootPlan, target: String, disk: RootFilesystem.SessionDisk) -> String {
        "\(plan.device.value.commandLineValue) is not on \(target)'s disks (\(disk.devicePaths.joined(separator: " "))): "
            + "left to the framework, which assembles md, LVM, multipath or LUKS from every session's disks "
            + "(if the boot stops here, check root= and `iscsi-root status`)"
    }

    /// The disks that may hold the root, in the order they are searched. The whole-LUN
    /// root is the plan's LUN and nothing else; a root named by LABEL=, UUID=, PARTUUID=,
    /// PARTLABEL= or a path is searched on the plan's LUN first, then on the session's
    /// other disks, as dracut and initramfs-tools find it (they log in to the whole target
    /// and let udev find the root anywhere): `netroot=iscsi:server::::name` means LUN 0,
    /// which on tgt is the controller, yet such a command line boots with dracut.
    static func rootCandidates(_ disks: [RootFilesystem.SessionDisk], lun: Int?, root: RootDevice) -> [RootFilesystem.SessionDisk] {
        guard let wanted = lun else { return disks }
        let named = disks.filter { $0.lun == wanted }
        if case .targetLUN = root { return named }
        return named + disks.filter { $0.lun != wanted }
    }

    // MARK: Hand-over

    /// A copy of this binary as /run/initramfs/shutdown: systemd-shutdown pivots there at
    /// the very end, and our shutdown role unmounts the root before the logout. The
    /// supervisor makes it from its own image (/proc/self/exe), which outlives the initramfs.
    private static func prepareShutdownRamdisk(binaryPath: String, log: inout BootLog) {
        mkdir(Self.shutdownRamdisk, 0o755)
        mkdir(Self.shutdownRamdisk + "/etc", 0o755)
        // systemd-shutdown binds /dev, /proc, /sys and /run into the ramdisk before it
        // pivots; newer versions fail the switch (no /shutdown) when a mount point is missing.
        for directory in ["oldroot", "dev", "proc", "sys", "run"] { mkdir(Self.shutdownRamdisk + "/" + directory, 0o755) }
        do throws(SystemError) {
            try copyFile(from: binaryPath, to: Self.shutdownRamdisk + "/shutdown", mode: 0o755)
            try writeFile(Array("NAME=iscsi-root\nID=iscsi-root\n".utf8), to: Self.shutdownRamdisk + "/etc/initrd-release", mode: 0o644)
        } catch {
            log.line("warning: no shutdown ramdisk (\(error)); the root session will not be logged out at shutdown")
        }
    }

    /// Forks the supervisor. The child pins itself, takes a private copy of the mounts
    /// without the root filesystem (so the final unmount is never busy because of it), and
    /// tells the parent it is ready before the parent moves the mounts.
    ///
    /// In hook mode the root is not mounted yet: the private copy is taken before the
    /// framework mounts it, so the root never enters the supervisor's namespace, and
    /// /proc, /sys and /dev stay usable after the framework's switch_root
    /// (`takePrivateMounts`). The child
    /// also leaves the hook's session and its standard streams (a `$(iscsi-root login)` in the
    /// hook waits for the end of standard output), so that the framework can go on.
    private static func startSupervisor(
        session: consuming KernelSession, plans: [KernelSessionPlan], disk: String, hookMode: Bool,
        peers: [SessionSupervisor.Peer] = [], mapPath: MapPath? = nil, log: BootLog
    ) throws(BootFailure) -> pid_t {
        let ready = try supervisorStep { () throws(SystemError) in try ReadinessPipe() }
        switch try supervisorStep(forkProcess) {
        case .child:
            var log = log
            if hookMode { detachFromHook() }
            for problem in ProcessPinning.pin() { log.line("supervisor: \(problem)") }
            if let problem = takePrivateMounts(hookMode: hookMode, detaching: Self.newRoot) {
                log.line("supervisor: private mounts: \(problem)")
            }
            ready.signal()
            // Off the boot's critical path: PID 1 goes on to the real init meanwhile, and
            // this process yields to it.
            nice(10)
            prepareShutdownRamdisk(binaryPath: "/proc/self/exe", log: &log)
            SessionSupervisor(session: session, plans: plans, disk: disk, log: log, peers: peers, mapPath: mapPath).run()
        case .parent(let child):
            // Bounded: a supervisor that never answers must not stop the boot.
            _ = ready.wait(deadline: .now().advanced(byMilliseconds: 5000))
            return child
        }
    }
}

extension BootSequence {
    /// The root of a hook-mode session process's private mounts (a tmpfs, in the initramfs).
    static let hookPrivateRoot = "/.iscsi-root-mounts"

    /// A session process's private copy of the mount tree, taken before the real root is
    /// switched to. `/init` detaches `detaching` (the new root, when it is mounted) from it and
    /// keeps the folders of the mounts it moves (`SwitchRoot`), so /proc, /sys and /dev stay.
    /// A framework's switch_root deletes those folders, which detaches the copy's mounts on
    /// them: in hook mode the process gets a root of its own that holds them
    /// (`iscsi_root_private_root_with_kernel_mounts`), or `status`, the logout's check of
    /// what is mounted and the disk's removal at logout would find no /proc and no /sys.
    static func takePrivateMounts(hookMode: Bool, detaching: String?) -> SystemError? {
        if hookMode {
            return iscsi_root_private_root_with_kernel_mounts(hookPrivateRoot) == 0 ? nil : SystemError("private root \(hookPrivateRoot)")
        }
        return iscsi_root_private_mounts_without(detaching) == 0 ? nil : SystemError("unshare")
    }
}

/// `body`'s system error as the supervisor step's failure.
private func supervisorStep<Value: ~Copyable>(_ body: () throws(SystemError) -> Value) throws(BootFailure) -> Value {
    do { return try body() } catch { throw BootFailure(step: "supervisor", reason: "\(error)", check: "memory") }
}

/// Why the boot could not reach the root: the step, the reason, and what to check.
public struct BootFailure: Error, CustomStringConvertible {
    public var step: String
    public var reason: String
    public var check: String
    /// What the machine does next (`iscsi.on_failure=`; reboot until the plan is read).
    public var action: FailureAction = .reboot

    public var description: String { "\(step): \(reason)\ncheck: \(check)" }
}
