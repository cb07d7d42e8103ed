/// The kernel's device-mapper control interface (linux/dm-ioctl.h, version 4) as values:
/// requests encoded to the bytes an ioctl on /dev/mapper/control takes, replies decoded from
/// the bytes it gives back. Pure: `DeviceMapper` issues the ioctls.
///
/// Every ioctl takes one buffer: a `struct dm_ioctl` header (312 bytes) followed by the
/// command's data at `data_start`; `data_size` is the whole buffer, so the kernel knows how
/// much room it has for its answer. Multi-byte fields are in host (little-endian) order.
///
/// Header layout: version[3] u32 @0, data_size u32 @12, data_start u32 @16, target_count u32
/// @20, open_count s32 @24, flags u32 @28, event_nr u32 @32, padding u32 @36, dev u64 @40,
/// name[128] @48, uuid[129] @176, data[7] @305.
public enum DeviceMapperIoctl {
    /// `sizeof(struct dm_ioctl)`.
    public static let headerLength = 312
    /// `sizeof(struct dm_target_spec)`: sector_start u64 @0, length u64 @8, status s32 @16,
    /// next u32 @20, target_type[16] @24; the NUL-terminated parameters follow it.
    public static let targetSpecLength = 40
    /// `sizeof(struct dm_target_msg)`: sector u64 @0; the NUL-terminated message follows.
    public static let targetMessageHeaderLength = 8
    /// The command data starts right after the header, which is already 8-byte aligned (the
    /// kernel's own replies use the same offset).
    public static let dataStart = headerLength
    /// DM_NAME_LEN and DM_UUID_LEN, the terminating NUL included.
    public static let nameCapacity = 128
    public static let uuidCapacity = 129
    /// DM_MAX_TYPE_NAME, the terminating NUL included.
    public static let targetTypeCapacity = 16
    /// The interface version this codec speaks. The kernel refuses another major version and
    /// a minor version newer than its own, so 4.0.0 is accepted by every kernel with version 4.
    public static let interfaceVersion: [UInt32] = [4, 0, 0]

    static let versionOffset = 0
    static let dataSizeOffset = 12
    static let dataStartOffset = 16
    static let targetCountOffset = 20
    static let openCountOffset = 24
    static let flagsOffset = 28
    static let eventNumberOffset = 32
    static let deviceOffset = 40
    static let nameOffset = 48
    static let uuidOffset = 176

    /// The command numbers (`DM_*_CMD`); the ioctl request is `_IOWR(0xfd, number, struct dm_ioctl)`.
    public enum Command: UInt32, Sendable, CaseIterable {
        // Numbered from 0 in the header's order, as the kernel's enum is.
        case version, removeAll, listDevices
        case createDevice, removeDevice, renameDevice, suspendDevice, deviceStatus, waitForEvent
        case loadTable, clearTable, tableDependencies, tableStatus
        case listVersions, targetMessage

        /// `_IOWR(DM_IOCTL, nr, struct dm_ioctl)`: direction read|write (3) in bits 30–31, the
        /// argument size (312) in bits 16–29, the type 0xfd in bits 8–15, the number in 0–7.
        /// C macros do not reach Swift, hence the arithmetic.
        public var requestNumber: UInt {
            (3 << 30) | (UInt(DeviceMapperIoctl.headerLength) << 16) | (0xfd << 8) | UInt(rawValue)
        }

        /// The kernel's name for the command, for error messages.
        public var name: String {
            switch self {
            case .version: "DM_VERSION"
            case .removeAll: "DM_REMOVE_ALL"
            case .listDevices: "DM_LIST_DEVICES"
            case .createDevice: "DM_DEV_CREATE"
            case .removeDevice: "DM_DEV_REMOVE"
            case .renameDevice: "DM_DEV_RENAME"
            case .suspendDevice: "DM_DEV_SUSPEND"
            case .deviceStatus: "DM_DEV_STATUS"
            case .waitForEvent: "DM_DEV_WAIT"
            case .loadTable: "DM_TABLE_LOAD"
            case .clearTable: "DM_TABLE_CLEAR"
            case .tableDependencies: "DM_TABLE_DEPS"
            case .tableStatus: "DM_TABLE_STATUS"
            case .listVersions: "DM_LIST_VERSIONS"
            case .targetMessage: "DM_TARGET_MSG"
            }
        }
    }

