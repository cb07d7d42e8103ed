import Testing

@testable import BootConfig

/// One NIC with an IPv4 and an IPv6 configuration: two `ip=` for one device, or dracut's list
/// of methods in one `ip=` (network-legacy's parse-ip-opts.sh and ifup.sh split it on commas).
@Suite struct DualStackTests {
    static let target = "iscsi=iscsi://[fd00:10:2::2]/iqn.2024-01.a:t/1 iscsi=iscsi://10.0.2.2/iqn.2024-01.a:t/1"

    @Test func twoStaticAddressesOnOneNIC() throws {
        let result = try plan(
            "ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:none ip=[fd00:10:2::15]::[fd00:10:2::2]:64::eth0:none "
                + Self.target)
        #expect(result.interfaces.map(\.device) == ["eth0", "eth0"])
        let other = try #require(result.bootInterfaceOtherFamily)
        #expect(other.address?.description == "fd00:10:2::15")
        #expect(other.prefixLength == 64)
        #expect(other.gateway?.description == "fd00:10:2::2")
        #expect(result.targets.count == 1)
        #expect(result.targets[0].portals.map(\.value.description) == ["[fd00:10:2::2]:3260", "10.0.2.2:3260"])
        // `plan`: one interface holding both addresses and both gateways.
        let network = result.text.split(separator: "\n").prefix { $0 != "iscsi:" }.map { String($0) }
        #expect(network.filter { $0.hasPrefix("  interface ") }.count == 1, "\(network)")
        #expect(network.filter { $0.contains("  address ") }.count == 2, "\(network)")
        #expect(network.contains { $0.contains("10.0.2.15/24 (static)") }, "\(network)")
        #expect(network.contains { $0.contains("fd00:10:2::15/64 (static)") }, "\(network)")
        #expect(network.filter { $0.contains("  gateway ") }.count == 2, "\(network)")
        #expect(result.warnings.isEmpty, "\(result.warnings)")
    }

    /// The other family's configuration is found for the boot NIC only, and the first-listed
    /// family stays the first (its address in the log line first).
    @Test(
        arguments: [
            ("ip=[fd00::15]::[fd00::2]:64::eth0:none ip=10.0.2.15::10.0.2.2:24::eth0:none", AddressMethod.static, "10.0.2.15"),
            ("ip=eth0:dhcp ip=eth0:auto6", .auto6, nil),
            ("ip=dhcp ip=dhcp6", .dhcp6, nil),
            ("ip=eth0:dhcp6 ip=eth0:dhcp", .dhcp, nil),
        ] as [(String, AddressMethod, String?)])
    func otherFamilyOfTheBootNIC(commandLine: String, method: AddressMethod, address: String?) throws {
        let result = try plan(commandLine + " " + Self.target)
        let other = try #require(result.bootInterfaceOtherFamily)
        #expect(other.method == method)
        #expect(other.address?.description == address)
    }

    @Test(arguments: [
        "ip=eth0:dhcp ip=eth1:auto6",
        "ip=eth0:dhcp",
        "ip=10.0.2.15::10.0.2.2:24::eth0:none ip=eth1:dhcp",
    ])
    func noOtherFamily(commandLine: String) throws {
        #expect(try plan(commandLine + " " + Self.target).bootInterfaceOtherFamily == nil)
    }

    /// The NICs after the boot interface (another path's), each once, with its own other family.
    @Test func otherNICsAndTheirFamilies() throws {
        let result = try plan(
            "ip=10.0.2.15::10.0.2.2:24::eth0:none ip=[fd00::15]::[fd00::2]:64::eth0:none ip=10.0.3.15:::24::eth1:none "
                + "ip=[fd00:3::15]:::64::eth1:none ip=eth2:dhcp " + Self.target)
        #expect(result.otherNICs.map(\.device) == ["eth1", "eth2"])
        #expect(result.otherNICs.map(\.address?.description) == ["10.0.3.15", nil])
        #expect(result.otherFamily(of: result.otherNICs[0])?.address?.description == "fd00:3::15")
        #expect(result.otherFamily(of: result.otherNICs[1]) == nil)
        #expect(try plan("ip=eth0:dhcp ip=eth0:auto6 " + Self.target).otherNICs.isEmpty)
    }

