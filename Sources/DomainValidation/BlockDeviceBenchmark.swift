#if canImport(Glibc)
    import Glibc
#endif
import LinuxSystem

/// Sequential throughput through the kernel's block layer (`dvt --block-device /dev/sdX
/// --bench seq-read|seq-write`): one O_DIRECT pread or pwrite at a time, as fio's psync
/// engine at queue depth 1 does, so that the two figures compare the same work.
public struct BlockDeviceBenchmark {
    public let device: String
    public let mode: Benchmark.Mode
    public let transferBytes: Int
    public let seconds: Int
    /// The scratch blocks a write may cover; reads cover the whole device.
    public let lbas: ClosedRange<UInt64>?

    public init(device: String, mode: Benchmark.Mode, transferBytes: Int, seconds: Int, lbas: ClosedRange<UInt64>?) {
        self.device = device
        self.mode = mode
        self.transferBytes = transferBytes
        self.seconds = seconds
        self.lbas = lbas
    }

    public func run() throws(ValidationFailure) -> Benchmark.Result {
        let writing = mode == .sequentialWrite
        guard mode != .randomRead else {
            throw ValidationFailure(.io, "--bench rand-read is not measured on a block device (expected seq-read or seq-write)")
        }
        let descriptor = open(device, (writing ? O_RDWR : O_RDONLY) | O_CLOEXEC | BlockDeviceCheck.directIO)
        guard descriptor >= 0 else {
            throw ValidationFailure(.io, "open \(device) with O_DIRECT: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var blockSize: Int32 = 0
        var sizeBytes: UInt64 = 0
        guard ioctl(descriptor, BlockDeviceCheck.blockSizeRequest, &blockSize) == 0,
            ioctl(descriptor, BlockDeviceCheck.sizeRequest, &sizeBytes) == 0, blockSize >= 512
        else {
            throw ValidationFailure(.capacity, "\(device): the block size or size ioctl failed: \(String(cString: strerror(errno)))")
        }
        let blockLength = UInt64(blockSize)
        guard transferBytes % Int(blockLength) == 0 else {
            throw ValidationFailure(.io, "--transfer-size \(transferBytes) is not a multiple of \(device)'s \(blockLength)-byte blocks")
        }
        let lastBlock = sizeBytes / blockLength - 1
        let range = writing ? (lbas ?? 0...0) : 0...lastBlock
        guard range.upperBound <= lastBlock else {
            throw ValidationFailure(.capacity, "--lba-range ends at \(range.upperBound), past the last block \(lastBlock) of \(device)")
        }
        let first = range.lowerBound * blockLength
        let slots = (range.upperBound - range.lowerBound + 1) * blockLength / UInt64(transferBytes)
        guard slots > 0 else {
            throw ValidationFailure(
                .capacity, "the blocks \(range.lowerBound)-\(range.upperBound) are fewer than one \(transferBytes)-byte transfer")
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: transferBytes, alignment: 4096)
        defer { buffer.deallocate() }
        // Not zeros: a target may treat a zero write as an unmap.
        for index in 0..<transferBytes {
            buffer.storeBytes(of: UInt8(truncatingIfNeeded: index &* 131 &+ 7), toByteOffset: index, as: UInt8.self)
        }
        var result = Benchmark.Result(operations: 0, bytes: 0, nanoseconds: 0)
        var slot: UInt64 = 0
        let started = MonotonicInstant.now()
        let end = started.advanced(byMilliseconds: seconds * 1000)
        while !end.hasPassed {
            let offset = off_t(first + slot * UInt64(transferBytes))
            let done = writing ? pwrite(descriptor, buffer, transferBytes, offset) : pread(descriptor, buffer, transferBytes, offset)
            guard done == transferBytes else {
                let reason = done < 0 ? String(cString: strerror(errno)) : "\(done) bytes"
                throw ValidationFailure(
                    .io, "\(writing ? "write" : "read") of \(transferBytes) bytes at byte \(offset) of \(device): \(reason)")
            }
            result.operations += 1
            result.bytes += transferBytes
            slot = (slot + 1) % slots
        }
        result.nanoseconds = MonotonicInstant.now().nanoseconds - started.nanoseconds
        return result
    }
}
