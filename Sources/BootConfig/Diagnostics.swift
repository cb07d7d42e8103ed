import ISCSI

/// A value in the plan together with the place it came from, so that `plan` can show a
/// person which parameter, file or firmware field to change.
public struct Sourced<Value: Sendable & Equatable>: Sendable, Equatable {
    public var value: Value
    public var source: ValueSource

    public init(_ value: Value, from source: ValueSource) {
        self.value = value
        self.source = source
    }
}

/// Where a value of the plan came from.
public enum ValueSource: Hashable, Sendable, CustomStringConvertible {
    /// A kernel command-line parameter, as written before its value (`ip=`, `rd.iscsi.firmware`).
    case commandLine(String)
    /// A variable of the initramfs-tools file `/etc/iscsi/iscsi.initramfs`.
    case configFile(String)
    /// A field of the firmware's iBFT table, e.g. `target0 port`.
    case firmware(String)
    /// The agent's secrets file (`/etc/iscsi-root/secrets`), for the named user.
    case secretsFile(String)
    /// Made up by the agent; the text says how (e.g. from the boot NIC's MAC address).
    case generated(String)
    /// Nobody said anything; the agent's documented default.
    case defaultValue

    public var description: String {
        switch self {
        case .commandLine(let parameter): "cmdline \(parameter)"
        case .configFile(let variable): "\(InitramfsToolsConfig.path) \(variable)"
        case .firmware(let field): "iBFT \(field)"
        case .secretsFile(let user): "\(SecretsFile.path) (\(user))"
        case .generated(let how): "generated \(how)"
        case .defaultValue: "default"
        }
    }
}

/// Bad boot configuration: names the parameter (or file, or table), quotes the offending
/// token and says what was expected. `plan` exits with status 2 on it.
public struct BootConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The parameter as written (`ip=`, `iscsi=`), a file name, or `iBFT`.
    public var parameter: String
    /// Where inside the parameter, e.g. `field 4` or `port`; empty when it is the whole value.
    public var location: String
    /// The offending text, never a secret.
    public var token: String
    /// What is wrong with it, e.g. `is not a netmask`.
    public var problem: String
    /// What would have been accepted.
    public var expected: String

    public init(
        _ parameter: String, at location: String = "", token: String, problem: String, expected: String
    ) {
        self.parameter = parameter
        self.location = location
        self.token = token
        self.problem = problem
        self.expected = expected
    }

    /// Set for an error that is one sentence about a parameter rather than a bad token in it
    /// (`rd.iscsi.firmware=1: no iBFT found: ...`): `problem` holds the sentence.
    public var isExplanation = false

    /// An error about `parameter` as a whole, told in one sentence that says what was looked
    /// at and what to check.
    public init(_ parameter: String, explanation: String) {
        self.init(parameter, token: "", problem: explanation, expected: "")
        isExplanation = true
    }

    public var description: String {
        if isExplanation { return "\(parameter): \(problem)" }
        let place = location.isEmpty ? "" : "\(location) "
        return "\(parameter): \(place)\(quoted(token)) \(problem) (expected \(expected))"
    }
}

/// Legal but suspicious input, or input the agent ignores: printed by `plan` and at boot.
public struct PlanWarning: Equatable, Sendable, CustomStringConvertible {
    public var parameter: String
    public var message: String

    public init(_ parameter: String, _ message: String) {
        self.parameter = parameter
        self.message = message
    }

    public var description: String { "\(parameter): \(message)" }
}

/// `text` in double quotes, with control characters, quotes and backslashes escaped so that
/// any byte string from a command line or a firmware table prints as one safe line.
func quoted(_ text: some StringProtocol) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            result += "\\x" + hexByte(UInt8(scalar.value))
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}

/// The edit (Levenshtein) distance, used to suggest the closest known parameter name.
func editDistance(_ a: String, _ b: String) -> Int {
    let left = Array(a.utf8)
    let right = Array(b.utf8)
    var previous = Array(0...right.count)
    for (i, leftByte) in left.enumerated() {
        var current = [i + 1]
        for (j, rightByte) in right.enumerated() {
            let substitution = previous[j] + (leftByte == rightByte ? 0 : 1)
            current.append(min(substitution, previous[j + 1] + 1, current[j] + 1))
        }
        previous = current
    }
    return previous[right.count]
}
