#if canImport(Glibc)
    import Glibc
#endif

/// The device-mapper control node, /dev/mapper/control, owning its descriptor: each method
/// is one ioctl whose bytes come from `DeviceMapperIoctl`.
///
/// Tested for real only by the VM scenarios of issue 17 (multipath roots): the machines that
/// run `swift test` may have no device-mapper at all; its pure parts (the codec, the buffer
/// growth) are tested in `LinuxSystemTests`.
public struct DeviceMapper: ~Copyable {
    public static let controlPath = "/dev/mapper/control"
    /// The misc device's number, "10:236" on most kernels but not fixed: read it there.
    public static let controlNumberPath = "/sys/class/misc/device-mapper/dev"

    private let descriptor: FileDescriptor

    /// Opens the control node read-write. A /dev that is devtmpfs has the node as soon as
    /// dm-mod is loaded; a /dev without devtmpfs (a static /dev, a test's chroot) does not, so
    /// a missing node is made from the number sysfs gives, then opened. The corresponding C
    /// functions are `open`, and `mkdir` and `mknod` when the node is missing.
    public init() throws(DeviceMapperError) {
        if access(Self.controlPath, F_OK) != 0 && errno == ENOENT { try Self.makeControlNode() }
        do throws(SystemError) {
            descriptor = try FileDescriptor.open(Self.controlPath, O_RDWR)
        } catch {
            throw DeviceMapperError(operation: "open", device: Self.controlPath, reason: .system(error))
        }
    }

    /// Issues `request` and returns the kernel's answer. An answer that did not fit
    /// (DM_BUFFER_FULL_FLAG) is asked for again with a buffer twice as large, up to
    /// `DeviceMapperIoctl.maximumBufferSize`. The corresponding C function is `ioctl`.
    public func perform(_ request: DeviceMapperIoctl.Request) throws(DeviceMapperError) -> DeviceMapperIoctl.Reply {
        let failure = { (reason: DeviceMapperError.Reason) in
            DeviceMapperError(operation: request.command.name, device: request.device.description, reason: reason)
        }
        var size = max(DeviceMapperIoctl.initialBufferSize, request.encodedLength)
        // Bounded: the size doubles each pass and stops at the maximum.
        while true {
            var buffer: [UInt8]
            do throws(DeviceMapperCodecError) { buffer = try request.encode(bufferSize: size) } catch { throw failure(.codec(error)) }
            do throws(SystemError) {
                _ = try retryingOnInterrupt("ioctl \(request.command.name)") {
                    buffer.withUnsafeMutableBytes { ioctl(descriptor.rawValue, request.command.requestNumber, $0.baseAddress!) }
                }
            } catch {
                throw failure(.system(error))
            }
            let reply: DeviceMapperIoctl.Reply
            do throws(DeviceMapperCodecError) { reply = try DeviceMapperIoctl.Reply(decoding: buffer) } catch {
                throw failure(.codec(error))
            }
            guard reply.isBufferFull else { return reply }
            guard let larger = DeviceMapperIoctl.nextBufferSize(after: size) else { throw failure(.answerTooLarge(bytes: size)) }
            size = larger
        }
    }

    /// The kernel's device-mapper interface version (DM_VERSION).
    public func interfaceVersion() throws(DeviceMapperError) -> [UInt32] { try perform(.version).version }

    /// Creates device `name` without a table (DM_DEV_CREATE) and returns its number.
    public func create(name: String, uuid: String) throws(DeviceMapperError) -> DeviceNumber {
        try perform(.create(name: name, uuid: uuid)).device
    }

    /// Loads `targets` as the inactive table of `device` (DM_TABLE_LOAD); `resume` makes it live.
    public func loadTable(_ device: DeviceMapperIoctl.Device, targets: [DeviceMapperIoctl.Target]) throws(DeviceMapperError) {
        _ = try perform(.loadTable(device, targets: targets))
    }

    /// Suspends `device` (DM_DEV_SUSPEND); see `DeviceMapperIoctl.Request.suspend`.
    public func suspend(_ device: DeviceMapperIoctl.Device, keepQueuedIO: Bool) throws(DeviceMapperError) {
        _ = try perform(.suspend(device, keepQueuedIO: keepQueuedIO))
    }

