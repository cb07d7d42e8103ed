#if canImport(Glibc)
    import Glibc
#endif
import ISCSI
import LinuxSystem

/// The built-in test operation on a block device (`dvt --kernel` and `--block-device`
/// without `--script`): the device's size against READ CAPACITY (16) sent through SG_IO,
/// O_DIRECT reads of 1 block up to several MaxBurstLength at misaligned offsets, each read
/// twice and compared, the last block read and the end of the device seen; with `--write`,
/// patterned writes inside the LBA range read back and compared.
public struct BlockDeviceCheck {
    public let device: String
    public let mode: ValidationMode
    /// The negotiated bursts the transfer sizes are chosen around.
    public let maxBurstLength: Int
    public let firstBurstLength: Int
    /// Mixed into the written pattern, as in `IOExercise`.
    public let seed: UInt64

    public init(device: String, mode: ValidationMode, maxBurstLength: Int, firstBurstLength: Int, seed: UInt64) {
        self.device = device
        self.mode = mode
        self.maxBurstLength = maxBurstLength
        self.firstBurstLength = firstBurstLength
        self.seed = seed
    }

    /// `O_DIRECT` of x86-64 and arm64 Linux (Glibc's module is built without `_GNU_SOURCE`,
    /// which hides the name).
    static let directIO: Int32 = 0o40000
    /// `BLKSSZGET` and `BLKGETSIZE64` of <linux/fs.h>.
    static let blockSizeRequest: UInt = 0x1268
    static let sizeRequest: UInt = 0x8008_1272

