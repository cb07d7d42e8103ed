import Testing

@testable import BootConfig

@Suite struct KernelCommandLineTests {
    @Test(arguments: [
        ("a b=c", [("a", nil), ("b", "c")] as [(String, String?)], [String]()),
        ("k=\"x y\" z", [("k", "x y"), ("z", nil)], []),
        ("\"k=x y\"", [("k", "x y")], []),
        ("ro -- single  init-arg", [("ro", nil)], ["single", "init-arg"]),
        ("ip=dhcp ip=eth0:dhcp", [("ip", "dhcp"), ("ip", "eth0:dhcp")], []),
        ("  \t\n", [], []),
    ])
    func tokenizes(text: String, expected: [(String, String?)], initArguments: [String]) {
        let line = KernelCommandLine(parsing: text)
        #expect(line.parameters.map(\.key) == expected.map(\.0))
        #expect(line.parameters.map(\.value) == expected.map(\.1))
        #expect(line.initArguments == initArguments)
    }

    @Test func anyBytesParseWithoutCrashing() {
        let alphabet: [UInt8] = Array("\"=:[]@/ .ip0123456789iscsnetrootdh-".utf8) + [0xFF, 0x00, 0x09]
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 0..<80)).map { _ in
                alphabet[Int.random(in: 0..<alphabet.count)]
            }
            let line = KernelCommandLine(bytes: bytes)
            do { _ = try BootPlan.resolve(commandLine: line) } catch {
                // Refused with a message for people: what is wrong and what was expected.
                #expect(!error.parameter.isEmpty && !error.problem.isEmpty && !error.expected.isEmpty, "\(error)")
            }
        }
    }
}

@Suite struct IPParameterTests {
    @Test(
        arguments: [
            ("dhcp", nil, AddressMethod.dhcp, nil, nil),
            ("on", nil, .dhcp, nil, nil),
            ("dhcp6", nil, .dhcp6, nil, nil),
            ("auto6", nil, .auto6, nil, nil),
            ("either6", nil, .either6, nil, nil),
            ("link6", nil, .link6, nil, nil),
            ("ibft", nil, .firmware, nil, nil),
            ("off", nil, .disabled, nil, nil),
            ("lan0:dhcp", "lan0", .dhcp, nil, nil),
            ("eth0:dhcp:1500:52:54:00:12:34:56", "eth0", .dhcp, nil, nil),
            (
                "192.168.50.101::192.168.50.1:255.255.255.0:iscsi-1:lan0:off", "lan0", .static,
                "192.168.50.101", 24
            ),
            ("192.168.1.5:192.168.1.1:192.168.1.1:24", nil, .static, "192.168.1.5", 24),
            ("[2001:db8::5]::[2001:db8::1]:64:h:eth1:none", "eth1", .static, "2001:db8::5", 64),
            ("10.0.0.2::10.0.0.1:8:host:eth0:none:10.0.0.53:10.0.0.54", "eth0", .static, "10.0.0.2", 8),
            ("::::client:eth0:dhcp", "eth0", .dhcp, nil, nil),
        ] as [(String, String?, AddressMethod, String?, UInt8?)])
    func parsesForms(
        text: String, device: String?, method: AddressMethod, address: String?, prefix: UInt8?
    ) throws {
        var warnings: [PlanWarning] = []
        let ip = try IPParameter.parse(text, warnings: &warnings)
        #expect(ip.device == device)
        #expect(ip.method == method)
        #expect(ip.address?.description == address)
        #expect(ip.prefixLength == prefix)
    }

    @Test func fieldsAfterTheMethod() throws {
        var warnings: [PlanWarning] = []
        let mtu = try IPParameter.parse(
            "10.0.0.2::10.0.0.1:24::eth0:none:9000:52:54:00:aa:bb:cc", warnings: &warnings)
        #expect(mtu.mtu == 9000)
        #expect(mtu.mac?.description == "52:54:00:aa:bb:cc")
        let dns = try IPParameter.parse(
            "10.0.0.2::10.0.0.1:24::eth0:none:10.0.0.53:10.0.0.54:10.0.0.123", warnings: &warnings)
        #expect(dns.dns.map(\.description) == ["10.0.0.53", "10.0.0.54"])
        #expect(dns.ntp?.description == "10.0.0.123")
        _ = try IPParameter.parse("bootp", warnings: &warnings)
        #expect(warnings.count == 1)
    }

    @Test(arguments: [
        (
            "192.168.1.5::192.168.1.1:255.255.0:h:eth0:none",
            "ip=: field 4 \"255.255.0\" is not a netmask (expected a.b.c.d or a prefix length 0-32)"
        ),
        (
            "192.168.1.5::192.168.1.1:255.0.255.0:h:eth0:none",
            "ip=: field 4 \"255.0.255.0\" is not a netmask (expected a.b.c.d or a prefix length 0-32)"
        ),
        (
            "300.1.1.1::::::none",
            "ip=: field 1 \"300.1.1.1\" is not an IP address (expected a.b.c.d or [IPv6])"
        ),
        (
            "eth0:dhcpx",
            "ip=: field 2 \"dhcpx\" is not a method (expected one of \(IPParameter.methodWords) after the device name \"eth0\")"
        ),
        ("eth0:dhcp:12", "ip=: field 3 \"12\" is not an MTU (expected a number 68-65535)"),
    ])
    func rejects(text: String, message: String) {
        var warnings: [PlanWarning] = []
        #expect(throws: BootConfigError.self) { try IPParameter.parse(text, warnings: &warnings) }
        do {
            _ = try IPParameter.parse(text, warnings: &warnings)
        } catch {
            #expect(error.description == message)
        }
    }
}

@Suite struct AddressTests {
    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"), ("::", "::"), ("::ffff:192.168.1.1", "::ffff:c0a8:101"),
        ("2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"),
        ("fe80::1:2:3:4:5:6", "fe80:0:1:2:3:4:5:6"),
    ])
    func ipv6(text: String, canonical: String) {
        #expect(IPv6Address(text)?.description == canonical)
    }

    @Test(arguments: ["1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "g::", ":::"])
    func badIPv6(text: String) { #expect(IPv6Address(text) == nil) }

    @Test(arguments: ["1.2.3", "1.2.3.256", "1..2.3", "01234.1.1.1", "a.b.c.d"])
    func badIPv4(text: String) { #expect(IPv4Address(text) == nil) }
}

@Suite struct ISCSINameTests {
    @Test(arguments: [
        "iqn.2009-06.dracut:target0", "iqn.1994-05.com.redhat:633114aacf2", "eui.02004567A425678D",
        "naa.52004567BA64678D",
        "naa.62004567BA64678D0123456789ABCDEF",
        "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309",
    ])
    func valid(name: String) { #expect(ISCSIName.ruleBroken(by: name) == nil) }

    @Test(arguments: [
        ("iqn.2009-13.x", "month 01-12"), ("iqn.2009-06", "reversed domain"), ("eui.1234", "16 hex"),
        ("naa.123", "16 or 32"), ("iqn.2009-06.com..example", "reversed domain"),
        ("target0", "iqn., eui. or naa."), ("iqn.2009-06.dracut:tar get", "only letters"),
    ])
    func invalid(name: String, rule: String) {
        #expect(ISCSIName.ruleBroken(by: name)?.contains(rule) == true)
    }
}
