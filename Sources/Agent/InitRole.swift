#if canImport(Glibc)
import Glibc
#endif
import LinuxSystem

/// `iscsi-root` as `/init`, PID 1 of the standalone initramfs: the boot path of
/// DESIGN.md, step by step, each step logged with its duration.
///
/// Today it does the steps that exist (the early mounts) and then powers the machine off,
/// because the session and root steps are not written yet.
public enum InitRole {
    /// Runs the boot path as PID 1. PID 1 must never exit (the kernel panics), so every
    /// outcome ends in `reboot(2)`.
    public static func run(arguments: [String]) -> Never {
        let started = MonotonicInstant.now()
        var log = BootLog()
        guard getpid() == 1 else {
            // Mounting and powering off are for an initramfs, never for a running system.
            log.line("the init role runs only as PID 1 of an initramfs (this is PID \(getpid()))")
            exit(2)
        }
        // CLOCK_MONOTONIC counts from the kernel's start: the same clock as dmesg's times.
        log.line("started as PID 1, argv [\(arguments.joined(separator: " "))], uptime \(started.nanoseconds / 1_000_000) ms")
        do {
            try log.step("mounts") {
                var mounted: [String] = []
                for earlyMount in EarlyMount.initramfs where try earlyMount.mountIfAbsent() {
                    mounted.append(earlyMount.target)
                }
                return mounted.isEmpty ? "all present" : mounted.joined(separator: " ")
            }
        } catch {
            powerOff(&log, reason: "cannot mount the kernel filesystems")
        }
        do {
            try log.step("modules") {
                let modules = try KernelModules()
                var loaded: [String] = []
                for name in bootPathModules {
                    loaded += try modules.load(name)
                }
                // PCI first: its drivers (virtio_pci) create the devices of the virtio bus.
                for bus in ["pci", "virtio"] {
                    loaded += try modules.loadDrivers(forDevicesOnBus: bus)
                }
                return loaded.joined(separator: " ") + " loaded"
            }
        } catch {
            powerOff(&log, reason: "cannot load the kernel modules")
        }
        powerOff(&log, reason: "no boot configuration handled yet")
    }

    /// What every iSCSI root needs, whatever the NIC: the initiator, SCSI disks, and the
    /// root's filesystem (ext4 until the boot plan names the root's type).
    static let bootPathModules = ["iscsi_tcp", "sd_mod", "ext4"]

    /// Whether this process should take the init role: the kernel started it as `/init`
    /// (or `…/init`), or it is PID 1 with no arguments.
    public static func isRequested(arguments: [String]) -> Bool {
        guard let programPath = arguments.first else { return getpid() == 1 }
        let programName = programPath.split(separator: "/").last.map(String.init) ?? programPath
        return programName == "init" || (getpid() == 1 && arguments.count == 1)
    }

    /// Flushes the filesystems and powers off. The corresponding C function is
    /// `reboot(RB_POWER_OFF)`; if it fails (not PID 1, no CAP_SYS_BOOT) nothing is left
    /// to do but wait for a person.
    private static func powerOff(_ log: inout BootLog, reason: String) -> Never {
        log.line("\(reason) — powering off")
        sync()
        if glibcReboot(powerOffCommand) != 0 {
            log.line("power off failed: \(SystemError("reboot"))")
        }
        // reboot(RB_POWER_OFF) does not return when it succeeds.
        while true { pause() }
    }
}

// Glibc's Swift module map leaves out <sys/reboot.h>; these declare its one function and
// constant (LINUX_REBOOT_CMD_POWER_OFF) until the project's C shims export them.
@_silgen_name("reboot")
private func glibcReboot(_ command: Int32) -> Int32

private let powerOffCommand = Int32(bitPattern: 0x4321_FEDC)
