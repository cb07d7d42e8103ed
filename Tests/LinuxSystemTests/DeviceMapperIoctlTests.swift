import Testing

@testable import LinuxSystem

/// The kernel's device-mapper ioctl ABI as byte vectors. Every offset, size, command number
/// and flag below was checked against linux/dm-ioctl.h (interface 4.47) with a C program
/// printing offsetof, sizeof and the `_IOWR` values on x86-64.
@Suite struct DeviceMapperIoctlTests {
    /// sizeof(struct dm_ioctl) 312, sizeof(struct dm_target_spec) 40, sizeof(struct
    /// dm_target_msg) 8; offsets of data_size 12, data_start 16, target_count 20, open_count
    /// 24, flags 28, event_nr 32, dev 40, name 48, uuid 176.
    @Test func structureSizesAndOffsets() {
        #expect(DeviceMapperIoctl.headerLength == 312)
        #expect(DeviceMapperIoctl.targetSpecLength == 40)
        #expect(DeviceMapperIoctl.targetMessageHeaderLength == 8)
        #expect(
            [
                DeviceMapperIoctl.dataSizeOffset, DeviceMapperIoctl.dataStartOffset, DeviceMapperIoctl.targetCountOffset,
                DeviceMapperIoctl.openCountOffset, DeviceMapperIoctl.flagsOffset, DeviceMapperIoctl.eventNumberOffset,
                DeviceMapperIoctl.deviceOffset, DeviceMapperIoctl.nameOffset, DeviceMapperIoctl.uuidOffset,
            ] == [12, 16, 20, 24, 28, 32, 40, 48, 176])
    }

    /// DM_VERSION 0xc138fd00 … DM_TARGET_MSG 0xc138fd0e: `_IOWR(0xfd, nr, struct dm_ioctl)`.
    @Test func requestNumbers() {
        for command in DeviceMapperIoctl.Command.allCases {
            #expect(command.requestNumber == 0xc138_fd00 + UInt(command.rawValue), "\(command.name)")
        }
        #expect(DeviceMapperIoctl.Command.allCases.map { $0.rawValue } == Array(0...14))
        #expect(DeviceMapperIoctl.Command.createDevice.requestNumber == 0xc138_fd03)
        #expect(DeviceMapperIoctl.Command.removeDevice.requestNumber == 0xc138_fd04)
        #expect(DeviceMapperIoctl.Command.suspendDevice.requestNumber == 0xc138_fd06)
        #expect(DeviceMapperIoctl.Command.loadTable.requestNumber == 0xc138_fd09)
        #expect(DeviceMapperIoctl.Command.tableStatus.requestNumber == 0xc138_fd0c)
        #expect(DeviceMapperIoctl.Command.targetMessage.requestNumber == 0xc138_fd0e)
    }

    /// DM_SUSPEND_FLAG 1<<1, DM_STATUS_TABLE_FLAG 1<<4, DM_BUFFER_FULL_FLAG 1<<8,
    /// DM_NOFLUSH_FLAG 1<<11, DM_DEFERRED_REMOVE 1<<17.
    @Test func flagBits() {
        #expect(DeviceMapperIoctl.Flags.suspended.rawValue == 2)
        #expect(DeviceMapperIoctl.Flags.statusTable.rawValue == 16)
        #expect(DeviceMapperIoctl.Flags.bufferFull.rawValue == 256)
        #expect(DeviceMapperIoctl.Flags.noFlush.rawValue == 2048)
        #expect(DeviceMapperIoctl.Flags.deferredRemove.rawValue == 0x2_0000)
    }

    /// The kernel's new_encode_dev: 253:3 → 0xfd03, 8:16 → 0x810 (the same as glibc's makedev
    /// for small numbers), 259:0x12345 → 0x12310345 (the minor's upper bits above the major).
    @Test func deviceNumberEncoding() {
        let vectors: [(DeviceNumber, UInt64)] = [
            (DeviceNumber(major: 253, minor: 3), 0xfd03), (DeviceNumber(major: 8, minor: 16), 0x810),
            (DeviceNumber(major: 259, minor: 0x12345), 0x1231_0345),
        ]
        for (number, encoded) in vectors {
            #expect(number.kernelEncoded == encoded)
            #expect(DeviceNumber(kernelEncoded: encoded) == number)
        }
        #expect(DeviceNumber("8:16") == DeviceNumber(major: 8, minor: 16))
        #expect(DeviceNumber(major: 253, minor: 3).description == "253:3")
        for text in ["8", "8:", ":16", "8:16:1", "8:-1", "a:b", "8:16\n", "99999999999:1", ""] {
            #expect(DeviceNumber(text) == nil, "\(text)")
        }
        // glibc's makedev(0x1234, 0x56789), as the C program printed it.
        #expect(DeviceMapper.glibcDeviceNumber(DeviceNumber(major: 0x1234, minor: 0x5_6789)) == 0x1000_5672_3489)
    }

    @Test func createRequest() throws {
        let bytes = try DeviceMapperIoctl.Request.create(name: "mpath-root", uuid: "iscsi-root-1").encode(bufferSize: 16384)
        #expect(bytes.count == 16384)
        #expect(
            Array(bytes[0..<32]) == [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0x38, 1, 0, 0] + [UInt8](repeating: 0, count: 12))
        #expect(Array(bytes[48..<58]) == Array("mpath-root".utf8) && bytes[58] == 0)
        #expect(Array(bytes[176..<188]) == Array("iscsi-root-1".utf8) && bytes[188] == 0)
        #expect(bytes[312...].allSatisfy { $0 == 0 })
    }

    /// Each spec: sector_start, length, status, next (from this spec to the next: 40 bytes and
    /// the parameters with their NUL, rounded up to 8), type; the parameters follow.
    @Test func loadTableRequestWithTwoTargets() throws {
        let first = DeviceMapperIoctl.Target(length: 2048, type: "linear", parameters: "8:16 0")  // 7 bytes with NUL → next 48
        let second = DeviceMapperIoctl.Target(sectorStart: 2048, length: 8, type: "zero", parameters: "")  // 1 byte → next 48
        let request = DeviceMapperIoctl.Request.loadTable(.name("m"), targets: [first, second])
        #expect(request.encodedLength == 312 + 48 + 48)
        let bytes = try request.encode(bufferSize: 1024)
        #expect(Array(bytes[20..<24]) == [2, 0, 0, 0])
        #expect(Array(bytes[312..<336]) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0, 48, 0, 0, 0])
        #expect(Array(bytes[336..<343]) == Array("linear\0".utf8))
        #expect(Array(bytes[352..<359]) == Array("8:16 0\0".utf8))
        #expect(Array(bytes[360..<384]) == [0, 8, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0, 48, 0, 0, 0])
        #expect(Array(bytes[384..<389]) == Array("zero\0".utf8))
    }

    @Test func suspendResumeRemoveAndStatusFlags() throws {
        let flags = { (request: DeviceMapperIoctl.Request) throws -> [UInt8] in Array(try request.encode(bufferSize: 400)[28..<32]) }
        #expect(try flags(.suspend(.name("m"), keepQueuedIO: false)) == [2, 0, 0, 0])
        #expect(try flags(.suspend(.name("m"), keepQueuedIO: true)) == [2, 8, 0, 0])
        #expect(try flags(.resume(.name("m"))) == [0, 0, 0, 0])
        #expect(try flags(.remove(.name("m"))) == [0, 0, 0, 0])
        #expect(try flags(.remove(.name("m"), deferred: true)) == [0, 0, 2, 0])
        #expect(try flags(.tableStatus(.name("m"), table: false)) == [0, 0, 0, 0])
        #expect(try flags(.tableStatus(.name("m"), table: true)) == [16, 0, 0, 0])
        #expect(DeviceMapperIoctl.Request.resume(.name("m")).command == .suspendDevice)
    }

    /// struct dm_target_msg at data_start: sector u64, then the NUL-terminated message.
    @Test func targetMessageRequest() throws {
        let bytes = try DeviceMapperIoctl.Request.message(.name("m"), text: "fail_path 8:16").encode(bufferSize: 512)
        #expect(Array(bytes[312..<320]) == [UInt8](repeating: 0, count: 8))
        #expect(Array(bytes[320..<335]) == Array("fail_path 8:16\0".utf8))
    }

    /// By UUID the name field stays empty: the kernel refuses a request naming both.
    @Test func requestsNamingTheDeviceByUUID() throws {
        let request = DeviceMapperIoctl.Request.message(.uuid("mpath-3600140"), text: "reinstate_path 8:16")
        #expect(request.device == .uuid("mpath-3600140") && request.device.description == "UUID mpath-3600140")
        let bytes = try request.encode(bufferSize: 512)
        #expect(bytes[48..<176].allSatisfy { $0 == 0 })
        #expect(Array(bytes[176..<190]) == Array("mpath-3600140\0".utf8))
        #expect(try DeviceMapperIoctl.Request.tableStatus(.uuid("u"), table: true).encode(bufferSize: 400)[176] == UInt8(ascii: "u"))
        #expect(DeviceMapperIoctl.Request.resume(.name("m")).device == .name("m"))
    }

    @Test func refusesWhatTheKernelWouldRefuse() {
        let long = String(repeating: "n", count: 128)
        let requests: [DeviceMapperIoctl.Request] = [
            .create(name: "", uuid: "u"), .create(name: long, uuid: ""), .create(name: "a/b", uuid: ""),
            .create(name: "m", uuid: String(repeating: "u", count: 129)),
            .loadTable(.name("m"), targets: [DeviceMapperIoctl.Target(length: 1, type: "a-type-name-too-long", parameters: "")]),
            .loadTable(.name("m"), targets: [DeviceMapperIoctl.Target(length: 1, type: "linear", parameters: "8:16\u{0}0")]),
            .message(.name("m"), text: ""), .resume(.name("")), .resume(.uuid("")),
            DeviceMapperIoctl.Request(command: .suspendDevice, name: "m", uuid: "u"),
        ]
        for request in requests { #expect(throws: DeviceMapperCodecError.self) { try request.encode(bufferSize: 4096) } }
        #expect(throws: DeviceMapperCodecError.bufferTooSmall(needed: 312, given: 311)) {
            try DeviceMapperIoctl.Request.version.encode(bufferSize: 311)
        }
    }

    // MARK: replies

    /// A reply header as the kernel writes one, with `data` at offset 312.
    private func reply(flags: UInt32 = 0, targetCount: UInt32 = 0, dev: UInt64 = 0, data: [UInt8] = [], size: Int? = nil) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size ?? (312 + data.count))
        let put = { (value: UInt64, offset: Int, width: Int) in
            for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
        }
        put(4, 0, 4)
        put(47, 4, 4)
        put(UInt64(bytes.count), 12, 4)
        put(312, 16, 4)
        put(UInt64(targetCount), 20, 4)
        put(1, 24, 4)
        put(UInt64(flags), 28, 4)
        put(7, 32, 4)
        put(dev, 40, 8)
        bytes.replaceSubrange(48..<52, with: Array("root".utf8))
        bytes.replaceSubrange(312..<312 + data.count, with: data)
        return bytes
    }

    /// A status target: the spec (next counted from the first spec) and its text.
    private func statusTarget(start: UInt64, length: UInt64, type: String, text: String, next: UInt32) -> [UInt8] {
        var spec = [UInt8](repeating: 0, count: 40)
        for index in 0..<8 {
            spec[index] = UInt8(truncatingIfNeeded: start >> (8 * index))
            spec[8 + index] = UInt8(truncatingIfNeeded: length >> (8 * index))
        }
        for index in 0..<4 { spec[20 + index] = UInt8(truncatingIfNeeded: next >> (8 * index)) }
        spec.replaceSubrange(24..<24 + type.utf8.count, with: type.utf8)
        var bytes = spec + Array(text.utf8) + [0]
        bytes += [UInt8](repeating: 0, count: (8 - bytes.count % 8) % 8)
        return bytes
    }

    @Test func decodesHeaderFieldsAndDevice() throws {
        let decoded = try DeviceMapperIoctl.Reply(decoding: reply(flags: 0x22, dev: 0xfd03))
        #expect(decoded.version == [4, 47, 0])
        #expect(decoded.device == DeviceNumber(major: 253, minor: 3))
        #expect(decoded.flags == [.suspended, .activeTablePresent])
        #expect(decoded.openCount == 1 && decoded.eventNumber == 7 && decoded.name == "root" && decoded.uuid == "")
        #expect(!decoded.isBufferFull)
        #expect(try DeviceMapperIoctl.Reply(decoding: reply(flags: 256)).isBufferFull)
        #expect(throws: DeviceMapperCodecError.bufferFull) {
            try DeviceMapperIoctl.Reply(decoding: reply(flags: 256, targetCount: 1)).targets()
        }
    }

    @Test func decodesTableStatusTargets() throws {
        let first = statusTarget(start: 0, length: 100, type: "multipath", text: "2 0 0 0 1 1 A 0 1 2 8:16 A 0 0 1", next: 80)
        #expect(first.count == 80)
        let second = statusTarget(start: 100, length: 8, type: "zero", text: "", next: 0)
        let decoded = try DeviceMapperIoctl.Reply(decoding: reply(targetCount: 2, data: first + second))
        #expect(
            try decoded.targets() == [
                DeviceMapperIoctl.Target(length: 100, type: "multipath", parameters: "2 0 0 0 1 1 A 0 1 2 8:16 A 0 0 1"),
                DeviceMapperIoctl.Target(sectorStart: 100, length: 8, type: "zero", parameters: ""),
            ])
    }

    @Test func hostileRepliesAreTypedErrors() throws {
        #expect(throws: DeviceMapperCodecError.truncated(length: 311)) {
            try DeviceMapperIoctl.Reply(decoding: [UInt8](repeating: 0, count: 311))
        }
        var wrongVersion = reply()
        wrongVersion[0] = 5
        #expect(throws: DeviceMapperCodecError.unsupportedVersion([5, 47, 0])) { try DeviceMapperIoctl.Reply(decoding: wrongVersion) }
        var dataSizePastEnd = reply()
        dataSizePastEnd[13] = 0x10  // data_size 4096 + 312 in a 312-byte buffer
        #expect(throws: DeviceMapperCodecError.self) { try DeviceMapperIoctl.Reply(decoding: dataSizePastEnd) }
        // data_start past data_size: no data. The kernel's own answer to DM_DEV_REMOVE
        // (data_size 305, data_start 312) decodes; a target claimed there is out of bounds.
        var removed = reply()
        removed[12] = 0x31
        removed[13] = 0x01
        #expect(try DeviceMapperIoctl.Reply(decoding: removed).targets() == [])
        var dataStartPastSize = reply(targetCount: 1, data: [UInt8](repeating: 0, count: 8))
        dataStartPastSize[17] = 0x10
        #expect(throws: DeviceMapperCodecError.targetOutOfBounds(index: 0, offset: 4152)) {
            try DeviceMapperIoctl.Reply(decoding: dataStartPastSize).targets()
        }
        // Three targets claimed, one present.
        let one = statusTarget(start: 0, length: 1, type: "zero", text: "x", next: 48)
        #expect(throws: DeviceMapperCodecError.targetOutOfBounds(index: 1, offset: 360)) {
            try DeviceMapperIoctl.Reply(decoding: reply(targetCount: 3, data: one)).targets()
        }
        // A `next` that points back at the first spec would loop.
        let looping = statusTarget(start: 0, length: 1, type: "zero", text: "x", next: 0)
        #expect(throws: DeviceMapperCodecError.targetOutOfBounds(index: 1, offset: 312)) {
            try DeviceMapperIoctl.Reply(decoding: reply(targetCount: 2, data: looping + looping)).targets()
        }
        // Parameters without their NUL up to data_size.
        var unterminated = statusTarget(start: 0, length: 1, type: "zero", text: "1234567", next: 48)
        unterminated[47] = 0x41
        #expect(throws: DeviceMapperCodecError.unterminated(field: "target 0 parameters")) {
            try DeviceMapperIoctl.Reply(decoding: reply(targetCount: 1, data: unterminated)).targets()
        }
        #expect(throws: DeviceMapperCodecError.self) { try DeviceMapperIoctl.Reply(decoding: reply(targetCount: UInt32.max)).targets() }
    }

    /// Random bytes in a plausible header never crash the decoder (a fixed-seed linear
    /// congruential sequence, so that a failure reproduces).
    @Test func randomRepliesNeverCrash() {
        var seed: UInt64 = 0xd3
        let random = { (bound: Int) -> Int in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(seed >> 33) % bound
        }
        for _ in 0..<2_000 {
            var bytes = reply(size: 312 + random(400))
            for _ in 0...random(12) { bytes[12 + random(bytes.count - 12)] = UInt8(random(256)) }
            bytes[20] = UInt8(random(5))
            if let decoded = try? DeviceMapperIoctl.Reply(decoding: bytes) { _ = try? decoded.targets() }
        }
    }

    @Test func bufferGrowthDoublesUpToTheLimit() {
        #expect(DeviceMapperIoctl.nextBufferSize(after: 16384) == 32768)
        #expect(DeviceMapperIoctl.nextBufferSize(after: 1 << 19) == 1 << 20)
        #expect(DeviceMapperIoctl.nextBufferSize(after: 1 << 20) == nil)
        var size = DeviceMapperIoctl.initialBufferSize
        var asks = 1
        while let next = DeviceMapperIoctl.nextBufferSize(after: size) {
            size = next
            asks += 1
        }
        #expect(asks == 7)
    }
}
