/// Everything the kernel command line says that concerns the agent, grammar by grammar,
/// checked but not yet resolved (that is `BootPlan.resolve`). Parameters that are not ours
/// (`console=`, `loglevel=`, ...) are ignored silently.
public struct BootParameters: Sendable, Equatable {
    // Network (kernel, klibc and dracut).
    public var ipParameters: [IPParameter] = []
    public var interfaceNames: [InterfaceName] = []
    public var bootInterfaceMAC: Sourced<MACAddress>?
    public var bootDevice: Sourced<String>?
    public var nameservers: [Sourced<IPAddress>] = []
    public var routes: [Sourced<StaticRoute>] = []
    public var vlans: [Sourced<VLANDevice>] = []
    public var needsNetwork: Sourced<Bool>?

    // Targets.
    /// `iscsi=` values, in order.
    public var nativeTargets: [Sourced<ISCSIURL.ParsedTarget>] = []
    /// `netroot=iscsi:`, `root=iscsi:` and `iscsiroot=` values, in order.
    public var rootPathTargets: [Sourced<TargetSpec>] = []
    /// `netroot=dhcp` / `root=dhcp`: the root path comes from DHCP option 17.
    public var rootPathFromDHCP: ValueSource?
    /// `netroot=dhcp6` / `root=dhcp6`: the root path comes from the DHCPv6 boot-file URL
    /// (option 59), and without `ip=` the interface asks DHCPv6, as in dracut.
    public var rootPathFromDHCPv6 = false
    /// `rd.iscsi.firmware`, `iscsi_firmware`, `iscsi_auto`, `netroot=iscsi`: use the iBFT's targets.
    public var firmwareTargets: ValueSource?
    /// `rd.iscsi.ibft`, `ip=ibft`: configure the iBFT's NICs.
    public var firmwareNetwork: ValueSource?
    /// `rd.iscsi.mp=1`: all valid iBFT NICs and targets, not only the boot-selected ones.
    public var firmwareMultipath = false
    public var dracut = DiscreteTargetSettings()
    public var initramfsTools = DiscreteTargetSettings()

    // The agent's own settings (`iscsi.*`).
    public var nativeInitiator: Sourced<String>?
    public var chapUser: Sourced<String>?
    public var mutualCHAPUser: Sourced<String>?
    public var session = SessionSettings()
    public var onFailure = Sourced(FailureAction.reboot, from: .defaultValue)
    public var logLevel = Sourced(LogLevel.info, from: .defaultValue)
    public var multipath = Sourced(MultipathMode.on, from: .defaultValue)
    public var testRoute = Sourced(true, from: .defaultValue)

    // Root.
    public var root: Sourced<RootDevice>?
    public var filesystemType: Sourced<String>?
    public var mountOptions: Sourced<String>?
    public var readOnly = Sourced(true, from: .defaultValue)
    public var initPath: Sourced<String>?
    public var rootWaitSeconds = Sourced(180, from: .defaultValue)

    public var warnings: [PlanWarning] = []

    public init() {}

    /// The prefixes of the agent's own settings; `iscsi_root.` is an alias of `iscsi.`.
    public static let nativePrefixes = ["iscsi.", "iscsi_root."]
    /// The agent's own settings, for `--help` and for suggesting the closest one.
    public static let nativeKeys = [
        "initiator", "chap", "mutual", "replacement_timeout", "noop", "login_timeout", "retries",
        "boot_timeout", "shutdown_timeout", "on_failure", "log", "multipath",
    ]
    static let dracutISCSIKeys = [
        "initiator", "target.name", "target.ip", "target.port", "target.group", "username", "password",
        "in.username", "in.password",
        "firmware", "ibft", "mp", "param", "login_retry_max", "waitnet", "testroute", "transport",
    ]

    public init(_ commandLine: KernelCommandLine) throws(BootConfigError) {
        for parameter in commandLine.parameters {
            try take(parameter)
        }
        if ipParameters.count > 1, needsNetwork == nil {
            // dracut: several ip= imply rd.neednet=1.
            needsNetwork = Sourced(true, from: .commandLine("ip="))
        }
    }

