import ISCSI

/// A target described field by field rather than as one path: dracut's `rd.iscsi.target.*`,
/// `rd.iscsi.username` ..., and initramfs-tools' `iscsi_target_*` parameters and
/// `ISCSI_*` variables (open-iscsi debian/extra/initramfs/local-top/iscsi).
public struct DiscreteTargetSettings: Sendable, Equatable {
    public var initiator: Sourced<String>?
    public var targetName: Sourced<String>?
    /// One or more portals: initramfs-tools takes a space-separated list (one session each).
    public var targetAddresses: Sourced<String>?
    public var targetPort: Sourced<String>?
    public var targetGroup: Sourced<String>?
    public var username: Sourced<String>?
    public var password: Sourced<CHAPSecret>?
    public var inUsername: Sourced<String>?
    public var inPassword: Sourced<CHAPSecret>?

    public init() {}

    /// The fields a parameter or variable sets, by its suffix (`target_name`, `in_password`, ...).
    /// Enums with a subscript rather than a table of key paths: Embedded Swift has no key paths.
    enum Field: String, CaseIterable {
        case initiator, username
        case targetName = "target_name", targetAddresses = "target_ip", targetPort = "target_port"
        case targetGroup = "target_group", inUsername = "in_username"
    }
    enum SecretField: String, CaseIterable {
        case password
        case inPassword = "in_password"
    }

    subscript(field: Field) -> Sourced<String>? {
        get {
            switch field {
            case .initiator: initiator
            case .targetName: targetName
            case .targetAddresses: targetAddresses
            case .targetPort: targetPort
            case .targetGroup: targetGroup
            case .username: username
            case .inUsername: inUsername
            }
        }
        set {
            switch field {
            case .initiator: initiator = newValue
            case .targetName: targetName = newValue
            case .targetAddresses: targetAddresses = newValue
            case .targetPort: targetPort = newValue
            case .targetGroup: targetGroup = newValue
            case .username: username = newValue
            case .inUsername: inUsername = newValue
            }
        }
    }

    subscript(field: SecretField) -> Sourced<CHAPSecret>? {
        get {
            switch field {
            case .password: password
            case .inPassword: inPassword
            }
        }
        set {
            switch field {
            case .password: password = newValue
            case .inPassword: inPassword = newValue
            }
        }
    }

    /// Sets the field named `suffix`; false if there is no such field.
    mutating func set(_ suffix: String, to value: String, source: ValueSource) -> Bool {
        if let field = Field(rawValue: suffix) {
            self[field] = Sourced(value, from: source)
        } else if let field = SecretField(rawValue: suffix) {
            self[field] = Sourced(CHAPSecret(value), from: source)
        } else {
            return false
        }
        return true
    }

    /// These settings with every field that `overrides` sets taken from it
    /// (initramfs-tools: the command line overrides the file).
    func overridden(by overrides: DiscreteTargetSettings) -> DiscreteTargetSettings {
        var result = self
        for field in Field.allCases where overrides[field] != nil {
            result[field] = overrides[field]
        }
        for field in SecretField.allCases where overrides[field] != nil {
            result[field] = overrides[field]
        }
        return result
    }

    /// The targets these settings describe: one per address, or none without a name.
    /// `parameterPrefix` names the parameters in errors (`rd.iscsi.` or `iscsi_`).
    func targets(parameterPrefix: String) throws(BootConfigError) -> [Sourced<TargetSpec>] {
        guard let name = targetName else { return [] }
        let nameParameter = Self.parameterName(parameterPrefix, "target_name")
        if let rule = ISCSIName.ruleBroken(by: name.value) {
            throw BootConfigError(
                nameParameter, token: name.value, problem: "is not an iSCSI name: \(rule)",
                expected: ISCSIName.expectedForms)
        }
        let addressParameter = Self.parameterName(parameterPrefix, "target_ip")
        guard let addresses = targetAddresses, !addresses.value.isEmpty else {
            throw BootConfigError(
                nameParameter, token: name.value, problem: "has no portal",
                expected: "also \(addressParameter)<address>")
        }
        let port = try Portal.port(
            Substring(targetPort?.value ?? ""), parameter: addressParameter)
        var targets: [Sourced<TargetSpec>] = []
        for address in addresses.value.split(separator: " ") {
            let host = try Portal.host(address, parameter: addressParameter)
            targets.append(
                Sourced(
                    TargetSpec(
                        name: name.value, portal: Portal(host: host, port: port), lun: nil), from: name.source))
        }
        return targets
    }

    /// The parameter that sets `suffix` in a grammar: `rd.iscsi.in.username=`, `iscsi_in_username=`.
    static func parameterName(_ prefix: String, _ suffix: String) -> String {
        (prefix == "rd.iscsi." ? prefix + String(suffix.map { $0 == "_" ? "." : $0 }) : prefix + suffix) + "="
    }

    /// The portal group tag, if given (`rd.iscsi.target.group=`, `iscsi_target_group=`).
    func portalGroupTag(parameterPrefix: String) throws(BootConfigError) -> Sourced<UInt16>? {
        guard let group = targetGroup else { return nil }
        guard group.value.isDecimalNumber, group.value.utf8.count <= 5, let tag = UInt16(group.value)
        else {
            throw BootConfigError(
                Self.parameterName(parameterPrefix, "target_group"), token: group.value,
                problem: "is not a portal group tag", expected: "0-65535")
        }
        return Sourced(tag, from: group.source)
    }

    /// CHAP credentials from username/password (and in.username/in.password for mutual).
    func credentials(parameterPrefix: String) throws(BootConfigError) -> CHAPConfiguration? {
        guard let username else {
            if password != nil {
                throw BootConfigError(
                    Self.parameterName(parameterPrefix, "password"), token: "(set)",
                    problem: "has no user name",
                    expected: "also \(Self.parameterName(parameterPrefix, "username"))")
            }
            return nil
        }
        guard let password else {
            throw BootConfigError(
                Self.parameterName(parameterPrefix, "username"), token: username.value,
                problem: "has no password",
                expected: "also \(Self.parameterName(parameterPrefix, "password"))")
        }
        var credentials = CHAPConfiguration(userName: username.value, secret: password.value)
        if let inUsername {
            guard let inPassword else {
                throw BootConfigError(
                    Self.parameterName(parameterPrefix, "in_username"), token: inUsername.value,
                    problem: "has no password",
                    expected: "also \(Self.parameterName(parameterPrefix, "in_password"))")
            }
            credentials.mutual = CHAPCredentials(userName: inUsername.value, secret: inPassword.value)
        }
        return credentials
    }
}
