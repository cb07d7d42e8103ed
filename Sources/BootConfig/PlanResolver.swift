import ISCSI

/// Resolution of all inputs into one `BootPlan`. The precedence follows dracut's and
/// initramfs-tools' own (see `BootPlan.precedence`): the agent's `iscsi=`/`iscsi.*` first, then
/// dracut's parameters, then initramfs-tools' (command line over its file), then the iBFT.
extension BootPlan {
    /// The precedence rules, one line per value, as `plan --help` and the README show them.
    public static let precedence = """
        value           first that applies wins
        --------------  -------------------------------------------------------------------
        targets         rd.iscsi.firmware=1 / iscsi_firmware / iscsi_auto / ISCSI_AUTO / netroot=iscsi:
                        the iBFT's targets, then every explicit target below as well;
                        otherwise the explicit targets, in this order: iscsi=, netroot=/root=iscsi:/
                        iscsiroot=, rd.iscsi.target.*, iscsi_target_* (over ISCSI_TARGET_*);
                        a name given twice is one target with both portals (paths, tried in order);
                        none: netroot=dhcp (DHCP option 17) / dhcp6 (DHCPv6 option 59);
                        none: the iBFT's valid targets
        sessions        one per target, every target logged in; the boot waits for the first
                        (the root's), the others come up alongside and join when they answer;
                        hook mode: one per portal (path) of every target, an ISID each
        LUN             the target's own (iscsi=/root path/iBFT); iscsi= without one: the first disk LUN
        CHAP            the target's own (iscsi=user%pw@, root path user:pw@, iBFT) > iscsi.chap=/
                        iscsi.mutual= (secrets file) > rd.iscsi.username/password > iscsi_username
                        /password > ISCSI_USERNAME/PASSWORD
        initiator name  iscsi.initiator= > rd.iscsi.initiator= > iscsi_initiator= > ISCSI_INITIATOR
                        > iBFT initiator > generated from the boot NIC's MAC (same on every boot)
        network         every ip= in order (ip=ibft / rd.iscsi.ibft=1: the iBFT's NICs); no ip= but
                        targets from the iBFT: its NICs; else DHCP on BOOTIF=/bootdev=/any interface
                        one IPv4 and one IPv6 ip= (or ip=dhcp,auto6) for one NIC: both (dual stack)
        timeouts        iscsi.* > rd.iscsi.param= / rd.iscsi.login_retry_max= > defaults
        root            root= (root=iscsi:... and root=/dev/root: the whole LUN); none: the whole LUN
        """

    /// Resolves the kernel command line with the other inputs. Errors are bad input (exit 2).
    /// `firmwareSearch` says where the iBFT was looked for, for the error when none was found.
    public static func resolve(
        commandLine: KernelCommandLine, firmware: IBFT? = nil, config: InitramfsToolsConfig? = nil,
        secrets: SecretsFile? = nil, firmwareSearch: IBFTSearch? = nil
    ) throws(BootConfigError) -> BootPlan {
        var resolver = PlanResolver(
            parameters: try BootParameters(commandLine), firmware: firmware,
            config: config ?? InitramfsToolsConfig(), secrets: secrets)
        resolver.commandLine = commandLine
        resolver.firmwareSearch = firmwareSearch
        return try resolver.resolve()
    }
}

private struct PlanResolver {
    let parameters: BootParameters
    let firmware: IBFT?
    let config: InitramfsToolsConfig
    let secrets: SecretsFile?
    var warnings: [PlanWarning]
    /// For errors: the parameters as written, and where the iBFT was looked for.
    var commandLine = KernelCommandLine(parameters: [])
    var firmwareSearch: IBFTSearch?

    init(
        parameters: BootParameters, firmware: IBFT?, config: InitramfsToolsConfig, secrets: SecretsFile?
    ) {
        self.parameters = parameters
        self.firmware = firmware
        self.config = config
        self.secrets = secrets
        warnings = parameters.warnings + config.warnings
    }