    private mutating func take(_ parameter: KernelCommandLine.Parameter) throws(BootConfigError) {
        let key = parameter.key
        let value = parameter.value ?? ""
        let source = ValueSource.commandLine(parameter.name)
        switch key {
        case "ip":
            let ip = try IPParameter.parse(value, warnings: &warnings)
            if ip.method == .firmware { firmwareNetwork = source }
            ipParameters.append(ip)
        case "ifname": interfaceNames.append(try InterfaceName.parse(value))
        case "BOOTIF": bootInterfaceMAC = Sourced(try parseBootInterface(value), from: source)
        case "bootdev": bootDevice = Sourced(value, from: source)
        case "nameserver":
            guard let address = IPAddress(value) else {
                throw BootConfigError(
                    "nameserver=", token: value, problem: "is not an IP address",
                    expected: "a.b.c.d or an IPv6 address")
            }
            nameservers.append(Sourced(address, from: source))
        case "rd.route": routes.append(Sourced(try StaticRoute.parse(value), from: source))
        case "vlan": vlans.append(Sourced(try VLANDevice.parse(value), from: source))
        case "rd.neednet": needsNetwork = Sourced(try Self.boolean(parameter), from: source)
        case "root": try takeRoot(value, source: source)
        case "netroot": try takeNetroot(value, source: source)
        case "iscsiroot":
            warnings.append(PlanWarning("iscsiroot=", "deprecated by dracut; use netroot=iscsi:..."))
            rootPathTargets.append(
                Sourced(try RootPath.parse(value, parameter: "iscsiroot="), from: source))
        case "iscsi":
            nativeTargets.append(Sourced(try ISCSIURL.parse(value, warnings: &warnings), from: source))
        case "iscsi_firmware": firmwareTargets = source
        case "iscsi_auto": firmwareTargets = source
        case "rootfstype": filesystemType = Sourced(value, from: source)
        case "rootflags": mountOptions = Sourced(value, from: source)
        case "ro", "rw": readOnly = Sourced(key == "ro", from: source)
        case "init": initPath = Sourced(value, from: source)
        case "rd.retry":
            rootWaitSeconds = Sourced(try Self.number(parameter, in: 1...86400), from: source)
        default:
            if key.hasPrefix("rd.iscsi.") {
                try takeDracutISCSI(String(key.dropFirst(9)), parameter: parameter, source: source)
            } else if key.hasPrefix("iscsi_"),
                initramfsTools.set(String(key.dropFirst(6)), to: value, source: source)
            {
                // iscsi_initiator=, iscsi_target_name=, ... (initramfs-tools; iscsi_initiator= is also dracut's legacy name).
            } else if let prefix = Self.nativePrefixes.first(where: key.hasPrefix) {
                try takeNative(String(key.dropFirst(prefix.count)), parameter: parameter, source: source)
            }
        }
    }

    private mutating func takeRoot(_ value: String, source: ValueSource) throws(BootConfigError) {
        if value.hasPrefix("iscsi:") {
            rootPathTargets.append(Sourced(try RootPath.parse(value, parameter: "root="), from: source))
            root = Sourced(.targetLUN, from: source)
        } else if value == "dhcp" || value == "dhcp6" {
            rootPathFromDHCP = source
            rootPathFromDHCPv6 = value == "dhcp6"
        } else {
            root = Sourced(try RootDevice.parse(value), from: source)
        }
    }

    private mutating func takeNetroot(_ value: String, source: ValueSource) throws(BootConfigError) {
        switch value {
        case "dhcp", "dhcp6":
            rootPathFromDHCP = source
            rootPathFromDHCPv6 = value == "dhcp6"
        case "iscsi": firmwareTargets = source
        case "iscsi:ibft":
            warnings.append(
                PlanWarning(
                    "netroot=",
                    "\"iscsi:ibft\" is not a root path; taken as rd.iscsi.firmware=1 (write that instead)"))
            firmwareTargets = source
        default:
            guard value.hasPrefix("iscsi:") else {
                throw BootConfigError(
                    "netroot=", token: value, problem: "is not an iSCSI root",
                    expected: "iscsi:<root path>, iscsi or dhcp")
            }
            rootPathTargets.append(
                Sourced(try RootPath.parse(value, parameter: "netroot="), from: source))
        }
    }

