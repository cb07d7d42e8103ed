#if canImport(Glibc)
    import Glibc
#endif
import LinuxSystem

/// Hands the machine from the initramfs to the real root, as util-linux's `switch_root`
/// does: move the kernel filesystems into the new root, free the initramfs (a rootfs
/// cannot be unmounted, only emptied), make the new root `/`, and execute its init.
public enum SwitchRoot {
    /// The mounts that move along: the real init expects them already there.
    static let movedMounts = ["/dev", "/proc", "/sys", "/run"]

    /// Inits tried when `init=` is not given, in the kernel's own order (init/main.c).
    public static let defaultInits = ["/sbin/init", "/etc/init", "/bin/init", "/bin/sh"]

    /// Never returns on success; throws with the step that failed otherwise (the caller,
    /// PID 1, must then stop the machine in an orderly way).
    public static func run(newRoot: String, initPath: String?, arguments: [String]) throws(SystemError) -> Never {
        for mountPoint in movedMounts {
            let target = newRoot + mountPoint
            if mkdir(target, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir \(target)") }
            guard mount(mountPoint, target, nil, UInt(MS_MOVE), nil) == 0 else {
                throw SystemError("move \(mountPoint) to \(target)")
            }
        }
        guard chdir(newRoot) == 0 else { throw SystemError("chdir \(newRoot)") }
        var rootStatus = stat()
        guard stat("/", &rootStatus) == 0 else { throw SystemError("stat /") }
        // Frees the initramfs' memory; stays on the rootfs device so the new root and the
        // moved mounts are never touched.
        removeTree("/", device: rootStatus.st_dev)
        guard mount(".", "/", nil, UInt(MS_MOVE), nil) == 0 else { throw SystemError("move \(newRoot) to /") }
        guard chroot(".") == 0 else { throw SystemError("chroot \(newRoot)") }
        guard chdir("/") == 0 else { throw SystemError("chdir /") }
        // Set for our own runtime only (CRuntimeCompat); the real init must not inherit it.
        unsetenv("SWIFT_DETERMINISTIC_HASHING")
        let candidates = initPath.map { [$0] } ?? defaultInits
        for candidate in candidates where access(candidate, X_OK) == 0 {
            execute(candidate, arguments: [candidate] + arguments)
        }
        throw SystemError("execute \(candidates.joined(separator: ", ")) in the new root", code: ENOENT)
    }

    /// execv(2); returns only when it failed.
    private static func execute(_ path: String, arguments: [String]) {
        var pointers = arguments.map { strdup($0) } + [nil]
        execv(path, &pointers)
        for pointer in pointers { free(pointer) }
    }

    /// Deletes everything under `path` that lives on `device` (the initramfs), without
    /// crossing into other filesystems. Best effort: what cannot be deleted only costs memory.
    static func removeTree(_ path: String, device: dev_t) {
        for name in directoryEntries(path) {
            // The moved mounts' folders stay: the supervisor's private copy of the mount tree
            // still has mounts on them, and removing them would detach those.
            if path == "/" && movedMounts.contains("/" + name) { continue }
            let child = path == "/" ? "/" + name : path + "/" + name
            var status = stat()
            guard lstat(child, &status) == 0, status.st_dev == device else { continue }
            if status.st_mode & S_IFMT == S_IFDIR {
                removeTree(child, device: device)
                rmdir(child)
            } else {
                unlink(child)
            }
        }
    }
}
