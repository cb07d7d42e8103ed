import ISCSI
import Initiator
import LinuxSystem

/// What the test operation may touch.
public enum ValidationMode: Sendable, Equatable {
    /// Reads only: several sizes, two reads of each range compared, READ CAPACITY's bounds.
    case readOnly
    /// Writes patterned blocks within `lbas` (inclusive), reads them back and compares.
    case write(lbas: ClosedRange<UInt64>)
}

/// Why a combination failed, and in which step.
public struct ValidationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Step: String, Sendable {
        case login, negotiation, capacity, io = "I/O", verify, logout
    }

    public var step: Step
    public var message: String

    public init(_ step: Step, _ message: String) {
        self.step = step
        self.message = message
    }

    public var description: String { "\(step.rawValue): \(message)" }
}

/// Bytes moved by a test operation and how long the I/O took.
public struct IOStatistics: Sendable, Equatable {
    public var bytesRead = 0
    public var bytesWritten = 0
    public var nanoseconds: Int64 = 0

    /// Both directions together, in MiB/s (0 when nothing was timed).
    public var mebibytesPerSecond: Double {
        guard nanoseconds > 0 else { return 0 }
        return Double(bytesRead + bytesWritten) / 1_048_576 / (Double(nanoseconds) / 1e9)
    }
}

/// The test operation of one combination: transfers sized around the negotiated limits,
/// several in flight at once, checked end to end.
struct IOExercise {
    /// The largest single transfer: several MaxBurstLength when the burst is small, bounded
    /// so that a sweep with a 16 MiB burst stays in seconds.
    static let maximumTransferBytes = 2 * 1_048_576
    /// Commands queued at once in the multi-command steps.
    static let queueDepth = 8

    let lun: LogicalUnit
    let mode: ValidationMode
    /// The negotiated bursts the transfer sizes are chosen around.
    let maxBurstLength: Int
    let firstBurstLength: Int
    /// Mixed into the written pattern so that data left by an earlier combination never passes.
    let seed: UInt64

    /// READ CAPACITY, then the mode's transfers; returns what moved. SBC deviations that leave
    /// the data right (`checkBounds`) are added to `deviations` instead of failing.
    func run(on session: inout Session, deviations: inout [ProtocolDeviation]) throws(ValidationFailure) -> IOStatistics {
        let capacity = try readCapacity(on: &session)
        let blockLength = Int(capacity.blockLength)
        var statistics = IOStatistics()
        let started = MonotonicInstant.now()
        switch mode {
        case .readOnly:
            let extents = layout(in: 0...capacity.lastLogicalBlock, blockLength: blockLength)
            try compareRepeatedReads(extents, blockLength: blockLength, on: &session, statistics: &statistics)
            if let deviation = try checkBounds(capacity, on: &session, statistics: &statistics) { deviations.append(deviation) }
        case .write(let lbas):
            guard lbas.upperBound <= capacity.lastLogicalBlock else {
                throw ValidationFailure(
                    .capacity, "--lba-range ends at \(lbas.upperBound), past the last block \(capacity.lastLogicalBlock) of LUN \(lun)")
            }
            let extents = layout(in: lbas, blockLength: blockLength)
            try writeAndVerify(extents, blockLength: blockLength, on: &session, statistics: &statistics)
        }
        statistics.nanoseconds = MonotonicInstant.now().nanoseconds - started.nanoseconds
        return statistics
    }

    private func readCapacity(on session: inout Session) throws(ValidationFailure) -> Capacity {
        // Two `do`s: one per error type, as Embedded Swift has no `any Error`.
        let data: [UInt8]
        do {
            data = try session.read(CDB.readCapacity16(), lun: lun, expectedLength: 32, name: "READ CAPACITY (16)")
        } catch {
            throw ValidationFailure(.capacity, "\(error)")
        }
        let capacity: Capacity
        do {
            capacity = try Capacity(data)
        } catch {
            throw ValidationFailure(.capacity, "\(error)")
        }
        let length = capacity.blockLength
        guard length >= 512, length <= 65536, length & (length - 1) == 0, capacity.lastLogicalBlock > 0 else {
            throw ValidationFailure(
                .capacity, "READ CAPACITY (16) reports \(capacity.blockCount) blocks of \(length) bytes, not a usable disk")
        }
        return capacity
    }

