import BootConfig

/// `iscsi-root plan`: explains what a command line, config file and iBFT would make the
/// agent do, without doing it.
public enum PlanCommand: Command {
    public static let name = "plan"
    public static let summary =
        "show where the root is and how the agent will reach it (does nothing)"
    public static var help: String {
        """
        usage: iscsi-root plan [--cmdline STRING | --cmdline-file FILE] [--ibft FILE | --ibft-sysfs DIR | --ibft-memory FILE]
                               [--config FILE] [--secrets FILE] [--json]

        Reads the kernel command line, the iBFT, \(InitramfsToolsConfig.path) and \(SecretsFile.path)
        (by default those of the running machine: /proc/cmdline, \(IBFT.acpiTablePaths.joined(separator: ", ")),
        then /sys/firmware/ibft) and prints the plan: interfaces, addresses, targets, LUN, how the
        root is found, and where each value came from. CHAP secrets are shown as (set).
          --ibft FILE         a raw iBFT/ACPI table; --ibft-memory FILE: a dump of low memory
                              (or /dev/mem) searched from 0x80000 to 0xFFFFF as the kernel does
        Exit status 2 on bad input, with the parameter, the token and what was expected.

        The agent's own parameters:
          iscsi=iscsi://[user@]host[:port]/<target name>[/<LUN>]   (IPv6 host in [brackets];
              port 3260; no LUN: the first LUN that is a disk); or an RFC 4173 root path
              [iscsi:][user:password@]<server>:[6]:[port]:[LUN]:<target name>. Repeat iscsi= for
              more targets or more portals of one target (tried in order on recovery).
          iscsi.initiator=<iSCSI name>     iscsi.chap=<user>   iscsi.mutual=<target's user>
              (secrets from \(SecretsFile.path): one "<user> <secret>" per line, mode 0600)
          iscsi.replacement_timeout=<s>    iscsi.noop=<interval>,<timeout>   iscsi.login_timeout=<s>
          iscsi.retries=<n>   iscsi.on_failure=reboot|poweroff|halt   iscsi.log=quiet|info|debug
          (iscsi_root. is an alias of the iscsi. prefix)
        Also understood: ip=, ifname=, BOOTIF=, bootdev=, nameserver=, rd.route=, vlan=, rd.neednet,
        root=, netroot=, iscsiroot=, rd.iscsi.*, iscsi_firmware, iscsi_initiator=, iscsi_auto,
        iscsi_target_*=, iscsi_username= ..., rootfstype=, rootflags=, ro, rw, init=, rd.retry=.

        Precedence:
        \(BootPlan.precedence)
        """
    }

    public static func run(_ arguments: [String]) -> ExitStatus {
        do throws(UsageError) {
            let options = try Arguments(
                arguments, flags: ["--json"],
                options: [
                    "--cmdline", "--cmdline-file", "--ibft", "--ibft-sysfs", "--ibft-memory", "--config",
                    "--secrets",
                ])
            _ = try options.requirePositionals([])
            let inputs = try PlanInputs(options)
            let plan = try inputs.resolve()
            print(options.flag("--json") ? plan.json : plan.text)
            return .success
        } catch {
            printError("iscsi-root plan: \(error)")
            return .usage
        }
    }
}

/// The inputs of a plan, read from the files the options (or the defaults) name.
private struct PlanInputs {
    var commandLine: KernelCommandLine
    var firmware: IBFT?
    var config: InitramfsToolsConfig?
    var secrets: SecretsFile?
    var warnings: [String] = []

    init(_ options: Arguments) throws(UsageError) {
        if let text = options.value("--cmdline") {
            commandLine = KernelCommandLine(parsing: text)
        } else {
            let path = options.value("--cmdline-file") ?? "/proc/cmdline"
            guard let bytes = PlanInputFiles.read(path) else {
                throw UsageError("cannot read the command line from \(path)")
            }
            commandLine = KernelCommandLine(bytes: bytes)
        }
        // With a command line given, only the files named by options are read: the plan explains
        // that input, not this machine.
        let runningMachine = options.value("--cmdline") == nil && options.value("--cmdline-file") == nil
        do {
            firmware = try Self.firmware(options, runningMachine: runningMachine)
            let configPath =
                options.value("--config") ?? (runningMachine ? InitramfsToolsConfig.path : nil)
            if let configPath {
                if let text = PlanInputFiles.readText(configPath) {
                    config = try InitramfsToolsConfig.parse(text)
                } else if options.value("--config") != nil {
                    throw UsageError("cannot read --config \(configPath)")
                }
            }
            let secretsPath = options.value("--secrets") ?? (runningMachine ? SecretsFile.path : nil)
            if let secretsPath, let text = PlanInputFiles.readText(secretsPath) {
                secrets = try SecretsFile.parse(text)
                if PlanInputFiles.isReadableByOthers(secretsPath) {
                    warnings.append("\(secretsPath): readable by group or others; make it mode 0600")
                }
            } else if let secretsPath = options.value("--secrets") {
                throw UsageError("cannot read --secrets \(secretsPath)")
            }
        } catch let error as UsageError {
            throw error
        } catch {
            throw UsageError("\(error)")
        }
    }

    /// The iBFT from the option that names it, or (for the running machine) from ACPI, then sysfs.
    private static func firmware(_ options: Arguments, runningMachine: Bool) throws -> IBFT? {
        if let path = options.value("--ibft") {
            guard let bytes = PlanInputFiles.read(path) else {
                throw UsageError("cannot read --ibft \(path)")
            }
            return try IBFT(bytes: bytes)
        }
        if let directory = options.value("--ibft-sysfs") {
            guard let files = PlanInputFiles.readTree(directory) else {
                throw UsageError("cannot read --ibft-sysfs \(directory)")
            }
            return try IBFT(sysfs: files)
        }
        if let path = options.value("--ibft-memory") {
            guard let memory = PlanInputFiles.read(path, limit: 0x100000) else {
                throw UsageError("cannot read --ibft-memory \(path)")
            }
            // A 512 KiB file starts at 0x80000 (what the scan covers); anything else at 0.
            guard
                let table = IBFT.findInLowMemory(memory, baseAddress: memory.count == 0x80000 ? 0x80000 : 0)
            else {
                throw UsageError("no iBFT signature between 0x80000 and 0xFFFFF in \(path)")
            }
            return try IBFT(bytes: table)
        }
        guard runningMachine else { return nil }
        for path in IBFT.acpiTablePaths {
            if let bytes = PlanInputFiles.read(path) { return try IBFT(bytes: bytes) }
        }
        return try PlanInputFiles.readTree("/sys/firmware/ibft").map { try IBFT(sysfs: $0) }
    }

    func resolve() throws(UsageError) -> BootPlan {
        do throws(BootConfigError) {
            var plan = try BootPlan.resolve(
                commandLine: commandLine, firmware: firmware, config: config, secrets: secrets)
            plan.warnings += warnings.map { PlanWarning("secrets", $0) }
            return plan
        } catch {
            throw UsageError(error.description)
        }
    }
}
