import Agent
import BootConfig
import LinuxSystem

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
        then, when the command line asks for the firmware, low memory 0x80000-0xFFFFF through /dev/mem,
        then /sys/firmware/ibft) and prints the plan: interfaces, addresses, targets, LUN, how the
        root is found, and where each value came from. CHAP secrets are shown as (set).
          --ibft FILE         a raw iBFT/ACPI table; --ibft-memory FILE: a dump of low memory
                              (or /dev/mem) searched from 0x80000 to 0xFFFFF as the kernel does
        Exit status 2 on bad input, with the parameter, the token and what was expected.

        The agent's own parameters:
          iscsi=iscsi://[user@]host[:port]/<target name>[/<LUN>]   (IPv6 host in [brackets],
              a link-local one with its interface: [fe80::2%eth0]; port 3260; no LUN: the
              first LUN that is a disk); or an RFC 4173 root path
              [iscsi:][user:password@]<server>:[6]:[port]:[LUN]:<target name>. Repeat iscsi= for
              more targets or more portals of one target (tried in order on recovery). Every
              target is a session: the first holds the root and is the one the boot waits for,
              the others log in alongside (the plan's "session" lines; --json: "sessions"). In
              hook mode every portal is a session of its own (--json: "hookSessions").
          iscsi.initiator=<iSCSI name>     iscsi.chap=<user>   iscsi.mutual=<target's user>
              (secrets from \(SecretsFile.path): one "<user> <secret>" per line, mode 0600)
          iscsi.replacement_timeout=<s>    iscsi.noop=<interval>,<timeout>   iscsi.login_timeout=<s>
          iscsi.boot_timeout=<s> (keep trying the login this long, default 600)   iscsi.retries=<n>
              (at most n rounds; whichever ends first)   iscsi.on_failure=reboot|poweroff|halt
          iscsi.log=quiet|info|debug
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
            let inputs = try PlanInputs.read(options)
            let plan: BootPlan
            do { plan = try inputs.resolve() } catch { throw UsageError(error.description) }
            print(options.flag("--json") ? plan.json : plan.text)
            return .success
        } catch {
            printError("iscsi-root plan: \(error)")
            return .usage
        }
    }
}

/// The inputs of a plan: the running machine's, or the files the options name instead.
private enum PlanInputs {
    static func read(_ options: Arguments) throws(UsageError) -> BootInputs {
        // With a command line given, only the files named by options are read: the plan
        // explains that input, not this machine.
        let commandLine: KernelCommandLine
        if let text = options.value("--cmdline") {
            commandLine = KernelCommandLine(parsing: text)
        } else if let path = options.value("--cmdline-file") {
            commandLine = KernelCommandLine(
                bytes: try converting { () throws(BootConfigError) in try contents(of: path, option: "--cmdline-file") })
        } else {
            return try converting { () throws(BootConfigError) in
                var inputs = try BootInputs.runningMachine()
                try override(&inputs, options)
                return inputs
            }
        }
        var inputs = BootInputs(commandLine: commandLine)
        try converting { () throws(BootConfigError) in try override(&inputs, options) }
        return inputs
    }

    /// The files options name replace what the machine has.
    private static func override(_ inputs: inout BootInputs, _ options: Arguments) throws(BootConfigError) {
        if let (firmware, given) = try firmware(options) {
            inputs.firmware = firmware
            inputs.firmwareSearch = IBFTSearch()
            inputs.firmwareSearch.record(.given(given), .found(""))
        }
        if let path = options.value("--config") {
            inputs.config = try InitramfsToolsConfig.parse(String(decoding: try contents(of: path, option: "--config"), as: UTF8.self))
        }
        if let path = options.value("--secrets") {
            _ = try contents(of: path, option: "--secrets")
            try inputs.readSecrets(at: path)
        }
    }

    /// The iBFT from the option that names it, if any, and where it was found.
    private static func firmware(_ options: Arguments) throws(BootConfigError) -> (IBFT, String)? {
        if let path = options.value("--ibft") {
            return (try IBFT(bytes: try contents(of: path, option: "--ibft")), "--ibft \(path)")
        }
        if let directory = options.value("--ibft-sysfs") {
            guard let files = readTextTree(directory) else {
                throw BootConfigError(
                    "--ibft-sysfs", token: directory, problem: "cannot be read", expected: "a directory like /sys/firmware/ibft")
            }
            return (try IBFT(sysfs: files), "--ibft-sysfs \(directory)")
        }
        if let path = options.value("--ibft-memory") {
            let memory = try contents(of: path, option: "--ibft-memory", limit: 0x100000)
            // A 512 KiB file starts at 0x80000 (what the scan covers); anything else at 0.
            let base = memory.count == 0x80000 ? 0x80000 : 0
            let scan = IBFT.scanLowMemory(memory, baseAddress: base)
            guard let table = scan.table else {
                let passedOver = scan.rejected.isEmpty ? "" : " (passed over: \(scan.rejected.joined(separator: "; ")))"
                throw BootConfigError(
                    "--ibft-memory", token: path, problem: "holds no valid iBFT\(passedOver)",
                    expected: "a memory dump covering 0x80000-0xFFFFF")
            }
            return (try IBFT(bytes: table.bytes), "--ibft-memory \(path) at 0x\(String(table.address, radix: 16))")
        }
        return nil
    }

    private static func contents(of path: String, option: String, limit: Int = 1 << 20) throws(BootConfigError) -> [UInt8] {
        do { return try readFile(at: path, offset: 0, count: limit) } catch {
            throw BootConfigError(option, token: path, problem: "cannot be read (\(error))", expected: "a readable file")
        }
    }

    private static func converting<Value>(_ body: () throws(BootConfigError) -> Value) throws(UsageError) -> Value {
        do { return try body() } catch { throw UsageError(error.description) }
    }
}
