#if canImport(Glibc)
    import Glibc
#endif
import LinuxSystem

/// The outcome of running saved inputs through a fuzz target. An input that traps ends the
/// process instead (that is the failure fuzzing looks for); `failed` counts inputs that
/// could not be read.
public struct ReplayResult: Sendable {
    public var passed = 0
    public var failed: [String] = []

    public init() {}
}

/// Runs every regular file in `folder` (not recursing) through `target`, in name order.
/// A missing folder counts as empty: a new target may have no corpus yet.
public func replay(_ target: FuzzTarget, folder: String) -> ReplayResult {
    var result = ReplayResult()
    for path in regularFiles(in: folder) {
        guard let bytes = readWholeFile(path) else {
            result.failed.append(path)
            continue
        }
        target.run(bytes)
        result.passed += 1
    }
    return result
}

/// The paths of the regular files directly in `folder`, sorted.
func regularFiles(in folder: String) -> [String] {
    guard let directory = opendir(folder) else { return [] }
    defer { closedir(directory) }
    var paths: [String] = []
    while let entry = readdir(directory) {
        guard entry.pointee.d_type == UInt8(DT_REG) else { continue }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        paths.append(folder + "/" + name)
    }
    return paths.sorted()
}

/// The contents of the file at `path`, or nil if it cannot be read.
public func readWholeFile(_ path: String) -> [UInt8]? {
    try? readFile(at: path, offset: 0, count: .max)
}
