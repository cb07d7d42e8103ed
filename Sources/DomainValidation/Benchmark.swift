import ISCSI
import Initiator
import LinuxSystem

/// A throughput measurement of the userspace data path on one logged-in session; not part
/// of a sweep (`iscsi-root dvt --bench`).
public struct Benchmark: Sendable {
    public enum Mode: String, CaseIterable, Sendable {
        case sequentialRead = "seq-read"
        case sequentialWrite = "seq-write"
        case randomRead = "rand-read"
    }

    public var mode: Mode
    public var lun: LogicalUnit
    public var transferBytes: Int
    public var queueDepth: Int
    public var seconds: Int
    /// The blocks used; nil: the whole LUN (reads only).
    public var lbas: ClosedRange<UInt64>?

    public init(mode: Mode, lun: LogicalUnit, transferBytes: Int, queueDepth: Int, seconds: Int, lbas: ClosedRange<UInt64>?) {
        self.mode = mode
        self.lun = lun
        self.transferBytes = transferBytes
        self.queueDepth = queueDepth
        self.seconds = seconds
        self.lbas = lbas
    }

    public struct Result: Sendable {
        public var operations: Int
        public var bytes: Int
        public var nanoseconds: Int64

        public var mebibytesPerSecond: Double { Double(bytes) / 1_048_576 / max(1e-9, Double(nanoseconds) / 1e9) }
        public var operationsPerSecond: Double { Double(operations) / max(1e-9, Double(nanoseconds) / 1e9) }
    }

    /// Commands issued per `stream` call: the queue drains only between rounds this long.
    static let commandsPerRound = 256

    /// Runs for `seconds`, keeping `queueDepth` commands in flight.
    public func run(on session: inout Session) throws(ValidationFailure) -> Result {
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
        let blockLength = Int(capacity.blockLength)
        let blocks = max(1, transferBytes / max(1, blockLength))
        let range = lbas ?? 0...capacity.lastLogicalBlock
        let slots = (range.upperBound - range.lowerBound + 1) / UInt64(blocks)
        guard slots > 0 else {
            throw ValidationFailure(.capacity, "the block range \(range) is smaller than one \(transferBytes)-byte transfer")
        }
        let pattern = BlockPattern.bytes(lba: range.lowerBound, blocks: blocks, blockLength: blockLength, seed: 0)
        var generator = SystemRandomNumberGenerator()
        var next: UInt64 = 0
        var result = Result(operations: 0, bytes: 0, nanoseconds: 0)
        let started = MonotonicInstant.now()
        let end = started.advanced(byMilliseconds: seconds * 1000)
        while !end.hasPassed {
            let slotsThisRound = (0..<Self.commandsPerRound).map { _ -> UInt64 in
                defer { next = (next + 1) % slots }
                return mode == .randomRead ? UInt64.random(in: 0..<slots, using: &generator) : next
            }
            do {
                try session.stream(
                    count: slotsThisRound.count, queueDepth: queueDepth,
                    request: { index in
                        let lba = range.lowerBound + slotsThisRound[index] * UInt64(blocks)
                        return mode == .sequentialWrite
                            ? .write(lba: lba, data: pattern, blockLength: blockLength, lun: lun)
                            : .read(lba: lba, blocks: blocks, blockLength: blockLength, lun: lun)
                    },
                    completed: { _, completed throws(InitiatorError) in
                        guard completed.status == SCSIStatus.good else {
                            throw .commandFailed(command: "\(mode.rawValue) (LUN \(lun))", status: completed.status, sense: completed.sense)
                        }
                    })
            } catch {
                throw ValidationFailure(.io, "\(error)")
            }
            result.operations += slotsThisRound.count
            result.bytes += slotsThisRound.count * blocks * blockLength
        }
        result.nanoseconds = MonotonicInstant.now().nanoseconds - started.nanoseconds
        return result
    }
}
