#if canImport(Glibc)
    import Glibc
#endif
import BootConfig
import ISCSI
import LinuxSystem
import Reports

/// What a dracut or initramfs-tools hook tells `iscsi-root login` beyond the command line.
public struct HookOptions: Sendable, Equatable {
    /// The DHCP root path (option 17) the framework's own DHCP client received, for
    /// `netroot=dhcp` / `root=dhcp` when the framework configured the network.
    public var rootPath: String?

    public init(rootPath: String? = nil) {
        self.rootPath = rootPath
    }
}

/// What a running supervisor says about its session: the `target` and `host` members of
/// its `status --json` answer (`SupervisorStatus.json`).
struct RunningSession: Equatable {
    var target: String
    var hostNumber: UInt32

    init(target: String, hostNumber: UInt32) {
        self.target = target
        self.hostNumber = hostNumber
    }

    /// Nil unless `statusJSON` is a JSON object whose `target` is a non-empty string and
    /// whose `host` is a SCSI host number.
    init?(statusJSON: String) {
        guard let status = try? JSON.read(statusJSON),
            case .string(let target)? = status["target"], !target.isEmpty,
            case .number(let host)? = status["host"], let hostNumber = UInt32(exactly: host)
        else { return nil }
        self.target = target
        self.hostNumber = hostNumber
    }
}

extension BootSequence {
    /// Hook mode, before anything is done: when a supervisor already answers on the control
    /// socket (an earlier `login` of the framework's retry loop succeeded), prints the root
    /// device of its session and exits 0 if it serves a target of the plan; a supervisor of
    /// another target is a failure. Returns when no supervisor answers.
    static func reportRunningSupervisor(_ plan: BootPlan, log: inout BootLog) throws(BootFailure) {
        guard let answer = try? ControlRequest.statusJSON.send(timeoutMilliseconds: 5000),
            !answer.hasPrefix(ControlRequest.refusalPrefix)
        else { return }
        guard let running = RunningSession(statusJSON: answer) else {
            throw BootFailure(
                step: "login",
                reason: "a supervisor answers on @\(ControlRequest.socketName), but its status is unreadable: \(answer.prefix(200))",
                check: "`iscsi-root status`")
        }
        let target = plan.targets.first { $0.name.value == running.target }
        guard target != nil || (plan.targets.isEmpty && plan.targetFromDHCP != nil) else {
            throw BootFailure(
                step: "login",
                reason: "a supervisor already holds a session to \(running.target), which is not a target of this command line",
                check: "`iscsi-root status`, and the command line (run `iscsi-root plan`)")
        }
        let (disk, device) = try waitForRoot(
            hostNumber: running.hostNumber, lun: target?.lun.value?.number, plan: plan.root,
            handOverAfterMilliseconds: hookHandOver(plan.root.device.value))
        log.line(
            "login: \(running.target) is logged in already (host\(running.hostNumber)); root device "
                + (device ?? leftToFramework(plan.root, target: running.target, disk: disk)))
        printRootDevice(device ?? plan.root.device.value.commandLineValue)
    }

    /// Where the boot leaves what the real root's units need: `interface` (the NIC that
    /// carries the session, kept configured by iscsi-root-keep-network) and `session` (the
    /// target; open-iscsi's units are conditioned on its absence so they do not take over).
    static let stateDirectory = "/run/iscsi-root"

    static func recordSession(interface: String, target: String, log: inout BootLog) {
        mkdir(stateDirectory, 0o755)
        guard ProcessPinning.writeText(interface + "\n", to: stateDirectory + "/interface"),
            ProcessPinning.writeText(target + "\n", to: stateDirectory + "/session")
        else {
            log.line("warning: \(SystemError("write \(stateDirectory)")); the real root's units will not see the iSCSI session")
            return
        }
    }

    /// systemd-shutdown runs /run/initramfs/shutdown only if it may execute it; initramfs-tools
    /// mounts /run `noexec` (systemd's INITRD_INTERFACE asks for `nodev,nosuid` only), so the
    /// final logout would never happen. Hook mode remounts /run without `noexec`, keeping its
    /// other flags; /run moves into the real root as it is.
    static func allowExecutionInRun(log: inout BootLog) {
        // statvfs(3)'s ST_* flags have the values of mount(2)'s MS_* (glibc's GNU extensions,
        // not in Swift's Glibc): read-only 1, nosuid 2, nodev 4, noexec 8, noatime 1024.
        let noexec: UInt = 8
        let kept: UInt = 1 | 2 | 4 | 1024
        var status = statvfs()
        guard statvfs("/run", &status) == 0, status.f_flag & noexec != 0 else { return }
        if mount(nil, "/run", nil, UInt(MS_REMOUNT) | (status.f_flag & kept), nil) == 0 {
            log.line("hook: /run remounted without noexec, for systemd-shutdown's /run/initramfs/shutdown")
        } else {
            log.line("warning: /run stays noexec (\(SystemError("remount /run"))); the root session will not be logged out at shutdown")
        }
    }

    /// The hook's answer: the root device on standard output, then exit 0.
    static func printRootDevice(_ device: String) -> Never {
        print(device)
        exit(0)
    }

    /// The supervisor child of a hook: its own session (no signal of the hook's terminal or
    /// process group reaches it), standard input and output on /dev/null, standard error on
    /// the console, so that the hook sees the end of our output when `login` exits.
    static func detachFromHook() {
        _ = setsid()
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        var console = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC)
        if console < 0 { console = null }
        if null >= 0 {
            _ = dup2(null, 0)
            _ = dup2(null, 1)
        }
        if console >= 0 { _ = dup2(console, 2) }
        if null > 2 { close(null) }
        if console > 2, console != null { close(console) }
        _ = chdir("/")
    }
}