    mutating func resolve() throws(BootConfigError) -> BootPlan {
        let initramfsTools = config.settings.overridden(by: parameters.initramfsTools)
        let firmwareWanted =
            parameters.firmwareTargets
            ?? (config.automatic?.value == true ? config.automatic?.source : nil)
        if let firmwareWanted, firmware == nil {
            warnings.append(
                PlanWarning(
                    firmwareWanted.description,
                    "asks for the firmware's targets, but no iBFT table was found"
                        + (firmwareSearch.map { " (\($0.placesLooked))" } ?? "")))
        }
        let explicit = try explicitTargets(initramfsTools: initramfsTools)
        let firmwareTargets = self.firmwareTargets()
        var targets: [TargetPlan]
        var targetsFromFirmware = false
        if firmwareWanted != nil {
            targets = merge(firmwareTargets + explicit)
            targetsFromFirmware = !firmwareTargets.isEmpty
        } else if !explicit.isEmpty {
            targets = merge(explicit)
        } else if parameters.rootPathFromDHCP != nil {
            targets = []
        } else {
            targets = firmwareTargets
            targetsFromFirmware = !targets.isEmpty
        }
        if targets.isEmpty, parameters.rootPathFromDHCP == nil {
            if let firmwareWanted {
                let request = commandLine.written(firmwareWanted)
                throw firmware == nil
                    ? .noFirmwareTable(request: request, search: firmwareSearch)
                    : .noFirmwareTarget(request: request, search: firmwareSearch)
            }
            let judged = commandLine.judgedParameters()
            // ip=ibft looks for the table too; when none was found, say where it was looked for.
            let noTable =
                firmware == nil && firmwareSearch?.attempts.isEmpty == false
                ? ", and no iBFT was found (\(firmwareSearch?.placesLooked ?? ""))" : ""
            throw BootConfigError(
                "kernel command line", token: judged ?? commandLine.writtenParameters,
                problem: (judged == nil ? "has no iSCSI parameter and names no iSCSI target" : "names no iSCSI target")
                    + noTable,
                expected:
                    "iscsi=iscsi://<host>/<target name>, netroot=iscsi:<root path>, rd.iscsi.firmware=1 with an iBFT, or netroot=dhcp"
            )
        }
        try Self.checkSessionCount(targets)
        // A LUN 0 the firmware booted from is known to be a disk; one typed by a person may not be.
        for target in targets where target.lun.value?.number == 0 {
            if case .firmware = target.lun.source { continue }
            warnings.append(
                PlanWarning(
                    "\(target.name.source)",
                    "LUN 0 of \(target.name.value): on tgt (Linux SCSI target framework) targets LUN 0 is the controller, not a disk; the first disk is LUN 1"
                ))
        }
        let interfaces = try self.interfaces(useFirmwareNICs: targetsFromFirmware)
        try resolveZones(&targets, interfaces: interfaces)
        return BootPlan(
            interfaces: interfaces, nameservers: parameters.nameservers, routes: parameters.routes,
            vlans: parameters.vlans,
            needsNetwork: parameters.needsNetwork ?? Sourced(true, from: .defaultValue), targets: targets,
            targetFromDHCP: targets.isEmpty ? parameters.rootPathFromDHCP : nil,
            targetFromDHCPv6: targets.isEmpty && parameters.rootPathFromDHCP != nil && parameters.rootPathFromDHCPv6,
            initiatorName: try initiatorName(initramfsTools: initramfsTools, interfaces: interfaces),
            root: RootPlan(
                device: parameters.root ?? Sourced(.targetLUN, from: .defaultValue),
                filesystemType: parameters.filesystemType,
                mountOptions: parameters.mountOptions, readOnly: parameters.readOnly,
                initPath: parameters.initPath,
                waitSeconds: parameters.rootWaitSeconds),
            session: parameters.session, onFailure: parameters.onFailure, logLevel: parameters.logLevel,
            multipath: parameters.multipath, testRoute: parameters.testRoute,
            warnings: warnings)
    }

