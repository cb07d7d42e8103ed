/// The combinations a sweep runs: rows of value indices, one per key.
///
/// Pairwise (strength 2): every pair of values of every two keys appears in at least one
/// row. Most interoperability bugs need one or two keys at a particular value, so this finds
/// them in a few dozen logins instead of the millions of the full product.
public struct CoveringArray: Sendable, Equatable {
    public let domainSizes: [Int]
    private let rows: [[Int]]?

    /// The full product of the domains, in mixed-radix order (rows made on demand).
    public static func exhaustive(domainSizes: [Int]) -> CoveringArray {
        CoveringArray(domainSizes: domainSizes, rows: nil)
    }

    /// A greedy pairwise covering array. Deterministic: the same domains give the same rows.
    ///
    /// Each row starts from the first pair not yet covered (in key, then value order) and
    /// fills the other keys one by one with the value that covers the most new pairs with
    /// the keys already set (the lowest value on a tie). Every row covers at least its seed
    /// pair, so the loop ends.
    public static func pairwise(domainSizes: [Int]) -> CoveringArray {
        let keys = domainSizes.count
        guard keys >= 2, domainSizes.allSatisfy({ $0 > 0 }) else {
            // One key (or none): each value once is all there is to cover.
            let rows = keys == 1 ? (0..<domainSizes[0]).map { [$0] } : []
            return CoveringArray(domainSizes: domainSizes, rows: rows)
        }
        var uncovered = PairSet(domainSizes: domainSizes)
        var rows: [[Int]] = []
        while let seed = uncovered.first() {
            var row = [Int?](repeating: nil, count: keys)
            row[seed.firstKey] = seed.firstValue
            row[seed.secondKey] = seed.secondValue
            for key in 0..<keys where row[key] == nil {
                var best = 0
                var bestGain = -1
                for value in 0..<domainSizes[key] {
                    var gain = 0
                    for other in 0..<keys {
                        if let otherValue = row[other], other != key, uncovered.contains(key, value, other, otherValue) { gain += 1 }
                    }
                    if gain > bestGain {
                        best = value
                        bestGain = gain
                    }
                }
                row[key] = best
            }
            let complete = row.map { $0 ?? 0 }
            uncovered.remove(row: complete)
            rows.append(complete)
        }
        return CoveringArray(domainSizes: domainSizes, rows: rows)
    }

    /// The first `count` rows of this array (all of them when it has fewer): the
    /// `--iterations N` of a pairwise or exhaustive sweep. The first rows of the greedy
    /// pairwise array cover the most pairs, so a short prefix still covers many.
    public func prefix(_ count: Int) -> CoveringArray {
        let kept = Swift.max(0, Swift.min(count, self.count))
        return CoveringArray(domainSizes: domainSizes, rows: (0..<kept).map { row(at: $0) })
    }

    /// `count` distinct rows of the full product drawn with a generator seeded by `seed`
    /// (`--iterations N --seed S`): the same seed gives the same rows; the whole product,
    /// in order, when it has no more than `count` rows.
    public static func sample(domainSizes: [Int], count: Int, seed: UInt64) -> CoveringArray {
        let product = exhaustive(domainSizes: domainSizes)
        guard count < product.count else { return product.prefix(product.count) }
        var generator = SplitMix64(seed: seed)
        var chosen: [Int] = []
        var seen: Set<Int> = []
        // Ends: count < product.count, so a new index turns up; duplicates grow rarer as
        // count is at most the product's size.
        while chosen.count < Swift.max(0, count) {
            let index = Int(generator.next() % UInt64(product.count))
            if seen.insert(index).inserted { chosen.append(index) }
        }
        return CoveringArray(domainSizes: domainSizes, rows: chosen.map { product.row(at: $0) })
    }

    public var count: Int {
        if let rows { return rows.count }
        return domainSizes.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
    }

    /// The row at `index` (0..<count).
    public func row(at index: Int) -> [Int] {
        if let rows { return rows[index] }
        var remainder = index
        return domainSizes.reversed().map { size in
            defer { remainder /= size }
            return remainder % size
        }.reversed()
    }
}

/// The value pairs of every two keys, as one flag per pair.
struct PairSet {
    struct Pair {
        var firstKey: Int, firstValue: Int, secondKey: Int, secondValue: Int
    }

    private let domainSizes: [Int]
    /// flags[first][second - first - 1][firstValue * size(second) + secondValue], first < second.
    private var flags: [[[Bool]]]
    private var remaining: Int

    init(domainSizes: [Int]) {
        self.domainSizes = domainSizes
        flags = domainSizes.indices.map { first in
            (first + 1..<domainSizes.count).map { second in Array(repeating: true, count: domainSizes[first] * domainSizes[second]) }
        }
        remaining = flags.joined().reduce(0) { $0 + $1.count }
    }

    func contains(_ key: Int, _ value: Int, _ other: Int, _ otherValue: Int) -> Bool {
        let (first, firstValue, second, secondValue) = key < other ? (key, value, other, otherValue) : (other, otherValue, key, value)
        return flags[first][second - first - 1][firstValue * domainSizes[second] + secondValue]
    }

    mutating func remove(row: [Int]) {
        for first in row.indices {
            for second in first + 1..<row.count {
                let index = row[first] * domainSizes[second] + row[second]
                if flags[first][second - first - 1][index] {
                    flags[first][second - first - 1][index] = false
                    remaining -= 1
                }
            }
        }
    }

    func first() -> Pair? {
        guard remaining > 0 else { return nil }
        for first in flags.indices {
            for (offset, values) in flags[first].enumerated() {
                guard let index = values.firstIndex(of: true) else { continue }
                let second = first + 1 + offset
                return Pair(
                    firstKey: first, firstValue: index / domainSizes[second], secondKey: second, secondValue: index % domainSizes[second])
            }
        }
        return nil
    }
}

/// SplitMix64 (Steele, Lea and Flood): a small generator whose sequence depends on its seed
/// alone, so a seeded sample is the same on every machine and release.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
