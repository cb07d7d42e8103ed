import ISCSI
import Testing

@testable import DomainValidation

@Suite struct CoveringArrayTests {
    /// Every value pair of every two columns, as the property a covering array must have.
    private func uncoveredPairs(_ array: CoveringArray) -> [String] {
        let sizes = array.domainSizes
        var missing: [String] = []
        for first in sizes.indices {
            for second in first + 1..<sizes.count {
                for a in 0..<sizes[first] {
                    for b in 0..<sizes[second] {
                        let covered = (0..<array.count).contains { index in
                            let row = array.row(at: index)
                            return row[first] == a && row[second] == b
                        }
                        if !covered { missing.append("column \(first)=\(a), column \(second)=\(b)") }
                    }
                }
            }
        }
        return missing
    }

    @Test(arguments: [[2, 2], [3, 3, 3], [2, 5, 3, 4, 2], [5, 5, 5, 5, 5, 5], [1, 4, 2], [7, 2, 2, 2, 2, 2, 2, 2, 2, 2]])
    func coversEveryPair(sizes: [Int]) {
        let array = CoveringArray.pairwise(domainSizes: sizes)
        #expect(uncoveredPairs(array).isEmpty)
        for index in 0..<array.count {
            let row = array.row(at: index)
            #expect(row.count == sizes.count)
            #expect(zip(row, sizes).allSatisfy { $0 >= 0 && $0 < $1 })
        }
    }

    @Test func theStandardKeySpaceIsCoveredInFewRowsAndTheSameEveryTime() throws {
        let space = try KeySpace()
        let sizes = space.dimensions.map(\.values.count)
        let array = CoveringArray.pairwise(domainSizes: sizes)
        #expect(uncoveredPairs(array).isEmpty)
        // At least the product of the two largest domains; far below the full product.
        let largest = sizes.sorted(by: >)
        #expect(array.count >= largest[0] * largest[1])
        #expect(array.count <= 60)
        #expect(CoveringArray.exhaustive(domainSizes: sizes).count > 100_000)
        #expect(array == CoveringArray.pairwise(domainSizes: sizes))
    }

    @Test func exhaustiveEnumeratesEveryRowOnce() {
        let array = CoveringArray.exhaustive(domainSizes: [2, 3, 2])
        let rows = (0..<array.count).map { array.row(at: $0) }
        #expect(rows.count == 12)
        #expect(Set(rows.map { $0.description }).count == 12)
        #expect(rows.first == [0, 0, 0])
        #expect(rows.last == [1, 2, 1])
    }

    @Test func aSingleKeyTriesEachValue() {
        let array = CoveringArray.pairwise(domainSizes: [3])
        #expect((0..<array.count).map { array.row(at: $0) } == [[0], [1], [2]])
    }
}

@Suite struct KeySpaceTests {
    @Test func numericalKeysSpanTheRFCRangeAndDefault() throws {
        for key in SweepKey.swept {
            let values = key.standardValues
            #expect(!values.isEmpty, "\(key)")
            guard let definition = key.definition else {
                Issue.record("\(key) is not in the negotiation table")
                continue
            }
            switch definition.type {
            case .numerical(let range, _), .declarative(.number(let range)):
                #expect(values.first == String(range.lowerBound), "\(key)")
                #expect(values.last == String(range.upperBound), "\(key)")
                if let rfcDefault = definition.rfcDefault { #expect(values.contains(rfcDefault), "\(key)") }
                #expect(values.count >= 3, "\(key) needs interior values")
            case .boolean:
                #expect(Set(values) == ["Yes", "No"])
            case .list(let valid):
                #expect(values == valid)
            default:
                Issue.record("\(key) has an unexpected type")
            }
            #expect(values.allSatisfy { key.problem(with: $0) == nil }, "\(key)")
        }
    }

    @Test func overridesAreCheckedAgainstTheTable() {
        #expect(throws: KeySpaceError.self) { try KeySpace(keys: [.maxBurstLength], overrides: [.maxBurstLength: ["511"]]) }
        #expect(throws: KeySpaceError.self) { try KeySpace(keys: [.headerDigest], overrides: [.headerDigest: ["MD5"]]) }
        #expect(throws: KeySpaceError.self) { try KeySpace(keys: [.initialR2T], overrides: [.initialR2T: ["yes"]]) }
        #expect(throws: Never.self) { try KeySpace(keys: [.headerDigest], overrides: [.headerDigest: ["CRC32C,None"]]) }
    }

    @Test func firstBurstIsNeverOfferedAboveMaxBurst() throws {
        let space = try KeySpace(
            keys: [.maxBurstLength, .firstBurstLength], overrides: [.maxBurstLength: ["512"], .firstBurstLength: ["65536"]])
        let parameters = space.parameters(for: [0, 0])
        #expect(parameters.maxBurstLength == 512)
        #expect(parameters.firstBurstLength == 512)
    }

    @Test func unsweptKeysKeepTheBaseParameters() throws {
        var base = InitiatorParameters()
        base.headerDigests = [.crc32c]
        let space = try KeySpace(keys: [.immediateData])
        let parameters = space.parameters(for: [1], base: base)
        #expect(parameters.headerDigests == [.crc32c])
        #expect(parameters.immediateData == false)
    }
}

@Suite struct IOExerciseTests {
    private func exercise(maxBurst: Int, firstBurst: Int, mode: ValidationMode = .readOnly) -> IOExercise {
        return IOExercise(lun: LogicalUnit(1), mode: mode, maxBurstLength: maxBurst, firstBurstLength: firstBurst, seed: 1)
    }

    @Test(arguments: [(512, 512), (262_144, 65536), (16_777_215, 16_777_215)])
    func transfersStayInTheRangeWithoutOverlapAndMisaligned(maxBurst: Int, firstBurst: Int) {
        let range: ClosedRange<UInt64> = 1000...9000
        let extents = exercise(maxBurst: maxBurst, firstBurst: firstBurst).layout(in: range, blockLength: 512)
        #expect(extents.count >= 4)
        var end = range.lowerBound
        for extent in extents {
            #expect(extent.lba > end || (extent.lba == range.lowerBound && end == range.lowerBound))
            #expect(extent.blocks >= 1)
            #expect(extent.lba + UInt64(extent.blocks) - 1 <= range.upperBound)
            end = extent.lba + UInt64(extent.blocks)
        }
        // Several bursts when the burst is small; never more than the transfer cap.
        let largest = extents.map(\.blocks).max() ?? 0
        #expect(largest * 512 <= IOExercise.maximumTransferBytes)
        if maxBurst == 512 { #expect(largest >= 3) }
    }

    @Test func aTinyRangeStillGetsOneTransfer() {
        let extents = exercise(maxBurst: 262_144, firstBurst: 65536).layout(in: 5...5, blockLength: 512)
        #expect(extents == [IOExercise.Extent(lba: 5, blocks: 1)])
    }

    @Test func patternsDependOnTheBlockAndTheSeed() {
        let block = BlockPattern.bytes(lba: 7, blocks: 1, blockLength: 512, seed: 42)
        #expect(block.count == 512)
        #expect(block != BlockPattern.bytes(lba: 8, blocks: 1, blockLength: 512, seed: 42))
        #expect(block != BlockPattern.bytes(lba: 7, blocks: 1, blockLength: 512, seed: 43))
        #expect(Array(BlockPattern.bytes(lba: 6, blocks: 2, blockLength: 512, seed: 42)[512...]) == block)
    }
}