    // MARK: Targets

    /// Targets named on the command line or in the config file, in precedence order.
    private mutating func explicitTargets(initramfsTools: DiscreteTargetSettings)
        throws(BootConfigError) -> [TargetPlan]
    {
        let shared = try sharedCredentials(initramfsTools: initramfsTools)
        var specs: [Sourced<TargetSpec>] = []
        for native in parameters.nativeTargets {
            var spec = native.value.spec
            if let user = native.value.chapUserWithoutSecret {
                spec.credentials = CHAPConfiguration(userName: user, secret: try secret(for: user, parameter: "iscsi="))
            }
            specs.append(Sourced(spec, from: native.source))
        }
        specs += parameters.rootPathTargets
        specs += try parameters.dracut.targets(parameterPrefix: "rd.iscsi.")
        specs += try initramfsTools.targets(parameterPrefix: "iscsi_")
        let dracutGroup = try parameters.dracut.portalGroupTag(parameterPrefix: "rd.iscsi.")
        let initramfsGroup = try initramfsTools.portalGroupTag(parameterPrefix: "iscsi_")
        return specs.map { spec in
            var target = TargetPlan(
                name: Sourced(spec.value.name, from: spec.source),
                portals: [Sourced(spec.value.portal, from: spec.source)],
                lun: Sourced(spec.value.lun, from: spec.value.lun == nil ? .defaultValue : spec.source))
            if let own = spec.value.credentials {
                target.credentials = Sourced(own, from: spec.source)
            } else {
                target.credentials = shared
            }
            target.networkDevice = spec.value.networkDevice
            target.portalGroupTag = dracutGroup ?? initramfsGroup
            return target
        }
    }

    /// Credentials for targets that carry none of their own.
    private func sharedCredentials(initramfsTools: DiscreteTargetSettings) throws(BootConfigError)
        -> Sourced<CHAPConfiguration>?
    {
        if let user = parameters.chapUser {
            var credentials = CHAPConfiguration(userName: user.value, secret: try secret(for: user.value, parameter: "iscsi.chap="))
            if let mutual = parameters.mutualCHAPUser {
                credentials.mutual = CHAPCredentials(
                    userName: mutual.value, secret: try secret(for: mutual.value, parameter: "iscsi.mutual="))
            }
            return Sourced(credentials, from: user.source)
        }
        if let mutual = parameters.mutualCHAPUser {
            throw BootConfigError(
                "iscsi.mutual=", token: mutual.value, problem: "is given without iscsi.chap=",
                expected: "iscsi.chap=<user> too (mutual CHAP authenticates both sides)")
        }
        if let credentials = try parameters.dracut.credentials(parameterPrefix: "rd.iscsi."),
            let source = parameters.dracut.username?.source
        {
            return Sourced(credentials, from: source)
        }
        if let credentials = try initramfsTools.credentials(parameterPrefix: "iscsi_"),
            let source = initramfsTools.username?.source
        {
            return Sourced(credentials, from: source)
        }
        return nil
    }

    private func secret(for user: String, parameter: String) throws(BootConfigError) -> CHAPSecret {
        guard let secret = secrets?.secret(for: user) else {
            let problem =
                secrets == nil
                ? "needs a secret, but \(SecretsFile.path) is missing"
                : "has no secret in \(SecretsFile.path)"
            throw BootConfigError(
                parameter, at: "user", token: user, problem: problem,
                expected: "a line \"\(user) <secret>\" in \(SecretsFile.path) (mode 0600)")
        }
        return secret
    }