    /// One target of a table: `length` sectors from `sectorStart` handled by `type` with
    /// `parameters` (e.g. the multipath line after "multipath"). `status` is the kernel's
    /// per-target status in replies (0 in requests).
    public struct Target: Equatable, Sendable {
        public var sectorStart: UInt64
        public var length: UInt64
        public var type: String
        public var parameters: String
        public var status: Int32

        public init(sectorStart: UInt64 = 0, length: UInt64, type: String, parameters: String, status: Int32 = 0) {
            self.sectorStart = sectorStart
            self.length = length
            self.type = type
            self.parameters = parameters
            self.status = status
        }
    }

    /// `dm_ioctl.flags` (the `DM_*_FLAG` bits this agent sets or reads).
    public struct Flags: OptionSet, Sendable, Equatable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let readOnly = Flags(rawValue: 1 << 0)
        /// In DEV_SUSPEND: suspend (set) or resume (clear); in replies: the device is suspended.
        public static let suspended = Flags(rawValue: 1 << 1)
        /// In TABLE_STATUS: the table as loaded instead of the targets' state.
        public static let statusTable = Flags(rawValue: 1 << 4)
        public static let activeTablePresent = Flags(rawValue: 1 << 5)
        public static let inactiveTablePresent = Flags(rawValue: 1 << 6)
        /// Out: the answer did not fit; ask again with a larger buffer.
        public static let bufferFull = Flags(rawValue: 1 << 8)
        /// In DEV_SUSPEND: keep the I/O a multipath map queues instead of failing it.
        public static let noFlush = Flags(rawValue: 1 << 11)
        /// In DEV_REMOVE: remove once the last opener closes it.
        public static let deferredRemove = Flags(rawValue: 1 << 17)
    }

    /// How a request names an existing device. The kernel takes one of the two, never both
    /// (dm-ioctl.c `__find_device_hash_cell`). The UUID stays when a tool renames the device
    /// (multipathd adopting a map and giving it a friendly name); the name does not.
    public enum Device: Equatable, Sendable, CustomStringConvertible {
        case name(String)
        case uuid(String)

        public var description: String {
            switch self {
            case .name(let name): name
            case .uuid(let uuid): "UUID \(uuid)"
            }
        }
    }

    /// One request: the command, the device it names and the command's data.
    public struct Request: Equatable, Sendable {
        public var command: Command
        public var name: String
        public var uuid: String
        public var flags: Flags
        /// DM_TABLE_LOAD's table.
        public var targets: [Target]
        /// DM_TARGET_MSG's sector and text.
        public var messageSector: UInt64
        public var message: String?

        public init(command: Command, name: String = "", uuid: String = "", flags: Flags = [], targets: [Target] = []) {
            self.command = command
            self.name = name
            self.uuid = uuid
            self.flags = flags
            self.targets = targets
            messageSector = 0
            message = nil
        }

        /// A request for the existing device `device`, named in the field the kernel reads.
        init(command: Command, device: Device, flags: Flags = [], targets: [Target] = []) {
            switch device {
            case .name(let name): self.init(command: command, name: name, flags: flags, targets: targets)
            case .uuid(let uuid): self.init(command: command, uuid: uuid, flags: flags, targets: targets)
            }
        }

        /// The device this request names, for error messages.
        public var device: Device { name.isEmpty && !uuid.isEmpty ? .uuid(uuid) : .name(name) }

        /// DM_VERSION: the kernel answers with its interface version.
        public static var version: Request { Request(command: .version) }

        /// DM_DEV_CREATE: a device with no table yet; the reply carries its number.
        public static func create(name: String, uuid: String) -> Request { Request(command: .createDevice, name: name, uuid: uuid) }

        /// DM_TABLE_LOAD: `targets` become the device's inactive table, live at the next resume.
        public static func loadTable(_ device: Device, targets: [Target]) -> Request {
            Request(command: .loadTable, device: device, targets: targets)
        }

        /// DM_DEV_SUSPEND with DM_SUSPEND_FLAG. `keepQueuedIO` adds DM_NOFLUSH_FLAG: a
        /// multipath map with no usable path keeps its queued I/O through a table reload
        /// instead of failing it.
        public static func suspend(_ device: Device, keepQueuedIO: Bool) -> Request {
            Request(command: .suspendDevice, device: device, flags: keepQueuedIO ? [.suspended, .noFlush] : [.suspended])
        }

        /// DM_DEV_SUSPEND without DM_SUSPEND_FLAG: resume, swapping in a loaded table.
        public static func resume(_ device: Device) -> Request { Request(command: .suspendDevice, device: device) }

        /// DM_TARGET_MSG: `text` for the target at `sector` (e.g. "fail_path 8:16").
        public static func message(_ device: Device, sector: UInt64 = 0, text: String) -> Request {
            var request = Request(command: .targetMessage, device: device)
            request.messageSector = sector
            request.message = text
            return request
        }

        /// DM_DEV_REMOVE; `deferred` removes it when its last opener closes it.
        public static func remove(_ device: Device, deferred: Bool = false) -> Request {
            Request(command: .removeDevice, device: device, flags: deferred ? [.deferredRemove] : [])
        }

        /// DM_TABLE_STATUS: each target's state (`table` false) or the table as loaded (true).
        public static func tableStatus(_ device: Device, table: Bool) -> Request {
            Request(command: .tableStatus, device: device, flags: table ? [.statusTable] : [])
        }

        /// The bytes this request needs before any room for the answer.
        public var encodedLength: Int {
            var length = DeviceMapperIoctl.dataStart
            for target in targets {
                length += alignedTo8(DeviceMapperIoctl.targetSpecLength + target.parameters.utf8.count + 1)
            }
            if let message { length += DeviceMapperIoctl.targetMessageHeaderLength + message.utf8.count + 1 }
            return length
        }

        /// The ioctl's argument: the header, the command's data, zeros up to `bufferSize`
        /// (the room the kernel has for its answer; `data_size` says so).
        public func encode(bufferSize: Int) throws(DeviceMapperCodecError) -> [UInt8] {
            try validate()
            let needed = encodedLength
            guard bufferSize >= needed, bufferSize <= Int(UInt32.max) else {
                throw .bufferTooSmall(needed: needed, given: bufferSize)
            }
            var buffer = [UInt8](repeating: 0, count: bufferSize)
            for (index, part) in DeviceMapperIoctl.interfaceVersion.enumerated() {
                buffer.storeLittleEndian(part, at: DeviceMapperIoctl.versionOffset + 4 * index)
            }
            buffer.storeLittleEndian(UInt32(bufferSize), at: DeviceMapperIoctl.dataSizeOffset)
            buffer.storeLittleEndian(UInt32(DeviceMapperIoctl.dataStart), at: DeviceMapperIoctl.dataStartOffset)
            buffer.storeLittleEndian(UInt32(targets.count), at: DeviceMapperIoctl.targetCountOffset)
            buffer.storeLittleEndian(flags.rawValue, at: DeviceMapperIoctl.flagsOffset)
            buffer.replaceSubrange(DeviceMapperIoctl.nameOffset..<DeviceMapperIoctl.nameOffset + name.utf8.count, with: name.utf8)
            buffer.replaceSubrange(DeviceMapperIoctl.uuidOffset..<DeviceMapperIoctl.uuidOffset + uuid.utf8.count, with: uuid.utf8)
            var offset = DeviceMapperIoctl.dataStart
            for target in targets {
                // In a load, `next` is the distance from this spec to the next one.
                let specLength = alignedTo8(DeviceMapperIoctl.targetSpecLength + target.parameters.utf8.count + 1)
                buffer.storeLittleEndian(target.sectorStart, at: offset)
                buffer.storeLittleEndian(target.length, at: offset + 8)
                buffer.storeLittleEndian(UInt32(specLength), at: offset + 20)
                buffer.replaceSubrange(offset + 24..<offset + 24 + target.type.utf8.count, with: target.type.utf8)
                let parameters = offset + DeviceMapperIoctl.targetSpecLength
                buffer.replaceSubrange(parameters..<parameters + target.parameters.utf8.count, with: target.parameters.utf8)
                offset += specLength
            }
            if let message {
                buffer.storeLittleEndian(messageSector, at: offset)
                let text = offset + DeviceMapperIoctl.targetMessageHeaderLength
                buffer.replaceSubrange(text..<text + message.utf8.count, with: message.utf8)
            }
            return buffer
        }

        /// The kernel's own checks (dm-ioctl.c: `check_name`, `invalid_str`), made here so that
        /// a bad name is refused with its reason instead of an EINVAL.
        private func validate() throws(DeviceMapperCodecError) {
            switch command {
            case .version: break
            case .createDevice: if name.isEmpty { throw .invalidName(name, reason: "is empty") }
            default:
                if name.isEmpty && uuid.isEmpty { throw .invalidName(name, reason: "is empty, and so is the UUID: no device is named") }
                if !name.isEmpty && !uuid.isEmpty {
                    throw .invalidName(name, reason: "comes with UUID \(uuid): the kernel takes a device by one of them")
                }
            }
            if name.utf8.count >= DeviceMapperIoctl.nameCapacity {
                throw .invalidName(name, reason: "is longer than \(DeviceMapperIoctl.nameCapacity - 1) bytes")
            }
            if name.utf8.contains(UInt8(ascii: "/")) || name.utf8.contains(0) {
                throw .invalidName(name, reason: "contains a slash or a NUL")
            }
            if uuid.utf8.count >= DeviceMapperIoctl.uuidCapacity || uuid.utf8.contains(0) {
                throw .invalidName(uuid, reason: "is not a UUID of at most \(DeviceMapperIoctl.uuidCapacity - 1) bytes without NUL")
            }
            for target in targets {
                if target.type.isEmpty || target.type.utf8.count >= DeviceMapperIoctl.targetTypeCapacity || target.type.utf8.contains(0) {
                    throw .invalidTarget(
                        target.type, reason: "is not a target type of 1 to \(DeviceMapperIoctl.targetTypeCapacity - 1) bytes")
                }
                if target.parameters.utf8.contains(0) { throw .invalidTarget(target.type, reason: "has a NUL in its parameters") }
            }
            if let message, message.isEmpty || message.utf8.contains(0) {
                throw .invalidTarget("message", reason: "is empty or has a NUL")
            }
        }
    }

    /// A decoded answer: the header's fields and, for DM_TABLE_STATUS, its targets.
    public struct Reply: Equatable, Sendable {
        public var version: [UInt32]
        public var dataSize: UInt32
        public var dataStart: UInt32
        public var targetCount: UInt32
        public var openCount: Int32
        public var flags: Flags
        public var eventNumber: UInt32
        public var device: DeviceNumber
        public var name: String
        public var uuid: String
        /// The reply's bytes, for the command-specific data (`targets()`).
        private var bytes: [UInt8]

        /// Decodes the header of `bytes` (the buffer after the ioctl). Throws on a buffer
        /// shorter than the header or a `data_size` outside it.
        public init(decoding bytes: [UInt8]) throws(DeviceMapperCodecError) {
            guard bytes.count >= DeviceMapperIoctl.headerLength else { throw .truncated(length: bytes.count) }
            version = (0..<3).map { bytes.loadLittleEndian(UInt32.self, at: DeviceMapperIoctl.versionOffset + 4 * $0) }
            dataSize = bytes.loadLittleEndian(UInt32.self, at: DeviceMapperIoctl.dataSizeOffset)
            dataStart = bytes.loadLittleEndian(UInt32.self, at: DeviceMapperIoctl.dataStartOffset)
            targetCount = bytes.loadLittleEndian(UInt32.self, at: DeviceMapperIoctl.targetCountOffset)
            openCount = Int32(bitPattern: bytes.loadLittleEndian(UInt32.self, at: DeviceMapperIoctl.openCountOffset))
            flags = Flags(rawValue: bytes.loadLittleEndian(UInt32.self, at: DeviceMapperIoctl.flagsOffset))
            eventNumber = bytes.loadLittleEndian(UInt32.self, at: DeviceMapperIoctl.eventNumberOffset)
            device = DeviceNumber(kernelEncoded: bytes.loadLittleEndian(UInt64.self, at: DeviceMapperIoctl.deviceOffset))
            name = bytes.cString(in: DeviceMapperIoctl.nameOffset..<DeviceMapperIoctl.nameOffset + DeviceMapperIoctl.nameCapacity)
            uuid = bytes.cString(in: DeviceMapperIoctl.uuidOffset..<DeviceMapperIoctl.uuidOffset + DeviceMapperIoctl.uuidCapacity)
            guard version.first == DeviceMapperIoctl.interfaceVersion[0] else { throw .unsupportedVersion(version) }
            guard Int(dataSize) <= bytes.count, Int(dataSize) >= DeviceMapperIoctl.headerLength - 7 else {
                throw .outOfBounds(field: "data_size", value: dataSize, limit: bytes.count)
            }
            // A data_start past data_size is no data at all: the kernel answers DM_DEV_REMOVE
            // with data_size 305 (the header without its padding) and data_start 312, as the
            // dracut-md scenario's shutdown found. `targets()` checks every target against
            // data_size, so none can be read from there.
            self.bytes = bytes
        }

        /// The kernel ran out of room for the answer: ask again with a larger buffer.
        public var isBufferFull: Bool { flags.contains(.bufferFull) }

        /// DM_TABLE_STATUS's targets, in table order: each spec's `next` counts from the first
        /// spec, each spec's text (status or table parameters) ends in a NUL, and none may
        /// reach past `data_size`.
        public func targets() throws(DeviceMapperCodecError) -> [Target] {
            if isBufferFull { throw .bufferFull }
            let first = Int(dataStart)
            let end = Int(dataSize)
            var targets: [Target] = []
            var offset = first
            for index in 0..<Int(targetCount) {
                guard offset >= first, offset + DeviceMapperIoctl.targetSpecLength <= end else {
                    throw .targetOutOfBounds(index: index, offset: offset)
                }
                let typeStart = offset + 24
                let parametersStart = offset + DeviceMapperIoctl.targetSpecLength
                guard let parametersEnd = bytes[parametersStart..<end].firstIndex(of: 0) else {
                    throw .unterminated(field: "target \(index) parameters")
                }
                targets.append(
                    Target(
                        sectorStart: bytes.loadLittleEndian(UInt64.self, at: offset),
                        length: bytes.loadLittleEndian(UInt64.self, at: offset + 8),
                        type: bytes.cString(in: typeStart..<typeStart + DeviceMapperIoctl.targetTypeCapacity),
                        parameters: String(decoding: bytes[parametersStart..<parametersEnd], as: UTF8.self),
                        status: Int32(bitPattern: bytes.loadLittleEndian(UInt32.self, at: offset + 16))))
                let next = first + Int(bytes.loadLittleEndian(UInt32.self, at: offset + 20))
                // Each spec must lie after the previous one's text: a `next` that points back
                // would loop or overlap.
                guard index + 1 == Int(targetCount) || next > parametersEnd else {
                    throw .targetOutOfBounds(index: index + 1, offset: next)
                }
                offset = next
            }
            return targets
        }
    }

    /// The next, larger buffer for an answer that did not fit (`isBufferFull`), or nil past
    /// `limit`: double, so that a huge table costs a few ioctls, never an unbounded buffer.
    public static func nextBufferSize(after size: Int, limit: Int = maximumBufferSize) -> Int? {
        let next = size * 2
        return next <= limit ? next : nil
    }

    /// The first buffer: a header and a few KiB, enough for a multipath map's status with
    /// dozens of paths.
    public static let initialBufferSize = 16 * 1024
    /// The largest buffer `DeviceMapper` offers the kernel.
    public static let maximumBufferSize = 1 << 20
}

