/// One `ip=` parameter in any of the grammars that use it:
/// - the kernel's nfsroot form (Documentation/admin-guide/nfs/nfsroot.rst)
///   `ip=<client>:<server>:<gw>:<netmask>:<hostname>:<device>:<autoconf>:<dns0>:<dns1>:<ntp0>`,
///   of which klibc's ipconfig takes the first seven fields;
/// - dracut's forms (dracut.cmdline(7), 35network-legacy/parse-ip-opts.sh):
///   `ip=<method>`, `ip=<device>:<method>[:mtu[:mac]]`,
///   `ip=<client>:[peer]:<gw>:<netmask>:<hostname>:<device>:<method>[:mtu[:mac]]` or
///   `...:<method>[:dns1[:dns2]]`, IPv6 addresses in brackets, the netmask dotted or a prefix length.
///   The method may be a list of one IPv4 and one IPv6 method (`dhcp,auto6`), alone or in the
///   seventh field, as dracut's network-legacy splits it on commas (not after a device name,
///   where dracut reads the list as a client address).
public struct IPParameter: Sendable, Equatable {
    public var device: String?
    public var method: AddressMethod
    /// The second method of a list (`dhcp,dhcp6`): the other address family on the same NIC.
    public var otherFamilyMethod: AddressMethod?
    public var address: IPAddress?
    public var prefixLength: UInt8?
    /// The kernel's `<server>`, dracut's `[peer]`: kept for `plan`, not used to configure.
    public var peer: IPAddress?
    public var gateway: IPAddress?
    public var hostname: String?
    public var mtu: UInt16?
    public var mac: MACAddress?
    public var dns: [IPAddress] = []
    public var ntp: IPAddress?

    public init(device: String? = nil, method: AddressMethod) {
        self.device = device
        self.method = method
    }

    static let parameter = "ip="
    static let methodWords =
        "dhcp, on, any, dhcp6, auto6, either6, link6, ibft, none, off, static, bootp, rarp, both, single-dhcp"

    /// Parses the value of one `ip=`; bootp/rarp (which the agent does not speak) are
    /// accepted as DHCP with a warning.
    public static func parse(_ text: String, warnings: inout [PlanWarning]) throws(BootConfigError)
        -> IPParameter
    {
        let fields = text.splitOutsideBrackets(":")
        if fields.count == 1, fields[0].utf8.contains(UInt8(ascii: ",")) {
            let (method, other) = try methodList(fields[0], field: 1, client: nil, hasMask: false)
            var result = IPParameter(method: method)
            result.otherFamilyMethod = other
            return result
        }
        if fields.count == 1 {
            guard let method = try method(fields[0], field: 1, warnings: &warnings) else {
                throw BootConfigError(
                    parameter, token: text, problem: "is not a method",
                    expected:
                        "one of \(methodWords), or <device>:<method>, or <client>:[peer]:<gw>:<netmask>:<hostname>:<device>:<method>"
                )
            }
            return IPParameter(method: method)
        }
        // `<device>:<method>[:mtu[:mac]]`: the first field is a name, not an address.
        if IPAddress(fields[0]) == nil, !fields[0].isEmpty, !fields[0].hasPrefix("["),
            !fields[0].allSatisfy({ $0.isNumber || $0 == "." })
        {
            if fields[1].utf8.contains(UInt8(ascii: ",")) {
                // dracut's ip_to_var takes `<device>:<word>` only for one word; a list there
                // becomes the client address, and the boot dies on it.
                throw BootConfigError(
                    parameter, at: "field 2", token: String(fields[1]),
                    problem: "is a list of methods after a device name, which dracut does not read",
                    expected:
                        "the list in the seventh field, ip=:::::\(fields[0]):\(fields[1]), or alone, ip=\(fields[1])")
            }
            guard let method = try method(fields[1], field: 2, warnings: &warnings) else {
                throw BootConfigError(
                    parameter, at: "field 2", token: String(fields[1]), problem: "is not a method",
                    expected: "one of \(methodWords) after the device name \(quoted(fields[0]))")
            }
            var result = IPParameter(device: String(fields[0]), method: method)
            if fields.count > 2 { result.mtu = try mtu(fields[2], field: 3) }
            if fields.count > 3 { result.mac = try mac(fields[3...].joined(separator: ":"), field: 4) }
            return result
        }
        return try parseFullForm(fields, warnings: &warnings)
    }