    public func run() throws(ValidationFailure) -> IOStatistics {
        let writing: Bool
        if case .write = mode { writing = true } else { writing = false }
        let descriptor = open(device, (writing ? O_RDWR : O_RDONLY) | O_CLOEXEC | Self.directIO)
        guard descriptor >= 0 else {
            throw ValidationFailure(.io, "open \(device) with O_DIRECT: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var blockSize: Int32 = 0
        var sizeBytes: UInt64 = 0
        guard ioctl(descriptor, Self.blockSizeRequest, &blockSize) == 0, ioctl(descriptor, Self.sizeRequest, &sizeBytes) == 0,
            blockSize >= 512
        else {
            throw ValidationFailure(.capacity, "\(device): the block size or size ioctl failed: \(String(cString: strerror(errno)))")
        }
        let blockLength = Int(blockSize)
        let capacity: Capacity
        if let answered = try readCapacity(descriptor) {
            capacity = answered
        } else {
            // Not a SCSI disk (a loop device, say): the size is all there is to go by.
            guard sizeBytes >= UInt64(blockLength) else { throw ValidationFailure(.capacity, "\(device) is empty (\(sizeBytes) bytes)") }
            // Standard output is the parent's pipe; written at once, as the child ends with _exit.
            let note = Array("\(device) does not take SCSI commands (SG_IO): its size is not compared with READ CAPACITY\n".utf8)
            _ = note.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            capacity = Capacity(lastLogicalBlock: sizeBytes / UInt64(blockLength) - 1, blockLength: UInt32(blockLength))
        }
        guard Int(capacity.blockLength) == blockLength, capacity.blockCount &* UInt64(blockLength) == sizeBytes else {
            throw ValidationFailure(
                .capacity,
                "\(device) has \(sizeBytes) bytes in \(blockLength)-byte blocks, READ CAPACITY (16) says \(capacity.blockCount) blocks of \(capacity.blockLength) bytes"
            )
        }
        let lastBlock = capacity.lastLogicalBlock
        var statistics = IOStatistics()
        let started = MonotonicInstant.now()
        switch mode {
        case .readOnly:
            for extent in layout(in: 0...lastBlock, blockLength: blockLength) {
                let first = try read(descriptor, extent, blockLength: blockLength)
                let second = try read(descriptor, extent, blockLength: blockLength)
                statistics.bytesRead += first.count + second.count
                if let offset = firstMismatch(first, second) {
                    throw ValidationFailure(.verify, "two reads of \(extent.blocks) blocks at LBA \(extent.lba) differ at byte \(offset)")
                }
            }
            statistics.bytesRead += try read(descriptor, .init(lba: lastBlock, blocks: 1), blockLength: blockLength).count
            // The end of the device: a read there returns nothing, it is no error.
            let past = try transfer(descriptor, offset: (lastBlock + 1) * UInt64(blockLength), bytes: blockLength, writing: nil)
            guard past == 0 else {
                throw ValidationFailure(.capacity, "a read past the last block \(lastBlock) returned \(past) bytes, expected none")
            }
        case .write(let lbas):
            guard lbas.upperBound <= lastBlock else {
                throw ValidationFailure(.capacity, "--lba-range ends at \(lbas.upperBound), past the last block \(lastBlock) of \(device)")
            }
            for extent in layout(in: lbas, blockLength: blockLength) {
                let pattern = self.pattern(extent, blockLength: blockLength)
                let written = try transfer(
                    descriptor, offset: extent.lba * UInt64(blockLength), bytes: pattern.count, writing: pattern)
                guard written == pattern.count else {
                    throw ValidationFailure(.io, "WRITE of \(extent.blocks) blocks at LBA \(extent.lba) wrote \(written) bytes")
                }
                statistics.bytesWritten += written
                let back = try read(descriptor, extent, blockLength: blockLength)
                statistics.bytesRead += back.count
                if let offset = firstMismatch(back, pattern) {
                    throw ValidationFailure(
                        .verify, "block data read back at LBA \(extent.lba) differs from what was written at byte \(offset)")
                }
            }
        }
        statistics.nanoseconds = MonotonicInstant.now().nanoseconds - started.nanoseconds
        return statistics
    }

    /// The same transfers as the userspace exercise (`IOExercise.layout`).
    func layout(in lbas: ClosedRange<UInt64>, blockLength: Int) -> [IOExercise.Extent] {
        IOExercise(
            lun: LogicalUnit(0), mode: mode, maxBurstLength: maxBurstLength, firstBurstLength: firstBurstLength, seed: seed
        ).layout(in: lbas, blockLength: blockLength)
    }

    private func read(_ descriptor: Int32, _ extent: IOExercise.Extent, blockLength: Int) throws(ValidationFailure) -> [UInt8] {
        let bytes = extent.blocks * blockLength
        var data = [UInt8](repeating: 0, count: bytes)
        let count = try transfer(descriptor, offset: extent.lba * UInt64(blockLength), bytes: bytes, writing: nil, into: &data)
        guard count == bytes else {
            throw ValidationFailure(.io, "READ of \(extent.blocks) blocks at LBA \(extent.lba) returned \(count) of \(bytes) bytes")
        }
        return data
    }

    private func transfer(_ descriptor: Int32, offset: UInt64, bytes: Int, writing: [UInt8]?) throws(ValidationFailure) -> Int {
        var unused: [UInt8] = []
        return try transfer(descriptor, offset: offset, bytes: bytes, writing: writing, into: &unused)
    }

    /// One pread/pwrite through a page-aligned buffer, as O_DIRECT needs.
    private func transfer(
        _ descriptor: Int32, offset: UInt64, bytes: Int, writing: [UInt8]?, into data: inout [UInt8]
    ) throws(ValidationFailure) -> Int {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 4096)
        defer { buffer.deallocate() }
        if let writing { writing.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: writing.count) } }
        let done =
            writing == nil ? pread(descriptor, buffer, bytes, off_t(offset)) : pwrite(descriptor, buffer, bytes, off_t(offset))
        guard done >= 0 else {
            throw ValidationFailure(
                .io,
                "\(writing == nil ? "read" : "write") of \(bytes) bytes at byte \(offset) of \(device): \(String(cString: strerror(errno)))"
            )
        }
        if writing == nil, !data.isEmpty {
            let copied = min(done, data.count)
            data.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: buffer, byteCount: copied) }
        }
        return done
    }

    private func pattern(_ extent: IOExercise.Extent, blockLength: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(extent.blocks * blockLength)
        for block in 0..<UInt64(extent.blocks) {
            var state = (seed ^ (extent.lba + block)) &* 0x9E37_79B9_7F4A_7C15
            for _ in 0..<(blockLength / 8) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: state >> UInt64(shift))) }
            }
        }
        return bytes
    }

    /// READ CAPACITY (16) through SG_IO (`struct sg_io_hdr`, x86-64 layout: 88 bytes).
    /// nil when the device takes no SCSI commands.
    private func readCapacity(_ descriptor: Int32) throws(ValidationFailure) -> Capacity? {
        let reply: SCSIGenericReply
        do throws(SystemError) {
            reply = try scsiCommandReadingData(descriptor, cdb: CDB.readCapacity16(), dataLength: 32, timeoutMilliseconds: 30_000)
        } catch {
            if error.code == EINVAL || error.code == ENOTTY { return nil }
            throw ValidationFailure(.capacity, "READ CAPACITY (16) through SG_IO on \(device): \(error)")
        }
        guard reply.succeeded else {
            throw ValidationFailure(
                .capacity, "READ CAPACITY (16) on \(device): SCSI status 0x\(hexByte(reply.status)), host status \(reply.hostStatus)")
        }
        let data = reply.data + [UInt8](repeating: 0, count: max(0, 32 - reply.data.count))
        do {
            return try Capacity(data)
        } catch {
            throw ValidationFailure(.capacity, "READ CAPACITY (16) on \(device): \(error)")
        }
    }
}

/// The first offset where `a` and `b` differ, nil when they are the same up to the shorter.
private func firstMismatch(_ a: [UInt8], _ b: [UInt8]) -> Int? {
    (0..<min(a.count, b.count)).first { a[$0] != b[$0] }
}
