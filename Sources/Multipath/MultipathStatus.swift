import LinuxSystem

/// The multipath target's status line (DM_TABLE_STATUS without DM_STATUS_TABLE_FLAG), as
/// `multipath_status` in drivers/md/dm-mpath.c writes it:
///
/// `<n> <feature>…` (the status form's features: whether I/O is queued for a group's
/// initialisation, and how many initialisations ran), `<n> <handler status>…`,
/// `<n_groups> <next group>`, then per group `A|D|E <n> <selector status>… <n_paths>
/// <n_path_args>` and per path `<major:minor> A|F <fail count> <selector path status>…`.
///
/// Every count comes before what it counts, so fields this parser does not interpret
/// (a selector's status, a handler's) are kept as words, and words after the last group are
/// ignored. A count larger than the words left, a bad number or a bad path is an error
/// naming the word.
public struct MultipathStatus: Equatable, Sendable {
    public var features: [String]
    public var handlerStatus: [String]
    /// The group the next I/O goes to (1-based; 0 with no group).
    public var nextGroup: UInt32
    public var groups: [Group]

    public struct Group: Equatable, Sendable {
        public var state: GroupState
        public var selectorStatus: [String]
        public var paths: [Path]
    }

    public enum GroupState: Equatable, Sendable {
        /// `A`: the group I/O goes to now.
        case active
        /// `E`: usable.
        case enabled
        /// `D`: bypassed.
        case disabled
        /// A letter a newer kernel may write.
        case other(String)
    }

    public struct Path: Equatable, Sendable {
        public var device: DeviceNumber
        /// `A` (true) or `F`: whether the map sends I/O to the path.
        public var isActive: Bool
        /// How often the map failed the path since it was loaded.
        public var failCount: UInt32
        public var selectorStatus: [String]
    }

    /// Every path of every group, in table order.
    public var paths: [Path] { groups.flatMap { $0.paths } }

    public func path(_ device: DeviceNumber) -> Path? { paths.first { $0.device == device } }

    public init(parsing line: some StringProtocol) throws(MultipathStatusError) {
        var words = StatusWords(line)
        features = try words.counted("feature count")
        handlerStatus = try words.counted("hardware handler count")
        let groupCount = try words.count("group count")
        nextGroup = try words.number("next group")
        groups = []
        for _ in 0..<groupCount {
            let letter = try words.word("group state")
            let state: GroupState =
                switch letter {
                case "A": .active
                case "E": .enabled
                case "D": .disabled
                default: .other(String(letter))
                }
            let selectorStatus = try words.counted("selector status count")
            let pathCount = try words.count("path count")
            let pathArgumentCount = Int(try words.number("path argument count"))
            var paths: [Path] = []
            for _ in 0..<pathCount {
                let deviceWord = try words.word("path device")
                guard let device = DeviceNumber(deviceWord) else {
                    throw MultipathStatusError(position: words.position - 1, word: String(deviceWord), expected: "a path as major:minor")
                }
                let stateWord = try words.word("path state")
                guard stateWord == "A" || stateWord == "F" else {
                    throw MultipathStatusError(position: words.position - 1, word: String(stateWord), expected: "path state A or F")
                }
                let failCount = try words.number("fail count")
                let selectorStatus = try words.words(pathArgumentCount, "selector path status")
                paths.append(Path(device: device, isActive: stateWord == "A", failCount: failCount, selectorStatus: selectorStatus))
            }
            groups.append(Group(state: state, selectorStatus: selectorStatus, paths: paths))
        }
    }
}

extension MultipathStatus {
    /// The features of the live table (DM_TABLE_STATUS with DM_STATUS_TABLE_FLAG, whose
    /// parameters start as the constructor's: `<n_features> <feature>…`). The status form does
    /// not say whether the map queues with no path; this does (`queue_if_no_path`).
    public static func tableFeatures(_ parameters: some StringProtocol) throws(MultipathStatusError) -> [String] {
        var words = StatusWords(parameters)
        return try words.counted("feature count")
    }
}

/// A status line that is not the multipath target's: the word at `position` (0-based; nil
/// at the end of the line) is not what was expected.
public struct MultipathStatusError: Error, Equatable, Sendable, CustomStringConvertible {
    public var position: Int
    public var word: String?
    public var expected: String

    public var description: String {
        if let word { return "multipath status word \(position + 1) \"\(word)\": expected \(expected)" }
        return "multipath status ends after \(position) words: expected \(expected)"
    }
}

/// The status line's words, read front to back; every read says what it expects, for the error.
struct StatusWords {
    private let words: [Substring]
    private(set) var position = 0

    init(_ line: some StringProtocol) {
        words = String(line).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
    }

    mutating func word(_ expected: String) throws(MultipathStatusError) -> Substring {
        guard position < words.count else { throw MultipathStatusError(position: position, word: nil, expected: expected) }
        position += 1
        return words[position - 1]
    }

    mutating func number(_ expected: String) throws(MultipathStatusError) -> UInt32 {
        let text = try word(expected)
        guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = UInt32(text) else {
            throw MultipathStatusError(position: position - 1, word: String(text), expected: "\(expected) as a decimal number")
        }
        return value
    }

    /// A count of things that follow, each at least one word: never more than the words left,
    /// so a hostile count cannot make a loop run for long.
    mutating func count(_ expected: String) throws(MultipathStatusError) -> Int {
        let value = Int(try number(expected))
        guard value <= words.count - position else {
            throw MultipathStatusError(position: position - 1, word: String(words[position - 1]), expected: "\(expected) within the line")
        }
        return value
    }

    mutating func words(_ count: Int, _ expected: String) throws(MultipathStatusError) -> [String] {
        var result: [String] = []
        for _ in 0..<count { result.append(String(try word(expected))) }
        return result
    }

    mutating func counted(_ expected: String) throws(MultipathStatusError) -> [String] {
        try words(try count(expected), expected)
    }
}
