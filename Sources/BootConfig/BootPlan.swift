import ISCSI

/// The one answer to "where is my root and how do I get there", resolved from the kernel
/// command line, the initramfs-tools config file, the secrets file and the iBFT. The boot
/// agent reads only this; every value says where it came from.
public struct BootPlan: Sendable, Equatable {
    /// The interfaces to configure, in order; the first is the boot interface.
    public var interfaces: [InterfacePlan]
    public var nameservers: [Sourced<IPAddress>]
    public var routes: [Sourced<StaticRoute>]
    public var vlans: [Sourced<VLANDevice>]
    /// Whether to bring the network up even without a target yet (`rd.neednet=1`).
    public var needsNetwork: Sourced<Bool>
    /// The targets to log in to, in order: every one is logged in (`sessions`); the root is
    /// on the first.
    public var targets: [TargetPlan]
    /// Set when the root path is to come from DHCP (`netroot=dhcp`: option 17): the agent
    /// parses it with `RootPath.parse` once DHCP has answered.
    public var targetFromDHCP: ValueSource?
    /// With `targetFromDHCP`: the root path comes from DHCPv6, the boot-file URL of RFC 5970
    /// (option 59), not DHCPv4's option 17 (`netroot=dhcp6`, `root=dhcp6`).
    public var targetFromDHCPv6 = false
    public var initiatorName: Sourced<InitiatorName>
    public var root: RootPlan
    public var session: SessionSettings
    public var onFailure: Sourced<FailureAction>
    public var logLevel: Sourced<LogLevel>
    /// `iscsi.multipath=`: whether `/init` maps the root target's paths (`multipathRoot`).
    public var multipath = Sourced(MultipathMode.on, from: .defaultValue)
    /// Whether to check that a route to each portal exists before logging in (`rd.iscsi.testroute`).
    public var testRoute: Sourced<Bool>
    /// Legal but suspicious input, for `plan` and the boot log.
    public var warnings: [PlanWarning]
}

/// How to configure one network interface.
public struct InterfacePlan: Sendable, Equatable {
    /// Where the address configuration came from (`ip=`, an iBFT NIC, the default).
    public var source: ValueSource
    /// The kernel name; nil means the interface with `mac`, or else the first with a link.
    public var device: String?
    /// The NIC's hardware address, when known (`ifname=`, `BOOTIF=`, `ip=...:mac`, iBFT).
    public var mac: Sourced<MACAddress>?
    public var method: AddressMethod
    public var address: IPAddress?
    public var prefixLength: UInt8?
    public var gateway: IPAddress?
    public var hostname: String?
    public var mtu: UInt16?
    public var dns: [IPAddress]
    /// The 802.1Q VLAN id to put the address on (from the iBFT NIC); nil or 0 means none.
    public var vlan: UInt16?

    public init(
        source: ValueSource, device: String? = nil, mac: Sourced<MACAddress>? = nil,
        method: AddressMethod
    ) {
        self.source = source
        self.device = device
        self.mac = mac
        self.method = method
        self.dns = []
    }
}

/// One session the boot opens. `/init` opens one per target, reached through the target's
/// portals (tried in order; the first that answers carries the session, recovery walks them).
/// Hook mode opens one per portal, a path each (`BootPlan.hookSessions`). The boot waits only
/// for the session that holds the root; the others log in alongside, in processes of their
/// own, and keep trying in the background until their target answers.
public struct SessionPlan: Sendable, Equatable {
    /// Index into `BootPlan.targets`.
    public var target: Int
    /// Index into the target's portals: the one portal this session is bound to; nil: all of them.
    public var portal: Int?
    /// Whether the boot waits for this session: the one that can hold the root (of a root
    /// target's paths, the first that answers).
    public var holdsRoot: Bool

    public init(target: Int, portal: Int? = nil, holdsRoot: Bool) {
        self.target = target
        self.portal = portal
        self.holdsRoot = holdsRoot
    }
}

extension BootPlan {
    /// The most paths (portals of all targets) a boot accepts: SAN boots use 2 to 8, and
    /// each session costs a pinned process.
    public static let maximumSessions = 16

    /// The sessions `/init` opens, in command-line order (the preference): every target the
    /// configuration names is logged in, as dracut logs in to every `netroot=` and every iBFT
    /// target flagged valid. The first holds the root; the boot goes on as soon as it is up.
    /// With `multipathRoot` each of the root target's portals is a path of its own, as in
    /// `hookSessions`.
    public var sessions: [SessionPlan] {
        targets.indices.flatMap { target in
            target == 0 && multipathRoot
                ? targets[0].portals.indices.map { SessionPlan(target: 0, portal: $0, holdsRoot: true) }
                : [SessionPlan(target: target, holdsRoot: target == 0)]
        }
    }

    /// Whether `/init` builds a dm-multipath map over the root target's paths and mounts the
    /// root from it: `iscsi.multipath=on` (the default) and two or more portals. Hook mode
    /// never does: the framework's multipath owns the map there.
    public var multipathRoot: Bool {
        multipath.value == .on && (targets.first?.portals.count ?? 0) >= 2
    }

