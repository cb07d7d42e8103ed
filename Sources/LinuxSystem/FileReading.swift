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
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw SystemError("open \(path)") }
    defer { close(descriptor) }
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while contents.count < count {
        let wanted = min(chunk.count, count - contents.count)
        let read = chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, wanted, off_t(offset + contents.count)) }
        if read < 0 {
            if errno == EINTR { continue }
            throw SystemError("read \(path)")
        }
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
    let input = open(source, O_RDONLY | O_CLOEXEC)
    guard input >= 0 else { throw SystemError("open \(source)") }
    defer { close(input) }
    let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard output >= 0 else { throw SystemError("open \(destination)") }
    defer { close(output) }
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw SystemError("read \(source)")
        }
        if count == 0 { break }
        var offset = 0
        while offset < count {
            let written = buffer[offset..<count].withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemError("write \(destination)")
            }
            offset += written
        }
    }
    guard fchmod(output, mode) == 0 else { throw SystemError("chmod \(destination)") }
}
