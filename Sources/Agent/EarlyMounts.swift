#if canImport(Glibc)
    import Glibc
#endif
import LinuxSystem

/// One of the kernel filesystems PID 1 mounts before anything else can work: /proc (the
/// command line, mounts), /sys (devices, iBFT), /dev (block devices, /dev/kmsg) and /run
/// (state handed to the real root: the supervisor's pid, the shutdown ramdisk).
public struct EarlyMount: Sendable, Equatable {
    public let target: String
    public let filesystemType: String
    public let flags: UInt
    public let options: String?

    /// The four mounts of an initramfs /init, in the order later ones need earlier ones.
    public static let initramfs: [EarlyMount] = [
        EarlyMount(target: "/proc", filesystemType: "proc", flags: secure, options: nil),
        EarlyMount(target: "/sys", filesystemType: "sysfs", flags: secure, options: nil),
        // devtmpfs: the kernel creates the device nodes itself, no udev is needed.
        EarlyMount(target: "/dev", filesystemType: "devtmpfs", flags: UInt(MS_NOSUID), options: "mode=0755"),
        EarlyMount(target: "/run", filesystemType: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV), options: "mode=0755"),
    ]

    private static let secure = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)

    /// Mounts this filesystem unless something is already mounted at `target`, creating
    /// the directory when it is missing. Returns whether it mounted. The corresponding C
    /// function is `mount(2)`.
    @discardableResult
    public func mountIfAbsent() throws(SystemError) -> Bool {
        if mkdir(target, 0o755) != 0 && errno != EEXIST {
            throw SystemError("mkdir \(target)")
        }
        if try Self.isMountPoint(target) { return false }
        let result: Int32
        if let options {
            result = mount(filesystemType, target, filesystemType, flags, options)
        } else {
            result = mount(filesystemType, target, filesystemType, flags, nil)
        }
        guard result == 0 else { throw SystemError("mount \(filesystemType) on \(target)") }
        return true
    }

    /// Whether `path` is a mount point: its device differs from its parent's. This works
    /// before /proc exists, when /proc/self/mountinfo cannot be read.
    static func isMountPoint(_ path: String) throws(SystemError) -> Bool {
        var directory = stat()
        var parent = stat()
        guard stat(path, &directory) == 0 else { throw SystemError("stat \(path)") }
        guard stat(path + "/..", &parent) == 0 else { throw SystemError("stat \(path)/..") }
        return directory.st_dev != parent.st_dev
    }
}