    /// The iBFT's targets to use: every one flagged valid, as dracut's `iscsistart -b` logs in
    /// to each; the boot-selected ones first, since the first target holds the root. Without
    /// a boot-selected one none (the firmware booted from no target), unless `rd.iscsi.mp=1`.
    private mutating func firmwareTargets() -> [TargetPlan] {
        guard let firmware else { return [] }
        var result: [TargetPlan] = []
        let valid = firmware.targets.filter { $0.flags.isValid }
        let selected = valid.filter { $0.flags.isBootSelected }
        // A table that booted from none of its targets names no root (unless rd.iscsi.mp=1).
        let used = selected.isEmpty && !parameters.firmwareMultipath ? [] : selected + valid.filter { !$0.flags.isBootSelected }
        for target in used {
            let field = "target\(target.index)"
            guard let name = target.name, let address = target.address,
                ISCSIName.ruleBroken(by: name) == nil
            else {
                warnings.append(
                    PlanWarning("iBFT \(field)", "has no valid target name or address; skipped"))
                continue
            }
            var plan = TargetPlan(
                name: Sourced(name, from: .firmware("\(field) target-name")),
                portals: [
                    Sourced(
                        Portal(
                            host: address.description,
                            port: target.port == 0 ? Portal.defaultPort : target.port),
                        from: .firmware("\(field) ip-addr:port"))
                ],
                lun: Sourced(target.lun, from: .firmware("\(field) lun")))
            if target.chapType != .none, let chapName = target.chapName,
                let chapSecret = target.chapSecret
            {
                var credentials = CHAPConfiguration(userName: chapName, secret: chapSecret)
                if target.chapType == .mutual, let reverseName = target.reverseCHAPName,
                    let reverseSecret = target.reverseCHAPSecret
                {
                    credentials.mutual = CHAPCredentials(userName: reverseName, secret: reverseSecret)
                }
                plan.credentials = Sourced(credentials, from: .firmware("\(field) chap"))
            }
            result.append(plan)
        }
        return result
    }

    /// One entry per target name, with the portals of every mention in order.
    private mutating func merge(_ targets: [TargetPlan]) -> [TargetPlan] {
        var merged: [TargetPlan] = []
        for target in targets {
            guard let existing = merged.firstIndex(where: { $0.name.value == target.name.value }) else {
                merged.append(target)
                continue
            }
            for portal in target.portals
            where !merged[existing].portals.contains(where: { $0.value == portal.value }) {
                merged[existing].portals.append(portal)
            }
            if target.lun.value != nil, target.lun.value != merged[existing].lun.value {
                warnings.append(
                    PlanWarning(
                        "\(target.lun.source)",
                        "LUN \(target.lun.value.map { "\($0)" } ?? "") of \(target.name.value) differs from the LUN given first (\(merged[existing].lun.value.map { "\($0)" } ?? "first disk")); the first is used"
                    ))
            }
        }
        return merged
    }

    // MARK: Network

    private mutating func interfaces(useFirmwareNICs: Bool) throws(BootConfigError) -> [InterfacePlan] {
        var interfaces: [InterfacePlan] = []
        var firmwareNICsAdded = false
        for ip in parameters.ipParameters {
            if ip.method == .firmware {
                if !firmwareNICsAdded { interfaces += firmwareInterfaces(requestedBy: "ip=ibft") }
                firmwareNICsAdded = true
                continue
            }
            interfaces.append(interface(from: ip))
            if let other = ip.otherFamilyMethod {
                // `ip=dhcp,auto6`: the second family on the same NIC, nothing else of the first's.
                var second = interface(from: ip)
                second.method = other
                second.address = nil
                second.prefixLength = nil
                second.gateway = nil
                second.dns = []
                interfaces.append(second)
            }
        }
        try BootPlan.checkOneConfigurationPerFamily(interfaces)
        if let request = parameters.firmwareNetwork, !firmwareNICsAdded {
            interfaces += firmwareInterfaces(requestedBy: request.description)
        } else if interfaces.isEmpty, useFirmwareNICs {
            interfaces = firmwareInterfaces(requestedBy: "iBFT targets")
        }
        if interfaces.isEmpty {
            interfaces = [
                InterfacePlan(
                    source: .defaultValue, device: parameters.bootDevice?.value,
                    // dracut: netroot=dhcp6 (or root=dhcp6) without ip= asks DHCPv6.
                    mac: parameters.bootInterfaceMAC, method: parameters.rootPathFromDHCPv6 ? .dhcp6 : .dhcp)
            ]
        }
        for index in interfaces.indices {
            if let device = interfaces[index].device, interfaces[index].mac == nil,
                let named = parameters.interfaceNames.first(where: { $0.name == device })
            {
                interfaces[index].mac = Sourced(named.mac, from: .commandLine("ifname="))
            }
            checkGateway(interfaces[index])
        }
        return interfaces
    }