    /// The replacement timeout of a path of the root's map, set once the path is in the map:
    /// 0 s unless `iscsi.replacement_timeout=` says otherwise. I/O caught in a broken path's
    /// session goes back to the map the moment the kernel blocks the session, and from there
    /// to another path (a single-path root waits the whole `session.replacementTimeout`
    /// instead); with no path left the map itself queues it. A path outside the map keeps
    /// `session.replacementTimeout`.
    public var pathReplacementTimeout: Sourced<Int> {
        session.replacementTimeout.source == .defaultValue
            ? Sourced(Self.multipathReplacementTimeoutSeconds, from: .defaultValue) : session.replacementTimeout
    }

    /// See `pathReplacementTimeout`.
    public static let multipathReplacementTimeoutSeconds = 0

    /// The NOP-Out interval and timeout of a path of the root's map: 1 s and 2 s unless
    /// `iscsi.noop=` says otherwise. A path that goes silent (a cable pulled, a switch port
    /// down: no reset) is failed in the map about 3 s after its last answer instead of 9 s;
    /// a path noticed too eagerly costs a re-login while the other paths carry the I/O, and
    /// one that keeps failing is held failed (`PathPolicy`).
    public var pathNoop: (interval: Int, timeout: Int) {
        session.noopInterval.source == .defaultValue && session.noopTimeout.source == .defaultValue
            ? (Self.multipathNoopIntervalSeconds, Self.multipathNoopTimeoutSeconds)
            : (session.noopInterval.value, session.noopTimeout.value)
    }

    /// See `pathNoop`.
    public static let multipathNoopIntervalSeconds = 1
    public static let multipathNoopTimeoutSeconds = 2

    /// The sessions hook mode opens: one per portal of every target, as the frameworks' own
    /// iSCSI modules log in (dracut a session per `netroot=`, open-iscsi's initramfs script
    /// one per address of `ISCSI_TARGET_IP`, `iscsistart -b` one per iBFT target), so that
    /// their multipath, md and LVM find every path. Of the root target's portals the first
    /// that answers carries the root's session, the others join once it is up.
    public var hookSessions: [SessionPlan] {
        targets.indices.flatMap { target in
            targets[target].portals.indices.map { SessionPlan(target: target, portal: $0, holdsRoot: target == 0) }
        }
    }
}

/// One target and the portals that lead to it: its paths (tried in order by `/init`'s one
/// session, a session each in hook mode).
public struct TargetPlan: Sendable, Equatable {
    public var name: Sourced<String>
    public var portals: [Sourced<Portal>]
    /// nil value: the first LUN the target reports that is a disk.
    public var lun: Sourced<LogicalUnit?>
    public var credentials: Sourced<CHAPConfiguration>?
    public var portalGroupTag: Sourced<UInt16>?
    /// The interface to reach the target through, if a grammar named one.
    public var networkDevice: String?

    public init(
        name: Sourced<String>, portals: [Sourced<Portal>], lun: Sourced<LogicalUnit?>
    ) {
        self.name = name
        self.portals = portals
        self.lun = lun
    }
}

/// The initiator's iSCSI name.
public enum InitiatorName: Sendable, Equatable, CustomStringConvertible {
    case named(String)
    /// Not given anywhere and no MAC known yet: the agent generates it from the boot NIC's MAC
    /// with `ISCSIName.generatedInitiatorName(for:)` once the NIC is chosen.
    case generatedFromBootInterface

    public var description: String {
        switch self {
        case .named(let name): name
        case .generatedFromBootInterface: "(generated from the boot NIC's MAC address)"
        }
    }
}

/// How the root filesystem is found and mounted.
public struct RootPlan: Sendable, Equatable {
    public var device: Sourced<RootDevice>
    public var filesystemType: Sourced<String>?
    public var mountOptions: Sourced<String>?
    public var readOnly: Sourced<Bool>
    /// The init to execute in the new root (`init=`); nil means the distribution's default.
    public var initPath: Sourced<String>?
    /// Seconds to wait for the root device after login (`rd.retry=`).
    public var waitSeconds: Sourced<Int>
}

extension TargetPlan {
    /// The target reached through its portal `index` alone: one path's session.
    public func path(_ index: Int) -> TargetPlan {
        var target = self
        target.portals = [portals[index]]
        return target
    }

    /// The target a DHCP root path (option 17, an RFC 4173 path) names, for `netroot=dhcp`:
    /// known only once DHCP has answered.
    public init(dhcpRootPath text: String) throws(BootConfigError) {
        let spec = try RootPath.parse(text, parameter: "DHCP option 17")
        let source = ValueSource.generated("DHCP option 17")
        self.init(
            name: Sourced(spec.name, from: source), portals: [Sourced(spec.portal, from: source)], lun: Sourced(spec.lun, from: source))
        credentials = spec.credentials.map { Sourced($0, from: source) }
        networkDevice = spec.networkDevice
    }
}

extension TargetPlan {
    /// The target with `interface` as the zone of each link-local portal that has none (an
    /// iBFT target's, whose NIC the plan knows by MAC only): the boot calls this with the
    /// interface it configured, the only link such a portal can be on.
    public func reachingLinkLocalPortals(through interface: String) -> TargetPlan {
        var target = self
        for index in target.portals.indices {
            if let address = target.portals[index].value.linkLocalAddress, address.zone == nil {
                target.portals[index].value.host = address.withZone(interface).description
            }
        }
        return target
    }
}
