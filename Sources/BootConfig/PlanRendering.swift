import ISCSI
import Reports

/// The plan for people (`plan`), for programs (`plan --json`), and back as a kernel command
/// line (dracut's grammar, with `iscsi=`/`iscsi.*` where dracut has no word). CHAP secrets
/// appear in none of them.
extension BootPlan {
    /// What a person reads to check the boot: interface, address, target, LUN, root, and the
    /// source of each value.
    public var text: String {
        var lines: [String] = []
        func line(_ label: String, _ value: String, _ source: ValueSource?) {
            lines.append("  " + label.padded(to: 16) + value + (source.map { "    [\($0)]" } ?? ""))
        }
        lines.append("network:")
        var number = 0
        for (index, interface) in interfaces.enumerated() {
            let device =
                interface.device
                ?? (interface.mac.map { "the NIC with MAC \($0.value)" }
                    ?? "the first interface with a link")
            // Dual stack: the other family's address goes under the same interface.
            let sameNIC = interfaces[..<index].contains {
                $0.isSameNIC(as: interface) && $0.givesIPv6 != nil && interface.givesIPv6 != nil
                    && $0.givesIPv6 != interface.givesIPv6
            }
            if !sameNIC {
                line("interface \(number)", device, interface.mac?.source ?? interface.source)
                number += 1
            }
            line("  address", interface.addressSummary, interface.source)
            if let gateway = interface.gateway {
                line("  gateway", gateway.description, interface.source)
            }
            if !interface.dns.isEmpty {
                line("  dns", interface.dns.map({ $0.description }).joined(separator: ", "), interface.source)
            }
            if let vlan = interface.vlan { line("  vlan", String(vlan), interface.source) }
            if let mtu = interface.mtu { line("  mtu", String(mtu), interface.source) }
            if let hostname = interface.hostname { line("  hostname", hostname, interface.source) }
        }
        for nameserver in nameservers {
            line("nameserver", nameserver.value.description, nameserver.source)
        }
        for route in routes { line("route", route.value.description, route.source) }
        for vlan in vlans { line("vlan", vlan.value.description, vlan.source) }
        lines.append("iscsi:")
        line("initiator", initiatorName.value.description, initiatorName.source)
        if let dhcp = targetFromDHCP {
            line(
                "target",
                targetFromDHCPv6
                    ? "from the DHCPv6 boot-file URL (option 59, RFC 5970) when it names an iscsi: root, once DHCPv6 answers"
                    : "from DHCP option 17 (root path), once DHCP answers", dhcp)
        }
        for (index, target) in targets.enumerated() {
            line("target \(index)", target.name.value, target.name.source)
            line(
                "  session",
                index == 0
                    ? "holds the root: the boot waits for it"
                    : "logged in alongside, joins when its target answers; the boot does not wait for it",
                nil)
            if target.portals.count > 1 {
                let initMode =
                    index == 0 && multipathRoot
                    ? "/init: a session per portal, the root on a dm-multipath map over them (iscsi.multipath=off: one session, the portals tried in order)"
                    : "/init: one session, the portals tried in order"
                line(
                    "  paths",
                    initMode + "; hook mode: a session per portal, the framework's multipath maps them"
                        + (index == 0 ? " (the first that answers holds the root)" : ""),
                    index == 0 ? multipath.source : nil)
            }
            for portal in target.portals { line("  portal", portal.value.description, portal.source) }
            line(
                "  LUN", target.lun.value.map { $0.description } ?? "the first LUN that is a disk",
                target.lun.source)
            line(
                "  CHAP", target.credentials.map { $0.value.description } ?? "none",
                target.credentials?.source)
            if let tag = target.portalGroupTag { line("  portal group", String(tag.value), tag.source) }
            if let device = target.networkDevice { line("  via", device, target.name.source) }
        }
        line("replacement", "\(session.replacementTimeout.value) s", session.replacementTimeout.source)
        line(
            "noop", "every \(session.noopInterval.value) s, timeout \(session.noopTimeout.value) s",
            session.noopInterval.source)
        line("login", "timeout \(session.loginTimeout.value) s per attempt", session.loginTimeout.source)
        line(
            "rounds", session.loginRetries.value.map { "\($0) retries" } ?? "until the boot timeout",
            session.loginRetries.source)
        line("boot timeout", "\(session.bootTimeout.value) s of login attempts", session.bootTimeout.source)
        line(
            "shutdown", "within \(session.shutdownTimeout.value) s (unmount, flush, logout)", session.shutdownTimeout.source)
        for (key, value) in session.negotiationOverrides.sorted(by: { $0.key < $1.key }) {
            line(key, value.value, value.source)
        }
        lines.append("root:")
        line("device", root.device.value.description, root.device.source)
        if let type = root.filesystemType { line("type", type.value, type.source) }
        if let options = root.mountOptions { line("options", options.value, options.source) }
        line("mount", root.readOnly.value ? "read-only (ro)" : "read-write (rw)", root.readOnly.source)
        if let initPath = root.initPath { line("init", initPath.value, initPath.source) }
        line("wait", "\(root.waitSeconds.value) s for the root device", root.waitSeconds.source)
        line("on failure", onFailure.value.rawValue, onFailure.source)
        line("log", logLevel.value.rawValue, logLevel.source)
        line(
            "multipath",
            multipathRoot
                ? "on: the root on a dm-multipath map over \(targets[0].portals.count) paths, each with a replacement timeout of \(pathReplacementTimeout.value) s "
                    + "and NOP-Out every \(pathNoop.interval) s (timeout \(pathNoop.timeout) s)"
                : multipath.value == .on ? "on (only one portal to the root's target: no map)" : "off",
            multipath.source)
        if !warnings.isEmpty {
            lines.append("warnings:")
            lines += warnings.map { "  " + $0.description }
        }
        return lines.joined(separator: "\n")
    }

