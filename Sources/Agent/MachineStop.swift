import BootConfig
import CShims
import LinuxSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Ends the machine's run: PID 1 must never exit (the kernel would panic), so every path
/// of the init and shutdown roles ends here.
public enum MachineStop {
    /// Flushes the filesystems and calls reboot(2) with the action's command. If that fails
    /// (not PID 1, no CAP_SYS_BOOT) nothing is left to do but wait for a person.
    public static func perform(_ action: FailureAction, log: inout BootLog) -> Never {
        sync()
        if iscsi_root_reboot(command(action)) != 0 {
            log.line("\(action.rawValue) failed: \(SystemError("reboot"))")
        }
        // reboot(2) does not return when it succeeds.
        while true { pause() }
    }

    /// LINUX_REBOOT_CMD_* of <linux/reboot.h>.
    static func command(_ action: FailureAction) -> Int32 {
        switch action {
        case .reboot: Int32(bitPattern: 0x0123_4567)
        case .poweroff: Int32(bitPattern: 0x4321_FEDC)
        case .halt: Int32(bitPattern: 0xCDEF_0123)
        }
    }
}
