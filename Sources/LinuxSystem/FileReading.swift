#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file of at most `limit` bytes (configuration, secrets, sysfs attributes).
/// A larger file is an `EFBIG` error rather than an unbounded allocation.
/// The corresponding C functions are `open`, `read` and `close`.
public func readFile(at path: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw SystemError("open \(path)") }
    defer { close(descriptor) }
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw SystemError("read \(path)")
        }
        if count == 0 { return contents }
        guard contents.count + count <= limit else { throw SystemError("read \(path)", code: EFBIG) }
        contents += chunk[..<count]
    }
}

/// The permission bits of `path` (e.g. 0o600), for refusing secrets others can read.
public func filePermissions(at path: String) throws(SystemError) -> UInt32 {
    var information = stat()
    guard stat(path, &information) == 0 else { throw SystemError("stat \(path)") }
    return UInt32(information.st_mode) & 0o7777
}

/// The machine's host name (`uname` nodename).
public func hostName() -> String {
    var names = utsname()
    uname(&names)
    return withUnsafeBytes(of: &names.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}

/// The value of an environment variable.
public func environmentValue(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// The names in a directory, without `.` and `..`; empty when it cannot be read.
/// The corresponding C functions are `opendir` and `readdir`.
public func directoryEntries(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// A small text file (a sysfs attribute) without its trailing newlines; nil when unreadable.
public func readText(_ path: String) -> String? {
    guard let bytes = try? readFile(at: path, limit: 65_536) else { return nil }
    var text = String(decoding: bytes, as: UTF8.self)
    while text.last == "\n" { text.removeLast() }
    return text
}
