import ISCSI
import Testing

@testable import BootConfig

/// Link-local IPv6 portals (`[fe80::2%eth0]`): the grammars that take a zone, and the plan's
/// rules for a zone that is wrong, missing or names an interface the plan does not configure.
@Suite struct LinkLocalPortalTests {
    static let iqn = "iqn.2024-01.example:root1"

    @Test(
        arguments: [
            ("iscsi=iscsi://[fe80::2%eth0]/\(iqn)/1", "[fe80::2%eth0]:3260"),
            ("iscsi=iscsi://[fe80::2%25eth0]:3261/\(iqn)/1", "[fe80::2%eth0]:3261"),
            ("iscsi=iscsi://[FE80:0::2%252]/\(iqn)/1", "[fe80::2%2]:3260"),
            ("iscsi=iscsi:[fe80::2%eth0]::::\(iqn)", "[fe80::2%eth0]:3260"),
            ("netroot=iscsi:[fe80::2%eth0]::3260::\(iqn)", "[fe80::2%eth0]:3260"),
            ("iscsi_target_ip=fe80::2%eth0 iscsi_target_name=\(iqn)", "[fe80::2%eth0]:3260"),
            ("iscsi_target_ip=[fe80::2%eth0] iscsi_target_name=\(iqn)", "[fe80::2%eth0]:3260"),
        ] as [(String, String)])
    func zoneIsKept(parameters: String, portal: String) throws {
        let result = try plan("ip=eth0:link6 \(parameters)")
        #expect(result.targets[0].portals.map(\.value.description) == [portal])
        #expect(result.targets[0].portals[0].value.linkLocalAddress?.zone != nil)
        #expect(!result.warnings.contains { $0.message.contains("zone") })
        #expect(result.text.contains(portal))
    }

    @Test func renderedURLAndRootPathKeepTheZone() throws {
        let result = try plan("ip=eth0:link6 iscsi=iscsi://[fe80::2%eth0]:3261/\(Self.iqn)/1")
        let portal = result.targets[0].portals[0].value
        #expect(ISCSIURL.render(result.targets[0], portal: portal) == "iscsi://[fe80::2%eth0]:3261/\(Self.iqn)/1")
        #expect(RootPath.render(result.targets[0], portal: portal) == "iscsi:[fe80::2%eth0]::3261:1:\(Self.iqn)")
        // What a person reads back parses to the same portal.
        #expect(Portal(parsing: portal.description) == portal)
    }

    @Test func zonelessLinkLocalTakesTheOnlyInterface() throws {
        let result = try plan("ip=eth1:link6 iscsi=iscsi://[fe80::2]/\(Self.iqn)/1")
        #expect(result.targets[0].portals.map(\.value.description) == ["[fe80::2%eth1]:3260"])
        #expect(result.interfaces.map(\.method) == [.link6])
        // link6 is implemented: the plan no longer says the boot asks DHCPv4 instead.
        #expect(!result.warnings.contains { $0.message.contains("DHCPv4") })
    }

