import ISCSI

/// `/etc/iscsi/iscsi.initramfs`, the file open-iscsi's initramfs-tools hook copies into the
/// initramfs and `local-top/iscsi` sources: shell assignments `ISCSI_*=value` (values may be
/// in single or double quotes, `export` may precede them, `#` starts a comment). Parsed, never
/// executed; the command line's `iscsi_*` parameters override it variable by variable.
public struct InitramfsToolsConfig: Sendable, Equatable {
    public static let path = "/etc/iscsi/iscsi.initramfs"

    public var settings = DiscreteTargetSettings()
    /// `ISCSI_AUTO=true`: log in to the iBFT's targets (`iscsistart -b`).
    public var automatic: Sourced<Bool>?
    /// Lines that were not understood; the plan repeats them.
    public var warnings: [PlanWarning] = []

    public init() {}

    /// Parses the file; unknown variables and lines that are not assignments become warnings.
    public static func parse(_ text: String) throws(BootConfigError) -> InitramfsToolsConfig {
        var config = InitramfsToolsConfig()
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let place = "\(path) line \(number + 1)"
            var line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("export ") { line = line.dropFirst(7).drop { $0 == " " } }
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "="),
                line[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
            else {
                config.warnings.append(PlanWarning(place, "not a VARIABLE=value assignment; ignored"))
                continue
            }
            let variable = String(line[..<equals])
            let value = try shellWord(
                line[line.index(after: equals)...], place: place, variable: variable)
            let source = ValueSource.configFile(variable)
            if variable == "ISCSI_AUTO" {
                config.automatic = Sourced(value == "true" || value == "1" || value == "yes", from: source)
            } else if !(variable.hasPrefix("ISCSI_")
                && config.settings.set(
                    String(variable.dropFirst(6)).lowercased(), to: value, source: source))
            {
                config.warnings.append(
                    PlanWarning(place, "\(variable) is not an open-iscsi initramfs variable; ignored"))
            }
        }
        return config
    }

    /// One shell word: unquoted up to whitespace or `#`, or in single quotes (literal) or double
    /// quotes (backslash escapes `"`, `\`, `$`, `` ` ``). Expansions are not performed.
    private static func shellWord(_ text: Substring, place: String, variable: String)
        throws(BootConfigError) -> String
    {
        var value = ""
        var index = text.startIndex
        var quote: Character?
        while index < text.endIndex {
            let character = text[index]
            index = text.index(after: index)
            if let open = quote {
                if character == open {
                    quote = nil
                } else if open == "\"", character == "\\", index < text.endIndex,
                    "\"\\$`".contains(text[index])
                {
                    value.append(text[index])
                    index = text.index(after: index)
                } else {
                    value.append(character)
                }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == " " || character == "\t" || character == "#" {
                break
            } else {
                value.append(character)
            }
        }
        guard quote == nil else {
            throw BootConfigError(
                place, at: variable, token: variable.firstOccurrence(of: "PASSWORD") != nil ? "(secret)" : String(text),
                problem: "has an unterminated quote",
                expected: "a closing \(quote.map { String($0) } ?? "")")
        }
        return value
    }
}

/// `/etc/iscsi-root/secrets` in the initramfs (mode 0600): one `<user> <secret>` per line,
/// separated by spaces or tabs; the secret is the rest of the line (trailing blanks removed);
/// blank lines and lines starting with `#` are ignored. `iscsi.chap=<user>` and
/// `iscsi.mutual=<user>` look their secrets up here, so no secret is on the command line.
public struct SecretsFile: Sendable, Equatable {
    public static let path = "/etc/iscsi-root/secrets"

    private var secrets: [String: CHAPSecret]

    public init(secrets: [String: CHAPSecret] = [:]) { self.secrets = secrets }

    public func secret(for user: String) -> CHAPSecret? { secrets[user] }

    public static func parse(_ text: String) throws(BootConfigError) -> SecretsFile {
        var secrets: [String: CHAPSecret] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let user = line.prefix { $0 != " " && $0 != "\t" }
            var secret = line.dropFirst(user.count).drop { $0 == " " || $0 == "\t" }
            while secret.last == " " || secret.last == "\t" || secret.last == "\r" {
                secret = secret.dropLast()
            }
            guard !secret.isEmpty else {
                throw BootConfigError(
                    "\(path) line \(number + 1)", token: String(user), problem: "has no secret",
                    expected: "<user> <secret> on one line")
            }
            secrets[String(user)] = CHAPSecret(String(secret))
        }
        return SecretsFile(secrets: secrets)
    }
}
