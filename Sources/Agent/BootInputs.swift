import BootConfig
import LinuxSystem

/// What the running machine says about its boot: the kernel command line, the firmware's
/// iBFT, the initramfs-tools config file and the secrets file, read from where each lives.
/// BootConfig turns them into a `BootPlan` without I/O.
public struct BootInputs {
    public var commandLine: KernelCommandLine
    public var firmware: IBFT?
    public var config: InitramfsToolsConfig?
    public var secrets: SecretsFile?
    /// Problems worth a line on the console that do not stop the boot.
    public var warnings: [PlanWarning] = []

    public init(commandLine: KernelCommandLine, firmware: IBFT? = nil, config: InitramfsToolsConfig? = nil, secrets: SecretsFile? = nil) {
        self.commandLine = commandLine
        self.firmware = firmware
        self.config = config
        self.secrets = secrets
    }

    /// Reads every input of this machine; a file that is absent is simply not there, one that
    /// is malformed is an error naming it.
    public static func runningMachine() throws(BootConfigError) -> BootInputs {
        var inputs = BootInputs(commandLine: KernelCommandLine(bytes: (try? readFile(at: "/proc/cmdline")) ?? []))
        inputs.firmware = try runningMachineFirmware()
        if let text = readText(InitramfsToolsConfig.path) {
            inputs.config = try InitramfsToolsConfig.parse(text)
        }
        try inputs.readSecrets(at: SecretsFile.path)
        return inputs
    }

    /// Reads and checks the secrets file at `path` when it exists.
    public mutating func readSecrets(at path: String) throws(BootConfigError) {
        guard let text = readText(path) else { return }
        secrets = try SecretsFile.parse(text)
        if let permissions = try? filePermissions(at: path), permissions & 0o077 != 0 {
            warnings.append(PlanWarning("secrets", "\(path) is readable by group or others; make it mode 0600"))
        }
    }

    /// The iBFT the firmware published: the raw ACPI table if there is one, else the
    /// `iscsi_ibft` module's sysfs tree.
    public static func runningMachineFirmware() throws(BootConfigError) -> IBFT? {
        for path in IBFT.acpiTablePaths {
            if let bytes = try? readFile(at: path) { return try IBFT(bytes: bytes) }
        }
        guard let files = readTextTree("/sys/firmware/ibft") else { return nil }
        return try IBFT(sysfs: files)
    }

    public func resolve() throws(BootConfigError) -> BootPlan {
        var plan = try BootPlan.resolve(commandLine: commandLine, firmware: firmware, config: config, secrets: secrets)
        plan.warnings += warnings
        return plan
    }
}