    /// dracut's lists: one word alone or the seventh field, each word checked as
    /// parse-ip-opts.sh does, one IPv4 and one IPv6 method; the static one comes first.
    @Test(
        arguments: [
            ("dhcp,dhcp6", nil, AddressMethod.dhcp, AddressMethod.dhcp6, nil),
            ("dhcp,auto6", nil, .dhcp, .auto6, nil),
            ("auto6,dhcp", nil, .auto6, .dhcp, nil),
            ("on,either6", nil, .dhcp, .either6, nil),
            ("any,dhcp6", nil, .dhcp, .dhcp6, nil),
            (":::::eth0:dhcp,dhcp6", "eth0", .dhcp, .dhcp6, nil),
            (":::::eth0:dhcp6,dhcp:9000", "eth0", .dhcp6, .dhcp, nil),
            ("10.0.2.15::10.0.2.2:255.255.255.0::eth0:none,auto6", "eth0", .static, .auto6, "10.0.2.15"),
            ("10.0.2.15::10.0.2.2:24::eth0:either6,off", "eth0", .static, .either6, "10.0.2.15"),
        ] as [(String, String?, AddressMethod, AddressMethod, String?)])
    func methodLists(text: String, device: String?, first: AddressMethod, second: AddressMethod, address: String?)
        throws
    {
        var warnings: [PlanWarning] = []
        let ip = try IPParameter.parse(text, warnings: &warnings)
        #expect(ip.device == device)
        #expect(ip.method == first)
        #expect(ip.otherFamilyMethod == second)
        #expect(ip.address?.description == address)
        #expect(warnings.isEmpty)
    }

    /// A list becomes two interface configurations on the same NIC; the second carries
    /// none of the first's address, gateway or DNS.
    @Test func listInThePlan() throws {
        let result = try plan("ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:none,auto6 " + Self.target)
        #expect(result.interfaces.map(\.method) == [.static, .auto6])
        #expect(result.interfaces.map(\.device) == ["eth0", "eth0"])
        let other = try #require(result.bootInterfaceOtherFamily)
        #expect(other.address == nil && other.gateway == nil && other.dns.isEmpty)
        let dhcp = try plan("ip=dhcp,dhcp6 netroot=dhcp6 root=LABEL=root")
        #expect(dhcp.interfaces.map(\.method) == [.dhcp, .dhcp6])
        #expect(dhcp.bootInterfaceOtherFamily?.method == .dhcp6)
        // The plan as a command line (two ip= for the NIC) resolves to the same interfaces.
        let again = try plan(dhcp.commandLine)
        #expect(again.interfaces.map(\.method) == [.dhcp, .dhcp6])
        #expect(again.targetFromDHCPv6)
    }