    /// `<client>:<peer>:<gw>:<netmask>:<hostname>:<device>:<method>` and what may follow it.
    private static func parseFullForm(_ fields: [Substring], warnings: inout [PlanWarning])
        throws(BootConfigError) -> IPParameter
    {
        func field(_ number: Int) -> Substring { number <= fields.count ? fields[number - 1] : "" }
        let client = try address(field(1), field: 1)
        let methodText = field(7)
        // An empty method with a client address is static (the kernel autoconfigures only
        // what is missing); with no address it is DHCP.
        let method: AddressMethod
        var otherFamilyMethod: AddressMethod?
        if methodText.isEmpty {
            method = client == nil ? .dhcp : .static
        } else if methodText.utf8.contains(UInt8(ascii: ",")) {
            (method, otherFamilyMethod) = try methodList(
                methodText, field: 7, client: client, hasMask: !field(4).isEmpty)
        } else if let parsed = try Self.method(methodText, field: 7, warnings: &warnings) {
            method = parsed
        } else {
            throw BootConfigError(
                parameter, at: "field 7", token: String(methodText), problem: "is not a method",
                expected: "one of \(methodWords)")
        }
        var result = IPParameter(device: field(6).isEmpty ? nil : String(field(6)), method: method)
        result.otherFamilyMethod = otherFamilyMethod
        result.address = client
        result.peer = try address(field(2), field: 2)
        result.gateway = try address(field(3), field: 3)
        result.prefixLength = try prefixLength(field(4), field: 4, family: client)
        result.hostname = field(5).isEmpty ? nil : String(field(5))
        if method == .static {
            guard client != nil else {
                throw BootConfigError(
                    parameter, at: "field 1", token: "", problem: "is empty but method is static",
                    expected: "the client address")
            }
            if result.prefixLength == nil { result.prefixLength = client?.maximumPrefixLength }
        }
        if let gateway = result.gateway, let client, gateway.isIPv6 != client.isIPv6 {
            throw BootConfigError(
                parameter, at: "field 3", token: gateway.description,
                problem: "is not in the client's address family",
                expected: "a gateway of the same family as \(client)")
        }
        // Field 8: a bare number is dracut's MTU (then field 9 on is a MAC with colons);
        // an address is DNS (dracut dns1:dns2, the kernel's dns0:dns1:ntp0).
        guard fields.count > 7 else { return result }
        if fields[7].isDecimalNumber
            || fields[7].isEmpty && fields.count > 8
                && MACAddress(fields[8...].joined(separator: ":")) != nil
        {
            if !fields[7].isEmpty { result.mtu = try mtu(fields[7], field: 8) }
            if fields.count > 8 { result.mac = try mac(fields[8...].joined(separator: ":"), field: 9) }
            return result
        }
        guard fields.count <= 10 else {
            throw BootConfigError(
                parameter, at: "field 11", token: String(fields[10]), problem: "is one field too many",
                expected: "at most <dns0>:<dns1>:<ntp0> after the method")
        }
        for number in 8...min(9, fields.count) where !fields[number - 1].isEmpty {
            if let dns = try address(fields[number - 1], field: number) { result.dns.append(dns) }
        }
        if fields.count == 10 { result.ntp = try address(fields[9], field: 10) }
        return result
    }

    private static func method(_ word: Substring, field: Int, warnings: inout [PlanWarning])
        throws(BootConfigError) -> AddressMethod?
    {
        switch word {
        case "dhcp", "on", "any", "single-dhcp": return .dhcp
        case "bootp", "rarp", "both":
            warnings.append(
                PlanWarning(
                    parameter, "method \(quoted(word)) is not supported; the agent uses DHCP instead"))
            return .dhcp
        case "dhcp6": return .dhcp6
        case "auto6": return .auto6
        case "either6": return .either6
        case "link6": return .link6
        case "ibft": return .firmware
        case "none", "off", "static": return field == 1 ? .disabled : .static
        default: return nil
        }
    }