    private mutating func takeDracutISCSI(
        _ suffix: String, parameter: KernelCommandLine.Parameter, source: ValueSource
    ) throws(BootConfigError) {
        let value = parameter.value ?? ""
        switch suffix {
        case "firmware": if try Self.boolean(parameter) { firmwareTargets = source }
        case "ibft": if try Self.boolean(parameter) { firmwareNetwork = source }
        case "mp": firmwareMultipath = try Self.boolean(parameter)
        case "waitnet": break  // The agent always waits for its own network configuration.
        case "testroute": testRoute = Sourced(try Self.boolean(parameter), from: source)
        case "login_retry_max":
            try SessionSetting.loginRetries.apply(
                value, to: &session, parameter: parameter.name, source: source)
        case "transport":
            warnings.append(
                PlanWarning(
                    parameter.name, "offload transports are not supported; the agent uses iscsi_tcp"))
        case "param": try takeNodeParameter(value, source: source)
        default:
            guard dracut.set(String(suffix.map { $0 == "." ? "_" : $0 }), to: value, source: source) else {
                warnings.append(
                    PlanWarning(
                        parameter.name,
                        "not a dracut iSCSI parameter\(Self.suggestion(suffix, among: Self.dracutISCSIKeys, prefix: "rd.iscsi."))"
                    ))
                return
            }
        }
    }

    /// `rd.iscsi.param=<node key>=<value>`, as open-iscsi's iscsiadm names the key.
    private mutating func takeNodeParameter(_ text: String, source: ValueSource)
        throws(BootConfigError)
    {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw BootConfigError(
                "rd.iscsi.param=", token: text, problem: "is not <key>=<value>",
                expected: "e.g. node.session.timeo.replacement_timeout=86400")
        }
        guard let setting = SessionSetting.forNodeKey(String(parts[0])) else {
            warnings.append(
                PlanWarning(
                    "rd.iscsi.param=", "\(quoted(parts[0])) is not a setting iscsi-root uses; ignored"))
            return
        }
        try setting.apply(
            String(parts[1]), to: &session, parameter: "rd.iscsi.param=\(parts[0])", source: source)
    }

    /// The agent's own `iscsi.<key>=` settings.
    private mutating func takeNative(
        _ key: String, parameter: KernelCommandLine.Parameter, source: ValueSource
    ) throws(BootConfigError) {
        let value = parameter.value ?? ""
        let name = parameter.name
        switch key {
        case "initiator":
            if let rule = ISCSIName.ruleBroken(by: value) {
                throw BootConfigError(
                    name, token: value, problem: "is not an iSCSI name: \(rule)",
                    expected: ISCSIName.expectedForms)
            }
            nativeInitiator = Sourced(value, from: source)
        case "chap":
            chapUser = Sourced(
                try Self.nonEmpty(parameter, expected: "a CHAP user name from \(SecretsFile.path)"),
                from: source)
        case "mutual":
            mutualCHAPUser = Sourced(
                try Self.nonEmpty(
                    parameter, expected: "the target's CHAP user name from \(SecretsFile.path)"), from: source
            )
        case "replacement_timeout":
            try SessionSetting.replacementTimeout.apply(
                value, to: &session, parameter: name, source: source)
        case "login_timeout":
            try SessionSetting.loginTimeout.apply(value, to: &session, parameter: name, source: source)
        case "retries":
            try SessionSetting.loginRetries.apply(value, to: &session, parameter: name, source: source)
        case "boot_timeout":
            try SessionSetting.bootTimeout.apply(value, to: &session, parameter: name, source: source)
        case "shutdown_timeout":
            try SessionSetting.shutdownTimeout.apply(value, to: &session, parameter: name, source: source)
        case "noop":
            let parts = value.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw BootConfigError(
                    name, token: value, problem: "is not <interval>,<timeout>",
                    expected: "two numbers of seconds such as 5,5 (0,0 disables)")
            }
            try SessionSetting.noopInterval.apply(
                String(parts[0]), to: &session, parameter: name + " interval", source: source)
            try SessionSetting.noopTimeout.apply(
                String(parts[1]), to: &session, parameter: name + " timeout", source: source)
        case "on_failure": onFailure = Sourced(try Self.choice(parameter), from: source)
        case "log": logLevel = Sourced(try Self.choice(parameter), from: source)
        case "multipath": multipath = Sourced(try Self.choice(parameter), from: source)
        default:
            warnings.append(
                PlanWarning(
                    name, "unknown setting\(Self.suggestion(key, among: Self.nativeKeys, prefix: "iscsi."))"))
        }
    }

    /// dracut's `getargbool`: a bare flag, 1/yes/on are true; 0/no/off are false.
    private static func boolean(_ parameter: KernelCommandLine.Parameter) throws(BootConfigError)
        -> Bool
    {
        switch parameter.value {
        case nil, "", "1", "yes", "on", "true": return true
        case "0", "no", "off", "false": return false
        case .some(let other):
            throw BootConfigError(
                parameter.name, token: other, problem: "is not a yes/no value",
                expected: "1 or 0 (yes/no, on/off)")
        }
    }

    private static func number(_ parameter: KernelCommandLine.Parameter, in range: ClosedRange<Int>)
        throws(BootConfigError) -> Int
    {
        let text = parameter.value ?? ""
        guard text.isDecimalNumber, text.utf8.count <= 10, let value = Int(text), range.contains(value)
        else {
            throw BootConfigError(
                parameter.name, token: text, problem: "is not a number in range",
                expected: "\(range.lowerBound)-\(range.upperBound)")
        }
        return value
    }

    private static func nonEmpty(_ parameter: KernelCommandLine.Parameter, expected: String)
        throws(BootConfigError) -> String
    {
        guard let value = parameter.value, !value.isEmpty else {
            throw BootConfigError(parameter.name, token: "", problem: "is empty", expected: expected)
        }
        return value
    }

    private static func choice<Choice: RawRepresentable & CaseIterable>(
        _ parameter: KernelCommandLine.Parameter
    ) throws(BootConfigError) -> Choice
    where Choice.RawValue == String {
        let text = parameter.value ?? ""
        guard let value = Choice(rawValue: text) else {
            throw BootConfigError(
                parameter.name, token: text, problem: "is not a choice",
                expected: Choice.allCases.map({ $0.rawValue }).joined(separator: ", "))
        }
        return value
    }

    /// "; did you mean <closest>?" when a known key is within edit distance 3.
    static func suggestion(_ key: String, among known: [String], prefix: String) -> String {
        guard let closest = known.min(by: { editDistance(key, $0) < editDistance(key, $1) }),
            editDistance(key, closest) <= 3
        else {
            return "; known: " + known.map { prefix + $0 }.joined(separator: ", ")
        }
        return "; did you mean \(prefix)\(closest)=?"
    }
}

