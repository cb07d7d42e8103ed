#if canImport(Glibc)
    import Glibc
#endif

/// Reads a whole file of at most `limit` bytes (configuration, secrets, sysfs attributes).
/// A larger file is an `EFBIG` error rather than an unbounded allocation.
/// The corresponding C functions are `open`, `read` and `close`.
public func readFile(at path: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
    let contents = try readFile(at: path, offset: 0, count: limit + 1)
    guard contents.count <= limit else { throw SystemError("read \(path)", code: EFBIG) }
    return contents
}

/// Reads at most `count` bytes of the file at `path` from `offset` (a window of /dev/mem,
/// or a file of unknown size). The corresponding C functions are `open` and `pread`.
public func readFile(at path: String, offset: Int, count: Int) throws(SystemError) -> [UInt8] {
    let descriptor = try FileDescriptor.open(path, O_RDONLY)
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while contents.count < count {
        let wanted = min(chunk.count, count - contents.count)
        let position = off_t(offset + contents.count)
        let outcome = chunk.withUnsafeMutableBytes { buffer in
            Result { () throws(SystemError) -> Int in
                try retryingOnInterrupt("read \(path)") { pread(descriptor.rawValue, buffer.baseAddress, wanted, position) }
            }
        }
        let read = try outcome.get()
        if read == 0 { break }
        contents += chunk[..<read]
    }
    return contents
}

/// The text files of a two-level directory tree such as /sys/firmware/ibft, keyed by their
/// path relative to `directory` (`ethernet0/mac`); nil when `directory` cannot be read.
public func readTextTree(_ directory: String) -> [String: String]? {
    guard opendir(directory).map({ closedir($0) }) != nil else { return nil }
    var files: [String: String] = [:]
    for name in directoryEntries(directory) {
        for attribute in directoryEntries(directory + "/" + name) {
            if let text = try? readFile(at: directory + "/" + name + "/" + attribute) {
                files[name + "/" + attribute] = String(decoding: text, as: UTF8.self)
            }
        }
    }
    return files
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

/// Copies the file at `source` to `destination` (created or truncated, with `mode`) in 64 KiB
/// pieces, so a large binary never sits in memory whole. The corresponding C functions are
/// `open`, `read` and `write`.
public func copyFile(from source: String, to destination: String, mode: mode_t) throws(SystemError) {
    let input = try FileDescriptor.open(source, O_RDONLY)
    let output = try FileDescriptor.open(destination, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let outcome = buffer.withUnsafeMutableBytes { chunk in
            Result { () throws(SystemError) -> Int in try input.read(into: chunk, call: "read \(source)") }
        }
        let count = try outcome.get()
        if count == 0 { break }
        try output.writeAll(buffer[..<count], call: "write \(destination)")
    }
    guard fchmod(output.rawValue, mode) == 0 else { throw SystemError("chmod \(destination)") }
}

/// Writes `bytes` to `path`, created with `mode` or truncated; the mode is set again, as
/// the umask may have narrowed it. The corresponding C functions are `open`, `write` and
/// `fchmod`.
public func writeFile(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(SystemError) {
    let descriptor = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
    try descriptor.writeAll(bytes, call: "write \(path)")
    guard fchmod(descriptor.rawValue, mode) == 0 else { throw SystemError("chmod \(path)") }
}

/// Writes `text` to a file that exists: a /proc or /sys attribute, which refuse `O_CREAT`.
public func writeAttribute(_ text: String, to path: String) throws(SystemError) {
    let descriptor = try FileDescriptor.open(path, O_WRONLY)
    try descriptor.writeAll(Array(text.utf8), call: "write \(path)")
}