/// Why a device-mapper request could not be encoded or its reply decoded.
public enum DeviceMapperCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidName(String, reason: String)
    case invalidTarget(String, reason: String)
    case bufferTooSmall(needed: Int, given: Int)
    case truncated(length: Int)
    case unsupportedVersion([UInt32])
    case outOfBounds(field: String, value: UInt32, limit: Int)
    case targetOutOfBounds(index: Int, offset: Int)
    case unterminated(field: String)
    case bufferFull

    public var description: String {
        switch self {
        case .invalidName(let name, let reason): "device-mapper name \"\(name)\" \(reason)"
        case .invalidTarget(let type, let reason): "device-mapper target \"\(type)\" \(reason)"
        case .bufferTooSmall(let needed, let given): "the request needs \(needed) bytes, the buffer has \(given)"
        case .truncated(let length): "the reply has \(length) bytes, shorter than struct dm_ioctl (312)"
        case .unsupportedVersion(let version):
            "the kernel answers with interface version \(version.map { String($0) }.joined(separator: ".")), not 4.x"
        case .outOfBounds(let field, let value, let limit): "the reply's \(field) \(value) lies outside its \(limit) bytes"
        case .targetOutOfBounds(let index, let offset): "the reply's target \(index) at offset \(offset) lies outside its data"
        case .unterminated(let field): "the reply's \(field) has no terminating NUL within its data"
        case .bufferFull: "the reply did not fit in its buffer (DM_BUFFER_FULL_FLAG)"
        }
    }
}

