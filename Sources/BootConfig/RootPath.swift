import ISCSI

/// The iSCSI root path of RFC 4173 §5, as dracut extends it (`parse_iscsi_root()` in
/// 40network/net-lib.sh) and iPXE's `sanboot` and DHCP option 17 use it:
///
///     iscsi:[user:password[:reverse-user:reverse-password]@]<server>:[protocol]:[port][:[iface]:[netdev]]:[LUN]:<target name>
///
/// - the server may be an IPv6 address in brackets;
/// - the protocol is empty or 6 (TCP), the port defaults to 3260, an empty LUN is LUN 0;
/// - the target name starts at the first `:iqn.`, `:eui.` or `:naa.`, so names with colons work;
/// - an empty authinfo (`iscsi:@...`) is allowed, as dracut allows it.
public enum RootPath {
    public static let expectedForm =
        "iscsi:[user:password@]<server>:[protocol]:[port][:[iface]:[netdev]]:[LUN]:<target name>"

    /// Parses a root path with or without the leading `iscsi:`. `parameter` names the
    /// parameter for errors (`netroot=`, `iscsi=`, DHCP option 17).
    public static func parse(_ text: String, parameter: String) throws(BootConfigError) -> TargetSpec {
        var rest = Substring(text)
        if rest.hasPrefix("iscsi:") { rest = rest.dropFirst(6) }
        var credentials: CHAPConfiguration?
        if let at = rest.firstIndex(of: "@") {
            credentials = try authinfo(rest[..<at], parameter: parameter)
            rest = rest[rest.index(after: at)...]
        }
        let server: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw BootConfigError(
                    parameter, at: "server", token: String(rest), problem: "has no closing ]",
                    expected: "[IPv6 address]")
            }
            server = rest[...close]
            rest = rest[rest.index(after: close)...]
        } else {
            server = rest.prefix { $0 != ":" }
            rest = rest[server.endIndex...]
            try rejectBareIPv6(server: server, rest: rest, parameter: parameter)
        }
        guard !server.isEmpty else {
            throw BootConfigError(
                parameter, token: text.redactingAuthinfo, problem: "has no server", expected: expectedForm)
        }
        guard
            let nameColon = ["iqn.", "eui.", "naa."].compactMap({
                rest.firstOccurrence(of: ":" + $0)?.lowerBound
            }).min()
        else {
            throw BootConfigError(
                parameter, at: "target name", token: text.redactingAuthinfo, problem: "has no target name",
                expected: expectedForm + " with a name starting iqn., eui. or naa.")
        }
        let name = String(rest[rest.index(after: nameColon)...])
        if let rule = ISCSIName.ruleBroken(by: name) {
            throw BootConfigError(
                parameter, at: "target name", token: name, problem: "is not an iSCSI name: \(rule)",
                expected: ISCSIName.expectedForms)
        }
        // Between the server and the name: ":protocol:port:LUN" or ":protocol:port:iface:netdev:LUN".
        let fields = rest[..<nameColon].dropFirst().split(
            separator: ":", omittingEmptySubsequences: false)
        guard rest.hasPrefix(":"), fields.count == 3 || fields.count == 5 else {
            throw BootConfigError(
                parameter, token: text.redactingAuthinfo,
                problem: "does not have 3 or 5 fields between server and target name",
                expected: expectedForm)
        }
        guard fields[0].isEmpty || fields[0] == "6" else {
            throw BootConfigError(
                parameter, at: "protocol", token: String(fields[0]), problem: "is not TCP",
                expected: "empty or 6 (TCP)")
        }
        let port = try Portal.port(fields[1], parameter: parameter)
        let lunField = fields[fields.count - 1]
        let lun =
            lunField.isEmpty
            ? LogicalUnit(0) : try LogicalUnit.parse(lunField, parameter: parameter)
        let host = try Portal.host(server, parameter: parameter)
        return TargetSpec(
            name: name, portal: Portal(host: host, port: port), lun: lun, credentials: credentials,
            ifaceName: fields.count == 5 && !fields[2].isEmpty ? String(fields[2]) : nil,
            networkDevice: fields.count == 5 && !fields[3].isEmpty ? String(fields[3]) : nil)
    }

    /// A server of hex digits followed by text that continues it into an IPv6 address
    /// (`fd00::1::::iqn…`) is an address without its brackets: its colons cannot be told from
    /// the field separators, and reading it as host `fd00` would log in to the wrong place.
    private static func rejectBareIPv6(server: Substring, rest: Substring, parameter: String) throws(BootConfigError) {
        guard server.count <= 4, server.allSatisfy({ $0.isHexDigit }) else { return }
        let text = server + rest
        // The longest IPv6 address in text is 45 characters.
        var end = text.index(text.startIndex, offsetBy: 45, limitedBy: text.endIndex) ?? text.endIndex
        let serverEnd = text.index(text.startIndex, offsetBy: server.count)
        while end > serverEnd {
            if text[..<end].filter({ $0 == ":" }).count >= 2,
                let address = IPv6Address(text[..<end])
            {
                throw BootConfigError(
                    parameter, at: "server", token: String(text[..<end]),
                    problem: "looks like an IPv6 address without brackets (or a host name of hex digits only)",
                    expected: "[\(address)], e.g. iscsi:[\(address)]::::<target name>; a host by its address")
            }
            end = text.index(before: end)
        }
    }

    /// `user:password[:reverse-user:reverse-password]`; an empty authinfo means none.
    private static func authinfo(_ text: Substring, parameter: String) throws(BootConfigError)
        -> CHAPConfiguration?
    {
        if text.isEmpty { return nil }
        let fields = text.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 4, !fields[0].isEmpty, !fields[1].isEmpty else {
            throw BootConfigError(
                parameter, at: "authinfo", token: "\(fields.count) field(s)",
                problem: "is not user:password",
                expected: "user:password[:reverse-user:reverse-password]@ (secrets are not shown)")
        }
        var credentials = CHAPConfiguration(userName: String(fields[0]), secret: CHAPSecret(String(fields[1])))
        if fields.count == 4, !fields[2].isEmpty || !fields[3].isEmpty {
            guard !fields[2].isEmpty, !fields[3].isEmpty else {
                throw BootConfigError(
                    parameter, at: "authinfo", token: "reverse user or password empty",
                    problem: "is incomplete",
                    expected: "both reverse-user and reverse-password for mutual CHAP")
            }
            credentials.mutual = CHAPCredentials(userName: String(fields[2]), secret: CHAPSecret(String(fields[3])))
        }
        return credentials
    }

    /// The root path of `target` at `portal`, as dracut's `netroot=` takes it (without secrets).
    public static func render(_ target: TargetPlan, portal: Portal) -> String {
        let host = portal.address?.bracketed ?? portal.host
        let port = portal.port == Portal.defaultPort ? "" : String(portal.port)
        let lun = target.lun.value.map { $0.number.map { String($0) } ?? $0.hexForm } ?? ""
        return "iscsi:\(host)::\(port):\(lun):\(target.name.value)"
    }
}

extension String {
    /// The text with anything before an `@` replaced, so error messages never show a password.
    var redactingAuthinfo: String {
        guard let at = firstIndex(of: "@") else { return self }
        let scheme = hasPrefix("iscsi://") ? "iscsi://" : hasPrefix("iscsi:") ? "iscsi:" : ""
        return scheme + "(credentials)" + self[at...]
    }
}
