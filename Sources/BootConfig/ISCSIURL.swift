import ISCSI

/// The native `iscsi=` value: the URL form libiscsi uses,
///
///     iscsi://[user[%password]@]<host>[:port]/<target name>[/<LUN>]
///
/// (IPv6 host in brackets, port 3260 by default, LUN "not given" by default, meaning the first
/// LUN the target reports that is a disk), or an RFC 4173 root path with or without `iscsi:`.
public enum ISCSIURL {
    public static let expectedForm =
        "iscsi://[user@]host[:port]/<target name>[/<LUN>] or an RFC 4173 root path"

    /// Parses one `iscsi=` value; a password inside the URL is accepted (libiscsi does) but
    /// reported through `warnings`, because `/proc/cmdline` is readable by every user.
    public static func parse(
        _ text: String, parameter: String = "iscsi=", warnings: inout [PlanWarning]
    ) throws(BootConfigError) -> ParsedTarget {
        guard text.hasPrefix("iscsi://") else {
            return .init(spec: try RootPath.parse(text, parameter: parameter), chapUserWithoutSecret: nil)
        }
        var rest = Substring(text).dropFirst("iscsi://".count)
        var userWithoutSecret: String?
        var credentials: CHAPConfiguration?
        if let at = rest.firstIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard !userinfo.isEmpty else {
                throw BootConfigError(
                    parameter, at: "user", token: "", problem: "is empty",
                    expected: "a CHAP user name before @")
            }
            if let percent = userinfo.firstIndex(of: "%") {
                credentials = CHAPConfiguration(
                    userName: String(userinfo[..<percent]),
                    secret: CHAPSecret(String(userinfo[userinfo.index(after: percent)...])))
                warnings.append(
                    PlanWarning(
                        parameter,
                        "the CHAP password is on the kernel command line, which every user can read in /proc/cmdline; put it in \(SecretsFile.path) and use iscsi.chap=<user>"
                    ))
            } else {
                userWithoutSecret = String(userinfo)
            }
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw BootConfigError(
                parameter, token: text.redactingAuthinfo, problem: "has no /<target name>",
                expected: expectedForm)
        }
        let authority = rest[..<slash]
        let path = rest[rest.index(after: slash)...]
        let host: Substring
        var portText: Substring = ""
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw BootConfigError(
                    parameter, at: "host", token: String(authority), problem: "has no closing ]",
                    expected: "[IPv6 address]")
            }
            host = percentDecodedZone(authority[...close])
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else {
                throw BootConfigError(
                    parameter, at: "host", token: String(authority), problem: "has text after ]",
                    expected: "[IPv6]:port")
            }
            portText = after.dropFirst()
        } else if authority.filter({ $0 == ":" }).count > 1 {
            // A bare IPv6 address: its colons cannot be told from the port's (RFC 3986 §3.2.2).
            throw BootConfigError(
                parameter, at: "host", token: String(authority),
                problem: "looks like an IPv6 address without brackets",
                expected: "[IPv6 address] or [IPv6 address]:port, e.g. iscsi://[fd00::1]:3260/<target name>")
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else {
            throw BootConfigError(
                parameter, at: "host", token: String(authority), problem: "has no host",
                expected: expectedForm)
        }
        let portal = Portal(
            host: try Portal.host(host, parameter: parameter),
            port: try Portal.port(portText, parameter: parameter))
        let pathParts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(pathParts.count) else {
            throw BootConfigError(
                parameter, token: String(path), problem: "has too many / parts",
                expected: "<target name>[/<LUN>]")
        }
        let name = String(pathParts[0])
        if let rule = ISCSIName.ruleBroken(by: name) {
            throw BootConfigError(
                parameter, at: "target name", token: name, problem: "is not an iSCSI name: \(rule)",
                expected: ISCSIName.expectedForms)
        }
        let lun =
            pathParts.count == 2 ? try LogicalUnit.parse(pathParts[1], parameter: parameter) : nil
        return .init(
            spec: TargetSpec(name: name, portal: portal, lun: lun, credentials: credentials),
            chapUserWithoutSecret: userWithoutSecret)
    }

    /// `[fe80::2%25eth0]`, RFC 6874's form of a zone inside a URI, as `[fe80::2%eth0]`; the
    /// plain `%eth0` is taken too, as most URL parsers do. A numeric zone in the URI form is
    /// `%25` followed by the index (`%252` is index 2).
    private static func percentDecodedZone(_ host: Substring) -> Substring {
        guard let percent = host.firstIndex(of: "%") else { return host }
        let zone = host[host.index(after: percent)...]
        guard zone.hasPrefix("25"), zone.utf8.count > 3 else { return host }
        return host[...percent] + zone.dropFirst(2)
    }

    /// One parsed `iscsi=` value.
    public struct ParsedTarget: Sendable, Equatable {
        public var spec: TargetSpec
        /// `iscsi://user@...`: the CHAP secret for `user` comes from the secrets file.
        public var chapUserWithoutSecret: String?
    }

    /// The URL of `target` at `portal`, without secrets.
    public static func render(_ target: TargetPlan, portal: Portal) -> String {
        let host = portal.address?.bracketed ?? portal.host
        let port = portal.port == Portal.defaultPort ? "" : ":\(portal.port)"
        let lun = target.lun.value.map { "/\($0)" } ?? ""
        return "iscsi://\(host)\(port)/\(target.name.value)\(lun)"
    }
}
