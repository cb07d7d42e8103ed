import Agent

#if canImport(Glibc)
    import Glibc
#endif

/// `iscsi-root login`: hook mode, for a dracut or initramfs-tools script. Logs in to the
/// root target of the command line, leaves the supervisor running and prints the root device.
public enum LoginCommand: Command {
    public static let name = "login"
    public static let summary = "hook mode: log in to the root target, start the supervisor, print the root device"
    public static let help = """
        usage: iscsi-root login [--root-path ROOT-PATH]

        For the initramfs frameworks (dracut's 90iscsi-root module, initramfs-tools'
        local-top/iscsi-root): reads the plan as /init does (the kernel command line in any of
        its grammars, /etc/iscsi/iscsi.initramfs, the iBFT), loads iscsi_tcp and sd_mod,
        configures the network unless the interface has an address already (the framework's
        ip= handling comes first), logs in, waits for the root device, starts the pinned
        supervisor that owns the session until the final ramdisk, and prints the root device
        (e.g. /dev/sda1) on standard output. The framework mounts it.

        Called again while a supervisor of the same target answers, it prints the device and
        exits 0 at once (safe in a retry loop). Progress goes to standard error and the kernel log.
          --root-path ROOT-PATH   the DHCP root path (option 17) the framework's DHCP client got,
                                  for netroot=dhcp when the framework configured the network

        exit status: 0 logged in (device printed), 1 the root could not be reached, 2 bad usage
        """

    public static func run(_ arguments: [String]) -> ExitStatus {
        var options = HookOptions()
        do {
            let parsed = try Arguments(arguments, flags: [], options: ["--root-path"])
            _ = try parsed.requirePositionals([])
            options.rootPath = parsed.value("--root-path").flatMap { $0.isEmpty ? nil : $0 }
        } catch {
            printError("iscsi-root login: \(error) (see iscsi-root login --help)")
            return .usage
        }
        guard getuid() == 0 else {
            printError("iscsi-root login: only root can log in to the root target")
            return .failure
        }
        var log = BootLog()
        let failure = BootSequence.runHook(options, log: &log)
        log.line("login failed: \(failure.reason)")
        log.line("check: \(failure.check)")
        return .failure
    }
}