    /// A list of methods as dracut's network-legacy takes it (parse-ip-opts.sh checks each word,
    /// ifup.sh runs each in turn): here exactly one IPv4 method (`dhcp`/`on`/`any`, or
    /// `none`/`off`/`static` with the client address and netmask) and one IPv6 method
    /// (`dhcp6`, `auto6`, `either6`), in either order. What dracut refuses is refused: a DHCP
    /// word beside a client address, `none` without one; what it would run twice on one family
    /// (`auto6,dhcp6`) is refused as well, since the second would replace the first.
    private static func methodList(_ text: Substring, field: Int, client: IPAddress?, hasMask: Bool)
        throws(BootConfigError) -> (AddressMethod, AddressMethod)
    {
        let words = text.split(separator: ",", omittingEmptySubsequences: false)
        let expected =
            "one IPv4 method (dhcp, on, any, or none with the client address) and one IPv6 method (dhcp6, auto6, either6), such as dhcp,auto6"
        guard words.count == 2 else {
            throw BootConfigError(
                parameter, at: "field \(field)", token: String(text),
                problem: "is a list of \(words.count) methods", expected: expected)
        }
        var methods: [AddressMethod] = []
        for word in words {
            let method: AddressMethod
            switch word {
            case "dhcp", "on", "any": method = .dhcp
            case "dhcp6": method = .dhcp6
            case "auto6": method = .auto6
            case "either6": method = .either6
            case "none", "off", "static":
                guard let client, hasMask else {
                    throw BootConfigError(
                        parameter, at: "field \(field)", token: String(text),
                        problem: "has \(quoted(word)) without a client address and netmask",
                        expected:
                            "the client address and netmask in fields 1 and 4, such as ip=10.0.2.15::10.0.2.1:255.255.255.0::eth0:none,auto6"
                    )
                }
                method = .static
            default:
                throw BootConfigError(
                    parameter, at: "field \(field)", token: String(text),
                    problem: "has \(quoted(word)), which cannot be part of a list", expected: expected)
            }
            if let client, method != .static, method != .auto6, method != .either6 {
                throw BootConfigError(
                    parameter, at: "field 1", token: client.description,
                    problem: "is a client address beside \(quoted(word)), which takes its address from the server",
                    expected: "no client address with \(word), or one ip= for each family")
            }
            methods.append(method)
        }
        func isIPv6(_ method: AddressMethod) -> Bool {
            method == .static ? client?.isIPv6 == true : method != .dhcp
        }
        guard isIPv6(methods[0]) != isIPv6(methods[1]) else {
            throw BootConfigError(
                parameter, at: "field \(field)", token: String(text),
                problem: "configures \(isIPv6(methods[0]) ? "IPv6" : "IPv4") twice", expected: expected)
        }
        // The static one first: the client address, gateway and DNS belong to it.
        return methods[1] == .static ? (methods[1], methods[0]) : (methods[0], methods[1])
    }

    private static func address(_ text: Substring, field: Int) throws(BootConfigError) -> IPAddress? {
        if text.isEmpty { return nil }
        guard let address = IPAddress(text) else {
            throw BootConfigError(
                parameter, at: "field \(field)", token: String(text), problem: "is not an IP address",
                expected: "a.b.c.d or [IPv6]")
        }
        return address
    }

    /// A dotted netmask (contiguous) or a prefix length; IPv6 takes only a prefix length.
    private static func prefixLength(_ text: Substring, field: Int, family: IPAddress?)
        throws(BootConfigError) -> UInt8?
    {
        if text.isEmpty { return nil }
        let maximum = family?.maximumPrefixLength ?? 32
        if text.isDecimalNumber, text.utf8.count <= 3, let length = UInt8(text), length <= maximum {
            return length
        }
        if maximum == 32, let mask = IPv4Address(text), let length = mask.prefixLengthOfNetmask {
            return length
        }
        throw BootConfigError(
            parameter, at: "field \(field)", token: String(text), problem: "is not a netmask",
            expected: maximum == 32 ? "a.b.c.d or a prefix length 0-32" : "a prefix length 0-128")
    }

    private static func mtu(_ text: Substring, field: Int) throws(BootConfigError) -> UInt16? {
        if text.isEmpty { return nil }
        guard text.isDecimalNumber, text.utf8.count <= 5, let value = Int(text),
            (68...65535).contains(value)
        else {
            throw BootConfigError(
                parameter, at: "field \(field)", token: String(text), problem: "is not an MTU",
                expected: "a number 68-65535")
        }
        return UInt16(value)
    }

    private static func mac(_ text: String, field: Int) throws(BootConfigError) -> MACAddress? {
        if text.isEmpty { return nil }
        guard let mac = MACAddress(text) else {
            throw BootConfigError(
                parameter, at: "field \(field)", token: text, problem: "is not a MAC address",
                expected: "six hex pairs such as 52:54:00:12:34:56")
        }
        return mac
    }
}

/// How an interface gets its address.
public enum AddressMethod: String, Sendable, Equatable {
    /// DHCPv4 (`dhcp`, `on`, `any`, and the kernel's `bootp`/`rarp`, which the agent answers with DHCP).
    case dhcp
    case dhcp6
    /// IPv6 stateless autoconfiguration (router advertisements).
    case auto6
    /// IPv6 autoconfiguration, or DHCPv6 if no router advertises.
    case either6
    /// IPv6 link-local only.
    case link6
    /// The address the iBFT gives for this NIC (`ip=ibft`, `rd.iscsi.ibft=1`).
    case firmware
    /// The address, mask and gateway given in the parameter.
    case `static`
    /// No address configuration (`ip=off`, `ip=none`).
    case disabled
}