    /// A session of the plan: its target and the portals it may use.
    private func sessionJSON(_ session: SessionPlan) -> JSON {
        let portals = targets[session.target].portals
        return .object([
            ("target", .string(targets[session.target].name.value)),
            ("portals", .array((session.portal.map { [portals[$0]] } ?? portals).map { .string($0.value.description) })),
            ("holdsRoot", .bool(session.holdsRoot)),
        ])
    }

    /// The plan as one JSON object (field names as in `BootPlan`; each value with its source).
    public var json: String {
        func sourced(_ value: JSON, _ source: ValueSource) -> JSON {
            .object([("value", value), ("source", .string(source.description))])
        }
        func optional<Value>(_ value: Sourced<Value>?, _ transform: (Value) -> JSON) -> JSON {
            value.map { sourced(transform($0.value), $0.source) } ?? .null
        }
        let interfaces = self.interfaces.map { interface in
            JSON.object([
                ("source", .string(interface.source.description)),
                ("device", interface.device.map(JSON.string) ?? .null),
                ("mac", optional(interface.mac) { .string($0.description) }),
                ("method", .string(interface.method.rawValue)),
                ("address", interface.address.map { .string($0.description) } ?? .null),
                ("prefixLength", interface.prefixLength.map { .number(Int($0)) } ?? .null),
                ("gateway", interface.gateway.map { .string($0.description) } ?? .null),
                ("hostname", interface.hostname.map(JSON.string) ?? .null),
                ("mtu", interface.mtu.map { .number(Int($0)) } ?? .null),
                ("dns", .array(interface.dns.map { .string($0.description) })),
                ("vlan", interface.vlan.map { .number(Int($0)) } ?? .null),
            ])
        }
        let targets = self.targets.map { target in
            JSON.object([
                ("name", sourced(.string(target.name.value), target.name.source)),
                (
                    "portals",
                    .array(
                        target.portals.map {
                            sourced(
                                .object([("host", .string($0.value.host)), ("port", .number(Int($0.value.port)))]),
                                $0.source)
                        })
                ),
                (
                    "lun",
                    sourced(target.lun.value.map { .string($0.description) } ?? .null, target.lun.source)
                ),
                (
                    "chap",
                    optional(target.credentials) { credentials in
                        .object([
                            ("username", .string(credentials.credentials.userName)), ("secret", .string("(set)")),
                            ("mutualUsername", credentials.mutual.map { .string($0.userName) } ?? .null),
                            ("mutualSecret", credentials.mutual == nil ? .null : .string("(set)")),
                        ])
                    }
                ),
                ("portalGroupTag", optional(target.portalGroupTag) { .number(Int($0)) }),
                ("networkDevice", target.networkDevice.map(JSON.string) ?? .null),
            ])
        }
        let session = JSON.object(
            [
                (
                    "replacementTimeout",
                    sourced(
                        .number(self.session.replacementTimeout.value), self.session.replacementTimeout.source)
                ),
                (
                    "noopInterval",
                    sourced(.number(self.session.noopInterval.value), self.session.noopInterval.source)
                ),
                (
                    "noopTimeout",
                    sourced(.number(self.session.noopTimeout.value), self.session.noopTimeout.source)
                ),
                (
                    "loginTimeout",
                    sourced(.number(self.session.loginTimeout.value), self.session.loginTimeout.source)
                ),
                (
                    "loginRetries",
                    sourced(self.session.loginRetries.value.map { .number($0) } ?? .null, self.session.loginRetries.source)
                ),
                (
                    "bootTimeout",
                    sourced(.number(self.session.bootTimeout.value), self.session.bootTimeout.source)
                ),
                (
                    "shutdownTimeout",
                    sourced(.number(self.session.shutdownTimeout.value), self.session.shutdownTimeout.source)
                ),
            ]
                + self.session.negotiationOverrides.sorted { $0.key < $1.key }.map {
                    ($0.key, sourced(.string($0.value.value), $0.value.source))
                })
        let root = JSON.object([
            (
                "device", sourced(.string(self.root.device.value.commandLineValue), self.root.device.source)
            ),
            ("filesystemType", optional(self.root.filesystemType, JSON.string)),
            ("mountOptions", optional(self.root.mountOptions, JSON.string)),
            ("readOnly", sourced(.bool(self.root.readOnly.value), self.root.readOnly.source)),
            ("init", optional(self.root.initPath, JSON.string)),
            ("waitSeconds", sourced(.number(self.root.waitSeconds.value), self.root.waitSeconds.source)),
        ])
        return JSON.object([
            ("interfaces", .array(interfaces)),
            (
                "nameservers", .array(nameservers.map { sourced(.string($0.value.description), $0.source) })
            ),
            ("routes", .array(routes.map { sourced(.string($0.value.description), $0.source) })),
            (
                "vlans",
                .array(vlans.map { sourced(.string("\($0.value.name):\($0.value.parent)"), $0.source) })
            ),
            ("targets", .array(targets)),
            ("sessions", .array(sessions.map(sessionJSON))),
            ("hookSessions", .array(hookSessions.map(sessionJSON))),
            ("targetFromDHCP", targetFromDHCP.map { .string($0.description) } ?? .null),
            ("targetFromDHCPv6", .bool(targetFromDHCPv6)),
            ("initiatorName", sourced(.string(initiatorName.value.description), initiatorName.source)),
            ("root", root), ("session", session),
            ("onFailure", sourced(.string(onFailure.value.rawValue), onFailure.source)),
            ("log", sourced(.string(logLevel.value.rawValue), logLevel.source)),
            ("multipath", sourced(.string(multipath.value.rawValue), multipath.source)),
            ("multipathRoot", .bool(multipathRoot)),
            ("warnings", .array(warnings.map { .string($0.description) })),
        ]).rendered()
    }