    /// One transfer: `blocks` blocks at `lba`.
    struct Extent: Equatable {
        var lba: UInt64
        var blocks: Int
    }

    /// Transfers of 1 block, a page, the first burst and one block more, a burst and one
    /// block more, and three bursts; each starts at an odd block offset from the previous
    /// one (misaligned), none overlap, all within `lbas`. Sizes shrink to fit a small range.
    func layout(in lbas: ClosedRange<UInt64>, blockLength: Int) -> [Extent] {
        let maximumBlocks = max(1, Self.maximumTransferBytes / blockLength)
        let burstBlocks = max(1, maxBurstLength / blockLength)
        let firstBurstBlocks = max(1, firstBurstLength / blockLength)
        let wanted = [1, max(1, 4096 / blockLength), firstBurstBlocks + 1, burstBlocks + 1, 3 * burstBlocks, 7]
        var extents: [Extent] = []
        var cursor = lbas.lowerBound
        for (index, blocks) in wanted.enumerated() {
            // Odd gaps (1, 3, 5, …) keep starting blocks away from any alignment.
            cursor += UInt64(2 * index + 1)
            guard cursor <= lbas.upperBound else { break }
            let room = lbas.upperBound - cursor + 1
            let size = Int(min(UInt64(min(blocks, maximumBlocks)), room))
            extents.append(Extent(lba: cursor, blocks: size))
            cursor += UInt64(size)
        }
        if extents.isEmpty { extents.append(Extent(lba: lbas.lowerBound, blocks: 1)) }
        return extents
    }

    /// READ (10) and READ (16) alternately; every extent read twice, all queued at once, and
    /// the two copies compared (a target that mixes up queued tasks or offsets fails here).
    private func compareRepeatedReads(
        _ extents: [Extent], blockLength: Int, on session: inout Session, statistics: inout IOStatistics
    ) throws(ValidationFailure) {
        let requests = extents.enumerated().flatMap { index, extent in
            [false, true].map { sixteen in
                SCSIRequest.read(
                    lba: extent.lba, blocks: extent.blocks, blockLength: blockLength, lun: lun, sixteenByteCDB: sixteen != (index % 2 == 0))
            }
        }
        let results = try perform(requests, on: &session)
        for (index, extent) in extents.enumerated() {
            let first = results[2 * index].data
            let second = results[2 * index + 1].data
            statistics.bytesRead += first.count + second.count
            guard first.count == extent.blocks * blockLength, second.count == first.count else {
                throw ValidationFailure(
                    .verify, "READ of \(extent.blocks) blocks at LBA \(extent.lba) returned \(first.count) and \(second.count) bytes")
            }
            if let difference = firstDifference(first, second) {
                throw ValidationFailure(
                    .verify,
                    "two reads of \(extent.blocks) blocks at LBA \(extent.lba) differ at byte \(difference) (0x\(hex(first[difference])) vs 0x\(hex(second[difference])))"
                )
            }
        }
    }

    /// The last block reads GOOD; the block after it ends CHECK CONDITION, ILLEGAL REQUEST,
    /// LOGICAL BLOCK ADDRESS OUT OF RANGE (SBC-3 §4.5). Data past the end is a failure; any
    /// other refusal is a deviation: the target protected the data, with other sense.
    private func checkBounds(
        _ capacity: Capacity, on session: inout Session, statistics: inout IOStatistics
    ) throws(ValidationFailure) -> ProtocolDeviation? {
        let blockLength = Int(capacity.blockLength)
        let last = SCSIRequest.read(lba: capacity.lastLogicalBlock, blocks: 1, blockLength: blockLength, lun: lun, sixteenByteCDB: true)
        let beyond = SCSIRequest.read(
            lba: capacity.lastLogicalBlock + 1, blocks: 1, blockLength: blockLength, lun: lun, sixteenByteCDB: true)
        let results = try perform([last, beyond], on: &session, expectGood: [true, false])
        statistics.bytesRead += results[0].data.count
        let outcome = results[1]
        let sense = outcome.sense
        if outcome.status == SCSIStatus.checkCondition, sense?.senseKey == SenseData.illegalRequest,
            sense?.additionalSenseCode == 0x21, sense?.additionalSenseCodeQualifier == 0x00
        {
            return nil
        }
        let what =
            "\(beyond.name) of block \(capacity.lastLogicalBlock + 1) (LUN \(lun)), one past the last block READ CAPACITY (16) reported,"
        guard outcome.status != SCSIStatus.good else {
            throw ValidationFailure(
                .io, "\(what) ended GOOD with \(outcome.data.count) bytes: the target reads beyond its capacity (SBC-3 §4.5)")
        }
        return ProtocolDeviation(
            rule: "out-of-range READ answered with other sense data",
            detail:
                "\(what) ended \(SCSIStatus.describe(outcome.status, sense: sense)); SBC-3 §4.5 expects CHECK CONDITION: ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)"
        )
    }