    @Test(
        arguments: [
            (
                "ip=eth0:link6 iscsi=iscsi://[2001:db8::2%eth0]/\(iqn)/1",
                "iscsi=: server \"[2001:db8::2%eth0]\" has a zone (%eth0) but is not a link-local address (expected a zone only on a link-local address (fe80::/10), e.g. [fe80::2%eth0]; [2001:db8::2] without %eth0)"
            ),
            (
                "ip=eth0:link6 netroot=iscsi:[fd00::2%eth0]::::\(iqn)",
                "netroot=: server \"[fd00::2%eth0]\" has a zone (%eth0) but is not a link-local address (expected a zone only on a link-local address (fe80::/10), e.g. [fe80::2%eth0]; [fd00::2] without %eth0)"
            ),
            (
                "ip=eth0:link6 iscsi=iscsi://[fe80::2%a/b]/\(iqn)/1",
                "iscsi=: host \"[fe80::2%a\" has no closing ]"
            ),
            (
                "ip=eth0:link6 iscsi=iscsi://[fe80::2%]/\(iqn)/1",
                "iscsi=: server \"[fe80::2%]\" has a zone that is not an interface name"
            ),
            (
                "ip=eth0:link6 iscsi=iscsi://[10.0.0.1%eth0]/\(iqn)/1",
                "iscsi=: server \"[10.0.0.1%eth0]\" is not an IPv6 address with a zone"
            ),
            (
                "ip=eth0:link6 ip=eth1:dhcp iscsi=iscsi://[fe80::2]/\(iqn)/1",
                "iscsi=: server \"[fe80::2]\" is link-local without a zone, and the plan brings up 2 interfaces (eth0, eth1) (expected the interface as the zone, e.g. [fe80::2%eth0], or a single ip=<interface>:… to take it from)"
            ),
            (
                "iscsi=iscsi://[fe80::2]/\(iqn)/1",
                "iscsi=: server \"[fe80::2]\" is link-local without a zone, and the interface the plan brings up (the first interface with carrier) has no name to take as its zone"
            ),
            (
                "BOOTIF=01-52-54-00-12-34-56 netroot=iscsi:[fe80::2]::::\(iqn)",
                "netroot=: server \"[fe80::2]\" is link-local without a zone, and the interface the plan brings up (the NIC with MAC 52:54:00:12:34:56) has no name"
            ),
        ] as [(String, String)])
    func refused(commandLine: String, message: String) {
        do {
            let result = try plan(commandLine)
            Issue.record("accepted \(commandLine): \(result.targets.map(\.portals))")
        } catch let error as BootConfigError {
            #expect(error.description.hasPrefix(message), "\(error.description)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func zoneNamingAnUnconfiguredInterfaceWarns() throws {
        let result = try plan("ip=eth0:link6 iscsi=iscsi://[fe80::2%eth1]/\(Self.iqn)/1")
        #expect(result.targets[0].portals.map(\.value.description) == ["[fe80::2%eth1]:3260"])
        let warning = try #require(result.warnings.first { $0.message.contains("zone") })
        #expect(warning.message.contains("names interface eth1") && warning.message.contains("configures eth0"))
        // A VLAN device the plan creates, and a numeric index, are not warned about.
        let vlan = try plan("vlan=vlan100:eth0 ip=vlan100:link6 iscsi=iscsi://[fe80::2%vlan100]/\(Self.iqn)/1")
        #expect(!vlan.warnings.contains { $0.message.contains("zone") })
        let index = try plan("ip=eth0:link6 iscsi=iscsi://[fe80::2%252]/\(Self.iqn)/1")
        #expect(!index.warnings.contains { $0.message.contains("zone") })
    }

    @Test func addressTypeCarriesTheZone() throws {
        let scoped = try #require(IPv6Address("fe80::2%eth0", allowingZone: true))
        #expect(scoped.zone == "eth0" && scoped.isLinkLocal && scoped.description == "fe80::2%eth0")
        #expect(scoped.withZone(nil) == IPv6Address("fe80::2"))
        #expect(scoped != IPv6Address("fe80::2"))
        // Only where a zone is allowed: an ip= address or a DNS server never takes one.
        #expect(IPv6Address("fe80::2%eth0") == nil && IPAddress("fe80::2%eth0") == nil)
        #expect(IPAddress("[fe80::2%eth0]", allowingZone: true) == .v6(scoped))
        #expect(IPv6Address("fe80::2%0123456789abcdef", allowingZone: true) == nil)
        #expect(IPv6Address("fe80::2%a:b", allowingZone: true) == nil)
        #expect(IPv6Address("febf::1")?.isLinkLocal == true && IPv6Address("fec0::1")?.isLinkLocal == false)
    }

    /// The iBFT ties a target to a NIC it names by MAC: the plan keeps the zone open and the
    /// boot fills in the interface it configured for that NIC.
    @Test func firmwareTargetTakesItsNICAtBoot() throws {
        let files = [
            "initiator/initiator-name": "iqn.1994-05.com.redhat:633114aacf2\n",
            "ethernet0/flags": "3\n", "ethernet0/index": "0\n", "ethernet0/ip-addr": "fe80::5054:ff:fe12:3400\n",
            "ethernet0/prefix-len": "64\n", "ethernet0/origin": "1\n",
            "ethernet0/mac": "52:54:00:12:34:00\n", "ethernet0/vlan": "0\n",
            "target0/flags": "3\n", "target0/ip-addr": "fe80::2\n", "target0/port": "3260\n",
            "target0/lun": "01000000\n", "target0/chap-type": "0\n", "target0/nic-assoc": "0\n",
            "target0/target-name": "\(Self.iqn)\n",
        ]
        let result = try plan("rd.iscsi.firmware=1", firmware: try IBFT(sysfs: files))
        let target = try #require(result.targets.first)
        #expect(target.portals.map(\.value.description) == ["[fe80::2]:3260"])
        let atBoot = target.reachingLinkLocalPortals(through: "eth0")
        #expect(atBoot.portals.map(\.value.description) == ["[fe80::2%eth0]:3260"])
        // A portal with a zone, or not link-local, is left as it is.
        let explicit = try plan("ip=eth0:link6 iscsi=iscsi://[fe80::2%eth1]/\(Self.iqn)/1").targets[0]
        #expect(explicit.reachingLinkLocalPortals(through: "eth0") == explicit)
        let global = try plan("iscsi=iscsi://[2001:db8::2]/\(Self.iqn)/1").targets[0]
        #expect(global.reachingLinkLocalPortals(through: "eth0") == global)
    }
}