    /// The plan as a kernel command line that resolves to the same plan: dracut's parameters,
    /// and the agent's own where dracut has none (a LUN left to discovery, `iscsi.*`).
    /// CHAP secrets are not written; credentials become `iscsi.chap=<user>` (secrets file).
    public var commandLine: String {
        var words: [String] = []
        for interface in interfaces { words.append("ip=" + interface.ipValue) }
        for interface in interfaces {
            if let device = interface.device, let mac = interface.mac {
                words.append("ifname=\(device):\(mac.value)")
            }
        }
        words += nameservers.map { "nameserver=\($0.value)" } + routes.map { "rd.route=\($0.value)" }
        words += vlans.map { "vlan=\($0.value.name):\($0.value.parent)" }
        for target in targets {
            for portal in target.portals {
                words.append(
                    target.lun.value == nil
                        ? "iscsi=" + ISCSIURL.render(target, portal: portal.value)
                        : "netroot=" + RootPath.render(target, portal: portal.value))
            }
        }
        if targetFromDHCP != nil { words.append(targetFromDHCPv6 ? "netroot=dhcp6" : "netroot=dhcp") }
        if let credentials = targets.first?.credentials?.value {
            words.append("iscsi.chap=\(credentials.credentials.userName)")
            if let mutual = credentials.mutual { words.append("iscsi.mutual=\(mutual.userName)") }
        }
        if case .named(let name) = initiatorName.value, initiatorName.source != .defaultValue {
            words.append("rd.iscsi.initiator=\(name)")
        }
        if root.device.source != .defaultValue {
            words.append("root=\(root.device.value.commandLineValue)")
        }
        if let type = root.filesystemType { words.append("rootfstype=\(type.value)") }
        if let options = root.mountOptions { words.append("rootflags=\(options.value)") }
        words.append(root.readOnly.value ? "ro" : "rw")
        if let initPath = root.initPath { words.append("init=\(initPath.value)") }
        words.append("rd.retry=\(root.waitSeconds.value)")
        words.append("iscsi.replacement_timeout=\(session.replacementTimeout.value)")
        words.append("iscsi.noop=\(session.noopInterval.value),\(session.noopTimeout.value)")
        words.append("iscsi.login_timeout=\(session.loginTimeout.value)")
        if let rounds = session.loginRetries.value { words.append("iscsi.retries=\(rounds)") }
        words.append("iscsi.boot_timeout=\(session.bootTimeout.value)")
        words.append("iscsi.shutdown_timeout=\(session.shutdownTimeout.value)")
        words += session.negotiationOverrides.sorted { $0.key < $1.key }.map {
            "rd.iscsi.param=\($0.key)=\($0.value.value)"
        }
        if !testRoute.value { words.append("rd.iscsi.testroute=0") }
        words.append("iscsi.on_failure=\(onFailure.value.rawValue)")
        words.append("iscsi.log=\(logLevel.value.rawValue)")
        if multipath.value != .on { words.append("iscsi.multipath=\(multipath.value.rawValue)") }
        return words.joined(separator: " ")
    }
}

extension InterfacePlan {
    /// "dhcp", or "192.168.50.101/24" for a static address.
    var addressSummary: String {
        switch method {
        case .static: "\(address?.description ?? "?")/\(prefixLength.map(String.init) ?? "?") (static)"
        default: method.rawValue
        }
    }

    /// The dracut `ip=` value for this interface.
    var ipValue: String {
        let device = self.device ?? ""
        // dracut reads `:<mtu>:<mac>` only after a device name; without one the NIC is chosen at boot.
        let trailer =
            device.isEmpty
            ? ""
            : mac.map { ":\(mtu.map(String.init) ?? ""):\($0.value)" } ?? (mtu.map { ":\($0)" } ?? "")
        guard method == .static else {
            return device.isEmpty && trailer.isEmpty
                ? method.rawValue : "\(device):\(method.rawValue)\(trailer)"
        }
        let fields = [
            address?.bracketed ?? "", "", gateway?.bracketed ?? "", prefixLength.map(String.init) ?? "",
            hostname ?? "", device, "none",
        ]
        let dnsFields = trailer.isEmpty ? dns.prefix(2).map { ":" + $0.bracketed }.joined() : ""
        return fields.joined(separator: ":") + (trailer.isEmpty ? dnsFields : trailer)
    }
}