    /// Writes every extent with its pattern (all queued), reads them all back (queued) and
    /// compares block by block.
    private func writeAndVerify(
        _ extents: [Extent], blockLength: Int, on session: inout Session, statistics: inout IOStatistics
    ) throws(ValidationFailure) {
        let writes = extents.enumerated().map { index, extent in
            SCSIRequest.write(
                lba: extent.lba, data: BlockPattern.bytes(lba: extent.lba, blocks: extent.blocks, blockLength: blockLength, seed: seed),
                blockLength: blockLength, lun: lun, sixteenByteCDB: index % 2 == 1)
        }
        _ = try perform(writes, on: &session)
        statistics.bytesWritten += extents.reduce(0) { $0 + $1.blocks * blockLength }
        let reads = extents.enumerated().map { index, extent in
            SCSIRequest.read(lba: extent.lba, blocks: extent.blocks, blockLength: blockLength, lun: lun, sixteenByteCDB: index % 2 == 0)
        }
        let results = try perform(reads, on: &session)
        for (extent, result) in zip(extents, results) {
            statistics.bytesRead += result.data.count
            let expected = BlockPattern.bytes(lba: extent.lba, blocks: extent.blocks, blockLength: blockLength, seed: seed)
            guard result.data.count == expected.count else {
                throw ValidationFailure(
                    .verify,
                    "READ of \(extent.blocks) blocks at LBA \(extent.lba) returned \(result.data.count) bytes, expected \(expected.count)")
            }
            if let difference = firstDifference(expected, result.data) {
                throw ValidationFailure(
                    .verify,
                    "data read back from LBA \(extent.lba + UInt64(difference / blockLength)) differs at byte \(difference % blockLength) of the block: wrote 0x\(hex(expected[difference])), read 0x\(hex(result.data[difference]))"
                )
            }
        }
    }

    /// Runs `requests` queued; a request whose `expectGood` entry is true (all, by default)
    /// fails the step unless it ends GOOD, and so does any initiator error.
    private func perform(
        _ requests: [SCSIRequest], on session: inout Session, expectGood: [Bool] = []
    ) throws(ValidationFailure) -> [Session.CommandResult] {
        let results: [Session.CommandResult]
        do { results = try session.perform(requests, queueDepth: Self.queueDepth) } catch { throw ValidationFailure(.io, "\(error)") }
        for (index, (request, result)) in zip(requests, results).enumerated()
        where result.status != SCSIStatus.good && (index < expectGood.count ? expectGood[index] : true) {
            throw ValidationFailure(
                .io, "\(request.name) (LUN \(request.lun)) failed with \(SCSIStatus.describe(result.status, sense: result.sense))")
        }
        return results
    }
}

private func hex(_ byte: UInt8) -> String {
    let text = String(byte, radix: 16)
    return text.count == 1 ? "0" + text : text
}

private func firstDifference(_ lhs: [UInt8], _ rhs: [UInt8]) -> Int? {
    zip(lhs, rhs).enumerated().first { $0.element.0 != $0.element.1 }?.offset
}

/// The data written to each block: its LBA and the run's seed in the first 16 bytes (so a
/// person reading a dump sees whose block it is), then a xorshift stream seeded by both, so
/// a block written to the wrong place or left from an earlier run never matches.
public enum BlockPattern {
    public static func bytes(lba: UInt64, blocks: Int, blockLength: Int, seed: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(blocks * blockLength)
        for block in 0..<UInt64(blocks) {
            let address = lba + block
            append(address, to: &bytes)
            append(seed, to: &bytes)
            var state = (address &* 0x9E37_79B9_7F4A_7C15) ^ seed | 1
            for _ in stride(from: 16, to: blockLength, by: 8) {
                // xorshift64 (Marsaglia 2003).
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                append(state, to: &bytes)
            }
        }
        return bytes
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}