    /// Resumes `device`, making a loaded table live (DM_DEV_SUSPEND without the suspend flag).
    public func resume(_ device: DeviceMapperIoctl.Device) throws(DeviceMapperError) { _ = try perform(.resume(device)) }

    /// Sends `text` to the target of `device` at sector 0 (DM_TARGET_MSG).
    public func sendMessage(_ device: DeviceMapperIoctl.Device, _ text: String) throws(DeviceMapperError) {
        _ = try perform(.message(device, text: text))
    }

    /// Removes `device` (DM_DEV_REMOVE); EBUSY while something holds it open.
    public func remove(_ device: DeviceMapperIoctl.Device, deferred: Bool = false) throws(DeviceMapperError) {
        _ = try perform(.remove(device, deferred: deferred))
    }

    /// The live table's targets with each one's status text, or its table text when `table`
    /// (DM_TABLE_STATUS).
    public func status(_ device: DeviceMapperIoctl.Device, table: Bool = false) throws(DeviceMapperError) -> [DeviceMapperIoctl.Target] {
        let reply = try perform(.tableStatus(device, table: table))
        do throws(DeviceMapperCodecError) { return try reply.targets() } catch {
            throw DeviceMapperError(
                operation: DeviceMapperIoctl.Command.tableStatus.name, device: device.description, reason: .codec(error))
        }
    }

    /// mkdir /dev/mapper, then mknod the control node (a character device, 0600) with the
    /// number sysfs gives for the misc device "device-mapper".
    private static func makeControlNode() throws(DeviceMapperError) {
        let failure = { (call: String) in
            DeviceMapperError(operation: "create the control node", device: controlPath, reason: .system(SystemError(call)))
        }
        guard let text = readText(controlNumberPath),
            let number = DeviceNumber(text.filter { $0 != "\n" && $0 != " " })
        else {
            throw DeviceMapperError(operation: "create the control node", device: controlPath, reason: .noDeviceMapper)
        }
        if mkdir("/dev/mapper", 0o755) != 0 && errno != EEXIST { throw failure("mkdir /dev/mapper") }
        if mknod(controlPath, S_IFCHR | 0o600, glibcDeviceNumber(number)) != 0 && errno != EEXIST {
            throw failure("mknod \(controlPath) \(number)")
        }
    }

    /// glibc's dev_t layout (`makedev`, a macro Swift does not import): unlike the kernel's
    /// 32-bit encoding, it keeps room for 32-bit majors and minors.
    static func glibcDeviceNumber(_ number: DeviceNumber) -> dev_t {
        let major = UInt64(number.major)
        let minor = UInt64(number.minor)
        return dev_t(((major & 0xFFFF_F000) << 32) | ((major & 0xFFF) << 8) | ((minor & 0xFFFF_FF00) << 12) | (minor & 0xFF))
    }
}

/// A device-mapper operation that failed: which one, on which device, and why.
public struct DeviceMapperError: Error, CustomStringConvertible {
    public enum Reason: Sendable {
        case system(SystemError)
        case codec(DeviceMapperCodecError)
        /// DM_BUFFER_FULL_FLAG even with the largest buffer.
        case answerTooLarge(bytes: Int)
        /// /sys/class/misc/device-mapper/dev is missing: dm-mod is not loaded.
        case noDeviceMapper
    }

    /// The kernel's command name (e.g. "DM_TABLE_LOAD"), or "open".
    public let operation: String
    /// The device-mapper device's name, or the control node's path.
    public let device: String
    public let reason: Reason

    public var description: String {
        let subject = device.isEmpty ? "device-mapper \(operation)" : "device-mapper \(operation) of \(device)"
        switch reason {
        case .system(let error): return "\(subject): \(error)"
        case .codec(let error): return "\(subject): \(error)"
        case .answerTooLarge(let bytes): return "\(subject): the answer does not fit in \(bytes) bytes"
        case .noDeviceMapper:
            return "\(subject): no device-mapper in this kernel (is dm-mod loaded? /sys/class/misc/device-mapper is missing)"
        }
    }
}
