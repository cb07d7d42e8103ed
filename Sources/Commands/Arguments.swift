/// A small argument parser for the person-facing commands: `--name value`, `--name=value`,
/// boolean flags, and positionals. Anything it does not know is a usage error (exit 2)
/// that names the argument.
public struct Arguments {
    public private(set) var positionals: [String] = []
    private var values: [String: [String]] = [:]
    private var flagsSeen: Set<String> = []

    /// - Parameters:
    ///   - flags: options that take no value, e.g. `--json`.
    ///   - options: options that take one value each time they appear, e.g. `--lun`.
    public init(_ arguments: [String], flags: Set<String>, options: Set<String>) throws(UsageError) {
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || !argument.hasPrefix("-") || argument == "-" {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            var name = argument
            var inlineValue: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            if flags.contains(name) {
                guard inlineValue == nil else {
                    throw UsageError("\(name) takes no value (got \"\(inlineValue!)\")")
                }
                flagsSeen.insert(name)
            } else if options.contains(name) {
                if let inlineValue {
                    values[name, default: []].append(inlineValue)
                } else {
                    guard index < arguments.count else { throw UsageError("\(name) needs a value") }
                    values[name, default: []].append(arguments[index])
                    index += 1
                }
            } else {
                throw UsageError("unknown option \"\(name)\"")
            }
        }
    }

    public func flag(_ name: String) -> Bool { flagsSeen.contains(name) }

    /// The last value given for `name` (a later option overrides an earlier one).
    public func value(_ name: String) -> String? { values[name]?.last }

    public func allValues(_ name: String) -> [String] { values[name] ?? [] }

    /// The value of `name` as a whole number within `range`, or a usage error naming it.
    public func integer(_ name: String, in range: ClosedRange<Int>) throws(UsageError) -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("\(name) \"\(text)\" is not a number in \(range.lowerBound)-\(range.upperBound)")
        }
        return number
    }

    /// Exactly `names.count` positionals, or a usage error saying which are missing or extra.
    public func requirePositionals(_ names: [String]) throws(UsageError) -> [String] {
        if positionals.count < names.count {
            throw UsageError("missing \(names[positionals.count...].joined(separator: " "))")
        }
        if positionals.count > names.count {
            throw UsageError("unexpected argument \"\(positionals[names.count])\"")
        }
        return positionals
    }
}

public struct UsageError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