    private func interface(from ip: IPParameter) -> InterfacePlan {
        var plan = InterfacePlan(
            source: .commandLine("ip="), device: ip.device ?? parameters.bootDevice?.value,
            mac: ip.mac.map { Sourced($0, from: .commandLine("ip=")) }
                ?? (ip.device == nil ? parameters.bootInterfaceMAC : nil), method: ip.method)
        plan.address = ip.address
        plan.prefixLength = ip.prefixLength
        plan.gateway = ip.gateway
        plan.hostname = ip.hostname
        plan.mtu = ip.mtu
        plan.dns = ip.dns
        return plan
    }

    /// The iBFT's NICs as dracut's `ibft_to_cmdline` turns them into `ip=`: DHCP when the
    /// firmware got the address by DHCP, else the static address, gateway and DNS it used.
    private mutating func firmwareInterfaces(requestedBy request: String) -> [InterfacePlan] {
        let nics =
            firmware?.nics.filter {
                $0.flags.isValid && ($0.flags.isBootSelected || parameters.firmwareMultipath)
            } ?? []
        if nics.isEmpty {
            warnings.append(
                PlanWarning(
                    request, "asks for the iBFT's NICs, but the iBFT has no usable (valid, boot-selected) NIC"
                ))
        }
        return nics.map { nic in
            let source = ValueSource.firmware("ethernet\(nic.index)")
            let method: AddressMethod =
                nic.origin == .dhcp ? (nic.address?.isIPv6 == true ? .dhcp6 : .dhcp) : .static
            var plan = InterfacePlan(
                source: source, mac: Sourced(nic.mac, from: .firmware("ethernet\(nic.index) mac")),
                method: method)
            if method == .static {
                plan.address = nic.address
                plan.prefixLength = nic.prefixLength
                plan.gateway = nic.gateway
                plan.dns = [nic.primaryDNS, nic.secondaryDNS].compactMap { $0 }
            }
            plan.hostname = nic.hostname
            plan.vlan = nic.vlan == 0 ? nil : nic.vlan
            return plan
        }
    }

    private mutating func checkGateway(_ interface: InterfacePlan) {
        guard interface.method == .static, let address = interface.address,
            let gateway = interface.gateway, let prefix = interface.prefixLength
        else { return }
        if !address.sharesNetwork(with: gateway, prefixLength: prefix) {
            warnings.append(
                PlanWarning(
                    "\(interface.source)",
                    "gateway \(gateway) is outside the subnet \(address)/\(prefix); the route to it may not work"
                ))
        }
    }

    // MARK: Link-local portals

