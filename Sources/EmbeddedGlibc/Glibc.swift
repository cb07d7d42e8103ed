// The Embedded build's module `Glibc` (mk/static.mk compiles it; SwiftPM does not see it).
// Embedded Swift has no Glibc module: this one re-exports the C library and adds, in Swift,
// the few conveniences of the real Glibc overlay that the sources use, so that every source
// file keeps its `import Glibc` and compiles unchanged in both modes.
@_exported import CEmbeddedLibc

public var errno: Int32 {
    get { iscsi_root_embedded_errno() }
    set { iscsi_root_embedded_set_errno(newValue) }
}

// Variadic C functions cannot be called from Swift: the overlay's fixed-arity forms.
public func open(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 {
    iscsi_root_embedded_open(path, flags, 0)
}

public func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
    iscsi_root_embedded_open(path, flags, mode)
}

public func openat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 {
    iscsi_root_embedded_openat(directory, path, flags, 0)
}

public func openat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
    iscsi_root_embedded_openat(directory, path, flags, mode)
}

public func fcntl(_ descriptor: Int32, _ command: Int32) -> Int32 {
    iscsi_root_embedded_fcntl(descriptor, command, 0)
}

public func fcntl(_ descriptor: Int32, _ command: Int32, _ value: Int32) -> Int32 {
    iscsi_root_embedded_fcntl(descriptor, command, Int(value))
}

public func ioctl(_ descriptor: Int32, _ request: UInt, _ pointer: UnsafeMutableRawPointer) -> Int32 {
    iscsi_root_embedded_ioctl(descriptor, request, pointer)
}

// The overlay gives the file type bits as mode_t (the C macros import as Int32).
public var S_IFMT: mode_t { mode_t(0o170000) }
public var S_IFDIR: mode_t { mode_t(0o040000) }
public var S_IFREG: mode_t { mode_t(0o100000) }
public var S_IFLNK: mode_t { mode_t(0o120000) }
public var S_IFBLK: mode_t { mode_t(0o060000) }
public var S_IFCHR: mode_t { mode_t(0o020000) }

// SIG_IGN is a cast in C, which Swift does not import.
public var SIG_IGN: __sighandler_t { unsafeBitCast(1, to: __sighandler_t.self) }

/// The process's arguments, as the stdlib's CommandLine gives them in normal mode.
public enum CommandLine {
    public static var unsafeArgv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        iscsi_root_embedded_argv()!
    }

    public static let arguments: [String] = {
        let argv = iscsi_root_embedded_argv()
        return (0..<Int(iscsi_root_embedded_argc())).map { index in
            argv.flatMap { $0[index] }.map { String(cString: $0) } ?? ""
        }
    }()
}