/// How the root filesystem is found once the LUN is attached.
public enum RootDevice: Sendable, Equatable, CustomStringConvertible {
    case uuid(String)
    case label(String)
    case partitionUUID(String)
    case partitionLabel(String)
    case path(String)
    /// The (first) target's LUN itself (`root=iscsi:...`, dracut's `/dev/root`, or no `root=`).
    case targetLUN

    static func parse(_ text: String) throws(BootConfigError) -> RootDevice {
        let forms: [(String, (String) -> RootDevice)] = [
            ("UUID=", RootDevice.uuid), ("LABEL=", RootDevice.label),
            ("PARTUUID=", RootDevice.partitionUUID), ("PARTLABEL=", RootDevice.partitionLabel),
        ]
        for (prefix, make) in forms where text.hasPrefix(prefix) && text.count > prefix.count {
            return make(String(text.dropFirst(prefix.count)))
        }
        // dracut's 99-iscsi-root.rules point /dev/root at the whole iSCSI LUN.
        if text == "/dev/root" { return .targetLUN }
        if text.hasPrefix("/dev/"), text.count > 5 { return .path(text) }
        throw BootConfigError(
            "root=", token: text, problem: "is not a root device",
            expected: "UUID=, LABEL=, PARTUUID=, PARTLABEL=, /dev/..., iscsi:<root path> or dhcp")
    }

    /// The `root=` value that says this.
    public var commandLineValue: String {
        switch self {
        case .uuid(let value): "UUID=\(value)"
        case .label(let value): "LABEL=\(value)"
        case .partitionUUID(let value): "PARTUUID=\(value)"
        case .partitionLabel(let value): "PARTLABEL=\(value)"
        case .path(let value): value
        case .targetLUN: "/dev/root"
        }
    }

    public var description: String {
        switch self {
        case .targetLUN: "the whole LUN of the first target"
        case .path(let path): "the device \(path)"
        default: "the filesystem with \(commandLineValue)"
        }
    }
}