    /// What dracut's network-legacy dies on, and what would configure one family twice: exit 2
    /// (a `BootConfigError`) with the rule.
    @Test(arguments: [
        (
            "ip=eth0:dhcp,dhcp6",
            "ip=: field 2 \"dhcp,dhcp6\" is a list of methods after a device name, which dracut does not read (expected the list in the seventh field, ip=:::::eth0:dhcp,dhcp6, or alone, ip=dhcp,dhcp6)"
        ),
        ("ip=dhcp,auto6,dhcp6", "ip=: field 1 \"dhcp,auto6,dhcp6\" is a list of 3 methods"),
        ("ip=dhcp,dhcp", "ip=: field 1 \"dhcp,dhcp\" configures IPv4 twice"),
        ("ip=auto6,dhcp6", "ip=: field 1 \"auto6,dhcp6\" configures IPv6 twice"),
        ("ip=dhcp,ibft", "ip=: field 1 \"dhcp,ibft\" has \"ibft\", which cannot be part of a list"),
        ("ip=dhcp,bootp", "ip=: field 1 \"dhcp,bootp\" has \"bootp\", which cannot be part of a list"),
        ("ip=dhcp,", "ip=: field 1 \"dhcp,\" has \"\", which cannot be part of a list"),
        ("ip=dhcp,foo", "ip=: field 1 \"dhcp,foo\" has \"foo\", which cannot be part of a list"),
        ("ip=none,dhcp6", "ip=: field 1 \"none,dhcp6\" has \"none\" without a client address and netmask"),
        (
            "ip=10.0.2.15::10.0.2.2:::eth0:none,auto6",
            "ip=: field 7 \"none,auto6\" has \"none\" without a client address and netmask"
        ),
        (
            "ip=10.0.2.15::10.0.2.2:24::eth0:none,dhcp6",
            "ip=: field 1 \"10.0.2.15\" is a client address beside \"dhcp6\", which takes its address from the server"
        ),
        ("ip=[fd00::15]::[fd00::2]:64::eth0:none,auto6", "ip=: field 7 \"none,auto6\" configures IPv6 twice"),
        (
            "ip=10.0.2.15::10.0.2.2:24::eth0:none ip=10.0.2.16::10.0.2.2:24::eth0:none",
            "ip=: \"10.0.2.16::10.0.2.2:24::eth0:none\" configures IPv4 on eth0 a second time (after ip=10.0.2.15::10.0.2.2:24::eth0:none)"
        ),
        ("ip=eth0:auto6 ip=eth0:dhcp6", "ip=: \"eth0:dhcp6\" configures IPv6 on eth0 a second time (after ip=eth0:auto6)"),
        ("ip=dhcp ip=dhcp", "ip=: \"dhcp\" configures IPv4 on the boot interface a second time (after ip=dhcp)"),
        ("ip=dhcp,auto6 ip=dhcp6", "ip=: \"dhcp6\" configures IPv6 on the boot interface a second time (after ip=auto6)"),
    ])
    func refused(commandLine: String, prefix: String) {
        do {
            _ = try plan(commandLine + " " + Self.target)
            Issue.record("accepted \(commandLine)")
        } catch {
            #expect("\(error)".hasPrefix(prefix), "\(error)")
        }
    }

    /// netroot=dhcp6 / root=dhcp6: the root path is DHCPv6's boot-file URL (RFC 5970, option
    /// 59), not DHCPv4's option 17, in `plan`, its JSON and its command line.
    @Test(arguments: ["netroot=dhcp6", "root=dhcp6", "ip=dhcp6 netroot=dhcp6", "ip=dhcp,dhcp6 netroot=dhcp6"])
    func dhcp6RootPath(commandLine: String) throws {
        let result = try plan(commandLine + " root=LABEL=root")
        #expect(result.targetFromDHCPv6)
        let target = try #require(result.text.split(separator: "\n").first { $0.hasPrefix("  target  ") })
        #expect(target.contains("DHCPv6 boot-file URL (option 59, RFC 5970)"), "\(target)")
        #expect(!target.contains("option 17"), "\(target)")
        #expect(result.json.contains("\"targetFromDHCPv6\": true"))
        #expect(result.commandLine.split(separator: " ").contains("netroot=dhcp6"))
    }

    @Test func dhcpRootPathIsOption17() throws {
        let result = try plan("netroot=dhcp ip=dhcp root=LABEL=root")
        #expect(!result.targetFromDHCPv6)
        let target = try #require(result.text.split(separator: "\n").first { $0.hasPrefix("  target  ") })
        #expect(target.contains("DHCP option 17"), "\(target)")
        #expect(result.commandLine.split(separator: " ").contains("netroot=dhcp"))
    }
}
