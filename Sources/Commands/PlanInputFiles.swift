#if canImport(Glibc)
    import Glibc
#endif

/// The few file reads `iscsi-root plan` needs (BootConfig itself does no I/O): a whole
/// file, part of a file (for /dev/mem), and the files of a sysfs directory tree.
enum PlanInputFiles {
    /// The bytes of the file at `path`, at most `limit` bytes from `offset`; nil if it cannot be opened.
    static func read(_ path: String, offset: Int = 0, limit: Int = 1 << 20) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let wanted = min(buffer.count, limit - result.count)
            let count = buffer.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress, wanted, off_t(offset + result.count))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            result += buffer[0..<count]
        }
        return result
    }

    static func readText(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether group or others may read the file (the secrets file must be mode 0600).
    static func isReadableByOthers(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        return status.st_mode & 0o077 != 0
    }

    /// The regular files under `directory` (two levels, as /sys/firmware/ibft has them),
    /// keyed by their path relative to it.
    static func readTree(_ directory: String) -> [String: String]? {
        guard let top = entries(directory) else { return nil }
        var files: [String: String] = [:]
        for name in top {
            for attribute in entries(directory + "/" + name) ?? [] {
                if let text = readText(directory + "/" + name + "/" + attribute) {
                    files[name + "/" + attribute] = text
                }
            }
        }
        return files
    }

    private static func entries(_ directory: String) -> [String]? {
        guard let stream = opendir(directory) else { return nil }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
