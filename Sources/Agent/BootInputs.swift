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
    /// Where the iBFT was looked for and found (or not).
    public var firmwareSearch = IBFTSearch()

    public init(commandLine: KernelCommandLine, firmware: IBFT? = nil, config: InitramfsToolsConfig? = nil, secrets: SecretsFile? = nil) {
        self.commandLine = commandLine
        self.firmware = firmware
        self.config = config
        self.secrets = secrets
    }

    /// Reads every input of this machine; a file that is absent is simply not there, one that
    /// is malformed is an error naming it. When the command line (or the initramfs-tools
    /// file) asks for the firmware's targets, the iBFT is looked for everywhere it can be;
    /// `loadingModules` lets the search load `iscsi_ibft` (at boot, not for `plan`).
    public static func runningMachine(loadingModules: Bool = false) throws(BootConfigError) -> BootInputs {
        var inputs = BootInputs(commandLine: KernelCommandLine(bytes: (try? readFile(at: "/proc/cmdline")) ?? []))
        if let text = readText(InitramfsToolsConfig.path) {
            inputs.config = try InitramfsToolsConfig.parse(text)
        }
        // A command line that does not parse fails in resolve(), with its own message.
        let request = (try? BootParameters(inputs.commandLine))?.firmwareRequest(config: inputs.config)
        inputs.firmware = try inputs.searchFirmware(everywhere: request != nil, loadingModules: loadingModules)
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

    /// Where the `iscsi_ibft` module publishes the table the kernel found.
    public static let sysfsPath = "/sys/firmware/ibft"
    /// Physical memory as the kernel lets root read it; the first MiB is readable even with
    /// STRICT_DEVMEM.
    static let memoryDevice = "/dev/mem"
    /// Present when the machine booted through UEFI.
    static let efiPath = "/sys/firmware/efi"

    /// The iBFT the firmware published, recording each place looked at in `firmwareSearch`:
    /// the raw ACPI table; then, `everywhere`, legacy low memory scanned as the kernel scans
    /// it; then the `iscsi_ibft` module's tree (loading the module first, `everywhere` and
    /// `loadingModules`: the agent runs before anything else loads it).
    public mutating func searchFirmware(everywhere: Bool, loadingModules: Bool) throws(BootConfigError) -> IBFT? {
        for path in IBFT.acpiTablePaths {
            if let bytes = try? readFile(at: path) {
                firmwareSearch.record(.acpi, .found(path))
                return try IBFT(bytes: bytes)
            }
        }
        firmwareSearch.record(.acpi, .absent(note: nil))
        if everywhere {
            let place = IBFTSearch.Place.lowMemory(device: Self.memoryDevice)
            // As the kernel: UEFI firmware publishes the table in ACPI only (iBFT 1.03 §1.4.3.1).
            if (try? filePermissions(at: Self.efiPath)) != nil {
                firmwareSearch.record(place, .skipped("a UEFI boot publishes the iBFT in ACPI only"))
            } else {
                // One `do` per error type (Embedded Swift has no `any Error`); a table that
                // does not parse is recorded as unreadable, as a memory that cannot be read.
                do throws(SystemError) {
                    let scan = IBFT.scanLowMemory(try Self.readLowMemory(), baseAddress: IBFT.lowMemoryRange.lowerBound)
                    if let table = scan.table {
                        firmwareSearch.record(place, .found("at 0x" + String(table.address, radix: 16)))
                        do throws(BootConfigError) {
                            return try IBFT(bytes: table.bytes)
                        } catch {
                            firmwareSearch.record(place, .unreadable("\(error)"))
                        }
                    } else {
                        firmwareSearch.record(place, .absent(note: scan.rejected.isEmpty ? nil : scan.rejected.joined(separator: "; ")))
                    }
                } catch {
                    firmwareSearch.record(place, .unreadable("\(error)"))
                }
            }
        }
        var loaded: String?
        var loadFailure: String?
        if everywhere, loadingModules, readTextTree(Self.sysfsPath) == nil {
            do {
                let modules = try KernelModules()
                try modules.load("iscsi_ibft")
                loaded = "iscsi_ibft"
            } catch {
                loaded = "iscsi_ibft"
                loadFailure = "\(error)"
            }
        }
        let place = IBFTSearch.Place.sysfs(path: Self.sysfsPath, loadedModule: loaded)
        guard loadFailure == nil, let files = readTextTree(Self.sysfsPath) else {
            firmwareSearch.record(place, .absent(note: loadFailure))
            return nil
        }
        firmwareSearch.record(place, .found(loaded.map { "loaded \($0)" } ?? ""))
        return try IBFT(sysfs: files)
    }

    /// 0x80000-0xFFFFF of physical memory, with video memory (0xA0000-0xBFFFF) left as zeros
    /// rather than read: it is device memory, and never holds the table.
    static func readLowMemory() throws(SystemError) -> [UInt8] {
        let start = IBFT.lowMemoryRange.lowerBound
        let video = IBFT.videoMemoryRange
        var memory = try readFile(at: memoryDevice, offset: start, count: video.lowerBound - start)
        guard memory.count == video.lowerBound - start else { return memory }
        memory += [UInt8](repeating: 0, count: video.count)
        memory += try readFile(at: memoryDevice, offset: video.upperBound, count: IBFT.lowMemoryRange.upperBound - video.upperBound)
        return memory
    }

    public func resolve() throws(BootConfigError) -> BootPlan {
        var plan = try BootPlan.resolve(
            commandLine: commandLine, firmware: firmware, config: config, secrets: secrets, firmwareSearch: firmwareSearch)
        plan.warnings += warnings
        return plan
    }
}
