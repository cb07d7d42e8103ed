import ISCSI
import Initiator
import LinuxSystem

/// The options every command that logs in shares: who we are, how we authenticate, how
/// long we wait. Secrets come from a file or the environment, never from argv (which any
/// user can read in /proc).
struct LoginOptions {
    static let flags: Set<String> = []
    static let options: Set<String> = [
        "--initiator", "--chap-user", "--chap-secret-file", "--mutual-user", "--mutual-secret-file", "--timeout",
        "--header-digest", "--data-digest", "--chap-algorithm",
    ]

    static let help = """
          --initiator NAME          our iSCSI name (default: /etc/iscsi/initiatorname.iscsi, else one
                                    derived from the host name)
          --chap-user USER          authenticate with CHAP as USER; the secret comes from
                                    --chap-secret-file F or the environment variable ISCSI_ROOT_CHAP_SECRET
          --mutual-user USER        also make the target authenticate itself (mutual CHAP) as USER; the
                                    secret comes from --mutual-secret-file F or ISCSI_ROOT_MUTUAL_SECRET
          --chap-algorithm LIST     CHAP_A values to offer, in order: md5, sha1, sha256, sha3-256
                                    (default md5; tgt takes 7 for SHA-1, so offer sha256 only to targets
                                    that follow the IANA numbering)
          --header-digest LIST      None, CRC32C or both in preference order (default None)
          --data-digest LIST        likewise for data
          --timeout MS              wait at most MS milliseconds for each step (default 10000)
        """

    static let chapSecretVariable = "ISCSI_ROOT_CHAP_SECRET"
    static let mutualSecretVariable = "ISCSI_ROOT_MUTUAL_SECRET"
    static let defaultTimeoutMilliseconds = 10_000

    var initiatorName: String
    var authentication: LoginConfiguration.Authentication = .none
    var parameters = InitiatorParameters()
    var timeoutMilliseconds = defaultTimeoutMilliseconds

    init(_ arguments: Arguments) throws(UsageError) {
        initiatorName = arguments.value("--initiator") ?? Self.defaultInitiatorName()
        timeoutMilliseconds = try arguments.integer("--timeout", in: 1...3_600_000) ?? Self.defaultTimeoutMilliseconds
        if let list = arguments.value("--header-digest") { parameters.headerDigests = try Self.digests(list, option: "--header-digest") }
        if let list = arguments.value("--data-digest") { parameters.dataDigests = try Self.digests(list, option: "--data-digest") }
        guard let user = arguments.value("--chap-user") else {
            if arguments.value("--mutual-user") != nil {
                throw UsageError("--mutual-user needs --chap-user (mutual CHAP is CHAP both ways)")
            }
            if arguments.value("--chap-secret-file") != nil { throw UsageError("--chap-secret-file needs --chap-user") }
            return
        }
        let credentials = CHAPCredentials(
            userName: user,
            secret: try Self.secret(
                file: arguments.value("--chap-secret-file"), variable: Self.chapSecretVariable, option: "--chap-secret-file"))
        var mutual: CHAPCredentials?
        if let mutualUser = arguments.value("--mutual-user") {
            mutual = CHAPCredentials(
                userName: mutualUser,
                secret: try Self.secret(
                    file: arguments.value("--mutual-secret-file"), variable: Self.mutualSecretVariable, option: "--mutual-secret-file"))
        }
        let algorithms = try arguments.value("--chap-algorithm").map(Self.algorithms) ?? [.md5]
        // 16 random bytes, as open-iscsi sends; the identifier is drawn by CHAPExchange. A
        // blocking getrandom (LinuxSystem.secureRandomBytes), as for every secret.
        let challenge = try Self.challenge()
        authentication = .chap(
            CHAPConfiguration(credentials: credentials, mutual: mutual, algorithms: algorithms, mutualChallenge: challenge))
    }

    /// A login configuration for `targetName` (nil: discovery) with a fresh random ISID
    /// (RFC 7143 §11.12.5, type 10 "random"), since each run is a new session.
    func configuration(targetName: String?, portal: Portal) -> LoginConfiguration {
        let isid = [0x80] + (0..<5).map { _ in UInt8.random(in: 0...255) }
        var configuration = LoginConfiguration(
            initiatorName: initiatorName, targetName: targetName, isid: isid, portalDescription: portal.description)
        configuration.authentication = authentication
        configuration.parameters = parameters
        configuration.initiatorTaskTag = UInt32.random(in: 0..<reservedTaskTag)
        return configuration
    }

    private static func defaultInitiatorName() -> String {
        if let contents = try? readFile(at: "/etc/iscsi/initiatorname.iscsi", limit: 4096) {
            for line in String(decoding: contents, as: UTF8.self).split(separator: "\n") where line.hasPrefix("InitiatorName=") {
                let name = line.dropFirst("InitiatorName=".count).trimmingCharacters()
                if !name.isEmpty { return name }
            }
        }
        let host = hostName().lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
        return "iqn.2024-11.org.iscsi-root:" + (host.isEmpty ? "initiator" : host)
    }

    /// The challenge sent for mutual CHAP.
    private static func challenge() throws(UsageError) -> [UInt8] {
        do { return try secureRandomBytes(16) } catch { throw UsageError("no CHAP challenge: \(error)") }
    }

    private static func secret(file: String?, variable: String, option: String) throws(UsageError) -> CHAPSecret {
        if let file {
            let contents: [UInt8]
            do { contents = try readFile(at: file, limit: 4096) } catch {
                throw UsageError("\(option) \(file): \(error)")
            }
            // A trailing newline is from the editor, not part of the secret.
            var secret = contents
            while let last = secret.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { secret.removeLast() }
            guard !secret.isEmpty else { throw UsageError("\(option) \(file) is empty (expected the CHAP secret)") }
            return CHAPSecret(secret)
        }
        guard let value = environmentValue(variable), !value.isEmpty else {
            throw UsageError("no CHAP secret: give \(option) FILE or set \(variable)")
        }
        return CHAPSecret(value)
    }

    private static func digests(_ list: String, option: String) throws(UsageError) -> [Digest] {
        var digests: [Digest] = []
        for name in list.split(separator: ",") {
            guard let digest = Digest.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                throw UsageError("\(option): \"\(name)\" is not a digest (expected None or CRC32C)")
            }
            digests.append(digest)
        }
        guard !digests.isEmpty else { throw UsageError("\(option) needs None, CRC32C or both") }
        return digests
    }

    private static func algorithms(_ list: String) throws(UsageError) -> [CHAPAlgorithm] {
        let names: [String: CHAPAlgorithm] = ["md5": .md5, "sha1": .sha1, "sha256": .sha256, "sha3-256": .sha3_256]
        var algorithms: [CHAPAlgorithm] = []
        for name in list.split(separator: ",") {
            guard let algorithm = names[name.lowercased()] else {
                throw UsageError("--chap-algorithm: \"\(name)\" is not an algorithm (expected md5, sha1, sha256 or sha3-256)")
            }
            algorithms.append(algorithm)
        }
        guard !algorithms.isEmpty else { throw UsageError("--chap-algorithm needs at least one algorithm") }
        return algorithms
    }
}

extension Portal {
    /// The PORTAL argument: a numeric address (or localhost) with an optional port.
    static func argument(_ text: String) throws(UsageError) -> Portal {
        guard let portal = Portal(parsing: text), SocketAddress(numericHost: portal.host, port: portal.port) != nil else {
            throw UsageError("PORTAL \"\(text)\" is not an address (expected IPv4, [IPv6] or localhost, optionally :port 1-65535)")
        }
        return portal
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed())
    }
}