    /// A link-local portal is reachable only through one interface, which its zone names.
    /// Without a zone it takes the name of the only interface the plan brings up (an iBFT
    /// target: its NIC's, named at boot when the NIC is known by MAC only); a zone naming an
    /// interface the plan does not configure is only warned about, since it may exist at boot.
    private mutating func resolveZones(_ targets: inout [TargetPlan], interfaces: [InterfacePlan])
        throws(BootConfigError)
    {
        let names = interfaces.compactMap { $0.device } + parameters.vlans.map { $0.value.name }
        for targetIndex in targets.indices {
            for portalIndex in targets[targetIndex].portals.indices {
                let portal = targets[targetIndex].portals[portalIndex]
                guard let address = portal.value.linkLocalAddress else { continue }
                if let zone = address.zone {
                    if !names.contains(zone), UInt32(zone) == nil {
                        warnings.append(
                            PlanWarning(
                                "\(portal.source)",
                                "the zone of \(portal.value) names interface \(zone), which the plan does not configure (it configures \(Self.describe(interfaces))); the login goes through \(zone) only if it exists and is up at boot"
                            ))
                    }
                    continue
                }
                if case .firmware = portal.source {
                    // The iBFT ties the target to a NIC (by index) that it names by MAC only:
                    // the boot puts the configured interface's name in as the zone.
                    continue
                }
                guard interfaces.count == 1, let device = interfaces[0].device else {
                    throw BootConfigError(
                        Self.parameterName(portal.source), at: "server", token: "[\(address)]",
                        problem: interfaces.count == 1
                            ? "is link-local without a zone, and the interface the plan brings up (\(Self.describe(interfaces))) has no name to take as its zone"
                            : "is link-local without a zone, and the plan brings up \(interfaces.count) interfaces (\(Self.describe(interfaces)))",
                        expected:
                            "the interface as the zone, e.g. [\(address)%\(names.first ?? "eth0")], or a single ip=<interface>:… to take it from"
                    )
                }
                targets[targetIndex].portals[portalIndex].value.host = address.withZone(device).description
            }
        }
    }

    /// The plan's interfaces for a message: names, else MACs, else how the boot finds one.
    private static func describe(_ interfaces: [InterfacePlan]) -> String {
        interfaces.map { $0.device ?? $0.mac.map { "the NIC with MAC \($0.value)" } ?? "the first interface with carrier" }
            .joined(separator: ", ")
    }

    /// The parameter as written, for an error about a value from `source`.
    /// Every path is a session in hook mode, and every session a pinned process (about 2 MB
    /// resident): a configuration that names more paths than `BootPlan.maximumSessions` is
    /// refused at the first one too many, rather than pinning memory for each.
    private static func checkSessionCount(_ targets: [TargetPlan]) throws(BootConfigError) {
        var paths = 0
        for target in targets {
            for portal in target.portals {
                paths += 1
                guard paths > BootPlan.maximumSessions else { continue }
                throw BootConfigError(
                    parameterName(portal.source), token: "\(target.name.value) at \(portal.value)",
                    problem: "is path \(paths) of the boot (every portal of every target is a session)",
                    expected: "at most \(BootPlan.maximumSessions) in all: each session is a pinned process of about 2 MB")
            }
        }
    }

    private static func parameterName(_ source: ValueSource) -> String {
        if case .commandLine(let parameter) = source { return parameter }
        return "\(source)"
    }

    // MARK: Initiator

    private func initiatorName(initramfsTools: DiscreteTargetSettings, interfaces: [InterfacePlan])
        throws(BootConfigError) -> Sourced<InitiatorName>
    {
        let candidates: [(Sourced<String>?, String)] = [
            (parameters.nativeInitiator, "iscsi.initiator="),
            (parameters.dracut.initiator, "rd.iscsi.initiator="),
            (initramfsTools.initiator, "iscsi_initiator="),
        ]
        for case (let name?, let parameter) in candidates {
            if let rule = ISCSIName.ruleBroken(by: name.value) {
                throw BootConfigError(
                    parameter, token: name.value, problem: "is not an iSCSI name: \(rule)",
                    expected: ISCSIName.expectedForms)
            }
            return Sourced(.named(name.value), from: name.source)
        }
        if let name = firmware?.initiator?.name, ISCSIName.ruleBroken(by: name) == nil {
            return Sourced(.named(name), from: .firmware("initiator initiator-name"))
        }
        if let mac = interfaces.first?.mac?.value {
            return Sourced(
                .named(ISCSIName.generatedInitiatorName(for: mac)), from: .generated("from MAC \(mac)"))
        }
        return Sourced(.generatedFromBootInterface, from: .generated("from the boot NIC's MAC"))
    }
}