/// A device's major and minor number, as sysfs `dev` files and device-mapper tables write it
/// ("8:16"). The kernel's dev_t has 12 bits of major and 20 of minor (include/linux/kdev_t.h).
public struct DeviceNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let major: UInt32
    public let minor: UInt32

    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// "MAJOR:MINOR" in decimal, nothing else (a caller trims a sysfs file's newline); nil
    /// otherwise.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
            let major = UInt32(parts[0]), let minor = UInt32(parts[1])
        else { return nil }
        self.init(major: major, minor: minor)
    }

    /// `huge_decode_dev` of dm_ioctl.dev: the minor's low 8 bits, the major's 12 bits, then the
    /// minor's upper 12 bits (`new_encode_dev`).
    public init(kernelEncoded value: UInt64) {
        major = UInt32(truncatingIfNeeded: (value & 0xF_FF00) >> 8)
        minor = UInt32(truncatingIfNeeded: (value & 0xFF) | ((value >> 12) & 0xF_FF00))
    }

    /// `huge_encode_dev`, the inverse of `init(kernelEncoded:)`.
    public var kernelEncoded: UInt64 {
        UInt64(minor & 0xFF) | (UInt64(major & 0xFFF) << 8) | (UInt64(minor & ~0xFF) << 12)
    }

    public var description: String { "\(major):\(minor)" }

    public static func < (left: DeviceNumber, right: DeviceNumber) -> Bool {
        (left.major, left.minor) < (right.major, right.minor)
    }
}

private func alignedTo8(_ length: Int) -> Int { (length + 7) & ~7 }

extension [UInt8] {
    fileprivate mutating func storeLittleEndian<Value: FixedWidthInteger>(_ value: Value, at offset: Int) {
        for index in 0..<MemoryLayout<Value>.size { self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    fileprivate func loadLittleEndian<Value: FixedWidthInteger>(_: Value.Type, at offset: Int) -> Value {
        var value = Value.zero
        for index in 0..<MemoryLayout<Value>.size { value |= Value(truncatingIfNeeded: self[offset + index]) << (8 * index) }
        return value
    }

    /// The text up to the first NUL in `range` (all of it when there is none).
    fileprivate func cString(in range: Range<Int>) -> String {
        let end = self[range].firstIndex(of: 0) ?? range.upperBound
        return String(decoding: self[range.lowerBound..<end], as: UTF8.self)
    }
}
